//! Running SIPp from the tests: its scenarios in `tests/sipp`, the
//! arguments every run shares, and waiting for it to listen.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use sipsimple::engine::TransportKind;

pub fn scenario(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
        .display()
        .to_string()
}

pub fn sipp_available() {
    let ok = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        ok.is_ok(),
        "SIPp is not installed: run scripts/test.sh (it installs the Debian package sip-tester)"
    );
}

/// Waits (up to 10 s) until SIPp holds its `port` (UDP or TCP), instead
/// of a fixed sleep that a loaded machine can outrun.
pub async fn sipp_listening(port: u16) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
        && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "SIPp did not bind port {port}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn sipp_transport(t: TransportKind) -> &'static str {
    match t {
        TransportKind::Udp => "u1",
        _ => "t1",
    }
}

/// Runs SIPp to completion (bounded by its own -timeout) off the runtime.
pub async fn run_sipp(args: Vec<String>) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new("sipp")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("sipp runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    })
    .await
    .unwrap()
}

pub fn common_args(port: u16, media_port: u16, t: TransportKind) -> Vec<String> {
    [
        "-i",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-mp",
        &media_port.to_string(),
        "-t",
        sipp_transport(t),
        "-nostdin",
        "-timeout",
        "20s",
        "-timeout_error",
        "-max_socket",
        "10",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
