//! The dialog state document of RFC 4235 (`application/dialog-info+xml`):
//! the dialogs of a user agent and their states, as the `dialog` event
//! package reports them (busy lamp fields, call pickup).
//!
//! Typed: the document's version, state and entity; each dialog's
//! identifiers, direction, state with the event and response code that
//! ended it, duration, and the local and remote participant's identity and
//! target (with its parameters). Kept untyped, in the `extensions` of the
//! element they were found in: everything else (`replaces`, `referred-by`,
//! `route-set`, `session-description`, `cseq`, elements of other
//! namespaces), printed back after the typed children.

use crate::xml::{expect_root, XmlElement, XmlError, XmlLimits, XmlNode};

pub use crate::watcherinfo::{ApplyError, State};

/// The XML namespace of the document.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:dialog-info";
/// The MIME type of the document.
pub const CONTENT_TYPE: &str = "application/dialog-info+xml";

/// Why a dialog-info document was refused.
pub type DialogInfoError = XmlError;

/// Which side created the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The entity sent the INVITE.
    Initiator,
    Recipient,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Initiator => "initiator",
            Direction::Recipient => "recipient",
        }
    }
}

/// The dialog's state (RFC 4235 §3.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogState {
    Trying,
    Proceeding,
    Early,
    Confirmed,
    Terminated,
}

impl DialogState {
    pub fn as_str(self) -> &'static str {
        match self {
            DialogState::Trying => "trying",
            DialogState::Proceeding => "proceeding",
            DialogState::Early => "early",
            DialogState::Confirmed => "confirmed",
            DialogState::Terminated => "terminated",
        }
    }

    fn parse(text: &str) -> Result<DialogState, XmlError> {
        Ok(match text.trim() {
            "trying" => DialogState::Trying,
            "proceeding" => DialogState::Proceeding,
            "early" => DialogState::Early,
            "confirmed" => DialogState::Confirmed,
            "terminated" => DialogState::Terminated,
            _ => return Err(XmlError::malformed("dialog state", text)),
        })
    }
}

/// What moved the dialog into its state, mostly why it terminated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StateEvent {
    Cancelled,
    Rejected,
    Replaced,
    LocalBye,
    RemoteBye,
    Error,
    Timeout,
    /// A value the RFC does not define, kept as written.
    Other(String),
}

impl StateEvent {
    const KNOWN: [(&'static str, StateEvent); 7] = [
        ("cancelled", StateEvent::Cancelled),
        ("rejected", StateEvent::Rejected),
        ("replaced", StateEvent::Replaced),
        ("local-bye", StateEvent::LocalBye),
        ("remote-bye", StateEvent::RemoteBye),
        ("error", StateEvent::Error),
        ("timeout", StateEvent::Timeout),
    ];

    pub fn as_str(&self) -> &str {
        match self {
            StateEvent::Other(s) => s,
            known => StateEvent::KNOWN
                .iter()
                .find(|(_, e)| e == known)
                .map_or("", |(n, _)| n),
        }
    }

    pub fn parse(text: &str) -> StateEvent {
        let t = text.trim();
        StateEvent::KNOWN
            .iter()
            .find(|(n, _)| *n == t)
            .map(|(_, e)| e.clone())
            .unwrap_or_else(|| StateEvent::Other(t.to_owned()))
    }
}

/// A dialog's `<state>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateInfo {
    pub state: DialogState,
    pub event: Option<StateEvent>,
    /// The SIP response code that caused the transition.
    pub code: Option<u16>,
}

/// A participant's `<identity>`: its URI and display name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub uri: String,
    pub display: Option<String>,
}

/// A participant's `<target>`: the contact URI and its feature parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub uri: String,
    /// `<param pname="…" pval="…"/>`, in order.
    pub params: Vec<(String, String)>,
}

/// The local or remote side of a dialog.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Participant {
    pub identity: Option<Identity>,
    pub target: Option<Target>,
    /// The children not typed here (`session-description`, `cseq`, ...).
    pub extensions: Vec<XmlElement>,
}

impl Participant {
    fn read(el: &XmlElement) -> Result<Participant, XmlError> {
        let mut p = Participant::default();
        for child in el.elements() {
            if child.is(NAMESPACE, "identity") {
                if p.identity.is_some() {
                    return Err(XmlError::Repeated("identity"));
                }
                p.identity = Some(Identity {
                    uri: child.text().trim().to_owned(),
                    display: child.attr("display").map(str::to_owned),
                });
            } else if child.is(NAMESPACE, "target") {
                if p.target.is_some() {
                    return Err(XmlError::Repeated("target"));
                }
                let mut params = Vec::new();
                for param in child.elements().filter(|e| e.is(NAMESPACE, "param")) {
                    let name = param
                        .attr("pname")
                        .ok_or(XmlError::Missing("param pname"))?;
                    let value = param.attr("pval").ok_or(XmlError::Missing("param pval"))?;
                    params.push((name.to_owned(), value.to_owned()));
                }
                p.target = Some(Target {
                    uri: child
                        .attr("uri")
                        .ok_or(XmlError::Missing("target uri"))?
                        .to_owned(),
                    params,
                });
            } else {
                p.extensions.push(child.clone());
            }
        }
        Ok(p)
    }

