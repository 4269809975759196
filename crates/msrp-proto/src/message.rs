//! The MSRP message model (RFC 4975 §7, grammar §9): a request or response
//! head (start line and headers), the continuation flag of the end-line,
//! and the transaction id both share. Bodies are not part of the head:
//! the stream parser hands them on in pieces and the serializer takes them
//! separately, so a chunk of a large file never has to sit in one buffer.

use std::fmt;

use crate::headers::{HeaderError, TypedHeader};

/// Why a start line, transaction id or header line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("bad transaction id {0:?}")]
    TransactionId(String),
    #[error("bad start line {0:?}")]
    StartLine(String),
    #[error("bad method {0:?}")]
    Method(String),
    #[error("bad status code {0:?}")]
    StatusCode(String),
    #[error("bad header line {0:?}")]
    HeaderLine(String),
}

/// The transaction identifier: RFC 4975 `ident`, an alphanumeric followed
/// by 3 to 31 of `ALPHANUM . - + % =`, so 4 to 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(String);

impl TransactionId {
    pub const MIN_LEN: usize = 4;
    pub const MAX_LEN: usize = 32;

    pub fn new(s: &str) -> Result<Self, MessageError> {
        if is_ident(s) {
            Ok(TransactionId(s.to_owned()))
        } else {
            Err(MessageError::TransactionId(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For the generator, whose alphabet and lengths are valid by design.
    pub(crate) fn from_generated(s: String) -> Self {
        debug_assert!(is_ident(&s));
        TransactionId(s)
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 4975 `ident`, also the grammar of Message-ID.
pub(crate) fn is_ident(s: &str) -> bool {
    let b = s.as_bytes();
    (TransactionId::MIN_LEN..=TransactionId::MAX_LEN).contains(&b.len())
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter().all(|&c| is_ident_char(c))
}

pub(crate) fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+' | b'%' | b'=')
}

/// The request method. Unknown methods are kept so a relay can pass them
/// on and an endpoint can answer 501 (RFC 4975 §12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Send,
    Report,
    /// RFC 4976 relay authentication.
    Auth,
    /// RFC 7701 §7.1: a chat room participant asks the focus for a
    /// nickname (`Use-Nickname`).
    Nickname,
    /// Any other `1*UPALPHA`.
    Other(String),
}

impl Method {
    pub fn parse(s: &str) -> Result<Self, MessageError> {
        Ok(match s {
            "SEND" => Method::Send,
            "REPORT" => Method::Report,
            "AUTH" => Method::Auth,
            "NICKNAME" => Method::Nickname,
            _ if !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase()) => {
                Method::Other(s.to_owned())
            }
            _ => return Err(MessageError::Method(s.to_owned())),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Send => "SEND",
            Method::Report => "REPORT",
            Method::Auth => "AUTH",
            Method::Nickname => "NICKNAME",
            Method::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The end-line's continuation flag (RFC 4975 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    /// `+`: more chunks of this message follow.
    More,
    /// `$`: this chunk ends the message.
    Complete,
    /// `#`: the sender abandons the message.
    Aborted,
}

impl Flag {
    pub fn from_byte(b: u8) -> Option<Flag> {
        match b {
            b'+' => Some(Flag::More),
            b'$' => Some(Flag::Complete),
            b'#' => Some(Flag::Aborted),
            _ => None,
        }
    }

    pub fn as_byte(self) -> u8 {
        match self {
            Flag::More => b'+',
            Flag::Complete => b'$',
            Flag::Aborted => b'#',
        }
    }
}

/// Headers in received order, names and values as text. MSRP has no line
/// folding and no compact forms, so a header is exactly one line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push(Header {
            name: name.into(),
            value: value.into(),
        });
    }

    /// Appends a typed header in its canonical text.
    pub fn push_typed<T: TypedHeader>(&mut self, h: &T) {
        self.push(T::NAME, h.to_value());
    }

    /// Replaces every header named like `h` with `h`, at the position of
    /// the first one (or at the end).
    pub fn set_typed<T: TypedHeader>(&mut self, h: &T) {
        let value = h.to_value();
        match self
            .0
            .iter()
            .position(|x| x.name.eq_ignore_ascii_case(T::NAME))
        {
            Some(i) => {
                let mut seen = 0usize;
                self.0.retain(|x| {
                    !x.name.eq_ignore_ascii_case(T::NAME) || {
                        seen += 1;
                        seen == 1
                    }
                });
                if let Some(x) = self.0.get_mut(i) {
                    x.value = value;
                }
            }
            None => self.push(T::NAME, value),
        }
    }

    /// The first value of `name`. Names compare without case: RFC 4975
    /// is silent, and refusing `message-id` would buy nothing.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The first header of type `T`, parsed: `None` if absent.
    pub fn typed<T: TypedHeader>(&self) -> Option<Result<T, HeaderError>> {
        self.get(T::NAME).map(T::parse)
    }

    pub fn remove_all(&mut self, name: &str) {
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub tid: TransactionId,
    pub method: Method,
    pub headers: Headers,
}

/// A response head. Responses carry no body (RFC 4975 §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub tid: TransactionId,
    /// Three digits, 000 to 999.
    pub status: u16,
    pub comment: Option<String>,
    pub headers: Headers,
}

/// The head of one MSRP message: start line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    Request(Request),
    Response(Response),
}

impl Head {
    pub fn tid(&self) -> &TransactionId {
        match self {
            Head::Request(r) => &r.tid,
            Head::Response(r) => &r.tid,
        }
    }

