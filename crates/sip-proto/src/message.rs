//! Requests, responses, methods and status codes; serialization and the
//! validation of the headers every element reads.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::error::{ParseError, SyntaxError};
use crate::headers::{
    CSeq, CallId, Contact, ContentLength, ContentType, Date, Expires, From as FromHeader, Header,
    HeaderName, Headers, MaxForwards, MinExpires, RecordRoute, RetryAfter, Route, To, TypedHeader,
    Via, Warning,
};
use crate::parser::{self, Limits};
use crate::uri::Uri;

macro_rules! methods {
    ($( $variant:ident => $s:literal ),* $(,)?) => {
        /// A request method. Methods are case-sensitive (RFC 3261 §7.1).
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum Method {
            $( $variant, )*
            /// Any other token, kept as received.
            Extension(Box<str>),
        }

        impl Method {
            pub fn as_str(&self) -> &str {
                match self {
                    $( Method::$variant => $s, )*
                    Method::Extension(s) => s,
                }
            }

            /// The method `t` names, if this crate knows it (a known
            /// method is a token).
            pub(crate) fn known(t: &str) -> Option<Method> {
                match t {
                    $( $s => Some(Method::$variant), )*
                    _ => None,
                }
            }

            /// Maps a token to a method (the caller has checked the token).
            pub fn from_token(t: &str) -> Method {
                Self::known(t).unwrap_or_else(|| Method::Extension(t.into()))
            }
        }
    };
}

