//! Watcher information against RFC 3857/3858: the RFCs' example documents
//! read field by field, printed and read back; extensions kept; faults and
//! documents over the limits refused with a typed error.

use payloads::watcherinfo::{Event, State, Status, Watcher, WatcherInfo, WatcherList};
use payloads::xml::{XmlError, XmlLimits};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/watcherinfo/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn parse(bytes: &[u8]) -> Result<WatcherInfo, XmlError> {
    WatcherInfo::parse(bytes, &XmlLimits::default())
}

fn round_trip(d: &WatcherInfo) {
    let text = d.to_xml();
    assert_eq!(&parse(text.as_bytes()).unwrap(), d, "{text}");
}

fn malformed(what: &'static str, got: &str) -> XmlError {
    XmlError::Malformed {
        what,
        got: got.into(),
    }
}

#[test]
fn rfc3858_example() {
    let d = parse(&data("rfc3858_example.xml")).unwrap();
    assert_eq!((d.version, d.state), (0, State::Full));
    let list = d.list("sip:professor@example.net", "presence").unwrap();
    assert_eq!(list.watchers.len(), 2);
    let a = &list.watchers[0];
    assert_eq!(a.uri, "sip:userA@example.net");
    assert_eq!(a.id, "8ajksjda7s");
    assert_eq!((a.status, &a.event), (Status::Active, &Event::Approved));
    assert_eq!(a.duration_subscribed, Some(509));
    assert_eq!((a.display_name.as_deref(), a.expiration), (None, None));
    let b = &list.watchers[1];
    assert_eq!(b.display_name.as_deref(), Some("Mr. Subscriber"));
    assert_eq!((b.status, &b.event), (Status::Pending, &Event::Subscribe));
    let pending: Vec<&str> = list.pending().map(|w| w.uri.as_str()).collect();
    assert_eq!(pending, ["sip:userB@example.org"]);
    round_trip(&d);
}

#[test]
fn rfc3857_pending_then_approved() {
    let first = parse(&data("rfc3857_pending.xml")).unwrap();
    let w = &first.lists[0].watchers[0];
    assert_eq!((w.id.as_str(), w.status), ("7768a77s", Status::Pending));
    let second = parse(&data("rfc3857_approved.xml")).unwrap();
    assert_eq!((second.version, second.state), (1, State::Partial));
    let w2 = &second.lists[0].watchers[0];
    assert_eq!(w2.id, w.id);
    assert_eq!((w2.status, &w2.event), (Status::Active, &Event::Approved));
    round_trip(&first);
    round_trip(&second);
}

#[test]
fn every_attribute_and_extensions() {
    let d = parse(&data("extended.xml")).unwrap();
    assert_eq!((d.version, d.state), (42, State::Partial));
    let list = &d.lists[0];
    assert_eq!(list.package, "presence.winfo");
    let w1 = &list.watchers[0];
    assert_eq!((w1.status, &w1.event), (Status::Terminated, &Event::Giveup));
    assert_eq!(
        (w1.expiration, w1.duration_subscribed),
        (Some(0), Some(3600))
    );
    assert_eq!(w1.display_name.as_deref(), Some("Bob & Co"));
    assert_eq!(w1.lang.as_deref(), Some("en"));
    let w2 = &list.watchers[1];
    assert_eq!(w2.status, Status::Waiting);
    assert_eq!(w2.event, Event::Other("x-spam-filter".into()));
    assert_eq!(list.extensions[0].text(), "kept");
    assert_eq!(d.extensions[0].attr("count"), Some("2"));
    round_trip(&d);
}

#[test]
fn built_document_round_trips() {
    let mut d = WatcherInfo::new(7, State::Full);
    let mut list = WatcherList::new("sip:a@example.com", "presence");
    for (i, event) in [
        Event::Subscribe,
        Event::Approved,
        Event::Deactivated,
        Event::Probation,
        Event::Rejected,
        Event::Timeout,
        Event::Giveup,
        Event::Noresource,
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(Event::parse(event.as_str()), event);
        list.watchers.push(Watcher::new(
            &format!("sip:w{i}@example.org"),
            &format!("id{i}"),
            Status::Active,
            event,
        ));
    }
    d.lists.push(list);
    round_trip(&d);
}

fn doc(attrs: &str, inner: &str) -> String {
    format!(
        r#"<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" {attrs}>{inner}</watcherinfo>"#
    )
}

