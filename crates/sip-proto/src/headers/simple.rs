//! Headers with small grammars: numbers, token lists, media types, and the
//! structured headers of RFC 3261, 3262, 3265/6665, 3326, 3891, 3903, 4028.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use super::{HeaderName, TypedHeader};
use crate::error::SyntaxError;
use crate::grammar::{is_token, is_word, parse_u32, walk_alnum_from, write_quoted, Cursor};
use crate::message::Method;
use crate::params::Params;

// ------------------------------------------------------------ numbers

macro_rules! number_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident, $int:ty, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty(pub $int);

        impl<'a> TypedHeader<'a> for $ty {
            const NAME: HeaderName = HeaderName::$name;
            fn parse(value: &'a str) -> Result<Self, SyntaxError> {
                let n = parse_u32(crate::grammar::trim_ws(value), $what)?;
                <$int>::try_from(n).map($ty).map_err(|_| SyntaxError::new($what, value))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

number_header!(
    /// Max-Forwards (0..=255).
    MaxForwards, MaxForwards, u8, "Max-Forwards between 0 and 255"
);
number_header!(
    /// Content-Length in bytes.
    ContentLength, ContentLength, u32, "Content-Length as a non-negative decimal"
);
number_header!(
    /// Expires in seconds.
    Expires, Expires, u32, "Expires in seconds (0..2^32-1)"
);
number_header!(
    /// Min-Expires in seconds (RFC 3261 §20.23).
    MinExpires, MinExpires, u32, "Min-Expires in seconds"
);
number_header!(
    /// RSeq (RFC 3262).
    RSeq, RSeq, u32, "RSeq number (1..2^32-1)"
);

// ------------------------------------------------------------ token lists

macro_rules! token_list_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty<'a>(pub Cow<'a, str>);

        impl<'a> TypedHeader<'a> for $ty<'a> {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = true;
            fn parse(value: &'a str) -> Result<Self, SyntaxError> {
                single_token(value, $what).map(|t| $ty(Cow::Borrowed(t)))
            }
        }

        impl fmt::Display for $ty<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn single_token<'a>(value: &'a str, what: &'static str) -> Result<&'a str, SyntaxError> {
    let mut c = Cursor::new(value);
    c.skip_ws();
    let t = c.token(what)?;
    c.expect_end(what)?;
    Ok(t)
}

token_list_header!(
    /// One option tag of Supported (RFC 3261 §20.37).
    Supported, Supported, "option tag"
);
token_list_header!(
    /// One option tag of Require (RFC 3261 §20.32).
    Require, Require, "option tag"
);
token_list_header!(
    /// One option tag of Proxy-Require (RFC 3261 §20.29).
    ProxyRequire, ProxyRequire, "option tag"
);
token_list_header!(
    /// One option tag of Unsupported (RFC 3261 §20.40).
    Unsupported, Unsupported, "option tag"
);
token_list_header!(
    /// One event package of Allow-Events (RFC 6665).
    AllowEvents, AllowEvents, "event type"
);
token_list_header!(
    /// One content coding of Content-Encoding.
    ContentEncoding, ContentEncoding, "content coding"
);
token_list_header!(
    /// One coding of Accept-Encoding.
    AcceptEncoding, AcceptEncoding, "content coding"
);

/// One method of Allow (RFC 3261 §20.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow(pub Method);

impl<'a> TypedHeader<'a> for Allow {
    const NAME: HeaderName = HeaderName::Allow;
    const LIST: bool = true;
    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        single_token(value, "method").map(|t| Allow(Method::from_token(t)))
    }
}

impl fmt::Display for Allow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

// ------------------------------------------------------------ text values

macro_rules! text_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident, $check:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty<'a>(pub Cow<'a, str>);

        impl<'a> TypedHeader<'a> for $ty<'a> {
            const NAME: HeaderName = HeaderName::$name;
            fn parse(value: &'a str) -> Result<Self, SyntaxError> {
                let v = crate::grammar::trim_ws(value);
                let check: fn(&str) -> bool = $check;
                if check(v) {
                    Ok($ty(Cow::Borrowed(v)))
                } else {
                    Err(SyntaxError::new($what, v))
                }
            }
        }

        impl fmt::Display for $ty<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn is_call_id(v: &str) -> bool {
    // callid = word [ "@" word ]: one walk, '@' not being a word character.
    let b = v.as_bytes();
    let first = walk_alnum_from(b, 0, is_word);
    match b.get(first) {
        None => first > 0,
        Some(b'@') => {
            first > 0 && b.len() > first + 1 && walk_alnum_from(b, first + 1, is_word) == b.len()
        }
        Some(_) => false,
    }
}

