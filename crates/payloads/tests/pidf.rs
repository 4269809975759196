//! PIDF against RFC 3863, 4479 and 4480: the RFCs' example documents read
//! field by field, printed and read back; foreign extensions kept; faults
//! and documents over the limits refused with a typed error.

use payloads::pidf::{
    Activity, Basic, Enumerated, InputState, LocationType, MoodValue, Note, Person, Presence,
    Priority, PrivacyValue, SphereValue, Tuple, Value, DM_NAMESPACE, RPID_NAMESPACE,
};
use payloads::xml::{XmlError, XmlLimits};
use payloads::Offset;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/pidf/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn parse(bytes: &[u8]) -> Result<Presence, XmlError> {
    Presence::parse(bytes, &XmlLimits::default())
}

fn round_trip(p: &Presence) {
    let text = p.to_xml();
    assert_eq!(&parse(text.as_bytes()).unwrap(), p, "{text}");
    assert_eq!(p.to_bytes(), text.into_bytes());
}

#[test]
fn rfc3863_basic_example() {
    let p = parse(&data("rfc3863_basic.xml")).unwrap();
    assert_eq!(p.entity, "pres:someone@example.com");
    assert_eq!(p.tuples.len(), 1);
    let t = &p.tuples[0];
    assert_eq!(t.id, "sg89ae");
    assert_eq!(t.status.basic, Some(Basic::Open));
    let c = t.contact.as_ref().unwrap();
    assert_eq!(c.uri, "tel:+09012345678");
    assert_eq!(c.priority.map(Priority::thousandths), Some(800));
    assert!(t.notes.is_empty() && t.timestamp.is_none() && t.extensions.is_empty());
    assert!(p.persons.is_empty() && p.devices.is_empty() && p.extensions.is_empty());
    round_trip(&p);
}

#[test]
fn rfc3863_prefixed_example_with_extensions() {
    let p = parse(&data("rfc3863_extended.xml")).unwrap();
    assert_eq!(p.tuples.len(), 2);
    let first = p.tuple("ck38g9").unwrap();
    assert_eq!(first.extensions.len(), 1);
    assert!(first.extensions[0].is("http://id.example.com/presence/", "mytupletag"));
    assert_eq!(first.extensions[0].text(), "Extended value in tuple");
    assert_eq!(
        first
            .contact
            .as_ref()
            .unwrap()
            .priority
            .unwrap()
            .to_string(),
        "0.65"
    );
    let second = p.tuple("md6tz5").unwrap();
    assert_eq!(second.status.basic, Some(Basic::Closed));
    assert_eq!(second.status.extensions.len(), 1);
    assert_eq!(second.status.extensions[0].name, "complexExtension");
    assert_eq!(second.contact.as_ref().unwrap().priority, None);
    assert_eq!(
        second.notes,
        vec![
            Note::with_lang("Don't Disturb Please!", "en"),
            Note::with_lang("Ne derangez pas, s'il vous plait", "fr"),
        ]
    );
    let ts = second.timestamp.unwrap();
    assert_eq!((ts.year, ts.month, ts.day, ts.hour), (2001, 10, 27, 16));
    assert_eq!(ts.offset, Offset::Utc);
    assert_eq!(
        p.notes,
        vec![Note::with_lang("I'll be in Tokyo next week", "en")]
    );
    assert_eq!(p.extensions.len(), 1);
    assert_eq!(p.extensions[0].text(), "Top-level extension");
    round_trip(&p);
}

#[test]
fn rfc4479_persons_devices_and_services() {
    let p = parse(&data("rfc4479_data_model.xml")).unwrap();
    let t = &p.tuples[0];
    assert_eq!(t.device_id.as_deref(), Some("mac:8asd7d7d70"));
    assert_eq!(t.contact.as_ref().unwrap().uri, "sip:someone@example.com");
    let person = &p.persons[0];
    assert_eq!(person.id, "p1");
    assert_eq!(
        person.rpid.activities[0].known().collect::<Vec<_>>(),
        vec![&Activity::OnThePhone]
    );
    // The cipid homepage is kept, untyped.
    assert_eq!(person.extensions.len(), 1);
    assert!(person.extensions[0].is("urn:ietf:params:xml:ns:pidf:cipid", "homepage"));
    assert_eq!(person.timestamp.unwrap().offset, Offset::Minutes(300));
    let device = &p.devices[0];
    assert_eq!(device.id, "pc122");
    assert_eq!(device.device_id.as_deref(), Some("mac:8asd7d7d70"));
    assert_eq!(
        device.rpid.user_input.as_ref().unwrap().state,
        InputState::Idle
    );
    // The service runs on that device.
    let on: Vec<&Tuple> = p.tuples_on("mac:8asd7d7d70").collect();
    assert_eq!(on.len(), 1);
    round_trip(&p);
}

