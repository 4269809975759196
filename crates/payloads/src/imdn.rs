//! Instant message disposition notifications (RFC 5438): the request a
//! sender puts in the CPIM headers of an instant message, and the
//! `message/imdn+xml` document a recipient returns ("delivered",
//! "displayed", ...).
//!
//! The request side is a thin layer over [`crate::cpim`]: the headers live
//! in the `urn:ietf:params:imdn` namespace under whatever prefix the sender
//! declared, so they are looked up by namespace, not by the `imdn.` text.

use crate::cpim::{self, Address, MessageBuilder};
use crate::xml::{expect_root, single_text, XmlElement, XmlError, XmlLimits, XmlNode};
use crate::DateTime;

/// The CPIM header namespace of the request headers (RFC 5438 §6).
pub const HEADERS_NS: &str = "urn:ietf:params:imdn";
/// The XML namespace of the notification document.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:imdn";
/// The MIME type of the notification document.
pub const CONTENT_TYPE: &str = "message/imdn+xml";

/// A notification a sender asks for in `imdn.Disposition-Notification`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Disposition {
    PositiveDelivery,
    NegativeDelivery,
    Processing,
    Display,
    /// An extension token, kept as written.
    Other(String),
}

impl Disposition {
    fn parse(token: &str) -> Disposition {
        const KNOWN: [(&str, Disposition); 4] = [
            ("positive-delivery", Disposition::PositiveDelivery),
            ("negative-delivery", Disposition::NegativeDelivery),
            ("processing", Disposition::Processing),
            ("display", Disposition::Display),
        ];
        KNOWN
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(token))
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| Disposition::Other(token.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Disposition::PositiveDelivery => "positive-delivery",
            Disposition::NegativeDelivery => "negative-delivery",
            Disposition::Processing => "processing",
            Disposition::Display => "display",
            Disposition::Other(s) => s,
        }
    }
}

/// What a received instant message asks of its recipient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Request {
    /// `imdn.Message-ID`: what the notification must quote.
    pub message_id: String,
    /// `imdn.Disposition-Notification`, every header's tokens in order.
    pub dispositions: Vec<Disposition>,
    /// `DateTime` of the message, which the notification quotes too.
    pub datetime: Option<DateTime>,
}

impl Request {
    pub fn wants(&self, d: &Disposition) -> bool {
        self.dispositions.contains(d)
    }
}

/// `imdn.Message-ID` of a CPIM message.
pub fn message_id(msg: &cpim::Message) -> Option<&str> {
    msg.header_value(HEADERS_NS, "Message-ID")
}

/// `imdn.Original-To` of a CPIM message (RFC 5438 §6.3: the recipient the
/// sender addressed, before any list or forwarder rewrote `To`).
pub fn original_to(msg: &cpim::Message) -> Option<Address> {
    let v = msg.header_value(HEADERS_NS, "Original-To")?;
    Address::parse(v)
}

/// The notification request of a CPIM message, if it makes one: a message
/// ID and at least one disposition.
pub fn request(msg: &cpim::Message) -> Option<Request> {
    let message_id = message_id(msg)?.trim().to_owned();
    let dispositions: Vec<Disposition> = msg
        .headers(HEADERS_NS, "Disposition-Notification")
        .flat_map(|h| h.value.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Disposition::parse)
        .collect();
    if message_id.is_empty() || dispositions.is_empty() {
        return None;
    }
    Some(Request {
        message_id,
        dispositions,
        datetime: msg.datetime,
    })
}

/// Request helpers for [`MessageBuilder`].
pub trait RequestBuilder {
    /// Declares the `imdn` prefix and adds `imdn.Message-ID`.
    fn imdn_message_id(self, message_id: &str) -> Self;
    /// Adds `imdn.Message-ID` and `imdn.Disposition-Notification`. RFC
    /// 5438 §6.3 also wants a `DateTime`: set it with
    /// [`MessageBuilder::datetime`].
    fn imdn_request(self, message_id: &str, dispositions: &[Disposition]) -> Self;
}

