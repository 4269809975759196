//! IAudioPort, AudioDevice, AudioBridge: ports are what bridges connect.
//! A port has a mixer and up to two slots in it (one it produces into,
//! one it consumes from); a bridge connects every producer of its ports
//! to every consumer of the others.

use crate::sync::lock;
use std::sync::{Arc, Mutex, Weak};

use super::mixer::{AudioMixer, SlotHandle, SlotId, SlotIo};

/// The spec's IAudioPort.
pub trait AudioPort: Send + Sync {
    fn mixer(&self) -> &AudioMixer;

    /// The slot this port takes audio from, if it consumes.
    fn consumer_slot(&self) -> Option<SlotId>;

    /// The slot this port puts audio into, if it produces.
    fn producer_slot(&self) -> Option<SlotId>;
}

/// Why a bridge refused a port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    #[error("the port belongs to another mixer")]
    OtherMixer,
    #[error("the port is not part of this bridge")]
    NotMember,
    #[error("{0}")]
    Failed(String),
}

/// The mixer's device as a port: it produces the device's input and
/// consumes what goes to its output, unless muted. Several AudioDevice
/// objects of one mixer share the one device.
pub struct AudioDevice {
    mixer: AudioMixer,
    io: Arc<DeviceIo>,
    slot: SlotHandle,
}

struct DeviceIo {
    mixer: AudioMixer,
    muted: Mutex<(bool, bool)>,
}

impl SlotIo for DeviceIo {
    fn produce(&self, frame: &mut [i16]) -> bool {
        !lock(&self.muted).0 && self.mixer.device_input(frame)
    }

    fn consume(&self, frame: &[i16]) {
        if !lock(&self.muted).1 {
            self.mixer.device_output(frame);
        }
    }

    fn consume_silence(&self, _zeros: &[i16]) {}
}

impl AudioDevice {
    pub fn new(mixer: &AudioMixer, input_muted: bool, output_muted: bool) -> Arc<AudioDevice> {
        let io = Arc::new(DeviceIo {
            // A weak mixer would do, but a device outliving its mixer's
            // other handles keeps the clock meaningful.
            mixer: mixer.clone(),
            muted: Mutex::new((input_muted, output_muted)),
        });
        let weak: Weak<dyn SlotIo> = Arc::downgrade(&(io.clone() as Arc<dyn SlotIo>));
        let slot = mixer.add_slot(weak, true, true);
        Arc::new(AudioDevice {
            mixer: mixer.clone(),
            io,
            slot,
        })
    }

    pub fn input_muted(&self) -> bool {
        lock(&self.io.muted).0
    }

    /// Muting keeps the slots (so no AudioPortDidChangeSlots is needed):
    /// the device just stops producing or consuming.
    pub fn set_input_muted(&self, muted: bool) {
        lock(&self.io.muted).0 = muted;
    }

    pub fn output_muted(&self) -> bool {
        lock(&self.io.muted).1
    }

    pub fn set_output_muted(&self, muted: bool) {
        lock(&self.io.muted).1 = muted;
    }
}

impl AudioPort for AudioDevice {
    fn mixer(&self) -> &AudioMixer {
        &self.mixer
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        Some(self.slot.id())
    }

    fn producer_slot(&self) -> Option<SlotId> {
        Some(self.slot.id())
    }
}

/// A pass-through slot: what it consumes one tick it produces the next.
/// Its buffer is reused tick after tick (it runs on the mixer's clock).
#[derive(Default)]
struct Relay {
    /// The frame held, and whether it holds one.
    frame: Mutex<(Vec<i16>, bool)>,
}

impl SlotIo for Relay {
    fn produce(&self, frame: &mut [i16]) -> bool {
        let mut held = lock(&self.frame);
        if !std::mem::replace(&mut held.1, false) {
            return false;
        }
        for (o, i) in frame.iter_mut().zip(&held.0) {
            *o = *i;
        }
        true
    }

    fn consume(&self, frame: &[i16]) {
        let mut held = lock(&self.frame);
        held.0.clear();
        held.0.extend_from_slice(frame);
        held.1 = true;
    }

    fn consume_silence(&self, _zeros: &[i16]) {
        lock(&self.frame).1 = false;
    }
}

