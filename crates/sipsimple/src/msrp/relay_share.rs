//! Our sessions sharing one connection to their relay (RFC 4976 with
//! RFC 4975 §5.4), with the account setting `msrp.connection_reuse`.
//!
//! A session that goes through a relay we already have a live connection
//! to (same scheme, host and port of the relay's URI, same credentials)
//! runs its AUTH, digest challenge and all, on that connection instead of
//! dialing a new one: the AUTH is a transaction of the connection's demux
//! (`msrp_proto::demux`'s `auth` module), the relay's answers routed to it
//! by transaction id. The relay hands out a binding (a Use-Path of its
//! own) per AUTH; Kamailio's `msrp` module keys its bindings by that
//! session-id and forwards each to the connection its AUTH came on.
//! Between its AUTH and the start of the session (the SDP exchange) the
//! session holds a seat ([`RelaySeat`]): the connection stays open for
//! it, and a request for it that comes first is held until it joins, as
//! a connection accepted on our port holds one (the `connection::join` module).
//! Once joined it is one session of the connection's demux: its requests
//! come by To-Path session-id, its re-AUTHs (the session's
//! `relay_refresh`) renew its own binding only.
//!
//! The connection closes with its last session and seat; when it dies,
//! every session on it fails. With the setting off (the default) each
//! session has its own connection to the relay and its own AUTH (the
//! `relay` module), as peers built on one connection per session expect.

use crate::sync::lock;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use msrp_proto::{AuthClient, Authorized, RelayAuthError};
use tokio::sync::oneshot;

use super::connection::Shared;
use super::relay::{auth_client, dial, our_uri, RelayLink, RelayPath, AUTH_TIMEOUT};
use super::reuse::FirstHop;
use super::{EventSink, JoinHook, Joinable, MsrpConnection, MsrpEndpoint, MsrpRelaySettings};

/// Which relay connections a session may share: the same relay, reached
/// as the same account.
#[derive(Clone, PartialEq, Eq, Hash)]
struct RelayKey {
    hop: FirstHop,
    username: String,
    password: String,
}

impl RelayKey {
    fn of(relay: &MsrpRelaySettings) -> RelayKey {
        RelayKey {
            hop: FirstHop::of(&relay.uri),
            username: relay.username.clone(),
            password: relay.password.clone(),
        }
    }
}

/// The sessions authorized on a connection that have not joined it, each
/// with the connection offered to it when a request for it came first.
#[derive(Clone, Default)]
struct Seats(Arc<Mutex<HashMap<String, Option<Joinable>>>>);

impl Seats {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Option<Joinable>>> {
        crate::sync::lock(&self.0)
    }

    /// Offers a held request's connection to its seat; a request for no
    /// seat goes back to the demux, which routes it to its session if
    /// that joined meanwhile, else answers 481.
    fn hook(&self) -> JoinHook {
        let seats = self.clone();
        Arc::new(move |offer: Joinable| {
            let mut all = seats.lock();
            if let Some(slot) = all.get_mut(&offer.session_id) {
                *slot = Some(offer);
            }
            Ok(())
        })
    }
}

/// A live connection of ours to a relay.
struct RelayConnection {
    shared: Weak<Shared>,
    seats: Seats,
    /// Our end of it: our URIs' host and port.
    local: SocketAddr,
}

/// Our connections to relays, by relay and account.
#[derive(Clone, Default)]
pub(super) struct RelayConnections {
    live: Arc<Mutex<HashMap<RelayKey, Vec<RelayConnection>>>>,
    /// Held while finding or dialing: sessions that start together share
    /// one new connection instead of dialing one each.
    dialing: Arc<tokio::sync::Mutex<()>>,
}

impl RelayConnections {
    fn lock(&self) -> MutexGuard<'_, HashMap<RelayKey, Vec<RelayConnection>>> {
        crate::sync::lock(&self.live)
    }

    /// A seat for `session_id` on a live connection to the relay of `key`.
    fn seat_on_live(&self, key: &RelayKey, session_id: &str) -> Option<(RelaySeat, SocketAddr)> {
        let mut all = self.lock();
        let list = all.get_mut(key)?;
        list.retain(|c| c.shared.upgrade().is_some_and(|s| !s.is_closed()));
        let found = list.iter().find_map(|c| {
            let shared = c.shared.upgrade()?;
            let seat = RelaySeat::take(shared, c.seats.clone(), session_id)?;
            Some((seat, c.local))
        });
        if list.is_empty() {
            all.remove(key);
        }
        found
    }
}

/// A session's place on a shared relay connection between its AUTH and
/// its start; dropping it gives the place up (the connection closes if
/// nothing else is on it).
pub struct RelaySeat {
    shared: Arc<Shared>,
    seats: Seats,
    session_id: String,
}

