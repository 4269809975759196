//! Properties: any bytes are parsed or refused without a panic, and a
//! description built from valid parts survives serialize → parse intact.

use proptest::prelude::*;
use sdp::{AddrType, Attribute, Connection, Media, Origin, SessionDescription};

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9._-]{0,11}"
}

fn text() -> impl Strategy<Value = String> {
    // Any printable text without CR/LF/NUL (SDP text fields).
    "[ -~]{0,30}"
}

fn attribute() -> impl Strategy<Value = Attribute> {
    (token(), proptest::option::of(text())).prop_map(|(name, value)| Attribute { name, value })
}

fn connection() -> impl Strategy<Value = Connection> {
    (
        any::<[u8; 4]>(),
        proptest::option::of((any::<u8>(), proptest::option::of(1u32..16))),
    )
        .prop_map(|(ip, multicast)| {
            let mut c = Connection::new(std::net::IpAddr::from(ip));
            if let Some((ttl, count)) = multicast {
                c.ttl = Some(ttl);
                c.count = count;
            }
            c
        })
}

fn media() -> impl Strategy<Value = Media> {
    (
        token(),
        any::<u16>(),
        proptest::option::of(1u16..8),
        "[A-Z]{3}(/[A-Z]{3,4}){0,2}",
        proptest::collection::vec("[0-9]{1,3}|\\*", 1..5),
        proptest::option::of(connection()),
        proptest::collection::vec(attribute(), 0..6),
    )
        .prop_map(|(kind, port, count, proto, formats, c, attributes)| {
            let mut m = Media::new(&kind, port, &proto, formats);
            m.port_count = count;
            m.connections.extend(c);
            m.attributes = attributes;
            m
        })
}

fn description() -> impl Strategy<Value = SessionDescription> {
    (
        token(),
        "[0-9]{1,20}",
        any::<u64>(),
        text(),
        connection(),
        proptest::collection::vec(attribute(), 0..5),
        proptest::collection::vec(media(), 0..4),
    )
        .prop_map(|(user, id, version, name, c, attributes, media)| {
            let mut d = SessionDescription::new(Origin {
                username: user,
                session_id: id,
                session_version: version,
                net_type: "IN".into(),
                addr_type: AddrType::Ip4,
                address: "192.0.2.1".into(),
            });
            d.session_name = name;
            d.connection = Some(c);
            d.attributes = attributes;
            d.media = media;
            d
        })
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = SessionDescription::parse(&bytes);
    }

    #[test]
    fn mutated_descriptions_never_panic(d in description(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = d.to_string().into_bytes();
        let i = at % bytes.len().max(1);
        if let Some(b) = bytes.get_mut(i) {
            *b = byte;
        }
        if let Ok(parsed) = SessionDescription::parse(&bytes) {
            // Whatever parses, round-trips.
            let again = SessionDescription::parse(parsed.to_string().as_bytes());
            prop_assert_eq!(again, Ok(parsed));
        }
    }

    #[test]
    fn built_descriptions_round_trip(d in description()) {
        let text = d.to_string();
        let parsed = SessionDescription::parse(text.as_bytes());
        prop_assert_eq!(parsed, Ok(d), "{}", text);
    }
}