fn is_visible_text(v: &str) -> bool {
    !v.chars().any(char::is_control)
}

fn is_entity_tag(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(is_token)
}

text_header!(
    /// Call-ID (RFC 3261 §20.8).
    CallId, CallId, is_call_id, "Call-ID of word characters with at most one '@'"
);
text_header!(
    /// Subject, free text.
    Subject, Subject, is_visible_text, "text without control characters"
);
text_header!(
    /// User-Agent product and comment text.
    UserAgent, UserAgent, |v| !v.is_empty() && is_visible_text(v), "product text"
);
text_header!(
    /// Server product and comment text.
    ServerHeader, Server, |v| !v.is_empty() && is_visible_text(v), "product text"
);
text_header!(
    /// SIP-ETag (RFC 3903).
    SipETag, SipETag, is_entity_tag, "entity tag token"
);
text_header!(
    /// SIP-If-Match (RFC 3903).
    SipIfMatch, SipIfMatch, is_entity_tag, "entity tag token"
);

// ------------------------------------------------------------ CSeq, RAck

/// CSeq (RFC 3261 §20.16): sequence number below 2^31 and method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub const MAX: u32 = (1 << 31) - 1;
}

impl<'a> TypedHeader<'a> for CSeq {
    const NAME: HeaderName = HeaderName::CSeq;
    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        // The usual "314159 INVITE": up to nine digits, one SP, the method
        // (a known one needs no token check). Anything else takes the
        // general reader below.
        let b = value.as_bytes();
        let (mut seq, mut digits) = (0u32, 0);
        while let Some(d) = b.get(digits).filter(|d| digits < 9 && d.is_ascii_digit()) {
            seq = seq * 10 + u32::from(d - b'0');
            digits += 1;
        }
        if digits > 0 && b.get(digits) == Some(&b' ') && seq <= CSeq::MAX {
            let method = value.get(digits + 1..).unwrap_or("");
            if let Some(method) = Method::known(method) {
                return Ok(CSeq { seq, method });
            }
            if !method.is_empty() && method.bytes().all(is_token) {
                return Ok(CSeq {
                    seq,
                    method: Method::from_token(method),
                });
            }
        }
        let mut c = Cursor::new(value);
        c.skip_ws();
        let seq = c.u32("CSeq number below 2^31")?;
        if seq > CSeq::MAX {
            return Err(SyntaxError::new("CSeq number below 2^31", value));
        }
        if !c.peek().is_some_and(crate::grammar::is_ws) {
            return Err(SyntaxError::new(
                "whitespace between CSeq number and method",
                c.rest(),
            ));
        }
        c.skip_ws();
        let method = c.token("CSeq method")?;
        c.expect_end("end of CSeq")?;
        Ok(CSeq {
            seq,
            method: Method::from_token(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method.as_str())
    }
}

/// RAck (RFC 3262 §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RAck {
    pub rseq: u32,
    pub cseq: u32,
    pub method: Method,
}

impl<'a> TypedHeader<'a> for RAck {
    const NAME: HeaderName = HeaderName::RAck;
    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        let mut c = Cursor::new(value);
        c.skip_ws();
        let rseq = c.u32("RAck response number")?;
        c.skip_ws();
        let cseq = c.u32("RAck CSeq number")?;
        c.skip_ws();
        let method = c.token("RAck method")?;
        c.expect_end("end of RAck")?;
        Ok(RAck {
            rseq,
            cseq,
            method: Method::from_token(method),
        })
    }
}

impl fmt::Display for RAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.rseq, self.cseq, self.method.as_str())
    }
}

// ------------------------------------------------------------ token + params

macro_rules! token_params_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident, $field:ident, $list:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty<'a> {
            pub $field: Cow<'a, str>,
            pub params: Params<'a>,
        }

        impl<'a> $ty<'a> {
            pub fn new(value: impl Into<Cow<'a, str>>) -> Self {
                $ty { $field: value.into(), params: Params::new() }
            }
        }

        impl<'a> TypedHeader<'a> for $ty<'a> {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = $list;
            fn parse(value: &'a str) -> Result<Self, SyntaxError> {
                let mut c = Cursor::new(value);
                c.skip_ws();
                let t = c.token($what)?;
                let params = Params::parse_header(&mut c)?;
                c.expect_end($what)?;
                Ok($ty { $field: Cow::Borrowed(t), params })
            }
        }

        impl fmt::Display for $ty<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", self.$field, self.params)
            }
        }
    };
}

