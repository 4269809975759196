//! RFC 4733 telephone-events: the 4-byte event payload, the digit ↔
//! event code mapping, and a receiver that reports each event once
//! however many (retransmitted) packets carry it.

/// The event payload (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// 0-9, 10 `*`, 11 `#`, 12-15 A-D.
    pub event: u8,
    /// Set on the packets that end the event.
    pub end: bool,
    /// Power level, 0 to -63 dBm0 (as a positive number).
    pub volume: u8,
    /// In timestamp units since the event began.
    pub duration: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    #[error("a telephone-event payload is 4 bytes, got {0}")]
    Length(usize),
    #[error("{0:?} is not a DTMF digit (0-9, *, #, A-D)")]
    NotADigit(char),
}

impl TelephoneEvent {
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent, DtmfError> {
        let [event, flags, d0, d1] = <[u8; 4]>::try_from(payload.get(..4).unwrap_or(payload))
            .map_err(|_| DtmfError::Length(payload.len()))?;
        Ok(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            u8::from(self.end) << 7 | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }

    /// The digit of a DTMF event (0-15).
    pub fn digit(self) -> Option<char> {
        event_digit(self.event)
    }
}

/// The DTMF digits (RFC 4733 events 0-15), the spec's digit constants:
/// what `send_dtmf` takes and AudioStreamGotDTMF reports.
pub const DIGITS: &str = "0123456789*#ABCD";

/// A digit's event code.
pub fn digit_event(digit: char) -> Result<u8, DtmfError> {
    Ok(match digit.to_ascii_uppercase() {
        d @ '0'..='9' => d as u8 - b'0',
        '*' => 10,
        '#' => 11,
        d @ 'A'..='D' => 12 + (d as u8 - b'A'),
        other => return Err(DtmfError::NotADigit(other)),
    })
}

/// An event code's digit.
pub fn event_digit(event: u8) -> Option<char> {
    Some(match event {
        0..=9 => char::from(b'0' + event),
        10 => '*',
        11 => '#',
        12..=15 => char::from(b'A' + event - 12),
        _ => return None,
    })
}

/// Tells events apart by their RTP timestamp (RFC 4733 §2.5.1.3: all
/// packets of one event share its start timestamp), so a digit is
/// reported once, when it first arrives.
#[derive(Debug, Default, Clone)]
pub struct EventReceiver {
    last: Option<u32>,
}

impl EventReceiver {
    /// The digit, the first time a packet of a new event arrives.
    pub fn on_packet(&mut self, rtp_timestamp: u32, payload: &[u8]) -> Option<char> {
        let e = TelephoneEvent::parse(payload).ok()?;
        if self.last == Some(rtp_timestamp) {
            return None;
        }
        self.last = Some(rtp_timestamp);
        e.digit()
    }
}

/// The packets that send one digit (RFC 4733 §2.5.1): every `step`
/// samples an update with the growing duration, then the end packet three
/// times. All carry the event's start timestamp; the first has the
/// marker. Returns (marker, payload) pairs.
pub fn digit_packets(
    digit: char,
    duration_samples: u16,
    step: u16,
    volume: u8,
) -> Result<Vec<(bool, [u8; 4])>, DtmfError> {
    let event = digit_event(digit)?;
    let step = step.max(1);
    let mut out = Vec::new();
    let mut d = step.min(duration_samples);
    loop {
        let last = d >= duration_samples;
        let e = TelephoneEvent {
            event,
            end: last,
            volume,
            duration: d,
        };
        if last {
            for _ in 0..3 {
                out.push((out.is_empty(), e.to_bytes()));
            }
            return Ok(out);
        }
        out.push((out.is_empty(), e.to_bytes()));
        d = d.saturating_add(step).min(duration_samples);
    }
}
