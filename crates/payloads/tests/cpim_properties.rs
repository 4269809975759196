//! Properties of the CPIM code: any bytes are read or refused without a
//! panic, and any message built from valid parts prints to bytes that read
//! back to the same message.

use payloads::cpim::{
    Address, ExtensionHeader, Message, MimeHeader, Namespace, Param, Subject, CPIM_HEADERS_NS,
};
use payloads::{DateTime, Offset};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,10}"
}

fn text() -> impl Strategy<Value = String> {
    // Anything, control characters, quotes, backslashes and UTF-8 included.
    proptest::collection::vec(any::<char>(), 0..20).prop_map(|v| v.into_iter().collect())
}

fn uri() -> impl Strategy<Value = String> {
    "(sip|im|tel):[a-z0-9.@+]{1,20}"
}

fn address() -> impl Strategy<Value = Address> {
    (proptest::option::of(text()), uri()).prop_map(|(n, u)| Address {
        display_name: n.filter(|n| !n.is_empty()),
        uri: u,
    })
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

fn is_standard(n: &str) -> bool {
    ["from", "to", "cc", "datetime", "subject", "ns", "require"]
        .contains(&n.to_ascii_lowercase().as_str())
}

prop_compose! {
    fn message()(
        from in proptest::option::of(address()),
        to in proptest::collection::vec(address(), 0..3),
        cc in proptest::collection::vec(address(), 0..2),
        datetime in proptest::option::of(datetime()),
        subjects in proptest::collection::vec((proptest::option::of("[a-z]{2}(-[A-Z]{2})?"), text()), 0..3),
        exts in proptest::collection::vec((0usize..3, name(), proptest::collection::vec((name(), text()), 0..2), text()), 0..5),
        mime in proptest::collection::vec((name(), "[!-~]([ -~]{0,20}[!-~])?"), 0..3),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) -> Message {
        let namespaces = vec![
            Namespace { prefix: Some("imdn".into()), uri: "urn:ietf:params:imdn".into() },
            Namespace { prefix: Some("x".into()), uri: "urn:example:x".into() },
        ];
        let extensions = exts.into_iter()
            .filter(|(which, n, _, _)| *which != 0 || !is_standard(n))
            .map(|(which, n, params, value)| {
            let (prefix, namespace) = match which {
                0 => (None, CPIM_HEADERS_NS),
                1 => (Some("imdn"), "urn:ietf:params:imdn"),
                _ => (Some("x"), "urn:example:x"),
            };
            ExtensionHeader {
                prefix: prefix.map(str::to_owned),
                namespace: Some(namespace.to_owned()),
                name: n,
                params: params.into_iter().map(|(name, value)| Param { name, value }).collect(),
                value,
            }
        }).collect();
        Message {
            from, to, cc, datetime,
            subjects: subjects.into_iter().map(|(lang, text)| Subject { lang, text }).collect(),
            namespaces,
            require: vec!["x.Vital".into()],
            extensions,
            content_headers: mime.into_iter().map(|(name, value)| MimeHeader { name, value }).collect(),
            body,
        }
    }
}

proptest! {
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Message::parse(&bytes);
    }

    #[test]
    fn header_like_text_never_panics(lines in proptest::collection::vec("[ -~\\\\\"<>;:=.]{0,40}", 0..8)) {
        let text = lines.join("\r\n") + "\r\n\r\n";
        if let Ok(m) = Message::parse(text.as_bytes()) {
            // What was read prints to something that reads the same.
            if m.validate().is_ok() {
                prop_assert_eq!(Message::parse(&m.to_bytes()).unwrap(), m);
            }
        }
    }

    #[test]
    fn built_messages_round_trip(m in message()) {
        prop_assert!(m.validate().is_ok(), "{:?}", m.validate());
        let again = Message::parse(&m.to_bytes()).unwrap();
        prop_assert_eq!(again, m);
    }
}
