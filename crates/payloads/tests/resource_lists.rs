//! Resource lists (RFC 4826) and RLMI (RFC 4662): the RFCs' example
//! documents read field by field, printed and read back; extensions kept;
//! faults and documents over the limits refused with a typed error.

use payloads::resource_lists::{DisplayName, Entry, List, Member, ResourceLists};
use payloads::rlmi::{Instance, InstanceState, Resource, Rlmi};
use payloads::xml::{XmlError, XmlLimits};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn lists(bytes: &[u8]) -> Result<ResourceLists, XmlError> {
    ResourceLists::parse(bytes, &XmlLimits::default())
}

fn rlmi(bytes: &[u8]) -> Result<Rlmi, XmlError> {
    Rlmi::parse(bytes, &XmlLimits::default())
}

fn malformed(what: &'static str, got: &str) -> XmlError {
    XmlError::Malformed {
        what,
        got: got.into(),
    }
}

#[test]
fn rfc4826_example() {
    let d = lists(&data("resource_lists/rfc4826_example.xml")).unwrap();
    let friends = d.list("friends").unwrap();
    assert_eq!(friends.display_name, None);
    assert_eq!(friends.members.len(), 3);
    let Member::Entry(bill) = &friends.members[0] else {
        panic!("{:?}", friends.members[0])
    };
    assert_eq!(bill.uri, "sip:bill@example.com");
    assert_eq!(bill.display_name, Some(DisplayName::new("Bill Doe")));
    let Member::EntryRef(r) = &friends.members[1] else {
        panic!("{:?}", friends.members[1])
    };
    assert!(r
        .reference
        .starts_with("resource-lists/users/sip:bill@example.com/index/~~/"));
    let Member::List(close) = &friends.members[2] else {
        panic!("{:?}", friends.members[2])
    };
    assert_eq!(close.name.as_deref(), Some("close-friends"));
    assert_eq!(close.display_name, Some(DisplayName::new("Close Friends")));
    let Member::External(x) = &close.members[2] else {
        panic!("{:?}", close.members[2])
    };
    assert!(x
        .anchor
        .as_deref()
        .unwrap()
        .starts_with("http://xcap.example.org/"));
    assert_eq!(x.display_name, Some(DisplayName::new("Marketing")));
    let uris: Vec<&str> = friends.entries().iter().map(|e| e.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "sip:bill@example.com",
            "sip:joe@example.com",
            "sip:nancy@example.com"
        ]
    );
    assert_eq!(lists(d.to_xml().as_bytes()).unwrap(), d);
}

#[test]
fn resource_lists_extensions_kept() {
    let d = lists(&data("resource_lists/extended.xml")).unwrap();
    let b = d.list("buddies").unwrap();
    assert_eq!(b.display_name.as_ref().unwrap().lang.as_deref(), Some("de"));
    let Member::Entry(anna) = &b.members[0] else {
        panic!()
    };
    assert_eq!(anna.extensions[0].text(), "family");
    assert!(matches!(&b.members[1], Member::External(x) if x.anchor.is_none()));
    assert_eq!(b.extensions[0].name, "sort");
    assert_eq!(d.lists[1].name, None);
    assert_eq!(d.extensions[0].name, "owner");
    assert_eq!(lists(d.to_xml().as_bytes()).unwrap(), d);
}

#[test]
fn built_lists_round_trip() {
    let mut inner = List::named("inner");
    inner.members.push(Member::Entry(Entry::new("sip:a@b")));
    let mut outer = List::named("outer");
    outer.members.push(Member::List(inner));
    outer.members.push(Member::Entry(Entry::new("sip:c@d")));
    let d = ResourceLists {
        lists: vec![outer],
        extensions: Vec::new(),
    };
    assert_eq!(lists(d.to_xml().as_bytes()).unwrap(), d);
}

