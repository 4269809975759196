//! Presence authorization rules (RFC 5025 on RFC 4745): the RFCs' example
//! documents read field by field, printed and read back; unknown
//! transformations and conditions kept; faults refused with a typed error.

use payloads::pres_rules::{provide_all, Except, Ruleset, SubHandling, COMMON_POLICY_NS};
use payloads::xml::{XmlError, XmlLimits};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/pres_rules/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn parse(bytes: &[u8]) -> Result<Ruleset, XmlError> {
    Ruleset::parse(bytes, &XmlLimits::default())
}

#[test]
fn rfc5025_example() {
    let set = parse(&data("rfc5025_example.xml")).unwrap();
    assert_eq!(set.rules.len(), 1);
    let rule = set.rule("a").unwrap();
    let identity = rule.conditions.identity.as_ref().unwrap();
    assert_eq!(identity.ones.len(), 1);
    assert_eq!(identity.ones[0].id, "sip:user@example.com");
    assert_eq!(rule.actions.sub_handling, Some(SubHandling::Allow));
    let t = rule.transformations.as_ref().unwrap();
    let names: Vec<&str> = t.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "provide-services",
            "provide-persons",
            "provide-activities",
            "provide-user-input",
            "provide-unknown-attribute"
        ]
    );
    assert_eq!(t[4].attr("name"), Some("foo"));
    // The user of the rule is allowed; anyone else is left to the
    // server's default.
    assert_eq!(
        set.sub_handling_for("sip:user@example.com"),
        Some(SubHandling::Allow)
    );
    assert_eq!(set.sub_handling_for("sip:other@example.com"), None);
    let again = parse(set.to_xml().as_bytes()).unwrap();
    assert_eq!(again, set);
}

#[test]
fn rfc4745_example_keeps_the_conditions_it_does_not_model() {
    let set = parse(&data("rfc4745_example.xml")).unwrap();
    let rule = set.rule("f3g44r1").unwrap();
    let identity = rule.conditions.identity.as_ref().unwrap();
    let ids: Vec<&str> = identity.ones.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["sip:alice@example.com", "tel:+1-212-555-1234"]);
    assert_eq!(identity.manies.len(), 1);
    assert_eq!(identity.manies[0].domain, None);
    assert_eq!(
        identity.manies[0].excepts,
        [Except::Domain("example.com".into())]
    );
    let other: Vec<&str> = rule
        .conditions
        .other
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(other, ["sphere", "validity"]);
    assert_eq!(rule.actions.sub_handling, None);
    assert_eq!(rule.transformations, Some(vec![]));
    // Anyone outside example.com matches (many, except the domain); no
    // sub-handling is given, so the server's default applies.
    assert!(rule.matches("sip:bob@example.org"));
    assert!(!rule.matches("sip:bob@example.com"));
    assert!(rule.matches("sip:alice@example.com"));
    assert_eq!(parse(set.to_xml().as_bytes()).unwrap(), set);
}

#[test]
fn editing_the_rfc_example_keeps_the_rest_of_the_document() {
    let mut set = parse(&data("rfc5025_example.xml")).unwrap();
    set.set_sub_handling("sipsimple", "sip:bob@example.com", SubHandling::Allow);
    set.set_sub_handling(
        "sipsimple",
        "sip:carol@example.com",
        SubHandling::PoliteBlock,
    );
    // Denying the RFC's own user empties its rule: the rule goes (an
    // identity with no one left must not match everyone).
    set.set_sub_handling("sipsimple", "sip:user@example.com", SubHandling::Block);
    assert!(set.rule("a").is_none());
    let back = parse(set.to_xml().as_bytes()).unwrap();
    assert_eq!(back, set);
    assert_eq!(
        back.rule("sipsimple_allow").unwrap().transformations,
        Some(provide_all())
    );
    for (who, what) in [
        ("sip:bob@example.com", SubHandling::Allow),
        ("sip:carol@example.com", SubHandling::PoliteBlock),
        ("sip:user@example.com", SubHandling::Block),
    ] {
        assert_eq!(back.sub_handling_for(who), Some(what), "{who}");
        assert!(back.names(who));
    }
}

#[test]
fn faults_are_refused() {
    let doc = |body: &str| {
        format!("<ruleset xmlns=\"{COMMON_POLICY_NS}\" xmlns:pr=\"urn:ietf:params:xml:ns:pres-rules\">{body}</ruleset>")
    };
    assert_eq!(
        parse(doc("<rule><conditions/></rule>").as_bytes()),
        Err(XmlError::Missing("rule id"))
    );
    assert_eq!(
        parse(doc("<rule id=\"a\"/><rule id=\"a\"/>").as_bytes()),
        Err(XmlError::Repeated("rule id"))
    );
    assert!(matches!(
        parse(
            doc(
                "<rule id=\"a\"><actions><pr:sub-handling>maybe</pr:sub-handling></actions></rule>"
            )
            .as_bytes()
        ),
        Err(XmlError::Malformed {
            what: "sub-handling",
            ..
        })
    ));
    assert!(matches!(
        parse(b"<ruleset xmlns=\"urn:other\"/>"),
        Err(XmlError::WrongRoot { .. })
    ));
    let deep = format!("{}{}", "<x>".repeat(100), "</x>".repeat(100));
    assert_eq!(
        parse(
            doc(&format!(
                "<rule id=\"a\"><conditions>{deep}</conditions></rule>"
            ))
            .as_bytes()
        ),
        Err(XmlError::TooDeep(32))
    );
}
