//! RFC 3339 timestamps, as CPIM's `DateTime`, is-composing's `lastactive`,
//! IMDN's `datetime` and PIDF's `timestamp` carry them.
//!
//! Our own type rather than a date crate: the documents need only parse,
//! print and compare, and the sender's offset must survive a round trip
//! (an IMDN quotes the original `DateTime`, and RFC 3339 §4.3 gives
//! `-00:00` a meaning of its own that a UTC-normalising type would lose).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The zone part of a timestamp, kept as the sender wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offset {
    /// `Z`.
    Utc,
    /// `+hh:mm` or `-hh:mm`, in minutes east of UTC (`+00:00` is `Minutes(0)`).
    Minutes(i16),
    /// `-00:00`: the time is UTC and the local offset is unknown (RFC 3339 §4.3).
    Unknown,
}

impl Offset {
    fn minutes(self) -> i64 {
        match self {
            Offset::Utc | Offset::Unknown => 0,
            Offset::Minutes(m) => i64::from(m),
        }
    }
}

/// A date and time with its offset, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    /// 0..=60: RFC 3339 allows a leap second.
    pub second: u8,
    pub nanosecond: u32,
    pub offset: Offset,
}

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 date-time: {0:?}")]
pub struct DateTimeError(pub String);

impl DateTime {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)`. Lower-case `t`/`z`
    /// and a space for `T` are accepted (RFC 3339 §5.6 notes both).
    pub fn parse(text: &str) -> Result<DateTime, DateTimeError> {
        let fail = || DateTimeError(text.chars().take(64).collect());
        let b = text.trim().as_bytes();
        let digits = |from: usize, n: usize| -> Option<u32> {
            let part = b.get(from..from + n)?;
            part.iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
        if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
            return Err(fail());
        }
        let field = |from, n| digits(from, n).ok_or_else(fail);
        let year = field(0, 4)?;
        let month = field(5, 2)?;
        let day = field(8, 2)?;
        let hour = field(11, 2)?;
        let minute = field(14, 2)?;
        let second = field(17, 2)?;
        let mut at = 19;
        let mut nanosecond = 0u32;
        if b.get(at) == Some(&b'.') {
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            let frac = b.get(start..at).ok_or_else(fail)?;
            if frac.is_empty() {
                return Err(fail());
            }
            // Digits past the ninth are below a nanosecond: dropped.
            let mut scale = 100_000_000u32;
            for &c in frac.iter().take(9) {
                nanosecond += u32::from(c - b'0') * scale;
                scale /= 10;
            }
        }
        let offset = match b.get(at) {
            Some(b'Z' | b'z') => {
                at += 1;
                Offset::Utc
            }
            Some(&sign @ (b'+' | b'-')) => {
                if !sep(at + 3, b":") {
                    return Err(fail());
                }
                let oh = field(at + 1, 2)?;
                let om = field(at + 4, 2)?;
                if oh > 23 || om > 59 {
                    return Err(fail());
                }
                at += 6;
                let total = i16::try_from(oh * 60 + om).map_err(|_| fail())?;
                match (sign, total) {
                    (b'-', 0) => Offset::Unknown,
                    (b'-', m) => Offset::Minutes(-m),
                    (_, m) => Offset::Minutes(m),
                }
            }
            _ => return Err(fail()),
        };
        if at != b.len() {
            return Err(fail());
        }
        let dt = DateTime {
            year: u16::try_from(year).map_err(|_| fail())?,
            month: u8::try_from(month).map_err(|_| fail())?,
            day: u8::try_from(day).map_err(|_| fail())?,
            hour: u8::try_from(hour).map_err(|_| fail())?,
            minute: u8::try_from(minute).map_err(|_| fail())?,
            second: u8::try_from(second).map_err(|_| fail())?,
            nanosecond,
            offset,
        };
        if dt.is_valid() {
            Ok(dt)
        } else {
            Err(fail())
        }
    }

    /// Whether every field is in range (the day for its month and year).
    pub fn is_valid(&self) -> bool {
        self.year <= 9999
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second <= 60
            && self.nanosecond < 1_000_000_000
            && match self.offset {
                Offset::Minutes(m) => m.unsigned_abs() < 24 * 60,
                _ => true,
            }
    }

    /// The instant as seconds since 1970-01-01T00:00:00Z, for comparing
    /// timestamps written with different offsets. A leap second counts as
    /// the second before the next minute.
    pub fn unix_seconds(&self) -> i64 {
        let days = days_from_civil(i64::from(self.year), self.month, self.day);
        let secs = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second.min(59));
        secs - self.offset.minutes() * 60
    }

    /// The wall time at `offset` of a point in time: how a sender stamps a
    /// message with a clock reading it was handed (this crate reads no
    /// clock). Times before 1970 become 1970-01-01T00:00:00Z.
    pub fn from_system_time(t: SystemTime, offset: Offset) -> DateTime {
        let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX / 2);
        DateTime::from_unix(secs, since.subsec_nanos(), offset)
    }

    /// The wall time at `offset` of `secs` seconds since the epoch.
    pub fn from_unix(secs: i64, nanosecond: u32, offset: Offset) -> DateTime {
        let local = secs.saturating_add(offset.minutes() * 60);
        let days = local.div_euclid(86_400);
        let rem = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year,
            month,
            day,
            hour: u8::try_from(rem / 3600).unwrap_or(0),
            minute: u8::try_from(rem % 3600 / 60).unwrap_or(0),
            second: u8::try_from(rem % 60).unwrap_or(0),
            nanosecond: nanosecond.min(999_999_999),
            offset,
        }
    }
}

impl std::str::FromStr for DateTime {
    type Err = DateTimeError;
    fn from_str(s: &str) -> Result<DateTime, DateTimeError> {
        DateTime::parse(s)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.nanosecond != 0 {
            let frac = format!("{:09}", self.nanosecond);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        match self.offset {
            Offset::Utc => f.write_str("Z"),
            Offset::Unknown => f.write_str("-00:00"),
            Offset::Minutes(m) => {
                let sign = if m < 0 { '-' } else { '+' };
                let a = m.unsigned_abs();
                write!(f, "{sign}{:02}:{:02}", a / 60, a % 60)
            }
        }
    }
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-date algorithms: exact over the whole range and
// free of tables.
fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (u16, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let year = u16::try_from(y.clamp(0, 9999)).unwrap_or(9999);
    (
        year,
        u8::try_from(m).unwrap_or(1),
        u8::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_offset_and_compares_instants() {
        let a = DateTime::parse("2000-12-13T13:40:00-08:00").unwrap();
        assert_eq!(a.offset, Offset::Minutes(-480));
        assert_eq!(a.to_string(), "2000-12-13T13:40:00-08:00");
        let b = DateTime::parse("2000-12-13T21:40:00.000Z").unwrap();
        assert_eq!(b.offset, Offset::Utc);
        assert_eq!(a.unix_seconds(), b.unix_seconds());
        assert_ne!(a, b);
    }

    #[test]
    fn unknown_local_offset_is_not_utc() {
        let t = DateTime::parse("1990-12-31T15:59:60-00:00").unwrap();
        assert_eq!(t.offset, Offset::Unknown);
        assert_eq!(t.to_string(), "1990-12-31T15:59:60-00:00");
    }

    #[test]
    fn fractions_and_refusals() {
        let t = DateTime::parse("1985-04-12T23:20:50.52Z").unwrap();
        assert_eq!(t.nanosecond, 520_000_000);
        assert_eq!(t.to_string(), "1985-04-12T23:20:50.52Z");
        for bad in [
            "",
            "2001-02-29T00:00:00Z",
            "2000-13-01T00:00:00Z",
            "2000-01-01T24:00:00Z",
            "2000-01-01T00:00:00",
            "2000-01-01T00:00:00.Z",
            "2000-01-01T00:00:00+24:00",
            "2000-01-01T00:00:00Zjunk",
            "２000-01-01T00:00:00Z",
        ] {
            assert!(DateTime::parse(bad).is_err(), "{bad}");
        }
        assert!(DateTime::parse("2000-02-29t00:00:00z").is_ok());
    }

    #[test]
    fn unix_conversion_round_trips() {
        let t = DateTime::from_unix(1_000_000_000, 0, Offset::Minutes(120));
        assert_eq!(t.to_string(), "2001-09-09T03:46:40+02:00");
        assert_eq!(t.unix_seconds(), 1_000_000_000);
    }
}