token_params_header!(
    /// Event (RFC 6665 §8.2.1): package and `id`.
    Event, Event, package, false, "event package"
);
token_params_header!(
    /// Subscription-State (RFC 6665 §8.2.3): state, expires, reason, retry-after.
    SubscriptionState, SubscriptionState, state, false, "subscription state"
);
token_params_header!(
    /// Content-Disposition (RFC 3261 §20.11).
    ContentDisposition, ContentDisposition, disposition, false, "disposition type"
);
token_params_header!(
    /// One Reason value (RFC 3326): protocol with cause and text.
    Reason, Reason, protocol, true, "reason protocol"
);

impl Event<'_> {
    pub fn id(&self) -> Option<&str> {
        self.params.get("id").flatten()
    }
}

impl SubscriptionState<'_> {
    pub fn expires(&self) -> Option<u32> {
        self.params.get("expires").flatten()?.parse().ok()
    }
    pub fn reason(&self) -> Option<&str> {
        self.params.get("reason").flatten()
    }
    pub fn retry_after(&self) -> Option<u32> {
        self.params.get("retry-after").flatten()?.parse().ok()
    }
}

impl Reason<'_> {
    pub fn cause(&self) -> Option<u16> {
        self.params.get("cause").flatten()?.parse().ok()
    }
    pub fn text(&self) -> Option<Cow<'_, str>> {
        self.params.value("text")
    }
}

/// Replaces (RFC 3891): a Call-ID with to-tag, from-tag, early-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces<'a> {
    pub call_id: Cow<'a, str>,
    pub params: Params<'a>,
}

impl<'a> TypedHeader<'a> for Replaces<'a> {
    const NAME: HeaderName = HeaderName::Replaces;
    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        let mut c = Cursor::new(value);
        c.skip_ws();
        let id = c.take_while(|b| is_word(b) || b == b'@');
        if !is_call_id(id) {
            return Err(SyntaxError::new("Call-ID in Replaces", value));
        }
        let params = Params::parse_header(&mut c)?;
        c.expect_end("end of Replaces")?;
        if params.get("to-tag").flatten().is_none() || params.get("from-tag").flatten().is_none() {
            return Err(SyntaxError::new("to-tag and from-tag in Replaces", value));
        }
        Ok(Replaces {
            call_id: Cow::Borrowed(id),
            params,
        })
    }
}

impl fmt::Display for Replaces<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.call_id, self.params)
    }
}

// ------------------------------------------------------------ delta-seconds + params

macro_rules! delta_params_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty<'a> {
            pub seconds: u32,
            pub params: Params<'a>,
        }

        impl<'a> TypedHeader<'a> for $ty<'a> {
            const NAME: HeaderName = HeaderName::$name;
            fn parse(value: &'a str) -> Result<Self, SyntaxError> {
                let mut c = Cursor::new(value);
                c.skip_ws();
                let seconds = c.u32($what)?;
                let params = Params::parse_header(&mut c)?;
                c.expect_end($what)?;
                Ok($ty { seconds, params })
            }
        }

        impl fmt::Display for $ty<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", self.seconds, self.params)
            }
        }
    };
}

delta_params_header!(
    /// Session-Expires (RFC 4028): interval and refresher.
    SessionExpires, SessionExpires, "Session-Expires delta-seconds"
);
delta_params_header!(
    /// Min-SE (RFC 4028).
    MinSe, MinSe, "Min-SE delta-seconds"
);

impl SessionExpires<'_> {
    pub fn refresher(&self) -> Option<&str> {
        self.params.get("refresher").flatten()
    }
}

/// Retry-After (RFC 3261 §20.33): seconds, optional comment, duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryAfter<'a> {
    pub seconds: u32,
    /// The comment without its parentheses.
    pub comment: Option<Cow<'a, str>>,
    pub params: Params<'a>,
}