#[test]
fn rfc4662_full_state() {
    let d = rlmi(&data("rlmi/rfc4662_full.xml")).unwrap();
    assert_eq!(d.uri, "sip:adam-friends@pres.example.com");
    assert_eq!((d.version, d.full_state, d.cid.as_ref()), (1, true, None));
    assert_eq!(d.names.len(), 2);
    assert_eq!(d.names[1].lang.as_deref(), Some("de"));
    assert_eq!(d.resources.len(), 4);
    let bob = d.resource("sip:bob@example.com").unwrap();
    assert_eq!(bob.names, vec![DisplayName::new("Bob Smith")]);
    assert_eq!(
        bob.instances,
        vec![Instance {
            id: "juwigmtboe".into(),
            state: InstanceState::Active,
            reason: None,
            cid: Some("bUZBsM@pres.example.com".into()),
        }]
    );
    let (r, i) = d.instance_by_cid("ZvSvkz@pres.example.com").unwrap();
    assert_eq!(
        (r.uri.as_str(), i.id.as_str()),
        ("sip:dave@example.com", "hqzsuxtfyq")
    );
    assert!(d
        .resource("sip:ed@example.net")
        .unwrap()
        .instances
        .is_empty());
    assert_eq!(rlmi(d.to_xml().as_bytes()).unwrap(), d);
}

#[test]
fn rfc4662_partial_state() {
    let d = rlmi(&data("rlmi/rfc4662_partial.xml")).unwrap();
    assert_eq!((d.version, d.full_state), (2, false));
    let ed = &d.resource("sip:ed@example.net").unwrap().instances[0];
    assert_eq!((ed.state, ed.cid.as_ref()), (InstanceState::Pending, None));
    let bob = &d.resource("sip:bob@example.com").unwrap().instances[0];
    assert_eq!(bob.state, InstanceState::Terminated);
    assert_eq!(bob.reason.as_deref(), Some("rejected"));
    assert_eq!(rlmi(d.to_xml().as_bytes()).unwrap(), d);
}

#[test]
fn built_rlmi_round_trips() {
    let mut d = Rlmi::new("sip:l@example.com", u32::MAX, false);
    d.cid = Some("x@y".into());
    let mut r = Resource::new("sip:r@example.com");
    r.instances.push(Instance {
        id: "i".into(),
        state: InstanceState::Terminated,
        reason: Some("noresource".into()),
        cid: None,
    });
    d.resources.push(r);
    assert_eq!(rlmi(d.to_xml().as_bytes()).unwrap(), d);
    // xs:boolean's other spellings.
    let one = br#"<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="u" version="0" fullState="1"/>"#;
    assert!(rlmi(one).unwrap().full_state);
}

