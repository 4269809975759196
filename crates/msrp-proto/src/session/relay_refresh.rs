//! Keeping the relay binding of a session alive (RFC 4976 §5.1): the 200
//! to an AUTH says how long the relay keeps it (Expires), and a client
//! that goes on using the relay must AUTH again before that runs out.
//! The re-AUTH goes on the session's own connection to the relay (the
//! one the first AUTH went on) and answers the relay's digest challenge
//! as the first did.
//!
//! What a fresh binding means for the session: a relay may hand out a
//! new path on every AUTH. Kamailio's `msrp` module does (a new
//! session-id in each Use-Path; each binding expires on its own, the
//! old one still routes until its own expiry and then gets 481). So the
//! session reports the new Use-Path ([`SessionEvent::RelayReauthorized`])
//! and the owner tells the peer (a re-INVITE with the new `a=path`)
//! before the old binding expires.
//!
//! When to refresh: `MARGIN` before the expiry of a long binding; a
//! shorter one 10 s before (or a tenth of its lifetime if that is more),
//! a very short one halfway. The time left covers the peer learning the
//! new path: a re-INVITE, and when both parties renew at once (both on
//! one relay, authorized together) the glare and its retry (RFC 3261
//! §14.1: up to 4 s). A failed refresh is retried once halfway to the
//! expiry, then the binding is left to lapse.
//!
//! A 423 to a re-AUTH names the lifetime range the relay keeps (RFC 4976
//! §5.1): the AUTH goes again at once asking for an Expires inside it
//! (with credentials when the refused one had them), once per refresh;
//! later refreshes ask for that lifetime too.

use std::time::{Duration, Instant};

use super::{Session, SessionEvent};
use crate::message::{Response, TransactionId};
use crate::relay::{answer_challenge, auth_request, bounded_expires, granted, RelayAuthError};
use crate::uri::MsrpUri;

/// How long before the expiry a long binding is refreshed: room for two
/// AUTH transactions of 30 s in the worst case would be more than most
/// relays grant, one minute covers a slow answer and the retry.
const MARGIN: Duration = Duration::from_secs(60);

/// How long before the expiry a shorter binding is refreshed, at least
/// (halfway for one of less than twice this).
const SHORT_MARGIN: Duration = Duration::from_secs(10);

/// What the session needs to AUTH again. Debug output masks the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RelayBinding {
    /// The relay's URI, as the first AUTH's To-Path (no session-id).
    pub relay: MsrpUri,
    pub username: String,
    pub password: String,
    /// The Use-Path the relay gave: what our To-Path starts with.
    pub use_path: Vec<MsrpUri>,
    /// The lifetime the relay granted (its 200's Expires).
    pub expires: Duration,
    /// When that 200 came.
    pub granted_at: Instant,
}

impl std::fmt::Debug for RelayBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayBinding")
            .field("relay", &self.relay.to_string())
            .field("username", &self.username)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// The longest lifetime taken as given: beyond it, instants could leave
/// the clock's range, and a year is more than any relay grants.
const LONGEST: Duration = Duration::from_secs(365 * 24 * 3600);

/// `d` after `at`, within the clock's range.
fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d.min(LONGEST)).unwrap_or(at)
}

/// When to refresh a binding of `lifetime` granted at `at`.
pub(super) fn refresh_time(at: Instant, lifetime: Duration) -> Instant {
    let lifetime = lifetime.min(LONGEST);
    let margin = if lifetime >= 2 * MARGIN {
        MARGIN
    } else {
        (lifetime / 10).max(SHORT_MARGIN.min(lifetime / 2))
    };
    after(at, lifetime - margin)
}

/// What an answer to a re-AUTH leads to.
enum Next {
    /// Another AUTH, with these credentials if any.
    Send(Option<crate::auth::AuthAnswer>),
    /// Nothing more now.
    Done,
}

#[derive(Debug)]
enum Step {
    /// Waiting until `due` to send the next AUTH.
    Idle { due: Instant },
    /// An AUTH is out; `answered` once it carries credentials.
    Waiting {
        tid: TransactionId,
        deadline: Instant,
        answer: Option<crate::auth::AuthAnswer>,
    },
    /// Nothing more to do: the binding lapses at its expiry.
    Stopped,
}

#[derive(Debug)]
pub(super) struct Refresher {
    binding: RelayBinding,
    expires_at: Instant,
    step: Step,
    /// A failure has been retried already for the current binding.
    retried: bool,
    /// The Expires to ask for: none until a 423 named the relay's range.
    ask: Option<u32>,
    /// A 423 was answered already in the current refresh.
    bounded: bool,
    /// The relay's last 401 and how many answers to its nonce went out.
    challenge: Option<(Response, u32)>,
}

