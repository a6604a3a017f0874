//! Clock helpers. Timestamps are kept at microsecond precision: the finest both PostgreSQL and
//! our SQLite text format hold, so a value reads back exactly as it was written on either.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, SubsecRound, Timelike, Utc};
use serde::{Deserialize, Deserializer};

pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Where the time comes from. The service reads the system clock; tests move a clock of their
/// own forward instead of sleeping.
pub trait Clock: Send + Sync {
    /// The current time, at microsecond precision.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        now()
    }
}

/// A time of day with whole seconds, as the API speaks them (`HH:MM` or `HH:MM:SS` in,
/// `HH:MM:SS` out).
pub fn parse_time_of_day(text: &str) -> Option<NaiveTime> {
    let bytes = text.as_bytes();
    let (hour, minute) = (two_digits(bytes, 0)?, two_digits(bytes, 3)?);
    let second = match bytes.len() {
        5 => 0,
        8 if bytes[5] == b':' => two_digits(bytes, 6)?,
        _ => return None,
    };
    (bytes[2] == b':').then(|| NaiveTime::from_hms_opt(hour, minute, second)).flatten()
}

/// The number the two ASCII digits at `at` write.
fn two_digits(bytes: &[u8], at: usize) -> Option<u32> {
    digits(bytes.get(at..at + 2)?)
}

/// The number ASCII digits write; `None` for anything else, or nothing.
fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 9 {
        return None;
    }
    bytes.iter().try_fold(0, |value, byte| byte.is_ascii_digit().then(|| value * 10 + u32::from(byte - b'0')))
}

/// A calendar date exactly as ISO 8601 and JSON Schema's `date` write it: `YYYY-MM-DD`.
/// (chrono alone also takes `2026-1-5`, `+2026-01-05` and trailing spaces.)
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let (month, day) = (two_digits(bytes, 5)?, two_digits(bytes, 8)?);
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// A timestamp exactly as RFC 3339 and JSON Schema's `date-time` write it:
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. Leap seconds are refused: no backend stores them.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let date = parse_date(text.get(..10)?)?;
    let clock = text.get(10..)?.strip_prefix(['T', 't'])?.as_bytes();
    let (hour, minute, second) = (two_digits(clock, 0)?, two_digits(clock, 3)?, two_digits(clock, 6)?);
    if clock[2] != b':' || clock[5] != b':' {
        return None;
    }
    let mut zone = &clock[8..];
    let mut nanos = 0;
    if let Some(fraction) = zone.strip_prefix(b".") {
        let end = fraction.iter().position(|b| !b.is_ascii_digit()).unwrap_or(fraction.len());
        // Beyond nanoseconds, chrono's reading (it drops the extra digits).
        nanos = match end {
            0 => return None,
            1..=9 => digits(&fraction[..end])? * 10u32.pow(9 - end as u32),
            _ => return parse_with_chrono(text),
        };
        zone = &fraction[end..];
    }
    let east = match zone {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (hours, minutes) = (two_digits(zone, 1)?, two_digits(zone, 4)?);
            let seconds = i64::from(hours * 3600 + minutes * 60);
            if hours > 23 || minutes > 59 {
                return None;
            }
            if *sign == b'+' {
                seconds
            } else {
                -seconds
            }
        }
        _ => return None,
    };
    // A leap second (`:60`) is refused: no backend stores them.
    let local = date.and_hms_nano_opt(hour, minute, second, nanos)?;
    Some(local.checked_sub_signed(chrono::Duration::seconds(east))?.and_utc())
}

/// chrono's RFC 3339 reading, for the shapes `parse_timestamp` leaves to it.
fn parse_with_chrono(text: &str) -> Option<DateTime<Utc>> {
    let parsed = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    (parsed.nanosecond() < 1_000_000_000).then_some(parsed)
}

/// A date in a request, read strictly (see [`parse_date`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoDate(pub NaiveDate);

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_date(&text)
            .map(IsoDate)
            .ok_or_else(|| serde::de::Error::custom(format!("'{text}' is not a date as YYYY-MM-DD")))
    }
}

/// A timestamp in a request, read strictly (see [`parse_timestamp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339(pub DateTime<Utc>);

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_timestamp(&text).map(Rfc3339).ok_or_else(|| {
            serde::de::Error::custom(format!("'{text}' is not an RFC 3339 timestamp such as 2026-11-22T09:30:00Z"))
        })
    }
}

pub fn format_time_of_day(time: NaiveTime) -> String {
    Stamp::time_of_day(time).as_str().to_owned()
}

/// A date, time of day or timestamp as text, written into a buffer on the stack in the forms
/// the parsers above read and chrono writes (`Display`, `Serialize`), byte for byte: chrono's
/// own formatting goes through `fmt` a character at a time, and its format strings are parsed
/// at every call, a tenth of the server's work for a busy day of sessions.
pub struct Stamp {
    buffer: [u8; Stamp::LONGEST],
    length: usize,
}

