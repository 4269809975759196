//! ICMP errors for the engine's UDP socket. The socket is unconnected
//! (one socket talks to every peer), and for such a socket Linux reports
//! "port unreachable" and the like only with IP_RECVERR, on the error
//! queue, with the destination of the datagram that caused it. The engine
//! fails the client transactions to that destination at once: RFC 3261
//! §18.4 counts an ICMP error as a transport failure, and without it a
//! call to a closed port waits Timer B's 32 s.
//!
//! Elsewhere (not Linux) nothing is enabled and nothing is read: the
//! transactions time out as before.

use std::net::SocketAddr;

/// Asks the kernel to queue ICMP errors for `socket`; best effort.
#[cfg(target_os = "linux")]
pub(crate) fn enable(socket: &std::net::UdpSocket) {
    use nix::sys::socket::{setsockopt, sockopt};
    let v4 = socket.local_addr().map_or(true, |a| a.is_ipv4());
    let _ = if v4 {
        setsockopt(socket, sockopt::Ipv4RecvErr, &true)
    } else {
        setsockopt(socket, sockopt::Ipv6RecvErr, &true)
    };
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn enable(_: &std::net::UdpSocket) {}

/// Reads every queued error: the destination each was for, and what
/// happened in words. WouldBlock when none was queued (so that tokio
/// waits for the next).
#[cfg(target_os = "linux")]
pub(crate) fn read(
    socket: &impl std::os::fd::AsRawFd,
) -> std::io::Result<Vec<(SocketAddr, String)>> {
    use nix::errno::Errno;
    use nix::libc;
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};

    let fd = socket.as_raw_fd();
    let mut found = Vec::new();
    // Bounded: a flood of errors must not hold the engine's loop.
    for _ in 0..64 {
        let mut data = [0u8; 64];
        let mut iov = [std::io::IoSliceMut::new(&mut data)];
        let mut cmsg = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in6);
        let msg = match recvmsg::<SockaddrStorage>(
            fd,
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(m) => m,
            Err(Errno::EAGAIN) => break,
            Err(e) => return Err(e.into()),
        };
        let destination = msg.address.and_then(|a| {
            if let Some(v4) = a.as_sockaddr_in() {
                Some(SocketAddr::V4((*v4).into()))
            } else {
                a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
            }
        });
        let Ok(cmsgs) = msg.cmsgs() else {
            continue;
        };
        for c in cmsgs {
            let err = match c {
                ControlMessageOwned::Ipv4RecvErr(e, _) | ControlMessageOwned::Ipv6RecvErr(e, _) => {
                    e
                }
                _ => continue,
            };
            let from_icmp = matches!(
                err.ee_origin,
                libc::SO_EE_ORIGIN_ICMP | libc::SO_EE_ORIGIN_ICMP6
            );
            if let (true, Some(to)) = (from_icmp, destination) {
                found.push((to, words(err.ee_errno as i32, to)));
            }
        }
    }
    if found.is_empty() {
        Err(std::io::ErrorKind::WouldBlock.into())
    } else {
        Ok(found)
    }
}

#[cfg(target_os = "linux")]
fn words(errno: i32, to: SocketAddr) -> String {
    use nix::libc;
    match errno {
        libc::ECONNREFUSED => format!("port unreachable: nothing listens at {to} over UDP (ICMP)"),
        libc::EHOSTUNREACH => format!("host unreachable: {to} (ICMP)"),
        libc::ENETUNREACH => format!("network unreachable: {to} (ICMP)"),
        other => format!(
            "{to} over UDP: {} (ICMP)",
            std::io::Error::from_raw_os_error(other)
        ),
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn read(_: &impl Sized) -> std::io::Result<Vec<(SocketAddr, String)>> {
    Err(std::io::ErrorKind::WouldBlock.into())
}