impl Refresher {
    pub(super) fn new(binding: RelayBinding) -> Self {
        let due = refresh_time(binding.granted_at, binding.expires);
        Refresher {
            expires_at: after(binding.granted_at, binding.expires),
            binding,
            step: Step::Idle { due },
            retried: false,
            ask: None,
            bounded: false,
            challenge: None,
        }
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        match &self.step {
            Step::Idle { due } => Some(*due),
            Step::Waiting { deadline, .. } => Some(*deadline),
            Step::Stopped => None,
        }
    }

    fn owns(&self, tid: &TransactionId) -> bool {
        matches!(&self.step, Step::Waiting { tid: t, .. } if t == tid)
    }

    /// After a failure: once more halfway to the expiry if that leaves
    /// time for an answer, else the binding lapses.
    fn after_failure(&mut self, now: Instant) {
        let left = self.expires_at.saturating_duration_since(now);
        self.step = if !self.retried && left >= Duration::from_secs(2) {
            self.retried = true;
            Step::Idle {
                due: after(now, left / 2),
            }
        } else {
            Step::Stopped
        };
    }
}

impl Session {
    /// Sends the re-AUTH when it is due, or fails one unanswered in time.
    pub(super) fn relay_refresh_timeout(&mut self, now: Instant) {
        let Some(r) = self.refresh.as_mut() else {
            return;
        };
        match r.step {
            Step::Idle { due } if due <= now => {
                // A new refresh: it may meet a 423 once.
                r.bounded = false;
                self.send_reauth(now, None)
            }
            Step::Waiting { deadline, .. } if deadline <= now => {
                r.after_failure(now);
                self.events.push_back(SessionEvent::RelayReauthFailed {
                    status: 408,
                    reason: Some("the relay did not answer the AUTH in time".into()),
                });
            }
            _ => {}
        }
    }

    fn send_reauth(&mut self, now: Instant, answer: Option<crate::auth::AuthAnswer>) {
        let Some(local) = self.our_uri().cloned() else {
            return;
        };
        let tid = self.tids.next_tid();
        let Some(r) = self.refresh.as_mut() else {
            return;
        };
        match auth_request(
            tid.clone(),
            &r.binding.relay,
            &local,
            answer.as_ref(),
            r.ask,
        ) {
            Ok(bytes) => {
                r.step = Step::Waiting {
                    tid,
                    deadline: after(now, self.cfg.transaction_timeout),
                    answer,
                };
                self.transmits.push_back(bytes);
            }
            Err(e) => {
                r.step = Step::Stopped;
                self.events.push_back(SessionEvent::RelayReauthFailed {
                    status: 500,
                    reason: Some(e.to_string()),
                });
            }
        }
    }

