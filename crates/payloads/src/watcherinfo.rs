//! Watcher information (RFC 3857 event package, RFC 3858 document,
//! `application/watcherinfo+xml`): who subscribes to a resource's presence
//! and in which state each subscription is, so that the presentity can
//! authorise pending watchers.
//!
//! A document is `full` (the whole list) or `partial` (only the watchers
//! that changed); `version` orders them. Elements of other namespaces are
//! kept in `extensions`, as RFC 3858 §4 allows them there.

use crate::xml::{expect_root, XmlAttribute, XmlElement, XmlError, XmlLimits, XmlNode, XML_NS};

/// The XML namespace of the document.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:watcherinfo";
/// The MIME type of the document.
pub const CONTENT_TYPE: &str = "application/watcherinfo+xml";

/// Why a watcher-info document was refused.
pub type WatcherInfoError = XmlError;

/// Whether a document carries every watcher or only the changed ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Full,
    Partial,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Full => "full",
            State::Partial => "partial",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<State, XmlError> {
        match text.trim() {
            "full" => Ok(State::Full),
            "partial" => Ok(State::Partial),
            _ => Err(XmlError::malformed("state (full or partial)", text)),
        }
    }
}

/// Why a notification's document was not applied to the state kept so far
/// (RFC 3858 §4, RFC 4235 §4.1, RFC 4662 §5.2 share the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ApplyError {
    /// Not newer than what is kept: a duplicate or a reordered document,
    /// to be discarded.
    #[error("version {got} is not newer than {have}")]
    Stale { have: u64, got: u64 },
    /// A partial document after a gap: documents were lost, so the state
    /// kept is no longer known; refresh the subscription for a full one.
    #[error("partial version {got} does not follow {have}")]
    Gap { have: u64, got: u64 },
}

/// The version rule the three documents share: a full document newer than
/// what is kept replaces it; a partial one must follow it directly.
pub(crate) fn check_version(have: u64, got: u64, partial: bool) -> Result<(), ApplyError> {
    if got <= have {
        Err(ApplyError::Stale { have, got })
    } else if partial && got != have.saturating_add(1) {
        Err(ApplyError::Gap { have, got })
    } else {
        Ok(())
    }
}

/// The subscription's state (RFC 3857 §3.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Awaiting the presentity's decision.
    Pending,
    Active,
    /// Refused or timed out while pending; kept a while so the presentity
    /// learns of the attempt.
    Waiting,
    Terminated,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Waiting => "waiting",
            Status::Terminated => "terminated",
        }
    }

    fn parse(text: &str) -> Result<Status, XmlError> {
        Ok(match text.trim() {
            "pending" => Status::Pending,
            "active" => Status::Active,
            "waiting" => Status::Waiting,
            "terminated" => Status::Terminated,
            _ => return Err(XmlError::malformed("watcher status", text)),
        })
    }
}

/// What moved the subscription into its state (RFC 3857 §3.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    Subscribe,
    Approved,
    Deactivated,
    Probation,
    Rejected,
    Timeout,
    Giveup,
    Noresource,
    /// An event an extension defines, kept as written.
    Other(String),
}

impl Event {
    const KNOWN: [(&'static str, Event); 8] = [
        ("subscribe", Event::Subscribe),
        ("approved", Event::Approved),
        ("deactivated", Event::Deactivated),
        ("probation", Event::Probation),
        ("rejected", Event::Rejected),
        ("timeout", Event::Timeout),
        ("giveup", Event::Giveup),
        ("noresource", Event::Noresource),
    ];

    pub fn as_str(&self) -> &str {
        match self {
            Event::Other(s) => s,
            known => Event::KNOWN
                .iter()
                .find(|(_, e)| e == known)
                .map_or("", |(n, _)| n),
        }
    }

    /// Reads an event token; anything but a known one is
    /// [`Event::Other`].
    pub fn parse(text: &str) -> Event {
        let t = text.trim();
        Event::KNOWN
            .iter()
            .find(|(n, _)| *n == t)
            .map(|(_, e)| e.clone())
            .unwrap_or_else(|| Event::Other(t.to_owned()))
    }
}

/// One subscription to the resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Watcher {
    /// The watcher's URI (the element's text).
    pub uri: String,
    /// Identifies the subscription across documents (a partial document
    /// updates the watcher with the same id).
    pub id: String,
    pub status: Status,
    pub event: Event,
    pub display_name: Option<String>,
    /// Seconds until the subscription expires.
    pub expiration: Option<u64>,
    /// Seconds the subscription has existed.
    pub duration_subscribed: Option<u64>,
    /// The language of `display_name`.
    pub lang: Option<String>,
}

impl Watcher {
    pub fn new(uri: &str, id: &str, status: Status, event: Event) -> Watcher {
        Watcher {
            uri: uri.to_owned(),
            id: id.to_owned(),
            status,
            event,
            display_name: None,
            expiration: None,
            duration_subscribed: None,
            lang: None,
        }
    }

