//! The AudioMixer: a conference bridge on a 20 ms clock. Each slot may
//! produce a frame and may consume one; every tick each consuming slot
//! gets the sum (saturated) of the frames of the slots connected to it.
//! The mixer's device (a sound card, WAV files or nothing) is read once
//! and written once per tick, and every AudioDevice port shares it.
//!
//! Slots hold their I/O weakly: a port owns its [`SlotHandle`], and
//! dropping the port removes its slot and every connection of it.

use crate::sync::lock;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::notification::{NotificationCenter, NotificationData, SenderId};

use super::backend::AudioBackend;

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
    /// Each consumer (its index in `slots`) and how its mix is made.
    inputs: Vec<(usize, Mix)>,
    /// Producer sets (indices in `slots`) summed once per tick and shared
    /// by the consumers whose inputs are nearly the same.
    bases: Vec<Vec<usize>>,
}

/// A consumer's mix: its producers' sum, or a shared base sum corrected
/// by the few producers that differ. In a conference every party's mix
/// is everyone but itself: one base and one subtraction per party make
/// a tick linear in the parties instead of quadratic. The sums are exact
/// (i32, saturated only at the end), so subtracting is lossless.
enum Mix {
    Direct(Vec<usize>),
    Shared {
        base: usize,
        add: Vec<usize>,
        sub: Vec<usize>,
    },
}

/// Below this many inputs a consumer sums them itself.
const SHARED_MIN: usize = 8;

/// How `inputs` is made from one of `bases`, if that is cheaper than a
/// sum of its own: (base, to add, to subtract).
fn nearest_base(bases: &[Vec<usize>], inputs: &[usize]) -> Option<(usize, Vec<usize>, Vec<usize>)> {
    let limit = inputs.len() / 4;
    bases.iter().enumerate().find_map(|(i, base)| {
        let add: Vec<usize> = inputs
            .iter()
            .filter(|p| base.binary_search(p).is_err())
            .copied()
            .collect();
        if add.len() > limit {
            return None;
        }
        let sub: Vec<usize> = base
            .iter()
            .filter(|p| inputs.binary_search(p).is_err())
            .copied()
            .collect();
        (add.len() + sub.len() <= limit).then_some((i, add, sub))
    })
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
        let index = |id: SlotId| slots.binary_search_by_key(&id, |(s, ..)| *s).ok();
        let mut bases: Vec<Vec<usize>> = Vec::new();
        let mut inputs = Vec::new();
        for (at, (id, _, _, consumer)) in slots.iter().enumerate() {
            if !consumer {
                continue;
            }
            // Sorted (edges are ordered by source, slots by id).
            let from: Vec<usize> = self
                .edges
                .iter()
                .filter(|(_, to)| to == id)
                .filter_map(|(from, _)| index(*from))
                .filter(|i| slots.get(*i).is_some_and(|s| s.2))
                .collect();
            let mix = if from.len() < SHARED_MIN {
                Mix::Direct(from)
            } else if let Some((base, add, sub)) = nearest_base(&bases, &from) {
                Mix::Shared { base, add, sub }
            } else {
                bases.push(from);
                Mix::Shared {
                    base: bases.len() - 1,
                    add: Vec::new(),
                    sub: Vec::new(),
                }
            };
            inputs.push((at, mix));
        }
        let plan = Arc::new(Plan {
            slots,
            inputs,
            bases,
        });
        self.plan = Some(plan.clone());
        plan
    }
}

