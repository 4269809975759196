//! The request being read off the stream, the checks every SEND passes,
//! and the streamed way of reading SENDs
//! (`SessionConfig::stream_incoming`): the checks run on the head, the
//! body goes on as it arrives, the response follows the end-line.

use std::collections::VecDeque;

use bytes::Bytes;

use super::{Session, SessionEvent};
use crate::headers::{
    ByteRange, ContentType, FailureReport, FromPath, MessageId, SuccessReport, ToPath, TypedHeader,
};
use crate::message::{Flag, Request};
use crate::uri::MsrpUri;

/// Messages whose From-Path is remembered for their REPORTs.
const REMEMBERED_PATHS: usize = 64;

#[derive(Debug)]
pub(super) struct Incoming {
    pub(super) req: Request,
    pub(super) body: Vec<u8>,
    pub(super) too_large: bool,
    /// Set when the body is handed on instead of kept.
    pub(super) streamed: Option<Streamed>,
}

#[derive(Debug)]
pub(super) enum Streamed {
    Accepted {
        message_id: String,
        range: ByteRange,
        received: u64,
        /// More bytes came than the Byte-Range announced.
        overran: bool,
    },
    /// The head failed a check: the body is dropped, this is the answer.
    Refused { status: u16, comment: &'static str },
}

impl Streamed {
    /// The event for the next piece of body, if it is to be handed on.
    pub(super) fn data(&mut self, mut data: Bytes) -> Option<SessionEvent> {
        let Streamed::Accepted {
            message_id,
            range,
            received,
            overran,
        } = self
        else {
            return None;
        };
        if let Some(len) = range.len() {
            let room = len.saturating_sub(*received);
            if data.len() as u64 > room {
                *overran = true;
                data.truncate(usize::try_from(room).unwrap_or(usize::MAX));
            }
        }
        if data.is_empty() {
            return None;
        }
        let offset = range.start - 1 + *received;
        *received += data.len() as u64;
        Some(SessionEvent::ChunkData {
            message_id: message_id.clone(),
            offset,
            data,
        })
    }
}

/// The From-Path of the newest streamed messages, with the
/// Failure-Report their sender asked for.
#[derive(Debug, Default)]
pub(super) struct StreamedPaths(VecDeque<(String, Vec<MsrpUri>, FailureReport)>);

impl StreamedPaths {
    fn remember(&mut self, message_id: &str, path: Vec<MsrpUri>, failures: FailureReport) {
        if let Some(at) = self.0.iter().position(|(m, _, _)| m == message_id) {
            self.0.remove(at);
        }
        if self.0.len() >= REMEMBERED_PATHS {
            self.0.pop_front();
        }
        self.0.push_back((message_id.to_owned(), path, failures));
    }

    pub(super) fn path(&self, message_id: &str) -> Option<(Vec<MsrpUri>, FailureReport)> {
        self.0
            .iter()
            .find(|(m, _, _)| m == message_id)
            .map(|(_, p, f)| (p.clone(), *f))
    }
}

impl Session {
    /// The checks every SEND passes: that it is for us, its Message-ID and
    /// its Byte-Range. `Err` carries the response to give.
    pub(super) fn check_send(
        &self,
        req: &Request,
    ) -> Result<(String, ByteRange), (u16, &'static str)> {
        // The first To-Path URI names this hop's recipient: relays take
        // themselves off before forwarding (RFC 4975 §7.3.1, RFC 4976).
        match req.headers.typed::<ToPath>() {
            Some(Ok(ToPath(p))) if p.first() == self.our_uri() => {}
            Some(Ok(_)) => return Err((481, "Session does not exist")),
            _ => return Err((400, "Bad To-Path")),
        }
        let Some(Ok(MessageId(mid))) = req.headers.typed::<MessageId>() else {
            return Err((400, "Bad Message-ID"));
        };
        // Without Byte-Range a chunk is the whole message (RFC 4975 §7.1.1).
        let range = match req.headers.typed::<ByteRange>() {
            None => ByteRange {
                start: 1,
                end: None,
                total: None,
            },
            Some(Ok(r)) => r,
            // Positions beyond what any limit here allows: the message is
            // too large to take (RFC 4975 §7.1.1), not malformed.
            Some(Err(crate::headers::HeaderError::Overflow)) => {
                return Err((413, "Message too large"))
            }
            Some(Err(_)) => return Err((400, "Bad Byte-Range")),
        };
        Ok((mid, range))
    }

    pub(super) fn begin_streamed(&self, req: &Request) -> Streamed {
        match self.check_send(req) {
            // The body is still to come: its Content-Type says it has one.
            Ok(_) if self.refuses_content(req, true) => Streamed::Refused {
                status: 403,
                comment: super::direction::NOT_RECEIVING,
            },
            Ok((message_id, range)) => Streamed::Accepted {
                message_id,
                range,
                received: 0,
                overran: false,
            },
            Err((status, comment)) => Streamed::Refused { status, comment },
        }
    }

    pub(super) fn end_streamed(&mut self, req: &Request, streamed: Streamed, flag: Flag) {
        let (message_id, range, received) = match streamed {
            Streamed::Refused { status, comment } => return self.answer(req, status, comment),
            Streamed::Accepted { overran: true, .. } => {
                return self.answer(req, 400, "Body longer than its Byte-Range")
            }
            Streamed::Accepted {
                message_id,
                range,
                received,
                ..
            } => (message_id, range, received),
        };
        self.answer(req, 200, "OK");
        if let Some(Ok(FromPath(back))) = req.headers.typed::<FromPath>() {
            // Unreadable or absent: `yes` (RFC 4975 §7.1.2's default).
            let failures = match req.headers.typed::<FailureReport>() {
                Some(Ok(f)) => f,
                _ => FailureReport::Yes,
            };
            self.streamed.remember(&message_id, back, failures);
        }
        let success_report = matches!(
            req.headers.typed::<SuccessReport>(),
            Some(Ok(SuccessReport(true)))
        );
        self.events.push_back(SessionEvent::ChunkReceived {
            message_id,
            content_type: req.headers.get(ContentType::NAME).map(str::to_owned),
            range: ByteRange {
                start: range.start,
                // An empty chunk ends before it starts (`5-4/8`).
                end: Some(range.start + received - 1),
                total: range.total,
            },
            flag,
            success_report,
        });
    }
}
