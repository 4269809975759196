//! Relay authorizations (RFC 4976 §5.1) run on a connection that
//! carries sessions already: one connection to a relay may hold several
//! bindings (RFC 4975 §5.4 lets a device carry several sessions on one
//! connection; each AUTH gets its own Use-Path), so a new session of
//! ours AUTHs on the live authorized connection instead of opening
//! another one.
//!
//! Each AUTH is an [`AuthClient`] named by a key of the caller's (the
//! session-id it authorizes): its requests go out before the sessions'
//! transmits, the relay's responses reach it by transaction id, and the
//! outcome waits in [`Demux::poll_auth`]. The session itself joins the
//! connection afterwards, with its binding's Use-Path in its SDP, and
//! re-AUTHs on its own (the session's `relay_refresh`), answers routed
//! to it by transaction id as any other.

use std::collections::{HashMap, VecDeque};

use super::{request_tid, Demux, DemuxError, MAX_SESSIONS};
use crate::message::{Response, TransactionId};
use crate::relay::{AuthClient, Authorized, RelayAuthError};

/// What an AUTH on the connection ended with, by its key.
pub type AuthOutcome = (String, Result<Authorized, RelayAuthError>);

/// The AUTH exchanges a connection runs, and their outcomes.
#[derive(Debug, Default)]
pub(super) struct Auths {
    clients: Vec<(String, AuthClient)>,
    /// The AUTHs written, whose responses go to their client.
    sent: HashMap<TransactionId, String>,
    done: VecDeque<AuthOutcome>,
}

impl Auths {
    /// The next AUTH request to write, its transaction remembered.
    pub(super) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        for (key, client) in &mut self.clients {
            if let Some(t) = client.poll_transmit() {
                if let Some(tid) = request_tid(&t) {
                    self.sent.insert(tid, key.clone());
                }
                return Some(t);
            }
        }
        None
    }

    /// Takes `resp` when it answers one of our AUTHs; gives it back
    /// otherwise.
    pub(super) fn take_response(&mut self, resp: Response) -> Option<Response> {
        let Some(key) = self.sent.remove(&resp.tid) else {
            return Some(resp);
        };
        let Some(at) = self.clients.iter().position(|(k, _)| *k == key) else {
            // Cancelled meanwhile: nobody waits for it.
            return None;
        };
        let outcome = self
            .clients
            .get_mut(at)
            .map(|(_, client)| client.handle_response(resp));
        let finished = match outcome {
            Some(Ok(None)) | None => None,
            Some(Ok(Some(done))) => Some(Ok(done)),
            Some(Err(e)) => Some(Err(e)),
        };
        if let Some(result) = finished {
            self.remove(&key);
            self.done.push_back((key, result));
        }
        None
    }

    fn remove(&mut self, key: &str) {
        self.clients.retain(|(k, _)| k != key);
        self.sent.retain(|_, k| k != key);
    }
}

impl Demux {
    /// Runs `client`'s AUTH on this connection; its outcome comes out of
    /// [`Demux::poll_auth`] under `key`. Refused when an AUTH under `key`
    /// runs already, or as many run as the connection takes sessions.
    pub fn start_auth(&mut self, key: String, client: AuthClient) -> Result<(), DemuxError> {
        if self.auths.clients.iter().any(|(k, _)| *k == key) {
            return Err(DemuxError::Duplicate(key));
        }
        if self.auths.clients.len() >= MAX_SESSIONS {
            return Err(DemuxError::Full);
        }
        self.auths.clients.push((key, client));
        Ok(())
    }

    /// Gives up the AUTH under `key` (its caller stopped waiting): a
    /// later answer of the relay is dropped.
    pub fn cancel_auth(&mut self, key: &str) {
        self.auths.remove(key);
        self.auths.done.retain(|(k, _)| k != key);
    }

    /// An AUTH that ended: authorized (its Use-Path and Expires), or why
    /// not.
    pub fn poll_auth(&mut self) -> Option<AuthOutcome> {
        self.auths.done.pop_front()
    }

