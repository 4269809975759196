//! The is-composing indication of RFC 3994 (`application/im-iscomposing+xml`):
//! "the other party is typing", sent in the chat's own channel.
//!
//! The document carries the state, when the composer was last active, what
//! kind of content is being composed and how often an active state will be
//! refreshed. Elements of other namespaces are ignored, as RFC 3994 §4 asks
//! of a receiver; nothing else in the document is worth keeping.

use crate::xml::{expect_root, single_text, XmlElement, XmlError, XmlLimits};
use crate::DateTime;

/// The XML namespace of the document.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:im-iscomposing";
/// The MIME type of the document.
pub const CONTENT_TYPE: &str = "application/im-iscomposing+xml";

/// The composer's state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum State {
    Idle,
    Active,
    /// A value RFC 3994 does not define, kept so the receiver can decide;
    /// §3.3 has a receiver treat anything but `active` as not composing.
    Other(String),
}

impl State {
    fn parse(s: &str) -> State {
        match s {
            "idle" => State::Idle,
            "active" => State::Active,
            other => State::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            State::Idle => "idle",
            State::Active => "active",
            State::Other(s) => s,
        }
    }

    /// Whether the peer is composing (only `active` says so).
    pub fn is_active(&self) -> bool {
        matches!(self, State::Active)
    }
}

/// An is-composing document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IsComposing {
    pub state: State,
    /// When the composer was last active (sent with `idle`).
    pub last_active: Option<DateTime>,
    /// The kind of content being composed (`text/plain`, `audio`, ...).
    pub content_type: Option<String>,
    /// Seconds within which an `active` state is refreshed; past that the
    /// receiver may fall back to idle (§3.3).
    pub refresh: Option<u32>,
}

impl IsComposing {
    /// An `active` indication with a refresh interval.
    pub fn active(content_type: Option<&str>, refresh: Option<u32>) -> IsComposing {
        IsComposing {
            state: State::Active,
            last_active: None,
            content_type: content_type.map(str::to_owned),
            refresh,
        }
    }

    /// An `idle` indication, with when the composer was last active.
    pub fn idle(last_active: Option<DateTime>, content_type: Option<&str>) -> IsComposing {
        IsComposing {
            state: State::Idle,
            last_active,
            content_type: content_type.map(str::to_owned),
            refresh: None,
        }
    }

    /// Parses with the default [`XmlLimits`].
    pub fn parse(input: &[u8]) -> Result<IsComposing, XmlError> {
        IsComposing::parse_with(input, &XmlLimits::default())
    }

    pub fn parse_with(input: &[u8], limits: &XmlLimits) -> Result<IsComposing, XmlError> {
        let root = XmlElement::parse(input, limits)?;
        IsComposing::from_element(&root)
    }

    /// Reads the typed view of an already parsed root element.
    pub fn from_element(root: &XmlElement) -> Result<IsComposing, XmlError> {
        expect_root(
            root,
            NAMESPACE,
            "isComposing",
            "{urn:ietf:params:xml:ns:im-iscomposing}isComposing",
        )?;
        let state = single_text(root, NAMESPACE, "state")?.ok_or(XmlError::Missing("state"))?;
        let last_active = single_text(root, NAMESPACE, "lastactive")?
            .map(|t| DateTime::parse(&t).map_err(|_| XmlError::malformed("lastactive", &t)))
            .transpose()?;
        let content_type = single_text(root, NAMESPACE, "contenttype")?;
        let refresh = single_text(root, NAMESPACE, "refresh")?
            .map(|t| match t.parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(XmlError::malformed("refresh (a positive integer)", &t)),
            })
            .transpose()?;
        Ok(IsComposing {
            state: State::parse(&state),
            last_active,
            content_type,
            refresh,
        })
    }

    /// The document as an element tree.
    pub fn to_element(&self) -> XmlElement {
        let leaf = |name: &str, text: &str| XmlElement::new(NAMESPACE, name).with_text(text);
        let mut root = XmlElement::new(NAMESPACE, "isComposing")
            .with_child(leaf("state", self.state.as_str()));
        if let Some(t) = &self.last_active {
            root = root.with_child(leaf("lastactive", &t.to_string()));
        }
        if let Some(c) = &self.content_type {
            root = root.with_child(leaf("contenttype", c));
        }
        if let Some(r) = self.refresh {
            root = root.with_child(leaf("refresh", &r.to_string()));
        }
        root
    }

    /// The document as text.
    pub fn to_xml(&self) -> String {
        self.to_element().to_document()
    }
}