#[test]
fn rfc4480_rich_presence() {
    let p = parse(&data("rfc4480_rpid.xml")).unwrap();
    assert_eq!(p.tuples.len(), 3);
    let bs = p.tuple("bs35r9").unwrap();
    assert_eq!(bs.device_id.as_deref(), Some("urn:device:0003ba4811e3"));
    // relationship and service-class are not typed: kept in order.
    let names: Vec<&str> = bs.extensions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["relationship", "service-class"]);
    assert_eq!(bs.notes.len(), 2);
    let eg = p.tuple("eg92n8").unwrap();
    assert_eq!(eg.rpid.class.as_deref(), Some("email"));
    assert_eq!(
        eg.contact.as_ref().unwrap().priority,
        Priority::from_thousandths(1000)
    );

    let device = &p.devices[0];
    let input = device.rpid.user_input.as_ref().unwrap();
    assert_eq!(input.state, InputState::Idle);
    assert_eq!(input.idle_threshold, Some(600));
    let last = input.last_input.unwrap();
    assert_eq!(
        (last.hour, last.minute, last.offset),
        (13, 20, Offset::Minutes(-300))
    );
    assert_eq!(device.notes, vec![Note::new("PC")]);

    let person = &p.persons[0];
    let r = &person.rpid;
    let a = &r.activities[0];
    assert_eq!(a.notes, vec![Note::new("Far away")]);
    assert_eq!(a.values, vec![Value::Known(Activity::Away)]);
    assert_eq!(a.validity.from.unwrap().hour, 12);
    assert_eq!(a.validity.until.unwrap().hour, 17);
    assert_eq!(r.class.as_deref(), Some("calendar"));
    assert_eq!(
        r.mood[0].values,
        vec![
            Value::Known(MoodValue::Angry),
            Value::Other(Note::new("brooding"))
        ]
    );
    assert_eq!(
        r.place_type[0].values,
        vec![Value::Known(LocationType("residence".into()))]
    );
    assert_eq!(
        r.privacy[0].values,
        vec![Value::Known(PrivacyValue::Unknown)]
    );
    assert_eq!(
        r.sphere[0].value,
        SphereValue::Text("bowling league".into())
    );
    assert_eq!(r.time_offset[0].minutes, -240);
    let kept: Vec<&str> = person.extensions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(kept, ["place-is", "status-icon"]);
    assert_eq!(person.notes, vec![Note::new("Scoring 120")]);
    round_trip(&p);
}

#[test]
fn foreign_extensions_are_kept_and_printed_back() {
    let p = parse(&data("caps_and_civic.xml")).unwrap();
    let t = &p.tuples[0];
    assert_eq!(t.status.extensions[0].name, "geopriv");
    assert!(t.extensions[0].is("urn:ietf:params:xml:ns:pidf:caps", "servcaps"));
    let ui = t.rpid.user_input.as_ref().unwrap();
    assert_eq!(
        (ui.id.as_deref(), ui.state),
        (Some("ui1"), InputState::Active)
    );
    assert_eq!(
        t.contact.as_ref().unwrap().priority.unwrap().thousandths(),
        500
    );
    let r = &p.persons[0].rpid;
    assert_eq!(r.activities[0].validity.id.as_deref(), Some("a1"));
    assert_eq!(
        r.activities[0].values[1],
        Value::Other(Note::with_lang("Mittagessen", "de"))
    );
    assert_eq!(r.sphere[0].value, SphereValue::Work);
    assert_eq!(r.time_offset[0].description.as_deref(), Some("CET"));
    assert_eq!(
        r.privacy[0].known().copied().collect::<Vec<_>>(),
        [PrivacyValue::Audio, PrivacyValue::Text]
    );
    let text = p.to_xml();
    assert!(
        text.contains("Bayern") && text.contains("servcaps"),
        "{text}"
    );
    round_trip(&p);
}

#[test]
fn built_documents_round_trip() {
    let mut p = Presence::new("sip:bob@example.com");
    let mut t = Tuple::new("a", Basic::Closed);
    t.notes.push(Note::new("gone <home> & \"away\""));
    p.tuples.push(t);
    let mut person = Person::new("bob");
    person
        .rpid
        .activities
        .push(Enumerated::of([Activity::Busy, Activity::Meeting]));
    p.persons.push(person);
    let text = p.to_xml();
    assert!(
        text.contains("<busy/>") || text.contains(":busy/>"),
        "{text}"
    );
    round_trip(&p);
}

