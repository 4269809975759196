//! RLS services (RFC 4826 §4, `application/rls-services+xml`): the
//! document a user keeps on an XCAP server to tell a resource list server
//! which list URIs it serves for them, and with which members. A
//! subscription to a service's URI (RFC 4662) is answered with the
//! state of every member.
//!
//! Each service names its members either inline (`<list>`, whose entries
//! are of the resource-lists namespace) or by reference to a list of a
//! resource-lists document (`<resource-list>`, an absolute XCAP URI with
//! a node selector), and the event packages it is for (`<packages>`;
//! none means any). Elements of other namespaces are kept in
//! `extensions`.

use crate::resource_lists::List;
use crate::xml::{expect_root, XmlElement, XmlError, XmlLimits, XmlNode};

/// The XML namespace of the document.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:rls-services";
/// The MIME type of the document.
pub const CONTENT_TYPE: &str = "application/rls-services+xml";
/// The XCAP application usage (RFC 4826 §4.4.1).
pub const AUID: &str = "rls-services";

/// Why an rls-services document was refused.
pub type RlsServicesError = XmlError;

/// Where a service's members are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Members {
    /// `<resource-list>`: a list of a resource-lists document, by its
    /// absolute HTTP URI (an XCAP node selector to a `<list>`).
    ResourceList(String),
    /// `<list>`: the members themselves.
    List(List),
}

/// `<service>`: one list URI the server answers subscriptions to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    /// The URI subscribed to.
    pub uri: String,
    pub members: Members,
    /// The event packages served (`presence`, ...); empty: any.
    pub packages: Vec<String>,
    pub extensions: Vec<XmlElement>,
}

impl Service {
    /// A service whose members are the list at `xcap_uri`.
    pub fn with_resource_list(uri: &str, xcap_uri: &str, packages: &[&str]) -> Service {
        Service {
            uri: uri.to_owned(),
            members: Members::ResourceList(xcap_uri.to_owned()),
            packages: packages.iter().map(|p| (*p).to_owned()).collect(),
            extensions: Vec::new(),
        }
    }

    /// A service whose members are `list`.
    pub fn with_list(uri: &str, list: List, packages: &[&str]) -> Service {
        Service {
            uri: uri.to_owned(),
            members: Members::List(list),
            packages: packages.iter().map(|p| (*p).to_owned()).collect(),
            extensions: Vec::new(),
        }
    }

    fn read(el: &XmlElement) -> Result<Service, XmlError> {
        let uri = el.attr("uri").ok_or(XmlError::Missing("service uri"))?;
        let mut members = None;
        let mut packages = None;
        let mut extensions = Vec::new();
        for child in el.elements() {
            if child.is(NAMESPACE, "resource-list") || child.is(NAMESPACE, "list") {
                if members.is_some() {
                    return Err(XmlError::Repeated("list or resource-list"));
                }
                members = Some(if child.name == "list" {
                    Members::List(List::read(child)?)
                } else {
                    Members::ResourceList(child.text().trim().to_owned())
                });
            } else if child.is(NAMESPACE, "packages") {
                if packages.is_some() {
                    return Err(XmlError::Repeated("packages"));
                }
                let mut names = Vec::new();
                for p in child.elements() {
                    if p.is(NAMESPACE, "package") {
                        names.push(p.text().trim().to_owned());
                    }
                }
                packages = Some(names);
            } else {
                extensions.push(child.clone());
            }
        }
        Ok(Service {
            uri: uri.to_owned(),
            members: members.ok_or(XmlError::Missing("list or resource-list"))?,
            packages: packages.unwrap_or_default(),
            extensions,
        })
    }

    fn to_element(&self) -> XmlElement {
        let mut el = XmlElement::new(NAMESPACE, "service").with_attr("uri", &self.uri);
        el = el.with_child(match &self.members {
            Members::ResourceList(u) => XmlElement::new(NAMESPACE, "resource-list").with_text(u),
            Members::List(l) => l.to_element_in(NAMESPACE),
        });
        if !self.packages.is_empty() {
            let mut p = XmlElement::new(NAMESPACE, "packages");
            for name in &self.packages {
                p = p.with_child(XmlElement::new(NAMESPACE, "package").with_text(name));
            }
            el = el.with_child(p);
        }
        el.children
            .extend(self.extensions.iter().cloned().map(XmlNode::Element));
        el
    }
}

/// An rls-services document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RlsServices {
    pub services: Vec<Service>,
    pub extensions: Vec<XmlElement>,
}

impl RlsServices {
    /// Parses a document within `limits`.
    pub fn parse(input: &[u8], limits: &XmlLimits) -> Result<RlsServices, RlsServicesError> {
        RlsServices::from_element(&XmlElement::parse(input, limits)?)
    }

    /// Reads the typed view of an already parsed root element.
    pub fn from_element(root: &XmlElement) -> Result<RlsServices, RlsServicesError> {
        expect_root(
            root,
            NAMESPACE,
            "rls-services",
            "{urn:ietf:params:xml:ns:rls-services}rls-services",
        )?;
        let mut doc = RlsServices::default();
        for child in root.elements() {
            if child.is(NAMESPACE, "service") {
                doc.services.push(Service::read(child)?);
            } else {
                doc.extensions.push(child.clone());
            }
        }
        Ok(doc)
    }

    /// The service whose URI is `uri`.
    pub fn service(&self, uri: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.uri == uri)
    }

    /// Puts `service` in place of the one with its URI, or adds it.
    pub fn set_service(&mut self, service: Service) {
        match self.services.iter_mut().find(|s| s.uri == service.uri) {
            Some(s) => *s = service,
            None => self.services.push(service),
        }
    }

    /// Takes out the service with URI `uri`; whether there was one.
    pub fn remove_service(&mut self, uri: &str) -> bool {
        let before = self.services.len();
        self.services.retain(|s| s.uri != uri);
        before != self.services.len()
    }

    /// The document as an element tree.
    pub fn to_element(&self) -> XmlElement {
        let mut root = XmlElement::new(NAMESPACE, "rls-services");
        root.children.extend(
            self.services
                .iter()
                .map(Service::to_element)
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

/// The XCAP URI (RFC 4825 §6) of the top-level list named `name` in the
/// resource-lists document at `document_url`: what a `<resource-list>`
/// holds. The node selector is percent-encoded where RFC 3986 wants it
/// (`[`, `]`, `"`).
pub fn list_reference(document_url: &str, name: &str) -> String {
    let mut selector = String::new();
    for c in format!("resource-lists/list[@name=\"{name}\"]").chars() {
        match c {
            '[' => selector.push_str("%5b"),
            ']' => selector.push_str("%5d"),
            '"' => selector.push_str("%22"),
            ' ' => selector.push_str("%20"),
            '%' => selector.push_str("%25"),
            c => selector.push(c),
        }
    }
    format!("{}/~~/{selector}", document_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_reference_encodes_the_selector() {
        assert_eq!(
            list_reference("http://x/xcap-root/resource-lists/users/sip:a@b/index", "l1"),
            "http://x/xcap-root/resource-lists/users/sip:a@b/index/~~/resource-lists/list%5b@name=%22l1%22%5d"
        );
    }
}