    pub fn headers(&self) -> &Headers {
        match self {
            Head::Request(r) => &r.headers,
            Head::Response(r) => &r.headers,
        }
    }

    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Head::Request(r) => &mut r.headers,
            Head::Response(r) => &mut r.headers,
        }
    }

    /// Parses `MSRP SP tid SP method` or `MSRP SP tid SP code [SP comment]`
    /// into a head without headers.
    pub fn parse_start_line(line: &str) -> Result<Head, MessageError> {
        let bad = || MessageError::StartLine(line.to_owned());
        let rest = line.strip_prefix("MSRP ").ok_or_else(bad)?;
        let (tid, rest) = rest.split_once(' ').ok_or_else(bad)?;
        let tid = TransactionId::new(tid)?;
        let (word, comment) = match rest.split_once(' ') {
            Some((w, c)) => (w, Some(c)),
            None => (rest, None),
        };
        let is_code = word.len() == 3 && word.bytes().all(|b| b.is_ascii_digit());
        if is_code {
            if comment.is_some_and(|c| !is_utf8text(c)) {
                return Err(bad());
            }
            let status = word
                .parse::<u16>()
                .map_err(|_| MessageError::StatusCode(word.to_owned()))?;
            Ok(Head::Response(Response {
                tid,
                status,
                comment: comment.map(str::to_owned),
                headers: Headers::new(),
            }))
        } else {
            if comment.is_some() {
                return Err(bad());
            }
            Ok(Head::Request(Request {
                tid,
                method: Method::parse(word)?,
                headers: Headers::new(),
            }))
        }
    }

    /// Splits `name: value` (RFC 4975 `hname ":" SP hval`). A missing space
    /// after the colon is accepted: some stacks omit it.
    pub fn parse_header_line(line: &str) -> Result<Header, MessageError> {
        let bad = || MessageError::HeaderLine(line.to_owned());
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        let value = value.strip_prefix(' ').unwrap_or(value);
        let name_ok = name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && crate::uri::is_token(name);
        if !name_ok || !is_utf8text(value) {
            return Err(bad());
        }
        Ok(Header {
            name: name.to_owned(),
            value: value.to_owned(),
        })
    }
}

impl From<Request> for Head {
    fn from(r: Request) -> Head {
        Head::Request(r)
    }
}

impl From<Response> for Head {
    fn from(r: Response) -> Head {
        Head::Response(r)
    }
}

/// RFC 4975 `utf8text`: tab, printable ASCII and non-ASCII UTF-8 (the
/// `&str` already guarantees the UTF-8 is valid). Control bytes, and above
/// all CR and LF, are refused so a value can never split a line.
pub(crate) fn is_utf8text(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || b >= 0x20 && b != 0x7f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents() {
        assert!(TransactionId::new("a786hjs2").is_ok());
        assert!(TransactionId::new("49fh").is_ok());
        assert!(TransactionId::new("abc").is_err());
        assert!(TransactionId::new(&"a".repeat(33)).is_err());
        assert!(TransactionId::new(".abc").is_err());
        assert!(TransactionId::new("ab c").is_err());
    }

    #[test]
    fn start_lines() {
        let h = Head::parse_start_line("MSRP a786hjs2 SEND").unwrap();
        assert!(matches!(&h, Head::Request(r) if r.method == Method::Send));
        let h = Head::parse_start_line("MSRP a786hjs2 200 OK").unwrap();
        assert!(
            matches!(&h, Head::Response(r) if r.status == 200 && r.comment.as_deref() == Some("OK"))
        );
        let h = Head::parse_start_line("MSRP a786hjs2 NICKNAME").unwrap();
        assert!(matches!(&h, Head::Request(r) if r.method == Method::Nickname));
        let h = Head::parse_start_line("MSRP a786hjs2 FROBNICATE").unwrap();
        assert!(matches!(&h, Head::Request(r) if r.method == Method::Other("FROBNICATE".into())));
        for bad in [
            "MSRP a786hjs2",
            "MSRP a786hjs2 send",
            "MSRP a786hjs2 SEND extra",
            "MSRP a786hjs2 20 OK",
            "MSRQ a786hjs2 SEND",
            "MSRP a7 SEND",
        ] {
            assert!(Head::parse_start_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_lines_and_lookup() {
        let h = Head::parse_header_line("Message-ID: 87652491").unwrap();
        assert_eq!(
            (h.name.as_str(), h.value.as_str()),
            ("Message-ID", "87652491")
        );
        assert!(Head::parse_header_line("-------a786hjs2$").is_err());
        assert!(Head::parse_header_line("No colon").is_err());
        let mut hs = Headers::new();
        hs.push("X-A", "1");
        hs.push("x-a", "2");
        assert_eq!(hs.get("X-a"), Some("1"));
        assert_eq!(hs.get_all("X-A").collect::<Vec<_>>(), ["1", "2"]);
    }
}
