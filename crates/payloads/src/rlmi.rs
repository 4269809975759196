//! Resource list meta-information (RFC 4662, `application/rlmi+xml`): the
//! root part of the multipart NOTIFY a resource list server sends, naming
//! the list's resources and the state of the back-end subscription to each
//! (its instances), with the `cid` of the body part that carries an
//! instance's state.
//!
//! A document is a full state or only the resources that changed
//! (`fullState`); `version` orders them. Elements of other namespaces are
//! kept in `extensions`.

use crate::resource_lists::DisplayName;
pub use crate::watcherinfo::ApplyError;
use crate::xml::{expect_root, XmlElement, XmlError, XmlLimits, XmlNode};

/// The XML namespace of the document.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:rlmi";
/// The MIME type of the document.
pub const CONTENT_TYPE: &str = "application/rlmi+xml";

/// Why an RLMI document was refused.
pub type RlmiError = XmlError;

/// The state of one back-end subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceState {
    Active,
    Pending,
    Terminated,
}

impl InstanceState {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Active => "active",
            InstanceState::Pending => "pending",
            InstanceState::Terminated => "terminated",
        }
    }

    fn parse(text: &str) -> Result<InstanceState, XmlError> {
        Ok(match text.trim() {
            "active" => InstanceState::Active,
            "pending" => InstanceState::Pending,
            "terminated" => InstanceState::Terminated,
            _ => return Err(XmlError::malformed("instance state", text)),
        })
    }
}

/// `<instance>`: one subscription to a resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Instance {
    pub id: String,
    pub state: InstanceState,
    /// Why a terminated subscription ended (`rejected`, `noresource`, ...,
    /// the Subscription-State reasons of RFC 3265).
    pub reason: Option<String>,
    /// The Content-ID of the body part carrying the state.
    pub cid: Option<String>,
}

/// `<resource>`: one member of the list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resource {
    pub uri: String,
    /// Its names, one per language.
    pub names: Vec<DisplayName>,
    pub instances: Vec<Instance>,
    pub extensions: Vec<XmlElement>,
}

impl Resource {
    pub fn new(uri: &str) -> Resource {
        Resource {
            uri: uri.to_owned(),
            names: Vec::new(),
            instances: Vec::new(),
            extensions: Vec::new(),
        }
    }

    fn read(el: &XmlElement) -> Result<Resource, XmlError> {
        let mut r = Resource::new(el.attr("uri").ok_or(XmlError::Missing("resource uri"))?);
        for child in el.elements() {
            if child.is(NAMESPACE, "name") {
                r.names.push(DisplayName::read(child));
            } else if child.is(NAMESPACE, "instance") {
                r.instances.push(Instance {
                    id: child
                        .attr("id")
                        .ok_or(XmlError::Missing("instance id"))?
                        .to_owned(),
                    state: InstanceState::parse(
                        child
                            .attr("state")
                            .ok_or(XmlError::Missing("instance state"))?,
                    )?,
                    reason: child.attr("reason").map(str::to_owned),
                    cid: child.attr("cid").map(str::to_owned),
                });
            } else {
                r.extensions.push(child.clone());
            }
        }
        Ok(r)
    }

    fn to_element(&self) -> XmlElement {
        let mut el = XmlElement::new(NAMESPACE, "resource").with_attr("uri", &self.uri);
        for n in &self.names {
            el = el.with_child(n.to_element(NAMESPACE, "name"));
        }
        for i in &self.instances {
            let mut inst = XmlElement::new(NAMESPACE, "instance")
                .with_attr("id", &i.id)
                .with_attr("state", i.state.as_str());
            if let Some(r) = &i.reason {
                inst = inst.with_attr("reason", r);
            }
            if let Some(c) = &i.cid {
                inst = inst.with_attr("cid", c);
            }
            el = el.with_child(inst);
        }
        el.children
            .extend(self.extensions.iter().cloned().map(XmlNode::Element));
        el
    }
}

