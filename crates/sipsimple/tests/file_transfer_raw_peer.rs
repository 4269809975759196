//! A file we push, against a raw MSRP peer on a socket of the test's
//! that answers its chunk as each test needs: the spec's
//! FileTransferStreamDidNotDeliverChunk, with the Message-ID of the
//! file's chunks and the peer's code and reason, for a chunk refused
//! with an error response, for a failure REPORT (RFC 4975 §7.1.2), and
//! for a chunk that got no response within the 30 s transaction timeout
//! (RFC 4975 §7.1.1: as if a 408 had come).
//!
//! A push given up half-way ends its message with `#` (RFC 4975 §7.1),
//! the chunk being written cut short, before the connection closes.
//!
//! And a file a raw peer pushes to us under a hostile name (RFC 5547
//! offer written by the test): it lands inside `file_transfer.directory`
//! under a plain name.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::raw_msrp::{context, read_until};
use common::{account_app_with, until, TempDir};
use msrp_proto::{Event, Flag, Head, Limits, Method, Parser};
use sdp::SessionDescription;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::streams::msrp::{file_selector_for, FileTransferStream};
use sipsimple::streams::{MediaStream, StreamDirection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const THEIRS: &str = "msrp://127.0.0.1:9/rawpeer;tcp";

/// Our push of a 1000-byte file, connected to the raw peer (which
/// answered `passive`) and bound; the peer has read the file's chunk.
struct Pushing {
    _app: sipsimple::application::SipApplication,
    _dir: TempDir,
    stream: Arc<FileTransferStream>,
    all: Subscription,
    io: TcpStream,
    /// Our URI, the To-Path of what the peer sends.
    ours: String,
    /// The chunk as it came, its transaction id and its Message-ID.
    chunk: String,
    tid: String,
    message_id: String,
}

/// `len` bytes of the alphabet over and over: a file whose bytes show
/// where in it a chunk came from.
fn alphabet(len: usize) -> String {
    (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

fn header<'a>(wire: &'a str, name: &str) -> Option<&'a str> {
    wire.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}

/// Our push of a file holding `text`, connected to the raw peer (which
/// answered `passive`) and bound: `wire` is what the peer read after the
/// binding SEND's answer, its own reading going on from there.
struct Connected {
    app: sipsimple::application::SipApplication,
    dir: TempDir,
    stream: Arc<FileTransferStream>,
    all: Subscription,
    io: TcpStream,
    ours: String,
    wire: String,
}

async fn connected_push(text: &str) -> Connected {
    connected_push_via(text, false).await
}

/// [`connected_push`], the peer's path going through a relay when
/// `relayed`: the raw peer is then that relay, the first hop.
async fn connected_push_via(text: &str, relayed: bool) -> Connected {
    let app = account_app_with("alice", "", "msrp.transport = \"tcp\"\n").await;
    let all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let settings = app
        .session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap();
    let dir = TempDir::new("ft-raw");
    let file = dir.0.join("note.txt");
    std::fs::write(&file, text).unwrap();
    let selector = file_selector_for(&file, None, true).await.unwrap();
    let stream = Arc::new(FileTransferStream::new_outgoing(
        &settings, selector, file, None,
    ));
    stream
        .initialize(context(&app), StreamDirection::Outgoing)
        .await
        .unwrap();
    let offer = stream.get_local_media(None).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let theirs = THEIRS.replace(":9/", &format!(":{port}/"));
    let path = match relayed {
        true => format!("{} {THEIRS}", theirs.replace("rawpeer", "relay")),
        false => theirs.clone(),
    };
    let answer = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=message {port} TCP/MSRP *\r\na=path:{path}\r\na=accept-types:*\r\n\
         a=setup:passive\r\na=recvonly\r\n"
    );
    let remote = SessionDescription::parse(answer.as_bytes()).unwrap();
    let mut local = remote.clone();
    local.media = vec![offer];
    stream.start(&local, &remote, 0).unwrap();
    let (mut io, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("we connect to the passive peer")
        .unwrap();
    let ours = stream.base().local_uri().unwrap().to_string();
    // The binding SEND (RFC 4975 §5.4) first, then the file's chunk.
    let wire = read_until(&mut io, "Content-Type: ").await;
    let bind = wire.split_whitespace().nth(1).unwrap().to_owned();
    let ok = format!(
        "MSRP {bind} 200 OK\r\nTo-Path: {ours}\r\nFrom-Path: {theirs}\r\n-------{bind}$\r\n"
    );
    io.write_all(ok.as_bytes()).await.unwrap();
    Connected {
        app,
        dir,
        stream,
        all,
        io,
        ours,
        wire,
    }
}

async fn pushing() -> Pushing {
    let text = alphabet(1000);
    let Connected {
        app,
        dir,
        stream,
        all,
        mut io,
        ours,
        mut wire,
    } = connected_push(&text).await;
    let at = wire.rfind(" SEND\r\n").unwrap();
    let start = wire[..at].rfind("MSRP ").unwrap();
    let tid = wire[start..].split_whitespace().nth(1).unwrap().to_owned();
    let end = format!("-------{tid}$");
    if !wire.contains(&end) {
        wire.push_str(&read_until(&mut io, &end).await);
    }
    let chunk = wire[start..].to_owned();
    assert!(chunk.contains(&text), "{chunk}");
    let message_id = header(&chunk, "Message-ID").unwrap().to_owned();
    Pushing {
        _app: app,
        _dir: dir,
        stream,
        all,
        io,
        ours,
        chunk,
        tid,
        message_id,
    }
}

/// What a FileTransferStreamDidNotDeliverChunk said, with the error of
/// the FileTransferStreamDidFinish that follows.
struct NotDelivered {
    message_id: String,
    code: u16,
    reason: String,
    chunk: Option<Head>,
    error: Option<String>,
}

async fn not_delivered(all: &mut Subscription) -> NotDelivered {
    let seen = until(all, "FileTransferStreamDidNotDeliverChunk").await;
    let NotificationData::FileTransferStreamDidNotDeliverChunk {
        message_id,
        code,
        reason,
        chunk,
    } = seen.last().unwrap().data.clone()
    else {
        unreachable!()
    };
    let finish = until(all, "FileTransferStreamDidFinish").await;
    let NotificationData::FileTransferStreamDidFinish { error } =
        finish.last().unwrap().data.clone()
    else {
        unreachable!()
    };
    NotDelivered {
        message_id,
        code,
        reason,
        chunk,
        error,
    }
}

#[tokio::test]
async fn a_chunk_refused_with_an_error_response_is_not_delivered_with_its_status() {
    let mut p = pushing().await;
    // RFC 5547's chunks ask for success REPORTs and every response.
    assert_eq!(header(&p.chunk, "Success-Report"), Some("yes"));
    assert!(matches!(
        header(&p.chunk, "Failure-Report"),
        None | Some("yes")
    ));
    let refused = format!(
        "MSRP {tid} 413 Not that big\r\nTo-Path: {}\r\nFrom-Path: {THEIRS}\r\n-------{tid}$\r\n",
        p.ours,
        tid = p.tid
    );
    p.io.write_all(refused.as_bytes()).await.unwrap();
    let n = not_delivered(&mut p.all).await;
    assert_eq!(
        (n.message_id.as_str(), n.code, n.reason.as_str()),
        (p.message_id.as_str(), 413, "Not that big")
    );
    // The spec's `chunk`: the response as the peer sent it.
    let Some(Head::Response(resp)) = n.chunk else {
        panic!("no response head: {:?}", n.chunk);
    };
    assert_eq!((resp.tid.as_str(), resp.status), (p.tid.as_str(), 413));
    assert_eq!(resp.comment.as_deref(), Some("Not that big"));
    assert_eq!(resp.headers.get("To-Path"), Some(p.ours.as_str()));
    assert!(n.error.unwrap().contains("413"));
    assert!(p.stream.progress().error.is_some());
    p.stream.end();
}

#[tokio::test]
async fn a_success_report_for_the_file_is_delivered_with_its_head() {
    let mut p = pushing().await;
    let ok = format!(
        "MSRP {tid} 200 OK\r\nTo-Path: {}\r\nFrom-Path: {THEIRS}\r\n-------{tid}$\r\n",
        p.ours,
        tid = p.tid
    );
    let report = format!(
        "MSRP rep8x REPORT\r\nTo-Path: {}\r\nFrom-Path: {THEIRS}\r\nMessage-ID: {}\r\n\
         Byte-Range: 1-1000/1000\r\nStatus: 000 200 Stored\r\n-------rep8x$\r\n",
        p.ours, p.message_id
    );
    p.io.write_all(format!("{ok}{report}").as_bytes())
        .await
        .unwrap();
    let seen = until(&mut p.all, "FileTransferStreamDidDeliverChunk").await;
    let NotificationData::FileTransferStreamDidDeliverChunk {
        message_id,
        code,
        reason,
        chunk,
        transferred_bytes,
        file_size,
    } = seen.last().unwrap().data.clone()
    else {
        unreachable!()
    };
    assert_eq!(
        (message_id.as_str(), code, transferred_bytes, file_size),
        (p.message_id.as_str(), 200, 1000, 1000)
    );
    // The reason is the REPORT's own, and the REPORT comes whole.
    assert_eq!(reason, "Stored");
    let Some(Head::Request(report)) = chunk else {
        panic!("no REPORT head: {chunk:?}");
    };
    assert_eq!(
        (report.tid.as_str(), &report.method),
        ("rep8x", &Method::Report)
    );
    assert_eq!(report.headers.get("Status"), Some("000 200 Stored"));
    assert_eq!(report.headers.get("Byte-Range"), Some("1-1000/1000"));
    assert_eq!(
        report.headers.get("Message-ID"),
        Some(p.message_id.as_str())
    );
    let finish = until(&mut p.all, "FileTransferStreamDidFinish").await;
    assert!(matches!(
        finish.last().unwrap().data,
        NotificationData::FileTransferStreamDidFinish { error: None }
    ));
    p.stream.end();
}

#[tokio::test]
async fn a_failure_report_for_the_file_is_not_delivered_with_its_status() {
    let mut p = pushing().await;
    let ok = format!(
        "MSRP {tid} 200 OK\r\nTo-Path: {}\r\nFrom-Path: {THEIRS}\r\n-------{tid}$\r\n",
        p.ours,
        tid = p.tid
    );
    let report = format!(
        "MSRP rep9x REPORT\r\nTo-Path: {}\r\nFrom-Path: {THEIRS}\r\nMessage-ID: {}\r\n\
         Byte-Range: 1-1000/1000\r\nStatus: 000 400 Hash mismatch\r\n-------rep9x$\r\n",
        p.ours, p.message_id
    );
    p.io.write_all(format!("{ok}{report}").as_bytes())
        .await
        .unwrap();
    let n = not_delivered(&mut p.all).await;
    assert_eq!(
        (n.message_id.as_str(), n.code, n.reason.as_str()),
        (p.message_id.as_str(), 400, "Hash mismatch")
    );
    let Some(Head::Request(report)) = n.chunk else {
        panic!("no REPORT head: {:?}", n.chunk);
    };
    assert_eq!(
        (report.tid.as_str(), &report.method),
        ("rep9x", &Method::Report)
    );
    assert_eq!(report.headers.get("Status"), Some("000 400 Hash mismatch"));
    assert_eq!(report.headers.get("Byte-Range"), Some("1-1000/1000"));
    assert_eq!(
        report.headers.get("Message-ID"),
        Some(p.message_id.as_str())
    );
    assert!(n.error.is_some());
    // Nothing was confirmed: no success REPORT came.
    assert_eq!(p.stream.progress().transferred_bytes, 0);
    p.stream.end();
}

#[tokio::test]
async fn a_chunk_without_a_response_in_30_s_is_not_delivered_as_408() {
    let mut p = pushing().await;
    // The peer never answers.
    let n = not_delivered(&mut p.all).await;
    assert_eq!(
        (n.message_id.as_str(), n.code),
        (p.message_id.as_str(), 408)
    );
    assert!(!n.reason.is_empty());
    // Our own timeout: no response or REPORT to pass on.
    assert_eq!(n.chunk, None);
    assert!(n.error.unwrap().contains("408"));
    drop(p.io);
    p.stream.end();
}

/// A raw peer pushes a file to us (RFC 5547: its `sendonly` offer, then
/// the file in one SEND on the connection it opens to us) under `name`,
/// written into its SDP as RFC 5547 §5 asks (quoted, `%`-encoded); what
/// our stream saved, and the directory it had to stay in.
async fn pushed_to_us_as(name_in_sdp: &str) -> (std::path::PathBuf, TempDir) {
    use sha1::Digest as _;
    use sipsimple::streams::msrp::FileTransferStreamType;
    use sipsimple::streams::MediaStreamType;

    let inbox = TempDir::new("ft-hostile");
    let global = format!("[file_transfer]\ndirectory = \"{}\"\n", inbox.0.display());
    let app = account_app_with("bob", &global, "msrp.transport = \"tcp\"\n").await;
    let account = app.account_manager().accounts().remove(0);
    let settings = app
        .session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap();
    let body = b"what a hostile peer sends".to_vec();
    let hash: Vec<String> = sha1::Sha1::digest(&body)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let offer = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=message 9 TCP/MSRP *\r\na=path:{THEIRS}\r\na=accept-types:*\r\n\
         a=setup:active\r\na=sendonly\r\n\
         a=file-selector:name:\"{name_in_sdp}\" type:text/plain size:{} hash:sha-1:{}\r\n",
        body.len(),
        hash.join(":")
    );
    let offer = SessionDescription::parse(offer.as_bytes()).unwrap();
    let stream = FileTransferStreamType
        .new_from_sdp(&settings, &offer, 0)
        .await
        .expect("a file offer makes a stream");
    let ctx = context(&app);
    let mut events = app
        .notification_center()
        .subscribe(Filter::sender(ctx.sender));
    stream
        .initialize(ctx, StreamDirection::Incoming)
        .await
        .unwrap();
    let answer = stream.get_local_media(Some((&offer, 0))).unwrap();
    let ours = answer.attribute("path").unwrap().to_owned();
    let mut local = offer.clone();
    local.media = vec![answer];
    stream.start(&local, &offer, 0).unwrap();
    let port = msrp_proto::MsrpUri::parse(&ours).unwrap().port.unwrap();
    let mut io = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let send = format!(
        "MSRP file1x SEND\r\nTo-Path: {ours}\r\nFrom-Path: {THEIRS}\r\nMessage-ID: hostile1\r\n\
         Byte-Range: 1-{n}/{n}\r\nContent-Type: text/plain\r\n\r\n{}\r\n-------file1x$\r\n",
        String::from_utf8_lossy(&body),
        n = body.len()
    );
    io.write_all(send.as_bytes()).await.unwrap();
    let seen = until(&mut events, "FileTransferStreamDidFinish").await;
    match &seen.last().unwrap().data {
        NotificationData::FileTransferStreamDidFinish { error } => {
            assert!(error.is_none(), "{error:?}")
        }
        other => panic!("{other:?}"),
    }
    let file = stream
        .downcast::<FileTransferStream>()
        .and_then(|s| s.progress().saved_to)
        .expect("the file was saved");
    assert_eq!(std::fs::read(&file).unwrap(), body);
    drop(io);
    (file, inbox)
}

