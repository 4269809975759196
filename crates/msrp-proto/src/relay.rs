//! The client side of relay authorization (RFC 4976 §5.1), sans-IO: an
//! AUTH to the relay, the second AUTH answering its 401 digest
//! challenge, and the Use-Path and Expires of its 200. The transport
//! writes [`AuthClient::poll_transmit`] and feeds what it reads to
//! [`AuthClient::handle_input`] until it says the client is authorized.
//!
//! Why a separate machine and not part of [`crate::Session`]: AUTH comes
//! before the session exists. Its outcome (the Use-Path) goes into the
//! SDP that makes the session, so the connection is authorized first and
//! handed to a `Session` afterwards.

use crate::auth::{answer, AuthAnswer, AuthError, AuthParams};
use crate::headers::{AuthenticationInfo, Expires, FromPath, ToPath, UsePath, WwwAuthenticate};
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

    fn on_response(&mut self, resp: Response) -> Result<Option<Authorized>, RelayAuthError> {
        match (self.state, resp.status) {
            (State::First, 401) => {
                let cnonce = self.tids.next_tid().as_str().to_owned();
                let a =
                    answer_challenge(&resp, &self.relay, &self.username, &self.password, &cnonce)?;
                self.queue_auth(Some(&a))?;
                self.answer = Some(a);
                self.state = State::Answered;
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

/// The credentials answering the 401 `resp` to an AUTH.
pub(crate) fn answer_challenge(
    resp: &Response,
    relay: &MsrpUri,
    username: &str,
    password: &str,
    cnonce: &str,
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
            nc: 1,
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
        let mut h = Headers::new();
        h.push("To-Path", "msrps://alice.example.com:9892/98cjs;tcp");
        h.push("From-Path", "msrps://relay.example.com:2855;tcp");
        for (n, v) in extra {
            h.push(*n, *v);
        }
        let head = Head::Response(Response {
            tid: req.tid.clone(),
            status,
            comment: None,
            headers: h,
        });
        encode(&head, None, Flag::Complete).unwrap()
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
}
