//! PIDF parse time: our typed, bounded reader (`Presence::parse`: a
//! namespace-resolved tree over quick-xml, then the typed view) against a
//! general DOM, roxmltree, whose tree is walked into the very same
//! `Presence` value (checked equal before timing), on three documents: a
//! small one (one tuple, basic and note), a typical one with an RPID
//! person as python-sipsimple/Blink publish (service capabilities,
//! device, user input, activities, mood, notes), and a large one (50
//! tuples). Each tree alone is timed too (our `XmlElement::parse`,
//! `roxmltree::Document::parse`), and so is printing (`to_xml`).
//!
//! cargo bench -p payloads --bench pidf

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use payloads::pidf::{
    Activity, Basic, Contact, Device, Enumerated, InputState, MoodValue, Note, Person, Presence,
    Priority, Rpid, Status, TimeOffset, Token, Tuple, UserInput, Validity, Value, DM_NAMESPACE,
    NAMESPACE, RPID_NAMESPACE,
};
use payloads::xml::{XmlAttribute, XmlElement, XmlLimits, XmlNode, XML_NS};
use payloads::DateTime;

const SMALL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">
  <tuple id="t1">
    <status><basic>open</basic></status>
    <note>at my desk</note>
  </tuple>
</presence>
"#;

const HEAD: &str = r#"<?xml version='1.0' encoding='UTF-8'?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:caps="urn:ietf:params:xml:ns:pidf:caps" xmlns:agp-pidf="urn:ag-projects:xml:ns:pidf" xmlns:ci="urn:ietf:params:xml:ns:pidf:cipid" entity="sip:alice@example.com">
"#;

/// A service as Blink publishes it: extended status, capabilities,
/// device, user input, contact, note, timestamp.
fn tuple(i: usize) -> String {
    format!(
        r#"  <tuple id="SID-6f1c1e2a-{i:04}">
    <status>
      <basic>open</basic>
      <agp-pidf:extended>busy</agp-pidf:extended>
    </status>
    <caps:servcaps>
      <caps:audio>true</caps:audio>
      <caps:message>true</caps:message>
      <caps:text>true</caps:text>
      <caps:video>true</caps:video>
      <caps:file-transfer>true</caps:file-transfer>
    </caps:servcaps>
    <dm:deviceID>DID-3e1c6a{i:04}</dm:deviceID>
    <rpid:user-input idle-threshold="600" last-input="2026-12-05T10:14:02.513+01:00">active</rpid:user-input>
    <contact priority="0.8">sip:alice@192.0.2.10:5061;transport=tls;gr=urn:uuid:{i:04}</contact>
    <note>On the phone</note>
    <timestamp>2026-12-05T10:15:30.123+01:00</timestamp>
  </tuple>
"#
    )
}

const PERSON: &str = r#"  <dm:person id="PID-9a0f2c">
    <rpid:activities>
      <rpid:busy/>
      <rpid:on-the-phone/>
    </rpid:activities>
    <rpid:mood>
      <rpid:note>deadline tomorrow</rpid:note>
      <rpid:stressed/>
    </rpid:mood>
    <rpid:time-offset>60</rpid:time-offset>
    <ci:homepage>https://alice.example.com/</ci:homepage>
    <dm:note>On the phone</dm:note>
    <dm:note xml:lang="de">Am Telefon</dm:note>
    <dm:timestamp>2026-12-05T10:15:30.123+01:00</dm:timestamp>
  </dm:person>
  <dm:device id="DID-3e1c6a0000">
    <dm:deviceID>DID-3e1c6a0000</dm:deviceID>
    <dm:note>Blink 6.0 (Linux)</dm:note>
    <dm:timestamp>2026-12-05T10:15:30.123+01:00</dm:timestamp>
  </dm:device>
"#;

fn document(tuples: usize) -> String {
    let mut doc = String::from(HEAD);
    for i in 0..tuples {
        doc.push_str(&tuple(i));
    }
    doc.push_str(PERSON);
    doc.push_str("</presence>\n");
    doc
}

// ---- roxmltree: the DOM, walked into the same typed value ----

type Node<'a, 'i> = roxmltree::Node<'a, 'i>;

fn is(n: &Node, ns: &str, name: &str) -> bool {
    n.tag_name().namespace().unwrap_or("") == ns && n.tag_name().name() == name
}

fn children<'a, 'i>(n: &Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(|c| c.is_element())
}

/// The character data directly inside (as `XmlElement::text`).
fn text(n: &Node) -> String {
    n.children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect()
}

fn trimmed(n: &Node) -> String {
    text(n).trim().to_owned()
}

fn datetime(t: &str) -> Option<DateTime> {
    DateTime::parse(t).ok()
}

