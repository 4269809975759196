//! Which stream connection a message goes over.
//!
//! Connections we open over TLS are known by the name they are verified
//! for as well as by address (RFC 5922 §4): two domains served at one
//! address, or a proxy's address that is also a callee's domain, get a
//! connection each, unless the certificate of an open one covers both.
//!
//! The transaction layer says only where a message goes (address and
//! transport), so the engine tells the connections at one address apart
//! by what it is handling. Over a reliable transport the layer
//! retransmits nothing on a timer: whatever it sends comes out of the
//! call being handled, a request sent for a name, a response for a
//! request that came over some connection, or a message read from one
//! (the ACK of a non-2xx goes back where its response came from). That
//! call's connection is the `current` one. Responses sent later go over
//! the connection their request came in on (RFC 3261 §18.2.2), a CANCEL
//! over its INVITE's.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use rustls::pki_types::CertificateDer;
use sip_proto::headers::{CSeq, Via};
use sip_proto::transaction::{ClientKey, Event, ServerKey, Target, TransportKind};
use sip_proto::Response;

use super::tcp::{ConnKey, TlsName};

pub(crate) struct Flows {
    /// Certificates are checked (`tls.verify_server`); when not, a name
    /// proves nothing and any connection to the address will do.
    verify: bool,
    /// The last name a request gave for each address, for what comes
    /// without one (a keep-alive, a request with no name).
    names: HashMap<SocketAddr, TlsName>,
    /// The server certificate of each TLS connection we opened, to see
    /// whether it covers another name too.
    certs: HashMap<ConnKey, Option<CertificateDer<'static>>>,
    /// The connection each live client transaction went over.
    clients: HashMap<ClientKey, ConnKey>,
    /// The connection each live server transaction's request came over.
    servers: HashMap<ServerKey, ConnKey>,
    current: Option<ConnKey>,
}

impl Flows {
    pub(crate) fn new(verify: bool) -> Flows {
        Flows {
            verify,
            names: HashMap::new(),
            certs: HashMap::new(),
            clients: HashMap::new(),
            servers: HashMap::new(),
            current: None,
        }
    }

    /// The connection what the layer sends next belongs to, until
    /// [`clear`](Self::clear).
    pub(crate) fn set_current(&mut self, conn: Option<ConnKey>) {
        self.current = conn;
    }

    pub(crate) fn clear(&mut self) {
        self.current = None;
    }

    /// The connection for a request to `target` whose server must prove
    /// `name`; None for TLS without a name, none remembered for the
    /// address and no connection open there. `open` and `connecting`
    /// are the engine's connections.
    pub(crate) fn for_request<V>(
        &mut self,
        target: Target,
        name: Option<&TlsName>,
        open: &HashMap<ConnKey, V>,
        connecting: &HashSet<ConnKey>,
    ) -> Option<ConnKey> {
        if let (Some(name), TransportKind::Tls) = (name, target.transport) {
            self.names.insert(target.addr, name.clone());
        }
        self.route(target, name, open, connecting)
    }

    fn route<V>(
        &self,
        target: Target,
        name: Option<&TlsName>,
        open: &HashMap<ConnKey, V>,
        connecting: &HashSet<ConnKey>,
    ) -> Option<ConnKey> {
        let unnamed = ConnKey::unnamed(target.addr, target.transport);
        if target.transport != TransportKind::Tls {
            return Some(unnamed);
        }
        // One the peer opened goes on carrying what is for its address
        // (its address, with an ephemeral port, is no one else's), as
        // before connections had names.
        let accepted = open.contains_key(&unnamed);
        let name = match name {
            Some(n) => n,
            None if accepted => return Some(unnamed),
            None => match self.names.get(&target.addr) {
                Some(n) => n,
                None => return open.keys().find(|k| k.reaches(target)).cloned(),
            },
        };
        let own = ConnKey {
            name: Some(name.clone()),
            ..unnamed
        };
        if open.contains_key(&own) || connecting.contains(&own) {
            return Some(own);
        }
        if accepted {
            return Some(unnamed);
        }
        let shared = open
            .keys()
            .filter(|k| k.reaches(target))
            .find(|k| !self.verify || self.covers(k, name));
        Some(shared.cloned().unwrap_or(own))
    }

    /// Whether the certificate `conn` was verified with names `name` too
    /// (one server for two domains).
    fn covers(&self, conn: &ConnKey, name: &TlsName) -> bool {
        let Some(Some(cert)) = self.certs.get(conn) else {
            return false;
        };
        rustls::server::ParsedCertificate::try_from(cert)
            .and_then(|p| rustls::client::verify_server_name(&p, name))
            .is_ok()
    }

    /// The connection for a message the layer sends to `target`: the
    /// current one if it goes there, else as for a request without a
    /// name, else one to open without a name (which fails for TLS).
    pub(crate) fn for_transmit<V>(
        &self,
        target: Target,
        open: &HashMap<ConnKey, V>,
        connecting: &HashSet<ConnKey>,
    ) -> ConnKey {
        match &self.current {
            Some(c) if c.reaches(target) => c.clone(),
            _ => self
                .route(target, None, open, connecting)
                .unwrap_or_else(|| ConnKey::unnamed(target.addr, target.transport)),
        }
    }

    pub(crate) fn client(&self, key: &ClientKey) -> Option<ConnKey> {
        self.clients.get(key).cloned()
    }

    pub(crate) fn sent(&mut self, key: ClientKey, conn: ConnKey) {
        self.clients.insert(key, conn);
    }

