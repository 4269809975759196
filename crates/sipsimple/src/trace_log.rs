//! `logging.trace_sip` as a file: every SIP message sent and received
//! (already masked by the engine) appended to `sip_trace.txt` in
//! `logging.directory`, created readable by its owner only. The same
//! traces are posted as SIPEngineSIPTrace; the file is for people
//! reading what went on the wire after the fact. `logging.trace_dns`
//! does the same for every DNS query, in `dns_trace.txt` (each is also
//! posted as DNSLookupTrace).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::{Direction, Trace};

/// `$XDG_STATE_HOME/sipsimple-rs/logs`, else under `~/.local/state`, else
/// under the temporary directory.
pub fn default_log_directory() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("sipsimple-rs")
        .join("logs")
}

/// The name of the SIP trace file in a log directory.
pub const SIP_TRACE_FILE: &str = "sip_trace.txt";

/// The name of the DNS trace file in a log directory.
pub const DNS_TRACE_FILE: &str = "dns_trace.txt";

/// An open trace file.
pub(crate) struct TraceFile {
    file: std::io::BufWriter<std::fs::File>,
}

impl TraceFile {
    pub(crate) fn open(directory: &Path) -> std::io::Result<TraceFile> {
        TraceFile::open_named(directory, SIP_TRACE_FILE)
    }

    pub(crate) fn open_named(directory: &Path, name: &str) -> std::io::Result<TraceFile> {
        std::fs::create_dir_all(directory)?;
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(directory.join(name))?;
        Ok(TraceFile {
            file: std::io::BufWriter::new(file),
        })
    }

    /// Appends one trace; a write error ends the logging, not the call.
    pub(crate) fn write(&mut self, t: &Trace) -> std::io::Result<()> {
        let (arrow, from, to) = match t.direction {
            Direction::Received => ("received", t.remote, t.local),
            Direction::Sent => ("sent", t.local, t.remote),
        };
        let when = httpdate::fmt_http_date(std::time::SystemTime::now());
        writeln!(
            self.file,
            "--- {arrow} {} {from} -> {to} at {when}",
            t.transport.via_name()
        )?;
        self.file.write_all(t.text.as_bytes())?;
        if !t.text.ends_with('\n') {
            self.file.write_all(b"\n")?;
        }
        self.file.flush()
    }

    /// Appends one DNS query and its answers (or error).
    pub(crate) fn write_dns(&mut self, t: &crate::lookup::DnsTrace) -> std::io::Result<()> {
        let when = httpdate::fmt_http_date(std::time::SystemTime::now());
        let answer = match &t.query.result {
            Ok(records) if records.is_empty() => "no records".to_owned(),
            Ok(records) => records.join(", "),
            Err(e) => format!("error: {e}"),
        };
        writeln!(
            self.file,
            "{when} {} {} -> {answer} ({} {})",
            t.query.record_type, t.query.name, t.context, t.subject
        )?;
        self.file.flush()
    }
}
