//! 10,000 concurrent established dialogs in one SipApplication: SIPp's
//! built-in UAC sets up 10,000 calls (INVITE with SDP, 200, ACK) at 500
//! calls/s and holds them for 60 s before its BYEs. The answering side
//! accepts each with a signalling-only stream (an application-defined
//! MediaStream that answers the audio m-line and moves no media), so the
//! heap counted while all 10,000 are up is the signalling state per
//! dialog: the session and its task, the sans-IO INVITE session with its
//! dialog, and the INVITE transaction the engine keeps until Timer L. It
//! is counted again once those transactions are gone (55 s in, before
//! the first BYE at 60 s).
//!
//! cargo bench -p sipsimple --bench dialogs_10k [-- CALLS]

#[path = "support/answer.rs"]
mod answer;
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/counting.rs"]
mod counting;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sdp::{Media, SessionDescription};
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::engine::TransportKind;
use sipsimple::streams::{
    BoxFuture, MediaStream, MediaStreamType, StreamContext, StreamDirection, StreamError,
    StreamSettings,
};

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// Answers an audio m-line with PCMU on a port nobody listens on.
#[derive(Debug)]
struct SignallingOnly;

impl MediaStream for SignallingOnly {
    fn stream_type(&self) -> &'static str {
        "audio"
    }

    fn get_local_media(
        &self,
        _remote: Option<(&SessionDescription, usize)>,
    ) -> Result<Media, StreamError> {
        let mut m = Media::new("audio", 9, "RTP/AVP", vec!["0".into()]);
        m.attributes
            .push(sdp::Attribute::new("rtpmap", "0 PCMU/8000"));
        Ok(m)
    }

    fn initialize(
        &self,
        _context: StreamContext,
        _direction: StreamDirection,
    ) -> BoxFuture<'_, Result<(), StreamError>> {
        Box::pin(async { Ok(()) })
    }

    fn start(
        &self,
        _local: &SessionDescription,
        _remote: &SessionDescription,
        _index: usize,
    ) -> Result<(), StreamError> {
        Ok(())
    }

    fn validate_update(&self, _remote: &SessionDescription, _index: usize) -> bool {
        true
    }

    fn update(
        &self,
        _local: &SessionDescription,
        _remote: &SessionDescription,
        _index: usize,
    ) -> Result<(), StreamError> {
        Ok(())
    }

    fn end(&self) {}
}

struct SignallingOnlyType;

impl MediaStreamType for SignallingOnlyType {
    fn type_name(&self) -> &'static str {
        "signalling-only"
    }

    fn priority(&self) -> i32 {
        100
    }

    fn new_from_sdp<'a>(
        &'a self,
        _settings: &'a StreamSettings,
        remote: &'a SessionDescription,
        index: usize,
    ) -> BoxFuture<'a, Option<Arc<dyn MediaStream>>> {
        let audio = remote.media.get(index).is_some_and(|m| m.media == "audio");
        Box::pin(async move { audio.then(|| Arc::new(SignallingOnly) as Arc<dyn MediaStream>) })
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let app = rt.block_on(async {
        let app = SipApplication::new();
        let config = "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
                      [accounts.\"uas@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n";
        app.start(MemoryBackend::with(config.parse().unwrap()))
            .await
            .unwrap();
        app.stream_registry().add(Arc::new(SignallingOnlyType));
        answer::answer_every_call(&app);
        app
    });
    let port = app
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap()
        .port();
    std::thread::sleep(Duration::from_secs(1));
    let heap_before = counting::live();
    let rss_before = rss_kib();
    let stats = std::env::temp_dir().join(format!("sipp-10k-{}.csv", std::process::id()));
    let mut sipp = Command::new("sipp")
        .arg(format!("127.0.0.1:{port}"))
        .args(["-sn", "uac", "-s", "uas", "-i", "127.0.0.1"])
        .args(["-p", &common::free_port().to_string()])
        .args(["-mp", &(30000 + common::free_port() % 10000).to_string()])
        .args(["-r", "500", "-m", &calls.to_string()])
        .args(["-l", &(calls + 100).to_string(), "-d", "60000"])
        .args(["-nostdin", "-timeout", "200s", "-max_socket", "100"])
        .args(["-trace_stat", "-stf"])
        .arg(&stats)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp is installed (scripts/test.sh installs it)");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(50)
        && app.session_manager().sessions().len() < calls
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let up_after = started.elapsed();
    // The transactions of the last calls finish their retransmission
    // windows; the dialogs stay.
    std::thread::sleep(Duration::from_secs(2));
    let up = app.session_manager().sessions().len();
    let heap = counting::live() - heap_before;
    let rss = rss_kib().saturating_sub(rss_before);
    println!(
        "{up} dialogs established at once (all up after {:.1} s): heap +{:.1} MiB, \
         {:.1} KiB per dialog; RSS +{:.1} MiB ({:.1} KiB per dialog)",
        up_after.as_secs_f64(),
        heap as f64 / 1048576.0,
        heap as f64 / 1024.0 / up.max(1) as f64,
        rss as f64 / 1024.0,
        rss as f64 / up.max(1) as f64
    );
    // Once the INVITE transactions have ended (RFC 6026's Timer L, 32 s
    // after each 2xx) and before the first BYE (60 s): the dialogs alone.
    let settle = Duration::from_secs(55);
    if let Some(left) = settle.checked_sub(started.elapsed()) {
        std::thread::sleep(left);
    }
    let up = app.session_manager().sessions().len();
    let heap = counting::live() - heap_before;
    println!(
        "{up} dialogs still up {:.0} s in, their transactions gone: heap +{:.1} MiB, \
         {:.1} KiB per dialog",
        started.elapsed().as_secs_f64(),
        heap as f64 / 1048576.0,
        heap as f64 / 1024.0 / up.max(1) as f64
    );
    let _ = sipp.wait();
    let text = std::fs::read_to_string(&stats).unwrap_or_default();
    let _ = std::fs::remove_file(&stats);
    let header: Vec<&str> = text.lines().next().unwrap_or_default().split(';').collect();
    let last: Vec<&str> = text.lines().last().unwrap_or_default().split(';').collect();
    let field = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .and_then(|i| last.get(i).copied())
            .unwrap_or("?")
            .to_owned()
    };
    println!(
        "SIPp: {} calls succeeded, {} failed",
        field("SuccessfulCall(C)"),
        field("FailedCall(C)")
    );
    app.stop();
    std::thread::sleep(Duration::from_secs(1));
}
