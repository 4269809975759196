//! Digest authentication, client side (RFC 3261 §22, RFC 2617, RFC 7616,
//! RFC 8760): answering 401/407 challenges with MD5, MD5-sess, SHA-256,
//! SHA-256-sess, SHA-512-256 and SHA-512-256-sess, qop auth and auth-int,
//! nonce counts, stale nonces, several challenges at once, and credentials
//! per realm.
//!
//! Sans-IO: the caller supplies the client nonce (randomness) and sends
//! the re-authorized request in a new transaction with a higher CSeq.

use std::collections::HashMap;
use std::fmt;

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};

use crate::headers::{Authorization, Credentials, HeaderName, ProxyAuthorization, TypedHeader};
use crate::message::{Request, Response};

/// The digest algorithms we answer, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
    Sha512_256,
    Sha512_256Sess,
}

impl Algorithm {
    /// From a challenge's `algorithm` (absent means MD5, RFC 2617).
    pub fn parse(s: Option<&str>) -> Option<Algorithm> {
        let s = s.unwrap_or("MD5");
        [
            ("MD5", Algorithm::Md5),
            ("MD5-sess", Algorithm::Md5Sess),
            ("SHA-256", Algorithm::Sha256),
            ("SHA-256-sess", Algorithm::Sha256Sess),
            ("SHA-512-256", Algorithm::Sha512_256),
            ("SHA-512-256-sess", Algorithm::Sha512_256Sess),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, a)| a)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    fn is_sess(self) -> bool {
        matches!(
            self,
            Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess
        )
    }

    /// Lower-case hex of the hash of `data`.
    pub fn hash(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex(&Md5::digest(data)),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex(&Sha256::digest(data)),
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => hex(&Sha512_256::digest(data)),
        }
    }
}

fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        for nibble in [x >> 4, x & 0xf] {
            s.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    s
}

/// A username and password. Debug output masks the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// Credentials by realm, with an optional default for any realm.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    by_realm: HashMap<String, Secret>,
    default: Option<Secret>,
}

impl CredentialStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_default(username: &str, password: &str) -> Self {
        CredentialStore {
            by_realm: HashMap::new(),
            default: Some(Secret {
                username: username.to_owned(),
                password: password.to_owned(),
            }),
        }
    }

    pub fn insert(&mut self, realm: &str, username: &str, password: &str) {
        self.by_realm.insert(
            realm.to_owned(),
            Secret {
                username: username.to_owned(),
                password: password.to_owned(),
            },
        );
    }

    pub fn lookup(&self, realm: &str) -> Option<&Secret> {
        self.by_realm.get(realm).or(self.default.as_ref())
    }
}

/// Why a challenge could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("response {0} is not a 401 or 407 challenge")]
    NotAChallenge(u16),
    #[error("no Digest challenge with a supported algorithm")]
    NoUsableChallenge,
    #[error("no credentials for realm {0:?}")]
    NoCredentials(String),
    #[error("credentials for realm {0:?} were rejected")]
    Rejected(String),
    #[error("challenge for realm {0:?} lacks a nonce")]
    NoNonce(String),
}

/// What a client remembers between challenges: nonce counts and which
/// realms it already answered (to tell a wrong password from a stale nonce).
#[derive(Debug, Default, Clone)]
pub struct DigestState {
    nonce_counts: HashMap<String, u32>,
    answered: HashMap<String, String>,
}

/// One computed digest response (exposed for tests and traces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestInput<'a> {
    pub algorithm: Algorithm,
    pub username: &'a str,
    pub realm: &'a str,
    pub password: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub nonce: &'a str,
    pub cnonce: &'a str,
    pub nc: u32,
    /// `None` for the RFC 2069 form without qop.
    pub qop: Option<&'a str>,
    /// The body, for qop=auth-int.
    pub body: &'a [u8],
}

impl DigestInput<'_> {
    /// The `response` value (RFC 7616 §3.4.1).
    pub fn response(&self) -> String {
        let a = self.algorithm;
        let mut ha1 =
            a.hash(format!("{}:{}:{}", self.username, self.realm, self.password).as_bytes());
        if a.is_sess() {
            ha1 = a.hash(format!("{ha1}:{}:{}", self.nonce, self.cnonce).as_bytes());
        }
        let ha2 = if self.qop == Some("auth-int") {
            a.hash(format!("{}:{}:{}", self.method, self.uri, a.hash(self.body)).as_bytes())
        } else {
            a.hash(format!("{}:{}", self.method, self.uri).as_bytes())
        };
        match self.qop {
            Some(qop) => a.hash(
                format!(
                    "{ha1}:{}:{:08x}:{}:{qop}:{ha2}",
                    self.nonce, self.nc, self.cnonce
                )
                .as_bytes(),
            ),
            None => a.hash(format!("{ha1}:{}:{ha2}", self.nonce).as_bytes()),
        }
    }
}

