//! MSRPLibraryLog: what the MSRP side has to say that is no stream's
//! notification: connections the shared port turned away, relays that
//! authorized us or refused to, connections that failed or died.
//!
//! Posted anonymously (one sender id for the whole MSRP library, as the
//! spec has it), so an application can log the MSRP side without
//! observing every stream; `logging.trace_msrp` is for the bytes.

use std::sync::{Arc, Mutex};

/// The spec's levels (python's logging levels, by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        }
    }
}

/// Where log lines go.
pub type LogSink = Arc<dyn Fn(LogLevel, String) + Send + Sync>;

/// The MSRP library's log; lines are dropped until a sink is set.
/// Cloning shares it.
#[derive(Clone, Default)]
pub struct MsrpLog(Arc<Mutex<Option<LogSink>>>);

impl std::fmt::Debug for MsrpLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsrpLog").finish_non_exhaustive()
    }
}

impl MsrpLog {
    pub fn set_sink(&self, sink: LogSink) {
        *crate::sync::lock(&self.0) = Some(sink);
    }

    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        // Cloned out so that a sink that logs again cannot deadlock.
        let sink = crate::sync::lock(&self.0).clone();
        if let Some(sink) = sink {
            sink(level, message.into());
        }
    }
}
