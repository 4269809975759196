//! Our sessions sharing the connections we open (RFC 4975 §5.4 lets a
//! device carry several sessions on one connection), with the account
//! setting `msrp.connection_reuse`.
//!
//! A session that connects to a first hop we already have a live
//! connection to (same scheme, host and port of the URI: for `msrps:`
//! the host is also the name TLS checked) runs on that connection; its
//! first SEND binds it there as a new connection's would. Off by default:
//! peers built on one connection per session (RFC 6135's model, the
//! original SDK) take the first session's connection as the only one and
//! answer others on it 481. Connections to relays are shared by the
//! same setting in the `relay_share` module (each session AUTHs on the
//! shared connection for a binding of its own, RFC 4976); a direct first
//! hop never joins a relay connection, nor the reverse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use msrp_proto::uri::Host;
use msrp_proto::{MsrpUri, Session};

use super::connection::Shared;
use super::{EventSink, MsrpConnection, MsrpEndpoint, MsrpIo};

/// Where a connection goes, as far as sharing it is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct FirstHop {
    secure: bool,
    host: Host,
    port: u16,
}

impl FirstHop {
    pub(super) fn of(uri: &MsrpUri) -> FirstHop {
        let host = match &uri.host {
            // Names compare as DNS does, without case.
            Host::Name(n) => Host::Name(n.to_ascii_lowercase()),
            h => h.clone(),
        };
        FirstHop {
            secure: uri.secure,
            host,
            port: uri.port.unwrap_or(2855),
        }
    }
}

/// The connections we opened, by first hop (those still alive).
#[derive(Clone, Default)]
pub(super) struct OpenedConnections(Arc<Mutex<HashMap<FirstHop, Vec<Weak<Shared>>>>>);

impl OpenedConnections {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FirstHop, Vec<Weak<Shared>>>> {
        crate::sync::lock(&self.0)
    }

    fn live(&self, hop: &FirstHop) -> Vec<Arc<Shared>> {
        let mut all = self.lock();
        let list = all.entry(hop.clone()).or_default();
        list.retain(|w| w.upgrade().is_some_and(|s| !s.is_closed()));
        let live = list.iter().filter_map(Weak::upgrade).collect();
        if list.is_empty() {
            all.remove(hop);
        }
        live
    }

    fn add(&self, hop: FirstHop, shared: &Arc<Shared>) {
        self.lock()
            .entry(hop)
            .or_default()
            .push(Arc::downgrade(shared));
    }
}

impl MsrpEndpoint {
    /// Runs `session` on a live connection of ours to `first` when there
    /// is one that takes it, else runs it on the connection `dial` makes
    /// and keeps that for later sessions to `first`.
    pub async fn connect_shared(
        &self,
        first: &MsrpUri,
        session: Session,
        sink: EventSink,
        trace: Option<super::trace::TraceSink>,
        dial: impl std::future::Future<Output = Result<Box<dyn MsrpIo>, String>>,
    ) -> Result<MsrpConnection, String> {
        let hop = FirstHop::of(first);
        let (mut session, mut sink) = (session, sink);
        for shared in self.opened.live(&hop) {
            match shared.try_join(session, sink) {
                Ok(conn) => return Ok(conn),
                // Full or closed meanwhile: the next, or a new one.
                Err((_, s, k)) => (session, sink) = (*s, k),
            }
        }
        let conn = MsrpConnection::spawn(dial.await?, Vec::new(), session, sink, trace);
        self.opened.add(hop, conn.shared());
        Ok(conn)
    }
}
