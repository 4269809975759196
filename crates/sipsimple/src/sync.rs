//! Locking a `std::sync::Mutex` across the crate.
//!
//! A panic while a lock is held poisons it; what the lock guards here
//! is always left consistent between statements (no invariant spans a
//! panic point), so a poisoned lock is taken as it is rather than
//! spreading the panic to every later user (a notification observer that
//! panicked must not take the application down).

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, taking it over from a holder that panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