    fn read(el: &XmlElement) -> Result<Watcher, XmlError> {
        let seconds = |name: &'static str| {
            el.attr(name)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| XmlError::malformed(name, v))
                })
                .transpose()
        };
        Ok(Watcher {
            uri: el.text().trim().to_owned(),
            id: el
                .attr("id")
                .ok_or(XmlError::Missing("watcher id"))?
                .to_owned(),
            status: Status::parse(
                el.attr("status")
                    .ok_or(XmlError::Missing("watcher status"))?,
            )?,
            event: Event::parse(el.attr("event").ok_or(XmlError::Missing("watcher event"))?),
            display_name: el.attr("display-name").map(str::to_owned),
            expiration: seconds("expiration")?,
            duration_subscribed: seconds("duration-subscribed")?,
            lang: el.attr_ns(XML_NS, "lang").map(str::to_owned),
        })
    }

    fn to_element(&self) -> XmlElement {
        let mut el = XmlElement::new(NAMESPACE, "watcher")
            .with_attr("id", &self.id)
            .with_attr("status", self.status.as_str())
            .with_attr("event", self.event.as_str());
        if let Some(d) = &self.display_name {
            el = el.with_attr("display-name", d);
        }
        if let Some(n) = self.expiration {
            el = el.with_attr("expiration", &n.to_string());
        }
        if let Some(n) = self.duration_subscribed {
            el = el.with_attr("duration-subscribed", &n.to_string());
        }
        if let Some(l) = &self.lang {
            el.attributes.push(XmlAttribute {
                ns: XML_NS.to_owned(),
                name: "lang".to_owned(),
                value: l.clone(),
            });
        }
        el.with_text(&self.uri)
    }
}

/// The watchers of one resource for one event package.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatcherList {
    /// The watched resource's URI.
    pub resource: String,
    /// The event package watched (`presence`, ...).
    pub package: String,
    pub watchers: Vec<Watcher>,
    pub extensions: Vec<XmlElement>,
}

impl WatcherList {
    pub fn new(resource: &str, package: &str) -> WatcherList {
        WatcherList {
            resource: resource.to_owned(),
            package: package.to_owned(),
            watchers: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// The watchers waiting for the presentity's decision.
    pub fn pending(&self) -> impl Iterator<Item = &Watcher> {
        self.watchers.iter().filter(|w| w.status == Status::Pending)
    }

    fn read(el: &XmlElement) -> Result<WatcherList, XmlError> {
        let mut list = WatcherList::new(
            el.attr("resource")
                .ok_or(XmlError::Missing("watcher-list resource"))?,
            el.attr("package")
                .ok_or(XmlError::Missing("watcher-list package"))?,
        );
        for child in el.elements() {
            if child.is(NAMESPACE, "watcher") {
                list.watchers.push(Watcher::read(child)?);
            } else {
                list.extensions.push(child.clone());
            }
        }
        Ok(list)
    }

    fn to_element(&self) -> XmlElement {
        let mut el = XmlElement::new(NAMESPACE, "watcher-list")
            .with_attr("resource", &self.resource)
            .with_attr("package", &self.package);
        el.children.extend(
            self.watchers
                .iter()
                .map(Watcher::to_element)
                .chain(self.extensions.iter().cloned())
                .map(XmlNode::Element),
        );
        el
    }
}

/// A watcher-info document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatcherInfo {
    /// Increases by one with each document of the subscription.
    pub version: u64,
    pub state: State,
    pub lists: Vec<WatcherList>,
    pub extensions: Vec<XmlElement>,
}

impl WatcherInfo {
    pub fn new(version: u64, state: State) -> WatcherInfo {
        WatcherInfo {
            version,
            state,
            lists: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// Parses a document within `limits`.
    pub fn parse(input: &[u8], limits: &XmlLimits) -> Result<WatcherInfo, WatcherInfoError> {
        WatcherInfo::from_element(&XmlElement::parse(input, limits)?)
    }

    /// Reads the typed view of an already parsed root element.
    pub fn from_element(root: &XmlElement) -> Result<WatcherInfo, WatcherInfoError> {
        expect_root(
            root,
            NAMESPACE,
            "watcherinfo",
            "{urn:ietf:params:xml:ns:watcherinfo}watcherinfo",
        )?;
        let v = root.attr("version").ok_or(XmlError::Missing("version"))?;
        let version = v
            .trim()
            .parse::<u64>()
            .map_err(|_| XmlError::malformed("version", v))?;
        let state = State::parse(root.attr("state").ok_or(XmlError::Missing("state"))?)?;
        let mut doc = WatcherInfo::new(version, state);
        for child in root.elements() {
            if child.is(NAMESPACE, "watcher-list") {
                doc.lists.push(WatcherList::read(child)?);
            } else {
                doc.extensions.push(child.clone());
            }
        }
        Ok(doc)
    }

    /// Applies the next document of the subscription to this one, the
    /// state kept so far: a full document replaces it; a partial one
    /// replaces the watchers it names (same list, same id) and adds the
    /// others, and its extensions, where it has any, replace the kept
    /// ones. On an error nothing changes.
    pub fn apply(&mut self, update: WatcherInfo) -> Result<(), ApplyError> {
        check_version(self.version, update.version, update.state == State::Partial)?;
        if update.state == State::Full {
            *self = update;
            return Ok(());
        }
        self.version = update.version;
        if !update.extensions.is_empty() {
            self.extensions = update.extensions;
        }
        for list in update.lists {
            let kept = self
                .lists
                .iter_mut()
                .find(|l| l.resource == list.resource && l.package == list.package);
            let Some(kept) = kept else {
                self.lists.push(list);
                continue;
            };
            if !list.extensions.is_empty() {
                kept.extensions = list.extensions;
            }
            for w in list.watchers {
                match kept.watchers.iter_mut().find(|k| k.id == w.id) {
                    Some(k) => *k = w,
                    None => kept.watchers.push(w),
                }
            }
        }
        Ok(())
    }

    /// The list for `resource` and `package`.
    pub fn list(&self, resource: &str, package: &str) -> Option<&WatcherList> {
        self.lists
            .iter()
            .find(|l| l.resource == resource && l.package == package)
    }

    /// The document as an element tree.
    pub fn to_element(&self) -> XmlElement {
        let mut root = XmlElement::new(NAMESPACE, "watcherinfo")
            .with_attr("version", &self.version.to_string())
            .with_attr("state", self.state.as_str());
        root.children.extend(
            self.lists
                .iter()
                .map(WatcherList::to_element)
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
