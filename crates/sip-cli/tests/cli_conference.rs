//! `sip conference` as a process with two `sip listen` processes as the
//! parties: alice plays 1000 Hz into the conference, bob's listener
//! 500 Hz, dave's 700 Hz. Each listener records what arrives: the other
//! listener's tone and alice's, never its own; alice's `--output` is the
//! whole conference. Hold and unhold typed on stdin, SIGTERM hangs up.

mod common;

use std::path::{Path, PathBuf};

use common::{free_udp_port, sip, Dir, Proc};
use sipsimple::media::tone::goertzel;
use sipsimple::streams::audio::read_wav;

fn config(dir: &Path, user: &str, port: u16) -> PathBuf {
    let path = dir.join(format!("{user}.toml"));
    std::fs::write(
        &path,
        format!(
            "local_ip = \"127.0.0.1\"\ndefault_account = \"{user}@127.0.0.1\"\n\
             [sip]\ntransport_list = [\"udp\"]\nudp_port = {port}\n\
             [accounts.\"{user}@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n"
        ),
    )
    .unwrap();
    path
}

/// `present` stand out of the noise (1870 Hz, which nobody plays);
/// `absent` are far below the weakest of them.
fn check(who: &str, path: &Path, present: &[f64], absent: &[f64]) {
    let s = read_wav(path).unwrap_or_else(|e| panic!("{who}: {e}"));
    assert!(s.len() >= 8000, "{who}: {} samples", s.len());
    let level = |hz: f64| goertzel(&s, 8000, hz);
    let noise = level(1870.0);
    let weakest = present
        .iter()
        .map(|hz| {
            let l = level(*hz);
            assert!(
                l > 50.0 * noise,
                "{who} hears {hz} Hz ({l:.2e}, noise {noise:.2e})"
            );
            l
        })
        .fold(f64::MAX, f64::min);
    for hz in absent {
        let l = level(*hz);
        assert!(
            l * 50.0 < weakest,
            "{who} does not hear {hz} Hz ({l:.2e} vs {weakest:.2e})"
        );
    }
}

#[test]
fn conference_joins_two_calls_with_the_local_tone() {
    let dir = Dir::new("conference");
    let (bob_port, dave_port) = (free_udp_port(), free_udp_port());
    let listener = |user: &str, port: u16, hz: &str| {
        let out = dir.0.join(format!("{user}.wav"));
        let cfg = config(&dir.0, user, port);
        let p = Proc::listen(
            &cfg,
            &[
                "--auto-answer",
                "--tone",
                hz,
                "--max-calls",
                "1",
                "--output",
                out.to_str().unwrap(),
            ],
        );
        (p, out)
    };
    let (mut bob, bob_wav) = listener("bob", bob_port, "500");
    let (mut dave, dave_wav) = listener("dave", dave_port, "700");
    let all_wav = dir.0.join("all.wav");

    let mut c = sip(&config(&dir.0, "alice", 0));
    c.arg("conference")
        .arg(format!("sip:bob@127.0.0.1:{bob_port}"))
        .arg(format!("sip:dave@127.0.0.1:{dave_port}"))
        .args(["--tone", "1000", "--output"])
        .arg(&all_wav);
    let mut alice = Proc::start(c);
    alice.wait_for("[1] calling sip:bob@");
    alice.saw("joined the conference (1 in it)");
    alice.saw("joined the conference (2 in it)");
    std::thread::sleep(std::time::Duration::from_secs(3));
    alice.type_line("hold");
    alice.wait_for("conference on hold");
    std::thread::sleep(std::time::Duration::from_secs(1));
    alice.type_line("unhold");
    alice.wait_for("conference resumed");
    std::thread::sleep(std::time::Duration::from_secs(2));
    alice.terminate();
    assert_eq!(alice.exit_code(15), Some(0), "{:?}", alice.seen);
    for n in ["[1] call ended", "[2] call ended"] {
        assert!(
            alice.seen.iter().any(|l| l.contains(n)),
            "{n}: {:?}",
            alice.seen
        );
    }
    bob.wait_for("stopped");
    dave.wait_for("stopped");
    assert_eq!(bob.exit_code(10), Some(0));
    assert_eq!(dave.exit_code(10), Some(0));

    check("bob", &bob_wav, &[700.0, 1000.0], &[500.0]);
    check("dave", &dave_wav, &[500.0, 1000.0], &[700.0]);
    check(
        "the conference recording",
        &all_wav,
        &[500.0, 700.0, 1000.0],
        &[],
    );
}
