//! WavePlayer and WaveRecorder: a WAV file as a producing port (volume,
//! loops, pauses between plays) and a consuming port writing a WAV file.
//! Both run on the mixer's clock and can be started again after a stop.

use crate::sync::lock;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use super::backend::read_wav_at;
use super::mixer::{AudioMixer, SlotHandle, SlotId, SlotIo};
use super::port::{AudioError, AudioPort};
use crate::notification::{NotificationData, SenderId};

/// How a WavePlayer plays (the spec's constructor arguments).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlayOptions {
    /// Percent: 100 plays the file as it is.
    pub volume: u32,
    /// Plays; 0 for ever.
    pub loop_count: u32,
    /// Seconds of silence between plays.
    pub pause_time: f64,
    /// Play at once (else wait `pause_time` first).
    pub initial_play: bool,
}

impl Default for PlayOptions {
    fn default() -> Self {
        PlayOptions {
            volume: 100,
            loop_count: 1,
            pause_time: 0.0,
            initial_play: true,
        }
    }
}

#[derive(Default)]
struct Playing {
    samples: Arc<Vec<i16>>,
    position: usize,
    plays: u32,
    /// Samples of silence still to wait before the next play.
    pause_left: usize,
    announced: bool,
}

struct PlayerIo {
    mixer: AudioMixer,
    sender: Option<SenderId>,
    options: PlayOptions,
    state: Mutex<Option<Playing>>,
}

impl SlotIo for PlayerIo {
    fn produce(&self, frame: &mut [i16]) -> bool {
        let mut state = lock(&self.state);
        let Some(p) = state.as_mut() else {
            return false;
        };
        if !p.announced {
            p.announced = true;
            self.mixer
                .post(self.sender, NotificationData::WavePlayerDidStart);
        }
        let gain = f64::from(self.options.volume) / 100.0;
        let mut any = false;
        for out in frame.iter_mut() {
            if p.pause_left > 0 {
                p.pause_left -= 1;
                continue;
            }
            match p.samples.get(p.position) {
                Some(s) => {
                    *out = (f64::from(*s) * gain).round().clamp(-32768.0, 32767.0) as i16;
                    p.position += 1;
                    any = true;
                }
                None => {
                    p.plays += 1;
                    p.position = 0;
                    let more = self.options.loop_count == 0 || p.plays < self.options.loop_count;
                    if !more || p.samples.is_empty() {
                        *state = None;
                        self.mixer
                            .post(self.sender, NotificationData::WavePlayerDidEnd);
                        return any;
                    }
                    p.pause_left = pause_samples(&self.mixer, self.options.pause_time);
                }
            }
        }
        any
    }
}

fn pause_samples(mixer: &AudioMixer, seconds: f64) -> usize {
    (seconds.max(0.0) * f64::from(mixer.sample_rate())) as usize
}

/// Plays a WAV file into the bridges it is part of.
pub struct WavePlayer {
    mixer: AudioMixer,
    path: PathBuf,
    io: Arc<PlayerIo>,
    slot: SlotHandle,
}

impl WavePlayer {
    pub fn new(mixer: &AudioMixer, path: &Path, options: PlayOptions) -> Arc<WavePlayer> {
        let io = Arc::new(PlayerIo {
            mixer: mixer.clone(),
            sender: mixer.new_sender(),
            options,
            state: Mutex::new(None),
        });
        let weak: Weak<dyn SlotIo> = Arc::downgrade(&(io.clone() as Arc<dyn SlotIo>));
        let slot = mixer.add_slot(weak, true, false);
        Arc::new(WavePlayer {
            mixer: mixer.clone(),
            path: path.to_owned(),
            io,
            slot,
        })
    }

    /// The sender id of this player's notifications (when the mixer has a
    /// notification center).
    pub fn sender(&self) -> Option<SenderId> {
        self.io.sender
    }

    pub fn filename(&self) -> &Path {
        &self.path
    }

    pub fn options(&self) -> PlayOptions {
        self.io.options
    }

