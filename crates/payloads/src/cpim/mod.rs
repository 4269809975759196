//! Message/CPIM (RFC 3862): the envelope every MSRP chat message and most
//! SIP MESSAGE bodies of a SIP SIMPLE client travel in.
//!
//! A `message/cpim` body is three blocks: the CPIM message headers, a blank
//! line, the MIME headers of the encapsulated content, a blank line, the
//! content. The MIME headers of the outer message (the `Content-Type:
//! message/cpim` itself) belong to the carrier and are not part of it.
//!
//! [`Message::parse`] reads one into typed headers (From, To, cc, DateTime,
//! Subject, NS, Require) and extension headers resolved to their namespace
//! URI (so `imdn.Message-ID` is found by `urn:ietf:params:imdn` whatever
//! prefix the sender chose); [`Message::to_bytes`] prints one back;
//! [`MessageBuilder`] makes one to send.

mod grammar;
mod parse;
mod write;

use crate::DateTime;

/// The namespace of header names without a prefix (RFC 3862 §3.4).
pub const CPIM_HEADERS_NS: &str = "urn:ietf:params:cpim-headers:";

/// A `From`, `To` or `cc` value: an optional display name and a URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    pub display_name: Option<String>,
    pub uri: String,
}

impl Address {
    pub fn new(uri: &str) -> Address {
        Address {
            display_name: None,
            uri: uri.to_owned(),
        }
    }

    pub fn with_name(display_name: &str, uri: &str) -> Address {
        Address {
            display_name: Some(display_name.to_owned()).filter(|n| !n.is_empty()),
            uri: uri.to_owned(),
        }
    }

    /// Reads `[Formal-name] <URI>` as the `From`, `To` and `cc` headers
    /// (and RFC 5438's `imdn.Original-To`) write it.
    pub fn parse(value: &str) -> Option<Address> {
        grammar::parse_address(value)
    }

    /// The address of a SIP `From`/`To` value or a session identity
    /// (`"Name" <uri>;tag=x`, or a bare URI): lenient, as those come from
    /// the SIP layer, not from CPIM.
    pub fn from_name_addr(value: &str) -> Address {
        if let (Some(a), Some(b)) = (value.find('<'), value.rfind('>')) {
            if a < b {
                let name = value[..a].trim().trim_matches('"');
                return Address::with_name(name, &value[a + 1..b]);
            }
        }
        Address::new(value.split(';').next().unwrap_or(value).trim())
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        grammar::write_address(&mut s, self);
        f.write_str(&s)
    }
}

/// A `Subject` (several may be present, one per language).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    /// The `;lang=` parameter (RFC 3862 §3.3).
    pub lang: Option<String>,
    pub text: String,
}

/// An `NS` declaration: a prefix (absent for the `NS: <uri>` form) bound to
/// a namespace URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    pub prefix: Option<String>,
    pub uri: String,
}

/// A header parameter other than `lang`, value unquoted and unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    pub name: String,
    pub value: String,
}

/// A header this crate has no type for, in its namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionHeader {
    /// The prefix as written (`imdn` in `imdn.Message-ID`); `None` for a
    /// name without a prefix, which lives in [`CPIM_HEADERS_NS`].
    pub prefix: Option<String>,
    /// The URI the prefix is bound to by an `NS` header; `None` when the
    /// prefix was never declared (the header is kept all the same).
    /// A name without a prefix has [`CPIM_HEADERS_NS`] here.
    pub namespace: Option<String>,
    pub name: String,
    pub params: Vec<Param>,
    /// The value with §2.3 escapes resolved.
    pub value: String,
}

/// A MIME header of the encapsulated content (`Content-Type` and the like),
/// kept as written, with folded lines joined.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MimeHeader {
    pub name: String,
    pub value: String,
}