impl RequestBuilder for MessageBuilder {
    fn imdn_message_id(self, message_id: &str) -> Self {
        self.namespace("imdn", HEADERS_NS)
            .header(HEADERS_NS, "Message-ID", message_id)
    }

    fn imdn_request(self, message_id: &str, dispositions: &[Disposition]) -> Self {
        let list: Vec<&str> = dispositions.iter().map(Disposition::as_str).collect();
        self.imdn_message_id(message_id).header(
            HEADERS_NS,
            "Disposition-Notification",
            &list.join(", "),
        )
    }
}

/// Which of the three notifications a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    Delivery,
    Display,
    Processing,
}

impl NotificationKind {
    /// `delivery`, `display` or `processing`.
    pub fn name(self) -> &'static str {
        match self {
            NotificationKind::Delivery => "delivery",
            NotificationKind::Display => "display",
            NotificationKind::Processing => "processing",
        }
    }

    fn element(self) -> &'static str {
        match self {
            NotificationKind::Delivery => "delivery-notification",
            NotificationKind::Display => "display-notification",
            NotificationKind::Processing => "processing-notification",
        }
    }
}

/// The `<status>` of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    Delivered,
    Failed,
    Displayed,
    Processed,
    Stored,
    Forbidden,
    Error,
    /// A status element RFC 5438 does not define (its local name).
    Other(String),
}

impl Status {
    fn from_name(name: &str) -> Status {
        match name {
            "delivered" => Status::Delivered,
            "failed" => Status::Failed,
            "displayed" => Status::Displayed,
            "processed" => Status::Processed,
            "stored" => Status::Stored,
            "forbidden" => Status::Forbidden,
            "error" => Status::Error,
            other => Status::Other(other.to_owned()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Status::Delivered => "delivered",
            Status::Failed => "failed",
            Status::Displayed => "displayed",
            Status::Processed => "processed",
            Status::Stored => "stored",
            Status::Forbidden => "forbidden",
            Status::Error => "error",
            Status::Other(s) => s,
        }
    }

    /// Whether RFC 5438's schema (§8) allows this status in `kind`;
    /// extension statuses are allowed anywhere.
    pub fn allowed_in(&self, kind: NotificationKind) -> bool {
        use NotificationKind as K;
        match self {
            Status::Forbidden | Status::Error | Status::Other(_) => true,
            Status::Delivered | Status::Failed => kind == K::Delivery,
            Status::Displayed => kind == K::Display,
            Status::Processed | Status::Stored => kind == K::Processing,
        }
    }
}

/// A notification: its kind and status.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    pub kind: NotificationKind,
    pub status: Status,
}

/// A `message/imdn+xml` document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Imdn {
    /// The `imdn.Message-ID` of the message this is about.
    pub message_id: String,
    /// The `DateTime` of the message this is about.
    pub datetime: DateTime,
    pub recipient_uri: Option<String>,
    pub original_recipient_uri: Option<String>,
    pub subject: Option<String>,
    pub notification: Notification,
    /// Children of other namespaces, kept to be passed on.
    pub extensions: Vec<XmlElement>,
}

impl Imdn {
    /// The notification `recipient` returns for `msg`, if `msg` asked for
    /// one (an `imdn.Message-ID` and a `DateTime`, §7). The status is not
    /// checked against what was requested: that is the caller's policy.
    pub fn for_message(
        msg: &cpim::Message,
        recipient: &str,
        kind: NotificationKind,
        status: Status,
    ) -> Option<Imdn> {
        let message_id = message_id(msg)?.trim().to_owned();
        let datetime = msg.datetime?;
        let original = original_to(msg)
            .map(|a| a.uri)
            .unwrap_or_else(|| recipient.to_owned());
        Some(Imdn {
            message_id,
            datetime,
            recipient_uri: Some(recipient.to_owned()),
            original_recipient_uri: Some(original),
            subject: msg.subjects.first().map(|s| s.text.clone()),
            notification: Notification { kind, status },
            extensions: Vec::new(),
        })
    }