    /// Reads the file (converted to the mixer's rate) and starts playing
    /// it; WavePlayerDidStart follows on the next tick. A file that cannot
    /// be read posts WavePlayerDidFail and is an error.
    pub fn start(&self) -> Result<(), AudioError> {
        let samples = match read_wav_at(&self.path, self.mixer.sample_rate()) {
            Ok(s) => s,
            Err(error) => {
                self.mixer.post(
                    self.io.sender,
                    NotificationData::WavePlayerDidFail {
                        error: error.clone(),
                    },
                );
                return Err(AudioError::Failed(error));
            }
        };
        let pause_left = if self.io.options.initial_play {
            0
        } else {
            pause_samples(&self.mixer, self.io.options.pause_time)
        };
        *lock(&self.io.state) = Some(Playing {
            samples: Arc::new(samples),
            pause_left,
            ..Playing::default()
        });
        Ok(())
    }

    /// Stops at once (WavePlayerDidEnd).
    pub fn stop(&self) {
        if lock(&self.io.state).take().is_some() {
            self.mixer
                .post(self.io.sender, NotificationData::WavePlayerDidEnd);
        }
    }

    pub fn is_active(&self) -> bool {
        lock(&self.io.state).is_some()
    }
}

impl AudioPort for WavePlayer {
    fn mixer(&self) -> &AudioMixer {
        &self.mixer
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        None
    }

    fn producer_slot(&self) -> Option<SlotId> {
        Some(self.slot.id())
    }
}

type Writer = hound::WavWriter<std::io::BufWriter<std::fs::File>>;

struct RecorderIo {
    writer: Mutex<Option<Writer>>,
}

impl SlotIo for RecorderIo {
    fn consume(&self, frame: &[i16]) {
        let mut w = lock(&self.writer);
        if let Some(writer) = w.as_mut() {
            for s in frame {
                if writer.write_sample(*s).is_err() {
                    // A full disk ends the recording, not the call.
                    *w = None;
                    return;
                }
            }
        }
    }
}

/// Writes what the bridges it is part of send it to a WAV file (mono
/// 16-bit at the mixer's rate).
pub struct WaveRecorder {
    mixer: AudioMixer,
    path: Mutex<PathBuf>,
    io: Arc<RecorderIo>,
    slot: SlotHandle,
}

impl WaveRecorder {
    pub fn new(mixer: &AudioMixer, path: &Path) -> Arc<WaveRecorder> {
        let io = Arc::new(RecorderIo {
            writer: Mutex::new(None),
        });
        let weak: Weak<dyn SlotIo> = Arc::downgrade(&(io.clone() as Arc<dyn SlotIo>));
        let slot = mixer.add_slot(weak, false, true);
        Arc::new(WaveRecorder {
            mixer: mixer.clone(),
            path: Mutex::new(path.to_owned()),
            io,
            slot,
        })
    }

    pub fn filename(&self) -> PathBuf {
        lock(&self.path).clone()
    }

    /// Records the next time to `path` (the spec's writable `filename`):
    /// the recorder is reusable, and without a new name a new recording
    /// overwrites the last. Not while recording.
    pub fn set_filename(&self, path: &Path) -> Result<(), AudioError> {
        if self.is_active() {
            return Err(AudioError::Failed(
                "the recorder is recording: stop it before changing its file".into(),
            ));
        }
        *lock(&self.path) = path.to_owned();
        Ok(())
    }

    /// Creates the file (and its directories) and records from the next
    /// tick; a file recorded before under this name is overwritten.
    pub fn start(&self) -> Result<(), AudioError> {
        let path = self.filename();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| AudioError::Failed(format!("{}: {e}", dir.display())))?;
        }
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: self.mixer.sample_rate(),
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(&path, spec)
            .map_err(|e| AudioError::Failed(format!("{}: {e}", path.display())))?;
        if let Some(old) = lock(&self.io.writer).replace(writer) {
            let _ = old.finalize();
        }
        Ok(())
    }

    /// Closes the file.
    pub fn stop(&self) {
        if let Some(w) = lock(&self.io.writer).take() {
            let _ = w.finalize();
        }
    }

    pub fn is_active(&self) -> bool {
        lock(&self.io.writer).is_some()
    }
}

impl Drop for WaveRecorder {
    fn drop(&mut self) {
        self.stop();
    }
}

impl AudioPort for WaveRecorder {
    fn mixer(&self) -> &AudioMixer {
        &self.mixer
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        Some(self.slot.id())
    }

    fn producer_slot(&self) -> Option<SlotId> {
        None
    }
}