/// Adds Authorization (for 401) or Proxy-Authorization (for 407) headers
/// to `request` answering every realm challenged in `challenge`, with the
/// strongest algorithm each realm offers. Earlier credentials for the same
/// realms are replaced. `cnonce` must be fresh randomness.
pub fn authorize(
    request: &mut Request,
    challenge: &Response,
    store: &CredentialStore,
    state: &mut DigestState,
    cnonce: &str,
) -> Result<(), AuthError> {
    let (challenge_header, answer_header) = match challenge.status.code() {
        401 => (HeaderName::WwwAuthenticate, Authorization::NAME),
        407 => (HeaderName::ProxyAuthenticate, ProxyAuthorization::NAME),
        other => return Err(AuthError::NotAChallenge(other)),
    };
    // Strongest supported Digest challenge per realm.
    let mut best: HashMap<String, (Algorithm, Credentials<'_>)> = HashMap::new();
    for h in challenge.headers.get_all(&challenge_header) {
        for c in Credentials::parse_many(h.value).unwrap_or_default() {
            if !c.is_digest() {
                continue;
            }
            let Some(alg) = Algorithm::parse(c.param("algorithm").as_deref()) else {
                continue;
            };
            let realm = c.param("realm").map(|r| r.into_owned()).unwrap_or_default();
            if best.get(&realm).is_none_or(|(a, _)| alg > *a) {
                best.insert(realm, (alg, c));
            }
        }
    }
    if best.is_empty() {
        return Err(AuthError::NoUsableChallenge);
    }
    let uri = request.uri_str().to_owned();
    let method = request.method.as_str().to_owned();
    let mut answers = Vec::new();
    for (realm, (alg, c)) in &best {
        let nonce = c
            .param("nonce")
            .ok_or_else(|| AuthError::NoNonce(realm.clone()))?;
        let stale = c
            .param("stale")
            .is_some_and(|s| s.eq_ignore_ascii_case("true"));
        // A second challenge for a realm we answered, without stale=true,
        // means the credentials are wrong (RFC 3261 §22.2): don't loop.
        if state.answered.contains_key(realm) && !stale {
            return Err(AuthError::Rejected(realm.clone()));
        }
        let secret = store
            .lookup(realm)
            .ok_or_else(|| AuthError::NoCredentials(realm.clone()))?;
        let qop = choose_qop(c.param("qop").as_deref());
        let nc = {
            let n = state.nonce_counts.entry(nonce.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        let input = DigestInput {
            algorithm: *alg,
            username: &secret.username,
            realm,
            password: &secret.password,
            method: &method,
            uri: &uri,
            nonce: &nonce,
            cnonce,
            nc,
            qop,
            body: &request.body,
        };
        let mut cred = Credentials::new("Digest");
        cred.push_quoted("username", &secret.username);
        cred.push_quoted("realm", realm);
        cred.push_quoted("nonce", &nonce);
        cred.push_quoted("uri", &uri);
        cred.push_quoted("response", &input.response());
        cred.push_token("algorithm", alg.as_str());
        if let Some(opaque) = c.param("opaque") {
            cred.push_quoted("opaque", &opaque);
        }
        if let Some(qop) = qop {
            cred.push_token("qop", qop);
            cred.push_token("nc", format!("{nc:08x}"));
            cred.push_quoted("cnonce", cnonce);
        }
        answers.push((realm.clone(), cred.to_string()));
    }
    // Replace earlier answers for these realms, keep others.
    let keep: Vec<String> = request
        .headers
        .get_all(&answer_header)
        .filter(|h| {
            Credentials::parse(h.value)
                .ok()
                .and_then(|c| c.param("realm").map(|r| r.into_owned()))
                .is_none_or(|r| !best.contains_key(&r))
        })
        .map(|h| h.value.to_owned())
        .collect();
    request.headers.remove_all(&answer_header);
    for v in keep {
        request.headers.push(answer_header.clone(), v);
    }
    for (realm, value) in answers {
        state.answered.insert(realm, String::new());
        request.headers.push(answer_header.clone(), value);
    }
    Ok(())
}

/// The qop to answer a challenge's `qop` options with (RFC 7616 §3.4):
/// `auth` when offered (no body to hash), else `auth-int`, else none
/// (the RFC 2069 form).
pub fn choose_qop(options: Option<&str>) -> Option<&'static str> {
    let opts: Vec<String> = options?
        .split(',')
        .map(|o| o.trim().to_ascii_lowercase())
        .collect();
    if opts.iter().any(|o| o == "auth") {
        Some("auth")
    } else if opts.iter().any(|o| o == "auth-int") {
        Some("auth-int")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        alg: Algorithm,
        realm: &'a str,
        password: &'a str,
        nonce: &'a str,
        cnonce: &'a str,
    ) -> DigestInput<'a> {
        DigestInput {
            algorithm: alg,
            username: "Mufasa",
            realm,
            password,
            method: "GET",
            uri: "/dir/index.html",
            nonce,
            cnonce,
            nc: 1,
            qop: Some("auth"),
            body: b"",
        }
    }

    /// RFC 2617 §3.5.
    #[test]
    fn rfc2617_example() {
        let i = input(
            Algorithm::Md5,
            "testrealm@host.com",
            "Circle Of Life",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "0a4f113b",
        );
        assert_eq!(i.response(), "6629fae49393a05397450978507c4ef1");
    }

    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    /// RFC 7616 §3.9.1, MD5 and SHA-256.
    #[test]
    fn rfc7616_examples() {
        let md5 = input(
            Algorithm::Md5,
            "http-auth@example.org",
            "Circle of Life",
            NONCE,
            CNONCE,
        );
        assert_eq!(md5.response(), "8ca523f5e9506fed4657c9700eebdbec");
        let sha = input(
            Algorithm::Sha256,
            "http-auth@example.org",
            "Circle of Life",
            NONCE,
            CNONCE,
        );
        assert_eq!(
            sha.response(),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    /// SHA-512-256 (RFC 7616/8760) on the same input, checked against
    /// Python's hashlib (OpenSSL).
    #[test]
    fn sha512_256_matches_openssl() {
        let i = input(
            Algorithm::Sha512_256,
            "http-auth@example.org",
            "Circle of Life",
            NONCE,
            CNONCE,
        );
        assert_eq!(
            i.response(),
            "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0"
        );
    }

    /// MD5-sess with auth-int, checked against Python's hashlib.
    #[test]
    fn md5_sess_auth_int() {
        let i = DigestInput {
            algorithm: Algorithm::Md5Sess,
            username: "bob",
            realm: "biloxi.example.com",
            password: "zanzibar",
            method: "INVITE",
            uri: "sip:bob@biloxi.example.com",
            nonce: "n0nce",
            cnonce: "c0nce",
            nc: 2,
            qop: Some("auth-int"),
            body: b"v=0\r\n",
        };
        assert_eq!(i.response(), "a7831d92d30c540f9aa4d5cbc0dcef4f");
    }

    fn register() -> Request {
        let m = crate::Message::parse(
            &b"REGISTER sip:biloxi.example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
               From: <sip:bob@biloxi.example.com>;tag=1\r\nTo: <sip:bob@biloxi.example.com>\r\n\
               Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"[..],
        )
        .unwrap();
        m.as_request().unwrap().clone()
    }

    fn challenge(status: u16, header: &str, values: &[&str]) -> Response {
        let mut r = Response::new(crate::StatusCode::new(status).unwrap());
        for v in values {
            r.headers.push(HeaderName::new(header), v.to_string());
        }
        r
    }

    fn answers<'a>(req: &'a Request, name: &'a HeaderName) -> Vec<Credentials<'a>> {
        req.headers
            .get_all(name)
            .map(|h| Credentials::parse(h.value).unwrap())
            .collect()
    }

    #[test]
    fn answers_the_strongest_algorithm_and_verifies() {
        let mut req = register();
        let ch = challenge(
            401,
            "WWW-Authenticate",
            &[
                r#"Digest realm="biloxi.example.com", nonce="abc", qop="auth,auth-int", algorithm=MD5, opaque="op""#,
                r#"Digest realm="biloxi.example.com", nonce="abc", qop="auth", algorithm=SHA-256"#,
            ],
        );
        let store = CredentialStore::with_default("bob", "zanzibar");
        let mut st = DigestState::default();
        authorize(&mut req, &ch, &store, &mut st, "cn0").unwrap();
        let a = answers(&req, &HeaderName::Authorization);
        assert_eq!(a.len(), 1);
        let a = &a[0];
        assert_eq!(a.param("algorithm").as_deref(), Some("SHA-256"));
        assert_eq!(a.param("nc").as_deref(), Some("00000001"));
        assert_eq!(a.param("uri").as_deref(), Some("sip:biloxi.example.com"));
        let expect = DigestInput {
            algorithm: Algorithm::Sha256,
            username: "bob",
            realm: "biloxi.example.com",
            password: "zanzibar",
            method: "REGISTER",
            uri: "sip:biloxi.example.com",
            nonce: "abc",
            cnonce: "cn0",
            nc: 1,
            qop: Some("auth"),
            body: b"",
        }
        .response();
        assert_eq!(a.param("response").as_deref(), Some(expect.as_str()));
        // The same realm challenging again without stale=true: wrong password.
        assert_eq!(
            authorize(&mut req, &ch, &store, &mut st, "cn1"),
            Err(AuthError::Rejected("biloxi.example.com".into()))
        );
    }

    #[test]
    fn stale_nonce_is_answered_again_and_replaces() {
        let mut req = register();
        let store = CredentialStore::with_default("bob", "zanzibar");
        let mut st = DigestState::default();
        let first = challenge(
            407,
            "Proxy-Authenticate",
            &[r#"Digest realm="r", nonce="n1", qop="auth""#],
        );
        authorize(&mut req, &first, &store, &mut st, "c").unwrap();
        let stale = challenge(
            407,
            "Proxy-Authenticate",
            &[r#"Digest realm="r", nonce="n2", qop="auth", stale=true"#],
        );
        authorize(&mut req, &stale, &store, &mut st, "c").unwrap();
        let a = answers(&req, &HeaderName::ProxyAuthorization);
        assert_eq!(a.len(), 1, "the old answer for realm r is replaced");
        assert_eq!(a[0].param("nonce").as_deref(), Some("n2"));
        assert!(!req.headers.contains(&HeaderName::Authorization));
    }

    #[test]
    fn several_realms_and_per_realm_credentials() {
        let mut req = register();
        let mut store = CredentialStore::new();
        store.insert("a.example", "alice", "pa");
        store.insert("b.example", "bob", "pb");
        let ch = challenge(
            407,
            "Proxy-Authenticate",
            &[
                r#"Digest realm="a.example", nonce="1", Digest realm="b.example", nonce="2", algorithm=MD5-sess, qop="auth""#,
            ],
        );
        let mut st = DigestState::default();
        authorize(&mut req, &ch, &store, &mut st, "c").unwrap();
        let mut users: Vec<_> = answers(&req, &HeaderName::ProxyAuthorization)
            .iter()
            .map(|c| {
                (
                    c.param("realm").unwrap().into_owned(),
                    c.param("username").unwrap().into_owned(),
                )
            })
            .collect();
        users.sort();
        assert_eq!(
            users,
            [
                ("a.example".into(), "alice".into()),
                ("b.example".into(), "bob".into())
            ]
        );
        // RFC 2069 form (no qop) for a.example: no nc/cnonce.
        let a = answers(&req, &HeaderName::ProxyAuthorization);
        let ra = a
            .iter()
            .find(|c| c.param("realm").as_deref() == Some("a.example"))
            .unwrap();
        assert!(ra.param("nc").is_none());
    }

    #[test]
    fn refusals() {
        let mut req = register();
        let store = CredentialStore::new();
        let mut st = DigestState::default();
        let ok = Response::new(crate::StatusCode::OK);
        assert_eq!(
            authorize(&mut req, &ok, &store, &mut st, "c"),
            Err(AuthError::NotAChallenge(200))
        );
        let basic = challenge(401, "WWW-Authenticate", &[r#"Basic realm="x""#]);
        assert_eq!(
            authorize(&mut req, &basic, &store, &mut st, "c"),
            Err(AuthError::NoUsableChallenge)
        );
        let unknown_alg = challenge(
            401,
            "WWW-Authenticate",
            &[r#"Digest realm="x", nonce="n", algorithm=SHA-1"#],
        );
        assert_eq!(
            authorize(&mut req, &unknown_alg, &store, &mut st, "c"),
            Err(AuthError::NoUsableChallenge)
        );
        let nocreds = challenge(401, "WWW-Authenticate", &[r#"Digest realm="x", nonce="n""#]);
        assert_eq!(
            authorize(&mut req, &nocreds, &store, &mut st, "c"),
            Err(AuthError::NoCredentials("x".into()))
        );
    }

    #[test]
    fn secrets_are_masked() {
        let s = CredentialStore::with_default("alice", "hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
