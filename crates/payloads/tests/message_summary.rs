//! The message summary against RFC 3842: the RFC's bodies read line by
//! line, printed and read back; case-insensitive names, LF line ends,
//! folded lines and unknown lines handled; faults and bodies over the
//! limits refused with a typed error.

use payloads::message_summary::{
    Header, MessageClass, MessageHeaders, MessageSummary, Summary, SummaryError, SummaryLimits,
    Urgent,
};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/message_summary/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn parse(bytes: &[u8]) -> Result<MessageSummary, SummaryError> {
    MessageSummary::parse(bytes, &SummaryLimits::default())
}

fn round_trip(m: &MessageSummary) {
    let text = m.to_text();
    assert_eq!(&parse(text.as_bytes()).unwrap(), m, "{text}");
}

#[test]
fn rfc3842_simple_summary() {
    let m = parse(&data("rfc3842_simple.txt")).unwrap();
    assert!(m.messages_waiting);
    assert_eq!(m.account.as_deref(), Some("sip:alice@vmail.example.com"));
    assert_eq!(
        m.summaries,
        vec![Summary {
            class: MessageClass::Voice,
            new: 2,
            old: 8,
            urgent: Some(Urgent { new: 0, old: 2 }),
        }]
    );
    assert!(m.headers.is_empty() && m.messages.is_empty());
    // Our own print of an RFC body is the RFC body.
    assert_eq!(m.to_bytes(), data("rfc3842_simple.txt"));
    round_trip(&m);
}

#[test]
fn rfc3842_summary_with_message_headers() {
    let m = parse(&data("rfc3842_with_headers.txt")).unwrap();
    let v = m.summary(&MessageClass::Voice).unwrap();
    assert_eq!(
        (v.new, v.old, v.urgent),
        (4, 8, Some(Urgent { new: 1, old: 2 }))
    );
    assert_eq!(m.messages.len(), 2);
    let first = &m.messages[0];
    assert_eq!(first.get("subject"), Some("carpool tomorrow?"));
    assert_eq!(first.get("FROM"), Some("<bob@biloxi.example.com>"));
    assert_eq!(
        first.get("Message-ID"),
        Some("13kjhs8987sd09@atlanta.example.com")
    );
    assert_eq!(first.headers.len(), 6);
    // A colon in a value stays in the value.
    assert_eq!(
        m.messages[1].get("Subject"),
        Some("urgent: project deadline")
    );
    assert_eq!(m.messages[1].get("Priority"), Some("urgent"));
    assert_eq!(m.to_bytes(), data("rfc3842_with_headers.txt"));
    round_trip(&m);
}

#[test]
fn names_are_case_insensitive_and_extensions_kept() {
    let m = parse(&data("lowercase_and_extensions.txt")).unwrap();
    assert!(!m.messages_waiting);
    assert_eq!(m.account.as_deref(), Some("sip:*97@pbx.example.com"));
    assert_eq!(m.summaries[0], Summary::new(MessageClass::Voice, 0, 3));
    assert_eq!(m.summaries[1].class, MessageClass::Fax);
    assert_eq!(m.summaries[1].urgent, Some(Urgent { new: 0, old: 0 }));
    assert_eq!(
        m.summaries[2].class,
        MessageClass::Other("Video-Message".into())
    );
    assert_eq!(
        m.headers,
        vec![Header::new("X-Mailbox-Quota", "80% of 100 messages")]
    );
    let text = m.to_text();
    assert!(text.starts_with("Messages-Waiting: no\r\n"), "{text}");
    assert!(text.contains("\r\nFax-Message: 1/0 (0/0)\r\n"), "{text}");
    round_trip(&m);
}

#[test]
fn built_summary_round_trips() {
    let mut m = MessageSummary::new(true);
    for class in [
        MessageClass::Voice,
        MessageClass::Fax,
        MessageClass::Pager,
        MessageClass::Multimedia,
        MessageClass::Text,
        MessageClass::Unclassified,
    ] {
        m.summaries.push(Summary::new(class, u32::MAX, 0));
    }
    m.headers.push(Header::new("X-Empty", ""));
    m.messages.push(MessageHeaders {
        headers: vec![Header::new("Subject", "hi")],
    });
    round_trip(&m);
    assert_eq!(m.to_string(), m.to_text());
}