/// RFC 5547 leaves the name to the receiver's care: every hostile one a
/// scripted peer can write into its offer lands as a plain name inside
/// `file_transfer.directory`, and never on another file.
#[tokio::test]
async fn hostile_names_from_a_scripted_peer_land_inside_the_directory() {
    let long = "x".repeat(400) + ".txt";
    for (name, want) in [
        ("../../../../tmp/escaped", Some("escaped")),
        ("/etc/passwd", Some("passwd")),
        ("..\\..\\boot.ini", Some("boot.ini")),
        ("a%00b.txt", Some("a_b.txt")),
        ("CON", Some("_CON")),
        ("", Some("file")),
        (".", Some("file")),
        ("..", Some("file")),
        ("line%0D%0Abreak", Some("line__break")),
        (&long, None),
    ] {
        let (saved, inbox) = pushed_to_us_as(name).await;
        let dir = inbox.0.canonicalize().unwrap();
        assert_eq!(
            saved.parent().map(|p| p.canonicalize().unwrap()),
            Some(dir.clone()),
            "{name:?} saved as {saved:?}"
        );
        let file_name = saved.file_name().unwrap().to_str().unwrap().to_owned();
        match want {
            Some(w) => assert_eq!(file_name, w, "{name:?}"),
            None => assert!(
                file_name.len() <= 255 && file_name.ends_with(".txt"),
                "{file_name}"
            ),
        }
        // Nothing else was written: the directory holds the one file.
        let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(entries.len(), 1, "{name:?}: {entries:?}");
    }
    assert!(!std::path::Path::new("/tmp/escaped").exists());
}

