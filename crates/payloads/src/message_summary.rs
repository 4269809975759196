//! The message summary of RFC 3842 (`application/simple-message-summary`):
//! the body of a `message-summary` NOTIFY that lights a phone's message
//! waiting lamp. A text format of header lines, not XML:
//!
//! ```text
//! Messages-Waiting: yes
//! Message-Account: sip:alice@vmail.example.com
//! Voice-Message: 4/8 (1/2)
//!
//! To: <alice@atlanta.example.com>
//! Subject: carpool tomorrow?
//! ```
//!
//! The first block carries the status, the account and one summary line
//! per message context class (RFC 3458: new/old, and urgent new/old in
//! parentheses); any other line there is kept as an extra header. After a
//! blank line come optional blocks of headers, one per message, separated
//! by blank lines. Names are matched case-insensitively (RFC 3842 §5.2
//! uses the SIP grammar, whose header names are case-insensitive); lines
//! may end in CRLF or LF, and a line starting with whitespace continues the
//! one before. Printing uses CRLF and never folds, so a value built by hand
//! reads back the same when its header names are tokens that are not the
//! typed lines' names, its values are trimmed single lines, and its message
//! blocks are not empty.

use std::fmt;

/// The MIME type of the body.
pub const CONTENT_TYPE: &str = "application/simple-message-summary";

/// Limits for one body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryLimits {
    /// Bytes of the whole body.
    pub max_size: usize,
    /// Lines in the body, blank and continuation lines included.
    pub max_lines: usize,
}

impl Default for SummaryLimits {
    /// A summary is a few lines; a few hundred message header blocks still
    /// fit.
    fn default() -> SummaryLimits {
        SummaryLimits {
            max_size: 64 * 1024,
            max_lines: 2048,
        }
    }
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    #[error("the body is {0} bytes, over the limit of {1}")]
    TooLarge(usize, usize),
    #[error("more than {0} lines")]
    TooManyLines(usize),
    #[error("not UTF-8")]
    NotUtf8,
    #[error("no Messages-Waiting line")]
    MissingStatus,
    #[error("{0} appears more than once")]
    Repeated(&'static str),
    #[error("Messages-Waiting is {0:?}, not yes or no")]
    BadStatus(String),
    #[error("bad message counts for {class}: {got:?}")]
    BadCounts { class: String, got: String },
    #[error("line {line} is not a header line: {got:?}")]
    BadLine { line: usize, got: String },
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// A message context class (RFC 3458 §3), the name of a summary line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MessageClass {
    Voice,
    Fax,
    Pager,
    Multimedia,
    Text,
    /// `none`: messages of no particular class.
    Unclassified,
    /// Another `…-Message` line with counts (`Video-Message` of 3GPP, …),
    /// its name as written.
    Other(String),
}

impl MessageClass {
    const KNOWN: [(&'static str, MessageClass); 6] = [
        ("Voice-Message", MessageClass::Voice),
        ("Fax-Message", MessageClass::Fax),
        ("Pager-Message", MessageClass::Pager),
        ("Multimedia-Message", MessageClass::Multimedia),
        ("Text-Message", MessageClass::Text),
        ("None", MessageClass::Unclassified),
    ];

    fn known(name: &str) -> Option<MessageClass> {
        MessageClass::KNOWN
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, c)| c.clone())
    }

    /// The line's name as printed.
    pub fn name(&self) -> &str {
        match self {
            MessageClass::Other(s) => s,
            known => MessageClass::KNOWN
                .iter()
                .find(|(_, c)| c == known)
                .map_or("", |(n, _)| n),
        }
    }
}

/// Urgent messages, a subset of the counts they are given with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Urgent {
    pub new: u32,
    pub old: u32,
}

/// One summary line: `Voice-Message: 4/8 (1/2)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Summary {
    pub class: MessageClass,
    pub new: u32,
    pub old: u32,
    pub urgent: Option<Urgent>,
}

impl Summary {
    pub fn new(class: MessageClass, new: u32, old: u32) -> Summary {
        Summary {
            class,
            new,
            old,
            urgent: None,
        }
    }

    /// Reads `new/old` or `new/old (urgent-new/urgent-old)`, whitespace
    /// allowed around the separators.
    fn counts(value: &str) -> Option<(u32, u32, Option<Urgent>)> {
        let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        let pair = |s: &str| -> Option<(u32, u32)> {
            let (a, b) = s.split_once('/')?;
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
            if !digits(a) || !digits(b) {
                return None;
            }
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        match compact.split_once('(') {
            None => pair(&compact).map(|(n, o)| (n, o, None)),
            Some((main, rest)) => {
                let (n, o) = pair(main)?;
                let (un, uo) = pair(rest.strip_suffix(')')?)?;
                Some((n, o, Some(Urgent { new: un, old: uo })))
            }
        }
    }
}

impl fmt::Display for Summary {
    /// The line without its line end.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}/{}", self.class.name(), self.new, self.old)?;
        if let Some(u) = self.urgent {
            write!(f, " ({}/{})", u.new, u.old)?;
        }
        Ok(())
    }
}

/// A header line: its name as written and its value, trimmed and unfolded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Header {
    pub fn new(name: &str, value: &str) -> Header {
        Header {
            name: name.to_owned(),
            value: value.to_owned(),
        }
    }
}