    /// The CPIM message carrying this notification (RFC 5438 §7.2.1):
    /// its own message ID, `Content-Disposition: notification`, and no
    /// request for notifications about the notification.
    pub fn to_cpim(
        &self,
        from: Address,
        to: Address,
        message_id: &str,
        datetime: DateTime,
    ) -> MessageBuilder {
        cpim::Message::builder(CONTENT_TYPE, self.to_xml().into_bytes())
            .from(from)
            .to(to)
            .datetime(datetime)
            .imdn_message_id(message_id)
            .content_header("Content-Disposition", "notification")
    }

    pub fn parse(input: &[u8]) -> Result<Imdn, XmlError> {
        Imdn::parse_with(input, &XmlLimits::default())
    }

    pub fn parse_with(input: &[u8], limits: &XmlLimits) -> Result<Imdn, XmlError> {
        Imdn::from_element(&XmlElement::parse(input, limits)?)
    }

    pub fn from_element(root: &XmlElement) -> Result<Imdn, XmlError> {
        expect_root(root, NAMESPACE, "imdn", "{urn:ietf:params:xml:ns:imdn}imdn")?;
        let message_id =
            single_text(root, NAMESPACE, "message-id")?.ok_or(XmlError::Missing("message-id"))?;
        let dt = single_text(root, NAMESPACE, "datetime")?.ok_or(XmlError::Missing("datetime"))?;
        let datetime = DateTime::parse(&dt).map_err(|_| XmlError::malformed("datetime", &dt))?;
        let mut notification = None;
        for kind in [
            NotificationKind::Delivery,
            NotificationKind::Display,
            NotificationKind::Processing,
        ] {
            for el in root.elements().filter(|e| e.is(NAMESPACE, kind.element())) {
                if notification.is_some() {
                    return Err(XmlError::Repeated("*-notification"));
                }
                notification = Some(read_notification(el, kind)?);
            }
        }
        Ok(Imdn {
            message_id,
            datetime,
            recipient_uri: single_text(root, NAMESPACE, "recipient-uri")?,
            original_recipient_uri: single_text(root, NAMESPACE, "original-recipient-uri")?,
            subject: single_text(root, NAMESPACE, "subject")?,
            notification: notification.ok_or(XmlError::Missing("*-notification"))?,
            extensions: root
                .elements()
                .filter(|e| e.ns != NAMESPACE)
                .cloned()
                .collect(),
        })
    }

    /// The document as an element tree, children in the schema's order.
    pub fn to_element(&self) -> XmlElement {
        let leaf = |name: &str, text: &str| XmlElement::new(NAMESPACE, name).with_text(text);
        let mut root = XmlElement::new(NAMESPACE, "imdn")
            .with_child(leaf("message-id", &self.message_id))
            .with_child(leaf("datetime", &self.datetime.to_string()));
        for (name, v) in [
            ("recipient-uri", &self.recipient_uri),
            ("original-recipient-uri", &self.original_recipient_uri),
            ("subject", &self.subject),
        ] {
            if let Some(v) = v {
                root = root.with_child(leaf(name, v));
            }
        }
        let n = &self.notification;
        let status = XmlElement::new(NAMESPACE, "status")
            .with_child(XmlElement::new(NAMESPACE, n.status.name()));
        root = root.with_child(XmlElement::new(NAMESPACE, n.kind.element()).with_child(status));
        root.children
            .extend(self.extensions.iter().cloned().map(XmlNode::Element));
        root
    }

    pub fn to_xml(&self) -> String {
        self.to_element().to_document()
    }
}

fn read_notification(el: &XmlElement, kind: NotificationKind) -> Result<Notification, XmlError> {
    let mut statuses = el.elements().filter(|e| e.is(NAMESPACE, "status"));
    let status_el = statuses.next().ok_or(XmlError::Missing("status"))?;
    if statuses.next().is_some() {
        return Err(XmlError::Repeated("status"));
    }
    let value = status_el
        .elements()
        .next()
        .ok_or(XmlError::Missing("status value"))?;
    let status = if value.ns == NAMESPACE {
        Status::from_name(&value.name)
    } else {
        Status::Other(value.name.clone())
    };
    if !status.allowed_in(kind) {
        return Err(XmlError::malformed(kind.element(), status.name()));
    }
    Ok(Notification { kind, status })
}
