//! IMDN against RFC 5438: the request headers of the RFC's instant message
//! example, its delivery and display notification documents, and the CPIM
//! message carrying a notification; each read field by field, then printed
//! and read back.

use payloads::cpim::{Address, Message};
use payloads::imdn::{
    self, Disposition, Imdn, Notification, NotificationKind, RequestBuilder, Status,
};
use payloads::xml::XmlError;
use payloads::{DateTime, Offset};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn round_trip(d: &Imdn) {
    assert_eq!(&Imdn::parse(d.to_xml().as_bytes()).unwrap(), d);
}

#[test]
fn rfc5438_request_headers() {
    let m = Message::parse(&data("rfc5438_request.cpim")).unwrap();
    assert_eq!(imdn::message_id(&m), Some("34jk324j"));
    let r = imdn::request(&m).unwrap();
    assert_eq!(r.message_id, "34jk324j");
    // Alice asks for a positive delivery notification and a display one.
    assert_eq!(
        r.dispositions,
        vec![Disposition::PositiveDelivery, Disposition::Display]
    );
    assert!(r.wants(&Disposition::Display));
    assert!(!r.wants(&Disposition::NegativeDelivery));
    let t = r.datetime.unwrap();
    assert_eq!(
        (t.year, t.month, t.day, t.hour, t.minute, t.second),
        (2006, 4, 4, 12, 16, 49)
    );
    assert_eq!(t.offset, Offset::Minutes(-300));
    assert_eq!(m.content_type(), Some("text/plain"));
    assert_eq!(m.body, b"Hello World\r\n");
    assert_eq!(Message::parse(&m.to_bytes()).unwrap(), m);
}

#[test]
fn request_found_under_any_prefix() {
    let text = "NS: x <urn:ietf:params:imdn>\r\nx.Message-Id: abc\r\n\
                x.Disposition-Notification: negative-delivery\r\n\
                x.Disposition-Notification: processing, urn-ext\r\n\r\n\r\n";
    let r = imdn::request(&Message::parse(text.as_bytes()).unwrap()).unwrap();
    assert_eq!(r.message_id, "abc");
    assert_eq!(
        r.dispositions,
        vec![
            Disposition::NegativeDelivery,
            Disposition::Processing,
            Disposition::Other("urn-ext".into())
        ]
    );
    // A message ID without any disposition asks for nothing.
    let none = Message::parse(b"NS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: a\r\n\r\n\r\n");
    assert_eq!(imdn::request(&none.unwrap()), None);
}

#[test]
fn rfc5438_delivery_notification() {
    let d = Imdn::parse(&data("rfc5438_delivery.xml")).unwrap();
    assert_eq!(d.message_id, "34jk324j");
    assert_eq!(
        d.datetime,
        DateTime::parse("2008-04-04T12:16:49-05:00").unwrap()
    );
    assert_eq!(d.recipient_uri.as_deref(), Some("im:bob@example.com"));
    assert_eq!(
        d.original_recipient_uri.as_deref(),
        Some("im:bob@example.com")
    );
    assert_eq!(d.subject, None);
    assert_eq!(
        d.notification,
        Notification {
            kind: NotificationKind::Delivery,
            status: Status::Delivered
        }
    );
    assert!(d.extensions.is_empty());
    round_trip(&d);
}

#[test]
fn rfc5438_display_notification() {
    let d = Imdn::parse(&data("rfc5438_display.xml")).unwrap();
    assert_eq!(d.message_id, "34jk324j");
    assert_eq!(
        d.notification,
        Notification {
            kind: NotificationKind::Display,
            status: Status::Displayed
        }
    );
    round_trip(&d);
}

#[test]
fn rfc5438_notification_in_cpim() {
    let m = Message::parse(&data("rfc5438_notification.cpim")).unwrap();
    assert_eq!(m.from.as_ref().unwrap().uri, "im:bob@example.com");
    assert_eq!(imdn::message_id(&m), Some("d834jied93rf"));
    // A notification asks for no notification.
    assert_eq!(imdn::request(&m), None);
    assert_eq!(m.content_type(), Some(imdn::CONTENT_TYPE));
    assert_eq!(
        m.content_header("Content-Disposition"),
        Some("notification")
    );
    let d = Imdn::parse(&m.body).unwrap();
    assert_eq!(d.message_id, "34jk324j");
    assert_eq!(d.notification.status, Status::Delivered);
}