impl Stamp {
    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
    const LONGEST: usize = 30;

    fn new() -> Self {
        Self { buffer: [0; Self::LONGEST], length: 0 }
    }

    /// RFC 3339 in UTC as chrono's `Serialize` writes it: `Z`, and the fraction of a second in
    /// groups of three digits, none when whole. `None` beyond four-digit years and for leap
    /// seconds, where chrono's rules are chrono's to apply.
    pub fn timestamp(at: &DateTime<Utc>) -> Option<Self> {
        let at = at.naive_utc();
        let nanos = at.nanosecond();
        if nanos >= 1_000_000_000 {
            return None;
        }
        let mut text = Self::date(at.date())?;
        let seconds = at.num_seconds_from_midnight();
        text.push(b'T');
        text.digits(seconds / 3600, 2);
        text.push(b':');
        text.digits(seconds / 60 % 60, 2);
        text.push(b':');
        text.digits(seconds % 60, 2);
        let fraction = match nanos {
            0 => None,
            _ if nanos.is_multiple_of(1_000_000) => Some((nanos / 1_000_000, 3)),
            _ if nanos.is_multiple_of(1_000) => Some((nanos / 1_000, 6)),
            _ => Some((nanos, 9)),
        };
        if let Some((value, count)) = fraction {
            text.push(b'.');
            text.digits(value, count);
        }
        text.push(b'Z');
        Some(text)
    }

    /// `YYYY-MM-DD`; `None` beyond four-digit years (chrono writes those with a sign).
    pub fn date(date: NaiveDate) -> Option<Self> {
        let year = u32::try_from(date.year()).ok().filter(|year| *year <= 9999)?;
        let mut text = Self::new();
        text.digits(year, 4);
        text.push(b'-');
        text.digits(date.month(), 2);
        text.push(b'-');
        text.digits(date.day(), 2);
        Some(text)
    }

