//! The client side of relay authorization (RFC 4976 §5.1), sans-IO: an
//! AUTH to the relay, the second AUTH answering its 401 digest
//! challenge, and the Use-Path and Expires of its 200. The transport
//! writes [`AuthClient::poll_transmit`] and feeds what it reads to
//! [`AuthClient::handle_input`] until it says the client is authorized.
//!
//! A relay that finds the Expires asked for out of its range answers 423
//! with the bound it keeps (Min-Expires or Max-Expires, RFC 4976 §5.1);
//! the AUTH is then sent once more asking for a lifetime inside it, with
//! credentials when the refused one had them. A second 423 ends it: the
//! relay contradicts itself, and asking again would only loop.
//!
//! Why a separate machine and not part of [`crate::Session`]: AUTH comes
//! before the session exists. Its outcome (the Use-Path) goes into the
//! SDP that makes the session, so the connection is authorized first and
//! handed to a `Session` afterwards. On a connection to the relay that
//! carries sessions already (RFC 4975 §5.4), the same machine runs as a
//! transaction of the connection's demux ([`crate::demux::Demux::start_auth`]):
//! the demux writes its requests and hands it the responses by
//! transaction id ([`AuthClient::handle_response`]).

use crate::auth::{answer, AuthAnswer, AuthError, AuthParams};
use crate::headers::{
    AuthenticationInfo, Expires, FromPath, MaxExpires, MinExpires, ToPath, UsePath, WwwAuthenticate,
};
use crate::message::{Flag, Head, Headers, Method, Request, Response};
use crate::parser::{Event, Limits, Parser, StreamError};
use crate::uri::MsrpUri;
use crate::write::{encode, TidGenerator};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayAuthError {
    #[error("relay stream: {0}")]
    Stream(#[from] StreamError),
    #[error("relay refused AUTH: {status} {}", comment.as_deref().unwrap_or(""))]
    Rejected {
        status: u16,
        comment: Option<String>,
    },
    #[error("relay challenge: {0}")]
    Challenge(#[from] AuthError),
    #[error("relay sent {0}")]
    Unexpected(&'static str),
    #[error("AUTH request could not be written")]
    Encode,
}

/// What a successful AUTH gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    /// The relay URIs to put before our own URI in our path (RFC 4976
    /// §5.1): what the peer puts in its To-Path to reach us.
    pub use_path: Vec<MsrpUri>,
    /// How long the authorization lasts, if the relay said.
    pub expires: Option<u32>,
    /// Whether the relay proved it knows the password (`rspauth`); false
    /// when it sent no Authentication-Info, which RFC 4976 allows.
    pub relay_verified: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The first AUTH is out; a 401 or a 200 is awaited.
    First,
    /// The answer to the challenge is out; a 200 is awaited.
    Answered,
    Done,
}

/// One AUTH exchange with one relay.
pub struct AuthClient {
    relay: MsrpUri,
    local: MsrpUri,
    username: String,
    password: String,
    expires: Option<u32>,
    tids: TidGenerator,
    parser: Parser,
    state: State,
    transmit: Option<Vec<u8>>,
    answer: Option<AuthAnswer>,
    /// The relay's 401 and how many answers to its nonce went out: a
    /// retry after a 423 answers the same challenge again.
    challenge: Option<(Response, u32)>,
    /// A 423 was answered already.
    bounded: bool,
}

impl std::fmt::Debug for AuthClient {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClient")
            .field("relay", &self.relay)
            .field("local", &self.local)
            .field("username", &self.username)
            .field("state", &self.state)
            .finish()
    }
}

impl AuthClient {
    /// `relay` is the relay's URI (To-Path of the AUTH and digest-uri),
    /// `local` our URI (From-Path). `expires` asks for a lifetime.
    /// `seed` makes the transaction ids and the client nonce.
    pub fn new(
        relay: MsrpUri,
        local: MsrpUri,
        username: &str,
        password: &str,
        expires: Option<u32>,
        seed: u64,
    ) -> Result<Self, RelayAuthError> {
        let mut c = AuthClient {
            relay,
            local,
            username: username.to_owned(),
            password: password.to_owned(),
            expires,
            tids: TidGenerator::new(seed),
            parser: Parser::new(Limits::default()),
            state: State::First,
            transmit: None,
            answer: None,
            challenge: None,
            bounded: false,
        };
        c.queue_auth(None)?;
        Ok(c)
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.take()
    }

    /// Bytes held past the 200: a relay should send nothing before the
    /// session is set up, so the transport treats any as an error.
    pub fn buffered(&self) -> usize {
        self.parser.buffered()
    }

    /// Reads the relay's answers. `Ok(Some(_))` once authorized.
    pub fn handle_input(&mut self, data: &[u8]) -> Result<Option<Authorized>, RelayAuthError> {
        self.parser.feed(data)?;
        while let Some(ev) = self.parser.poll()? {
            match ev {
                Event::Head(Head::Response(resp)) => {
                    if let Some(done) = self.on_response(resp)? {
                        return Ok(Some(done));
                    }
                }
                Event::Head(Head::Request(_)) => {
                    return Err(RelayAuthError::Unexpected("a request during AUTH"))
                }
                Event::BodyData(_) | Event::End(_) => {}
            }
        }
        Ok(None)
    }

    /// Takes one response of the relay already parsed (a connection's
    /// demux routed it here by its transaction id); `Ok(Some(_))` once
    /// authorized, `Ok(None)` when another AUTH waits in
    /// [`AuthClient::poll_transmit`].
    pub fn handle_response(
        &mut self,
        resp: Response,
    ) -> Result<Option<Authorized>, RelayAuthError> {
        self.on_response(resp)
    }

    fn on_response(&mut self, resp: Response) -> Result<Option<Authorized>, RelayAuthError> {
        match (self.state, resp.status) {
            (State::First, 401) => {
                let cnonce = self.tids.next_tid().as_str().to_owned();
                let a = answer_challenge(
                    &resp,
                    &self.relay,
                    &self.username,
                    &self.password,
                    &cnonce,
                    1,
                )?;
                self.queue_auth(Some(&a))?;
                self.answer = Some(a);
                self.challenge = Some((resp, 1));
                self.state = State::Answered;
                Ok(None)
            }
            (State::First | State::Answered, 423) if !self.bounded => {
                let Some(expires) = bounded_expires(&resp, self.expires) else {
                    return Err(RelayAuthError::Rejected {
                        status: 423,
                        comment: resp.comment,
                    });
                };
                self.bounded = true;
                self.expires = Some(expires);
                // The refused AUTH carried credentials (we are past the
                // challenge): the retry must too, or the relay would
                // challenge again, which this exchange takes only once.
                let a = match (self.state, self.challenge.as_mut()) {
                    (State::Answered, Some((challenge, nc))) => {
                        *nc = nc.saturating_add(1);
                        let cnonce = self.tids.next_tid().as_str().to_owned();
                        Some(answer_challenge(
                            challenge,
                            &self.relay,
                            &self.username,
                            &self.password,
                            &cnonce,
                            *nc,
                        )?)
                    }
                    _ => None,
                };
                self.queue_auth(a.as_ref())?;
                self.answer = a;
                Ok(None)
            }
            (State::First | State::Answered, 200) => {
                let done = granted(&resp, self.answer.as_ref())?;
                self.state = State::Done;
                Ok(Some(done))
            }
            (State::Done, _) => Err(RelayAuthError::Unexpected("a response after AUTH ended")),
            (_, status) => Err(RelayAuthError::Rejected {
                status,
                comment: resp.comment,
            }),
        }
    }

    fn queue_auth(&mut self, answer: Option<&AuthAnswer>) -> Result<(), RelayAuthError> {
        let tid = self.tids.next_tid();
        self.transmit = Some(auth_request(
            tid,
            &self.relay,
            &self.local,
            answer,
            self.expires,
        )?);
        Ok(())
    }
}

/// An AUTH from `local` to `relay` (RFC 4976 §5.1), with credentials
/// when it answers a challenge.
pub(crate) fn auth_request(
    tid: crate::message::TransactionId,
    relay: &MsrpUri,
    local: &MsrpUri,
    answer: Option<&AuthAnswer>,
    expires: Option<u32>,
) -> Result<Vec<u8>, RelayAuthError> {
    let mut h = Headers::new();
    h.push_typed(&ToPath(vec![relay.clone()]));
    h.push_typed(&FromPath(vec![local.clone()]));
    if let Some(a) = answer {
        h.push_typed(&a.authorization);
    }
    if let Some(e) = expires {
        h.push_typed(&Expires(e));
    }
    let head = Head::Request(Request {
        tid,
        method: Method::Auth,
        headers: h,
    });
    encode(&head, None, Flag::Complete).map_err(|_| RelayAuthError::Encode)
}

/// The Expires to ask for after the 423 `resp` refused `asked`: inside
/// the relay's Min-Expires..Max-Expires, as near what was asked as that
/// allows (the bound itself when nothing was asked). None when the 423
/// names no bound we can meet: none at all, an empty range, a maximum of
/// 0 (that would end the binding), or a range `asked` was already in.
pub(crate) fn bounded_expires(resp: &Response, asked: Option<u32>) -> Option<u32> {
    let min = resp.headers.typed::<MinExpires>().and_then(Result::ok);
    let max = resp.headers.typed::<MaxExpires>().and_then(Result::ok);
    let lo = min.map_or(1, |m| m.0.max(1));
    let hi = max.map_or(u32::MAX, |m| m.0);
    if (min.is_none() && max.is_none()) || lo > hi {
        return None;
    }
    let wanted = asked.unwrap_or(if min.is_some() { lo } else { hi });
    let inside = wanted.clamp(lo, hi);
    (asked != Some(inside)).then_some(inside)
}

/// The credentials answering the 401 `resp` to an AUTH; `nc` counts the
/// answers to its nonce (1 for the first).
pub(crate) fn answer_challenge(
    resp: &Response,
    relay: &MsrpUri,
    username: &str,
    password: &str,
    cnonce: &str,
    nc: u32,
) -> Result<AuthAnswer, RelayAuthError> {
    let challenge = match resp.headers.typed::<WwwAuthenticate>() {
        Some(Ok(c)) => c,
        _ => return Err(RelayAuthError::Unexpected("a 401 without a challenge")),
    };
    let relay = relay.to_string();
    Ok(answer(
        &challenge,
        &AuthParams {
            username,
            password,
            uri: &relay,
            cnonce,
            nc,
        },
    )?)
}

/// What the 200 `resp` to an AUTH grants; `answer` is the credentials
/// it answered, whose `rspauth` the relay may prove.
pub(crate) fn granted(
    resp: &Response,
    answer: Option<&AuthAnswer>,
) -> Result<Authorized, RelayAuthError> {
    let use_path = match resp.headers.typed::<UsePath>() {
        Some(Ok(UsePath(p))) if !p.is_empty() => p,
        _ => return Err(RelayAuthError::Unexpected("a 200 without Use-Path")),
    };
    let expires = resp
        .headers
        .typed::<Expires>()
        .and_then(Result::ok)
        .map(|e| e.0);
    let relay_verified = match (answer, resp.headers.typed::<AuthenticationInfo>()) {
        (Some(a), Some(Ok(info))) => a.verify(&info),
        _ => false,
    };
    Ok(Authorized {
        use_path,
        expires,
        relay_verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::Authorization;
    use crate::parser::parse_chunk;

    fn uri(s: &str) -> MsrpUri {
        MsrpUri::parse(s).unwrap()
    }

    fn client() -> AuthClient {
        AuthClient::new(
            uri("msrps://relay.example.com:2855;tcp"),
            uri("msrps://alice.example.com:9892/98cjs;tcp"),
            "alice",
            "secret",
            Some(600),
            7,
        )
        .unwrap()
    }

    fn sent(c: &mut AuthClient) -> Request {
        let bytes = c.poll_transmit().expect("an AUTH to send");
        match parse_chunk(&bytes).unwrap().0 {
            Head::Request(r) => r,
            Head::Response(_) => panic!("a request"),
        }
    }

    fn reply(req: &Request, status: u16, extra: &[(&str, &str)]) -> Vec<u8> {
        crate::test_support::response(
            req,
            status,
            "msrps://alice.example.com:9892/98cjs;tcp",
            "msrps://relay.example.com:2855;tcp",
            extra,
        )
    }

    #[test]
    fn challenge_then_use_path() {
        let mut c = client();
        let first = sent(&mut c);
        assert_eq!(first.method, Method::Auth);
        assert!(first.headers.get("Authorization").is_none());
        assert_eq!(first.headers.get("Expires"), Some("600"));
        let r401 = reply(
            &first,
            401,
            &[(
                "WWW-Authenticate",
                "Digest realm=\"example.com\", nonce=\"abc\", qop=\"auth\"",
            )],
        );
        // Split reads: the parser is incremental.
        let (a, b) = r401.split_at(10);
        assert_eq!(c.handle_input(a).unwrap(), None);
        assert_eq!(c.handle_input(b).unwrap(), None);
        let second = sent(&mut c);
        assert_ne!(second.tid, first.tid);
        let Some(Ok(Authorization(cred))) = second.headers.typed::<Authorization>() else {
            panic!("second AUTH carries credentials");
        };
        assert_eq!(
            cred.param("uri").as_deref(),
            Some("msrps://relay.example.com:2855;tcp")
        );
        let ok = reply(
            &second,
            200,
            &[
                ("Use-Path", "msrps://relay.example.com:2855/hjdhfha;tcp"),
                ("Expires", "600"),
            ],
        );
        let done = c.handle_input(&ok).unwrap().unwrap();
        assert_eq!(
            done.use_path,
            vec![uri("msrps://relay.example.com:2855/hjdhfha;tcp")]
        );
        assert_eq!(done.expires, Some(600));
        assert!(!done.relay_verified);
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn second_401_and_other_refusals_end_it() {
        let mut c = client();
        let first = sent(&mut c);
        let ch = [(
            "WWW-Authenticate",
            "Digest realm=\"x\", nonce=\"n\", qop=auth",
        )];
        c.handle_input(&reply(&first, 401, &ch)).unwrap();
        let second = sent(&mut c);
        assert_eq!(
            c.handle_input(&reply(&second, 401, &ch)),
            Err(RelayAuthError::Rejected {
                status: 401,
                comment: None
            })
        );
        let mut c = client();
        let first = sent(&mut c);
        assert!(matches!(
            c.handle_input(&reply(&first, 403, &[])),
            Err(RelayAuthError::Rejected { status: 403, .. })
        ));
        let mut c = client();
        let first = sent(&mut c);
        assert_eq!(
            c.handle_input(&reply(&first, 200, &[])),
            Err(RelayAuthError::Unexpected("a 200 without Use-Path"))
        );
        let mut c = client();
        assert!(c.handle_input(b"garbage that is not MSRP\r\n").is_err());
    }

    fn expires_of(req: &Request) -> Option<u32> {
        req.headers
            .typed::<Expires>()
            .and_then(Result::ok)
            .map(|e| e.0)
    }

    fn granted_to(c: &mut AuthClient, req: &Request) -> Authorized {
        let ok = reply(
            req,
            200,
            &[("Use-Path", "msrps://relay.example.com:2855/x;tcp")],
        );
        c.handle_input(&ok).unwrap().expect("authorized")
    }

    #[test]
    fn a_423_with_min_expires_is_retried_once_asking_for_at_least_the_minimum() {
        let mut c = client();
        let first = sent(&mut c);
        assert_eq!(expires_of(&first), Some(600));
        assert_eq!(
            c.handle_input(&reply(&first, 423, &[("Min-Expires", "900")]))
                .unwrap(),
            None
        );
        let retry = sent(&mut c);
        assert_ne!(retry.tid, first.tid);
        assert!(expires_of(&retry).is_some_and(|e| e >= 900));
        assert!(retry.headers.get("Authorization").is_none());
        granted_to(&mut c, &retry);
    }

    #[test]
    fn a_423_with_max_expires_after_the_challenge_keeps_the_credentials() {
        let mut c = client();
        let first = sent(&mut c);
        let ch = [(
            "WWW-Authenticate",
            "Digest realm=\"example.com\", nonce=\"abc\", qop=\"auth\"",
        )];
        c.handle_input(&reply(&first, 401, &ch)).unwrap();
        let answered = sent(&mut c);
        c.handle_input(&reply(&answered, 423, &[("Max-Expires", "300")]))
            .unwrap();
        let retry = sent(&mut c);
        assert!(expires_of(&retry).is_some_and(|e| (1..=300).contains(&e)));
        let Some(Ok(Authorization(cred))) = retry.headers.typed::<Authorization>() else {
            panic!("the retry carries credentials as the refused AUTH did");
        };
        // The same nonce answered a second time: counted as such.
        assert_eq!(cred.param("nonce").as_deref(), Some("abc"));
        assert_eq!(cred.param("nc").as_deref(), Some("00000002"));
        granted_to(&mut c, &retry);
    }

    #[test]
    fn a_second_423_or_one_without_a_usable_bound_fails() {
        let mut c = client();
        let first = sent(&mut c);
        c.handle_input(&reply(&first, 423, &[("Min-Expires", "900")]))
            .unwrap();
        let retry = sent(&mut c);
        assert!(matches!(
            c.handle_input(&reply(&retry, 423, &[("Min-Expires", "1200")])),
            Err(RelayAuthError::Rejected { status: 423, .. })
        ));
        assert!(c.poll_transmit().is_none(), "no third AUTH");
        for bound in [
            &[][..],
            &[("Min-Expires", "900"), ("Max-Expires", "100")][..],
            &[("Max-Expires", "0")][..],
            // What we asked for is inside: asking again changes nothing.
            &[("Min-Expires", "60")][..],
        ] {
            let mut c = client();
            let first = sent(&mut c);
            assert!(
                matches!(
                    c.handle_input(&reply(&first, 423, bound)),
                    Err(RelayAuthError::Rejected { status: 423, .. })
                ),
                "{bound:?}"
            );
            assert!(c.poll_transmit().is_none());
        }
    }
}