    /// AUTHs running on the connection.
    pub fn auths_running(&self) -> usize {
        self.auths.clients.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::headers::Authorization;
    use crate::message::{Head, Method, Request};
    use crate::parser::{parse_chunk, Limits};
    use crate::session::{Session, SessionConfig, SessionEvent};
    use crate::uri::MsrpUri;
    use bytes::Bytes;

    const RELAY: &str = "msrp://relay.example.com:2855;tcp";
    const FIRST: &str = "msrp://10.0.0.1:4321/firstsession;tcp";
    const SECOND: &str = "msrp://10.0.0.1:4321/secondsession;tcp";
    const THIRD: &str = "msrp://10.0.0.1:4321/thirdsession;tcp";
    const CHALLENGE: (&str, &str) = (
        "WWW-Authenticate",
        "Digest realm=\"example.com\", nonce=\"n0nce\", qop=\"auth\"",
    );

    fn uri(s: &str) -> MsrpUri {
        MsrpUri::parse(s).unwrap()
    }

    fn client(local: &str, seed: u64) -> AuthClient {
        AuthClient::new(uri(RELAY), uri(local), "alice", "secret", None, seed).unwrap()
    }

    /// A connection to the relay carrying the first session, authorized
    /// before (its peer behind the relay).
    fn connection() -> Demux {
        let mut d = Demux::new(Limits::default());
        let cfg = SessionConfig::new(
            vec![uri(FIRST)],
            vec![
                uri("msrp://relay.example.com:2855/bound1;tcp"),
                uri("msrp://peer.example.com:9/theirs;tcp"),
            ],
            1,
        );
        d.add_session(Session::new(cfg)).unwrap();
        d
    }

    fn request(bytes: &[u8]) -> Request {
        match parse_chunk(bytes).unwrap().0 {
            Head::Request(r) => r,
            Head::Response(_) => panic!("a request"),
        }
    }

    /// The relay's answer to `req`, to the sender's URI.
    fn reply(req: &Request, status: u16, extra: &[(&str, &str)]) -> Vec<u8> {
        crate::test_support::response(
            req,
            status,
            req.headers.get("From-Path").unwrap(),
            RELAY,
            extra,
        )
    }

    fn written(d: &mut Demux, now: Instant) -> Vec<Request> {
        std::iter::from_fn(|| d.poll_transmit(now))
            .map(|t| request(&t))
            .collect()
    }

    #[test]
    fn auths_on_a_live_connection_each_get_their_own_binding_and_the_session_goes_on() {
        let now = Instant::now();
        let mut d = connection();
        d.session_mut("firstsession").unwrap().send_message(
            "text/plain",
            Bytes::from_static(b"hi"),
            false,
            crate::headers::FailureReport::Yes,
        );
        d.start_auth("secondsession".into(), client(SECOND, 2))
            .unwrap();
        d.start_auth("thirdsession".into(), client(THIRD, 3))
            .unwrap();
        let out = written(&mut d, now);
        let methods: Vec<Method> = out.iter().map(|r| r.method.clone()).collect();
        assert_eq!(methods, [Method::Auth, Method::Auth, Method::Send]);
        // RFC 4976 §5.1: each AUTH from the URI of the session it binds.
        assert_eq!(out[0].headers.get("From-Path"), Some(SECOND));
        assert_eq!(out[1].headers.get("From-Path"), Some(THIRD));
        assert_eq!(out[0].headers.get("To-Path"), Some(RELAY));
        // Challenges answered out of order, the SEND's 200 in between.
        d.handle_input(now, &reply(&out[1], 401, &[CHALLENGE]))
            .unwrap();
        d.handle_input(now, &reply(&out[2], 200, &[])).unwrap();
        d.handle_input(now, &reply(&out[0], 401, &[CHALLENGE]))
            .unwrap();
        let answers = written(&mut d, now);
        assert_eq!(answers.len(), 2, "{answers:?}");
        for a in &answers {
            assert_eq!(a.method, Method::Auth);
            assert!(matches!(
                a.headers.typed::<Authorization>(),
                Some(Ok(Authorization(_)))
            ));
        }
        let third = answers
            .iter()
            .find(|a| a.headers.get("From-Path") == Some(THIRD))
            .unwrap();
        let second = answers
            .iter()
            .find(|a| a.headers.get("From-Path") == Some(SECOND))
            .unwrap();
        let b3 = "msrp://relay.example.com:2855/bound3;tcp";
        let b2 = "msrp://relay.example.com:2855/bound2;tcp";
        d.handle_input(
            now,
            &reply(third, 200, &[("Use-Path", b3), ("Expires", "600")]),
        )
        .unwrap();
        d.handle_input(
            now,
            &reply(second, 200, &[("Use-Path", b2), ("Expires", "300")]),
        )
        .unwrap();
        let outcomes: Vec<AuthOutcome> = std::iter::from_fn(|| d.poll_auth()).collect();
        assert_eq!(outcomes.len(), 2);
        assert_eq!(outcomes[0].0, "thirdsession");
        let done = outcomes[0].1.as_ref().unwrap();
        assert_eq!(
            (done.use_path.clone(), done.expires),
            (vec![uri(b3)], Some(600))
        );
        assert_eq!(outcomes[1].0, "secondsession");
        let done = outcomes[1].1.as_ref().unwrap();
        assert_eq!(
            (done.use_path.clone(), done.expires),
            (vec![uri(b2)], Some(300))
        );
        assert_eq!(d.auths_running(), 0);
        // The session saw its own answer and nothing of the AUTHs.
        let events: Vec<(String, SessionEvent)> = std::iter::from_fn(|| d.poll_event()).collect();
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(matches!(&events[0], (s, SessionEvent::MessageSent { .. }) if s == "firstsession"));
        assert!(d.poll_transmit(now).is_none());
    }

    #[test]
    fn a_refused_auth_says_why_and_a_cancelled_one_hears_nothing_more() {
        let now = Instant::now();
        let mut d = connection();
        d.start_auth("secondsession".into(), client(SECOND, 2))
            .unwrap();
        d.start_auth("thirdsession".into(), client(THIRD, 3))
            .unwrap();
        assert_eq!(
            d.start_auth("thirdsession".into(), client(THIRD, 4)),
            Err(DemuxError::Duplicate("thirdsession".into()))
        );
        let out = written(&mut d, now);
        assert_eq!(out.len(), 2);
        d.handle_input(now, &reply(&out[0], 403, &[])).unwrap();
        let (key, result) = d.poll_auth().unwrap();
        assert_eq!(key, "secondsession");
        assert!(matches!(
            result,
            Err(RelayAuthError::Rejected { status: 403, .. })
        ));
        d.cancel_auth("thirdsession");
        d.handle_input(now, &reply(&out[1], 401, &[CHALLENGE]))
            .unwrap();
        assert!(d.poll_auth().is_none());
        assert!(
            d.poll_transmit(now).is_none(),
            "no answer to a cancelled AUTH"
        );
        assert!(d.poll_event().is_none());
        // A cancelled key may be used again.
        d.start_auth("thirdsession".into(), client(THIRD, 5))
            .unwrap();
        assert_eq!(d.auths_running(), 1);
    }
}