/// A tick's buffers, kept from tick to tick.
#[derive(Default)]
struct Scratch {
    /// One frame per slot of the plan, and whether it produced one.
    produced: Vec<i16>,
    has: Vec<bool>,
    /// Each base's sum and how many of its producers produced.
    base_sums: Vec<(Vec<i32>, usize)>,
    mix: Vec<i32>,
    out: Vec<i16>,
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
    scratch: Mutex<Scratch>,
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
                scratch: Mutex::new(Scratch::default()),
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
        let mut scratch = lock(&self.inner.scratch);
        let Scratch {
            produced,
            has,
            base_sums,
            mix,
            out,
        } = &mut *scratch;
        produced.clear();
        produced.resize(plan.slots.len() * frame_len, 0);
        has.clear();
        has.resize(plan.slots.len(), false);
        for (((_, _, producer, _), io), (frame, has)) in plan
            .slots
            .iter()
            .zip(&live)
            .zip(produced.chunks_mut(frame_len).zip(has.iter_mut()))
        {
            if let (true, Some(io)) = (*producer, io) {
                *has = io.produce(frame);
            }
        }
        let frame_of = |i: usize| {
            produced
                .get(i * frame_len..(i + 1) * frame_len)
                .filter(|_| has.get(i).copied().unwrap_or(false))
        };
        base_sums.resize_with(plan.bases.len(), Default::default);
        for (base, (sum, count)) in plan.bases.iter().zip(base_sums.iter_mut()) {
            sum.clear();
            sum.resize(frame_len, 0);
            *count = 0;
            for frame in base.iter().filter_map(|i| frame_of(*i)) {
                *count += 1;
                add(sum, frame);
            }
        }
        out.clear();
        out.resize(frame_len, 0);
        let zeros = vec![0i16; frame_len];
        for (at, how) in &plan.inputs {
            let Some(io) = live.get(*at).cloned().flatten() else {
                continue;
            };
            let heard = match how {
                Mix::Direct(from) => {
                    mix.clear();
                    mix.resize(frame_len, 0);
                    let mut n = 0;
                    for frame in from.iter().filter_map(|i| frame_of(*i)) {
                        n += 1;
                        add(mix, frame);
                    }
                    n
                }
                Mix::Shared {
                    base,
                    add: plus,
                    sub: minus,
                } => {
                    let Some((sum, count)) = base_sums.get(*base) else {
                        continue;
                    };
                    mix.clear();
                    mix.extend_from_slice(sum);
                    let mut n = *count;
                    for frame in minus.iter().filter_map(|i| frame_of(*i)) {
                        n -= 1;
                        for (m, s) in mix.iter_mut().zip(frame) {
                            *m -= i32::from(*s);
                        }
                    }
                    for frame in plus.iter().filter_map(|i| frame_of(*i)) {
                        n += 1;
                        add(mix, frame);
                    }
                    n
                }
            };
            if heard == 0 {
                io.consume_silence(&zeros);
                continue;
            }
            for (o, m) in out.iter_mut().zip(mix.iter()) {
                *o = (*m).clamp(-32768, 32767) as i16;
            }
            io.consume(out);
        }
        let mut d = lock(&self.inner.device);
        let Device {
            backend, output, ..
        } = &mut *d;
        for (o, m) in out.iter_mut().zip(output.iter()) {
            *o = (*m).clamp(-32768, 32767) as i16;
        }
        backend.write(out);
    }
}

fn add(sum: &mut [i32], frame: &[i16]) {
    for (m, s) in sum.iter_mut().zip(frame) {
        *m += i32::from(*s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::NullBackend;

    /// Produces a constant (when talking) and keeps the last mix heard.
    struct Party {
        level: i16,
        talking: Mutex<bool>,
        heard: Mutex<Option<i16>>,
    }

    impl SlotIo for Party {
        fn produce(&self, frame: &mut [i16]) -> bool {
            frame.fill(self.level);
            *lock(&self.talking)
        }

        fn consume(&self, frame: &[i16]) {
            *lock(&self.heard) = frame.first().copied();
        }

        fn consume_silence(&self, _zeros: &[i16]) {
            *lock(&self.heard) = None;
        }
    }

    /// A full mesh large enough for shared sums gives each party exactly
    /// the others' sum, and silence when nobody else talks.
    #[test]
    fn shared_sums_mix_exactly_what_direct_sums_would() {
        let mixer = AudioMixer::new(Box::new(NullBackend { sample_rate: 8000 }));
        let parties: Vec<Arc<Party>> = (0..12)
            .map(|i| {
                Arc::new(Party {
                    level: 1 << i,
                    talking: Mutex::new(true),
                    heard: Mutex::new(None),
                })
            })
            .collect();
        let slots: Vec<SlotHandle> = parties
            .iter()
            .map(|p| {
                let weak: Weak<dyn SlotIo> = Arc::downgrade(&(p.clone() as Arc<dyn SlotIo>));
                mixer.add_slot(weak, true, true)
            })
            .collect();
        for a in &slots {
            for b in &slots {
                mixer.connect(a.id(), b.id());
            }
        }
        let plan = lock(&mixer.inner.graph).plan();
        assert_eq!(plan.bases.len(), 1, "one shared sum for the mesh");
        mixer.tick();
        let all: i32 = parties.iter().map(|p| i32::from(p.level)).sum();
        for p in &parties {
            let want = (all - i32::from(p.level)).clamp(-32768, 32767) as i16;
            assert_eq!(*lock(&p.heard), Some(want), "party {}", p.level);
        }
        // Only the loudest talks: it hears silence, the others hear it.
        for p in &parties[..11] {
            *lock(&p.talking) = false;
        }
        mixer.tick();
        assert_eq!(*lock(&parties[11].heard), None);
        for p in &parties[..11] {
            assert_eq!(*lock(&p.heard), Some(1 << 11));
        }
    }
}