#[test]
fn every_token_prints_and_reads_back() {
    let mut person = Person::new("p");
    person
        .rpid
        .activities
        .push(Enumerated::of(Activity::ALL.iter().copied()));
    person
        .rpid
        .mood
        .push(Enumerated::of(MoodValue::ALL.iter().copied()));
    person
        .rpid
        .privacy
        .push(Enumerated::of(PrivacyValue::ALL.iter().copied()));
    let mut p = Presence::new("pres:x@example.com");
    p.persons.push(person);
    round_trip(&p);
    assert_eq!(Activity::ALL.len(), 25);
    for a in Activity::ALL {
        assert_eq!(Activity::from_name(a.name()), Some(*a));
    }
    for m in MoodValue::ALL {
        assert_eq!(MoodValue::from_name(m.name()), Some(*m));
    }
}

#[test]
fn unknown_rpid_values_and_decorated_tokens_are_kept() {
    let doc = format!(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:r="{RPID_NAMESPACE}"
             xmlns:dm="{DM_NAMESPACE}" entity="e"><dm:person id="p">
           <r:activities><r:dancing/><r:away x="1"/><r:busy/></r:activities>
           <r:sphere><r:school/></r:sphere></dm:person></presence>"#
    );
    let p = parse(doc.as_bytes()).unwrap();
    let a = &p.persons[0].rpid.activities[0];
    assert!(matches!(&a.values[0], Value::Extension(e) if e.name == "dancing"));
    assert!(matches!(&a.values[1], Value::Extension(e) if e.attr("x") == Some("1")));
    assert_eq!(a.values[2], Value::Known(Activity::Busy));
    assert!(
        matches!(&p.persons[0].rpid.sphere[0].value, SphereValue::Extension(e) if e.name == "school")
    );
    round_trip(&p);
}

#[test]
fn priorities() {
    for (text, want) in [
        ("1", 1000),
        ("1.0", 1000),
        ("0", 0),
        ("0.8", 800),
        (".65", 650),
        ("+0.500", 500),
        ("0.001", 1),
        ("00.25", 250),
    ] {
        let p = Priority::parse(text).unwrap();
        assert_eq!(p.thousandths(), want, "{text}");
        assert_eq!(Priority::parse(&p.to_string()), Some(p));
    }
    for bad in ["", ".", "1.5", "2", "-0.1", "0.0001", "abc", "0.8x", "1e0"] {
        assert_eq!(Priority::parse(bad), None, "{bad}");
    }
    assert_eq!(Priority::from_thousandths(1001), None);
}

fn malformed(what: &'static str, got: &str) -> XmlError {
    XmlError::Malformed {
        what,
        got: got.into(),
    }
}

fn tuple_doc(inner: &str) -> String {
    format!(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="{DM_NAMESPACE}"
        xmlns:r="{RPID_NAMESPACE}" entity="pres:a@b">{inner}</presence>"#
    )
}