impl<'a> TypedHeader<'a> for RetryAfter<'a> {
    const NAME: HeaderName = HeaderName::RetryAfter;
    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        let mut c = Cursor::new(value);
        c.skip_ws();
        let seconds = c.u32("Retry-After delta-seconds (0..2^32-1)")?;
        c.skip_ws();
        let comment = if c.peek() == Some(b'(') {
            Some(Cow::Borrowed(comment(&mut c)?))
        } else {
            None
        };
        let params = Params::parse_header(&mut c)?;
        c.expect_end("end of Retry-After")?;
        Ok(RetryAfter {
            seconds,
            comment,
            params,
        })
    }
}

/// A parenthesised comment with nesting and quoted-pairs; returns the inside.
fn comment<'a>(c: &mut Cursor<'a>) -> Result<&'a str, SyntaxError> {
    let s = c.rest();
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    let inner = s.get(1..i).unwrap_or("");
                    c.advance(i + 1);
                    return Ok(inner);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(SyntaxError::new("closing ')' of comment", s))
}

impl fmt::Display for RetryAfter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.seconds)?;
        if let Some(c) = &self.comment {
            write!(f, " ({c})")?;
        }
        write!(f, "{}", self.params)
    }
}

// ------------------------------------------------------------ media types

/// `type/subtype;params`, the value of Content-Type and one Accept element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType<'a> {
    pub mtype: Cow<'a, str>,
    pub subtype: Cow<'a, str>,
    pub params: Params<'a>,
}

impl<'a> MediaType<'a> {
    pub fn new(mtype: &'a str, subtype: &'a str) -> Self {
        MediaType {
            mtype: Cow::Borrowed(mtype),
            subtype: Cow::Borrowed(subtype),
            params: Params::new(),
        }
    }

    pub fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        // The usual "type/subtype": two tokens, no whitespace, no parameters.
        let b = value.as_bytes();
        let slash = b.iter().take_while(|c| is_token(**c)).count();
        if slash > 0 && b.get(slash) == Some(&b'/') {
            let subtype = value.get(slash + 1..).unwrap_or("");
            if !subtype.is_empty() && subtype.bytes().all(is_token) {
                return Ok(MediaType {
                    mtype: Cow::Borrowed(value.get(..slash).unwrap_or("")),
                    subtype: Cow::Borrowed(subtype),
                    params: Params::new(),
                });
            }
        }
        let mut c = Cursor::new(value);
        c.skip_ws();
        let mtype = c.token("media type")?;
        if !c.eat_sep(b'/') {
            return Err(SyntaxError::new("'/' in media type", c.rest()));
        }
        let subtype = c.token("media subtype")?;
        let params = Params::parse_header(&mut c)?;
        c.expect_end("end of media type")?;
        Ok(MediaType {
            mtype: Cow::Borrowed(mtype),
            subtype: Cow::Borrowed(subtype),
            params,
        })
    }

    /// Case-insensitive match of type and subtype, `*` as wildcard.
    pub fn matches(&self, mtype: &str, subtype: &str) -> bool {
        let m = |pat: &str, v: &str| pat == "*" || pat.eq_ignore_ascii_case(v);
        m(&self.mtype, mtype) && m(&self.subtype, subtype)
    }

    pub fn boundary(&self) -> Option<Cow<'_, str>> {
        self.params.value("boundary")
    }

    pub fn into_owned(self) -> MediaType<'static> {
        MediaType {
            mtype: Cow::Owned(self.mtype.into_owned()),
            subtype: Cow::Owned(self.subtype.into_owned()),
            params: self.params.into_owned(),
        }
    }
}

impl fmt::Display for MediaType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.mtype, self.subtype, self.params)
    }
}

/// Content-Type (RFC 3261 §20.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType<'a>(pub MediaType<'a>);

impl<'a> TypedHeader<'a> for ContentType<'a> {
    const NAME: HeaderName = HeaderName::ContentType;
    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        MediaType::parse(value).map(ContentType)
    }
}

impl fmt::Display for ContentType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One media range of Accept (RFC 3261 §20.1). An empty Accept yields none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accept<'a>(pub MediaType<'a>);

impl<'a> TypedHeader<'a> for Accept<'a> {
    const NAME: HeaderName = HeaderName::Accept;
    const LIST: bool = true;
    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        MediaType::parse(value).map(Accept)
    }
}

impl fmt::Display for Accept<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

// ------------------------------------------------------------ Date, Timestamp, Warning

/// Date (RFC 3261 §20.17): rfc1123-date, always GMT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub SystemTime);

