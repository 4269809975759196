//! One TCP connection: a reader task that frames messages with
//! `StreamFramer` and a writer task fed by a bounded queue. Both end on
//! error, idle timeout or engine shutdown; the engine hears `Closed`.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use sip_proto::{Frame, Limits, StreamFramer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Messages waiting to be written on one connection. A peer that does not
/// read fills it, and the connection is dropped rather than the engine
/// waiting or buffering without bound.
pub(crate) const WRITE_QUEUE: usize = 64;

pub(crate) enum ConnEvent {
    Frame(SocketAddr, Frame),
    /// A framing error or I/O end: the connection is gone.
    Closed(SocketAddr),
    Connected(SocketAddr, TcpStream),
    ConnectFailed(SocketAddr),
}

pub(crate) struct ConnHandle {
    pub(crate) writer: mpsc::Sender<Bytes>,
    pub(crate) local: SocketAddr,
}

pub(crate) fn spawn(
    stream: TcpStream,
    peer: SocketAddr,
    limits: Limits,
    idle: Duration,
    events: mpsc::Sender<ConnEvent>,
) -> Option<ConnHandle> {
    let local = stream.local_addr().ok()?;
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let (writer, mut queue) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    tokio::spawn(async move {
        while let Some(data) = queue.recv().await {
            let write = tokio::time::timeout(idle, wr.write_all(&data)).await;
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
                        if events.send(ConnEvent::Frame(peer, frame)).await.is_err() {
                            break 'read;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => break 'read,
                }
            }
        }
        let _ = events.send(ConnEvent::Closed(peer)).await;
    });
    Some(ConnHandle { writer, local })
}

pub(crate) fn connect(peer: SocketAddr, timeout: Duration, events: mpsc::Sender<ConnEvent>) {
    tokio::spawn(async move {
        let ev = match tokio::time::timeout(timeout, TcpStream::connect(peer)).await {
            Ok(Ok(s)) => ConnEvent::Connected(peer, s),
            _ => ConnEvent::ConnectFailed(peer),
        };
        let _ = events.send(ev).await;
    });
}
