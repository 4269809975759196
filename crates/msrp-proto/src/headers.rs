//! Typed views of the MSRP headers (RFC 4975 §9, RFC 4976 §7). Headers are
//! stored as text ([`crate::Headers`]); a typed header is parsed when asked
//! for, so an unknown or malformed header never stops a message from being
//! framed and relayed.

use std::fmt::Write as _;

use sip_proto::headers::{AuthenticationInfo as SipAuthInfo, Credentials, TypedHeader as _};

use crate::message::{is_ident, is_utf8text};
use crate::uri::{MsrpUri, UriError};

/// Why a header value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("{header}: bad URI: {source}")]
    Uri {
        header: &'static str,
        #[source]
        source: UriError,
    },
    #[error("{0}: empty path")]
    EmptyPath(&'static str),
    #[error("{header}: bad value {value:?}")]
    Value { header: &'static str, value: String },
    #[error("Byte-Range: number above 2^63-1")]
    Overflow,
}

fn bad(header: &'static str, value: &str) -> HeaderError {
    HeaderError::Value {
        header,
        value: value.to_owned(),
    }
}

/// A header with a name and a typed value.
pub trait TypedHeader: Sized {
    const NAME: &'static str;
    fn parse(value: &str) -> Result<Self, HeaderError>;
    /// The value in canonical text, without the name.
    fn to_value(&self) -> String;
}

fn parse_path(header: &'static str, value: &str) -> Result<Vec<MsrpUri>, HeaderError> {
    let uris = value
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| MsrpUri::parse(s).map_err(|source| HeaderError::Uri { header, source }))
        .collect::<Result<Vec<_>, _>>()?;
    if uris.is_empty() {
        return Err(HeaderError::EmptyPath(header));
    }
    Ok(uris)
}

fn write_path(uris: &[MsrpUri]) -> String {
    let mut s = String::new();
    for (i, u) in uris.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{u}");
    }
    s
}

macro_rules! path_header {
    ($(#[$doc:meta])* $ty:ident, $name:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty(pub Vec<MsrpUri>);

        impl TypedHeader for $ty {
            const NAME: &'static str = $name;
            fn parse(value: &str) -> Result<Self, HeaderError> {
                parse_path($name, value).map($ty)
            }
            fn to_value(&self) -> String {
                write_path(&self.0)
            }
        }
    };
}

path_header!(
    /// The hops still to go, the last one the destination (RFC 4975 §5.2).
    ToPath, "To-Path"
);
path_header!(
    /// The hops taken, the first one the one that sent this hop.
    FromPath, "From-Path"
);
path_header!(
    /// The path a relay hands its client (RFC 4976 §5.1).
    UsePath, "Use-Path"
);

macro_rules! text_header {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty(pub String);

        impl TypedHeader for $ty {
            const NAME: &'static str = $name;
            fn parse(value: &str) -> Result<Self, HeaderError> {
                let check: fn(&str) -> bool = $check;
                if check(value) {
                    Ok($ty(value.to_owned()))
                } else {
                    Err(bad($name, value))
                }
            }
            fn to_value(&self) -> String {
                self.0.clone()
            }
        }
    };
}

text_header!(
    /// Identifies the message a chunk or REPORT belongs to.
    MessageId, "Message-ID", is_ident
);
text_header!(ContentId, "Content-ID", |v| !v.is_empty() && is_utf8text(v));
text_header!(ContentDescription, "Content-Description", is_utf8text);
text_header!(ContentDisposition, "Content-Disposition", |v| !v.is_empty()
    && is_utf8text(v));

/// `Content-Type: type/subtype *(";" param)`, kept as text with the media
/// type split out; parameters are the payload crate's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType(pub String);