impl<'a> TypedHeader<'a> for Date {
    const NAME: HeaderName = HeaderName::Date;
    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        let v = crate::grammar::trim_ws(value);
        // RFC 3261 allows only the RFC 1123 form and only GMT (RFC 4475
        // §3.1.2.12); httpdate also takes two obsolete forms, so check first.
        const WDAY: [&str; 7] = ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"];
        if v.len() != 29 || !v.ends_with(" GMT") || !WDAY.iter().any(|d| v.starts_with(d)) {
            return Err(SyntaxError::new("RFC 1123 date in GMT", v));
        }
        httpdate::parse_http_date(v)
            .map(Date)
            .map_err(|_| SyntaxError::new("RFC 1123 date in GMT", v))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&httpdate::fmt_http_date(self.0))
    }
}

/// Timestamp (RFC 3261 §20.38): a decimal time and optional delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp<'a> {
    pub value: Cow<'a, str>,
    pub delay: Option<Cow<'a, str>>,
}

fn decimal<'a>(c: &mut Cursor<'a>, what: &'static str) -> Result<&'a str, SyntaxError> {
    let d = c.take_while(|b| b.is_ascii_digit() || b == b'.');
    if d.is_empty() || d.starts_with('.') || d.matches('.').count() > 1 {
        return Err(SyntaxError::new(what, d));
    }
    Ok(d)
}

impl<'a> TypedHeader<'a> for Timestamp<'a> {
    const NAME: HeaderName = HeaderName::Timestamp;
    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        let mut c = Cursor::new(value);
        c.skip_ws();
        let v = decimal(&mut c, "timestamp")?;
        c.skip_ws();
        let delay = if c.is_empty() {
            None
        } else {
            Some(Cow::Borrowed(decimal(&mut c, "timestamp delay")?))
        };
        c.expect_end("end of Timestamp")?;
        Ok(Timestamp {
            value: Cow::Borrowed(v),
            delay,
        })
    }
}

impl fmt::Display for Timestamp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)?;
        if let Some(d) = &self.delay {
            write!(f, " {d}")?;
        }
        Ok(())
    }
}

/// One Warning value (RFC 3261 §20.43).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning<'a> {
    pub code: u16,
    pub agent: Cow<'a, str>,
    /// Decoded warning text.
    pub text: Cow<'a, str>,
}

impl<'a> TypedHeader<'a> for Warning<'a> {
    const NAME: HeaderName = HeaderName::Warning;
    const LIST: bool = true;
    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        let mut c = Cursor::new(value);
        c.skip_ws();
        let code = c.take_while(|b| b.is_ascii_digit());
        if code.len() != 3 {
            return Err(SyntaxError::new("3-digit warn-code", value));
        }
        let code = code
            .parse()
            .map_err(|_| SyntaxError::new("3-digit warn-code", value))?;
        if !c.eat(b' ') {
            return Err(SyntaxError::new("SP after warn-code", c.rest()));
        }
        let agent = c.take_while(|b| is_token(b) || matches!(b, b':' | b'[' | b']'));
        if agent.is_empty() || !c.eat(b' ') {
            return Err(SyntaxError::new("warn-agent", c.rest()));
        }
        let text = c.quoted()?;
        c.expect_end("end of Warning")?;
        Ok(Warning {
            code,
            agent: Cow::Borrowed(agent),
            text,
        })
    }
}