    /// Takes the relay's answer to a re-AUTH; false when `resp` answers
    /// something else.
    pub(super) fn on_reauth_response(&mut self, now: Instant, resp: &Response) -> bool {
        let Some(r) = self.refresh.as_mut().filter(|r| r.owns(&resp.tid)) else {
            return false;
        };
        let answer = match &mut r.step {
            Step::Waiting { answer, .. } => answer.take(),
            _ => None,
        };
        let outcome = match resp.status {
            // One challenge per refresh: a 401 to credentials is a refusal.
            401 if answer.is_none() => {
                let cnonce = self.tids.next_tid();
                r.challenge = Some((resp.clone(), 1));
                answer_challenge(
                    resp,
                    &r.binding.relay,
                    &r.binding.username,
                    &r.binding.password,
                    cnonce.as_str(),
                    1,
                )
                .map(|a| Next::Send(Some(a)))
            }
            423 if !r.bounded => match bounded_expires(resp, r.ask) {
                Some(expires) => {
                    r.bounded = true;
                    r.ask = Some(expires);
                    // Past the challenge, the retry carries credentials
                    // too: a second 401 would end the refresh.
                    match (answer.is_some(), r.challenge.as_mut()) {
                        (true, Some((challenge, nc))) => {
                            *nc = nc.saturating_add(1);
                            let cnonce = self.tids.next_tid();
                            answer_challenge(
                                challenge,
                                &r.binding.relay,
                                &r.binding.username,
                                &r.binding.password,
                                cnonce.as_str(),
                                *nc,
                            )
                            .map(|a| Next::Send(Some(a)))
                        }
                        _ => Ok(Next::Send(None)),
                    }
                }
                None => Err(RelayAuthError::Rejected {
                    status: 423,
                    comment: resp.comment.clone(),
                }),
            },
            200 => granted(resp, answer.as_ref()).map(|done| {
                r.retried = false;
                // RFC 4976 §6: our requests go through our relay by its
                // Use-Path, so the fresh one replaces the old in front.
                let old = std::mem::replace(&mut r.binding.use_path, done.use_path.clone());
                let path = &mut self.cfg.remote_path;
                if !old.is_empty() && path.starts_with(&old) {
                    let rest = path.split_off(old.len());
                    *path = done.use_path.iter().cloned().chain(rest).collect();
                }
                match done.expires {
                    Some(secs) => {
                        let lifetime = Duration::from_secs(u64::from(secs));
                        r.expires_at = after(now, lifetime);
                        r.step = Step::Idle {
                            due: refresh_time(now, lifetime),
                        };
                    }
                    // No lifetime given: nothing to refresh.
                    None => r.step = Step::Stopped,
                }
                self.events.push_back(SessionEvent::RelayReauthorized {
                    use_path: done.use_path,
                    expires: done.expires,
                });
                Next::Done
            }),
            status => Err(RelayAuthError::Rejected {
                status,
                comment: resp.comment.clone(),
            }),
        };
        match outcome {
            Ok(Next::Send(answer)) => self.send_reauth(now, answer),
            Ok(Next::Done) => {}
            Err(e) => {
                let status = match &e {
                    RelayAuthError::Rejected { status, .. } => *status,
                    _ => 400,
                };
                if let Some(r) = self.refresh.as_mut() {
                    r.after_failure(now);
                }
                self.events.push_back(SessionEvent::RelayReauthFailed {
                    status,
                    reason: Some(e.to_string()),
                });
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::Authorization;
    use crate::message::{Head, Method, Request};
    use crate::parser::parse_chunk;
    use crate::session::SessionConfig;
    use sip_proto::digest::{Algorithm, DigestInput};

    const RELAY: &str = "msrp://relay.example.com:2855;tcp";
    const LOCAL: &str = "msrp://10.0.0.1:4321/ourid;tcp";

    fn uri(s: &str) -> MsrpUri {
        MsrpUri::parse(s).unwrap()
    }

    /// A session on a relay binding of `secs` granted at `t0`.
    fn session(t0: Instant, secs: u64) -> Session {
        let mut cfg = SessionConfig::new(
            vec![uri(LOCAL)],
            vec![
                uri("msrp://relay.example.com:2855/old;tcp"),
                uri("msrp://peer.example.com:9/theirs;tcp"),
            ],
            3,
        );
        cfg.relay_binding = Some(RelayBinding {
            relay: uri(RELAY),
            username: "alice".into(),
            password: "secret".into(),
            use_path: vec![uri("msrp://relay.example.com:2855/old;tcp")],
            expires: Duration::from_secs(secs),
            granted_at: t0,
        });
        Session::new(cfg)
    }

    fn sent(s: &mut Session, now: Instant) -> Option<Request> {
        let bytes = s.poll_transmit(now)?;
        match parse_chunk(&bytes).unwrap().0 {
            Head::Request(r) => Some(r),
            Head::Response(_) => panic!("a request"),
        }
    }

    fn reply(req: &Request, status: u16, extra: &[(&str, &str)]) -> Vec<u8> {
        crate::test_support::response(req, status, LOCAL, RELAY, extra)
    }

    const CHALLENGE: (&str, &str) = (
        "WWW-Authenticate",
        "Digest realm=\"example.com\", nonce=\"n0nce\", qop=\"auth\"",
    );

    fn events(s: &mut Session) -> Vec<SessionEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    /// Runs one re-AUTH from its first AUTH to the relay's 200.
    fn refresh(s: &mut Session, now: Instant, new_path: &str, expires: &str) {
        s.handle_timeout(now);
        let first = sent(s, now).expect("the re-AUTH is due");
        assert_eq!(first.method, Method::Auth);
        // RFC 4976 §5.1: to the relay, from our URI, as the first AUTH.
        assert_eq!(first.headers.get("To-Path"), Some(RELAY));
        assert_eq!(first.headers.get("From-Path"), Some(LOCAL));
        assert!(first.headers.get("Authorization").is_none());
        s.handle_input(now, &reply(&first, 401, &[CHALLENGE]))
            .unwrap();
        let second = sent(s, now).expect("the answer to the challenge");
        assert_eq!(second.method, Method::Auth);
        assert_ne!(second.tid, first.tid);
        let Some(Ok(Authorization(cred))) = second.headers.typed::<Authorization>() else {
            panic!("the second AUTH carries credentials");
        };
        let cnonce = cred.param("cnonce").unwrap().into_owned();
        let expected = DigestInput {
            algorithm: Algorithm::Md5,
            username: "alice",
            realm: "example.com",
            password: "secret",
            method: "AUTH",
            uri: RELAY,
            nonce: "n0nce",
            cnonce: &cnonce,
            nc: 1,
            qop: Some("auth"),
            body: &[],
        }
        .response();
        assert_eq!(cred.param("response").as_deref(), Some(expected.as_str()));
        assert_eq!(cred.param("uri").as_deref(), Some(RELAY));
        s.handle_input(
            now,
            &reply(
                &second,
                200,
                &[("Use-Path", new_path), ("Expires", expires)],
            ),
        )
        .unwrap();
    }

    #[test]
    fn a_long_binding_is_renewed_a_minute_before_it_expires_with_digest() {
        let t0 = Instant::now();
        let mut s = session(t0, 600);
        let due = t0 + Duration::from_secs(540);
        assert_eq!(s.poll_timeout(), Some(due));
        s.handle_timeout(due - Duration::from_millis(1));
        assert!(s.poll_transmit(due).is_none(), "nothing before it is due");
        let fresh = "msrp://relay.example.com:2855/fresh;tcp";
        refresh(&mut s, due, fresh, "600");
        assert_eq!(
            events(&mut s),
            [SessionEvent::RelayReauthorized {
                use_path: vec![uri(fresh)],
                expires: Some(600),
            }]
        );
        // Our requests go by the fresh binding from now on.
        assert_eq!(
            s.config().remote_path,
            [uri(fresh), uri("msrp://peer.example.com:9/theirs;tcp")]
        );
        // The next one counts from the new grant.
        assert_eq!(s.poll_timeout(), Some(due + Duration::from_secs(540)));
        // Responses to the AUTHs were not taken for anything else.
        assert!(s.is_idle());
    }

    #[test]
    fn a_short_binding_is_renewed_ten_seconds_ahead_or_halfway() {
        let t0 = Instant::now();
        assert_eq!(
            refresh_time(t0, Duration::from_secs(100)),
            t0 + Duration::from_secs(90)
        );
        assert_eq!(
            refresh_time(t0, Duration::from_secs(30)),
            t0 + Duration::from_secs(20)
        );
        let mut s = session(t0, 4);
        let due = t0 + Duration::from_secs(2);
        assert_eq!(s.poll_timeout(), Some(due));
        refresh(&mut s, due, "msrp://relay.example.com:2855/b;tcp", "4");
        assert!(matches!(
            &events(&mut s)[..],
            [SessionEvent::RelayReauthorized {
                expires: Some(4),
                ..
            }]
        ));
        assert_eq!(s.poll_timeout(), Some(due + Duration::from_secs(2)));
    }

    #[test]
    fn a_refused_renewal_is_reported_retried_once_then_left_to_lapse() {
        let t0 = Instant::now();
        let mut s = session(t0, 600);
        let due = t0 + Duration::from_secs(540);
        s.handle_timeout(due);
        let first = sent(&mut s, due).unwrap();
        s.handle_input(due, &reply(&first, 403, &[])).unwrap();
        assert!(matches!(
            &events(&mut s)[..],
            [SessionEvent::RelayReauthFailed { status: 403, .. }]
        ));
        // Once more, halfway between the refusal and the expiry.
        let retry = due + Duration::from_secs(30);
        assert_eq!(s.poll_timeout(), Some(retry));
        s.handle_timeout(retry);
        let again = sent(&mut s, retry).expect("the retry");
        assert_eq!(again.method, Method::Auth);
        // Unanswered: a 408 after the transaction timeout, and no more.
        let late = retry + Duration::from_secs(30);
        assert_eq!(s.poll_timeout(), Some(late));
        s.handle_timeout(late);
        assert!(matches!(
            &events(&mut s)[..],
            [SessionEvent::RelayReauthFailed { status: 408, .. }]
        ));
        assert_eq!(s.poll_timeout(), None);
        assert!(s.poll_transmit(late).is_none());
        // A late answer to the abandoned AUTH changes nothing.
        s.handle_input(late, &reply(&again, 200, &[("Use-Path", RELAY)]))
            .unwrap();
        assert!(events(&mut s).is_empty());
    }

    #[test]
    fn credentials_refused_with_a_second_challenge_fail_the_renewal() {
        let t0 = Instant::now();
        let mut s = session(t0, 100);
        let due = t0 + Duration::from_secs(90);
        s.handle_timeout(due);
        let first = sent(&mut s, due).unwrap();
        s.handle_input(due, &reply(&first, 401, &[CHALLENGE]))
            .unwrap();
        let second = sent(&mut s, due).unwrap();
        s.handle_input(due, &reply(&second, 401, &[CHALLENGE]))
            .unwrap();
        assert!(matches!(
            &events(&mut s)[..],
            [SessionEvent::RelayReauthFailed { status: 401, .. }]
        ));
        assert!(s.poll_transmit(due).is_none(), "no third AUTH at once");
        assert!(!format!("{s:?}").contains("secret"));
    }

    fn expires_of(req: &Request) -> Option<u32> {
        req.headers
            .typed::<crate::headers::Expires>()
            .and_then(Result::ok)
            .map(|e| e.0)
    }

    #[test]
    fn a_423_to_the_renewal_is_retried_once_inside_the_relays_bound() {
        let t0 = Instant::now();
        let mut s = session(t0, 600);
        let due = t0 + Duration::from_secs(540);
        s.handle_timeout(due);
        let first = sent(&mut s, due).unwrap();
        assert_eq!(expires_of(&first), None);
        s.handle_input(due, &reply(&first, 401, &[CHALLENGE]))
            .unwrap();
        let answered = sent(&mut s, due).unwrap();
        s.handle_input(due, &reply(&answered, 423, &[("Min-Expires", "1800")]))
            .unwrap();
        assert!(
            events(&mut s).is_empty(),
            "a 423 with a bound is no failure"
        );
        let retry = sent(&mut s, due).expect("the AUTH again at once");
        assert_ne!(retry.tid, answered.tid);
        assert!(expires_of(&retry).is_some_and(|e| e >= 1800));
        let Some(Ok(Authorization(cred))) = retry.headers.typed::<Authorization>() else {
            panic!("the retry carries credentials as the refused AUTH did");
        };
        assert_eq!(cred.param("nc").as_deref(), Some("00000002"));
        let fresh = "msrp://relay.example.com:2855/fresh;tcp";
        s.handle_input(
            due,
            &reply(&retry, 200, &[("Use-Path", fresh), ("Expires", "1800")]),
        )
        .unwrap();
        assert!(matches!(
            &events(&mut s)[..],
            [SessionEvent::RelayReauthorized {
                expires: Some(1800),
                ..
            }]
        ));
        // The next refresh asks for the lifetime the relay takes, and may
        // meet a 423 of its own: Max-Expires this time.
        let next = due + Duration::from_secs(1740);
        assert_eq!(s.poll_timeout(), Some(next));
        s.handle_timeout(next);
        let again = sent(&mut s, next).unwrap();
        assert_eq!(expires_of(&again), Some(1800));
        s.handle_input(next, &reply(&again, 423, &[("Max-Expires", "900")]))
            .unwrap();
        let lower = sent(&mut s, next).expect("the AUTH again at once");
        assert!(expires_of(&lower).is_some_and(|e| (1..=900).contains(&e)));
        assert!(lower.headers.get("Authorization").is_none());
    }

    #[test]
    fn a_second_423_in_one_renewal_fails_it() {
        let t0 = Instant::now();
        let mut s = session(t0, 600);
        let due = t0 + Duration::from_secs(540);
        s.handle_timeout(due);
        let first = sent(&mut s, due).unwrap();
        s.handle_input(due, &reply(&first, 423, &[("Min-Expires", "900")]))
            .unwrap();
        let retry = sent(&mut s, due).unwrap();
        assert_eq!(expires_of(&retry), Some(900));
        s.handle_input(due, &reply(&retry, 423, &[("Min-Expires", "1200")]))
            .unwrap();
        assert!(matches!(
            &events(&mut s)[..],
            [SessionEvent::RelayReauthFailed { status: 423, .. }]
        ));
        assert!(s.poll_transmit(due).is_none(), "no third AUTH at once");
    }

    #[test]
    fn without_a_binding_nothing_is_refreshed() {
        let cfg = SessionConfig::new(vec![uri(LOCAL)], vec![uri(RELAY)], 1);
        let mut s = Session::new(cfg);
        assert_eq!(s.poll_timeout(), None);
        assert!(s.poll_transmit(Instant::now()).is_none());
    }
}
