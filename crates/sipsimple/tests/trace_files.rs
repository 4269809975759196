//! `logging.trace_sip` and `logging.trace_dns` write what they say to
//! `logging.directory`: every SIP message (credentials masked) to
//! `sip_trace.txt`, every DNS query with its answer to `dns_trace.txt`
//! (against a real name server, dnsmasq), both readable by their owner
//! only.

mod common;

use std::time::Duration;

use common::{free_port, until, TempDir};
use sipsimple::application::SipApplication;
use sipsimple::notification::Filter;
use sipsimple::trace_log::{DNS_TRACE_FILE, SIP_TRACE_FILE};

/// An application tracing SIP and DNS into `dir`, whose account
/// registers (with a password) through `proxy.example.test`, which the
/// name server says is this very application: the REGISTER and its
/// answer are both ours to see.
async fn traced_app(dir: &TempDir, dns: std::net::SocketAddr) -> SipApplication {
    let port = free_port();
    let config = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = {port}\n\
         [dns]\nnameservers = [\"{dns}\"]\n\
         [logging]\ntrace_sip = true\ntrace_dns = true\ndirectory = {:?}\n\
         [accounts.\"alice@example.test\"]\nenabled = true\n\
         auth.password = \"very-secret\"\n\
         sip.outbound_proxy = \"sip:proxy.example.test:{port}\"\n",
        dir.0.display().to_string()
    );
    let app = SipApplication::new();
    let mut all = app.notification_center().subscribe(Filter::all());
    app.start(sipsimple::config::MemoryBackend::with(
        config.parse().unwrap(),
    ))
    .await
    .unwrap();
    until(&mut all, "SIPAccountRegistrationGotAnswer").await;
    app
}

/// The file's text once it holds `needle` (writes are flushed per
/// trace, but by another task).
async fn file_with(path: &std::path::Path, needle: &str) -> String {
    for _ in 0..50 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{} never held {needle:?}:\n{}",
        path.display(),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

#[tokio::test]
async fn trace_files_get_the_sip_messages_and_the_dns_queries() {
    let dns = common::dnsmasq(
        "example.test",
        &["--host-record=proxy.example.test,127.0.0.1".to_string()],
    )
    .await;
    let dir = TempDir::new("trace-files");
    let app = traced_app(&dir, dns.addr).await;

    let sip = file_with(&dir.0.join(SIP_TRACE_FILE), "REGISTER sip:example.test").await;
    assert!(sip.contains("--- sent UDP"), "{sip}");
    assert!(sip.contains("--- received UDP"), "{sip}");
    assert!(!sip.contains("very-secret"));

    let queries = file_with(&dir.0.join(DNS_TRACE_FILE), "proxy.example.test").await;
    let line = queries
        .lines()
        .find(|l| l.contains("A/AAAA proxy.example.test -> 127.0.0.1"))
        .unwrap_or_else(|| panic!("no A/AAAA query with its answer:\n{queries}"));
    assert!(line.contains("lookup_sip_proxy"), "{line}");

    #[cfg(unix)]
    for name in [SIP_TRACE_FILE, DNS_TRACE_FILE] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.0.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    app.stop();
}

#[tokio::test]
async fn without_the_settings_no_trace_file_is_written() {
    let dir = TempDir::new("trace-files-off");
    let app = SipApplication::new();
    let config = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
         [logging]\ndirectory = {:?}\n",
        dir.0.display().to_string()
    );
    app.start(sipsimple::config::MemoryBackend::with(
        config.parse().unwrap(),
    ))
    .await
    .unwrap();
    app.stop();
    assert!(!dir.0.join(SIP_TRACE_FILE).exists());
    assert!(!dir.0.join(DNS_TRACE_FILE).exists());
}