/// A whole Message/CPIM.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub from: Option<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub datetime: Option<DateTime>,
    pub subjects: Vec<Subject>,
    pub namespaces: Vec<Namespace>,
    /// Header names listed by `Require` headers, as written
    /// (`MyFeatures.VitalMessageOption`).
    pub require: Vec<String>,
    pub extensions: Vec<ExtensionHeader>,
    pub content_headers: Vec<MimeHeader>,
    pub body: Vec<u8>,
}

/// Bounds on what [`Message::parse`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the whole message, content included.
    pub max_size: usize,
    /// Headers in each of the two header blocks.
    pub max_headers: usize,
    /// Bytes of one header line.
    pub max_line: usize,
}

impl Default for Limits {
    /// A chat message is small, but a CPIM-wrapped file or image sent with
    /// SIP MESSAGE may reach a few hundred kilobytes.
    fn default() -> Limits {
        Limits {
            max_size: 1024 * 1024,
            max_headers: 64,
            max_line: 4096,
        }
    }
}

/// What was wrong with a CPIM message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpimErrorKind {
    #[error("the message is {0} bytes, over the limit of {1}")]
    TooLarge(usize, usize),
    #[error("more than {0} headers in a block")]
    TooManyHeaders(usize),
    #[error("a header line is longer than {0} bytes")]
    LineTooLong(usize),
    #[error("a header line is not UTF-8")]
    NotUtf8,
    #[error("the message headers do not end with a blank line")]
    NoBlankLine,
    #[error("expected `Name: value`, got {0:?}")]
    NotAHeader(String),
    #[error("bad header name {0:?}")]
    BadName(String),
    #[error("message header lines are not folded (RFC 3862 §3)")]
    Folded,
    #[error("`{0}` appears more than once")]
    Repeated(&'static str),
    #[error("bad {what}: {got:?}")]
    Malformed { what: &'static str, got: String },
}

/// A refused (or, from the builder, an unprintable) message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CPIM line {line}: {kind}")]
pub struct CpimError {
    /// 1-based line number; 0 for faults of the whole message.
    pub line: usize,
    pub kind: CpimErrorKind,
}

impl CpimError {
    pub(crate) fn at(line: usize, kind: CpimErrorKind) -> CpimError {
        CpimError { line, kind }
    }

    pub(crate) fn malformed(line: usize, what: &'static str, got: &str) -> CpimError {
        CpimError::at(
            line,
            CpimErrorKind::Malformed {
                what,
                got: got.chars().take(80).collect(),
            },
        )
    }
}

impl Message {
    /// Parses the body of a `message/cpim` with the default [`Limits`].
    pub fn parse(input: &[u8]) -> Result<Message, CpimError> {
        parse::parse(input, &Limits::default())
    }

    /// Parses with explicit limits.
    pub fn parse_with(input: &[u8], limits: &Limits) -> Result<Message, CpimError> {
        parse::parse(input, limits)
    }

    /// Prints the message (CRLF line ends). A message that
    /// [`validate`](Message::validate)s prints to bytes that parse back to
    /// an equal message.
    pub fn to_bytes(&self) -> Vec<u8> {
        write::write(self)
    }

    /// Starts a message to send, with the content's type and bytes.
    pub fn builder(content_type: &str, body: impl Into<Vec<u8>>) -> MessageBuilder {
        MessageBuilder {
            msg: Message {
                content_headers: vec![MimeHeader {
                    name: "Content-Type".into(),
                    value: content_type.to_owned(),
                }],
                body: body.into(),
                ..Message::default()
            },
        }
    }

    /// The first extension header `{namespace}name`; names compare without
    /// regard to ASCII case, as senders differ (`Message-ID`, `Message-Id`).
    pub fn header(&self, namespace: &str, name: &str) -> Option<&ExtensionHeader> {
        self.extensions.iter().find(|h| {
            h.name.eq_ignore_ascii_case(name) && h.namespace.as_deref() == Some(namespace)
        })
    }

    /// Every extension header `{namespace}name`, in order.
    pub fn headers<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a ExtensionHeader> + 'a {
        self.extensions.iter().filter(move |h| {
            h.name.eq_ignore_ascii_case(name) && h.namespace.as_deref() == Some(namespace)
        })
    }

    /// The value of the first extension header `{namespace}name`.
    pub fn header_value(&self, namespace: &str, name: &str) -> Option<&str> {
        self.header(namespace, name).map(|h| h.value.as_str())
    }

    /// The prefix an `NS` header binds to `uri`, if any.
    pub fn prefix_for(&self, uri: &str) -> Option<&str> {
        self.namespaces
            .iter()
            .find(|n| n.uri == uri && n.prefix.is_some())
            .and_then(|n| n.prefix.as_deref())
    }

    /// The value of the encapsulated MIME header `name` (any case).
    pub fn content_header(&self, name: &str) -> Option<&str> {
        self.content_headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The encapsulated content's type.
    pub fn content_type(&self) -> Option<&str> {
        self.content_header("Content-Type")
    }

    /// Checks that every part can be printed and read back unchanged:
    /// names are RFC 3862 names, URIs fit between brackets, MIME headers
    /// have token names and one-line values, prefixes are declared.
    pub fn validate(&self) -> Result<(), CpimError> {
        write::validate(self)
    }
}

/// Builds a [`Message`] to send; [`build`](MessageBuilder::build) checks it.
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    msg: Message,
}

