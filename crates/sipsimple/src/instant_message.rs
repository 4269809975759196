//! Instant messages over pager-mode MESSAGE (RFC 3428) beyond plain
//! text: messages wrapped in CPIM (RFC 3862), disposition notifications
//! (RFC 5438) asked for, answered and received, and is-composing
//! indications (RFC 3994 §3.2).
//!
//! Sending is [`send_im`] (from an account or the Bonjour account): the
//! content is wrapped when the options say so, with an `imdn.Message-ID`
//! the notifications will quote. Receiving is [`MessageRequests`], the
//! application's owner of MESSAGE requests, which [`decode`]s every
//! MESSAGE one of our accounts takes: what it carried is posted under
//! the account's sender id as SIPAccountGotMessage,
//! SIPAccountGotComposingIndication or
//! SIPAccountGotDispositionNotification, and a positive-delivery request
//! is answered by the account itself (§7.1.1: once the message reached
//! the user's device). Display notifications are the application's to
//! send ([`send_display_notification`]) because only it knows when the
//! user saw the message.

use std::time::SystemTime;

use payloads::cpim::{self, Address};
use payloads::imdn::{self, Disposition, Imdn, NotificationKind, RequestBuilder, Status};
use payloads::iscomposing::{IsComposing, State};
use payloads::{DateTime, Offset};
use sip_proto::headers::HeaderName;
use sip_proto::Request;

use crate::chat_message::ChatMessage;
use crate::message::{Delivered, MessageError};
use crate::notification::NotificationData;
use crate::session::SessionAccount;

/// The body type of a CPIM-wrapped message.
pub const CPIM: &str = "message/cpim";

/// How [`send_im`] sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImOptions {
    /// Wrap the content in CPIM (implied by `notifications`).
    pub cpim: bool,
    /// The disposition notifications to ask the recipient for.
    pub notifications: Vec<Disposition>,
}

impl ImOptions {
    /// CPIM asking for a positive delivery notification (and a display
    /// one when `display`).
    pub fn with_delivery(display: bool) -> ImOptions {
        let mut notifications = vec![Disposition::PositiveDelivery];
        if display {
            notifications.push(Disposition::Display);
        }
        ImOptions {
            cpim: true,
            notifications,
        }
    }
}

/// What [`send_im`] sent and how it was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentIm {
    /// The `imdn.Message-ID` notifications will quote (CPIM only).
    pub message_id: Option<String>,
    pub delivered: Delivered,
}

fn now() -> DateTime {
    DateTime::from_system_time(SystemTime::now(), Offset::Utc)
}

fn local_error(e: impl std::fmt::Display) -> MessageError {
    MessageError::Local(e.to_string())
}

/// Sends `body` of `content_type` from `account` to `to` as one MESSAGE,
/// wrapped in CPIM when `options` ask for it.
pub async fn send_im(
    account: impl Into<SessionAccount>,
    to: &str,
    content_type: &str,
    body: Vec<u8>,
    options: &ImOptions,
) -> Result<SentIm, MessageError> {
    let account = &account.into();
    if !options.cpim && options.notifications.is_empty() {
        let delivered = send_raw(account, to, content_type, body).await?;
        return Ok(SentIm {
            message_id: None,
            delivered,
        });
    }
    let from = account
        .uri()
        .ok_or_else(|| local_error("the account has no address yet"))?;
    let id = crate::msrp::new_message_id();
    let mut builder = cpim::Message::builder(content_type, body)
        .from(from_address(account, &from.to_string()))
        .to(Address::new(to))
        .datetime(now());
    builder = if options.notifications.is_empty() {
        builder.imdn_message_id(&id)
    } else {
        builder.imdn_request(&id, &options.notifications)
    };
    let wrapped = builder
        .build()
        .map_err(|e| local_error(format!("CPIM: {e}")))?;
    let delivered = send_raw(account, to, CPIM, wrapped.to_bytes()).await?;
    Ok(SentIm {
        message_id: Some(id),
        delivered,
    })
}

/// An is-composing indication (RFC 3994) to `to` as a MESSAGE of its own
/// (§3.2: pager mode has no session to carry it).
pub async fn send_composing(
    account: impl Into<SessionAccount>,
    to: &str,
    state: State,
    refresh: Option<u32>,
) -> Result<Delivered, MessageError> {
    let account = &account.into();
    let doc = match state {
        State::Active => IsComposing::active(Some("text/plain"), refresh),
        _ => IsComposing::idle(Some(now()), Some("text/plain")),
    };
    send_raw(
        account,
        to,
        payloads::iscomposing::CONTENT_TYPE,
        doc.to_xml().into_bytes(),
    )
    .await
}

