//! A raw MSRP peer's side of the tests: the test's own socket speaks the
//! wire, and these read it and give streams the context a session would.

use std::time::Duration;

use sipsimple::streams::StreamContext;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

pub fn context(app: &sipsimple::application::SipApplication) -> StreamContext {
    let center = app.notification_center();
    StreamContext {
        sender: center.new_sender(),
        session: center.new_sender(),
        center: center.clone(),
        recordings: None,
        local_identity: "sip:alice@example.test".into(),
        remote_identity: "sip:peer@example.test".into(),
    }
}

/// Reads until `want` has been seen; returns all that was read.
pub async fn read_until(io: &mut TcpStream, want: &str) -> String {
    let mut text = String::new();
    let mut buf = vec![0u8; 8192];
    while !text.contains(want) {
        let n = tokio::time::timeout(Duration::from_secs(10), io.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no {want:?} in time; read {text:?}"))
            .unwrap();
        assert!(n > 0, "closed before {want:?}; read {text:?}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    text
}
