//! A bounded, namespace-resolved element tree under every XML document of
//! the crate, and the writer that prints one back.
//!
//! Why a tree and not a streaming mapping per document: PIDF, RPID and IMDN
//! all allow elements of other namespaces almost anywhere, and the client
//! must keep those it does not understand (a presence agent composes
//! documents from several sources). One small tree type carries them, the
//! typed views read from it, and one writer prints both. Documents are a
//! few kilobytes, so building the tree costs nothing that matters.
//!
//! Bounds: the input size, the nesting depth, the element count and the
//! attributes per element are limited ([`XmlLimits`]). A DOCTYPE is refused:
//! nothing here needs a DTD, and refusing it rules out entity expansion.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// The namespace that the `xml:` prefix is bound to by definition.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Limits for one XML document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Bytes of the whole document.
    pub max_size: usize,
    /// Elements open at once.
    pub max_depth: usize,
    /// Elements in the document.
    pub max_elements: usize,
    /// Attributes on one element, namespace declarations included.
    pub max_attributes: usize,
}

impl Default for XmlLimits {
    /// Generous for presence documents of a few dozen tuples, small enough
    /// that a hostile one costs little.
    fn default() -> XmlLimits {
        XmlLimits {
            max_size: 256 * 1024,
            max_depth: 32,
            max_elements: 8192,
            max_attributes: 64,
        }
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("the document is {0} bytes, over the limit of {1}")]
    TooLarge(usize, usize),
    #[error("elements nest deeper than {0}")]
    TooDeep(usize),
    #[error("more than {0} elements")]
    TooManyElements(usize),
    #[error("more than {0} attributes on one element")]
    TooManyAttributes(usize),
    #[error("not UTF-8")]
    NotUtf8,
    #[error("a DOCTYPE is not accepted")]
    Doctype,
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    #[error("namespace prefix {0:?} is not declared")]
    UnknownPrefix(String),
    #[error("not well-formed XML: {0}")]
    Syntax(String),
    #[error("no root element")]
    NoRoot,
    #[error("content after the root element")]
    TrailingContent,
    #[error("the root element is {{{ns}}}{name}, expected {expected}")]
    WrongRoot {
        ns: String,
        name: String,
        expected: &'static str,
    },
    #[error("<{0}> is missing")]
    Missing(&'static str),
    #[error("<{0}> appears more than once")]
    Repeated(&'static str),
    #[error("bad {what}: {got:?}")]
    Malformed { what: &'static str, got: String },
}

impl XmlError {
    pub(crate) fn malformed(what: &'static str, got: &str) -> XmlError {
        XmlError::Malformed {
            what,
            got: got.chars().take(80).collect(),
        }
    }
}

/// An attribute: namespace (empty for none, the usual case), local name,
/// value with references resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XmlAttribute {
    pub ns: String,
    pub name: String,
    pub value: String,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum XmlNode {
    Element(XmlElement),
    /// Character data with references resolved. Whitespace-only runs
    /// between elements are not kept: they are layout, not content.
    Text(String),
}

/// An element: namespace URI (empty for none), local name, attributes and
/// children. Prefixes are not kept; the writer chooses its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct XmlElement {
    pub ns: String,
    pub name: String,
    pub attributes: Vec<XmlAttribute>,
    pub children: Vec<XmlNode>,
}

impl XmlElement {
    /// An element without attributes or children.
    pub fn new(ns: &str, name: &str) -> XmlElement {
        XmlElement {
            ns: ns.to_owned(),
            name: name.to_owned(),
            ..XmlElement::default()
        }
    }

    /// Whether this is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// The value of the attribute `name` in no namespace.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attr_ns("", name)
    }

    /// The value of the attribute `{ns}name`.
    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.ns == ns && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// The child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &XmlElement> {
        self.children.iter().filter_map(|c| match c {
            XmlNode::Element(e) => Some(e),
            XmlNode::Text(_) => None,
        })
    }

