//! Errors of the message layer. Every refusal names what was wrong, so a
//! UAS can put it in a 400 reason phrase and a person can read it in a log.

use thiserror::Error;

use crate::message::StatusCode;

/// A value did not match the grammar: what was expected, and an excerpt of
/// what was found there.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("expected {expected}, found {found:?}")]
pub struct SyntaxError {
    pub expected: &'static str,
    pub found: String,
}

impl SyntaxError {
    const EXCERPT: usize = 40;

    /// Out of line and marked cold: parsers call this on their rare path,
    /// and keeping its copy out of their hot code makes them faster.
    #[cold]
    #[inline(never)]
    pub(crate) fn new(expected: &'static str, found: &str) -> Self {
        let mut end = found.len().min(Self::EXCERPT);
        while !found.is_char_boundary(end) {
            end -= 1;
        }
        SyntaxError {
            expected,
            found: found.get(..end).unwrap_or("").to_owned(),
        }
    }
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("message incomplete: the header section does not end")]
    Incomplete,
    #[error("message larger than the limit of {limit} bytes")]
    MessageTooLarge { limit: usize },
    #[error("header section larger than the limit of {limit} bytes")]
    HeadTooLarge { limit: usize },
    #[error("more than {limit} header fields")]
    TooManyHeaders { limit: usize },
    #[error("header field {name:?} longer than the limit of {limit} bytes")]
    HeaderTooLong { name: String, limit: usize },
    #[error("body of {length} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge { length: usize, limit: usize },
    #[error("malformed start line: {0}")]
    StartLine(SyntaxError),
    #[error("unsupported protocol version {0:?} (only SIP/2.0)")]
    UnsupportedVersion(String),
    #[error("malformed Request-URI: {0}")]
    RequestUri(SyntaxError),
    #[error("malformed header line {line}: {error}")]
    HeaderLine { line: usize, error: SyntaxError },
    #[error("invalid {name} header: {error}")]
    InvalidHeader { name: String, error: SyntaxError },
    #[error("Content-Length {declared} but only {available} body bytes present")]
    BodyTruncated { declared: usize, available: usize },
    #[error("Content-Length is required on a stream transport (RFC 3261 §18.3)")]
    MissingContentLength,
    #[error("conflicting Content-Length values")]
    ConflictingContentLength,
    #[error("malformed multipart body: {0}")]
    Multipart(SyntaxError),
    /// A header every request and response carries (RFC 3261 §8.1.1,
    /// §20) is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("CSeq method {cseq:?} does not match request method {method:?}")]
    CSeqMethodMismatch { method: String, cseq: String },
}

impl ParseError {
    pub(crate) fn header(name: &str, error: SyntaxError) -> Self {
        ParseError::InvalidHeader {
            name: name.to_owned(),
            error,
        }
    }

    /// The status a UAS should answer a request refused for this reason
    /// with, when it can still build a response (RFC 3261 §8.2, §21.5.6).
    pub fn response_status(&self) -> StatusCode {
        match self {
            ParseError::UnsupportedVersion(_) => StatusCode::VERSION_NOT_SUPPORTED,
            ParseError::MessageTooLarge { .. }
            | ParseError::HeadTooLarge { .. }
            | ParseError::BodyTooLarge { .. } => StatusCode::MESSAGE_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}