impl ContentType {
    /// `type/subtype`, lower-cased.
    pub fn media_type(&self) -> String {
        self.0
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
}

impl TypedHeader for ContentType {
    const NAME: &'static str = "Content-Type";
    fn parse(value: &str) -> Result<Self, HeaderError> {
        let mt = value.split(';').next().unwrap_or("").trim();
        let ok = mt
            .split_once('/')
            .is_some_and(|(t, s)| crate::uri::is_token(t) && crate::uri::is_token(s));
        if ok && is_utf8text(value) {
            Ok(ContentType(value.to_owned()))
        } else {
            Err(bad("Content-Type", value))
        }
    }
    fn to_value(&self) -> String {
        self.0.clone()
    }
}

/// `Success-Report: yes / no` (absent means no, RFC 4975 §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuccessReport(pub bool);

impl TypedHeader for SuccessReport {
    const NAME: &'static str = "Success-Report";
    fn parse(value: &str) -> Result<Self, HeaderError> {
        if value.eq_ignore_ascii_case("yes") {
            Ok(SuccessReport(true))
        } else if value.eq_ignore_ascii_case("no") {
            Ok(SuccessReport(false))
        } else {
            Err(bad(Self::NAME, value))
        }
    }
    fn to_value(&self) -> String {
        if self.0 { "yes" } else { "no" }.to_owned()
    }
}

/// `Failure-Report` (absent means yes, RFC 4975 §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReport {
    Yes,
    No,
    /// Only failures are reported: no 200 responses.
    Partial,
}

impl TypedHeader for FailureReport {
    const NAME: &'static str = "Failure-Report";
    fn parse(value: &str) -> Result<Self, HeaderError> {
        [
            ("yes", FailureReport::Yes),
            ("no", FailureReport::No),
            ("partial", FailureReport::Partial),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(value))
        .map(|(_, v)| v)
        .ok_or_else(|| bad(Self::NAME, value))
    }
    fn to_value(&self) -> String {
        match self {
            FailureReport::Yes => "yes",
            FailureReport::No => "no",
            FailureReport::Partial => "partial",
        }
        .to_owned()
    }
}

/// Byte positions above this are refused, so `end + 1`, `end - start + 1`
/// and a conversion to `i64` can never overflow anywhere downstream.
pub const MAX_BYTE_POS: u64 = i64::MAX as u64;

/// `Byte-Range: start-end/total`, 1-based and inclusive; `None` is `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteRange {
    pub start: u64,
    pub end: Option<u64>,
    pub total: Option<u64>,
}

impl ByteRange {
    /// The number of bytes the range claims, when the end is known.
    pub fn len(&self) -> Option<u64> {
        // start >= 1 and end + 1 >= start are checked by parse.
        self.end.map(|e| (e + 1).saturating_sub(self.start))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

fn parse_pos(s: &str, value: &str) -> Result<Option<u64>, HeaderError> {
    if s == "*" {
        return Ok(None);
    }
    parse_num(s, value).map(Some)
}

fn parse_num(s: &str, value: &str) -> Result<u64, HeaderError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(ByteRange::NAME, value));
    }
    let n = s.parse::<u64>().map_err(|_| HeaderError::Overflow)?;
    if n > MAX_BYTE_POS {
        return Err(HeaderError::Overflow);
    }
    Ok(n)
}

impl TypedHeader for ByteRange {
    const NAME: &'static str = "Byte-Range";
    fn parse(value: &str) -> Result<Self, HeaderError> {
        let b = || bad(Self::NAME, value);
        let (range, total) = value.split_once('/').ok_or_else(b)?;
        let (start, end) = range.split_once('-').ok_or_else(b)?;
        let start = parse_num(start, value)?;
        let end = parse_pos(end, value)?;
        let total = parse_pos(total, value)?;
        // An empty chunk is `n-(n-1)`: RFC 4975 §7.1.1 lets a SEND carry
        // no body, and `1-0/0` is how stacks write it.
        let sane = start >= 1
            && end.is_none_or(|e| e + 1 >= start)
            && match (end, total) {
                (Some(e), Some(t)) => e <= t,
                (None, Some(t)) => start <= t + 1,
                _ => true,
            };
        if !sane {
            return Err(b());
        }
        Ok(ByteRange { start, end, total })
    }
    fn to_value(&self) -> String {
        let star = |v: Option<u64>| v.map_or_else(|| "*".to_owned(), |n| n.to_string());
        format!("{}-{}/{}", self.start, star(self.end), star(self.total))
    }
}

