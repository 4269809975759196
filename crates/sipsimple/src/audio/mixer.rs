//! The AudioMixer: a conference bridge on a 20 ms clock. Each slot may
//! produce a frame and may consume one; every tick each consuming slot
//! gets the sum (saturated) of the frames of the slots connected to it.
//! The mixer's device (a sound card, WAV files or nothing) is read once
//! and written once per tick, and every AudioDevice port shares it.
//!
//! Slots hold their I/O weakly: a port owns its [`SlotHandle`], and
//! dropping the port removes its slot and every connection of it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use crate::notification::{NotificationCenter, NotificationData, SenderId};

use super::backend::AudioBackend;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A slot of a mixer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId(pub u32);

/// What sits in a slot. Both methods run on the mixer's clock and must
/// not block.
pub trait SlotIo: Send + Sync {
    /// The next frame (zeros on entry). False: nothing this tick.
    fn produce(&self, _frame: &mut [i16]) -> bool {
        false
    }

    /// The mix of the slots connected to this one.
    fn consume(&self, _frame: &[i16]) {}

    /// Nothing reached this slot this tick. Consumers that keep time
    /// (recorders) take a frame of zeros, as by default; others skip it.
    fn consume_silence(&self, zeros: &[i16]) {
        self.consume(zeros);
    }
}

struct Slot {
    io: Weak<dyn SlotIo>,
    producer: bool,
    consumer: bool,
}

#[derive(Default)]
struct Graph {
    slots: Vec<Option<Slot>>,
    edges: BTreeSet<(SlotId, SlotId)>,
    /// What a tick needs, rebuilt only after a change: the live slots and
    /// for each consumer the producers connected to it.
    plan: Option<Arc<Plan>>,
}

struct Plan {
    slots: Vec<(SlotId, Weak<dyn SlotIo>, bool, bool)>,
    /// (consumer, producers), consumers in slot order.
    inputs: Vec<(SlotId, Vec<SlotId>)>,
}

impl Graph {
    fn plan(&mut self) -> Arc<Plan> {
        if let Some(p) = &self.plan {
            return p.clone();
        }
        let slots: Vec<(SlotId, Weak<dyn SlotIo>, bool, bool)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = s.as_ref()?;
                Some((SlotId(i as u32), s.io.clone(), s.producer, s.consumer))
            })
            .collect();
        let inputs = slots
            .iter()
            .filter(|(_, _, _, consumer)| *consumer)
            .map(|(id, ..)| {
                let from = self
                    .edges
                    .iter()
                    .filter(|(_, to)| to == id)
                    .map(|(from, _)| *from)
                    .collect();
                (*id, from)
            })
            .collect();
        let plan = Arc::new(Plan { slots, inputs });
        self.plan = Some(plan.clone());
        plan
    }
}

struct Device {
    backend: Box<dyn AudioBackend>,
    /// This tick's input frame, and the mix the device slots consumed.
    input: Vec<i16>,
    have_input: bool,
    output: Vec<i32>,
}

struct Inner {
    sample_rate: u32,
    graph: Mutex<Graph>,
    device: Mutex<Device>,
    clock: Mutex<Option<tokio::task::JoinHandle<()>>>,
    notify: Mutex<Option<NotificationCenter>>,
    /// The AudioDevice port most users share (one slot for all the
    /// streams' bridges), while anyone holds it.
    shared_device: Mutex<Weak<super::port::AudioDevice>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(c) = lock(&self.clock).take() {
            c.abort();
        }
    }
}

/// A mixer. Cloning shares it; the clock stops when the last clone goes.
#[derive(Clone)]
pub struct AudioMixer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AudioMixer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioMixer")
            .field("sample_rate", &self.inner.sample_rate)
            .field("slots", &self.slot_count())
            .finish()
    }
}

impl PartialEq for AudioMixer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// Removes its slot from the mixer when dropped.
pub struct SlotHandle {
    mixer: Weak<Inner>,
    id: SlotId,
}

impl SlotHandle {
    pub fn id(&self) -> SlotId {
        self.id
    }
}

impl Drop for SlotHandle {
    fn drop(&mut self) {
        if let Some(inner) = self.mixer.upgrade() {
            let mut g = lock(&inner.graph);
            if let Some(s) = g.slots.get_mut(self.id.0 as usize) {
                *s = None;
            }
            let id = self.id;
            g.edges.retain(|(a, b)| *a != id && *b != id);
            g.plan = None;
        }
    }
}

impl AudioMixer {
    /// A mixer at `backend`'s sample rate (a multiple of 50 Hz: 20 ms
    /// frames), not yet clocked: see [`AudioMixer::start`] and
    /// [`AudioMixer::tick`].
    pub fn new(backend: Box<dyn AudioBackend>) -> AudioMixer {
        let sample_rate = backend.sample_rate();
        let frame = (sample_rate / 50) as usize;
        AudioMixer {
            inner: Arc::new(Inner {
                sample_rate,
                graph: Mutex::new(Graph::default()),
                device: Mutex::new(Device {
                    backend,
                    input: vec![0; frame],
                    have_input: false,
                    output: vec![0; frame],
                }),
                clock: Mutex::new(None),
                notify: Mutex::new(None),
                shared_device: Mutex::new(Weak::new()),
            }),
        }
    }

    pub fn sample_rate(&self) -> u32 {
        self.inner.sample_rate
    }

    /// The device port shared by the application and its streams (made
    /// unmuted when nobody holds one).
    pub fn device(&self) -> Arc<super::port::AudioDevice> {
        let mut shared = lock(&self.inner.shared_device);
        if let Some(d) = shared.upgrade() {
            return d;
        }
        let d = super::port::AudioDevice::new(self, false, false);
        *shared = Arc::downgrade(&d);
        d
    }