/// An RLMI document: the `<list>` root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rlmi {
    /// The list's URI (what was subscribed to).
    pub uri: String,
    pub version: u32,
    /// Whether every resource is present (else only the changed ones).
    pub full_state: bool,
    /// The Content-ID of this part, when the list is nested in another.
    pub cid: Option<String>,
    pub names: Vec<DisplayName>,
    pub resources: Vec<Resource>,
    pub extensions: Vec<XmlElement>,
}

impl Rlmi {
    pub fn new(uri: &str, version: u32, full_state: bool) -> Rlmi {
        Rlmi {
            uri: uri.to_owned(),
            version,
            full_state,
            cid: None,
            names: Vec::new(),
            resources: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// Parses a document within `limits`.
    pub fn parse(input: &[u8], limits: &XmlLimits) -> Result<Rlmi, RlmiError> {
        Rlmi::from_element(&XmlElement::parse(input, limits)?)
    }

    /// Reads the typed view of an already parsed root element.
    pub fn from_element(root: &XmlElement) -> Result<Rlmi, RlmiError> {
        expect_root(root, NAMESPACE, "list", "{urn:ietf:params:xml:ns:rlmi}list")?;
        let v = root.attr("version").ok_or(XmlError::Missing("version"))?;
        let version = v
            .trim()
            .parse::<u32>()
            .map_err(|_| XmlError::malformed("version", v))?;
        let f = root
            .attr("fullState")
            .ok_or(XmlError::Missing("fullState"))?;
        // xs:boolean.
        let full_state = match f.trim() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(XmlError::malformed("fullState", f)),
        };
        let mut doc = Rlmi::new(
            root.attr("uri").ok_or(XmlError::Missing("list uri"))?,
            version,
            full_state,
        );
        doc.cid = root.attr("cid").map(str::to_owned);
        for child in root.elements() {
            if child.is(NAMESPACE, "name") {
                doc.names.push(DisplayName::read(child));
            } else if child.is(NAMESPACE, "resource") {
                doc.resources.push(Resource::read(child)?);
            } else {
                doc.extensions.push(child.clone());
            }
        }
        Ok(doc)
    }

    /// Applies the next document of the subscription to this one, the
    /// state kept so far: a full state replaces it; a partial one replaces
    /// the resources it names (same URI) and adds the others; its names
    /// and extensions, where it has any, replace the kept ones. On an
    /// error nothing changes.
    pub fn apply(&mut self, update: Rlmi) -> Result<(), ApplyError> {
        crate::watcherinfo::check_version(
            u64::from(self.version),
            u64::from(update.version),
            !update.full_state,
        )?;
        if update.full_state {
            *self = update;
            return Ok(());
        }
        self.version = update.version;
        if !update.names.is_empty() {
            self.names = update.names;
        }
        if !update.extensions.is_empty() {
            self.extensions = update.extensions;
        }
        for r in update.resources {
            match self.resources.iter_mut().find(|k| k.uri == r.uri) {
                Some(k) => *k = r,
                None => self.resources.push(r),
            }
        }
        Ok(())
    }

    /// The resource with `uri`.
    pub fn resource(&self, uri: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.uri == uri)
    }

    /// The instance whose state is in the body part with Content-ID `cid`.
    pub fn instance_by_cid(&self, cid: &str) -> Option<(&Resource, &Instance)> {
        self.resources.iter().find_map(|r| {
            r.instances
                .iter()
                .find(|i| i.cid.as_deref() == Some(cid))
                .map(|i| (r, i))
        })
    }

    /// The document as an element tree.
    pub fn to_element(&self) -> XmlElement {
        let mut root = XmlElement::new(NAMESPACE, "list")
            .with_attr("uri", &self.uri)
            .with_attr("version", &self.version.to_string())
            .with_attr("fullState", if self.full_state { "true" } else { "false" });
        if let Some(c) = &self.cid {
            root = root.with_attr("cid", c);
        }
        root.children.extend(
            self.names
                .iter()
                .map(|n| n.to_element(NAMESPACE, "name"))
                .chain(self.resources.iter().map(Resource::to_element))
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
