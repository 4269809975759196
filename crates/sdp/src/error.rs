//! Why a session description was refused: the line (1-based) and the
//! fault, so a 488 can say what was wrong and a log can point at it.

/// What was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("the description is {0} bytes, over the limit of {1}")]
    TooLarge(usize, usize),
    #[error("more than {0} lines")]
    TooManyLines(usize),
    #[error("more than {0} media descriptions")]
    TooManyMedia(usize),
    #[error("more than {0} attributes in one section")]
    TooManyAttributes(usize),
    #[error("not UTF-8")]
    NotUtf8,
    #[error("empty description")]
    Empty,
    #[error("expected `<type>=<value>`, got {0:?}")]
    NotALine(String),
    /// RFC 8866 §5: a parser must reject type letters it does not know.
    #[error("unknown line type {0:?}")]
    UnknownType(char),
    #[error("`{found}=` is out of place (RFC 8866 §5 fixes the order): expected {expected}")]
    OutOfOrder { found: char, expected: &'static str },
    #[error("`{0}=` appears more than once")]
    Repeated(char),
    #[error("no `{0}=` line")]
    Missing(char),
    #[error("only version 0 exists, got {0:?}")]
    Version(String),
    #[error("bad {what}: {got:?}")]
    Malformed { what: &'static str, got: String },
    /// RFC 8866 §5.7: each media needs a connection, its own or the
    /// session's.
    #[error("media {0} has no connection address (no `c=` there or at session level)")]
    NoConnection(usize),
}

/// A refused description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SDP line {line}: {kind}")]
pub struct SdpError {
    /// 1-based line number; 0 for faults of the whole description.
    pub line: usize,
    pub kind: ErrorKind,
}

impl SdpError {
    pub(crate) fn at(line: usize, kind: ErrorKind) -> SdpError {
        SdpError { line, kind }
    }

    pub(crate) fn malformed(line: usize, what: &'static str, got: &str) -> SdpError {
        SdpError {
            line,
            kind: ErrorKind::Malformed {
                what,
                got: got.chars().take(80).collect(),
            },
        }
    }
}