/// Every SEND of message `message_id` in `stream`: its Byte-Range as
/// written, the body bytes that came, and the flag of its end-line.
fn sends_of(stream: &[u8], message_id: &str) -> Vec<(String, Vec<u8>, Flag)> {
    let mut parser = Parser::new(Limits::default());
    parser.feed(stream).unwrap();
    let mut out = Vec::new();
    let mut current: Option<(String, Vec<u8>)> = None;
    while let Some(ev) = parser.poll().unwrap() {
        match ev {
            Event::Head(Head::Request(r)) if r.method == Method::Send => {
                current = (r.headers.get("Message-ID") == Some(message_id))
                    .then(|| (r.headers.get("Byte-Range").unwrap().to_owned(), Vec::new()));
            }
            Event::Head(_) => current = None,
            Event::BodyData(b) => {
                if let Some((_, body)) = &mut current {
                    body.extend_from_slice(&b);
                }
            }
            Event::End(flag) => {
                if let Some((range, body)) = current.take() {
                    out.push((range, body, flag));
                }
            }
        }
    }
    out
}

/// A push given up half-way (the stream deactivated and ended, as a
/// session does on BYE or on removing it) ends its message with `#`
/// (RFC 4975 §7.1): the chunk being written is cut short, its range end
/// `*` as a chunk that may be cut says, or an empty chunk follows the
/// last one written; nothing of the message comes after the `#`, and
/// the connection closes only after it. 32 MiB cannot all be written to
/// a peer that reads nothing, so the push is half-way when it is given
/// up.
#[tokio::test]
async fn a_push_given_up_half_way_ends_with_a_hash_before_the_connection_closes() {
    let len = 32usize << 20;
    let text = alphabet(len);
    let Connected {
        app: _app,
        dir: _dir,
        stream,
        mut all,
        mut io,
        wire,
        ..
    } = connected_push(&text).await;
    stream.deactivate();
    stream.end();
    let mut stream_bytes = wire.into_bytes();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), io.read(&mut buf))
            .await
            .expect("the connection closes after the `#`")
            .unwrap();
        if n == 0 {
            break;
        }
        stream_bytes.extend_from_slice(&buf[..n]);
    }
    let first = String::from_utf8_lossy(&stream_bytes[..4096.min(stream_bytes.len())]).into_owned();
    let at = first.rfind(" SEND\r\n").unwrap();
    let start = first[..at].rfind("MSRP ").unwrap();
    let message_id = header(&first[start..], "Message-ID").unwrap().to_owned();
    let sends = sends_of(&stream_bytes, &message_id);
    let (ranges, flags): (Vec<_>, Vec<_>) = sends.iter().map(|(r, _, f)| (r, *f)).unzip();
    assert_eq!(
        ranges.first().map(|r| r.as_str()),
        Some(format!("1-*/{len}").as_str()),
        "a 128 KiB chunk may be cut: its end is `*`"
    );
    assert_eq!(flags.last(), Some(&Flag::Aborted), "{ranges:?} {flags:?}");
    assert!(
        flags[..flags.len() - 1].iter().all(|f| *f == Flag::More),
        "{flags:?}"
    );
    // What came is the file's start, and not all of it.
    let body: Vec<u8> = sends.iter().flat_map(|(_, b, _)| b.clone()).collect();
    assert!(body.len() < len, "{}", body.len());
    assert_eq!(&body[..], &text.as_bytes()[..body.len()]);
    // Cut in mid-chunk (`*`), or an empty chunk at the next byte.
    let (last_range, last_body, _) = sends.last().unwrap();
    let next = body.len() + 1;
    assert!(
        last_range.contains("-*/")
            || (last_body.is_empty() && *last_range == format!("{next}-{}/{len}", next - 1)),
        "{last_range} with {} bytes",
        last_body.len()
    );
    let finish = until(&mut all, "FileTransferStreamDidFinish").await;
    assert!(matches!(
        &finish.last().unwrap().data,
        NotificationData::FileTransferStreamDidFinish { error: Some(_) }
    ));
}