#[test]
fn faults_are_refused_with_a_typed_error() {
    let rl = |inner: &str| {
        format!(
            r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">{inner}</resource-lists>"#
        )
    };
    let cases = [
        (rl("<list><entry/></list>"), XmlError::Missing("entry uri")),
        (
            rl("<list><entry-ref/></list>"),
            XmlError::Missing("entry-ref ref"),
        ),
        (
            rl("<list><display-name/><display-name/></list>"),
            XmlError::Repeated("display-name"),
        ),
        (
            rl(
                r#"<list><list><entry uri="u"><display-name/><display-name/></entry></list></list>"#,
            ),
            XmlError::Repeated("display-name"),
        ),
    ];
    for (d, want) in cases {
        assert_eq!(lists(d.as_bytes()), Err(want), "{d}");
    }
    let root = |attrs: &str, inner: &str| {
        format!(r#"<list xmlns="urn:ietf:params:xml:ns:rlmi" {attrs}>{inner}</list>"#)
    };
    let ok = r#"uri="u" version="0" fullState="true""#;
    let cases = [
        (
            root(r#"version="0" fullState="true""#, ""),
            XmlError::Missing("list uri"),
        ),
        (
            root(r#"uri="u" fullState="true""#, ""),
            XmlError::Missing("version"),
        ),
        (
            root(r#"uri="u" version="0""#, ""),
            XmlError::Missing("fullState"),
        ),
        (
            root(r#"uri="u" version="v" fullState="true""#, ""),
            malformed("version", "v"),
        ),
        (
            root(r#"uri="u" version="0" fullState="yes""#, ""),
            malformed("fullState", "yes"),
        ),
        (root(ok, "<resource/>"), XmlError::Missing("resource uri")),
        (
            root(
                ok,
                r#"<resource uri="r"><instance state="active"/></resource>"#,
            ),
            XmlError::Missing("instance id"),
        ),
        (
            root(ok, r#"<resource uri="r"><instance id="i"/></resource>"#),
            XmlError::Missing("instance state"),
        ),
        (
            root(
                ok,
                r#"<resource uri="r"><instance id="i" state="gone"/></resource>"#,
            ),
            malformed("instance state", "gone"),
        ),
    ];
    for (d, want) in cases {
        assert_eq!(rlmi(d.as_bytes()), Err(want), "{d}");
    }
}

#[test]
fn limits_are_enforced() {
    // Nesting is bounded by the depth limit, whatever the lists hold.
    let deep = format!(
        r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">{}{}</resource-lists>"#,
        "<list>".repeat(40),
        "</list>".repeat(40)
    );
    assert_eq!(lists(deep.as_bytes()), Err(XmlError::TooDeep(32)));
    let many = format!(
        r#"<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="u" version="0" fullState="true">{}</list>"#,
        r#"<resource uri="r"/>"#.repeat(100)
    );
    assert_eq!(rlmi(many.as_bytes()).unwrap().resources.len(), 100);
    let few = XmlLimits {
        max_elements: 10,
        ..XmlLimits::default()
    };
    assert_eq!(
        Rlmi::parse(many.as_bytes(), &few),
        Err(XmlError::TooManyElements(10))
    );
    let small = XmlLimits {
        max_size: 64,
        ..XmlLimits::default()
    };
    assert_eq!(
        Rlmi::parse(many.as_bytes(), &small),
        Err(XmlError::TooLarge(many.len(), 64))
    );
}

#[test]
fn truncated_and_mangled_examples_never_panic() {
    for name in [
        "resource_lists/rfc4826_example.xml",
        "resource_lists/extended.xml",
        "rlmi/rfc4662_full.xml",
        "rlmi/rfc4662_partial.xml",
    ] {
        let d = data(name);
        for cut in 0..d.len() {
            let _ = lists(&d[..cut]);
            let _ = rlmi(&d[..cut]);
        }
        for at in 0..d.len() {
            let mut m = d.clone();
            m[at] = b'/';
            if let Ok(v) = lists(&m) {
                assert_eq!(lists(v.to_xml().as_bytes()), Ok(v));
            }
            if let Ok(v) = rlmi(&m) {
                assert_eq!(rlmi(v.to_xml().as_bytes()), Ok(v));
            }
        }
    }
}

#[test]
fn rfc4662_partial_state_applies_to_the_full_one() {
    use payloads::rlmi::ApplyError;
    let mut kept = rlmi(&data("rlmi/rfc4662_full.xml")).unwrap();
    let partial = rlmi(&data("rlmi/rfc4662_partial.xml")).unwrap();
    kept.apply(partial.clone()).unwrap();
    assert_eq!((kept.version, kept.full_state), (2, true));
    // The list's own names stay: the partial document has none.
    assert_eq!(kept.names.len(), 2);
    assert_eq!(kept.resources.len(), 4);
    let ed = &kept.resource("sip:ed@example.net").unwrap().instances[0];
    assert_eq!(ed.state, InstanceState::Pending);
    let bob = &kept.resource("sip:bob@example.com").unwrap().instances[0];
    assert_eq!(bob.state, InstanceState::Terminated);
    let dave = &kept.resource("sip:dave@example.com").unwrap().instances[0];
    assert_eq!(dave.state, InstanceState::Active);
    assert!(kept.instance_by_cid("1KQhyE@pres.example.com").is_some());
    let before = kept.clone();
    assert_eq!(
        kept.apply(partial),
        Err(ApplyError::Stale { have: 2, got: 2 })
    );
    let mut gap = Rlmi::new("sip:adam-friends@pres.example.com", 4, false);
    gap.resources.push(Resource::new("sip:new@example.com"));
    assert_eq!(kept.apply(gap), Err(ApplyError::Gap { have: 2, got: 4 }));
    assert_eq!(kept, before);
}