/// An element kept whole (an extension), as our tree keeps it: layout
/// whitespace dropped where elements are present.
fn element(n: &Node) -> XmlElement {
    let mut el = XmlElement::new(n.tag_name().namespace().unwrap_or(""), n.tag_name().name());
    for a in n.attributes() {
        el.attributes.push(XmlAttribute {
            ns: a.namespace().unwrap_or("").to_owned(),
            name: a.name().to_owned(),
            value: a.value().to_owned(),
        });
    }
    for c in n.children() {
        if c.is_element() {
            el.children.push(XmlNode::Element(element(&c)));
        } else if let Some(t) = c.text().filter(|_| c.is_text()) {
            if !t.trim().is_empty() {
                el.children.push(XmlNode::Text(t.to_owned()));
            }
        }
    }
    el
}

fn note(n: &Node) -> Note {
    Note {
        text: trimmed(n),
        lang: n.attribute((XML_NS, "lang")).map(str::to_owned),
    }
}

/// An optional date-time attribute: `None` if it is there and malformed.
fn datetime_attr(n: &Node, name: &str) -> Option<Option<DateTime>> {
    match n.attribute(name) {
        Some(t) => Some(Some(datetime(t)?)),
        None => Some(None),
    }
}

fn validity(n: &Node) -> Option<Validity> {
    Some(Validity {
        id: n.attribute("id").map(str::to_owned),
        from: datetime_attr(n, "from")?,
        until: datetime_attr(n, "until")?,
    })
}

fn enumerated<V: Token>(n: &Node, name: fn(&str) -> Option<V>) -> Option<Enumerated<V>> {
    let mut out = Enumerated {
        validity: validity(n)?,
        ..Enumerated::default()
    };
    for c in children(n) {
        if is(&c, RPID_NAMESPACE, "note") {
            out.notes.push(note(&c));
        } else if is(&c, RPID_NAMESPACE, "other") {
            out.values.push(Value::Other(note(&c)));
        } else if let Some(v) = (c.tag_name().namespace() == Some(RPID_NAMESPACE)
            && c.attributes().len() == 0
            && !c.has_children())
        .then(|| name(c.tag_name().name()))
        .flatten()
        {
            out.values.push(Value::Known(v));
        } else {
            out.values.push(Value::Extension(element(&c)));
        }
    }
    Some(out)
}

/// Reads `n` into `rpid` if it is one of the RPID elements the documents
/// here carry (activities, mood, class, time-offset, user-input).
fn rpid(rpid: &mut Rpid, n: &Node) -> Option<bool> {
    if n.tag_name().namespace() != Some(RPID_NAMESPACE) {
        return Some(false);
    }
    match n.tag_name().name() {
        "activities" => rpid.activities.push(enumerated(n, Activity::from_name)?),
        "mood" => rpid.mood.push(enumerated(n, MoodValue::from_name)?),
        "class" => rpid.class = Some(trimmed(n)),
        "time-offset" => rpid.time_offset.push(TimeOffset {
            validity: validity(n)?,
            minutes: trimmed(n).parse().ok()?,
            description: n.attribute("description").map(str::to_owned),
        }),
        "user-input" => {
            rpid.user_input = Some(UserInput {
                id: n.attribute("id").map(str::to_owned),
                state: match trimmed(n).as_str() {
                    "active" => InputState::Active,
                    "idle" => InputState::Idle,
                    _ => return None,
                },
                idle_threshold: match n.attribute("idle-threshold") {
                    Some(v) => Some(v.trim().parse().ok().filter(|n| *n > 0)?),
                    None => None,
                },
                last_input: datetime_attr(n, "last-input")?,
            })
        }
        _ => return Some(false),
    }
    Some(true)
}

fn rox_tuple(n: &Node) -> Option<Tuple> {
    let mut t = Tuple::new(n.attribute("id")?, Basic::Open);
    let mut status = None;
    for c in children(n) {
        if is(&c, NAMESPACE, "status") {
            let mut s = Status::default();
            for b in children(&c) {
                if is(&b, NAMESPACE, "basic") {
                    s.basic = Some(match trimmed(&b).as_str() {
                        "open" => Basic::Open,
                        "closed" => Basic::Closed,
                        _ => return None,
                    });
                } else {
                    s.extensions.push(element(&b));
                }
            }
            status = Some(s);
        } else if is(&c, NAMESPACE, "contact") {
            t.contact = Some(Contact {
                uri: trimmed(&c),
                priority: match c.attribute("priority") {
                    Some(p) => Some(Priority::parse(p)?),
                    None => None,
                },
            });
        } else if is(&c, NAMESPACE, "note") {
            t.notes.push(note(&c));
        } else if is(&c, NAMESPACE, "timestamp") {
            t.timestamp = Some(datetime(text(&c).trim())?);
        } else if is(&c, DM_NAMESPACE, "deviceID") {
            t.device_id = Some(trimmed(&c));
        } else if !rpid(&mut t.rpid, &c)? {
            t.extensions.push(element(&c));
        }
    }
    t.status = status?;
    Some(t)
}