    fn to_element(&self, name: &str) -> XmlElement {
        let mut el = XmlElement::new(NAMESPACE, name);
        if let Some(i) = &self.identity {
            let mut id = XmlElement::new(NAMESPACE, "identity");
            if let Some(d) = &i.display {
                id = id.with_attr("display", d);
            }
            el = el.with_child(id.with_text(&i.uri));
        }
        if let Some(t) = &self.target {
            let mut target = XmlElement::new(NAMESPACE, "target").with_attr("uri", &t.uri);
            for (n, v) in &t.params {
                target = target.with_child(
                    XmlElement::new(NAMESPACE, "param")
                        .with_attr("pname", n)
                        .with_attr("pval", v),
                );
            }
            el = el.with_child(target);
        }
        el.children
            .extend(self.extensions.iter().cloned().map(XmlNode::Element));
        el
    }
}

/// One dialog.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dialog {
    /// Identifies the dialog across documents.
    pub id: String,
    pub call_id: Option<String>,
    pub local_tag: Option<String>,
    pub remote_tag: Option<String>,
    pub direction: Option<Direction>,
    pub state: StateInfo,
    /// Seconds the dialog has been confirmed.
    pub duration: Option<u64>,
    pub local: Option<Participant>,
    pub remote: Option<Participant>,
    /// The children not typed here (`replaces`, `referred-by`,
    /// `route-set`, other namespaces).
    pub extensions: Vec<XmlElement>,
}

impl Dialog {
    pub fn new(id: &str, state: DialogState) -> Dialog {
        Dialog {
            id: id.to_owned(),
            call_id: None,
            local_tag: None,
            remote_tag: None,
            direction: None,
            state: StateInfo {
                state,
                event: None,
                code: None,
            },
            duration: None,
            local: None,
            remote: None,
            extensions: Vec::new(),
        }
    }

    fn read(el: &XmlElement) -> Result<Dialog, XmlError> {
        let mut d = Dialog::new(
            el.attr("id").ok_or(XmlError::Missing("dialog id"))?,
            DialogState::Trying,
        );
        d.call_id = el.attr("call-id").map(str::to_owned);
        d.local_tag = el.attr("local-tag").map(str::to_owned);
        d.remote_tag = el.attr("remote-tag").map(str::to_owned);
        d.direction = match el.attr("direction").map(str::trim) {
            None => None,
            Some("initiator") => Some(Direction::Initiator),
            Some("recipient") => Some(Direction::Recipient),
            Some(other) => return Err(XmlError::malformed("direction", other)),
        };
        let mut state = None;
        for child in el.elements() {
            if child.is(NAMESPACE, "state") {
                if state.is_some() {
                    return Err(XmlError::Repeated("state"));
                }
                let code = child
                    .attr("code")
                    .map(|c| match c.trim().parse::<u16>() {
                        Ok(n) if n > 0 => Ok(n),
                        _ => Err(XmlError::malformed("code", c)),
                    })
                    .transpose()?;
                state = Some(StateInfo {
                    state: DialogState::parse(&child.text())?,
                    event: child.attr("event").map(StateEvent::parse),
                    code,
                });
            } else if child.is(NAMESPACE, "duration") {
                if d.duration.is_some() {
                    return Err(XmlError::Repeated("duration"));
                }
                let t = child.text();
                d.duration = Some(
                    t.trim()
                        .parse::<u64>()
                        .map_err(|_| XmlError::malformed("duration", &t))?,
                );
            } else if child.is(NAMESPACE, "local") {
                if d.local.is_some() {
                    return Err(XmlError::Repeated("local"));
                }
                d.local = Some(Participant::read(child)?);
            } else if child.is(NAMESPACE, "remote") {
                if d.remote.is_some() {
                    return Err(XmlError::Repeated("remote"));
                }
                d.remote = Some(Participant::read(child)?);
            } else {
                d.extensions.push(child.clone());
            }
        }
        d.state = state.ok_or(XmlError::Missing("state"))?;
        Ok(d)
    }