/// Connects its ports in a full mesh: every producer to every other
/// port's consumer. Holds its ports weakly (a dropped port leaves it).
/// As a port itself it can sit in another bridge: what the outer ports
/// produce reaches the inner ports and the other way round, through two
/// relay slots (one tick later), never back to where it came from.
pub struct AudioBridge {
    mixer: AudioMixer,
    ports: Mutex<Vec<Weak<dyn AudioPort>>>,
    /// Outer audio in (consumer side) and on to the members (producer side).
    down: (Arc<Relay>, SlotHandle),
    /// Members' audio in, and out to the outer bridge.
    up: (Arc<Relay>, SlotHandle),
}

impl AudioBridge {
    pub fn new(mixer: &AudioMixer) -> Arc<AudioBridge> {
        let relay = |m: &AudioMixer| {
            let r = Arc::new(Relay::default());
            let weak: Weak<dyn SlotIo> = Arc::downgrade(&(r.clone() as Arc<dyn SlotIo>));
            let h = m.add_slot(weak, true, true);
            (r, h)
        };
        Arc::new(AudioBridge {
            mixer: mixer.clone(),
            ports: Mutex::new(Vec::new()),
            down: relay(mixer),
            up: relay(mixer),
        })
    }

    fn live(&self) -> Vec<Arc<dyn AudioPort>> {
        let mut ports = lock(&self.ports);
        ports.retain(|p| p.strong_count() > 0);
        ports.iter().filter_map(Weak::upgrade).collect()
    }

    fn link(&self, a: &dyn AudioPort, b: &dyn AudioPort) {
        if let (Some(p), Some(c)) = (a.producer_slot(), b.consumer_slot()) {
            self.mixer.connect(p, c);
        }
        if let (Some(p), Some(c)) = (b.producer_slot(), a.consumer_slot()) {
            self.mixer.connect(p, c);
        }
    }

    fn unlink(&self, a: &dyn AudioPort, b: &dyn AudioPort) {
        if let (Some(p), Some(c)) = (a.producer_slot(), b.consumer_slot()) {
            self.mixer.disconnect(p, c);
        }
        if let (Some(p), Some(c)) = (b.producer_slot(), a.consumer_slot()) {
            self.mixer.disconnect(p, c);
        }
    }

    /// Adds `port`, connected to every port already here. Adding a port
    /// twice changes nothing.
    pub fn add(&self, port: &Arc<dyn AudioPort>) -> Result<(), AudioError> {
        if port.mixer() != &self.mixer {
            return Err(AudioError::OtherMixer);
        }
        let live = self.live();
        if live.iter().any(|p| Arc::ptr_eq(p, port)) {
            return Ok(());
        }
        for p in &live {
            self.link(p.as_ref(), port.as_ref());
        }
        // The outer world: members send up and hear what comes down.
        if let Some(p) = port.producer_slot() {
            self.mixer.connect(p, self.up.1.id());
        }
        if let Some(c) = port.consumer_slot() {
            self.mixer.connect(self.down.1.id(), c);
        }
        lock(&self.ports).push(Arc::downgrade(port));
        Ok(())
    }

    /// Removes `port` and its connections here.
    pub fn remove(&self, port: &Arc<dyn AudioPort>) -> Result<(), AudioError> {
        let live = self.live();
        if !live.iter().any(|p| Arc::ptr_eq(p, port)) {
            return Err(AudioError::NotMember);
        }
        for p in live.iter().filter(|p| !Arc::ptr_eq(p, port)) {
            self.unlink(p.as_ref(), port.as_ref());
        }
        if let Some(p) = port.producer_slot() {
            self.mixer.disconnect(p, self.up.1.id());
        }
        if let Some(c) = port.consumer_slot() {
            self.mixer.disconnect(self.down.1.id(), c);
        }
        lock(&self.ports).retain(|p| p.upgrade().is_some_and(|p| !Arc::ptr_eq(&p, port)));
        Ok(())
    }

    /// The ports still alive here.
    pub fn ports(&self) -> Vec<Arc<dyn AudioPort>> {
        self.live()
    }

    pub fn contains(&self, port: &Arc<dyn AudioPort>) -> bool {
        self.live().iter().any(|p| Arc::ptr_eq(p, port))
    }
}

impl AudioPort for AudioBridge {
    fn mixer(&self) -> &AudioMixer {
        &self.mixer
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        Some(self.down.1.id())
    }

    fn producer_slot(&self) -> Option<SlotId> {
        Some(self.up.1.id())
    }
}
