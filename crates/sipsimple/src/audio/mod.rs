//! The audio objects (the spec's Audio chapter): a clocked
//! [`AudioMixer`] with slots, [`AudioPort`]s that sit in its slots —
//! [`AudioDevice`] (the mixer's device), [`AudioBridge`] (a full mesh of
//! ports, nestable), [`WavePlayer`], [`WaveRecorder`], [`TonePlayer`] —
//! and the devices a mixer can drive ([`backend`]).
//!
//! Audio runs at the mixer's rate in 20 ms frames of 16-bit mono;
//! streams at another rate convert at their port (`media::resample`).

pub mod backend;
mod mixer;
mod port;
pub mod sound_card;
mod tone;
mod wave;

pub use backend::{AudioBackend, DeviceSetting, DuplexBackend, NullBackend, WavBackend};
pub use mixer::{AudioMixer, SlotHandle, SlotId, SlotIo};
pub use port::{AudioBridge, AudioDevice, AudioError, AudioPort};
pub use tone::TonePlayer;
pub use wave::{PlayOptions, WavePlayer, WaveRecorder};
