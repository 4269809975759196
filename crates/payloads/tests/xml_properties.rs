//! Properties of the XML documents: any bytes, and any mangled version of
//! a real document, are read or refused without a panic; any document
//! built from valid values prints to XML that reads back to the same value.

use payloads::imdn::{Imdn, Notification, NotificationKind, Status};
use payloads::iscomposing::{IsComposing, State};
use payloads::xml::{XmlAttribute, XmlElement, XmlLimits, XmlNode};
use payloads::{DateTime, Offset};
use proptest::prelude::*;

/// Text as the documents carry it: XML characters, trimmed (leaf values
/// are read trimmed), markup characters and UTF-8 included.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9<>&'\"é😀 \t\n/:.-]{1,24}"
        .prop_map(|s| s.trim().to_owned())
        .prop_filter("non-empty", |s| !s.is_empty())
}

fn datetime() -> impl Strategy<Value = DateTime> {
    (
        0i64..253_402_300_799,
        0u32..1_000_000_000,
        prop_oneof![
            Just(Offset::Utc),
            Just(Offset::Unknown),
            (-1439i16..1440).prop_map(Offset::Minutes)
        ],
    )
        .prop_map(|(s, n, o)| DateTime::from_unix(s, n, o))
}

fn xml_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_.-]{0,8}"
}

fn element() -> impl Strategy<Value = XmlElement> {
    let leaf = (
        prop_oneof![
            Just(String::new()),
            Just("urn:x".to_owned()),
            Just("urn:y".to_owned())
        ],
        xml_name(),
        proptest::collection::vec(
            (
                prop_oneof![Just(""), Just("urn:z"), Just(payloads::xml::XML_NS)],
                xml_name(),
                text(),
            ),
            0..3,
        ),
        proptest::option::of(text()),
    )
        .prop_map(|(ns, name, attrs, t)| {
            let mut e = XmlElement::new(&ns, &name);
            for (ans, an, av) in attrs {
                if !e.attributes.iter().any(|a| a.ns == ans && a.name == an) {
                    e.attributes.push(XmlAttribute {
                        ns: ans.to_owned(),
                        name: an,
                        value: av,
                    });
                }
            }
            if let Some(t) = t {
                e.children.push(XmlNode::Text(t));
            }
            e
        });
    leaf.prop_recursive(3, 12, 4, |inner| {
        (inner.clone(), proptest::collection::vec(inner, 0..4)).prop_map(|(mut e, kids)| {
            e.children.retain(|c| matches!(c, XmlNode::Element(_)));
            e.children.extend(kids.into_iter().map(XmlNode::Element));
            e
        })
    })
}

fn status_for(kind: NotificationKind) -> impl Strategy<Value = Status> {
    let specific = match kind {
        NotificationKind::Delivery => vec![Status::Delivered, Status::Failed],
        NotificationKind::Display => vec![Status::Displayed],
        NotificationKind::Processing => vec![Status::Processed, Status::Stored],
    };
    prop_oneof![
        proptest::sample::select(specific),
        Just(Status::Forbidden),
        Just(Status::Error),
        "x-[a-z]{1,8}".prop_map(Status::Other),
    ]
}

fn imdn() -> impl Strategy<Value = Imdn> {
    let kind = prop_oneof![
        Just(NotificationKind::Delivery),
        Just(NotificationKind::Display),
        Just(NotificationKind::Processing)
    ];
    let notification = kind
        .prop_flat_map(|k| status_for(k).prop_map(move |status| Notification { kind: k, status }));
    (
        text(),
        datetime(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        notification,
        proptest::collection::vec(
            element().prop_filter("foreign", |e| {
                e.ns != payloads::imdn::NAMESPACE && !e.ns.is_empty()
            }),
            0..2,
        ),
    )
        .prop_map(
            |(
                message_id,
                datetime,
                recipient_uri,
                original_recipient_uri,
                subject,
                notification,
                extensions,
            )| Imdn {
                message_id,
                datetime,
                recipient_uri,
                original_recipient_uri,
                subject,
                notification,
                extensions,
            },
        )
}

proptest! {
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = XmlElement::parse(&bytes, &XmlLimits::default());
        let _ = IsComposing::parse(&bytes);
        let _ = Imdn::parse(&bytes);
    }

    #[test]
    fn mangled_documents_never_panic(cut in 0usize..400, at in 0usize..400, byte in any::<u8>()) {
        let doc = std::fs::read(format!("{}/tests/data/rfc5438_delivery.xml", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let mut d = doc.clone();
        if at < d.len() { d[at] = byte; }
        d.truncate(cut.max(1));
        let _ = Imdn::parse(&d);
        let _ = IsComposing::parse(&d);
    }

    #[test]
    fn xmlish_text_reprints_the_same_tree(
        parts in proptest::collection::vec(
            "<[ab](:[ab])?( (xmlns(:[ab])?|[ab](:[ab])?)=\"[a-z:&;#0-9]{0,4}\"){0,3}/?>|</[ab](:[ab])?>|&(lt|amp|#x[0-9A-F]{1,2}|#[0-9]{1,3}|zz);|[ a-z\t\r\n]{1,3}|<!\\[CDATA\\[[a-z<&]{0,4}\\]\\]>",
            0..16,
        )
    ) {
        let input = format!("<r xmlns:a=\"urn:a\" xmlns:b=\"urn:b\">{}</r>", parts.concat());
        if let Ok(tree) = XmlElement::parse(input.as_bytes(), &XmlLimits::default()) {
            let text = tree.to_document();
            let again = XmlElement::parse(text.as_bytes(), &XmlLimits::default());
            prop_assert_eq!(again.as_ref(), Ok(&tree), "{} -> {}", input, text);
        }
    }

    #[test]
    fn trees_round_trip(e in element()) {
        let text = e.to_document();
        let again = XmlElement::parse(text.as_bytes(), &XmlLimits::default()).unwrap();
        prop_assert_eq!(again, e, "{}", text);
    }

    #[test]
    fn iscomposing_round_trips(
        state in prop_oneof![Just(State::Idle), Just(State::Active), "x[a-z]{1,6}".prop_map(State::Other)],
        last_active in proptest::option::of(datetime()),
        content_type in proptest::option::of(text()),
        refresh in proptest::option::of(1u32..),
    ) {
        let d = IsComposing { state, last_active, content_type, refresh };
        prop_assert_eq!(IsComposing::parse(d.to_xml().as_bytes()).unwrap(), d);
    }

    #[test]
    fn imdn_round_trips(d in imdn()) {
        prop_assert_eq!(Imdn::parse(d.to_xml().as_bytes()).unwrap(), d);
    }
}