/// Through a relay, a push sends only three 8 KiB chunks (what Kamailio
/// queues while it connects onward) until a REPORT shows the path open,
/// then the rest; a REPORT for a later chunk while an earlier one has
/// none means the relay lost that one (Kamailio drops a frame its full
/// queue refuses after its hop-by-hop 200): the push fails, naming the
/// lost bytes, instead of waiting for ever.
#[tokio::test]
async fn through_a_relay_a_push_waits_for_the_first_report_and_fails_on_a_lost_chunk() {
    const CHUNK: usize = 8192;
    let text = alphabet(5 * CHUNK);
    let Connected {
        app: _app,
        dir: _dir,
        stream,
        mut all,
        mut io,
        ours,
        mut wire,
    } = connected_push_via(&text, true).await;
    let at = wire.rfind(" SEND\r\n").unwrap();
    let start = wire[..at].rfind("MSRP ").unwrap();
    let message_id = header(&wire[start..], "Message-ID").unwrap().to_owned();
    let chunks_read = |wire: &str| sends_of(wire.as_bytes(), &message_id).len();
    while chunks_read(&wire) < 3 {
        wire.push_str(&read_until(&mut io, "\r\n").await);
    }
    // Nothing more comes before a REPORT (half a second given).
    let mut buf = vec![0u8; 4 * CHUNK];
    if let Ok(n) = tokio::time::timeout(Duration::from_millis(500), io.read(&mut buf)).await {
        wire.push_str(&String::from_utf8_lossy(&buf[..n.unwrap()]));
    }
    let sends = sends_of(wire.as_bytes(), &message_id);
    let ranges: Vec<&str> = sends.iter().map(|(r, ..)| r.as_str()).collect();
    assert_eq!(
        ranges,
        ["1-8192/40960", "8193-16384/40960", "16385-24576/40960"]
    );
    // From the peer through its relay: the path our chunks took.
    let from = header(&wire[start..], "To-Path").unwrap().to_owned();
    let report = |range: &str| {
        let tid = format!("rep{}", range.replace('-', "x"));
        format!(
            "MSRP {tid} REPORT\r\nTo-Path: {ours}\r\nFrom-Path: {from}\r\n\
             Message-ID: {message_id}\r\nByte-Range: {range}/40960\r\n\
             Status: 000 200 OK\r\n-------{tid}$\r\n"
        )
    };
    io.write_all(report("1-8192").as_bytes()).await.unwrap();
    // The path is open: the other two chunks come.
    while chunks_read(&wire) < 5 {
        wire.push_str(&read_until(&mut io, "\r\n").await);
    }
    // The second chunk gets no REPORT, the third does: lost.
    io.write_all(report("16385-24576").as_bytes())
        .await
        .unwrap();
    let seen = until(&mut all, "FileTransferStreamDidFinish").await;
    let failed = seen.iter().find_map(|n| match &n.data {
        NotificationData::MediaStreamDidFail { reason } => Some(reason.clone()),
        _ => None,
    });
    let Some(NotificationData::FileTransferStreamDidFinish { error }) =
        seen.last().map(|n| n.data.clone())
    else {
        unreachable!()
    };
    let lost = "a relay lost bytes 8193-16384 of the file";
    assert!(
        failed.as_deref().is_some_and(|r| r.contains(lost)),
        "{failed:?}"
    );
    assert!(
        error.as_deref().is_some_and(|e| e.contains(lost)),
        "{error:?}"
    );
    stream.end();
}