    /// The character data directly inside, concatenated.
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|c| match c {
                XmlNode::Text(t) => Some(t.as_str()),
                XmlNode::Element(_) => None,
            })
            .collect()
    }

    /// Builder step: adds an attribute in no namespace.
    pub fn with_attr(mut self, name: &str, value: &str) -> XmlElement {
        self.attributes.push(XmlAttribute {
            ns: String::new(),
            name: name.to_owned(),
            value: value.to_owned(),
        });
        self
    }

    /// Builder step: adds a child element.
    pub fn with_child(mut self, child: XmlElement) -> XmlElement {
        self.children.push(XmlNode::Element(child));
        self
    }

    /// Builder step: adds text (nothing for an empty string, which the
    /// parser would not report either).
    pub fn with_text(mut self, text: &str) -> XmlElement {
        if !text.is_empty() {
            self.children.push(XmlNode::Text(text.to_owned()));
        }
        self
    }

    /// Parses a whole document into its root element.
    pub fn parse(input: &[u8], limits: &XmlLimits) -> Result<XmlElement, XmlError> {
        parse_document(input, limits)
    }

    /// Prints the element as a document with an XML declaration.
    pub fn to_document(&self) -> String {
        self.to_document_with_prefixes(&[])
    }

    /// As [`to_document`](Self::to_document), elements of the namespaces
    /// in `prefixes` (namespace, prefix) written with that prefix, the
    /// way the RFCs' examples write them. Some peers read documents with
    /// patterns rather than a namespace-aware parser (baresip looks for
    /// `<rpid:away/>`), and this is what they expect.
    pub fn to_document_with_prefixes(&self, prefixes: &[(&str, &str)]) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        write_with(&mut out, self, "", prefixes, true);
        out.push('\n');
        out
    }
}

fn syntax(e: impl std::fmt::Display) -> XmlError {
    XmlError::Syntax(e.to_string().chars().take(120).collect())
}

fn namespace_of(r: ResolveResult<'_>) -> Result<String, XmlError> {
    match r {
        ResolveResult::Unbound => Ok(String::new()),
        // quick-xml hands the declaring attribute's raw text: references
        // in a namespace name are ours to resolve.
        ResolveResult::Bound(ns) => {
            let raw = std::str::from_utf8(ns.into_inner()).map_err(|_| XmlError::NotUtf8)?;
            let name = quick_xml::escape::unescape(raw).map_err(syntax)?;
            checked(name.into_owned())
        }
        ResolveResult::Unknown(p) => Err(XmlError::UnknownPrefix(
            String::from_utf8_lossy(&p).chars().take(40).collect(),
        )),
    }
}

fn utf8(b: &[u8]) -> Result<String, XmlError> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| XmlError::NotUtf8)
}

fn predefined_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// XML 1.0 §2.2 Char: what a document may contain at all. Checked on
/// input so that everything read can be printed again.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
}

fn checked(s: String) -> Result<String, XmlError> {
    if s.chars().all(is_xml_char) {
        Ok(s)
    } else {
        Err(XmlError::Syntax("a character XML does not allow".into()))
    }
}

/// XML 1.0 (5th edition) §2.3 NameStartChar, without the colon.
fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 §2.3 NameChar, without the colon.
fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// A local name as the writer can print it again: an NCName (Namespaces in
/// XML §3). quick-xml splits names at whitespace only, so `<a/ >` would
/// otherwise give an element `a/` that prints as an empty element `a`.
fn local_name(b: &[u8]) -> Result<String, XmlError> {
    let name = utf8(b)?;
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char);
    if !valid {
        return Err(XmlError::Syntax(format!(
            "bad name {:?}",
            name.chars().take(40).collect::<String>()
        )));
    }
    Ok(name)
}

fn open_element(
    reader: &NsReader<&[u8]>,
    ns: String,
    start: &quick_xml::events::BytesStart<'_>,
    limits: &XmlLimits,
) -> Result<XmlElement, XmlError> {
    let mut el = XmlElement {
        ns,
        name: local_name(start.local_name().into_inner())?,
        ..XmlElement::default()
    };
    for (count, attr) in start.attributes().enumerate() {
        if count >= limits.max_attributes {
            return Err(XmlError::TooManyAttributes(limits.max_attributes));
        }
        let attr = attr.map_err(syntax)?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let (resolved, local) = reader.resolve_attribute(attr.key);
        let ns = namespace_of(resolved)?;
        let value = attr
            .decode_and_unescape_value(reader.decoder())
            .map_err(syntax)?;
        let name = local_name(local.into_inner())?;
        if el.attributes.iter().any(|a| a.ns == ns && a.name == name) {
            return Err(XmlError::Syntax(format!("attribute {name:?} repeated")));
        }
        el.attributes.push(XmlAttribute {
            ns,
            name,
            value: checked(value.into_owned())?,
        });
    }
    Ok(el)
}

fn push_text(stack: &mut [XmlElement], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(top) => {
            if let Some(XmlNode::Text(prev)) = top.children.last_mut() {
                prev.push_str(text);
            } else {
                top.children.push(XmlNode::Text(text.to_owned()));
            }
            Ok(())
        }
        // Outside the root only layout is allowed.
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::Syntax("text outside the root element".into())),
    }
}

