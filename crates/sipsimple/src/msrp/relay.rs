//! Getting a path through an MSRP relay (RFC 4976 §5.1): connect to the
//! relay, AUTH with the account's credentials (digest, by msrp-proto's
//! sans-IO [`AuthClient`]), and keep the connection: the session runs on
//! it, with the relay's Use-Path in front of our URI. That is a
//! connection per session, the default; with `msrp.connection_reuse` a
//! session AUTHs on our live connection to the relay instead (the
//! `relay_share` module, [`RelayLink::Shared`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use msrp_proto::{AuthClient, Authorized, MsrpUri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{connect_to, host_of, MsrpIo, MsrpRelaySettings};

/// How long connecting and authorizing may take.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(15);

/// What a session authorized at its relay runs on once negotiated.
pub enum RelayLink {
    /// A connection of its own, authorized for it alone.
    Own(Box<dyn MsrpIo>),
    /// A seat on a connection to the relay shared with other sessions
    /// of ours (`msrp.connection_reuse`, the `relay_share` module).
    Shared(super::RelaySeat),
}

/// An authorized path through the relay.
pub struct RelayPath {
    pub link: RelayLink,
    /// Our URI: the address of our end of the connection and `session_id`.
    pub local: MsrpUri,
    pub authorized: Authorized,
}

impl std::fmt::Debug for RelayPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayPath")
            .field("local", &self.local.to_string())
            .field("authorized", &self.authorized)
            .finish_non_exhaustive()
    }
}

/// Connects to `relay` and authorizes `session_id` there.
pub async fn authorize(
    relay: &MsrpRelaySettings,
    session_id: &str,
    tls: Arc<rustls::ClientConfig>,
) -> Result<RelayPath, String> {
    tokio::time::timeout(AUTH_TIMEOUT, run(relay, session_id, tls))
        .await
        .map_err(|_| format!("the MSRP relay {} did not authorize us in time", relay.uri))?
}

async fn run(
    relay: &MsrpRelaySettings,
    session_id: &str,
    tls: Arc<rustls::ClientConfig>,
) -> Result<RelayPath, String> {
    let (mut io, bound) = dial(relay, tls).await?;
    let local = our_uri(relay, bound, session_id);
    let mut client = auth_client(relay, &local)?;
    let mut buf = vec![0u8; 8192];
    loop {
        while let Some(out) = client.poll_transmit() {
            io.write_all(&out)
                .await
                .map_err(|e| format!("writing to the MSRP relay: {e}"))?;
        }
        let n = io
            .read(&mut buf)
            .await
            .map_err(|e| format!("reading from the MSRP relay: {e}"))?;
        if n == 0 {
            return Err("the MSRP relay closed the connection during AUTH".into());
        }
        match client.handle_input(buf.get(..n).unwrap_or_default()) {
            Ok(Some(authorized)) => {
                if client.buffered() > 0 {
                    return Err("the MSRP relay sent more than the AUTH answer".into());
                }
                if authorized.use_path.is_empty() {
                    return Err("the MSRP relay's 200 has no Use-Path".into());
                }
                return Ok(RelayPath {
                    link: RelayLink::Own(io),
                    local,
                    authorized,
                });
            }
            Ok(None) => {}
            Err(e) => return Err(format!("MSRP relay {}: {e}", relay.uri)),
        }
    }
}

/// Connects to `relay` (over TLS for `msrps:`); returns the connection
/// and the address of our end of it.
pub(super) async fn dial(
    relay: &MsrpRelaySettings,
    tls: Arc<rustls::ClientConfig>,
) -> Result<(Box<dyn MsrpIo>, SocketAddr), String> {
    let towards = match relay.address {
        Some(a) => local_ip_to(a)?,
        None => local_ip_towards(&relay.uri).await?,
    };
    let (socket, bound) = super::bind_for_connect(towards)
        .map_err(|e| format!("cannot bind a socket for the MSRP relay: {e}"))?;
    // A relay's certificate is checked against its name (RFC 4976 §4).
    let io = connect_to(Some(socket), &relay.uri, relay.address, Some(tls))
        .await
        .map_err(|e| format!("cannot connect to the MSRP relay {}: {e}", relay.uri))?;
    Ok((io, bound))
}

/// Our URI on a connection to `relay` whose end is `bound`.
pub(super) fn our_uri(relay: &MsrpRelaySettings, bound: SocketAddr, session_id: &str) -> MsrpUri {
    MsrpUri::new(
        relay.uri.secure,
        host_of(bound.ip()),
        Some(bound.port()),
        Some(session_id),
    )
}