    fn to_element(&self) -> XmlElement {
        let mut el = XmlElement::new(NAMESPACE, "dialog").with_attr("id", &self.id);
        for (name, v) in [
            ("call-id", &self.call_id),
            ("local-tag", &self.local_tag),
            ("remote-tag", &self.remote_tag),
        ] {
            if let Some(v) = v {
                el = el.with_attr(name, v);
            }
        }
        if let Some(d) = self.direction {
            el = el.with_attr("direction", d.as_str());
        }
        let mut state = XmlElement::new(NAMESPACE, "state");
        if let Some(e) = &self.state.event {
            state = state.with_attr("event", e.as_str());
        }
        if let Some(c) = self.state.code {
            state = state.with_attr("code", &c.to_string());
        }
        el = el.with_child(state.with_text(self.state.state.as_str()));
        if let Some(n) = self.duration {
            el = el.with_child(XmlElement::new(NAMESPACE, "duration").with_text(&n.to_string()));
        }
        // The schema puts replaces, referred-by and route-set before the
        // participants; they are among the extensions and keep that place.
        el.children
            .extend(self.extensions.iter().cloned().map(XmlNode::Element));
        if let Some(p) = &self.local {
            el = el.with_child(p.to_element("local"));
        }
        if let Some(p) = &self.remote {
            el = el.with_child(p.to_element("remote"));
        }
        el
    }
}

/// A dialog-info document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogInfo {
    /// Increases by one with each document of the subscription.
    pub version: u64,
    pub state: State,
    /// The URI whose dialogs these are.
    pub entity: String,
    pub dialogs: Vec<Dialog>,
    pub extensions: Vec<XmlElement>,
}

impl DialogInfo {
    pub fn new(version: u64, state: State, entity: &str) -> DialogInfo {
        DialogInfo {
            version,
            state,
            entity: entity.to_owned(),
            dialogs: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// Parses a document within `limits`.
    pub fn parse(input: &[u8], limits: &XmlLimits) -> Result<DialogInfo, DialogInfoError> {
        DialogInfo::from_element(&XmlElement::parse(input, limits)?)
    }

    /// Reads the typed view of an already parsed root element.
    pub fn from_element(root: &XmlElement) -> Result<DialogInfo, DialogInfoError> {
        expect_root(
            root,
            NAMESPACE,
            "dialog-info",
            "{urn:ietf:params:xml:ns:dialog-info}dialog-info",
        )?;
        let v = root.attr("version").ok_or(XmlError::Missing("version"))?;
        let version = v
            .trim()
            .parse::<u64>()
            .map_err(|_| XmlError::malformed("version", v))?;
        let state = State::parse(root.attr("state").ok_or(XmlError::Missing("state"))?)?;
        let entity = root.attr("entity").ok_or(XmlError::Missing("entity"))?;
        let mut doc = DialogInfo::new(version, state, entity);
        for child in root.elements() {
            if child.is(NAMESPACE, "dialog") {
                doc.dialogs.push(Dialog::read(child)?);
            } else {
                doc.extensions.push(child.clone());
            }
        }
        Ok(doc)
    }

    /// Applies the next document of the subscription to this one, the
    /// state kept so far (RFC 4235 §4.1): a full document replaces it; a
    /// partial one replaces the dialogs it names (same id) and adds the
    /// others, and its extensions, where it has any, replace the kept
    /// ones. Terminated dialogs are kept, in state terminated, for the
    /// caller to drop. On an error nothing changes.
    pub fn apply(&mut self, update: DialogInfo) -> Result<(), ApplyError> {
        crate::watcherinfo::check_version(
            self.version,
            update.version,
            update.state == State::Partial,
        )?;
        if update.state == State::Full {
            *self = update;
            return Ok(());
        }
        self.version = update.version;
        if !update.extensions.is_empty() {
            self.extensions = update.extensions;
        }
        for d in update.dialogs {
            match self.dialogs.iter_mut().find(|k| k.id == d.id) {
                Some(k) => *k = d,
                None => self.dialogs.push(d),
            }
        }
        Ok(())
    }

    /// The dialog with `id`.
    pub fn dialog(&self, id: &str) -> Option<&Dialog> {
        self.dialogs.iter().find(|d| d.id == id)
    }

    /// The document as an element tree.
    pub fn to_element(&self) -> XmlElement {
        let mut root = XmlElement::new(NAMESPACE, "dialog-info")
            .with_attr("version", &self.version.to_string())
            .with_attr("state", self.state.as_str())
            .with_attr("entity", &self.entity);
        root.children.extend(
            self.dialogs
                .iter()
                .map(Dialog::to_element)
                .chain(self.extensions.iter().cloned())
                .map(XmlNode::Element),
        );
        root
    }

    pub fn to_xml(&self) -> String {
        self.to_element().to_document()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_xml().into_bytes()
    }
}