#[test]
fn faults_are_refused_with_a_typed_error() {
    let ok = r#"version="0" state="full""#;
    let list = |w: &str| format!(r#"<watcher-list resource="r" package="p">{w}</watcher-list>"#);
    let cases = [
        (doc(r#"state="full""#, ""), XmlError::Missing("version")),
        (doc(r#"version="0""#, ""), XmlError::Missing("state")),
        (
            doc(r#"version="-1" state="full""#, ""),
            malformed("version", "-1"),
        ),
        (
            doc(r#"version="0" state="some""#, ""),
            malformed("state (full or partial)", "some"),
        ),
        (
            doc(ok, r#"<watcher-list package="p"/>"#),
            XmlError::Missing("watcher-list resource"),
        ),
        (
            doc(ok, r#"<watcher-list resource="r"/>"#),
            XmlError::Missing("watcher-list package"),
        ),
        (
            doc(
                ok,
                &list(r#"<watcher status="active" event="approved">u</watcher>"#),
            ),
            XmlError::Missing("watcher id"),
        ),
        (
            doc(ok, &list(r#"<watcher id="i" event="approved">u</watcher>"#)),
            XmlError::Missing("watcher status"),
        ),
        (
            doc(ok, &list(r#"<watcher id="i" status="active">u</watcher>"#)),
            XmlError::Missing("watcher event"),
        ),
        (
            doc(
                ok,
                &list(r#"<watcher id="i" status="gone" event="e">u</watcher>"#),
            ),
            malformed("watcher status", "gone"),
        ),
        (
            doc(
                ok,
                &list(r#"<watcher id="i" status="active" event="e" expiration="soon">u</watcher>"#),
            ),
            malformed("expiration", "soon"),
        ),
        (
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"/>"#.to_owned(),
            XmlError::WrongRoot {
                ns: "urn:ietf:params:xml:ns:pidf".into(),
                name: "presence".into(),
                expected: "{urn:ietf:params:xml:ns:watcherinfo}watcherinfo",
            },
        ),
    ];
    for (d, want) in cases {
        assert_eq!(parse(d.as_bytes()), Err(want), "{d}");
    }
}

#[test]
fn limits_are_enforced() {
    let w = r#"<watcher id="i" status="active" event="approved">sip:x@y</watcher>"#;
    let many = doc(
        r#"version="0" state="full""#,
        &format!(
            r#"<watcher-list resource="r" package="p">{}</watcher-list>"#,
            w.repeat(100)
        ),
    );
    assert!(parse(many.as_bytes()).is_ok());
    let limits = XmlLimits {
        max_elements: 50,
        ..XmlLimits::default()
    };
    assert_eq!(
        WatcherInfo::parse(many.as_bytes(), &limits),
        Err(XmlError::TooManyElements(50))
    );
    let limits = XmlLimits {
        max_size: 1000,
        ..XmlLimits::default()
    };
    assert_eq!(
        WatcherInfo::parse(many.as_bytes(), &limits),
        Err(XmlError::TooLarge(many.len(), 1000))
    );
    let deep = doc(
        r#"version="0" state="full""#,
        &format!(
            "{}{}",
            "<x:a xmlns:x=\"urn:x\">".repeat(40),
            "</x:a>".repeat(40)
        ),
    );
    assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooDeep(32)));
}

#[test]
fn truncated_and_mangled_examples_never_panic() {
    for name in ["rfc3858_example.xml", "rfc3857_pending.xml", "extended.xml"] {
        let d = data(name);
        for cut in 0..d.len() {
            let _ = parse(&d[..cut]);
        }
        for at in 0..d.len() {
            let mut m = d.clone();
            m[at] = b'"';
            if let Ok(v) = parse(&m) {
                round_trip(&v);
            }
        }
    }
}

#[test]
fn partial_documents_apply_to_the_kept_state() {
    use payloads::watcherinfo::ApplyError;
    // RFC 3857: B learns of A's pending subscription, then of its approval.
    let mut kept = parse(&data("rfc3857_pending.xml")).unwrap();
    let approved = parse(&data("rfc3857_approved.xml")).unwrap();
    kept.apply(approved.clone()).unwrap();
    assert_eq!(kept.version, 1);
    assert_eq!(kept.state, State::Full);
    let w = &kept.lists[0].watchers;
    assert_eq!(w.len(), 1);
    assert_eq!(
        (w[0].status, &w[0].event),
        (Status::Active, &Event::Approved)
    );
    // The same document again is stale; nothing changes.
    let before = kept.clone();
    assert_eq!(
        kept.apply(approved),
        Err(ApplyError::Stale { have: 1, got: 1 })
    );
    assert_eq!(kept, before);
    // A new watcher on another list, and one on the same list, in version 2.
    let mut update = WatcherInfo::new(2, State::Partial);
    let mut same = WatcherList::new("sip:B@example.com", "presence");
    same.watchers.push(Watcher::new(
        "sip:C@example.com",
        "c1",
        Status::Pending,
        Event::Subscribe,
    ));
    let mut other = WatcherList::new("sip:B@example.com", "message-summary");
    other.watchers.push(Watcher::new(
        "sip:D@example.com",
        "d1",
        Status::Active,
        Event::Approved,
    ));
    update.lists = vec![same, other];
    kept.apply(update).unwrap();
    assert_eq!(kept.lists.len(), 2);
    assert_eq!(kept.lists[0].watchers.len(), 2);
    assert_eq!(
        kept.list("sip:B@example.com", "message-summary")
            .unwrap()
            .watchers[0]
            .id,
        "d1"
    );
    // A partial document after a lost one is refused; a full one resets.
    let before = kept.clone();
    assert_eq!(
        kept.apply(WatcherInfo::new(4, State::Partial)),
        Err(ApplyError::Gap { have: 2, got: 4 })
    );
    assert_eq!(kept, before);
    kept.apply(WatcherInfo::new(9, State::Full)).unwrap();
    assert_eq!(kept, WatcherInfo::new(9, State::Full));
}