#[test]
fn faults_are_refused_with_a_typed_error() {
    let cases: Vec<(String, XmlError)> = vec![
        (
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"/>"#.into(),
            XmlError::Missing("presence entity"),
        ),
        (
            tuple_doc("<tuple><status/></tuple>"),
            XmlError::Missing("tuple id"),
        ),
        (tuple_doc(r#"<tuple id="a"/>"#), XmlError::Missing("status")),
        (
            tuple_doc(r#"<tuple id="a"><status/><status/></tuple>"#),
            XmlError::Repeated("status"),
        ),
        (
            tuple_doc(r#"<tuple id="a"><status><basic>x</basic></status></tuple>"#),
            malformed("basic (open or closed)", "x"),
        ),
        (
            tuple_doc(r#"<tuple id="a"><status/><contact priority="2">x</contact></tuple>"#),
            malformed("priority", "2"),
        ),
        (
            tuple_doc(r#"<tuple id="a"><status/><timestamp>soon</timestamp></tuple>"#),
            malformed("timestamp", "soon"),
        ),
        (
            tuple_doc(r#"<dm:person><dm:note/></dm:person>"#),
            XmlError::Missing("person id"),
        ),
        (
            tuple_doc(r#"<dm:device id="d"><dm:deviceID/><dm:deviceID/></dm:device>"#),
            XmlError::Repeated("deviceID"),
        ),
        (
            tuple_doc(r#"<dm:person id="p"><r:activities from="yesterday"/></dm:person>"#),
            malformed("from", "yesterday"),
        ),
        (
            tuple_doc(r#"<dm:person id="p"><r:time-offset>soon</r:time-offset></dm:person>"#),
            malformed("time-offset (minutes)", "soon"),
        ),
        (
            tuple_doc(r#"<dm:person id="p"><r:user-input>asleep</r:user-input></dm:person>"#),
            malformed("user-input (active or idle)", "asleep"),
        ),
        (
            tuple_doc(
                r#"<dm:person id="p"><r:user-input idle-threshold="0">idle</r:user-input></dm:person>"#,
            ),
            malformed("idle-threshold", "0"),
        ),
        (
            tuple_doc(r#"<dm:person id="p"><r:class>a</r:class><r:class>b</r:class></dm:person>"#),
            XmlError::Repeated("class"),
        ),
        (
            r#"<presence xmlns="urn:other" entity="e"/>"#.into(),
            XmlError::WrongRoot {
                ns: "urn:other".into(),
                name: "presence".into(),
                expected: "{urn:ietf:params:xml:ns:pidf}presence",
            },
        ),
    ];
    for (doc, want) in cases {
        assert_eq!(parse(doc.as_bytes()), Err(want), "{doc}");
    }
}

#[test]
fn limits_are_enforced() {
    let many = tuple_doc(&r#"<tuple id="t"><status/></tuple>"#.repeat(50));
    assert!(parse(many.as_bytes()).is_ok());
    let small = XmlLimits {
        max_elements: 60,
        ..XmlLimits::default()
    };
    assert_eq!(
        Presence::parse(many.as_bytes(), &small),
        Err(XmlError::TooManyElements(60))
    );
    let tiny = XmlLimits {
        max_size: 100,
        ..XmlLimits::default()
    };
    assert_eq!(
        Presence::parse(many.as_bytes(), &tiny),
        Err(XmlError::TooLarge(many.len(), 100))
    );
    let deep = tuple_doc(&format!(
        r#"<tuple id="t"><status>{}{}</status></tuple>"#,
        "<x:a xmlns:x=\"urn:x\">".repeat(40),
        "</x:a>".repeat(40)
    ));
    assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooDeep(32)));
    let attrs: String = (0..80).map(|i| format!(" a{i}=\"v\"")).collect();
    let wide = tuple_doc(&format!("<tuple id=\"t\"{attrs}><status/></tuple>"));
    assert_eq!(parse(wide.as_bytes()), Err(XmlError::TooManyAttributes(64)));
    assert_eq!(
        parse(b"<!DOCTYPE presence []><presence/>"),
        Err(XmlError::Doctype)
    );
}

#[test]
fn truncated_and_mangled_examples_never_panic() {
    for name in [
        "rfc3863_basic.xml",
        "rfc3863_extended.xml",
        "rfc4479_data_model.xml",
        "rfc4480_rpid.xml",
        "caps_and_civic.xml",
    ] {
        let doc = data(name);
        for cut in 0..doc.len() {
            let _ = parse(&doc[..cut]);
        }
        for at in (0..doc.len()).step_by(7) {
            let mut d = doc.clone();
            d[at] = b'<';
            if let Ok(p) = parse(&d) {
                round_trip(&p);
            }
        }
    }
}

#[test]
fn printed_documents_use_the_rfc_prefixes_for_the_data_model_and_rpid() {
    let mut p = Presence::new("sip:alice@example.com");
    p.tuples.push(Tuple::new("t1", Basic::Open));
    let mut person = Person::new("p1");
    person
        .rpid
        .activities
        .push(Enumerated::of([Activity::Busy]));
    p.persons.push(person);
    let text = p.to_xml();
    // PIDF itself stays the default namespace; dm and rpid are declared
    // once, on the root, as RFC 4479 and RFC 4480 write them.
    assert!(
        text.contains(&format!(
            "<presence xmlns:dm=\"{DM_NAMESPACE}\" xmlns:rpid=\"{RPID_NAMESPACE}\" xmlns=\"urn:ietf:params:xml:ns:pidf\""
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "<dm:person id=\"p1\"><rpid:activities><rpid:busy/></rpid:activities></dm:person>"
        ),
        "{text}"
    );
    assert!(
        text.contains("<tuple id=\"t1\"><status><basic>open</basic></status></tuple>"),
        "{text}"
    );
    round_trip(&p);
    // Without RPID nothing is declared for it.
    let plain = Presence::new("sip:a@example.com").to_xml();
    assert!(!plain.contains("xmlns:rpid"), "{plain}");
}
