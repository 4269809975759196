//! The spec's Conference chapter: [`AudioConference`] joins AudioStreams
//! in a full mesh with the local party (the mixer's device).
//!
//! It is built from the audio objects as they are, the way the reference
//! implementation does it: the conference is an [`AudioBridge`] holding
//! the mixer's device and each stream's own bridge (bridges nest). A
//! stream's bridge gives up the device while the stream is in the
//! conference, so the stream hears the device only through the
//! conference; its bridge keeps everything else (the stream itself while
//! active, recorders and players the application put there), and
//! `remove` gives the device back. A bridge never sends a port's audio
//! back to that port, so no party hears itself.

use crate::sync::lock;
use std::sync::{Arc, Mutex};

use crate::audio::{AudioBridge, AudioDevice, AudioError, AudioMixer, AudioPort};
use crate::streams::audio::AudioStream;

/// Why the conference refused a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConferenceError {
    /// The spec's ValueError of `remove`.
    #[error("the stream is not part of this conference")]
    NotMember,
    #[error("the stream is on another mixer than the conference")]
    OtherMixer,
    #[error("{0}")]
    Audio(String),
}

impl From<AudioError> for ConferenceError {
    fn from(e: AudioError) -> Self {
        match e {
            AudioError::OtherMixer => ConferenceError::OtherMixer,
            other => ConferenceError::Audio(other.to_string()),
        }
    }
}

struct State {
    streams: Vec<Arc<AudioStream>>,
    on_hold: bool,
}

/// Audio streams in a full mesh with each other and the local party.
pub struct AudioConference {
    mixer: AudioMixer,
    bridge: Arc<AudioBridge>,
    /// The mixer's shared device: the streams' bridges hold the same one.
    device: Arc<AudioDevice>,
    state: Mutex<State>,
}

impl std::fmt::Debug for AudioConference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("AudioConference")
            .field("streams", &s.streams.len())
            .field("on_hold", &s.on_hold)
            .finish()
    }
}

impl AudioConference {
    /// A conference on `mixer` (the application's voice mixer, as the
    /// spec's constructor takes it) with the local party in it.
    pub fn new(mixer: &AudioMixer) -> AudioConference {
        let bridge = AudioBridge::new(mixer);
        let device = mixer.device();
        // Same mixer by construction: this cannot be refused.
        let _ = bridge.add(&(device.clone() as Arc<dyn AudioPort>));
        AudioConference {
            mixer: mixer.clone(),
            bridge,
            device,
            state: Mutex::new(State {
                streams: Vec::new(),
                on_hold: false,
            }),
        }
    }

    /// Connects every stream, the local party and anything the
    /// application adds here (a WavePlayer heard by all, a WaveRecorder
    /// of all).
    pub fn bridge(&self) -> Arc<AudioBridge> {
        self.bridge.clone()
    }

    /// The streams in the conference, in the order they were added.
    pub fn streams(&self) -> Vec<Arc<AudioStream>> {
        lock(&self.state).streams.clone()
    }

    pub fn is_on_hold(&self) -> bool {
        lock(&self.state).on_hold
    }

    /// Adds `stream` (attaching it to the conference's mixer if it is on
    /// none yet): it leaves its bridge's device and hears the others.
    /// Adding a stream twice changes nothing.
    pub fn add(&self, stream: &Arc<AudioStream>) -> Result<(), ConferenceError> {
        let mut state = lock(&self.state);
        if state.streams.iter().any(|s| Arc::ptr_eq(s, stream)) {
            return Ok(());
        }
        if stream.bridge().is_none() {
            stream.attach(&self.mixer).map_err(ConferenceError::Audio)?;
        }
        let own = stream
            .bridge()
            .ok_or_else(|| ConferenceError::Audio("the stream has no bridge".into()))?;
        let own_port: Arc<dyn AudioPort> = own.clone();
        self.bridge.add(&own_port)?;
        // Kept out of the stream's bridge, the device is not heard twice
        // (directly and through the conference) and hold can silence it.
        let device: Arc<dyn AudioPort> = self.device.clone();
        if own.contains(&device) {
            let _ = own.remove(&device);
        }
        state.streams.push(stream.clone());
        Ok(())
    }

    /// Takes `stream` out; its bridge gets the device back.
    pub fn remove(&self, stream: &Arc<AudioStream>) -> Result<(), ConferenceError> {
        let mut state = lock(&self.state);
        let at = state
            .streams
            .iter()
            .position(|s| Arc::ptr_eq(s, stream))
            .ok_or(ConferenceError::NotMember)?;
        state.streams.remove(at);
        self.release(stream);
        Ok(())
    }

    fn release(&self, stream: &AudioStream) {
        if let Some(own) = stream.bridge() {
            let own_port: Arc<dyn AudioPort> = own.clone();
            let _ = self.bridge.remove(&own_port);
            let _ = own.add(&(self.device.clone() as Arc<dyn AudioPort>));
        }
    }

    /// The local party leaves the mix: the participants go on hearing
    /// each other, not the device, and the device hears nothing. The
    /// streams' own hold state does not change.
    pub fn hold(&self) {
        let mut state = lock(&self.state);
        if !state.on_hold {
            let _ = self
                .bridge
                .remove(&(self.device.clone() as Arc<dyn AudioPort>));
            state.on_hold = true;
        }
    }

    /// The local party rejoins the mix.
    pub fn unhold(&self) {
        let mut state = lock(&self.state);
        if state.on_hold {
            let _ = self
                .bridge
                .add(&(self.device.clone() as Arc<dyn AudioPort>));
            state.on_hold = false;
        }
    }
}

impl Drop for AudioConference {
    /// Streams outlive a conference dropped with them still in it: they
    /// go back to their own bridge and device, as after `remove`.
    fn drop(&mut self) {
        let streams = std::mem::take(&mut lock(&self.state).streams);
        for s in &streams {
            self.release(s);
        }
    }
}
