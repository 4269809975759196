//! What a mixer's device is: nothing (a null device), WAV files (input
//! read from one, output written to another: headless use and tests), or
//! the sound card (`cpal`, behind the `sound-card` feature; not built
//! yet). The mixer calls `read` and `write` once per 20 ms tick.

use std::path::{Path, PathBuf};

use media::resample::FrameResampler;

/// A device as the mixer drives it: one frame in and one out per tick,
/// at `sample_rate`.
pub trait AudioBackend: Send {
    fn sample_rate(&self) -> u32;

    /// The microphone's next frame; false when there is none.
    fn read(&mut self, frame: &mut [i16]) -> bool;

    /// The speaker's next frame.
    fn write(&mut self, frame: &[i16]);

    /// What the device is, for logs and the settings (`null`,
    /// `wav:in=...,out=...`).
    fn describe(&self) -> String;
}

/// No device: silence in, output dropped.
#[derive(Debug, Clone, Copy)]
pub struct NullBackend {
    pub sample_rate: u32,
}

impl AudioBackend for NullBackend {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn read(&mut self, _frame: &mut [i16]) -> bool {
        false
    }

    fn write(&mut self, _frame: &[i16]) {}

    fn describe(&self) -> String {
        "null".into()
    }
}

/// Reads a WAV file's samples as mono at `rate`: channels mixed down,
/// other rates converted (band-limited, `media::resample`). 8-, 16-, 24-
/// and 32-bit integer and float files.
pub fn read_wav_at(path: &Path, rate: u32) -> Result<Vec<i16>, String> {
    let mut r = hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = r.spec();
    let channels = usize::from(spec.channels.max(1));
    let raw: Vec<i32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => r
            .samples::<i16>()
            .map(|s| s.map(i32::from))
            .collect::<Result<_, _>>(),
        (hound::SampleFormat::Int, 8) => r
            .samples::<i8>()
            .map(|s| s.map(|v| i32::from(v) << 8))
            .collect(),
        (hound::SampleFormat::Int, 24 | 32) => {
            let shift = spec.bits_per_sample - 16;
            r.samples::<i32>().map(|s| s.map(|v| v >> shift)).collect()
        }
        (hound::SampleFormat::Float, _) => r
            .samples::<f32>()
            .map(|s| s.map(|v| (v * 32767.0) as i32))
            .collect(),
        (_, bits) => {
            return Err(format!(
                "{}: {bits}-bit samples are not supported",
                path.display()
            ))
        }
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    let mono: Vec<i16> = raw
        .chunks(channels)
        .map(|c| (c.iter().sum::<i32>() / c.len().max(1) as i32).clamp(-32768, 32767) as i16)
        .collect();
    FrameResampler::convert_all(spec.sample_rate, rate, &mono)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// WAV files as the device: the input played from a file (looped, or
/// once and then silence), the output written to a file (mono 16-bit at
/// the mixer's rate).
pub struct WavBackend {
    sample_rate: u32,
    input: Option<(PathBuf, Vec<i16>, usize, bool)>,
    output: Option<(PathBuf, hound::WavWriter<std::io::BufWriter<std::fs::File>>)>,
    /// Frames written since the header was last brought up to date.
    unflushed: u32,
}

impl std::fmt::Debug for WavBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl WavBackend {
    /// `input` is read whole now (converted to `sample_rate`); `output`
    /// is created (its directory too).
    pub fn new(
        sample_rate: u32,
        input: Option<&Path>,
        looped: bool,
        output: Option<&Path>,
    ) -> Result<WavBackend, String> {
        let input = match input {
            Some(p) => Some((p.to_owned(), read_wav_at(p, sample_rate)?, 0, looped)),
            None => None,
        };
        let output = match output {
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                let spec = hound::WavSpec {
                    channels: 1,
                    sample_rate,
                    bits_per_sample: 16,
                    sample_format: hound::SampleFormat::Int,
                };
                let w = hound::WavWriter::create(p, spec)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                Some((p.to_owned(), w))
            }
            None => None,
        };
        Ok(WavBackend {
            sample_rate,
            input,
            output,
            unflushed: 0,
        })
    }
}

impl AudioBackend for WavBackend {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn read(&mut self, frame: &mut [i16]) -> bool {
        let Some((_, samples, position, looped)) = self.input.as_mut() else {
            return false;
        };
        if samples.is_empty() || (*position >= samples.len() && !*looped) {
            return false;
        }
        for out in frame.iter_mut() {
            if *position >= samples.len() {
                if !*looped {
                    *out = 0;
                    continue;
                }
                *position = 0;
            }
            *out = samples.get(*position).copied().unwrap_or(0);
            *position += 1;
        }
        true
    }

    fn write(&mut self, frame: &[i16]) {
        if let Some((_, w)) = self.output.as_mut() {
            for s in frame {
                // A full disk loses the rest of the recording, not the call.
                if w.write_sample(*s).is_err() {
                    self.output = None;
                    return;
                }
            }
            // Twice a second the header is made current, so the file is
            // readable while it grows.
            self.unflushed += 1;
            if self.unflushed >= 25 {
                self.unflushed = 0;
                if w.flush().is_err() {
                    self.output = None;
                }
            }
        }
    }

    fn describe(&self) -> String {
        let part = |p: Option<&PathBuf>| p.map(|p| p.display().to_string()).unwrap_or_default();
        format!(
            "wav:in={},out={}",
            part(self.input.as_ref().map(|i| &i.0)),
            part(self.output.as_ref().map(|o| &o.0))
        )
    }
}

impl Drop for WavBackend {
    fn drop(&mut self) {
        if let Some((_, w)) = self.output.take() {
            let _ = w.finalize();
        }
    }
}
