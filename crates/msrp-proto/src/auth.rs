//! Answering a relay's digest challenge to AUTH (RFC 4976 §5.1) and
//! checking its `rspauth`. The hashing is `sip_proto::digest`'s: the
//! digest is HTTP's (RFC 2617) with method `AUTH` and, as digest-uri, the
//! relay URI the AUTH was sent to (its To-Path). RFC 4976's example
//! Authorization carries no `uri` parameter, but RFC 2617 makes it
//! mandatory and real relays (Kamailio's msrp module) refuse credentials
//! without it, so it is written: the value is the relay URI hashed.
//!
//! Sans-IO: the caller supplies the client nonce and the nonce count.

use sip_proto::digest::{Algorithm, DigestInput};
use sip_proto::headers::Credentials;

use crate::headers::{AuthenticationInfo, Authorization, WwwAuthenticate};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("challenge is not Digest")]
    NotDigest,
    #[error("unsupported digest algorithm {0:?}")]
    Algorithm(String),
    #[error("challenge lacks {0}")]
    Missing(&'static str),
    #[error("challenge offers no qop we answer (auth)")]
    Qop,
}

/// What the client brings to a challenge. Debug output masks the password.
#[derive(Clone)]
pub struct AuthParams<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The relay URI the AUTH is addressed to, as written in its To-Path.
    pub uri: &'a str,
    /// Fresh randomness from the caller.
    pub cnonce: &'a str,
    /// 1 for the first answer to a nonce.
    pub nc: u32,
}

impl std::fmt::Debug for AuthParams<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthParams")
            .field("username", &self.username)
            .field("password", &"***")
            .field("uri", &self.uri)
            .field("nc", &self.nc)
            .finish()
    }
}

/// An answer to a challenge, and what the relay's `rspauth` must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthAnswer {
    pub authorization: Authorization,
    expected_rspauth: String,
}

impl AuthAnswer {
    /// Whether the relay's Authentication-Info proves it knows the
    /// password too (RFC 2617 §3.2.3). Absent `rspauth` is not proof.
    pub fn verify(&self, info: &AuthenticationInfo) -> bool {
        info.param("rspauth")
            .is_some_and(|r| r.eq_ignore_ascii_case(&self.expected_rspauth))
    }
}

/// Builds the Authorization for a second AUTH answering `challenge`.
/// RFC 4976 requires qop `auth`, so a challenge without it is refused.
pub fn answer(challenge: &WwwAuthenticate, p: &AuthParams<'_>) -> Result<AuthAnswer, AuthError> {
    let c = &challenge.0;
    if !c.is_digest() {
        return Err(AuthError::NotDigest);
    }
    let alg_name = c.param("algorithm").map(|a| a.into_owned());
    let algorithm = Algorithm::parse(alg_name.as_deref())
        .ok_or_else(|| AuthError::Algorithm(alg_name.clone().unwrap_or_default()))?;
    let realm = c.param("realm").ok_or(AuthError::Missing("realm"))?;
    let nonce = c.param("nonce").ok_or(AuthError::Missing("nonce"))?;
    let qop_ok = c
        .param("qop")
        .is_some_and(|q| q.split(',').any(|o| o.trim().eq_ignore_ascii_case("auth")));
    if !qop_ok {
        return Err(AuthError::Qop);
    }
    let input = |method: &'static str| DigestInput {
        algorithm,
        username: p.username,
        realm: &realm,
        password: p.password,
        method,
        uri: p.uri,
        nonce: &nonce,
        cnonce: p.cnonce,
        nc: p.nc,
        qop: Some("auth"),
        body: &[],
    };
    let mut cred = Credentials::new("Digest");
    cred.push_quoted("username", p.username);
    cred.push_quoted("realm", &realm);
    cred.push_quoted("nonce", &nonce);
    cred.push_quoted("uri", p.uri);
    if alg_name.is_some() {
        cred.push_token("algorithm", algorithm.as_str());
    }
    cred.push_token("qop", "auth");
    cred.push_token("nc", format!("{:08x}", p.nc));
    cred.push_quoted("cnonce", p.cnonce);
    cred.push_quoted("response", &input("AUTH").response());
    if let Some(o) = c.param("opaque") {
        cred.push_quoted("opaque", &o);
    }
    Ok(AuthAnswer {
        authorization: Authorization(cred.into_owned()),
        // rspauth uses an empty method (A2 = ":" digest-uri).
        expected_rspauth: input("").response(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::TypedHeader;

    #[test]
    fn digest_matches_rfc2617_vector() {
        // RFC 2617 §3.5's worked example, with its method and URI: the
        // hashing is the same one RFC 4976 uses for AUTH.
        let d = DigestInput {
            algorithm: Algorithm::Md5,
            username: "Mufasa",
            realm: "testrealm@host.com",
            password: "Circle Of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            cnonce: "0a4f113b",
            nc: 1,
            qop: Some("auth"),
            body: &[],
        };
        assert_eq!(d.response(), "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn answers_rfc4976_challenge() {
        let ch = WwwAuthenticate::parse(
            "Digest realm=\"intra.example.com\", qop=\"auth\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"",
        )
        .unwrap();
        let p = AuthParams {
            username: "Alice",
            password: "secret",
            uri: "msrps://alice@intra.example.com;tcp",
            cnonce: "0a4f113b",
            nc: 1,
        };
        let a = answer(&ch, &p).unwrap();
        let cred = &a.authorization.0;
        assert_eq!(cred.param("username").as_deref(), Some("Alice"));
        assert_eq!(cred.param("nc").as_deref(), Some("00000001"));
        assert_eq!(cred.param("qop").as_deref(), Some("auth"));
        assert_eq!(cred.param("uri").as_deref(), Some(p.uri));
        let expected = DigestInput {
            algorithm: Algorithm::Md5,
            username: "Alice",
            realm: "intra.example.com",
            password: "secret",
            method: "AUTH",
            uri: p.uri,
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            cnonce: "0a4f113b",
            nc: 1,
            qop: Some("auth"),
            body: &[],
        }
        .response();
        assert_eq!(cred.param("response").as_deref(), Some(expected.as_str()));
        // The text written reads back.
        let back = Authorization::parse(&a.authorization.to_value()).unwrap();
        assert_eq!(back, a.authorization);
        assert!(!format!("{p:?}").contains("secret"));
        let info = AuthenticationInfo(vec![(
            "rspauth".into(),
            format!("\"{}\"", a.expected_rspauth),
        )]);
        assert!(a.verify(&info));
        assert!(!a.verify(&AuthenticationInfo(vec![])));
    }

    #[test]
    fn refuses_unusable_challenges() {
        let p = AuthParams {
            username: "a",
            password: "b",
            uri: "msrps://r.example.com;tcp",
            cnonce: "c",
            nc: 1,
        };
        let ch = |s: &str| WwwAuthenticate::parse(s).unwrap();
        assert_eq!(
            answer(&ch("Basic realm=\"x\""), &p),
            Err(AuthError::NotDigest)
        );
        assert_eq!(
            answer(&ch("Digest realm=\"x\", nonce=\"n\""), &p),
            Err(AuthError::Qop)
        );
        assert_eq!(
            answer(&ch("Digest realm=\"x\", qop=auth"), &p),
            Err(AuthError::Missing("nonce"))
        );
        assert!(matches!(
            answer(
                &ch("Digest realm=\"x\", nonce=n, qop=auth, algorithm=FOO"),
                &p
            ),
            Err(AuthError::Algorithm(_))
        ));
    }
}