/// `Status: namespace code [reason]` of a REPORT (RFC 4975 §7.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `000` for every code RFC 4975 defines.
    pub namespace: u16,
    pub code: u16,
    pub reason: Option<String>,
}

fn three_digits(s: &str) -> Option<u16> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

impl TypedHeader for Status {
    const NAME: &'static str = "Status";
    fn parse(value: &str) -> Result<Self, HeaderError> {
        let b = || bad(Self::NAME, value);
        let (ns, rest) = value.split_once(' ').ok_or_else(b)?;
        let (code, reason) = match rest.split_once(' ') {
            Some((c, r)) => (c, Some(r)),
            None => (rest, None),
        };
        Ok(Status {
            namespace: three_digits(ns).ok_or_else(b)?,
            code: three_digits(code).ok_or_else(b)?,
            reason: reason.map(str::to_owned),
        })
    }
    fn to_value(&self) -> String {
        let mut s = format!("{:03} {:03}", self.namespace, self.code);
        if let Some(r) = &self.reason {
            s.push(' ');
            s.push_str(r);
        }
        s
    }
}

macro_rules! seconds_header {
    ($(#[$doc:meta])* $ty:ident, $name:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $ty(pub u32);

        impl TypedHeader for $ty {
            const NAME: &'static str = $name;
            fn parse(value: &str) -> Result<Self, HeaderError> {
                if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad($name, value));
                }
                value.parse().map($ty).map_err(|_| bad($name, value))
            }
            fn to_value(&self) -> String {
                self.0.to_string()
            }
        }
    };
}

seconds_header!(
    /// Seconds a relay's authorization lasts (RFC 4976 §5.1).
    Expires, "Expires"
);
seconds_header!(MinExpires, "Min-Expires");
seconds_header!(MaxExpires, "Max-Expires");

macro_rules! credentials_header {
    ($(#[$doc:meta])* $ty:ident, $name:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty(pub Credentials<'static>);

        impl TypedHeader for $ty {
            const NAME: &'static str = $name;
            fn parse(value: &str) -> Result<Self, HeaderError> {
                // The digest grammar is HTTP's; sip-proto's reader is the
                // bounded, tested one.
                Credentials::parse(value)
                    .map(|c| $ty(c.into_owned()))
                    .map_err(|_| bad($name, value))
            }
            fn to_value(&self) -> String {
                self.0.to_string()
            }
        }
    };
}

credentials_header!(
    /// A relay's challenge to an AUTH (RFC 4976 §5.1).
    WwwAuthenticate, "WWW-Authenticate"
);
credentials_header!(
    /// A client's answer to a challenge.
    Authorization, "Authorization"
);

/// `Authentication-Info`: auth-params without a scheme (RFC 4976 §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationInfo(pub Vec<(String, String)>);

impl AuthenticationInfo {
    /// The value of `name` (case-insensitive), unquoted.
    pub fn param(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| unquote(v))
    }
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut esc = false;
            for c in inner.chars() {
                if esc || c != '\\' {
                    out.push(c);
                    esc = false;
                } else {
                    esc = true;
                }
            }
            out
        }
        None => v.to_owned(),
    }
}