    /// `HH:MM:SS`, as `%H:%M:%S` writes it (a leap second as `:60`).
    pub fn time_of_day(time: NaiveTime) -> Self {
        let leap = u32::from(time.nanosecond() >= 1_000_000_000);
        let mut text = Self::new();
        text.digits(time.hour(), 2);
        text.push(b':');
        text.digits(time.minute(), 2);
        text.push(b':');
        text.digits(time.second() + leap, 2);
        text
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.buffer[..self.length]).unwrap_or_default()
    }

    fn push(&mut self, byte: u8) {
        self.buffer[self.length] = byte;
        self.length += 1;
    }

    /// `value` in `count` digits, zero-padded.
    fn digits(&mut self, mut value: u32, count: usize) {
        for place in self.buffer[self.length..self.length + count].iter_mut().rev() {
            *place = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.length += count;
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    /// The readings before they were written by hand: a shape check, then chrono.
    mod chronos {
        use super::*;

        /// (chrono alone also reads `21: 9`; the API never took that on purpose.)
        pub fn time_of_day(text: &str) -> Option<NaiveTime> {
            if !text.bytes().all(|b| b.is_ascii_digit() || b == b':') {
                return None;
            }
            let parsed = match text.len() {
                5 => NaiveTime::parse_from_str(text, "%H:%M").ok()?,
                8 => NaiveTime::parse_from_str(text, "%H:%M:%S").ok()?,
                _ => return None,
            };
            (parsed.nanosecond() == 0).then_some(parsed)
        }

        pub fn date(text: &str) -> Option<NaiveDate> {
            let digits_at =
                |range: std::ops::Range<usize>| text.get(range).is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
            let shaped = text.len() == 10
                && digits_at(0..4)
                && &text[4..5] == "-"
                && digits_at(5..7)
                && &text[7..8] == "-"
                && digits_at(8..10);
            shaped.then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten()
        }

        pub fn timestamp(text: &str) -> Option<DateTime<Utc>> {
            let (day, rest) = (text.get(..10)?, text.get(10..)?);
            date(day)?;
            let rest = rest.strip_prefix(['T', 't'])?;
            let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            let clock = rest.get(..8)?;
            let shaped_clock = digits(&clock[0..2])
                && &clock[2..3] == ":"
                && digits(&clock[3..5])
                && &clock[5..6] == ":"
                && digits(&clock[6..8]);
            let mut zone = &rest[8..];
            if let Some(fraction) = zone.strip_prefix('.') {
                let end = fraction.find(|c: char| !c.is_ascii_digit()).unwrap_or(fraction.len());
                if end == 0 {
                    return None;
                }
                zone = &fraction[end..];
            }
            let shaped_zone = matches!(zone, "Z" | "z")
                || (zone.len() == 6
                    && matches!(&zone[0..1], "+" | "-")
                    && digits(&zone[1..3])
                    && &zone[3..4] == ":"
                    && digits(&zone[4..6]));
            if !(shaped_clock && shaped_zone) {
                return None;
            }
            let parsed = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
            (parsed.nanosecond() < 1_000_000_000).then_some(parsed)
        }
    }

    /// Text shaped like `template` (each `9` a random digit), sometimes with one byte changed.
    fn shaped(rng: &mut impl Rng, template: &str) -> String {
        let mut text: Vec<u8> =
            template.bytes().map(|b| if b == b'9' { b'0' + rng.gen_range(0..10) } else { b }).collect();
        if rng.gen_bool(0.2) && !text.is_empty() {
            let at = rng.gen_range(0..text.len());
            text[at] = *b"0123456789:-+.TtZz x".get(rng.gen_range(0..20)).unwrap();
        }
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn the_handwritten_readings_agree_with_chrono_on_every_shape() {
        let mut rng = rand::thread_rng();
        for _ in 0..200_000 {
            let template = ["29:59", "29:59:69", "9:59", "29:59:59.9"][rng.gen_range(0..4)];
            let time = shaped(&mut rng, template);
            assert_eq!(parse_time_of_day(&time), chronos::time_of_day(&time), "{time}");
            let template = ["2999-19-39", "9999-19-39", "299-19-39"][rng.gen_range(0..3)];
            let date = shaped(&mut rng, template);
            assert_eq!(parse_date(&date), chronos::date(&date), "{date}");
            let zone = ["Z", "z", "+19:59", "-29:69", "+2959", ""][rng.gen_range(0..6)];
            let fraction = [".", ".9", ".999", ".999999", ".999999999", ".9999999999999", ""][rng.gen_range(0..7)];
            let timestamp = shaped(&mut rng, &format!("2999-19-29T29:59:69{fraction}{zone}"));
            assert_eq!(parse_timestamp(&timestamp), chronos::timestamp(&timestamp), "{timestamp}");
        }
    }

    #[test]
    fn stamps_are_written_as_chrono_writes_them_and_read_back() {
        let mut rng = rand::thread_rng();
        for _ in 0..100_000 {
            let seconds = rng.gen_range(-100_000_000_000_i64..300_000_000_000);
            let nanos = match rng.gen_range(0..4) {
                0 => 0,
                1 => rng.gen_range(0..1_000) * 1_000_000,
                2 => rng.gen_range(0..1_000_000) * 1_000,
                _ => rng.gen_range(0..1_000_000_000),
            };
            let at = DateTime::from_timestamp(seconds, nanos).unwrap();
            let chrono_json = serde_json::to_string(&at).unwrap();
            match Stamp::timestamp(&at) {
                Some(text) => {
                    assert_eq!(format!("\"{}\"", text.as_str()), chrono_json);
                    assert_eq!(parse_timestamp(text.as_str()), Some(at));
                }
                None => assert!(!(0..=9999).contains(&at.year()), "{at:?}"),
            }
            let date = at.date_naive();
            match Stamp::date(date) {
                Some(text) => {
                    assert_eq!(format!("\"{}\"", text.as_str()), serde_json::to_string(&date).unwrap());
                    assert_eq!(parse_date(text.as_str()), Some(date));
                }
                None => assert!(!(0..=9999).contains(&date.year()), "{date:?}"),
            }
            let time = at.time();
            assert_eq!(Stamp::time_of_day(time).as_str(), time.format("%H:%M:%S").to_string());
        }
        let leap = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
        assert_eq!(Stamp::time_of_day(leap).as_str(), leap.format("%H:%M:%S").to_string());
        assert!(Stamp::timestamp(&NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_time(leap).and_utc()).is_none());
    }

    #[test]
    fn dates_and_timestamps_are_read_exactly_as_iso_8601_writes_them() {
        assert_eq!(parse_date("2026-01-05"), NaiveDate::from_ymd_opt(2026, 1, 5));
        for bad in ["2026-1-5", "+2026-01-05", "2026-01-05 ", "2026-02-30", "2026/01/05", ""] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        for good in ["2026-11-22T06:34:10Z", "2026-11-22t06:34:10.5z", "2026-11-22T06:34:10.123456+01:00"] {
            assert!(parse_timestamp(good).is_some(), "{good}");
        }
        for bad in [
            "2026-11-22 06:34:10Z",
            "2026-11-22T06:34:10+0000",
            "2026-11-22T06:34:10 Z",
            "2026-11-22T06:34Z",
            "2026-11-22T06:34:10.Z",
            "2026-11-22T23:59:60Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_of_day_accept_minutes_or_seconds_and_nothing_else() {
        assert_eq!(parse_time_of_day("09:30").unwrap().to_string(), "09:30:00");
        assert_eq!(parse_time_of_day("09:30:15").unwrap().to_string(), "09:30:15");
        for bad in ["9:30", "24:00", "09:60", "09:30:00.5", "", "0930", "09:30:61", "21: 9", "09:3 ", "+9:30"] {
            assert!(parse_time_of_day(bad).is_none(), "{bad} should be rejected");
        }
    }
}