/// Tells the sender of `message` that the user saw it (RFC 5438 display
/// notification); an error when the message did not ask for one.
pub async fn send_display_notification(
    account: impl Into<SessionAccount>,
    message: &ChatMessage,
) -> Result<Delivered, MessageError> {
    let account = &account.into();
    let wants = message
        .notification_request
        .as_ref()
        .is_some_and(|r| r.wants(&Disposition::Display));
    if !wants {
        return Err(local_error("the message asked for no display notification"));
    }
    send_notification(
        account,
        message,
        NotificationKind::Display,
        Status::Displayed,
    )
    .await
}

/// Sends the IMDN `kind`/`status` about `message` to its CPIM sender.
async fn send_notification(
    account: &SessionAccount,
    message: &ChatMessage,
    kind: NotificationKind,
    status: Status,
) -> Result<Delivered, MessageError> {
    let request = message
        .notification_request
        .as_ref()
        .ok_or_else(|| local_error("the message asked for no notification"))?;
    let to = message
        .sender
        .clone()
        .ok_or_else(|| local_error("the message names no sender"))?;
    let me = account
        .uri()
        .ok_or_else(|| local_error("the account has no address yet"))?
        .to_string();
    let stamp = now();
    let doc = Imdn {
        message_id: request.message_id.clone(),
        // §7.1.1: the notification quotes the message's DateTime.
        datetime: request.datetime.or(message.timestamp).unwrap_or(stamp),
        recipient_uri: Some(me.clone()),
        original_recipient_uri: Some(me.clone()),
        subject: None,
        notification: imdn::Notification { kind, status },
        extensions: Vec::new(),
    };
    let target = to.uri.clone();
    let wrapped = doc
        .to_cpim(
            from_address(account, &me),
            to,
            &crate::msrp::new_message_id(),
            stamp,
        )
        .build()
        .map_err(|e| local_error(format!("CPIM: {e}")))?;
    send_raw(account, &target, CPIM, wrapped.to_bytes()).await
}

fn from_address(account: &SessionAccount, uri: &str) -> Address {
    match account
        .setting("display_name")
        .and_then(|v| v.as_str().map(str::to_owned))
    {
        Some(name) if !name.is_empty() => Address::with_name(&name, uri),
        _ => Address::new(uri),
    }
}