impl std::fmt::Debug for RelaySeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelaySeat")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl RelaySeat {
    fn take(shared: Arc<Shared>, seats: Seats, session_id: &str) -> Option<RelaySeat> {
        let mut all = seats.lock();
        if all.contains_key(session_id) || !shared.hold_seat() {
            return None;
        }
        all.insert(session_id.to_owned(), None);
        drop(all);
        Some(RelaySeat {
            shared,
            seats,
            session_id: session_id.to_owned(),
        })
    }

    /// Runs `session` (the one the seat was taken for) on the connection,
    /// its events to `sink`; a request for it the connection holds is its
    /// first.
    pub fn run(
        self,
        session: msrp_proto::Session,
        sink: EventSink,
    ) -> Result<MsrpConnection, String> {
        if session.local_session_id() != Some(self.session_id.as_str()) {
            return Err(format!(
                "the seat was taken for session {}",
                self.session_id
            ));
        }
        // Under the seats' lock: a request held meanwhile is offered
        // either before (and joined here) or after (and routed to the
        // session that joined).
        let mut all = self.seats.lock();
        let offered = all.remove(&self.session_id).flatten();
        let joined = match offered {
            Some(offer) => offer.join(session, sink),
            None => self.shared.join(session, sink),
        };
        drop(all);
        joined
    }
}

impl Drop for RelaySeat {
    fn drop(&mut self) {
        // A request held for a session that never joins: released, 481.
        let offered = self.seats.lock().remove(&self.session_id);
        drop(offered);
        self.shared.drop_seat();
    }
}

/// What a shared relay connection does beyond carrying sessions: seats
/// for sessions about to join, and AUTHs run on it.
impl Shared {
    /// Runs `client`'s AUTH on the connection (see `msrp_proto::demux`'s
    /// `auth` module); the receiver hears how it ended, or nothing when
    /// the connection closes first.
    pub(super) fn start_auth(
        &self,
        key: &str,
        client: AuthClient,
    ) -> Result<oneshot::Receiver<Result<Authorized, RelayAuthError>>, String> {
        let (tx, rx) = oneshot::channel();
        {
            let mut core = self.lock();
            if self.is_closed() {
                return Err(super::MsrpSendError::Closed.to_string());
            }
            core.demux
                .start_auth(key.to_owned(), client)
                .map_err(|e| e.to_string())?;
            lock(&self.auth_waiters).insert(key.to_owned(), tx);
        }
        self.wake.notify_one();
        Ok(rx)
    }

    /// Gives up the AUTH under `key`.
    pub(super) fn cancel_auth(&self, key: &str) {
        self.lock().demux.cancel_auth(key);
        lock(&self.auth_waiters).remove(key);
    }

    /// Holds the connection open for a session about to join it; false
    /// when it is closed or its sessions and seats fill it.
    pub(super) fn hold_seat(&self) -> bool {
        let mut core = self.lock();
        let full = core.demux.len() + core.seats >= msrp_proto::demux::MAX_SESSIONS;
        if self.is_closed() || full {
            return false;
        }
        core.seats += 1;
        true
    }

    /// Lets a seat go: the connection closes when nothing holds it.
    pub(super) fn drop_seat(&self) {
        let unused = {
            let mut core = self.lock();
            core.seats = core.seats.saturating_sub(1);
            core.demux.is_empty() && core.seats == 0
        };
        if unused {
            self.shut();
        }
    }
}

