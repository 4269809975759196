//! Dialog info against RFC 4235: the RFC's example documents read field by
//! field, printed and read back; untyped elements kept; faults and
//! documents over the limits refused with a typed error.

use payloads::dialog_info::{
    Dialog, DialogInfo, DialogState, Direction, Identity, Participant, State, StateEvent, Target,
};
use payloads::xml::{XmlError, XmlLimits};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/dialog_info/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn parse(bytes: &[u8]) -> Result<DialogInfo, XmlError> {
    DialogInfo::parse(bytes, &XmlLimits::default())
}

fn round_trip(d: &DialogInfo) {
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
fn rfc4235_trying() {
    let d = parse(&data("rfc4235_trying.xml")).unwrap();
    assert_eq!((d.version, d.state), (0, State::Full));
    assert_eq!(d.entity, "sip:alice@example.com");
    let dlg = d.dialog("as7d900as8").unwrap();
    assert_eq!(dlg.call_id.as_deref(), Some("a84b4c76e66710"));
    assert_eq!(dlg.local_tag.as_deref(), Some("1928301774"));
    assert_eq!(dlg.remote_tag, None);
    assert_eq!(dlg.direction, Some(Direction::Initiator));
    assert_eq!(dlg.state.state, DialogState::Trying);
    assert_eq!((dlg.state.event.as_ref(), dlg.state.code), (None, None));
    round_trip(&d);
}

#[test]
fn rfc4235_confirmed_with_participants() {
    let d = parse(&data("rfc4235_confirmed.xml")).unwrap();
    let dlg = &d.dialogs[0];
    assert_eq!(dlg.state.state, DialogState::Confirmed);
    assert_eq!(dlg.duration, Some(274));
    assert_eq!(dlg.remote_tag.as_deref(), Some("456887766"));
    let local = dlg.local.as_ref().unwrap();
    assert_eq!(
        local.identity,
        Some(Identity {
            uri: "sip:alice@example.com".into(),
            display: Some("Alice".into())
        })
    );
    assert_eq!(
        local.target,
        Some(Target {
            uri: "sip:alice@pc33.example.com".into(),
            params: vec![
                ("isfocus".into(), "true".into()),
                ("class".into(), "personal".into())
            ],
        })
    );
    let remote = dlg.remote.as_ref().unwrap();
    assert_eq!(
        remote.identity.as_ref().unwrap().display.as_deref(),
        Some("Bob")
    );
    assert_eq!(
        remote.target.as_ref().unwrap().uri,
        "sip:bobster@phone21.example.org"
    );
    assert!(remote.target.as_ref().unwrap().params.is_empty());
    round_trip(&d);
}

#[test]
fn rfc4235_terminated_partial() {
    let d = parse(&data("rfc4235_terminated.xml")).unwrap();
    assert_eq!((d.version, d.state), (2, State::Partial));
    let s = &d.dialogs[0].state;
    assert_eq!(s.state, DialogState::Terminated);
    assert_eq!(s.event, Some(StateEvent::Rejected));
    assert_eq!(s.code, Some(486));
    round_trip(&d);
}

#[test]
fn untyped_elements_are_kept() {
    let d = parse(&data("extended.xml")).unwrap();
    let a = &d.dialogs[0];
    assert_eq!(a.direction, Some(Direction::Recipient));
    assert_eq!(a.state.event, Some(StateEvent::Other("x-parked".into())));
    let kept: Vec<&str> = a.extensions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(kept, ["replaces", "referred-by", "route-set", "park-slot"]);
    let local = a.local.as_ref().unwrap();
    assert_eq!(local.identity.as_ref().unwrap().display, None);
    let kept: Vec<&str> = local.extensions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(kept, ["session-description", "cseq"]);
    assert_eq!(a.remote.as_ref().unwrap().identity, None);
    let b = d.dialog("q2").unwrap();
    assert_eq!(b.state.event, Some(StateEvent::RemoteBye));
    assert_eq!((b.call_id.as_ref(), b.duration), (None, Some(0)));
    assert_eq!(d.extensions.len(), 1);
    round_trip(&d);
}

#[test]
fn built_document_round_trips() {
    let mut d = DialogInfo::new(3, State::Full, "sip:a@example.com");
    for (i, event) in [
        StateEvent::Cancelled,
        StateEvent::Rejected,
        StateEvent::Replaced,
        StateEvent::LocalBye,
        StateEvent::RemoteBye,
        StateEvent::Error,
        StateEvent::Timeout,
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(StateEvent::parse(event.as_str()), event);
        let mut dlg = Dialog::new(&format!("d{i}"), DialogState::Terminated);
        dlg.state.event = Some(event);
        dlg.local = Some(Participant::default());
        d.dialogs.push(dlg);
    }
    round_trip(&d);
}

fn doc(inner: &str) -> String {
    format!(
        r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="e">{inner}</dialog-info>"#
    )
}

#[test]
fn faults_are_refused_with_a_typed_error() {
    let root = |attrs: &str| {
        format!(r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" {attrs}/>"#)
    };
    let cases = [
        (
            root(r#"state="full" entity="e""#),
            XmlError::Missing("version"),
        ),
        (
            root(r#"version="0" entity="e""#),
            XmlError::Missing("state"),
        ),
        (
            root(r#"version="0" state="full""#),
            XmlError::Missing("entity"),
        ),
        (
            root(r#"version="x" state="full" entity="e""#),
            malformed("version", "x"),
        ),
        (
            doc("<dialog><state>trying</state></dialog>"),
            XmlError::Missing("dialog id"),
        ),
        (doc(r#"<dialog id="a"/>"#), XmlError::Missing("state")),
        (
            doc(r#"<dialog id="a"><state>ringing</state></dialog>"#),
            malformed("dialog state", "ringing"),
        ),
        (
            doc(r#"<dialog id="a" direction="up"><state>early</state></dialog>"#),
            malformed("direction", "up"),
        ),
        (
            doc(r#"<dialog id="a"><state code="0">early</state></dialog>"#),
            malformed("code", "0"),
        ),
        (
            doc(r#"<dialog id="a"><state>early</state><duration>-4</duration></dialog>"#),
            malformed("duration", "-4"),
        ),
        (
            doc(r#"<dialog id="a"><state>early</state><state>early</state></dialog>"#),
            XmlError::Repeated("state"),
        ),
        (
            doc(r#"<dialog id="a"><state>early</state><local><target/></local></dialog>"#),
            XmlError::Missing("target uri"),
        ),
        (
            doc(
                r#"<dialog id="a"><state>early</state><remote><target uri="u"><param pval="v"/></target></remote></dialog>"#,
            ),
            XmlError::Missing("param pname"),
        ),
        (
            doc(
                r#"<dialog id="a"><state>early</state><local><identity/><identity/></local></dialog>"#,
            ),
            XmlError::Repeated("identity"),
        ),
    ];
    for (d, want) in cases {
        assert_eq!(parse(d.as_bytes()), Err(want), "{d}");
    }
}

#[test]
fn limits_are_enforced() {
    let many = doc(&r#"<dialog id="a"><state>early</state></dialog>"#.repeat(100));
    assert_eq!(parse(many.as_bytes()).unwrap().dialogs.len(), 100);
    let limits = XmlLimits {
        max_elements: 150,
        ..XmlLimits::default()
    };
    assert_eq!(
        DialogInfo::parse(many.as_bytes(), &limits),
        Err(XmlError::TooManyElements(150))
    );
    let limits = XmlLimits {
        max_size: 512,
        ..XmlLimits::default()
    };
    assert_eq!(
        DialogInfo::parse(many.as_bytes(), &limits),
        Err(XmlError::TooLarge(many.len(), 512))
    );
    let deep = doc(&format!(
        "{}{}",
        "<dialog>".repeat(40),
        "</dialog>".repeat(40)
    ));
    assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooDeep(32)));
}

#[test]
fn truncated_and_mangled_examples_never_panic() {
    for name in ["rfc4235_confirmed.xml", "extended.xml"] {
        let d = data(name);
        for cut in 0..d.len() {
            let _ = parse(&d[..cut]);
        }
        for at in 0..d.len() {
            let mut m = d.clone();
            m[at] = b'>';
            if let Ok(v) = parse(&m) {
                round_trip(&v);
            }
        }
    }
}

#[test]
fn partial_documents_apply_to_the_kept_state() {
    use payloads::dialog_info::ApplyError;
    let mut kept = parse(&data("rfc4235_confirmed.xml")).unwrap();
    let terminated = parse(&data("rfc4235_terminated.xml")).unwrap();
    kept.apply(terminated.clone()).unwrap();
    assert_eq!(kept.version, 2);
    let d = kept.dialog("as7d900as8").unwrap();
    assert_eq!(d.state.state, DialogState::Terminated);
    assert_eq!(d.state.code, Some(486));
    // The partial document replaced the whole dialog element.
    assert_eq!(d.local, None);
    assert_eq!(
        kept.apply(terminated),
        Err(ApplyError::Stale { have: 2, got: 2 })
    );
    let mut next = DialogInfo::new(3, State::Partial, "sip:alice@example.com");
    next.dialogs.push(Dialog::new("second", DialogState::Early));
    kept.apply(next).unwrap();
    assert_eq!(kept.dialogs.len(), 2);
    let before = kept.clone();
    assert_eq!(
        kept.apply(DialogInfo::new(5, State::Partial, "sip:alice@example.com")),
        Err(ApplyError::Gap { have: 3, got: 5 })
    );
    assert_eq!(kept, before);
    let full = parse(&data("rfc4235_trying.xml")).unwrap();
    // A full document must be newer too.
    assert_eq!(
        kept.apply(full.clone()),
        Err(ApplyError::Stale { have: 3, got: 0 })
    );
    let mut newer = full;
    newer.version = 10;
    kept.apply(newer.clone()).unwrap();
    assert_eq!(kept, newer);
}