async fn send_raw(
    account: &SessionAccount,
    to: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<Delivered, MessageError> {
    match account {
        SessionAccount::Sip(a) => a.send_message(to, content_type, body).await,
        SessionAccount::Bonjour(a) => a.send_message(to, content_type, body).await,
    }
}

/// Why a MESSAGE's body was refused (answered 400: RFC 3428 §7 lets the
/// recipient refuse what it cannot render, and the sender must know).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// What a MESSAGE for `account` carried, as the account posts it: a
/// message (plain or unwrapped from CPIM), an is-composing indication, or
/// a disposition notification about one of our messages.
pub(crate) fn decode(request: &Request) -> Result<NotificationData, DecodeError> {
    let header = |name: HeaderName| request.headers.get_str(&name).unwrap_or_default();
    let content_type = header(HeaderName::ContentType);
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let peer = Some(Address::from_name_addr(header(HeaderName::From)));
    let body = request.body.to_vec();
    let call_id = header(HeaderName::CallId).to_owned();
    match media.as_str() {
        CPIM => {
            let limits = cpim::Limits {
                max_size: body.len().max(cpim::Limits::default().max_size),
                ..cpim::Limits::default()
            };
            let m = cpim::Message::parse_with(&body, &limits)
                .map_err(|e| DecodeError(format!("bad CPIM: {e}")))?;
            let inner = m
                .content_type()
                .unwrap_or("text/plain")
                .to_ascii_lowercase();
            if inner.starts_with(imdn::CONTENT_TYPE) {
                let doc =
                    Imdn::parse(&m.body).map_err(|e| DecodeError(format!("bad IMDN: {e}")))?;
                return Ok(NotificationData::SIPAccountGotDispositionNotification {
                    message_id: doc.message_id,
                    kind: doc.notification.kind.name(),
                    status: doc.notification.status.name().to_owned(),
                    sender: m.from.clone().or(peer),
                });
            }
            if inner.starts_with(payloads::iscomposing::CONTENT_TYPE) {
                return composing(&m.body, m.from.clone().or(peer));
            }
            let message_id = imdn::message_id(&m).map_or(call_id, |s| s.trim().to_owned());
            Ok(NotificationData::SIPAccountGotMessage {
                message: ChatMessage::from_cpim(message_id, m, peer),
            })
        }
        payloads::iscomposing::CONTENT_TYPE => composing(&body, peer),
        _ => Ok(NotificationData::SIPAccountGotMessage {
            message: ChatMessage {
                recipients: vec![Address::from_name_addr(header(HeaderName::To))],
                subject: request
                    .headers
                    .get_str(&HeaderName::Subject)
                    .map(str::to_owned),
                ..ChatMessage::plain(
                    call_id,
                    if content_type.is_empty() {
                        "text/plain".to_owned()
                    } else {
                        content_type.to_owned()
                    },
                    body,
                    peer,
                )
            },
        }),
    }
}

fn composing(body: &[u8], sender: Option<Address>) -> Result<NotificationData, DecodeError> {
    let doc =
        IsComposing::parse(body).map_err(|e| DecodeError(format!("bad is-composing: {e}")))?;
    Ok(NotificationData::SIPAccountGotComposingIndication {
        state: doc.state.as_str().to_owned(),
        refresh: doc.refresh,
        last_active: doc.last_active,
        content_type: doc.content_type,
        sender,
    })
}

/// Answers a positive-delivery request of a message that just reached
/// `account` (from a task: the request router must not wait).
pub(crate) fn answer_delivery_request(account: SessionAccount, message: &ChatMessage) {
    let wants = message
        .notification_request
        .as_ref()
        .is_some_and(|r| r.wants(&Disposition::PositiveDelivery));
    if !wants {
        return;
    }
    let message = message.clone();
    tokio::spawn(async move {
        // A failure is posted by the MESSAGE itself (SIPMessageDidFail).
        let _ = send_notification(
            &account,
            &message,
            NotificationKind::Delivery,
            Status::Delivered,
        )
        .await;
    });
}

/// An incoming MESSAGE as the application reports it.
pub(crate) fn got_message(request: &Request, source: std::net::SocketAddr) -> NotificationData {
    let header = |name: HeaderName| {
        request
            .headers
            .get_str(&name)
            .unwrap_or_default()
            .to_owned()
    };
    NotificationData::SIPEngineGotMessage {
        request_uri: request.uri_str().to_owned(),
        from_header: header(HeaderName::From),
        to_header: header(HeaderName::To),
        content_type: request
            .headers
            .get_str(&HeaderName::ContentType)
            .unwrap_or("text/plain")
            .to_owned(),
        body: request.body.to_vec(),
        source: source.to_string(),
    }
}

/// Pager-mode MESSAGE (RFC 3428) as a request owner: a MESSAGE for one of
/// our accounts is posted as SIPEngineGotMessage, decoded (CPIM, IMDN,
/// is-composing: [`decode`]) and posted again under the
/// account, and answered 200 (§7); one for nobody here gets 404, a body
/// that does not parse 400.
pub(crate) struct MessageRequests {
    pub accounts: crate::account::AccountManager,
    pub center: crate::notification::NotificationCenter,
    pub sender: crate::notification::SenderId,
}

impl crate::router::RequestOwner for MessageRequests {
    fn methods(&self) -> Vec<sip_proto::Method> {
        vec![sip_proto::Method::Message]
    }

    fn accepts(&self) -> Vec<String> {
        // What the application is handed; CPIM and is-composing are
        // decoded by whoever reads the notification.
        vec![
            "text/*".into(),
            "message/cpim".into(),
            "application/im-iscomposing+xml".into(),
        ]
    }

    fn request(&self, incoming: crate::router::IncomingRequest) -> crate::router::Disposition {
        use crate::router::Disposition;
        let Some(account) = crate::session::recipient(&self.accounts, &incoming.request) else {
            return Disposition::answer(404);
        };
        let decoded = match decode(&incoming.request) {
            Ok(d) => d,
            // Warning (RFC 3261 §20.43) tells the sender what was wrong.
            Err(e) => {
                let text = e.to_string().replace(['"', '\\', '\r', '\n'], " ");
                return Disposition::Answer(
                    400,
                    vec![(HeaderName::Warning, format!("399 sipsimple \"{text}\""))],
                );
            }
        };
        self.center.post(
            self.sender,
            got_message(&incoming.request, incoming.source.addr),
        );
        if let NotificationData::SIPAccountGotMessage { message } = &decoded {
            answer_delivery_request(account.clone(), message);
        }
        self.center.post(account.sender(), decoded);
        Disposition::answer(200)
    }
}