impl fmt::Display for Warning<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03} {} ", self.code, self.agent)?;
        write_quoted(f, &self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(MaxForwards::parse("0068"), Ok(MaxForwards(68)));
        assert!(MaxForwards::parse("300").is_err());
        assert!(ContentLength::parse("-999").is_err());
        assert!(Expires::parse("10000000000000000000000").is_err());
    }

    #[test]
    fn cseq() {
        assert_eq!(
            CSeq::parse("0009\u{20}INVITE"),
            Ok(CSeq {
                seq: 9,
                method: Method::Invite
            })
        );
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
        assert!(CSeq::parse("2147483648 INVITE").is_err());
        assert!(CSeq::parse("1").is_err());
        assert!(CSeq::parse("1INVITE").is_err());
        // The one-SP form and the general one read alike.
        let seq = |v| CSeq::parse(v).map(|c| (c.seq, c.method.to_string()));
        assert_eq!(seq("314159 INVITE"), Ok((314159, "INVITE".into())));
        assert_eq!(seq("314159 \t INVITE "), Ok((314159, "INVITE".into())));
        assert_eq!(seq("2147483647 FOO"), Ok((2147483647, "FOO".into())));
        assert_eq!(seq("123456789 x-y"), Ok((123456789, "x-y".into())));
        // Methods are case-sensitive: a lowercase INVITE is an extension.
        assert_eq!(
            CSeq::parse("1 invite").map(|c| c.method),
            Ok(Method::Extension("invite".into()))
        );
        assert_eq!(seq("7 BYE "), Ok((7, "BYE".into())));
        assert!(seq("1 ").is_err());
        assert!(seq("1 IN VITE").is_err());
        assert!(seq("1 INV@TE").is_err());
        assert!(seq("999999999 ").is_err());
    }

    #[test]
    fn media_types() {
        let m = MediaType::parse("multipart/mixed;boundary=7a9cbec02ceef655").unwrap();
        assert!(m.matches("MULTIPART", "mixed"));
        assert_eq!(m.boundary().as_deref(), Some("7a9cbec02ceef655"));
        let m = MediaType::parse("text / plain ; charset=\"utf-8\"").unwrap();
        assert_eq!(m.to_string(), "text/plain;charset=\"utf-8\"");
        // The bare form and the general one read alike.
        let m = MediaType::parse("application/sdp").unwrap();
        assert!(m.matches("application", "SDP") && m.params.is_empty());
        assert_eq!(MediaType::parse("application/sdp "), Ok(m));
        assert!(MediaType::parse("application/").is_err());
        assert!(MediaType::parse("/sdp").is_err());
        assert!(MediaType::parse("application/sd@p").is_err());
        assert!(MediaType::parse("application/sdp/x").is_err());
    }

    #[test]
    fn dates() {
        let d = Date::parse("Sat, 15 Oct 2005 04:44:56 GMT").unwrap();
        assert_eq!(d.to_string(), "Sat, 15 Oct 2005 04:44:56 GMT");
        assert!(Date::parse("Fri, 01 Jan 2010 16:00:00 EST").is_err());
        assert!(Date::parse("Sunday, 06-Nov-94 08:49:37 GMT").is_err());
    }

    #[test]
    fn warnings_and_retry_after() {
        let w = Warning::parse("370 devnull \"Choose a bigger pipe\"").unwrap();
        assert_eq!(
            (w.code, &*w.agent, &*w.text),
            (370, "devnull", "Choose a bigger pipe")
        );
        assert!(Warning::parse("1812 overture \"In Progress\"").is_err());
        let r = RetryAfter::parse("18000 (in a (nested) meeting);duration=3600").unwrap();
        assert_eq!(r.comment.as_deref(), Some("in a (nested) meeting"));
        assert_eq!(r.params.get("duration"), Some(Some("3600")));
        assert!(RetryAfter::parse("949302838503028349304023988").is_err());
    }

    #[test]
    fn structured() {
        let e = Event::parse("presence;id=42").unwrap();
        assert_eq!((&*e.package, e.id()), ("presence", Some("42")));
        let s = SubscriptionState::parse("terminated;reason=timeout").unwrap();
        assert_eq!(s.reason(), Some("timeout"));
        let s = SubscriptionState::parse("terminated;reason=giveup;retry-after=30").unwrap();
        assert_eq!((s.retry_after(), s.expires()), (Some(30), None));
        let r = Reason::parse("Q.850 ;cause=16 ;text=\"Terminated\"").unwrap();
        assert_eq!(
            (r.cause(), r.text().as_deref()),
            (Some(16), Some("Terminated"))
        );
        let r = Replaces::parse("425928@bobster.example.org;to-tag=7743;from-tag=6472").unwrap();
        assert_eq!(r.call_id, "425928@bobster.example.org");
        assert!(Replaces::parse("425928@bobster.example.org;to-tag=7743").is_err());
        assert_eq!(
            RAck::parse("776656 1 INVITE"),
            Ok(RAck {
                rseq: 776656,
                cseq: 1,
                method: Method::Invite
            })
        );
        assert!(CallId::parse("a b").is_err());
        for bad in ["", "@", "a@", "@b", "a@b@c", "a@b c"] {
            assert!(CallId::parse(bad).is_err(), "{bad:?}");
        }
        for ok in ["a", "a@b", "a84b4c76e66710@pc33.atlanta.example.com"] {
            assert!(CallId::parse(ok).is_ok(), "{ok:?}");
        }
        assert!(CallId::parse("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_ok());
    }
}
