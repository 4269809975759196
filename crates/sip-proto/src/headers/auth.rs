//! Authentication headers (RFC 3261 §20.7, §20.27, §20.28, §20.44, §20.6;
//! RFC 7616, RFC 8760). Parsing only: computing digests belongs to the
//! engine issue's `auth` module.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use super::{HeaderName, TypedHeader};
use crate::error::SyntaxError;
use crate::grammar::{is_token, split_commas, unquote, Cursor};

/// A challenge or credentials: `scheme param=value, param="value"`.
/// Values are kept raw (quotes included) so they serialize unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials<'a> {
    pub scheme: Cow<'a, str>,
    pub params: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Credentials<'a> {
    pub fn new(scheme: impl Into<Cow<'a, str>>) -> Self {
        Credentials {
            scheme: scheme.into(),
            params: Vec::new(),
        }
    }

    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }

    /// The decoded value of `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| unquote(v))
    }

    /// Appends a parameter written as a quoted-string.
    pub fn push_quoted(&mut self, name: impl Into<Cow<'a, str>>, value: &str) {
        let mut q = String::with_capacity(value.len() + 2);
        // A write into a String cannot fail.
        let _ = crate::grammar::write_quoted(&mut q, value);
        self.params.push((name.into(), Cow::Owned(q)));
    }

    /// Appends a parameter written as a token.
    pub fn push_token(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
        self.params.push((name.into(), value.into()));
    }

    /// Parses one challenge/credentials value.
    pub fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        let mut all = Self::parse_many(value)?;
        match (all.pop(), all.is_empty()) {
            (Some(c), true) => Ok(c),
            (None, _) => Err(SyntaxError::new("authentication scheme", value)),
            (Some(_), false) => Err(SyntaxError::new("a single challenge", value)),
        }
    }

    /// Parses a value that may hold several challenges (RFC 7235 §4.1
    /// permits this in one field).
    pub fn parse_many(value: &'a str) -> Result<Vec<Self>, SyntaxError> {
        let mut out: Vec<Credentials<'a>> = Vec::new();
        for item in split_commas(value) {
            let mut c = Cursor::new(item);
            let first = c.token("authentication scheme or parameter")?;
            let starts_challenge = c.peek().is_some_and(crate::grammar::is_ws) || c.is_empty();
            if starts_challenge {
                c.skip_ws();
                out.push(Credentials::new(first));
                if c.is_empty() {
                    continue;
                }
                let name = c.token("auth-param name")?;
                let v = auth_value(&mut c)?;
                if let Some(cur) = out.last_mut() {
                    cur.params.push((Cow::Borrowed(name), Cow::Borrowed(v)));
                }
            } else {
                let v = auth_value(&mut c)?;
                match out.last_mut() {
                    Some(cur) => cur.params.push((Cow::Borrowed(first), Cow::Borrowed(v))),
                    None => return Err(SyntaxError::new("authentication scheme", item)),
                }
            }
        }
        if out.is_empty() {
            return Err(SyntaxError::new("authentication scheme", value));
        }
        Ok(out)
    }

    pub fn into_owned(self) -> Credentials<'static> {
        Credentials {
            scheme: Cow::Owned(self.scheme.into_owned()),
            params: self
                .params
                .into_iter()
                .map(|(n, v)| (Cow::Owned(n.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
        }
    }
}

/// `= (token / quoted-string)`, with LWS around '='; then end of item.
fn auth_value<'a>(c: &mut Cursor<'a>) -> Result<&'a str, SyntaxError> {
    if !c.eat_sep(b'=') {
        return Err(SyntaxError::new("'=' after auth-param name", c.rest()));
    }
    let v = if c.peek() == Some(b'"') {
        c.quoted_raw()?
    } else {
        // Some servers send unquoted values with '/' or ':' (e.g. uri=);
        // accept any non-space run rather than refusing the challenge.
        let v = c.take_while(|b| is_token(b) || matches!(b, b'/' | b':' | b'=' | b'@'));
        if v.is_empty() {
            return Err(SyntaxError::new("auth-param value", c.rest()));
        }
        v
    };
    c.expect_end("',' between auth-params")?;
    Ok(v)
}

impl fmt::Display for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        for (i, (n, v)) in self.params.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{n}={v}")?;
        }
        Ok(())
    }
}

macro_rules! auth_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty<'a>(pub Credentials<'a>);

        impl<'a> Deref for $ty<'a> {
            type Target = Credentials<'a>;
            fn deref(&self) -> &Credentials<'a> {
                &self.0
            }
        }

        impl<'a> TypedHeader<'a> for $ty<'a> {
            const NAME: HeaderName = HeaderName::$name;
            fn parse(value: &'a str) -> Result<Self, SyntaxError> {
                Credentials::parse(value).map($ty)
            }
        }

        impl fmt::Display for $ty<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

auth_header!(
    /// A 401 challenge.
    WwwAuthenticate, WwwAuthenticate
);
auth_header!(
    /// A 407 challenge.
    ProxyAuthenticate, ProxyAuthenticate
);
auth_header!(
    /// Credentials for a UAS.
    Authorization, Authorization
);
auth_header!(
    /// Credentials for a proxy.
    ProxyAuthorization, ProxyAuthorization
);

/// Authentication-Info (RFC 3261 §20.6): auth-params without a scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationInfo<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> AuthenticationInfo<'a> {
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| unquote(v))
    }
}

impl<'a> TypedHeader<'a> for AuthenticationInfo<'a> {
    const NAME: HeaderName = HeaderName::AuthenticationInfo;
    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        let mut params = Vec::new();
        for item in split_commas(value) {
            let mut c = Cursor::new(item);
            let name = c.token("auth-param name")?;
            let v = auth_value(&mut c)?;
            params.push((Cow::Borrowed(name), Cow::Borrowed(v)));
        }
        Ok(AuthenticationInfo(params))
    }
}

impl fmt::Display for AuthenticationInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (n, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}={v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_challenge() {
        let c = WwwAuthenticate::parse(
            r#"Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5"#,
        )
        .unwrap();
        assert!(c.is_digest());
        assert_eq!(c.param("realm").as_deref(), Some("atlanta.com"));
        assert_eq!(c.param("ALGORITHM").as_deref(), Some("MD5"));
        assert_eq!(c.param("opaque").as_deref(), Some(""));
        let text = c.to_string();
        let again = WwwAuthenticate::parse(&text).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn several_challenges_in_one_value() {
        let all = Credentials::parse_many(
            r#"Digest realm="a", nonce="1", algorithm=SHA-256, Digest realm="a", nonce="2", algorithm=MD5"#,
        )
        .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].param("algorithm").as_deref(), Some("MD5"));
        assert!(Credentials::parse(r#"Digest realm="a", Basic realm="b""#).is_err());
    }

    #[test]
    fn unknown_scheme() {
        let a = Authorization::parse("NoOneKnowsThisScheme opaque-data=here").unwrap();
        assert_eq!(a.scheme, "NoOneKnowsThisScheme");
        assert_eq!(a.param("opaque-data").as_deref(), Some("here"));
    }
}
