//! A real VNC server on a virtual X display (TigerVNC's Xvnc, painted one
//! colour with xsetroot) and a real RFB client (vncsnapshot) for the
//! desktop-sharing tests. A missing tool fails the test and names its
//! Debian package (scripts/test.sh installs them).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A program the proof needs, or a failure that says how to get it.
pub fn tool(name: &str, package: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p.display().to_string();
        }
    }
    panic!(
        "{name} is missing: apt-get install {package} (scripts/test.sh installs it); \
         the desktop-sharing proof needs a real VNC server and client"
    );
}

/// An Xvnc on a display of its own, killed (by PID) when dropped.
pub struct Xvnc {
    child: Child,
    pub display: u32,
    pub port: u16,
}

impl Drop for Xvnc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Xvnc {
    /// A 320x240 screen painted `colour`.
    pub fn painted(colour: &str) -> Xvnc {
        let x = Xvnc::start();
        let status = Command::new(tool("xsetroot", "x11-xserver-utils"))
            .args(["-display", &format!(":{}", x.display), "-solid", colour])
            .status()
            .expect("xsetroot runs");
        assert!(status.success(), "xsetroot failed: {status}");
        x
    }

    fn start() -> Xvnc {
        let xvnc = tool("Xvnc", "tigervnc-standalone-server");
        // Another test binary may run one too: pick by PID, skip taken ones.
        let base = 440 + std::process::id() % 400;
        for display in base..base + 40 {
            let taken = Path::new(&format!("/tmp/.X{display}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{display}")).exists();
            if taken {
                continue;
            }
            let port = free_tcp_port();
            let mut child = Command::new(&xvnc)
                .arg(format!(":{display}"))
                .args(["-rfbport", &port.to_string()])
                .args(["-SecurityTypes", "None", "-geometry", "320x240"])
                .args(["-depth", "24", "-localhost", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvnc starts");
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Xvnc {
                        child,
                        display,
                        port,
                    };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("Xvnc did not start on any display from :{base}");
    }
}

/// The screen behind `at` as vncsnapshot captures it: RGB pixels, width,
/// height. Raw encoding: TigerVNC's Tight rectangles are beyond
/// vncsnapshot 1.2a.
pub fn capture(at: SocketAddr, dir: &Path) -> (Vec<u8>, u16, u16) {
    let out = dir.join("screen.jpg");
    let _ = std::fs::remove_file(&out);
    let mut snap = Command::new(tool("vncsnapshot", "vncsnapshot"))
        .args(["-quiet", "-allowblank", "-nocursor", "-encodings", "raw"])
        .args(["-quality", "100"])
        .arg(format!("{}::{}", at.ip(), at.port()))
        .arg(&out)
        .stdout(Stdio::null())
        .spawn()
        .expect("vncsnapshot runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = snap.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = snap.kill();
            let _ = snap.wait();
            panic!("vncsnapshot did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "vncsnapshot failed: {status}");
    let file = std::fs::File::open(&out).expect("vncsnapshot wrote its capture");
    let mut decoder = jpeg_decoder::Decoder::new(std::io::BufReader::new(file));
    let pixels = decoder.decode().expect("a JPEG");
    let info = decoder.info().expect("JPEG info");
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    (pixels, info.width, info.height)
}

/// How many pixels are not near `rgb` (JPEG is lossy).
pub fn off_colour(pixels: &[u8], rgb: [u8; 3]) -> usize {
    pixels
        .chunks(3)
        .filter(|px| px.iter().zip(rgb).any(|(a, b)| a.abs_diff(b) > 16))
        .count()
}