#[test]
fn faults_are_refused_with_a_typed_error() {
    let bad_line = |line: usize, got: &str| SummaryError::BadLine {
        line,
        got: got.into(),
    };
    let cases: [(&[u8], SummaryError); 11] = [
        (b"", SummaryError::MissingStatus),
        (b"\r\n\r\n", SummaryError::MissingStatus),
        (b"Message-Account: sip:a@b\r\n", SummaryError::MissingStatus),
        (
            b"Messages-Waiting: maybe\r\n",
            SummaryError::BadStatus("maybe".into()),
        ),
        (
            b"Messages-Waiting: yes\r\nMessages-Waiting: no\r\n",
            SummaryError::Repeated("Messages-Waiting"),
        ),
        (
            b"Messages-Waiting: yes\r\nMessage-Account: a\r\nmessage-account: b\r\n",
            SummaryError::Repeated("Message-Account"),
        ),
        (
            b"Messages-Waiting: yes\r\nVoice-Message: lots\r\n",
            SummaryError::BadCounts {
                class: "Voice-Message".into(),
                got: "lots".into(),
            },
        ),
        (
            b"Messages-Waiting: yes\r\nVoice-Message: 99999999999/0\r\n",
            SummaryError::BadCounts {
                class: "Voice-Message".into(),
                got: "99999999999/0".into(),
            },
        ),
        (
            b"Messages-Waiting: yes\r\nno colon here\r\n",
            bad_line(2, "no colon here"),
        ),
        (b" folded: first\r\n", bad_line(1, " folded: first")),
        (b"Messages-Waiting: yes\r\n\xff\r\n", SummaryError::NotUtf8),
    ];
    for (input, want) in cases {
        assert_eq!(
            parse(input),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    for counts in ["1/", "/1", "1/2 (3)", "1/2 (3/4", "1/2 3/4", "-1/2", "+1/2"] {
        let body = format!("Messages-Waiting: yes\r\nText-Message: {counts}\r\n");
        assert!(
            matches!(parse(body.as_bytes()), Err(SummaryError::BadCounts { .. })),
            "{counts}"
        );
    }
    // A bad name is not a header.
    assert!(matches!(
        parse(b"Messages-Waiting: yes\r\nBad Name: x\r\n"),
        Err(SummaryError::BadLine { line: 2, .. })
    ));
}

#[test]
fn limits_are_enforced() {
    let mut body = String::from("Messages-Waiting: yes\r\n");
    for i in 0..100 {
        body.push_str(&format!("\r\nMessage-ID: {i}\r\n"));
    }
    assert_eq!(parse(body.as_bytes()).unwrap().messages.len(), 100);
    let few_lines = SummaryLimits {
        max_lines: 50,
        ..SummaryLimits::default()
    };
    assert_eq!(
        MessageSummary::parse(body.as_bytes(), &few_lines),
        Err(SummaryError::TooManyLines(50))
    );
    let small = SummaryLimits {
        max_size: 100,
        ..SummaryLimits::default()
    };
    assert_eq!(
        MessageSummary::parse(body.as_bytes(), &small),
        Err(SummaryError::TooLarge(body.len(), 100))
    );
}

#[test]
fn truncated_and_mangled_examples_never_panic() {
    for name in [
        "rfc3842_simple.txt",
        "rfc3842_with_headers.txt",
        "lowercase_and_extensions.txt",
    ] {
        let d = data(name);
        for cut in 0..d.len() {
            if let Ok(m) = parse(&d[..cut]) {
                round_trip(&m);
            }
        }
        for at in 0..d.len() {
            for byte in [b' ', b'\n', b':', b'(', 0xc3] {
                let mut m = d.clone();
                m[at] = byte;
                if let Ok(v) = parse(&m) {
                    round_trip(&v);
                }
            }
        }
    }
}