    /// What the mixer's device is (`null`, `wav:in=...,out=...`,
    /// `sound:in=...,out=...`, or `in:... out:...` for one of each).
    pub fn device_description(&self) -> String {
        lock(&self.inner.device).backend.describe()
    }

    /// Samples in one 20 ms frame.
    pub fn frame_len(&self) -> usize {
        (self.inner.sample_rate / 50) as usize
    }

    /// Where ports of this mixer post their notifications.
    pub fn set_notification_center(&self, center: NotificationCenter) {
        *lock(&self.inner.notify) = Some(center);
    }

    pub(crate) fn new_sender(&self) -> Option<SenderId> {
        lock(&self.inner.notify).as_ref().map(|c| c.new_sender())
    }

    pub(crate) fn post(&self, sender: Option<SenderId>, data: NotificationData) {
        if let (Some(center), Some(sender)) = (lock(&self.inner.notify).as_ref(), sender) {
            center.post(sender, data);
        }
    }

    /// Runs the clock on the current tokio runtime: a tick every 20 ms,
    /// late ticks caught up so the sample count follows real time.
    pub fn start(&self) {
        let mut clock = lock(&self.inner.clock);
        if clock.is_some() {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        *clock = Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(20));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                ticks.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                AudioMixer { inner }.tick();
            }
        }));
    }

    /// Adds a slot for `io`.
    pub fn add_slot(&self, io: Weak<dyn SlotIo>, producer: bool, consumer: bool) -> SlotHandle {
        let mut g = lock(&self.inner.graph);
        let slot = Slot {
            io,
            producer,
            consumer,
        };
        let index = match g.slots.iter().position(Option::is_none) {
            Some(i) => {
                if let Some(s) = g.slots.get_mut(i) {
                    *s = Some(slot);
                }
                i
            }
            None => {
                g.slots.push(Some(slot));
                g.slots.len() - 1
            }
        };
        g.plan = None;
        SlotHandle {
            mixer: Arc::downgrade(&self.inner),
            id: SlotId(index as u32),
        }
    }

    /// Sends what `from` produces to `to`. A slot is never connected to
    /// itself.
    pub fn connect(&self, from: SlotId, to: SlotId) {
        if from != to {
            let mut g = lock(&self.inner.graph);
            if g.edges.insert((from, to)) {
                g.plan = None;
            }
        }
    }

    pub fn disconnect(&self, from: SlotId, to: SlotId) {
        let mut g = lock(&self.inner.graph);
        if g.edges.remove(&(from, to)) {
            g.plan = None;
        }
    }

    /// The connections, as (from, to) pairs.
    pub fn connections(&self) -> Vec<(SlotId, SlotId)> {
        lock(&self.inner.graph).edges.iter().copied().collect()
    }

    pub fn slot_count(&self) -> usize {
        lock(&self.inner.graph).slots.iter().flatten().count()
    }

    /// Reads this tick's device input (the device slots produce it).
    pub(crate) fn device_input(&self, frame: &mut [i16]) -> bool {
        let d = lock(&self.inner.device);
        if !d.have_input {
            return false;
        }
        for (o, i) in frame.iter_mut().zip(&d.input) {
            *o = *i;
        }
        true
    }

    /// Adds to this tick's device output.
    pub(crate) fn device_output(&self, frame: &[i16]) {
        let mut d = lock(&self.inner.device);
        for (o, i) in d.output.iter_mut().zip(frame) {
            *o += i32::from(*i);
        }
    }

    /// One 20 ms round: the device is read, every producer asked once,
    /// every consumer given its mix, the device written.
    pub fn tick(&self) {
        let frame_len = self.frame_len();
        {
            let mut d = lock(&self.inner.device);
            let Device {
                backend,
                input,
                have_input,
                output,
            } = &mut *d;
            input.fill(0);
            *have_input = backend.read(input);
            output.fill(0);
        }
        // The plan is shared out of the lock so slots may call the mixer.
        let plan = lock(&self.inner.graph).plan();
        let live: Vec<Option<Arc<dyn SlotIo>>> =
            plan.slots.iter().map(|(_, io, ..)| io.upgrade()).collect();
        let io_of = |id: SlotId| {
            plan.slots
                .binary_search_by_key(&id, |(s, ..)| *s)
                .ok()
                .and_then(|i| live.get(i).cloned().flatten())
        };
        let mut produced: Vec<(SlotId, Vec<i16>)> = Vec::new();
        let mut frame = vec![0i16; frame_len];
        for ((id, _, producer, _), io) in plan.slots.iter().zip(&live) {
            if let (true, Some(io)) = (*producer, io) {
                frame.fill(0);
                if io.produce(&mut frame) {
                    produced.push((*id, frame.clone()));
                }
            }
        }
        let zeros = vec![0i16; frame_len];
        let mut mix = vec![0i32; frame_len];
        let mut out = vec![0i16; frame_len];
        for (id, from) in &plan.inputs {
            let Some(io) = io_of(*id) else { continue };
            let mut any = false;
            mix.fill(0);
            for (p, frame) in &produced {
                if from.contains(p) {
                    any = true;
                    for (m, s) in mix.iter_mut().zip(frame) {
                        *m += i32::from(*s);
                    }
                }
            }
            if !any {
                io.consume_silence(&zeros);
                continue;
            }
            for (o, m) in out.iter_mut().zip(&mix) {
                *o = (*m).clamp(-32768, 32767) as i16;
            }
            io.consume(&out);
        }
        let mut d = lock(&self.inner.device);
        let Device {
            backend, output, ..
        } = &mut *d;
        for (o, m) in out.iter_mut().zip(output.iter()) {
            *o = (*m).clamp(-32768, 32767) as i16;
        }
        backend.write(&out);
    }
}
