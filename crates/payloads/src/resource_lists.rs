//! Resource lists (RFC 4826, `application/resource-lists+xml`): the buddy
//! lists a client keeps on an XCAP server and subscribes to through a
//! resource list server.
//!
//! A document holds lists; a list holds, in order, entries (a URI),
//! references to entries elsewhere (`entry-ref`), references to other
//! lists (`external`) and nested lists. Elements of other namespaces are
//! kept in `extensions`, as the schema allows them in every element.
//! Nesting is bounded by the depth limit of [`XmlLimits`].

use crate::xml::{expect_root, XmlAttribute, XmlElement, XmlError, XmlLimits, XmlNode, XML_NS};

/// The XML namespace of the document.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:resource-lists";
/// The MIME type of the document.
pub const CONTENT_TYPE: &str = "application/resource-lists+xml";

/// Why a resource-lists document was refused.
pub type ResourceListsError = XmlError;

/// A human-readable name in the language of `xml:lang` if given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName {
    /// The text, trimmed.
    pub text: String,
    pub lang: Option<String>,
}

impl DisplayName {
    pub fn new(text: &str) -> DisplayName {
        DisplayName {
            text: text.to_owned(),
            lang: None,
        }
    }

    pub(crate) fn read(el: &XmlElement) -> DisplayName {
        DisplayName {
            text: el.text().trim().to_owned(),
            lang: el.attr_ns(XML_NS, "lang").map(str::to_owned),
        }
    }

    pub(crate) fn to_element(&self, ns: &str, name: &str) -> XmlElement {
        let mut el = XmlElement::new(ns, name).with_text(&self.text);
        if let Some(l) = &self.lang {
            el.attributes.push(XmlAttribute {
                ns: XML_NS.to_owned(),
                name: "lang".to_owned(),
                value: l.clone(),
            });
        }
        el
    }
}

/// `<entry>`: one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    pub uri: String,
    pub display_name: Option<DisplayName>,
    pub extensions: Vec<XmlElement>,
}

/// `<entry-ref>`: an entry of another document, by its XCAP URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryRef {
    /// The `ref` attribute, relative to the XCAP root.
    pub reference: String,
    pub display_name: Option<DisplayName>,
    pub extensions: Vec<XmlElement>,
}

/// `<external>`: a whole list of another document, by its absolute URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct External {
    pub anchor: Option<String>,
    pub display_name: Option<DisplayName>,
    pub extensions: Vec<XmlElement>,
}

/// One member of a list, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Member {
    List(List),
    Entry(Entry),
    EntryRef(EntryRef),
    External(External),
}

/// `<list>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct List {
    /// Unique among the list's siblings; XCAP selects lists by it.
    pub name: Option<String>,
    pub display_name: Option<DisplayName>,
    pub members: Vec<Member>,
    pub extensions: Vec<XmlElement>,
}

/// Reads the display name and extensions of `el`, handing every other
/// child in this namespace to `member`.
fn read_children(
    el: &XmlElement,
    mut member: impl FnMut(&XmlElement) -> Result<bool, XmlError>,
) -> Result<(Option<DisplayName>, Vec<XmlElement>), XmlError> {
    let mut display_name = None;
    let mut extensions = Vec::new();
    for child in el.elements() {
        if child.is(NAMESPACE, "display-name") {
            if display_name.is_some() {
                return Err(XmlError::Repeated("display-name"));
            }
            display_name = Some(DisplayName::read(child));
        } else if !member(child)? {
            extensions.push(child.clone());
        }
    }
    Ok((display_name, extensions))
}

fn write_children(
    mut el: XmlElement,
    display_name: &Option<DisplayName>,
    members: Vec<XmlElement>,
    extensions: &[XmlElement],
) -> XmlElement {
    if let Some(d) = display_name {
        el = el.with_child(d.to_element(NAMESPACE, "display-name"));
    }
    el.children.extend(
        members
            .into_iter()
            .chain(extensions.iter().cloned())
            .map(XmlNode::Element),
    );
    el
}

impl Entry {
    pub fn new(uri: &str) -> Entry {
        Entry {
            uri: uri.to_owned(),
            display_name: None,
            extensions: Vec::new(),
        }
    }

    fn read(el: &XmlElement) -> Result<Entry, XmlError> {
        let uri = el.attr("uri").ok_or(XmlError::Missing("entry uri"))?;
        let (display_name, extensions) = read_children(el, |_| Ok(false))?;
        Ok(Entry {
            uri: uri.to_owned(),
            display_name,
            extensions,
        })
    }
}

