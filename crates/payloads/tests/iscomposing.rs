//! The is-composing document against RFC 3994: both examples of the RFC
//! read field by field, printed and read back; unknown elements ignored;
//! faults refused.

use payloads::iscomposing::{IsComposing, State};
use payloads::xml::XmlError;
use payloads::{DateTime, Offset};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn round_trip(d: &IsComposing) {
    assert_eq!(&IsComposing::parse(d.to_xml().as_bytes()).unwrap(), d);
}

#[test]
fn rfc3994_active_example() {
    // The composer is typing text and will refresh within 90 seconds.
    let d = IsComposing::parse(&data("rfc3994_active.xml")).unwrap();
    assert_eq!(d.state, State::Active);
    assert!(d.state.is_active());
    assert_eq!(d.content_type.as_deref(), Some("text/plain"));
    assert_eq!(d.refresh, Some(90));
    assert_eq!(d.last_active, None);
    round_trip(&d);
}

#[test]
fn rfc3994_idle_example() {
    // Idle now; last active at 10:43 UTC on 27 January 2003, composing audio.
    let d = IsComposing::parse(&data("rfc3994_idle.xml")).unwrap();
    assert_eq!(d.state, State::Idle);
    let t = d.last_active.unwrap();
    assert_eq!(
        (t.year, t.month, t.day, t.hour, t.minute, t.second),
        (2003, 1, 27, 10, 43, 0)
    );
    assert_eq!(t.offset, Offset::Utc);
    assert_eq!(d.content_type.as_deref(), Some("audio"));
    assert_eq!(d.refresh, None);
    round_trip(&d);
}

#[test]
fn unknown_elements_are_ignored() {
    let doc = br#"<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing" xmlns:e="urn:x">
      <state>active</state><e:mood>cheerful</e:mood><e:deep><e:er/></e:deep></isComposing>"#;
    assert_eq!(
        IsComposing::parse(doc).unwrap(),
        IsComposing::active(None, None)
    );
}

#[test]
fn faults_are_refused() {
    let ns = r#"xmlns="urn:ietf:params:xml:ns:im-iscomposing""#;
    let cases = [
        (format!("<isComposing {ns}/>"), XmlError::Missing("state")),
        (
            format!("<isComposing {ns}><state>idle</state><state>active</state></isComposing>"),
            XmlError::Repeated("state"),
        ),
    ];
    for (doc, want) in cases {
        assert_eq!(IsComposing::parse(doc.as_bytes()), Err(want));
    }
    for doc in [
        format!("<isComposing {ns}><state>active</state><refresh>0</refresh></isComposing>"),
        format!("<isComposing {ns}><state>idle</state><lastactive>soon</lastactive></isComposing>"),
        "<isComposing><state>idle</state></isComposing>".to_owned(),
    ] {
        assert!(IsComposing::parse(doc.as_bytes()).is_err(), "{doc}");
    }
}

#[test]
fn other_states_are_kept() {
    let d = IsComposing {
        state: State::Other("paused".into()),
        last_active: Some(DateTime::parse("2026-12-03T10:00:00+05:30").unwrap()),
        content_type: Some("text/html".into()),
        refresh: Some(60),
    };
    assert!(!d.state.is_active());
    round_trip(&d);
}
