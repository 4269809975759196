//! IMDN (RFC 5438) for ChatStream: a message may ask for delivery and
//! display notifications (`imdn.Disposition-Notification` in its CPIM
//! wrapper); the stream answers positive-delivery itself when the message
//! reaches it, the application sends display notifications when it shows
//! the message, and notifications about our messages update their
//! delivery state and post ChatStreamGotDispositionNotification.

use crate::sync::lock;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use msrp_proto::headers::FailureReport;
use payloads::imdn::{Disposition, Imdn, Notification, NotificationKind, Status};
use payloads::{DateTime, Offset};

use super::base::OutgoingMessage;
use super::chat::{identity, ChatInner, ChatMessage, ChatStreamError, DeliveryState, CPIM};
use crate::msrp::new_message_id;
use crate::notification::NotificationData;

impl ChatInner {
    /// A notification about one of our messages.
    pub(super) fn on_imdn(&self, body: &[u8]) {
        let Ok(doc) = Imdn::parse(body) else {
            return;
        };
        let state = match (&doc.notification.kind, &doc.notification.status) {
            (NotificationKind::Delivery, Status::Delivered) => Some(DeliveryState::Delivered),
            (NotificationKind::Display, Status::Displayed) => Some(DeliveryState::Displayed),
            (_, Status::Failed | Status::Forbidden | Status::Error) => {
                Some(DeliveryState::Failed {
                    code: 0,
                    reason: format!("IMDN: {}", doc.notification.status.name()),
                })
            }
            _ => None,
        };
        let known = {
            let mut c = lock(&self.chat);
            if !c.delivery.contains_key(&doc.message_id) {
                false
            } else {
                if let Some(state) = state {
                    c.update(&doc.message_id, state);
                }
                true
            }
        };
        if known {
            self.post(NotificationData::ChatStreamGotDispositionNotification {
                message_id: doc.message_id,
                kind: doc.notification.kind.name(),
                status: doc.notification.status.name().to_owned(),
            });
        }
    }

    /// Answers a positive-delivery request of a message that arrived.
    /// Runs in the connection's sink, so the answer is sent from a task.
    pub(super) fn answer_delivery_request(self: &Arc<Self>, message: &ChatMessage) {
        let wants = message
            .notification_request
            .as_ref()
            .is_some_and(|r| r.wants(&Disposition::PositiveDelivery));
        if !wants {
            return;
        }
        let me = self.clone();
        let message = message.clone();
        tokio::spawn(async move {
            let _ = me.send_notification(&message, NotificationKind::Delivery, Status::Delivered);
        });
    }

    /// Sends the IMDN `kind`/`status` about `message` back to its sender.
    pub(super) fn send_notification(
        &self,
        message: &ChatMessage,
        kind: NotificationKind,
        status: Status,
    ) -> Result<String, ChatStreamError> {
        let request = message
            .notification_request
            .as_ref()
            .ok_or(ChatStreamError::NeedsCpim("a notification request"))?;
        let context = self.base.context().ok_or(ChatStreamError::Ended)?;
        let me = identity(&context.local_identity);
        let to = message
            .sender
            .clone()
            .unwrap_or_else(|| identity(&context.remote_identity));
        let now = DateTime::from_system_time(SystemTime::now(), Offset::Utc);
        let doc = Imdn {
            message_id: request.message_id.clone(),
            // §7.1.1: the notification quotes the message's DateTime.
            datetime: request.datetime.or(message.timestamp).unwrap_or(now),
            recipient_uri: Some(me.uri.clone()),
            original_recipient_uri: Some(me.uri.clone()),
            subject: None,
            notification: Notification { kind, status },
            extensions: Vec::new(),
        };
        let id = new_message_id();
        let cpim = doc
            .to_cpim(me, to, &id, now)
            .build()
            .map_err(|e| ChatStreamError::NotAccepted(format!("CPIM: {e}")))?;
        self.base.send(OutgoingMessage {
            message_id: id.clone(),
            content_type: CPIM.to_owned(),
            body: Bytes::from(cpim.to_bytes()),
            success_report: false,
            failure_report: FailureReport::Partial,
        })?;
        Ok(id)
    }
}
