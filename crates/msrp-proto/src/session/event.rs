//! Parsed stream events into the session: from its own parser
//! ([`Session::handle_input`]) or from a connection that carries several
//! sessions and routes each message to its session
//! ([`crate::demux::Demux`]).

use std::time::Instant;

use super::incoming::Incoming;
use super::Session;
use crate::message::{Head, Method};
use crate::parser::Event;

impl Session {
    /// One event of a stream parsed elsewhere: a connection shared with
    /// other sessions hands each session the events of its own messages.
    /// A head, its body pieces and its end-line must come in order.
    pub fn handle_event(&mut self, now: Instant, event: Event) {
        self.keepalive.touch(now);
        self.on_event(now, event);
    }

    /// Our session-id (of the last URI of our From-Path): what requests
    /// for us name in the first URI of their To-Path.
    pub fn local_session_id(&self) -> Option<&str> {
        self.our_uri().and_then(|u| u.session_id.as_deref())
    }

    pub(super) fn on_event(&mut self, now: Instant, ev: Event) {
        match ev {
            Event::Head(Head::Request(req)) => {
                let streamed = (self.cfg.stream_incoming && req.method == Method::Send)
                    .then(|| self.begin_streamed(&req));
                self.incoming = Some(Incoming {
                    req,
                    body: Vec::new(),
                    too_large: false,
                    streamed,
                });
            }
            Event::Head(Head::Response(resp)) => self.on_response(now, resp),
            Event::BodyData(b) => {
                if let Some(Incoming {
                    streamed: Some(st), ..
                }) = &mut self.incoming
                {
                    if let Some(e) = st.data(b) {
                        self.events.push_back(e);
                    }
                } else if let Some(inc) = &mut self.incoming {
                    let max = self.cfg.reassembly.max_message_bytes;
                    if (inc.body.len() + b.len()) as u64 > max {
                        inc.too_large = true;
                    } else {
                        inc.body.extend_from_slice(&b);
                    }
                }
            }
            Event::End(flag) => {
                if let Some(inc) = self.incoming.take() {
                    self.on_request(inc, flag);
                }
            }
        }
    }
}