/// The headers of one message (`To`, `From`, `Subject`, `Date`,
/// `Priority`, `Message-ID`, ...), in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MessageHeaders {
    pub headers: Vec<Header>,
}

impl MessageHeaders {
    /// The first header named `name`, case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// A message summary body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageSummary {
    /// `Messages-Waiting`: whether there are new messages.
    pub messages_waiting: bool,
    /// `Message-Account`: the mailbox the summary is about.
    pub account: Option<String>,
    pub summaries: Vec<Summary>,
    /// The other lines of the first block, kept.
    pub headers: Vec<Header>,
    /// The header blocks after the first, one per message. A block has at
    /// least one header (an empty one would print as nothing).
    pub messages: Vec<MessageHeaders>,
}

/// RFC 3261 `token`: what a header name may be made of.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// Splits the body into blocks of unfolded header lines.
fn blocks(text: &str, limits: &SummaryLimits) -> Result<Vec<Vec<Header>>, SummaryError> {
    let mut blocks: Vec<Vec<Header>> = Vec::new();
    let mut current: Vec<Header> = Vec::new();
    for (n, raw) in text.split('\n').enumerate() {
        if n >= limits.max_lines {
            return Err(SummaryError::TooManyLines(limits.max_lines));
        }
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let bad = || SummaryError::BadLine {
            line: n + 1,
            got: clip(line),
        };
        if line.trim().is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
        } else if line.starts_with([' ', '\t']) {
            let last = current.last_mut().ok_or_else(bad)?;
            if !last.value.is_empty() {
                last.value.push(' ');
            }
            last.value.push_str(line.trim());
        } else {
            let (name, value) = line.split_once(':').ok_or_else(bad)?;
            let name = name.trim_end();
            if !is_token(name) {
                return Err(bad());
            }
            current.push(Header::new(name, value.trim()));
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    Ok(blocks)
}

impl MessageSummary {
    /// A summary with only the status line.
    pub fn new(messages_waiting: bool) -> MessageSummary {
        MessageSummary {
            messages_waiting,
            account: None,
            summaries: Vec::new(),
            headers: Vec::new(),
            messages: Vec::new(),
        }
    }

    /// Parses a body within `limits`.
    pub fn parse(input: &[u8], limits: &SummaryLimits) -> Result<MessageSummary, SummaryError> {
        if input.len() > limits.max_size {
            return Err(SummaryError::TooLarge(input.len(), limits.max_size));
        }
        let text = std::str::from_utf8(input).map_err(|_| SummaryError::NotUtf8)?;
        let mut blocks = blocks(text, limits)?.into_iter();
        let first = blocks.next().ok_or(SummaryError::MissingStatus)?;
        let mut waiting = None;
        let mut out = MessageSummary::new(false);
        for h in first {
            if h.name.eq_ignore_ascii_case("Messages-Waiting") {
                if waiting.is_some() {
                    return Err(SummaryError::Repeated("Messages-Waiting"));
                }
                waiting = Some(match h.value.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(SummaryError::BadStatus(clip(&h.value))),
                });
            } else if h.name.eq_ignore_ascii_case("Message-Account") {
                if out.account.is_some() {
                    return Err(SummaryError::Repeated("Message-Account"));
                }
                out.account = Some(h.value);
            } else if let Some(class) = MessageClass::known(&h.name) {
                let (new, old, urgent) =
                    Summary::counts(&h.value).ok_or_else(|| SummaryError::BadCounts {
                        class: clip(&h.name),
                        got: clip(&h.value),
                    })?;
                out.summaries.push(Summary {
                    class,
                    new,
                    old,
                    urgent,
                });
            } else if let Some((new, old, urgent)) = Summary::counts(&h.value)
                .filter(|_| h.name.to_ascii_lowercase().ends_with("-message"))
            {
                out.summaries.push(Summary {
                    class: MessageClass::Other(h.name),
                    new,
                    old,
                    urgent,
                });
            } else {
                out.headers.push(h);
            }
        }
        out.messages_waiting = waiting.ok_or(SummaryError::MissingStatus)?;
        out.messages = blocks.map(|headers| MessageHeaders { headers }).collect();
        Ok(out)
    }

    /// The summary line of `class`.
    pub fn summary(&self, class: &MessageClass) -> Option<&Summary> {
        self.summaries.iter().find(|s| &s.class == class)
    }

    /// The body as text, CRLF line ends.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, name: &str, value: &str| {
            out.push_str(name);
            out.push(':');
            if !value.is_empty() {
                out.push(' ');
                out.push_str(value);
            }
            out.push_str("\r\n");
        };
        line(
            &mut out,
            "Messages-Waiting",
            if self.messages_waiting { "yes" } else { "no" },
        );
        if let Some(a) = &self.account {
            line(&mut out, "Message-Account", a);
        }
        for s in &self.summaries {
            out.push_str(&s.to_string());
            out.push_str("\r\n");
        }
        for h in &self.headers {
            line(&mut out, &h.name, &h.value);
        }
        for m in &self.messages {
            out.push_str("\r\n");
            for h in &m.headers {
                line(&mut out, &h.name, &h.value);
            }
        }
        out
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_text().into_bytes()
    }
}

impl fmt::Display for MessageSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}
