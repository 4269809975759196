//! The Configuration API (the spec's chapter is a heading; issue 4 says
//! what it must do). Built in layers:
//!
//! - `backend`: where the settings live — one human-editable TOML file,
//!   written atomically with mode 0600 because it holds passwords, or
//!   memory. A backend stores a tree of non-default values and knows
//!   nothing about which settings exist.
//! - (next) settings objects with typed, validated settings and defaults,
//!   and the ConfigurationManager that ties them to a backend.

pub mod backend;

pub use backend::{ConfigError, FileBackend, MemoryBackend, StorageBackend};
