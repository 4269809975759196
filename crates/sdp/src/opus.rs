//! Opus's fmtp parameters (RFC 7587 §6.1), read and written. They are
//! declarative: each side's say what it wants to receive (`stereo`,
//! `maxplaybackrate`, `useinbandfec`, `usedtx`, `maxaveragebitrate`,
//! `cbr`) and what it will send (`sprop-stereo`,
//! `sprop-maxcapturerate`), so an answer carries the answerer's own, not
//! an echo of the offer's (§7.1).

use std::fmt;

/// The fmtp of one side's Opus payload type. `None`: not said, the RFC's
/// default applies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpusFmtp {
    /// Hz, 8000..=48000; default 48000.
    pub max_playback_rate: Option<u32>,
    pub sprop_max_capture_rate: Option<u32>,
    /// bit/s, 6000..=510000.
    pub max_average_bitrate: Option<u32>,
    /// The receiver prefers stereo (default: mono).
    pub stereo: Option<bool>,
    /// The sender is likely to send stereo (default: mono).
    pub sprop_stereo: Option<bool>,
    /// The receiver wants constant bitrate (default: variable).
    pub cbr: Option<bool>,
    /// The receiver can use in-band FEC (default: no).
    pub use_inband_fec: Option<bool>,
    /// The receiver takes discontinuous transmission (default: no).
    pub use_dtx: Option<bool>,
}

impl OpusFmtp {
    /// What a sipsimple-rs stream asks for and says of itself: in-band
    /// FEC (a loss is rebuilt from the next packet), mono both ways (the
    /// audio path is mono), capture and playback up to 48 kHz, no DTX.
    pub fn ours() -> OpusFmtp {
        OpusFmtp {
            max_playback_rate: Some(48000),
            sprop_max_capture_rate: Some(48000),
            stereo: Some(false),
            sprop_stereo: Some(false),
            use_inband_fec: Some(true),
            ..OpusFmtp::default()
        }
    }

    /// From an fmtp value (after the payload type); unknown or unreadable
    /// parameters are left out (RFC 7587 §6.1: receivers ignore them).
    pub fn parse(text: &str) -> OpusFmtp {
        let mut p = OpusFmtp::default();
        for item in text.split(';') {
            let Some((k, v)) = item.split_once('=') else {
                continue;
            };
            let v = v.trim();
            let flag = match v {
                "1" => Some(true),
                "0" => Some(false),
                _ => None,
            };
            let rate = v.parse::<u32>().ok();
            match k.trim().to_ascii_lowercase().as_str() {
                "maxplaybackrate" => p.max_playback_rate = rate.filter(|r| *r > 0),
                "sprop-maxcapturerate" => p.sprop_max_capture_rate = rate.filter(|r| *r > 0),
                "maxaveragebitrate" => p.max_average_bitrate = rate.filter(|r| *r > 0),
                "stereo" => p.stereo = flag,
                "sprop-stereo" => p.sprop_stereo = flag,
                "cbr" => p.cbr = flag,
                "useinbandfec" => p.use_inband_fec = flag,
                "usedtx" => p.use_dtx = flag,
                _ => {}
            }
        }
        p
    }
}

impl fmt::Display for OpusFmtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = |b: bool| if b { "1" } else { "0" };
        let mut items: Vec<String> = Vec::new();
        if let Some(b) = self.use_inband_fec {
            items.push(format!("useinbandfec={}", flag(b)));
        }
        if let Some(b) = self.use_dtx {
            items.push(format!("usedtx={}", flag(b)));
        }
        if let Some(r) = self.max_playback_rate {
            items.push(format!("maxplaybackrate={r}"));
        }
        if let Some(r) = self.max_average_bitrate {
            items.push(format!("maxaveragebitrate={r}"));
        }
        if let Some(b) = self.stereo {
            items.push(format!("stereo={}", flag(b)));
        }
        if let Some(b) = self.sprop_stereo {
            items.push(format!("sprop-stereo={}", flag(b)));
        }
        if let Some(b) = self.cbr {
            items.push(format!("cbr={}", flag(b)));
        }
        if let Some(r) = self.sprop_max_capture_rate {
            items.push(format!("sprop-maxcapturerate={r}"));
        }
        f.write_str(&items.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rfc7587_parameter_is_read_and_written_back() {
        let text = "useinbandfec=1;usedtx=1;maxplaybackrate=16000;maxaveragebitrate=20000;\
                    stereo=1;sprop-stereo=0;cbr=1;sprop-maxcapturerate=24000";
        let p = OpusFmtp::parse(text);
        assert_eq!(
            p,
            OpusFmtp {
                max_playback_rate: Some(16000),
                sprop_max_capture_rate: Some(24000),
                max_average_bitrate: Some(20000),
                stereo: Some(true),
                sprop_stereo: Some(false),
                cbr: Some(true),
                use_inband_fec: Some(true),
                use_dtx: Some(true),
            }
        );
        assert_eq!(p.to_string(), text);
        assert_eq!(OpusFmtp::parse(&p.to_string()), p);
    }

    #[test]
    fn unknown_or_bad_values_are_left_out() {
        let p = OpusFmtp::parse(" Stereo = 1 ;usedtx=yes;maxplaybackrate=-5;x-foo=1;junk");
        assert_eq!(
            p,
            OpusFmtp {
                stereo: Some(true),
                ..OpusFmtp::default()
            }
        );
        assert_eq!(OpusFmtp::parse(""), OpusFmtp::default());
        assert_eq!(OpusFmtp::default().to_string(), "");
    }

    #[test]
    fn ours_asks_for_fec_and_mono_and_says_we_send_mono() {
        assert_eq!(
            OpusFmtp::ours().to_string(),
            "useinbandfec=1;maxplaybackrate=48000;stereo=0;sprop-stereo=0;sprop-maxcapturerate=48000"
        );
    }
}