methods! {
    Invite => "INVITE",
    Ack => "ACK",
    Bye => "BYE",
    Cancel => "CANCEL",
    Options => "OPTIONS",
    Register => "REGISTER",
    Prack => "PRACK",
    Subscribe => "SUBSCRIBE",
    Notify => "NOTIFY",
    Publish => "PUBLISH",
    Info => "INFO",
    Refer => "REFER",
    Message => "MESSAGE",
    Update => "UPDATE",
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response status code, 100..=699.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(u16);

impl StatusCode {
    pub const TRYING: StatusCode = StatusCode(100);
    pub const RINGING: StatusCode = StatusCode(180);
    pub const OK: StatusCode = StatusCode(200);
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    pub const PROXY_AUTHENTICATION_REQUIRED: StatusCode = StatusCode(407);
    pub const REQUEST_TERMINATED: StatusCode = StatusCode(487);
    pub const SERVER_INTERNAL_ERROR: StatusCode = StatusCode(500);
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    pub const VERSION_NOT_SUPPORTED: StatusCode = StatusCode(505);
    pub const MESSAGE_TOO_LARGE: StatusCode = StatusCode(513);

    pub fn new(code: u16) -> Option<StatusCode> {
        (100..=699).contains(&code).then_some(StatusCode(code))
    }

    pub fn code(self) -> u16 {
        self.0
    }

    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    pub fn is_final(self) -> bool {
        self.0 >= 200
    }

    /// The reason phrase RFC 3261 §21 suggests, or "" for unknown codes.
    pub fn default_reason(self) -> &'static str {
        match self.0 {
            100 => "Trying",
            180 => "Ringing",
            181 => "Call Is Being Forwarded",
            182 => "Queued",
            183 => "Session Progress",
            200 => "OK",
            202 => "Accepted",
            300 => "Multiple Choices",
            301 => "Moved Permanently",
            302 => "Moved Temporarily",
            380 => "Alternative Service",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            406 => "Not Acceptable",
            407 => "Proxy Authentication Required",
            408 => "Request Timeout",
            410 => "Gone",
            412 => "Conditional Request Failed",
            413 => "Request Entity Too Large",
            414 => "Request-URI Too Long",
            415 => "Unsupported Media Type",
            416 => "Unsupported URI Scheme",
            420 => "Bad Extension",
            421 => "Extension Required",
            423 => "Interval Too Brief",
            480 => "Temporarily Unavailable",
            481 => "Call/Transaction Does Not Exist",
            482 => "Loop Detected",
            483 => "Too Many Hops",
            484 => "Address Incomplete",
            485 => "Ambiguous",
            486 => "Busy Here",
            487 => "Request Terminated",
            488 => "Not Acceptable Here",
            489 => "Bad Event",
            491 => "Request Pending",
            493 => "Undecipherable",
            500 => "Server Internal Error",
            501 => "Not Implemented",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Server Time-out",
            505 => "Version Not Supported",
            513 => "Message Too Large",
            600 => "Busy Everywhere",
            603 => "Decline",
            604 => "Does Not Exist Anywhere",
            606 => "Not Acceptable",
            _ => "",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The SIP version of a start line, e.g. (2, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
}

impl Version {
    pub const SIP_2_0: Version = Version { major: 2, minor: 0 };
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/{}.{}", self.major, self.minor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The Request-URI text; [`Request::uri`] parses it.
    pub(crate) uri: ByteString,
    pub version: Version,
    pub headers: Headers,
    pub body: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: StatusCode,
    /// Reason phrase (UTF-8 per RFC 3261; bad octets become U+FFFD).
    pub(crate) reason: ByteString,
    pub version: Version,
    pub headers: Headers,
    pub body: Bytes,
}

/// A SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Request {
    pub fn new(method: Method, uri: &Uri<'_>) -> Request {
        Request {
            method,
            uri: ByteString::from(uri.to_string()),
            version: Version::SIP_2_0,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    pub fn uri(&self) -> Result<Uri<'_>, SyntaxError> {
        Uri::parse(self.uri_str())
    }

    pub fn uri_str(&self) -> &str {
        &self.uri
    }

    pub fn set_uri(&mut self, uri: &Uri<'_>) {
        self.uri = ByteString::from(uri.to_string());
    }

    /// The serialized length (see [`Message::wire_len`]).
    pub fn wire_len(&self) -> usize {
        self.method.as_str().len()
            + 1
            + self.uri.len()
            + 1
            + self.version.to_string().len()
            + head_and_body_len(&self.headers, &self.body)
    }
}

/// Bytes of the header section (with the blank line) and body.
fn head_and_body_len(headers: &Headers, body: &Bytes) -> usize {
    let h: usize = headers
        .iter()
        .map(|h| h.name.as_str().len() + 2 + h.value.len() + 2)
        .sum();
    2 + h + 2 + body.len()
}

impl Response {
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            reason: ByteString::from_static(status.default_reason()),
            version: Version::SIP_2_0,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// The reason phrase (received bad UTF-8 octets are U+FFFD).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    pub fn set_reason(&mut self, reason: &str) {
        let clean: String = reason
            .chars()
            .filter(|c| *c != '\r' && *c != '\n')
            .collect();
        self.reason = ByteString::from(clean);
    }

    /// Builds a response to `req` as RFC 3261 §8.2.6.2 says: copies Via,
    /// From, To, Call-ID and CSeq (and Record-Route for dialog-creating
    /// answers is left to the dialog layer); adds `to_tag` to To if given
    /// and To has none.
    pub fn for_request(req: &Request, status: StatusCode, to_tag: Option<&str>) -> Response {
        let mut r = Response::new(status);
        for h in req.headers.iter() {
            match h.name {
                HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq => {
                    r.headers.push_copy(h)
                }
                HeaderName::To => {
                    let tagged = to_tag.and_then(|tag| {
                        let mut to = To::parse(h.value).ok()?;
                        if to.tag().is_some() {
                            return None;
                        }
                        to.set_tag(tag);
                        Some(to.to_string())
                    });
                    match tagged {
                        Some(v) => r.headers.push(HeaderName::To, v),
                        None => r.headers.push_copy(h),
                    }
                }
                _ => {}
            }
        }
        r.headers.push(HeaderName::ContentLength, "0");
        r
    }
}

/// Appends `b` with CR and LF replaced by SP: whatever a caller stored,
/// serialization never produces an extra line (no header injection).
pub(crate) fn put_line_safe(out: &mut BytesMut, b: &[u8]) {
    if memchr::memchr2(b'\r', b'\n', b).is_none() {
        out.put_slice(b);
    } else {
        out.extend(
            b.iter()
                .map(|c| if *c == b'\r' || *c == b'\n' { b' ' } else { *c }),
        );
    }
}

impl Message {
    /// Parses one message from a datagram (or any complete buffer) with
    /// default limits, and validates the headers every element reads.
    pub fn parse(data: impl Into<Bytes>) -> Result<Message, ParseError> {
        let msg = parser::parse_datagram(data.into(), &Limits::default())?;
        msg.validate()?;
        Ok(msg)
    }

    /// As [`Message::parse`] with explicit limits.
    pub fn parse_with(data: impl Into<Bytes>, limits: &Limits) -> Result<Message, ParseError> {
        let msg = parser::parse_datagram(data.into(), limits)?;
        msg.validate()?;
        Ok(msg)
    }

    /// Splits a datagram into start line, headers and body without checking
    /// header values, so a UAS can still answer a request that
    /// [`validate`](Self::validate) refuses (RFC 3261 §8.2).
    pub fn parse_unvalidated(
        data: impl Into<Bytes>,
        limits: &Limits,
    ) -> Result<Message, ParseError> {
        parser::parse_datagram(data.into(), limits)
    }

    /// The start line and headers of a datagram, without its body: what
    /// a UAS needs to answer 400 for a datagram that
    /// [`parse_unvalidated`](Self::parse_unvalidated) refuses after its
    /// head, such as one shorter than its Content-Length (RFC 3261 §18.3).
    pub fn parse_head_unvalidated(
        data: impl Into<Bytes>,
        limits: &Limits,
    ) -> Result<Message, ParseError> {
        parser::parse_datagram_head(data.into(), limits)
    }

    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// Sets the body with its Content-Type and a matching Content-Length.
    pub fn set_body(&mut self, content_type: &str, body: impl Into<Bytes>) {
        let body = body.into();
        let len = body.len();
        match self {
            Message::Request(r) => r.body = body,
            Message::Response(r) => r.body = body,
        }
        let h = self.headers_mut();
        if len == 0 {
            h.remove_all(&HeaderName::ContentType);
        } else {
            h.set(HeaderName::ContentType, content_type.to_owned());
        }
        h.set(HeaderName::ContentLength, len.to_string());
    }

    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }

    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        }
    }

    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }

    pub fn version(&self) -> Version {
        match self {
            Message::Request(r) => r.version,
            Message::Response(r) => r.version,
        }
    }

    /// Typed shortcuts for the headers every layer reads.
    pub fn call_id(&self) -> Option<&str> {
        self.headers().get_str(&HeaderName::CallId)
    }

    pub fn cseq(&self) -> Option<Result<CSeq, ParseError>> {
        self.headers().typed::<CSeq>()
    }

    pub fn top_via(&self) -> Option<Result<Via<'_>, ParseError>> {
        self.headers().typed::<Via>()
    }

    pub fn from_header(&self) -> Option<Result<FromHeader<'_>, ParseError>> {
        self.headers().typed::<FromHeader>()
    }

    pub fn to_header(&self) -> Option<Result<To<'_>, ParseError>> {
        self.headers().typed::<To>()
    }

    /// The length [`to_bytes`](Self::to_bytes) will produce, without
    /// building it (to choose a transport by size, RFC 3261 §18.1.1).
    pub fn wire_len(&self) -> usize {
        let start = match self {
            Message::Request(r) => {
                r.method.as_str().len() + 1 + r.uri.len() + 1 + r.version.to_string().len()
            }
            Message::Response(r) => r.version.to_string().len() + 1 + 3 + 1 + r.reason.len(),
        };
        start + head_and_body_len(self.headers(), self.body())
    }

    /// Serializes in canonical form: long header names, unfolded values,
    /// `Name: value` with one space. Headers are written as stored; a
    /// message built with [`set_body`](Self::set_body) carries a correct
    /// Content-Length.
    pub fn to_bytes(&self) -> Bytes {
        let (headers, body) = (self.headers(), self.body());
        let size = 64
            + body.len()
            + headers
                .iter()
                .map(|h| h.name.as_str().len() + h.value.len() + 4)
                .sum::<usize>();
        let mut out = BytesMut::with_capacity(size);
        match self {
            Message::Request(r) => {
                put_line_safe(&mut out, r.method.as_str().as_bytes());
                out.put_u8(b' ');
                put_line_safe(&mut out, r.uri.as_bytes());
                out.put_u8(b' ');
                out.put_slice(r.version.to_string().as_bytes());
            }
            Message::Response(r) => {
                out.put_slice(r.version.to_string().as_bytes());
                out.put_u8(b' ');
                out.put_slice(r.status.to_string().as_bytes());
                out.put_u8(b' ');
                put_line_safe(&mut out, r.reason.as_bytes());
            }
        }
        out.put_slice(b"\r\n");
        for h in headers.iter() {
            put_line_safe(&mut out, h.name.as_str().as_bytes());
            out.put_slice(b": ");
            put_line_safe(&mut out, h.value.as_bytes());
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"\r\n");
        out.put_slice(body);
        out.freeze()
    }

    /// Checks version, Request-URI and the syntax of the headers every
    /// element reads (Via, From, To, Call-ID, CSeq, Max-Forwards, Contact,
    /// Route, Record-Route, Content-Type, Content-Length, Expires,
    /// Min-Expires, Date, Retry-After, Warning) and that a request's CSeq
    /// method equals its method. Other headers are parsed when read.
    /// Presence of mandatory headers is the transaction layer's business.
    pub fn validate(&self) -> Result<(), ParseError> {
        if self.version() != Version::SIP_2_0 {
            return Err(ParseError::UnsupportedVersion(self.version().to_string()));
        }
        if let Message::Request(r) = self {
            let uri = r.uri().map_err(ParseError::RequestUri)?;
            // RFC 3261 §19.1.1: header components are not allowed in a
            // Request-URI (RFC 4475 §3.1.2.11).
            if uri.as_sip().is_some_and(|u| !u.headers.is_empty()) {
                return Err(ParseError::RequestUri(SyntaxError::new(
                    "no '?' header components in a Request-URI",
                    r.uri_str(),
                )));
            }
        }
        // One pass in message order: the first faulty header is reported,
        // and the headers every message needs (RFC 3261 §8.1.1, §20) are
        // noted as they pass.
        let mut seen = 0u8;
        for h in self.headers().iter() {
            match h.name {
                HeaderName::Via => {
                    seen |= 1;
                    check::<Via>(h)?
                }
                HeaderName::From => {
                    seen |= 2;
                    check::<FromHeader>(h)?
                }
                HeaderName::To => {
                    seen |= 4;
                    check::<To>(h)?
                }
                HeaderName::CallId => {
                    seen |= 8;
                    check::<CallId>(h)?
                }
                HeaderName::MaxForwards => check::<MaxForwards>(h)?,
                HeaderName::Contact => check::<Contact>(h)?,
                HeaderName::Route => check::<Route>(h)?,
                HeaderName::RecordRoute => check::<RecordRoute>(h)?,
                HeaderName::ContentType => check::<ContentType>(h)?,
                HeaderName::ContentLength => check::<ContentLength>(h)?,
                HeaderName::Expires => check::<Expires>(h)?,
                HeaderName::MinExpires => check::<MinExpires>(h)?,
                HeaderName::Date => check::<Date>(h)?,
                HeaderName::RetryAfter => check::<RetryAfter>(h)?,
                HeaderName::Warning => check::<Warning>(h)?,
                HeaderName::CSeq => {
                    seen |= 16;
                    for cseq in h.typed_values::<CSeq>() {
                        let cseq = cseq?;
                        if let Message::Request(r) = self {
                            if cseq.method != r.method {
                                return Err(ParseError::CSeqMethodMismatch {
                                    method: r.method.to_string(),
                                    cseq: cseq.method.to_string(),
                                });
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        // Max-Forwards is left out: RFC 2543 clients omit it and RFC 4475
        // §3.4.1 asks a UAS to accept such a request (only proxies act on
        // it), though RFC 3261 §8.1.1 makes it mandatory for senders.
        for (bit, name) in [
            (1, "Via"),
            (2, "From"),
            (4, "To"),
            (8, "Call-ID"),
            (16, "CSeq"),
        ] {
            if seen & bit == 0 {
                return Err(ParseError::MissingHeader(name));
            }
        }
        Ok(())
    }
}

fn check<'a, T: TypedHeader<'a>>(h: Header<'a>) -> Result<(), ParseError> {
    h.typed_values::<T>().try_for_each(|r| r.map(drop))
}

impl From<Request> for Message {
    fn from(r: Request) -> Message {
        Message::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Message {
        Message::Response(r)
    }
}

impl fmt::Display for Message {
    /// The serialized message, with a non-UTF-8 body shown lossily.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}
