//! The XML payload parsers (the tree, is-composing, IMDN, pres-rules): never panic; the element tree and every typed
//! document that parses prints to XML that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payloads::imdn::Imdn;
use payloads::iscomposing::IsComposing;
use payloads::pres_rules::Ruleset;
use payloads::xml::{XmlElement, XmlLimits};

fuzz_target!(|data: &[u8]| {
    let Ok(root) = XmlElement::parse(data, &XmlLimits::default()) else { return };
    let text = root.to_document();
    // The printed form declares namespaces per element, so it may outgrow
    // the input's size and attribute limits; nothing else may differ.
    let relaxed = XmlLimits {
        max_size: usize::MAX,
        max_attributes: usize::MAX,
        ..XmlLimits::default()
    };
    let again = XmlElement::parse(text.as_bytes(), &relaxed);
    assert_eq!(again.as_ref(), Ok(&root), "printed tree must parse the same");
    if let Ok(d) = IsComposing::from_element(&root) {
        assert_eq!(IsComposing::parse(d.to_xml().as_bytes()), Ok(d));
    }
    if let Ok(d) = Imdn::from_element(&root) {
        assert_eq!(Imdn::parse(d.to_xml().as_bytes()), Ok(d));
    }
    // pres-rules (RFC 5025): what an XCAP server hands us is edited and
    // written back, so it must print to what it read.
    if let Ok(d) = Ruleset::from_element(&root) {
        assert_eq!(Ruleset::parse(d.to_xml().as_bytes(), &relaxed), Ok(d));
    }
});
