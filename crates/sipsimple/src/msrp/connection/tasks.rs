//! The reader's and the writer's tasks of a connection (see the parent
//! module for why there are two).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{join, ReadGate, Shared, MAX_BACKLOG, WRITE_BATCH};
use crate::msrp::MsrpIo;
use crate::sync::lock;

/// Reads until the peer closes, keeping nothing: while the last bytes
/// of a closed connection are written (see `Shared::parting`).
async fn discard_until_eof(reader: &mut tokio::io::ReadHalf<Box<dyn MsrpIo>>, buf: &mut [u8]) {
    while let Ok(n) = reader.read(buf).await {
        if n == 0 {
            return;
        }
    }
}

pub(super) async fn read_loop(
    shared: Arc<Shared>,
    mut reader: tokio::io::ReadHalf<Box<dyn MsrpIo>>,
    initial: Vec<u8>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut tracer = shared
        .trace
        .as_ref()
        .map(|_| crate::msrp::trace::ReadTracer::new());
    // What the server read to identify the connection first, then each
    // read straight from the buffer (no copy in between: a file's every
    // byte passes here).
    let mut n = initial.len();
    let mut first = Some(initial);
    loop {
        let got: &[u8] = match &first {
            Some(initial) => initial,
            None => buf.get(..n).unwrap_or_default(),
        };
        if let (Some(t), Some(sink)) = (&mut tracer, &shared.trace) {
            t.feed(got, &mut |text| sink("incoming", text));
        }
        if !got.is_empty() {
            let result = {
                let mut core = shared.lock();
                let r = core.demux.handle_input(Instant::now(), got);
                shared.drain(&mut core);
                r
            };
            shared.wake.notify_one();
            let result = match result {
                Ok(()) => join::settle_held(&shared).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                return shared.close(Some(format!("bad MSRP from the peer: {e}")));
            }
            if shared.close_dead() {
                return;
            }
        }
        first = None;
        // Read no more while our answers pile up unwritten.
        while !shared.closed.load(Ordering::SeqCst)
            && shared.lock().demux.pending_transmits() > MAX_BACKLOG
        {
            shared.drained.notified().await;
        }
        let gates: Vec<Arc<ReadGate>> =
            lock(&shared.gates).iter().map(|(_, g)| g.clone()).collect();
        for gate in gates {
            gate.wait_open(&shared.closed).await;
        }
        if shared.closed.load(Ordering::SeqCst) {
            if shared.parting.load(Ordering::SeqCst) {
                discard_until_eof(&mut reader, &mut buf).await;
            }
            return;
        }
        match reader.read(&mut buf).await {
            Ok(0) => {
                let cut = shared.lock().demux.in_message();
                let error =
                    cut.then(|| "the connection closed in the middle of a message".to_owned());
                return shared.close(error);
            }
            Ok(read) => n = read,
            Err(e) => return shared.close(Some(format!("reading: {e}"))),
        }
    }
}

pub(super) async fn write_loop(
    shared: Arc<Shared>,
    mut writer: tokio::io::WriteHalf<Box<dyn MsrpIo>>,
) {
    let mut batch: Vec<u8> = Vec::new();
    // A large chunk leaves the core in slices: the trace finds it whole.
    let mut tracer = shared
        .trace
        .as_ref()
        .map(|_| crate::msrp::trace::ReadTracer::new());
    loop {
        // A large chunk (a file's) is written as it is: copying it into
        // the batch would touch every byte once more.
        let mut large: Option<Vec<u8>> = None;
        let deadline = {
            let mut core = shared.lock();
            let now = Instant::now();
            if core.demux.poll_timeout().is_some_and(|t| t <= now) {
                core.demux.handle_timeout(now);
            }
            while batch.len() < WRITE_BATCH {
                match core.demux.poll_transmit(now) {
                    Some(t) => {
                        if let (Some(sink), Some(tracer)) = (&shared.trace, &mut tracer) {
                            tracer.feed(&t, &mut |text| sink("outgoing", text));
                        }
                        if t.len() >= WRITE_BATCH / 2 {
                            large = Some(t);
                            break;
                        }
                        batch.extend_from_slice(&t);
                    }
                    None => break,
                }
            }
            shared.drain(&mut core);
            core.demux.poll_timeout()
        };
        // Closed: done, unless the last session left bytes to write;
        // then they go and the stream is shut (flushing TLS) below.
        if shared.close_dead() && !shared.parting.load(Ordering::SeqCst) {
            return;
        }
        if !batch.is_empty() || large.is_some() {
            shared.drained.notify_one();
            shared.written.notify_waiters();
            for bytes in [Some(&batch), large.as_ref()].into_iter().flatten() {
                if bytes.is_empty() {
                    continue;
                }
                if let Err(e) = writer.write_all(bytes).await {
                    return shared.close(Some(format!("writing: {e}")));
                }
            }
            batch.clear();
            continue;
        }
        if shared.closed.load(Ordering::SeqCst) {
            let _ = writer.shutdown().await;
            return;
        }
        if let Err(e) = writer.flush().await {
            return shared.close(Some(format!("writing: {e}")));
        }
        match deadline {
            Some(d) => {
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = tokio::time::sleep_until(d.into()) => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}