impl List {
    /// An empty list named `name`.
    pub fn named(name: &str) -> List {
        List {
            name: Some(name.to_owned()),
            ..List::default()
        }
    }

    /// The entries of this list and its nested lists, depth first.
    pub fn entries(&self) -> Vec<&Entry> {
        let mut out = Vec::new();
        for m in &self.members {
            match m {
                Member::Entry(e) => out.push(e),
                Member::List(l) => out.extend(l.entries()),
                Member::EntryRef(_) | Member::External(_) => {}
            }
        }
        out
    }

    /// Reads a `<list>` (of this namespace or, in an rls-services
    /// service, of that one: its members are of this namespace either
    /// way).
    pub(crate) fn read(el: &XmlElement) -> Result<List, XmlError> {
        let mut members = Vec::new();
        let (display_name, extensions) = read_children(el, |child| {
            if child.ns != NAMESPACE {
                return Ok(false);
            }
            let m = match child.name.as_str() {
                "list" => Member::List(List::read(child)?),
                "entry" => Member::Entry(Entry::read(child)?),
                "entry-ref" => {
                    let reference = child
                        .attr("ref")
                        .ok_or(XmlError::Missing("entry-ref ref"))?;
                    let (display_name, extensions) = read_children(child, |_| Ok(false))?;
                    Member::EntryRef(EntryRef {
                        reference: reference.to_owned(),
                        display_name,
                        extensions,
                    })
                }
                "external" => {
                    let (display_name, extensions) = read_children(child, |_| Ok(false))?;
                    Member::External(External {
                        anchor: child.attr("anchor").map(str::to_owned),
                        display_name,
                        extensions,
                    })
                }
                _ => return Ok(false),
            };
            members.push(m);
            Ok(true)
        })?;
        Ok(List {
            name: el.attr("name").map(str::to_owned),
            display_name,
            members,
            extensions,
        })
    }

    fn to_element(&self) -> XmlElement {
        self.to_element_in(NAMESPACE)
    }

    /// The list as a `<list>` element of namespace `ns`, its members of
    /// this one (RFC 4826 §4.2 puts a service's list in rls-services).
    pub(crate) fn to_element_in(&self, ns: &str) -> XmlElement {
        let mut el = XmlElement::new(ns, "list");
        if let Some(n) = &self.name {
            el = el.with_attr("name", n);
        }
        let members = self
            .members
            .iter()
            .map(|m| match m {
                Member::List(l) => l.to_element(),
                Member::Entry(e) => write_children(
                    XmlElement::new(NAMESPACE, "entry").with_attr("uri", &e.uri),
                    &e.display_name,
                    Vec::new(),
                    &e.extensions,
                ),
                Member::EntryRef(r) => write_children(
                    XmlElement::new(NAMESPACE, "entry-ref").with_attr("ref", &r.reference),
                    &r.display_name,
                    Vec::new(),
                    &r.extensions,
                ),
                Member::External(x) => {
                    let mut el = XmlElement::new(NAMESPACE, "external");
                    if let Some(a) = &x.anchor {
                        el = el.with_attr("anchor", a);
                    }
                    write_children(el, &x.display_name, Vec::new(), &x.extensions)
                }
            })
            .collect();
        write_children(el, &self.display_name, members, &self.extensions)
    }
}

/// A resource-lists document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResourceLists {
    pub lists: Vec<List>,
    pub extensions: Vec<XmlElement>,
}

impl ResourceLists {
    /// Parses a document within `limits`.
    pub fn parse(input: &[u8], limits: &XmlLimits) -> Result<ResourceLists, ResourceListsError> {
        ResourceLists::from_element(&XmlElement::parse(input, limits)?)
    }

    /// Reads the typed view of an already parsed root element.
    pub fn from_element(root: &XmlElement) -> Result<ResourceLists, ResourceListsError> {
        expect_root(
            root,
            NAMESPACE,
            "resource-lists",
            "{urn:ietf:params:xml:ns:resource-lists}resource-lists",
        )?;
        let mut doc = ResourceLists::default();
        for child in root.elements() {
            if child.is(NAMESPACE, "list") {
                doc.lists.push(List::read(child)?);
            } else {
                doc.extensions.push(child.clone());
            }
        }
        Ok(doc)
    }

    /// The top-level list named `name`.
    pub fn list(&self, name: &str) -> Option<&List> {
        self.lists.iter().find(|l| l.name.as_deref() == Some(name))
    }

    /// The document as an element tree.
    pub fn to_element(&self) -> XmlElement {
        let mut root = XmlElement::new(NAMESPACE, "resource-lists");
        root.children.extend(
            self.lists
                .iter()
                .map(List::to_element)
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
