//! Ctrl-C and SIGTERM for the commands that hold a session.
//!
//! Caught before the first INVITE goes out: tokio's signal streams see
//! only signals that come after they were made, and until one is made a
//! SIGTERM kills the process with the default action, so a signal in the
//! moment between sending the INVITE and following the session would
//! either kill us without a BYE or CANCEL, or be lost.

use tokio::signal::unix::{signal, Signal, SignalKind};

pub(crate) struct Interrupts {
    pub(crate) interrupt: Signal,
    pub(crate) terminate: Signal,
}

impl Interrupts {
    pub(crate) fn catch() -> std::io::Result<Interrupts> {
        Ok(Interrupts {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }
}