impl TypedHeader for AuthenticationInfo {
    const NAME: &'static str = "Authentication-Info";
    fn parse(value: &str) -> Result<Self, HeaderError> {
        let info = SipAuthInfo::parse(value).map_err(|_| bad(Self::NAME, value))?;
        Ok(AuthenticationInfo(
            info.0
                .into_iter()
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
    fn to_value(&self) -> String {
        let mut s = String::new();
        for (i, (n, v)) in self.0.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "{n}={v}");
        }
        s
    }
}

/// The longest nickname taken or sent, in bytes. RFC 7701 sets none; a
/// nickname is a display name, and this bounds what a peer can make us
/// keep per participant.
pub const MAX_NICKNAME_LEN: usize = 256;

/// `Use-Nickname: "nickname"` of a NICKNAME request (RFC 7701 §9: the
/// value is a `quoted-string`). Holds the nickname unquoted.
///
/// A bare value (no quotes) is read too: python3-msrplib, the library of
/// the SDK whose API this crate follows, writes the nickname unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseNickname(pub String);

impl UseNickname {
    /// A nickname to send: refused when it is empty, too long or holds a
    /// control character (it could not be written as one header line).
    pub fn new(nickname: &str) -> Result<Self, HeaderError> {
        if nickname.is_empty() || nickname.len() > MAX_NICKNAME_LEN || !is_utf8text(nickname) {
            return Err(bad(Self::NAME, nickname));
        }
        Ok(UseNickname(nickname.to_owned()))
    }
}

impl TypedHeader for UseNickname {
    const NAME: &'static str = "Use-Nickname";
    fn parse(value: &str) -> Result<Self, HeaderError> {
        let b = || bad(Self::NAME, value);
        // Escapes and quotes at most double the length.
        if value.len() > 2 * MAX_NICKNAME_LEN + 2 || !is_utf8text(value) {
            return Err(b());
        }
        let nickname = match value.strip_prefix('"') {
            Some(rest) => {
                let inner = rest.strip_suffix('"').ok_or_else(b)?;
                let mut out = String::with_capacity(inner.len());
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    match c {
                        // quoted-pair: a backslash takes the next char.
                        '\\' => out.push(chars.next().ok_or_else(b)?),
                        // An unescaped quote would end the string early.
                        '"' => return Err(b()),
                        c => out.push(c),
                    }
                }
                out
            }
            None => value.trim().to_owned(),
        };
        UseNickname::new(&nickname).map_err(|_| b())
    }
    fn to_value(&self) -> String {
        let mut s = String::with_capacity(self.0.len() + 2);
        s.push('"');
        for c in self.0.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
        s
    }
}