impl MsrpEndpoint {
    /// Authorizes `session_id` at `relay` on our live connection to it,
    /// or on one dialed now and kept for later sessions (see the module
    /// doc). `trace` traces a connection dialed now.
    pub async fn authorize_shared(
        &self,
        relay: &MsrpRelaySettings,
        session_id: &str,
        tls: Arc<rustls::ClientConfig>,
        trace: Option<super::trace::TraceSink>,
    ) -> Result<RelayPath, String> {
        let key = RelayKey::of(relay);
        let (seat, bound) =
            {
                let _dialing = self.relay_connections.dialing.lock().await;
                match self.relay_connections.seat_on_live(&key, session_id) {
                    Some(found) => found,
                    None => {
                        let (io, bound) = tokio::time::timeout(AUTH_TIMEOUT, dial(relay, tls))
                            .await
                            .map_err(|_| {
                                format!("cannot connect to the MSRP relay {} in time", relay.uri)
                            })??;
                        let seats = Seats::default();
                        let shared = Shared::spawn_idle(io, trace, Some(seats.hook()));
                        let seat = RelaySeat::take(shared.clone(), seats.clone(), session_id)
                            .ok_or_else(|| {
                                format!("the MSRP relay {} closed the connection", relay.uri)
                            })?;
                        self.relay_connections.lock().entry(key).or_default().push(
                            RelayConnection {
                                shared: Arc::downgrade(&shared),
                                seats,
                                local: bound,
                            },
                        );
                        (seat, bound)
                    }
                }
            };
        let local = our_uri(relay, bound, session_id);
        let client = auth_client(relay, &local)?;
        let answered = seat.shared.start_auth(session_id, client)?;
        let authorized = match tokio::time::timeout(AUTH_TIMEOUT, answered).await {
            Ok(Ok(Ok(a))) => a,
            Ok(Ok(Err(e))) => return Err(format!("MSRP relay {}: {e}", relay.uri)),
            Ok(Err(_)) => {
                return Err(format!(
                    "the MSRP relay {} closed the connection during AUTH",
                    relay.uri
                ))
            }
            Err(_) => {
                seat.shared.cancel_auth(session_id);
                return Err(format!(
                    "the MSRP relay {} did not authorize us in time",
                    relay.uri
                ));
            }
        };
        Ok(RelayPath {
            link: RelayLink::Shared(seat),
            local,
            authorized,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use msrp_proto::{MsrpUri, Session, SessionConfig, SessionEvent};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    use super::*;
    use crate::msrp::ConnectionEvent;

    fn uri(s: &str) -> MsrpUri {
        MsrpUri::parse(s).unwrap()
    }

    fn send(tid: &str, to_session: &str) -> Vec<u8> {
        format!(
            "MSRP {tid} SEND\r\nTo-Path: msrp://127.0.0.1:4000/{to_session};tcp\r\n\
             From-Path: msrp://127.0.0.1:2855/bound;tcp msrp://10.0.0.2:9/peer;tcp\r\n\
             Message-ID: m{tid}\r\nByte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\n\
             hello\r\n-------{tid}$\r\n"
        )
        .into_bytes()
    }

    async fn read_until(relay: &mut DuplexStream, want: &str) -> String {
        let mut text = String::new();
        let mut buf = [0u8; 4096];
        while !text.contains(want) {
            let n = tokio::time::timeout(Duration::from_secs(10), relay.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("no {want:?} in {text:?}"))
                .unwrap();
            assert!(n > 0, "closed before {want:?}: {text:?}");
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        text
    }

    /// The relay may forward the peer's first request before our session
    /// has started (its SDP answer is out, its start not yet run): the
    /// request waits for the seat's session and is its first; one for a
    /// session with no seat gets 481; the connection closes with the
    /// last session once no seat holds it.
    #[tokio::test]
    async fn a_request_before_its_session_joins_waits_for_it() {
        let (ours, mut relay) = tokio::io::duplex(64 * 1024);
        let seats = Seats::default();
        let shared = Shared::spawn_idle(Box::new(ours), None, Some(seats.hook()));
        let seat = RelaySeat::take(shared.clone(), seats.clone(), "seated1").unwrap();
        assert!(RelaySeat::take(shared.clone(), seats.clone(), "seated1").is_none());
        relay.write_all(&send("tid00001", "seated1")).await.unwrap();
        let offered = async {
            while !seats.lock().get("seated1").is_some_and(Option::is_some) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), offered)
            .await
            .expect("the held request offered to the seat");

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sink: EventSink = Arc::new(move |e| {
            let _ = tx.send(e);
        });
        let cfg = SessionConfig::new(
            vec![uri("msrp://127.0.0.1:4000/seated1;tcp")],
            vec![uri("msrp://127.0.0.1:2855/bound;tcp")],
            1,
        );
        let conn = seat.run(Session::new(cfg), sink).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event")
            .unwrap();
        assert!(
            matches!(&got, ConnectionEvent::Session(SessionEvent::MessageReceived { body, .. }) if body == b"hello"),
            "{got:?}"
        );
        read_until(&mut relay, "MSRP tid00001 200").await;

        relay.write_all(&send("tid00002", "noseat")).await.unwrap();
        read_until(&mut relay, "MSRP tid00002 481").await;

        drop(conn);
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(10), relay.read(&mut buf))
            .await
            .expect("the connection closes")
            .unwrap_or(0);
        assert_eq!(n, 0);
        assert!(shared.is_closed());
    }

    /// A seat given up before its session joins (the stream ended during
    /// negotiation) does not keep a connection nothing else uses.
    #[tokio::test]
    async fn a_seat_given_up_closes_a_connection_nothing_else_holds() {
        let (ours, _relay) = tokio::io::duplex(1024);
        let seats = Seats::default();
        let shared = Shared::spawn_idle(Box::new(ours), None, Some(seats.hook()));
        let first = RelaySeat::take(shared.clone(), seats.clone(), "s1").unwrap();
        let second = RelaySeat::take(shared.clone(), seats.clone(), "s2").unwrap();
        drop(first);
        assert!(!shared.is_closed(), "the other seat holds it");
        drop(second);
        assert!(shared.is_closed());
        assert!(RelaySeat::take(shared.clone(), seats, "s3").is_none());
    }

    /// A connection takes no more seats than it may carry sessions: the
    /// next session dials a connection of its own.
    #[tokio::test]
    async fn seats_are_bounded_by_the_sessions_a_connection_carries() {
        let (ours, _relay) = tokio::io::duplex(1024);
        let seats = Seats::default();
        let shared = Shared::spawn_idle(Box::new(ours), None, Some(seats.hook()));
        let max = msrp_proto::demux::MAX_SESSIONS;
        let held: Vec<RelaySeat> = (0..max)
            .map(|i| RelaySeat::take(shared.clone(), seats.clone(), &format!("s{i}")).unwrap())
            .collect();
        assert!(RelaySeat::take(shared.clone(), seats.clone(), "one-more").is_none());
        drop(held);
        assert!(shared.is_closed());
    }
}
