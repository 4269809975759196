//! One 20 ms tick of the mixer carrying a 100-party conference: the
//! graph an AudioConference builds (each party's port in its own bridge,
//! the bridges and the local device in the conference bridge), every
//! party talking. A party here is a port that produces a tone frame and
//! takes its mix, as an AudioStream's port does minus the RTP side,
//! so the figure is the mixing alone.
//!
//!     cargo bench -p sipsimple --bench conference_mixer

use std::hint::black_box;
use std::sync::{Arc, Mutex, Weak};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use media::tone::ToneGenerator;
use sipsimple::audio::{
    AudioBackend, AudioBridge, AudioMixer, AudioPort, SlotHandle, SlotId, SlotIo,
};

const PARTIES: usize = 100;

/// The local party: a microphone that always has a frame.
struct ToneDevice {
    rate: u32,
    tone: ToneGenerator,
}

impl AudioBackend for ToneDevice {
    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn read(&mut self, frame: &mut [i16]) -> bool {
        self.tone.fill(frame);
        true
    }

    fn write(&mut self, frame: &[i16]) {
        black_box(frame);
    }

    fn describe(&self) -> String {
        "tone".into()
    }
}

struct PartyIo {
    frame: Vec<i16>,
    heard: Mutex<i64>,
}

impl SlotIo for PartyIo {
    fn produce(&self, frame: &mut [i16]) -> bool {
        frame.copy_from_slice(&self.frame);
        true
    }

    fn consume(&self, frame: &[i16]) {
        let first = frame.first().copied().unwrap_or(0);
        *self.heard.lock().unwrap() += i64::from(first);
    }
}

struct Party {
    mixer: AudioMixer,
    _io: Arc<PartyIo>,
    slot: SlotHandle,
}

impl AudioPort for Party {
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

/// The mixer and everything that must stay alive for its graph.
struct Conference {
    mixer: AudioMixer,
    _keep: Vec<Arc<dyn AudioPort>>,
}

fn conference(rate: u32, parties: usize) -> Conference {
    let mixer = AudioMixer::new(Box::new(ToneDevice {
        rate,
        tone: ToneGenerator::new(rate, &[1000.0], 8000),
    }));
    let frame = mixer.frame_len();
    let conf = AudioBridge::new(&mixer);
    let device = mixer.device();
    conf.add(&(device.clone() as Arc<dyn AudioPort>)).unwrap();
    let mut keep: Vec<Arc<dyn AudioPort>> = vec![conf.clone(), device];
    for i in 0..parties {
        let mut samples = vec![0i16; frame];
        ToneGenerator::new(rate, &[300.0 + 10.0 * i as f64], 300).fill(&mut samples);
        let io = Arc::new(PartyIo {
            frame: samples,
            heard: Mutex::new(0),
        });
        let weak: Weak<dyn SlotIo> = Arc::downgrade(&(io.clone() as Arc<dyn SlotIo>));
        let slot = mixer.add_slot(weak, true, true);
        let party: Arc<dyn AudioPort> = Arc::new(Party {
            mixer: mixer.clone(),
            _io: io,
            slot,
        });
        let own = AudioBridge::new(&mixer);
        own.add(&party).unwrap();
        conf.add(&(own.clone() as Arc<dyn AudioPort>)).unwrap();
        keep.push(party);
        keep.push(own);
    }
    // The first tick builds the mixer's plan; the bench measures the rest.
    mixer.tick();
    Conference { mixer, _keep: keep }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("conference_mix_tick");
    for rate in [8000, 16000, 48000] {
        let conf = conference(rate, PARTIES);
        group.bench_with_input(
            BenchmarkId::new(format!("{PARTIES}_parties"), rate),
            &rate,
            |b, _| b.iter(|| conf.mixer.tick()),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