/// Whether `content_type` is among `accepted`, an `a=accept-types` list
/// (RFC 4975 §8.6: `*` takes anything, `type/*` any subtype; parameters
/// and case do not count).
pub fn type_accepted(accepted: &[String], content_type: &str) -> bool {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    accepted.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        a == "*"
            || a == ct
            || a.strip_suffix("/*")
                .is_some_and(|major| ct.split('/').next() == Some(major))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The content headers of RFC 4975 §9 (a file's chunk carries them,
    /// RFC 5547) and the lifetime bounds of a relay's 423 (RFC 4976
    /// §5.1): read from a header list, written back as they came, bad
    /// values refused with the header named.
    #[test]
    fn content_and_lifetime_headers_read_and_write_back() {
        let mut h = crate::message::Headers::new();
        h.push("Content-ID", "<photo-1@alice.example.com>");
        h.push("Content-Description", "Our holiday, day one");
        h.push("Content-Disposition", "render; filename=\"photo.jpg\"");
        h.push("Min-Expires", "600");
        h.push("Max-Expires", "4294967295");
        assert_eq!(
            h.typed::<ContentId>(),
            Some(Ok(ContentId("<photo-1@alice.example.com>".into())))
        );
        assert_eq!(
            h.typed::<ContentDescription>().unwrap().unwrap().to_value(),
            "Our holiday, day one"
        );
        assert_eq!(
            h.typed::<ContentDisposition>().unwrap().unwrap().0,
            "render; filename=\"photo.jpg\""
        );
        assert_eq!(h.typed::<MinExpires>(), Some(Ok(MinExpires(600))));
        assert_eq!(h.typed::<MaxExpires>(), Some(Ok(MaxExpires(u32::MAX))));
        assert_eq!(MinExpires(600).to_value(), "600");
        assert!(ContentId::parse("").is_err());
        assert!(ContentDisposition::parse("").is_err());
        for bad in ["", "-1", "1.5", "4294967296", "12345678901", " 60"] {
            assert!(MaxExpires::parse(bad).is_err(), "{bad}");
            assert!(MinExpires::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn byte_ranges() {
        let r = ByteRange::parse("1-25/25").unwrap();
        assert_eq!((r.start, r.end, r.total), (1, Some(25), Some(25)));
        assert_eq!(r.len(), Some(25));
        let r = ByteRange::parse("1-*/*").unwrap();
        assert_eq!((r.end, r.total), (None, None));
        let r = ByteRange::parse("1-0/0").unwrap();
        assert!(r.is_empty());
        assert_eq!(r.to_value(), "1-0/0");
        let max = format!("1-{MAX_BYTE_POS}/{MAX_BYTE_POS}");
        assert_eq!(ByteRange::parse(&max).unwrap().to_value(), max);
        for over in [
            "1-9223372036854775808/*",
            "9223372036854775808-*/*",
            "1-*/18446744073709551616",
            "1-*/99999999999999999999999",
        ] {
            assert_eq!(ByteRange::parse(over), Err(HeaderError::Overflow), "{over}");
        }
        for b in [
            "0-5/5", "5-3/9", "1-10/5", "1-5", "1-/5", "+1-5/5", "1-5/5 ", "7-*/5",
        ] {
            assert!(ByteRange::parse(b).is_err(), "{b}");
        }
    }

    #[test]
    fn reports_and_status() {
        assert_eq!(SuccessReport::parse("yes"), Ok(SuccessReport(true)));
        assert_eq!(FailureReport::parse("partial"), Ok(FailureReport::Partial));
        assert!(FailureReport::parse("maybe").is_err());
        let s = Status::parse("000 200 OK").unwrap();
        assert_eq!(
            (s.namespace, s.code, s.reason.as_deref()),
            (0, 200, Some("OK"))
        );
        assert_eq!(s.to_value(), "000 200 OK");
        assert_eq!(Status::parse("000 408").unwrap().reason, None);
        assert!(Status::parse("0 200 OK").is_err());
    }

    #[test]
    fn paths() {
        let p = ToPath::parse(
            "msrps://relay.example.com:9000/hjdhfha;tcp msrp://bob.example.com:8145/foo;tcp",
        )
        .unwrap();
        assert_eq!(p.0.len(), 2);
        assert!(ToPath::parse("").is_err());
        assert!(matches!(
            FromPath::parse("sip:x"),
            Err(HeaderError::Uri { .. })
        ));
    }

    #[test]
    fn misc() {
        assert_eq!(Expires::parse("1800"), Ok(Expires(1800)));
        assert!(Expires::parse("99999999999").is_err());
        assert!(MessageId::parse("87652491").is_ok());
        assert!(MessageId::parse("a b").is_err());
        let ct = ContentType::parse("Text/Plain; charset=utf-8").unwrap();
        assert_eq!(ct.media_type(), "text/plain");
        assert!(ContentType::parse("text").is_err());
        let a = AuthenticationInfo::parse("rspauth=\"abc\", qop=auth, nc=00000001").unwrap();
        assert_eq!(a.param("rspauth").as_deref(), Some("abc"));
    }

    #[test]
    fn use_nickname() {
        // RFC 7701 §9: a quoted-string, with quoted-pairs.
        assert_eq!(
            UseNickname::parse("\"Alice the great\""),
            Ok(UseNickname("Alice the great".into()))
        );
        let tricky = UseNickname("say \"hi\" \\o/".into());
        assert_eq!(tricky.to_value(), r#""say \"hi\" \\o/""#);
        assert_eq!(UseNickname::parse(&tricky.to_value()), Ok(tricky));
        // python3-msrplib writes it bare.
        assert_eq!(UseNickname::parse("al"), Ok(UseNickname("al".into())));
        assert_eq!(
            UseNickname::parse("\"h\u{e9}l\u{e8}ne\"").unwrap().0,
            "h\u{e9}l\u{e8}ne"
        );
        let long = "n".repeat(MAX_NICKNAME_LEN + 1);
        for bad in [
            "",
            "\"\"",
            "\"open",
            "\"a\"b\"",
            "\"trailing\\\"",
            "\"tab\u{1}\"",
            long.as_str(),
        ] {
            assert!(UseNickname::parse(bad).is_err(), "{bad:?}");
        }
        assert!(UseNickname::new("line\r\nbreak").is_err());
        assert!(UseNickname::new(&"n".repeat(MAX_NICKNAME_LEN)).is_ok());
    }
}