/// A person's or device's children: (rpid, notes, timestamp, extensions,
/// deviceID).
type Common = (
    Rpid,
    Vec<Note>,
    Option<DateTime>,
    Vec<XmlElement>,
    Option<String>,
);

fn rox_common(n: &Node, device: bool) -> Option<Common> {
    let mut c: Common = Default::default();
    for k in children(n) {
        if is(&k, DM_NAMESPACE, "note") {
            c.1.push(note(&k));
        } else if is(&k, DM_NAMESPACE, "timestamp") {
            c.2 = Some(datetime(text(&k).trim())?);
        } else if device && is(&k, DM_NAMESPACE, "deviceID") {
            c.4 = Some(trimmed(&k));
        } else if !rpid(&mut c.0, &k)? {
            c.3.push(element(&k));
        }
    }
    Some(c)
}

/// roxmltree's DOM (DTDs refused, its default), walked into `Presence`.
fn roxmltree_presence(input: &str) -> Option<Presence> {
    let doc = roxmltree::Document::parse(input).ok()?;
    let root = doc.root_element();
    if !is(&root, NAMESPACE, "presence") {
        return None;
    }
    let mut p = Presence::new(root.attribute("entity")?);
    for c in children(&root) {
        if is(&c, NAMESPACE, "tuple") {
            p.tuples.push(rox_tuple(&c)?);
        } else if is(&c, NAMESPACE, "note") {
            p.notes.push(note(&c));
        } else if is(&c, DM_NAMESPACE, "person") {
            let (rpid, notes, timestamp, extensions, _) = rox_common(&c, false)?;
            p.persons.push(Person {
                id: c.attribute("id")?.to_owned(),
                rpid,
                notes,
                timestamp,
                extensions,
            });
        } else if is(&c, DM_NAMESPACE, "device") {
            let (rpid, notes, timestamp, extensions, device_id) = rox_common(&c, true)?;
            p.devices.push(Device {
                id: c.attribute("id")?.to_owned(),
                device_id,
                rpid,
                notes,
                timestamp,
                extensions,
            });
        } else {
            p.extensions.push(element(&c));
        }
    }
    Some(p)
}

fn elements_in(input: &str) -> usize {
    input.matches('<').count() - input.matches("</").count() - 1
}

fn bench(c: &mut Criterion) {
    let limits = XmlLimits::default();
    let typical = document(1);
    let large = document(50);
    for (name, doc) in [
        ("small", SMALL),
        ("typical", typical.as_str()),
        ("large_50_tuples", large.as_str()),
    ] {
        let ours = Presence::parse(doc.as_bytes(), &limits).expect("our parse");
        let theirs = roxmltree_presence(doc).expect("roxmltree parse and walk");
        assert_eq!(ours, theirs, "both read the same value from {name}");
        println!(
            "pidf/{name}: {} bytes, {} elements, {} tuples",
            doc.len(),
            elements_in(doc),
            ours.tuples.len()
        );

        let mut g = c.benchmark_group(format!("pidf_parse/{name}"));
        g.throughput(Throughput::Bytes(doc.len() as u64));
        g.bench_function("payloads_typed", |b| {
            b.iter(|| Presence::parse(black_box(doc.as_bytes()), &limits).unwrap())
        });
        g.bench_function("roxmltree_dom_walked", |b| {
            b.iter(|| roxmltree_presence(black_box(doc)).unwrap())
        });
        g.bench_function("payloads_tree_only", |b| {
            b.iter(|| XmlElement::parse(black_box(doc.as_bytes()), &limits).unwrap())
        });
        g.bench_function("roxmltree_dom_only", |b| {
            b.iter(|| {
                roxmltree::Document::parse(black_box(doc))
                    .unwrap()
                    .descendants()
                    .count()
            })
        });
        g.finish();

        let printed = ours.to_xml();
        assert_eq!(
            Presence::parse(printed.as_bytes(), &limits).unwrap(),
            ours,
            "printing reads back"
        );
        let mut g = c.benchmark_group(format!("pidf_serialize/{name}"));
        g.throughput(Throughput::Bytes(printed.len() as u64));
        g.bench_function("payloads_to_xml", |b| b.iter(|| black_box(&ours).to_xml()));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