    /// Whether client transaction `key` went over `conn` (else over
    /// another connection to the same address, which `conn`'s failure
    /// does not touch).
    pub(crate) fn went_over(&self, key: &ClientKey, conn: &ConnKey) -> bool {
        self.clients.get(key).is_none_or(|c| c == conn)
    }

    pub(crate) fn server(&self, key: &ServerKey) -> Option<ConnKey> {
        self.servers.get(key).cloned()
    }

    /// The connection of the server transaction a response sent without
    /// one answers (a 2xx retransmitted by the dialog, RFC 3261
    /// §13.3.1.4), found by its top Via and CSeq as the layer keys it
    /// (§17.2.3).
    pub(crate) fn for_response(&self, response: &Response) -> Option<ConnKey> {
        let via = response.headers.typed::<Via>()?.ok()?;
        let method = response.headers.typed::<CSeq>()?.ok()?.method;
        if !via.has_rfc3261_branch() {
            return None;
        }
        let sent_by = match via.port {
            Some(p) => format!("{}:{p}", via.host),
            None => via.host.to_string(),
        };
        let key = ServerKey::Rfc3261 {
            branch: via.branch().unwrap_or_default().to_owned(),
            sent_by,
            method,
        };
        self.server(&key)
    }

    /// Keeps the books on the layer's events: where each request came
    /// from, and which transactions ended.
    pub(crate) fn on_event(&mut self, e: &Event) {
        match e {
            Event::Request { key, source, .. } => {
                if let Some(c) = self.current.as_ref().filter(|c| c.reaches(*source)) {
                    self.servers.insert(key.clone(), c.clone());
                }
            }
            Event::ClientTerminated { key } => {
                self.clients.remove(key);
            }
            Event::ServerTerminated { key } => {
                self.servers.remove(key);
            }
            _ => {}
        }
    }

    /// A TLS connection we opened is up, its server's certificate `cert`.
    pub(crate) fn verified(&mut self, conn: ConnKey, cert: Option<CertificateDer<'static>>) {
        self.certs.insert(conn, cert);
    }

    pub(crate) fn closed(&mut self, conn: &ConnKey) {
        self.certs.remove(conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(port: u16) -> Target {
        Target {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            transport: TransportKind::Tls,
        }
    }

    fn name(n: &str) -> TlsName {
        TlsName::try_from(n.to_owned()).unwrap()
    }

    fn named(t: Target, n: &str) -> ConnKey {
        ConnKey {
            name: Some(name(n)),
            ..ConnKey::unnamed(t.addr, t.transport)
        }
    }

    #[test]
    fn each_name_at_one_address_has_its_own_connection() {
        let mut flows = Flows::new(true);
        let t = tls(5061);
        let (a, b) = (named(t, "a.test"), named(t, "b.test"));
        let mut open = HashMap::new();
        let connecting = HashSet::new();
        let first = flows.for_request(t, Some(&name("a.test")), &open, &connecting);
        assert_eq!(first, Some(a.clone()));
        open.insert(a.clone(), ());
        // Open for a.test, whose certificate is not known to cover b.test.
        let second = flows.for_request(t, Some(&name("b.test")), &open, &connecting);
        assert_eq!(second, Some(b.clone()));
        open.insert(b.clone(), ());
        // Without a name: the last one given for the address.
        let bare = flows.for_request(t, None, &open, &connecting);
        assert_eq!(bare, Some(b));
        let again = flows.for_request(t, Some(&name("a.test")), &open, &connecting);
        assert_eq!(again, Some(a.clone()));
        let bare = flows.for_request(t, None, &open, &connecting);
        assert_eq!(bare, Some(a));
    }

    #[test]
    fn without_verification_a_name_proves_nothing_and_one_connection_serves_all() {
        let mut flows = Flows::new(false);
        let t = tls(5061);
        let open = HashMap::from([(named(t, "a.test"), ())]);
        let b = flows.for_request(t, Some(&name("b.test")), &open, &HashSet::new());
        assert_eq!(b, Some(named(t, "a.test")));
    }

    #[test]
    fn tls_without_any_name_has_no_connection_to_open() {
        let mut flows = Flows::new(true);
        let t = tls(5061);
        assert_eq!(
            flows.for_request(t, None, &HashMap::<ConnKey, ()>::new(), &HashSet::new()),
            None
        );
        // A connection the peer opened from there is its own.
        let accepted = ConnKey::unnamed(t.addr, t.transport);
        let open = HashMap::from([(accepted.clone(), ())]);
        assert_eq!(
            flows.for_request(t, None, &open, &HashSet::new()),
            Some(accepted)
        );
    }

    #[test]
    fn what_the_layer_sends_follows_the_current_connection_to_its_address() {
        let mut flows = Flows::new(true);
        let t = tls(5061);
        let (a, b) = (named(t, "a.test"), named(t, "b.test"));
        let open = HashMap::from([(a.clone(), ()), (b.clone(), ())]);
        let none = HashSet::new();
        flows.for_request(t, Some(&name("b.test")), &open, &none);
        flows.set_current(Some(a.clone()));
        assert_eq!(flows.for_transmit(t, &open, &none), a);
        // Elsewhere the current connection does not apply.
        let other = tls(5062);
        assert_eq!(
            flows.for_transmit(other, &open, &none),
            ConnKey::unnamed(other.addr, other.transport)
        );
        flows.clear();
        assert_eq!(flows.for_transmit(t, &open, &none), b);
    }
}
