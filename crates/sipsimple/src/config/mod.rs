//! The Configuration API (the spec's chapter is a heading; issue 4 says
//! what it must do). Built in layers:
//!
//! - `backend`: where the settings live — one human-editable TOML file,
//!   written atomically with mode 0600 because it holds passwords, or
//!   memory. A backend stores a tree of non-default values and knows
//!   nothing about which settings exist.
//! - `schema`: which settings exist — typed, with defaults, nillable or
//!   not, in nested groups, extensible by the application.
//! - `object`: settings objects (validated assignment, `save` posting
//!   CFGSettingsObjectDidChange, `delete`) and the ConfigurationManager
//!   that keeps them in a backend.

pub mod address;
pub mod backend;
pub mod object;
pub mod schema;
pub mod settings;

pub use address::SipAddress;
pub use backend::{ConfigError, FileBackend, MemoryBackend, StorageBackend};
pub use object::{ConfigurationManager, SettingChange, SettingsObject, MASKED};
pub use schema::{display, Group, Kind, Setting, Value};