#[test]
fn answering_a_request() {
    let sent = Message::builder("text/plain", "Hello World")
        .from(Address::with_name("Alice", "im:alice@example.com"))
        .to(Address::with_name("Bob", "im:bob@example.com"))
        .datetime(DateTime::parse("2006-04-04T12:16:49-05:00").unwrap())
        .subject("greeting", None)
        .imdn_request(
            "34jk324j",
            &[Disposition::PositiveDelivery, Disposition::Display],
        )
        .header(
            imdn::HEADERS_NS,
            "Original-To",
            "Robert <im:robert@example.com>",
        )
        .build()
        .unwrap();
    let text = String::from_utf8(sent.to_bytes()).unwrap();
    assert!(
        text.contains("\r\nNS: imdn <urn:ietf:params:imdn>\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nimdn.Disposition-Notification: positive-delivery, display\r\n"));
    let received = Message::parse(text.as_bytes()).unwrap();
    let d = Imdn::for_message(
        &received,
        "im:bob@example.com",
        NotificationKind::Display,
        Status::Displayed,
    )
    .unwrap();
    assert_eq!(d.message_id, "34jk324j");
    assert_eq!(Some(d.datetime), received.datetime);
    assert_eq!(
        d.original_recipient_uri.as_deref(),
        Some("im:robert@example.com")
    );
    assert_eq!(d.subject.as_deref(), Some("greeting"));
    round_trip(&d);
    let reply = d
        .to_cpim(
            Address::new("im:bob@example.com"),
            Address::new("im:alice@example.com"),
            "d834jied93rf",
            DateTime::parse("2006-04-04T12:17:00-05:00").unwrap(),
        )
        .build()
        .unwrap();
    let back = Message::parse(&reply.to_bytes()).unwrap();
    assert_eq!(imdn::request(&back), None);
    assert_eq!(Imdn::parse(&back.body).unwrap(), d);
}

#[test]
fn extensions_kept_and_faults_refused() {
    let doc = br#"<imdn xmlns="urn:ietf:params:xml:ns:imdn" xmlns:x="urn:x">
      <message-id>a</message-id><datetime>2008-04-04T12:16:49Z</datetime>
      <processing-notification><status><stored/></status></processing-notification>
      <x:hint level="2">kept</x:hint></imdn>"#;
    let d = Imdn::parse(doc).unwrap();
    assert_eq!(d.notification.status, Status::Stored);
    assert_eq!(d.extensions.len(), 1);
    assert!(d.extensions[0].is("urn:x", "hint"));
    assert_eq!(d.extensions[0].attr("level"), Some("2"));
    round_trip(&d);

    let head = r#"<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>a</message-id>"#;
    let dt = "<datetime>2008-04-04T12:16:49Z</datetime>";
    let cases = [
        (format!("{head}{dt}</imdn>"), XmlError::Missing("*-notification")),
        (format!("{head}<display-notification><status><displayed/></status></display-notification></imdn>"), XmlError::Missing("datetime")),
        (format!("{head}{dt}<delivery-notification/></imdn>"), XmlError::Missing("status")),
        (format!("{head}{dt}<delivery-notification><status/></delivery-notification></imdn>"), XmlError::Missing("status value")),
    ];
    for (doc, want) in cases {
        assert_eq!(Imdn::parse(doc.as_bytes()), Err(want), "{doc}");
    }
    // <displayed/> answers a display request, not a delivery one.
    let wrong = format!("{head}{dt}<delivery-notification><status><displayed/></status></delivery-notification></imdn>");
    assert!(matches!(
        Imdn::parse(wrong.as_bytes()),
        Err(XmlError::Malformed { .. })
    ));
    let two = format!("{head}{dt}<delivery-notification><status><failed/></status></delivery-notification><display-notification><status><error/></status></display-notification></imdn>");
    assert_eq!(
        Imdn::parse(two.as_bytes()),
        Err(XmlError::Repeated("*-notification"))
    );
}
