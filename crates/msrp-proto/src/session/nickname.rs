//! NICKNAME transactions (RFC 7701 §7.1): a chat room participant asks
//! the focus for a nickname; the focus answers 200, or refuses it (424
//! malformed, 425 reserved or already in use, 403 not allowed by policy).
//!
//! The core only frames and matches: which nickname is free is the
//! owner's to decide, so an incoming request is handed on as
//! [`SessionEvent::NicknameRequested`] and answered through
//! [`Session::answer_nickname`]. A session that is no focus
//! ([`SessionConfig::nickname_requests`] false) answers 501 as to any
//! method it does not know.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::{Session, SessionEvent};
use crate::headers::{HeaderError, ToPath, TypedHeader, UseNickname};
use crate::message::{Flag, Head, Method, Request, TransactionId};
use crate::write::encode;

/// Requests waiting for the owner's answer. A focus answers at once; the
/// bound only keeps a peer that floods NICKNAMEs from growing memory.
const MAX_UNANSWERED: usize = 64;

/// The response codes RFC 7701 gives a NICKNAME (§7.1, IANA §11): 200,
/// 403 (policy), 424 (malformed nickname), 425 (reserved or in use).
pub const NICKNAME_STATUSES: [u16; 4] = [200, 403, 424, 425];

#[derive(Debug, Default)]
pub(super) struct Nicknames {
    /// Our requests awaiting a response, with their deadline.
    sent: HashMap<TransactionId, Option<Instant>>,
    /// The peer's requests awaiting the owner's answer, oldest first.
    received: VecDeque<Request>,
}

impl Nicknames {
    pub(super) fn is_idle(&self) -> bool {
        self.sent.is_empty()
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.sent.values().filter_map(|d| *d).min()
    }
}

impl Session {
    /// Asks the peer (a chat room's focus) for `nickname`; returns the
    /// transaction id that [`SessionEvent::NicknameResult`] will name. No
    /// response within the transaction timeout reports 408, as for a SEND.
    pub fn set_nickname(
        &mut self,
        now: Instant,
        nickname: &str,
    ) -> Result<TransactionId, HeaderError> {
        let use_nickname = UseNickname::new(nickname)?;
        let tid = self.tids.next_tid();
        let mut h = self.path_headers(&self.cfg.remote_path.clone());
        h.push_typed(&use_nickname);
        let head = Head::Request(Request {
            tid: tid.clone(),
            method: Method::Nickname,
            headers: h,
        });
        // Our own paths and a checked nickname: this cannot fail, but a
        // failure must not be a panic either.
        let bytes = encode(&head, None, Flag::Complete)
            .map_err(|_| HeaderError::EmptyPath(ToPath::NAME))?;
        self.transmits.push_back(bytes);
        let deadline = now.checked_add(self.cfg.transaction_timeout);
        self.nicknames.sent.insert(tid.clone(), deadline);
        Ok(tid)
    }

    /// Answers the peer's NICKNAME `tid` (from
    /// [`SessionEvent::NicknameRequested`]) with `status` (one of
    /// [`NICKNAME_STATUSES`]). False when no such request waits (already
    /// answered, or forgotten) or the status is not one RFC 7701 gives.
    pub fn answer_nickname(&mut self, tid: &str, status: u16, comment: &str) -> bool {
        if !NICKNAME_STATUSES.contains(&status) {
            return false;
        }
        let Some(at) = self
            .nicknames
            .received
            .iter()
            .position(|r| r.tid.as_str() == tid)
        else {
            return false;
        };
        let Some(req) = self.nicknames.received.remove(at) else {
            return false;
        };
        self.respond(&req, status, comment);
        true
    }

    /// A response to one of our NICKNAMEs: true when it was one.
    pub(super) fn on_nickname_response(
        &mut self,
        tid: &TransactionId,
        status: u16,
        comment: Option<String>,
    ) -> bool {
        if self.nicknames.sent.remove(tid).is_none() {
            return false;
        }
        self.events.push_back(SessionEvent::NicknameResult {
            tid: tid.as_str().to_owned(),
            status,
            comment,
        });
        true
    }

    /// Reports our NICKNAMEs that got no response in time (RFC 4975
    /// §7.1.1: as if a 408 had come).
    pub(super) fn nickname_timeouts(&mut self, now: Instant) {
        let expired: Vec<TransactionId> = self
            .nicknames
            .sent
            .iter()
            .filter(|(_, d)| d.is_some_and(|d| d <= now))
            .map(|(t, _)| t.clone())
            .collect();
        for t in expired {
            self.on_nickname_response(&t, 408, Some("no response in time".into()));
        }
    }

