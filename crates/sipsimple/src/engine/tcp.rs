//! One stream connection (TCP or TLS): a reader task that frames messages
//! with `StreamFramer` and a writer task fed by a bounded queue. Both end
//! on error, idle timeout or engine shutdown; the engine hears `Closed`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sip_proto::transaction::{Target, TransportKind};
use sip_proto::{Frame, Limits, StreamFramer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Messages waiting to be written on one connection. A peer that does not
/// read fills it, and the connection is dropped rather than the engine
/// waiting or buffering without bound.
pub(crate) const WRITE_QUEUE: usize = 64;

/// The name a TLS server proves (RFC 5922 §4): a SIP domain or TLS name.
pub(crate) type TlsName = rustls::pki_types::ServerName<'static>;

/// A connection is known by its peer address and transport and, for one
/// we open over TLS, the name it is verified for: two names served at one
/// address are two connections, neither vouched for by the other's
/// certificate. Accepted connections and TCP have no name; their peer
/// address alone tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ConnKey {
    pub(crate) addr: SocketAddr,
    pub(crate) transport: TransportKind,
    pub(crate) name: Option<TlsName>,
}

impl ConnKey {
    pub(crate) fn unnamed(addr: SocketAddr, transport: TransportKind) -> ConnKey {
        ConnKey {
            addr,
            transport,
            name: None,
        }
    }

    pub(crate) fn target(&self) -> Target {
        Target {
            addr: self.addr,
            transport: self.transport,
        }
    }

    /// Whether messages for `t` may go over this connection.
    pub(crate) fn reaches(&self, t: Target) -> bool {
        self.addr == t.addr && self.transport == t.transport
    }
}

pub(crate) enum Stream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

pub(crate) enum ConnEvent {
    Frame(ConnKey, Frame),
    /// A framing error or I/O end: the connection is gone.
    Closed(ConnKey),
    Connected(ConnKey, Stream, SocketAddr),
    /// Why, in words for a user ("connection refused", a certificate
    /// the name does not match, ...).
    ConnectFailed(ConnKey, String),
}

pub(crate) struct ConnHandle {
    pub(crate) writer: mpsc::Sender<Bytes>,
    pub(crate) local: SocketAddr,
}

pub(crate) fn spawn(
    stream: Stream,
    key: ConnKey,
    local: SocketAddr,
    limits: Limits,
    idle: Duration,
    events: mpsc::Sender<ConnEvent>,
) -> ConnHandle {
    match stream {
        Stream::Tcp(s) => {
            let _ = s.set_nodelay(true);
            spawn_io(s, key, local, limits, idle, events)
        }
        Stream::Tls(s) => spawn_io(*s, key, local, limits, idle, events),
    }
}

fn spawn_io<S>(
    stream: S,
    key: ConnKey,
    local: SocketAddr,
    limits: Limits,
    idle: Duration,
    events: mpsc::Sender<ConnEvent>,
) -> ConnHandle
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (writer, mut queue) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    tokio::spawn(async move {
        while let Some(data) = queue.recv().await {
            let write = tokio::time::timeout(idle, async {
                wr.write_all(&data).await?;
                wr.flush().await
            })
            .await;
            if !matches!(write, Ok(Ok(()))) {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    tokio::spawn(async move {
        let mut framer = StreamFramer::new(limits);
        let mut buf = vec![0u8; 16 * 1024];
        'read: loop {
            let n = match tokio::time::timeout(idle, rd.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(n)) => n,
            };
            if framer.push(buf.get(..n).unwrap_or(&[])).is_err() {
                break;
            }
            loop {
                match framer.next_frame() {
                    Ok(Some(frame)) => {
                        let ev = ConnEvent::Frame(key.clone(), frame);
                        if events.send(ev).await.is_err() {
                            break 'read;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => break 'read,
                }
            }
        }
        let _ = events.send(ConnEvent::Closed(key)).await;
    });
    ConnHandle { writer, local }
}

/// Opens a TCP (and for a TLS key, TLS, verifying the key's name)
/// connection in the background.
pub(crate) fn connect(
    key: ConnKey,
    timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    events: mpsc::Sender<ConnEvent>,
) {
    tokio::spawn(async move {
        let attempt = async {
            let tcp = TcpStream::connect(key.addr)
                .await
                .map_err(|e| connect_error(&key, &e))?;
            let local = tcp.local_addr().map_err(|e| e.to_string())?;
            let stream = match (key.transport, &key.name) {
                (TransportKind::Tls, Some(name)) => {
                    let shown = name.to_str().into_owned();
                    let s = tokio_rustls::TlsConnector::from(tls)
                        .connect(name.clone(), tcp)
                        .await
                        .map_err(|e| format!("TLS with {} as {shown} failed: {e}", key.addr))?;
                    Stream::Tls(Box::new(tokio_rustls::TlsStream::Client(s)))
                }
                // Never TLS unverified for want of a name.
                (TransportKind::Tls, None) => {
                    return Err("no name to verify the TLS server against".to_owned())
                }
                _ => Stream::Tcp(tcp),
            };
            Ok::<_, String>((stream, local))
        };
        let ev = match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok((s, local))) => ConnEvent::Connected(key, s, local),
            Ok(Err(why)) => ConnEvent::ConnectFailed(key, why),
            Err(_) => {
                let why = format!("connecting to {} timed out", key.addr);
                ConnEvent::ConnectFailed(key, why)
            }
        };
        let _ = events.send(ev).await;
    });
}

/// A failed connect in words; a refusal says so plainly, since it is the
/// one a user most often meets (nothing listens there).
fn connect_error(key: &ConnKey, e: &std::io::Error) -> String {
    let transport = key.transport.via_name();
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        format!("connection refused by {} over {transport}", key.addr)
    } else {
        format!("cannot connect to {} over {transport}: {e}", key.addr)
    }
}

/// Completes a TLS handshake on an accepted connection in the background.
pub(crate) fn accept_tls(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    timeout: Duration,
    events: mpsc::Sender<ConnEvent>,
) {
    tokio::spawn(async move {
        let key = ConnKey::unnamed(peer, TransportKind::Tls);
        let handshake = async {
            let local = tcp.local_addr().ok()?;
            let s = tokio::time::timeout(timeout, acceptor.accept(tcp))
                .await
                .ok()?
                .ok()?;
            Some((
                Stream::Tls(Box::new(tokio_rustls::TlsStream::Server(s))),
                local,
            ))
        };
        // Either way the engine hears of it: the handshake counted
        // against the connection limit until now.
        let ev = match handshake.await {
            Some((stream, local)) => ConnEvent::Connected(key, stream, local),
            None => ConnEvent::ConnectFailed(key, "TLS handshake failed".into()),
        };
        let _ = events.send(ev).await;
    });
}
