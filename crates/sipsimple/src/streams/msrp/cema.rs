//! CEMA, RFC 6714: where the active side of an MSRP stream connects.
//!
//! A middlebox (an SBC, an ALG) that anchors MSRP rewrites the c= and
//! m= lines of the SDP it passes, not the MSRP URIs in `a=path`: those
//! also travel inside MSRP (To-Path, From-Path), which it cannot rewrite
//! without terminating MSRP, and over TLS cannot read at all. So when
//! both the offer and the answer carry `a=msrp-cema`, the active side
//! connects to the address and port of the peer's c= and m= lines, and
//! both sides match the session by its session-id alone (the passive
//! side already does: `crate::msrp::Registration::accept_from`). Without
//! the peer's `a=msrp-cema` RFC 4975 §5.4 stands: connect to the
//! authority of the first URI of the peer's path.
//!
//! Only between two endpoints with no relay between them: our path
//! through our relay (RFC 4976) is reached at the relay's URI, which we
//! connect to ourselves and which our c= line does not carry, so we do
//! not advertise CEMA then; and a peer's path of more than one URI
//! names relays that the relays route between by their URIs.
//!
//! Over TLS the name handed to TLS stays the URI's host, not the c=
//! address: that is the peer we mean to reach, the middlebox only
//! carries the bytes. (Direct peers' certificates are self-signed and
//! accepted as they come, CEMA or not.)

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use msrp_proto::uri::MsrpUri;
use sdp::Media;
use tokio::net::TcpSocket;

use super::remote::{MediaAddress, RemoteMedia};
use crate::msrp::{connect_to, MsrpIo};

/// How long connecting to the peer may take, and how long the passive
/// side waits for the peer to connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Adds `a=msrp-cema` to our m-line unless our path goes through our
/// relay.
pub(super) fn advertise(m: &mut Media, on_relay: bool) {
    if !on_relay {
        m.set_msrp_cema();
    }
}

/// The active side's connection to the peer when no relay of ours is in
/// the way (so our SDP had `a=msrp-cema`): to the c=/m= address when the
/// peer's has it too, else to the first URI of its path.
pub(super) async fn connect(
    socket: Option<TcpSocket>,
    remote: &RemoteMedia,
) -> Result<Box<dyn MsrpIo>, String> {
    let target = target(remote)?;
    let address = target.address().await?;
    tokio::time::timeout(
        CONNECT_TIMEOUT,
        connect_to(socket, target.uri, address, None),
    )
    .await
    .map_err(|_| target.failure(remote, "timed out"))?
    .map_err(|e| target.failure(remote, &e.to_string()))
}

/// Where the active side goes: the first URI of the peer's path (what
/// TLS verifies, and the hop RFC 4975 connects to) and, when CEMA is
/// in force, the c=/m= address to connect to instead.
struct Target<'a> {
    uri: &'a MsrpUri,
    cema: Option<&'a MediaAddress>,
}

fn target(remote: &RemoteMedia) -> Result<Target<'_>, String> {
    let uri = remote
        .path
        .first()
        .ok_or_else(|| "the peer's a=path is empty".to_owned())?;
    // An unspecified c= (0.0.0.0, the old hold) names nobody to go to.
    let unspecified =
        |a: &MediaAddress| a.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified());
    let cema = match (&remote.media_address, remote.path.len()) {
        (Some(a), 1) if remote.cema && !unspecified(a) => Some(a),
        _ => None,
    };
    Ok(Target { uri, cema })
}

impl Target<'_> {
    /// The socket address CEMA connects to (None: the URI's own).
    async fn address(&self) -> Result<Option<SocketAddr>, String> {
        let Some(a) = self.cema else { return Ok(None) };
        if let Ok(ip) = a.host.parse() {
            return Ok(Some(SocketAddr::new(ip, a.port)));
        }
        tokio::net::lookup_host((a.host.as_str(), a.port))
            .await
            .map_err(|e| format!("cannot resolve the peer's c= address {a}: {e}"))?
            .next()
            .map(Some)
            .ok_or_else(|| format!("the peer's c= address {a} has no address"))
    }

    /// Why connecting failed, with where we went and why there.
    fn failure(&self, remote: &RemoteMedia, error: &str) -> String {
        match self.cema {
            Some(a) => format!(
                "cannot connect to {a}, the c=/m= address of {} (both sides \
                 support CEMA, RFC 6714): {error}",
                self.uri
            ),
            None => {
                let mut reason = format!("cannot connect to {}: {error}", self.uri);
                // A rewritten c=/m= we did not follow is the likely cause:
                // say so, as the peer did not offer CEMA.
                if let Some(a) = remote
                    .media_address
                    .as_ref()
                    .filter(|a| !a.is_authority_of(self.uri) && remote.path.len() == 1)
                {
                    reason.push_str(&format!(
                        " (the peer's c=/m= says {a}, but without its a=msrp-cema \
                         RFC 4975 connects to the a=path URI)"
                    ));
                }
                reason
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sdp::SessionDescription;

    use super::*;

    /// The m-line a peer at 192.0.2.1:7000 (per its a=path) sends, as a
    /// middlebox left it: c= `c`, m= port 40000, `extra` lines.
    fn remote(c: &str, path: &str, extra: &str) -> RemoteMedia {
        let text = format!(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 {c}\r\nt=0 0\r\n\
             m=message 40000 TCP/MSRP *\r\na=path:{path}\r\na=accept-types:*\r\n{extra}"
        );
        let sdp = SessionDescription::parse(text.as_bytes()).unwrap();
        RemoteMedia::from_sdp(&sdp, 0).unwrap()
    }

    const PEER: &str = "msrp://192.0.2.1:7000/abcd;tcp";

    #[test]
    fn the_peers_cema_sends_us_to_its_c_and_m_lines() {
        let r = remote("198.51.100.7", PEER, "a=msrp-cema\r\n");
        let t = target(&r).unwrap();
        assert_eq!(t.uri.to_string(), PEER, "TLS still names the URI");
        assert_eq!(t.cema.unwrap().to_string(), "198.51.100.7:40000");
    }

    #[test]
    fn without_it_or_through_relays_or_to_no_address_the_path_stands() {
        let without = remote("198.51.100.7", PEER, "");
        assert!(target(&without).unwrap().cema.is_none());
        let failure = target(&without).unwrap().failure(&without, "refused");
        assert!(
            failure.contains("198.51.100.7:40000") && failure.contains(PEER),
            "{failure}"
        );

        let relayed = format!("msrp://relay.example:2855/r1;tcp {PEER}");
        let r = remote("198.51.100.7", &relayed, "a=msrp-cema\r\n");
        let t = target(&r).unwrap();
        assert!(t.cema.is_none());
        assert_eq!(t.uri.to_string(), "msrp://relay.example:2855/r1;tcp");

        let hold = remote("0.0.0.0", PEER, "a=msrp-cema\r\n");
        assert!(target(&hold).unwrap().cema.is_none());
    }

    #[test]
    fn a_c_and_m_that_agree_with_the_path_are_not_called_a_mismatch() {
        let r = remote("192.0.2.1", PEER, "").media_address.unwrap();
        let r = MediaAddress { port: 7000, ..r };
        assert!(r.is_authority_of(&MsrpUri::parse(PEER).unwrap()));
        let r = MediaAddress { port: 7001, ..r };
        assert!(!r.is_authority_of(&MsrpUri::parse(PEER).unwrap()));
    }
}