/// The AUTH of `local` (our URI) to `relay` with the account's
/// credentials.
pub(super) fn auth_client(
    relay: &MsrpRelaySettings,
    local: &MsrpUri,
) -> Result<AuthClient, String> {
    // AUTH goes to the relay's URI without a session-id (RFC 4976 §5.1).
    let mut target = relay.uri.clone();
    target.session_id = None;
    AuthClient::new(
        target,
        local.clone(),
        &relay.username,
        &relay.password,
        None,
        crate::random::random_u64(),
    )
    .map_err(|e| e.to_string())
}

/// The local address the system would use towards the relay.
async fn local_ip_towards(uri: &MsrpUri) -> Result<std::net::IpAddr, String> {
    let port = uri.port.unwrap_or(2855);
    let addr: SocketAddr = match &uri.host {
        msrp_proto::Host::Ipv4(a) => SocketAddr::new((*a).into(), port),
        msrp_proto::Host::Ipv6(a) => SocketAddr::new((*a).into(), port),
        msrp_proto::Host::Name(n) => tokio::net::lookup_host((n.as_str(), port))
            .await
            .map_err(|e| format!("the MSRP relay {n}: {e}"))?
            .next()
            .ok_or_else(|| format!("the MSRP relay {n} has no address"))?,
    };
    local_ip_to(addr)
}

/// The local address the system would use towards `addr`.
fn local_ip_to(addr: SocketAddr) -> Result<std::net::IpAddr, String> {
    let probe = std::net::UdpSocket::bind(if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    })
    .and_then(|s| s.connect(addr).and_then(|()| s.local_addr()))
    .map_err(|e| format!("no route to the MSRP relay {addr}: {e}"))?;
    Ok(probe.ip())
}

/// How long a relay found by DNS, or the finding that a domain has
/// none, is remembered: every incoming chat of an account without a
/// configured relay asks, and a burst of sessions must not each wait on
/// DNS.
const FOUND_FOR: Duration = Duration::from_secs(60);

/// An account without `nat_traversal.msrp_relay` under the relay
/// connection model: its domain's `_msrps._tcp` SRV names its relay, if
/// it has one (RFC 4976); without one, sessions go direct.
#[derive(Clone)]
pub struct RelayDiscovery {
    /// The account's domain.
    pub domain: String,
    pub dns: crate::lookup::DnsLookup,
    pub username: String,
    pub password: String,
    pub for_outbound: bool,
}

impl std::fmt::Debug for RelayDiscovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayDiscovery")
            .field("domain", &self.domain)
            .field("username", &self.username)
            .field("for_outbound", &self.for_outbound)
            .finish_non_exhaustive()
    }
}

/// A domain's relay address (None: it has none) and when DNS said so.
type Found = std::collections::HashMap<String, (std::time::Instant, Option<SocketAddr>)>;

/// What DNS said of each domain's relay lately. Cloning shares it.
#[derive(Clone, Default)]
pub struct RelayFinder {
    found: Arc<std::sync::Mutex<Found>>,
}

impl std::fmt::Debug for RelayFinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayFinder").finish_non_exhaustive()
    }
}

impl RelayFinder {
    /// The relay of `d.domain`, by its SRV records (the first by
    /// priority and weight), as settings to authorize with. The
    /// relay's certificate is verified against the domain: an SRV answer
    /// is not authenticated, so its target name proves nothing.
    pub async fn find(&self, d: &RelayDiscovery) -> Option<MsrpRelaySettings> {
        let now = std::time::Instant::now();
        let known = self
            .found
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&d.domain)
            .filter(|(at, _)| now.duration_since(*at) < FOUND_FOR)
            .map(|(_, a)| *a);
        let address = match known {
            Some(a) => a,
            None => {
                let a = d
                    .dns
                    .lookup_msrp_relay_srv(&d.domain)
                    .await
                    .result
                    .ok()
                    .and_then(|routes| routes.first().map(|r| r.socket_addr()));
                let mut found = crate::sync::lock(&self.found);
                // Bounded: domains are an application's accounts'.
                if found.len() > 1024 {
                    found.clear();
                }
                found.insert(d.domain.clone(), (now, a));
                a
            }
        }?;
        let uri = MsrpUri::parse(&format!("msrps://{}:{};tcp", d.domain, address.port())).ok()?;
        Some(MsrpRelaySettings {
            uri,
            username: d.username.clone(),
            password: d.password.clone(),
            for_outbound: d.for_outbound,
            address: Some(address),
        })
    }
}