fn close_element(
    stack: &mut Vec<XmlElement>,
    root: &mut Option<XmlElement>,
) -> Result<(), XmlError> {
    let Some(mut done) = stack.pop() else {
        return Err(XmlError::Syntax("end tag without start".into()));
    };
    // Layout whitespace is dropped where elements are present; a leaf's
    // text is kept whole.
    if done
        .children
        .iter()
        .any(|c| matches!(c, XmlNode::Element(_)))
    {
        done.children
            .retain(|c| !matches!(c, XmlNode::Text(t) if t.trim().is_empty()));
    } else if done.text().trim().is_empty() {
        done.children.clear();
    }
    match stack.last_mut() {
        Some(parent) => parent.children.push(XmlNode::Element(done)),
        None => *root = Some(done),
    }
    Ok(())
}

fn parse_document(input: &[u8], limits: &XmlLimits) -> Result<XmlElement, XmlError> {
    if input.len() > limits.max_size {
        return Err(XmlError::TooLarge(input.len(), limits.max_size));
    }
    let text = std::str::from_utf8(input).map_err(|_| XmlError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<XmlElement> = Vec::new();
    let mut root: Option<XmlElement> = None;
    let mut elements = 0usize;
    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(syntax)?;
        let ns = match &event {
            Event::Start(_) | Event::Empty(_) => Some(namespace_of(resolved)?),
            _ => None,
        };
        match event {
            Event::Start(ref s) | Event::Empty(ref s) => {
                if root.is_some() {
                    return Err(XmlError::TrailingContent);
                }
                elements += 1;
                if elements > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                let el = open_element(&reader, ns.unwrap_or_default(), s, limits)?;
                stack.push(el);
                if matches!(event, Event::Empty(_)) {
                    close_element(&mut stack, &mut root)?;
                }
            }
            Event::End(_) => close_element(&mut stack, &mut root)?,
            Event::Text(t) => {
                let t = checked(t.xml10_content().map_err(syntax)?.into_owned())?;
                push_text(&mut stack, &t)?;
            }
            Event::CData(c) => {
                let t = checked(c.xml10_content().map_err(syntax)?.into_owned())?;
                if stack.is_empty() {
                    return Err(XmlError::Syntax("CDATA outside the root element".into()));
                }
                push_text(&mut stack, &t)?;
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(syntax)? {
                    Some(c) => c,
                    None => {
                        let name = r.decode().map_err(syntax)?;
                        predefined_entity(&name).ok_or_else(|| {
                            XmlError::UnknownEntity(name.chars().take(40).collect())
                        })?
                    }
                };
                if stack.is_empty() || !is_xml_char(c) {
                    return Err(XmlError::Syntax(
                        "reference outside the root element or to a non-character".into(),
                    ));
                }
                push_text(&mut stack, c.encode_utf8(&mut [0u8; 4]))?;
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Syntax("unclosed element".into()));
    }
    root.ok_or(XmlError::NoRoot)
}

/// Escapes `&`, `<`, `>` (and quotes, for attributes) so any string prints
/// as character data. Characters XML 1.0 cannot carry at all (most C0
/// controls) are dropped: there is no way to write them.
pub(crate) fn escape_into(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\t' | '\n' | '\r' if attribute => {
                out.push_str(&format!("&#x{:X};", u32::from(c)));
            }
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
}

/// Whether an element of the tree is in namespace `ns`.
fn uses(el: &XmlElement, ns: &str) -> bool {
    el.ns == ns || el.elements().any(|c| uses(c, ns))
}

/// Prints `el` where `default_ns` is the namespace in scope for unprefixed
/// names. An element whose namespace differs declares it as the default,
/// unless its namespace is one of `prefixes` (declared once, on the root):
/// then it is written with that prefix. Attributes in a namespace get
/// prefixes declared on their element. The output is plain and always
/// well-formed; a parsed document's own prefixes are not preserved.
fn write_with(
    out: &mut String,
    el: &XmlElement,
    default_ns: &str,
    prefixes: &[(&str, &str)],
    root: bool,
) {
    let prefix = prefixes
        .iter()
        .find(|(ns, _)| !ns.is_empty() && *ns == el.ns)
        .map(|(_, p)| *p);
    out.push('<');
    if let Some(p) = prefix {
        out.push_str(p);
        out.push(':');
    }
    out.push_str(&el.name);
    if root {
        for (ns, p) in prefixes.iter().filter(|(ns, _)| uses(el, ns)) {
            out.push_str(&format!(" xmlns:{p}=\""));
            escape_into(out, ns, true);
            out.push('"');
        }
    }
    let mut scope = default_ns;
    if prefix.is_none() && el.ns != default_ns {
        out.push_str(" xmlns=\"");
        escape_into(out, &el.ns, true);
        out.push('"');
        scope = &el.ns;
    }
    let mut attribute_prefixes: Vec<&str> = Vec::new();
    for a in &el.attributes {
        out.push(' ');
        if a.ns == XML_NS {
            out.push_str("xml:");
        } else if !a.ns.is_empty() {
            let n = match attribute_prefixes.iter().position(|p| *p == a.ns) {
                Some(n) => n,
                None => {
                    attribute_prefixes.push(&a.ns);
                    let n = attribute_prefixes.len() - 1;
                    out.push_str(&format!("xmlns:a{n}=\""));
                    escape_into(out, &a.ns, true);
                    out.push_str("\" ");
                    n
                }
            };
            out.push_str(&format!("a{n}:"));
        }
        out.push_str(&a.name);
        out.push_str("=\"");
        escape_into(out, &a.value, true);
        out.push('"');
    }
    if el.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &el.children {
        match child {
            XmlNode::Element(c) => write_with(out, c, scope, prefixes, false),
            XmlNode::Text(t) => escape_into(out, t, false),
        }
    }
    out.push_str("</");
    if let Some(p) = prefix {
        out.push_str(p);
        out.push(':');
    }
    out.push_str(&el.name);
    out.push('>');
}

