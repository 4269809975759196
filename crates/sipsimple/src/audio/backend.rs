//! What a mixer's device is: nothing (a null device), WAV files (input
//! read from one, output written to another: headless use and tests), or
//! the sound card (`sound_card`, cpal behind the `sound-card` feature);
//! input and output may be different kinds ([`DuplexBackend`]). The
//! mixer calls `read` and `write` once per 20 ms tick.

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

/// One direction of a device, as the settings `audio.input_device`,
/// `audio.output_device` and `audio.alert_device` name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSetting {
    /// `null`: silence in, output dropped.
    Null,
    /// `wav:PATH`: a WAV file (the microphone's played in a loop).
    Wav(PathBuf),
    /// `sound` or `sound:NAME`: the sound card's default device or the
    /// one of that name (needs the `sound-card` feature).
    Sound(String),
    /// Not set: the sound card's default device when the `sound-card`
    /// feature is built and the card opens, else null.
    Default,
}

impl DeviceSetting {
    /// Parses a setting's value (None: not set); the error says what is
    /// accepted.
    pub fn parse(value: Option<&str>) -> Result<DeviceSetting, String> {
        match value {
            None | Some("") => Ok(DeviceSetting::Default),
            Some("null") => Ok(DeviceSetting::Null),
            Some("sound") => Ok(DeviceSetting::Sound("default".into())),
            Some(v) => {
                if let Some(p) = v.strip_prefix("wav:").filter(|p| !p.is_empty()) {
                    Ok(DeviceSetting::Wav(PathBuf::from(p)))
                } else if let Some(n) = v.strip_prefix("sound:").filter(|n| !n.is_empty()) {
                    Ok(DeviceSetting::Sound(n.to_owned()))
                } else {
                    Err(format!(
                        "{v:?} is not a device: use null, wav:PATH, sound or sound:NAME"
                    ))
                }
            }
        }
    }
}

/// A device whose input and output are different backends (a WAV file
/// as the microphone and the sound card as the speaker, say). Runs at
/// its output's rate; both must have the mixer's.
pub struct DuplexBackend {
    pub input: Box<dyn AudioBackend>,
    pub output: Box<dyn AudioBackend>,
}

impl AudioBackend for DuplexBackend {
    fn sample_rate(&self) -> u32 {
        self.output.sample_rate()
    }

    fn read(&mut self, frame: &mut [i16]) -> bool {
        self.input.read(frame)
    }

    fn write(&mut self, frame: &[i16]) {
        self.output.write(frame)
    }

    fn describe(&self) -> String {
        format!(
            "in:{} out:{}",
            self.input.describe(),
            self.output.describe()
        )
    }
}

/// The device a mixer at `rate` drives for `input` and `output` (the
/// alert device has no input: pass `Null`). Errors name the setting's
/// problem: a file that does not read, a card that does not open, a
/// sound card without the `sound-card` feature.
pub fn open_device(
    rate: u32,
    input: &DeviceSetting,
    output: &DeviceSetting,
) -> Result<Box<dyn AudioBackend>, String> {
    let with_default = |default: &DeviceSetting| {
        let resolve = |d: &DeviceSetting| match d {
            DeviceSetting::Default => default.clone(),
            other => other.clone(),
        };
        open_resolved(rate, resolve(input), resolve(output))
    };
    if ![input, output].contains(&&DeviceSetting::Default) {
        return open_resolved(rate, input.clone(), output.clone());
    }
    // Unset: the card's default device if it opens (ALSA may list a
    // "default" that does not), else null; then a card named explicitly
    // must open on its own, and its error is the one returned.
    with_default(&DeviceSetting::Sound("default".into()))
        .or_else(|_| with_default(&DeviceSetting::Null))
}

/// `open_device` once `Default` is decided.
fn open_resolved(
    rate: u32,
    input: DeviceSetting,
    output: DeviceSetting,
) -> Result<Box<dyn AudioBackend>, String> {
    let sound = |d: &DeviceSetting| match d {
        DeviceSetting::Sound(n) => Some(n.clone()),
        _ => None,
    };
    let wav = |d: &DeviceSetting| match d {
        DeviceSetting::Wav(p) => Some(p.clone()),
        _ => None,
    };
    let card: Option<Box<dyn AudioBackend>> = match (sound(&input), sound(&output)) {
        (None, None) => None,
        (i, o) => Some(open_sound_card(rate, i.as_deref(), o.as_deref())?),
    };
    let files: Option<Box<dyn AudioBackend>> = match (wav(&input), wav(&output)) {
        (None, None) => None,
        (i, o) => Some(Box::new(WavBackend::new(
            rate,
            i.as_deref(),
            true,
            o.as_deref(),
        )?)),
    };
    let null = || Box::new(NullBackend { sample_rate: rate }) as Box<dyn AudioBackend>;
    Ok(match (card, files) {
        (None, None) => null(),
        (Some(b), None) | (None, Some(b)) => b,
        (Some(card), Some(files)) => {
            // One of each: the card has the side the files do not.
            if matches!(input, DeviceSetting::Sound(_)) {
                Box::new(DuplexBackend {
                    input: card,
                    output: files,
                })
            } else {
                Box::new(DuplexBackend {
                    input: files,
                    output: card,
                })
            }
        }
    })
}

#[cfg(feature = "sound-card")]
fn open_sound_card(
    rate: u32,
    input: Option<&str>,
    output: Option<&str>,
) -> Result<Box<dyn AudioBackend>, String> {
    super::sound_card::SoundCardBackend::open(rate, input, output)
        .map(|b| Box::new(b) as Box<dyn AudioBackend>)
}

#[cfg(not(feature = "sound-card"))]
fn open_sound_card(
    _rate: u32,
    _input: Option<&str>,
    _output: Option<&str>,
) -> Result<Box<dyn AudioBackend>, String> {
    Err("this build has no sound card support (cargo feature sound-card)".into())
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
    let (mono, from) = read_wav_mono(path)?;
    FrameResampler::convert_all(from, rate, &mono).map_err(|e| format!("{}: {e}", path.display()))
}

/// The samples of a WAV file as mono 16-bit, at the file's own rate
/// (returned with them).
pub fn read_wav_mono(path: &Path) -> Result<(Vec<i16>, u32), String> {
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
    Ok((mono, spec.sample_rate))
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