    /// The peer's NICKNAME: checked here, decided by the owner.
    pub(super) fn on_nickname_request(&mut self, req: Request) {
        if !self.cfg.nickname_requests {
            return self.respond(&req, 501, "Unknown method");
        }
        match req.headers.typed::<ToPath>() {
            Some(Ok(ToPath(p))) if p.first() == self.our_uri() => {}
            Some(Ok(_)) => return self.respond(&req, 481, "Session does not exist"),
            _ => return self.respond(&req, 400, "Bad To-Path"),
        }
        let nickname = match req.headers.typed::<UseNickname>() {
            Some(Ok(UseNickname(n))) => n,
            Some(Err(_)) => return self.respond(&req, 424, "Malformed nickname"),
            None => return self.respond(&req, 400, "Missing Use-Nickname"),
        };
        if self.nicknames.received.len() >= MAX_UNANSWERED {
            // Refusing the oldest keeps the answer path of every request.
            if let Some(old) = self.nicknames.received.pop_front() {
                self.respond(&old, 403, "Too many nickname requests");
            }
        }
        self.events.push_back(SessionEvent::NicknameRequested {
            tid: req.tid.as_str().to_owned(),
            nickname,
        });
        self.nicknames.received.push_back(req);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::parser::Event;
    use crate::uri::MsrpUri;
    use crate::{Parser, SessionConfig};

    fn uri(s: &str) -> MsrpUri {
        MsrpUri::parse(s).unwrap()
    }

    /// A participant and a focus, wired to each other.
    fn pair(focus_takes_nicknames: bool) -> (Session, Session) {
        let a = uri("msrp://127.0.0.1:2855/alice1;tcp");
        let f = uri("msrp://127.0.0.1:2856/focus1;tcp");
        let alice = Session::new(SessionConfig::new(vec![a.clone()], vec![f.clone()], 1));
        let mut cfg = SessionConfig::new(vec![f], vec![a], 2);
        cfg.nickname_requests = focus_takes_nicknames;
        (alice, Session::new(cfg))
    }

    fn pump(now: Instant, from: &mut Session, to: &mut Session) -> Vec<Vec<u8>> {
        let mut written = Vec::new();
        while let Some(b) = from.poll_transmit(now) {
            to.handle_input(now, &b).unwrap();
            written.push(b);
        }
        written
    }

    fn events(s: &mut Session) -> Vec<SessionEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    fn head_of(bytes: &[u8]) -> Head {
        let mut p = Parser::new(Default::default());
        p.feed(bytes).unwrap();
        match p.poll().unwrap() {
            Some(Event::Head(h)) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_is_framed_as_rfc_7701_says() {
        let (mut alice, mut focus) = pair(true);
        let now = Instant::now();
        let tid = alice.set_nickname(now, "Alice the great").unwrap();
        let wire = pump(now, &mut alice, &mut focus);
        let Head::Request(req) = head_of(&wire[0]) else {
            panic!("not a request")
        };
        assert_eq!(req.method, Method::Nickname);
        assert_eq!(req.tid, tid);
        let text = String::from_utf8_lossy(&wire[0]).into_owned();
        assert!(
            text.starts_with(&format!("MSRP {tid} NICKNAME\r\n")),
            "{text}"
        );
        assert!(
            text.contains("\r\nUse-Nickname: \"Alice the great\"\r\n"),
            "{text}"
        );
        // No body, no Message-ID: a NICKNAME is no message.
        assert!(!text.contains("Message-ID"), "{text}");
        assert!(text.ends_with(&format!("-------{tid}$\r\n")), "{text}");
    }

    #[test]
    fn focus_decides_and_participant_hears() {
        let (mut alice, mut focus) = pair(true);
        let now = Instant::now();
        let tid = alice.set_nickname(now, "al").unwrap();
        pump(now, &mut alice, &mut focus);
        assert_eq!(
            events(&mut focus),
            [SessionEvent::NicknameRequested {
                tid: tid.to_string(),
                nickname: "al".into()
            }]
        );
        // Nothing goes back until the owner decides.
        assert!(focus.poll_transmit(now).is_none());
        assert!(!alice.is_idle());
        assert!(focus.answer_nickname(tid.as_str(), 425, "Nickname reserved or already in use"));
        // Once answered it is gone.
        assert!(!focus.answer_nickname(tid.as_str(), 200, "OK"));
        pump(now, &mut focus, &mut alice);
        assert_eq!(
            events(&mut alice),
            [SessionEvent::NicknameResult {
                tid: tid.to_string(),
                status: 425,
                comment: Some("Nickname reserved or already in use".into())
            }]
        );
        assert!(alice.is_idle());
        assert_eq!(alice.poll_timeout(), None);

        let tid = alice.set_nickname(now, "alice").unwrap();
        pump(now, &mut alice, &mut focus);
        events(&mut focus);
        // Codes RFC 7701 does not give a NICKNAME are refused.
        assert!(!focus.answer_nickname(tid.as_str(), 423, "Interval Out-of-Bounds"));
        assert!(focus.answer_nickname(tid.as_str(), 200, "OK"));
        pump(now, &mut focus, &mut alice);
        assert!(matches!(
            events(&mut alice).as_slice(),
            [SessionEvent::NicknameResult { status: 200, .. }]
        ));
    }

    #[test]
    fn no_response_is_a_408_after_the_transaction_timeout() {
        let (mut alice, _) = pair(true);
        let t0 = Instant::now();
        let tid = alice.set_nickname(t0, "al").unwrap();
        while alice.poll_transmit(t0).is_some() {}
        let deadline = alice.poll_timeout().unwrap();
        assert_eq!(deadline, t0 + Duration::from_secs(30));
        alice.handle_timeout(deadline - Duration::from_millis(1));
        assert!(events(&mut alice).is_empty());
        alice.handle_timeout(deadline);
        assert_eq!(
            events(&mut alice),
            [SessionEvent::NicknameResult {
                tid: tid.to_string(),
                status: 408,
                comment: Some("no response in time".into())
            }]
        );
        assert_eq!(alice.poll_timeout(), None);
        assert!(alice.is_idle());
    }

    #[test]
    fn a_session_that_is_no_focus_answers_501() {
        let (mut alice, mut plain) = pair(false);
        let now = Instant::now();
        let tid = alice.set_nickname(now, "al").unwrap();
        pump(now, &mut alice, &mut plain);
        assert!(events(&mut plain).is_empty());
        pump(now, &mut plain, &mut alice);
        assert_eq!(
            events(&mut alice),
            [SessionEvent::NicknameResult {
                tid: tid.to_string(),
                status: 501,
                comment: Some("Unknown method".into())
            }]
        );
    }

    #[test]
    fn malformed_or_missing_nickname_is_answered_by_the_core() {
        let (_, mut focus) = pair(true);
        let now = Instant::now();
        let req = |tid: &str, nick: Option<&str>| {
            let mut s = format!(
                "MSRP {tid} NICKNAME\r\nTo-Path: msrp://127.0.0.1:2856/focus1;tcp\r\n\
                 From-Path: msrp://127.0.0.1:2855/alice1;tcp\r\n"
            );
            if let Some(n) = nick {
                s.push_str(&format!("Use-Nickname: {n}\r\n"));
            }
            s.push_str(&format!("-------{tid}$\r\n"));
            s
        };
        for (tid, nick, status) in [
            ("tid00001", Some("\"unterminated"), 424),
            ("tid00002", Some("\"\""), 424),
            ("tid00003", None, 400),
        ] {
            focus.handle_input(now, req(tid, nick).as_bytes()).unwrap();
            let out = focus.poll_transmit(now).unwrap();
            let Head::Response(r) = head_of(&out) else {
                panic!("not a response")
            };
            assert_eq!((r.tid.as_str(), r.status), (tid, status));
        }
        assert!(events(&mut focus).is_empty());
        // Another session's To-Path: 481, as for a SEND.
        let other = req("tid00004", Some("\"al\"")).replace("focus1", "other1");
        focus.handle_input(now, other.as_bytes()).unwrap();
        let Head::Response(r) = head_of(&focus.poll_transmit(now).unwrap()) else {
            panic!("not a response")
        };
        assert_eq!(r.status, 481);
    }

    #[test]
    fn unanswered_requests_are_bounded() {
        let (mut alice, mut focus) = pair(true);
        let now = Instant::now();
        let first = alice.set_nickname(now, "n0").unwrap();
        for i in 1..=MAX_UNANSWERED {
            alice.set_nickname(now, &format!("n{i}")).unwrap();
        }
        pump(now, &mut alice, &mut focus);
        assert_eq!(events(&mut focus).len(), MAX_UNANSWERED + 1);
        // The oldest was refused to make room, and can no longer be answered.
        assert!(!focus.answer_nickname(first.as_str(), 200, "OK"));
        pump(now, &mut focus, &mut alice);
        assert_eq!(
            events(&mut alice),
            [SessionEvent::NicknameResult {
                tid: first.to_string(),
                status: 403,
                comment: Some("Too many nickname requests".into())
            }]
        );
    }

    #[test]
    fn unsendable_nicknames_are_refused() {
        let (mut alice, _) = pair(true);
        let now = Instant::now();
        assert!(alice.set_nickname(now, "").is_err());
        assert!(alice.set_nickname(now, "a\r\nSEND").is_err());
        assert!(alice.poll_transmit(now).is_none());
        assert!(alice.is_idle());
    }

    #[test]
    fn other_unknown_methods_still_get_501() {
        let (_, mut focus) = pair(true);
        let now = Instant::now();
        let req = "MSRP tid00009 FROBNICATE\r\nTo-Path: msrp://127.0.0.1:2856/focus1;tcp\r\n\
                   From-Path: msrp://127.0.0.1:2855/alice1;tcp\r\n-------tid00009$\r\n";
        focus.handle_input(now, req.as_bytes()).unwrap();
        let Head::Response(r) = head_of(&focus.poll_transmit(now).unwrap()) else {
            panic!("not a response")
        };
        assert_eq!(r.status, 501);
    }
}