impl MessageBuilder {
    pub fn from(mut self, a: Address) -> Self {
        self.msg.from = Some(a);
        self
    }

    pub fn to(mut self, a: Address) -> Self {
        self.msg.to.push(a);
        self
    }

    pub fn cc(mut self, a: Address) -> Self {
        self.msg.cc.push(a);
        self
    }

    pub fn datetime(mut self, t: DateTime) -> Self {
        self.msg.datetime = Some(t);
        self
    }

    pub fn subject(mut self, text: &str, lang: Option<&str>) -> Self {
        self.msg.subjects.push(Subject {
            lang: lang.map(str::to_owned),
            text: text.to_owned(),
        });
        self
    }

    /// Declares `prefix` for `uri` (once; a repeat is ignored).
    pub fn namespace(mut self, prefix: &str, uri: &str) -> Self {
        let known = self
            .msg
            .namespaces
            .iter()
            .any(|n| n.prefix.as_deref() == Some(prefix));
        if !known {
            self.msg.namespaces.push(Namespace {
                prefix: Some(prefix.to_owned()),
                uri: uri.to_owned(),
            });
        }
        self
    }

    pub fn require(mut self, header_name: &str) -> Self {
        self.msg.require.push(header_name.to_owned());
        self
    }

    /// Adds the header `{namespace}name`, under the prefix declared for
    /// `namespace`, declaring `ns1`, `ns2`, ... when there is none yet.
    pub fn header(mut self, namespace: &str, name: &str, value: &str) -> Self {
        let prefix = if namespace == CPIM_HEADERS_NS {
            None
        } else if let Some(p) = self.msg.prefix_for(namespace) {
            Some(p.to_owned())
        } else {
            let mut n = self.msg.namespaces.len() + 1;
            let taken =
                |p: &str, m: &Message| m.namespaces.iter().any(|d| d.prefix.as_deref() == Some(p));
            while taken(&format!("ns{n}"), &self.msg) {
                n += 1;
            }
            let p = format!("ns{n}");
            self = self.namespace(&p, namespace);
            Some(p)
        };
        self.msg.extensions.push(ExtensionHeader {
            prefix,
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
            params: Vec::new(),
            value: value.to_owned(),
        });
        self
    }

    /// Adds a MIME header of the content (`Content-Disposition`, ...).
    pub fn content_header(mut self, name: &str, value: &str) -> Self {
        self.msg.content_headers.push(MimeHeader {
            name: name.to_owned(),
            value: value.to_owned(),
        });
        self
    }

    /// The message, if every part can be printed as RFC 3862 asks.
    pub fn build(self) -> Result<Message, CpimError> {
        self.msg.validate()?;
        Ok(self.msg)
    }
}