/// Reads the typed documents' leaf values: the trimmed text of the one
/// child `{ns}name`, refusing a repeat.
pub(crate) fn single_text(
    parent: &XmlElement,
    ns: &str,
    name: &'static str,
) -> Result<Option<String>, XmlError> {
    let mut found = None;
    for e in parent.elements().filter(|e| e.is(ns, name)) {
        if found.is_some() {
            return Err(XmlError::Repeated(name));
        }
        found = Some(e.text().trim().to_owned());
    }
    Ok(found)
}

/// Checks the root element's name.
pub(crate) fn expect_root(
    root: &XmlElement,
    ns: &str,
    name: &str,
    expected: &'static str,
) -> Result<(), XmlError> {
    if root.is(ns, name) {
        Ok(())
    } else {
        Err(XmlError::WrongRoot {
            ns: root.ns.chars().take(80).collect(),
            name: root.name.chars().take(80).collect(),
            expected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_prefixes_and_references() {
        let doc = br#"<?xml version="1.0"?>
<p:a xmlns:p="urn:x" xmlns:q="urn:y" q:k="1 &amp; 2"><p:b>x &lt; y&#x41;</p:b>
  <c xmlns="urn:z"><![CDATA[<raw>]]></c></p:a>"#;
        let root = XmlElement::parse(doc, &XmlLimits::default()).unwrap();
        assert!(root.is("urn:x", "a"));
        assert_eq!(root.attr_ns("urn:y", "k"), Some("1 & 2"));
        let kids: Vec<_> = root.elements().collect();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[0].text(), "x < yA");
        assert!(kids[1].is("urn:z", "c"));
        assert_eq!(kids[1].text(), "<raw>");
        let again = XmlElement::parse(root.to_document().as_bytes(), &XmlLimits::default());
        assert_eq!(again.unwrap(), root);
    }

    #[test]
    fn refuses_what_it_must() {
        let l = XmlLimits::default();
        let cases: [(&[u8], XmlError); 6] = [
            (b"<!DOCTYPE a []><a/>", XmlError::Doctype),
            (b"<a>&foo;</a>", XmlError::UnknownEntity("foo".into())),
            (b"<p:a/>", XmlError::UnknownPrefix("p".into())),
            (b"<a/><b/>", XmlError::TrailingContent),
            (b"  ", XmlError::NoRoot),
            (b"<a>\xff</a>", XmlError::NotUtf8),
        ];
        for (input, want) in cases {
            assert_eq!(XmlElement::parse(input, &l), Err(want));
        }
        assert!(XmlElement::parse(b"<a><b></a>", &l).is_err());
        // Names outside the Name production, which the writer could not
        // print back as the same element (`a/` would print as `<a/>`).
        for bad in [&b"<a/ >x</a/>"[..], b"<1a/>", b"<a b/c=\"1\"/>", b"<-a/>"] {
            assert!(
                matches!(XmlElement::parse(bad, &l), Err(XmlError::Syntax(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(XmlElement::parse("<é.b-1·/>".as_bytes(), &l).is_ok());
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert_eq!(
            XmlElement::parse(deep.as_bytes(), &l),
            Err(XmlError::TooDeep(32))
        );
    }

    #[test]
    fn unnamespaced_child_under_a_default_namespace() {
        let el = XmlElement::new("urn:x", "a").with_child(XmlElement::new("", "b").with_text("t"));
        let text = el.to_document();
        assert!(text.contains("<b xmlns=\"\">"), "{text}");
        assert_eq!(
            XmlElement::parse(text.as_bytes(), &XmlLimits::default()).unwrap(),
            el
        );
    }
}
