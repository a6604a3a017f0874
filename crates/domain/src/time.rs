//! Clock helpers. Timestamps are kept at microsecond precision: the finest both PostgreSQL and
//! our SQLite text format hold, so a value reads back exactly as it was written on either.

use chrono::{DateTime, NaiveDate, NaiveTime, SubsecRound, Timelike, Utc};
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
    let parsed = match text.len() {
        5 => NaiveTime::parse_from_str(text, "%H:%M").ok()?,
        8 => NaiveTime::parse_from_str(text, "%H:%M:%S").ok()?,
        _ => return None,
    };
    (parsed.nanosecond() == 0).then_some(parsed)
}

/// A calendar date exactly as ISO 8601 and JSON Schema's `date` write it: `YYYY-MM-DD`.
/// (chrono alone also takes `2026-1-5`, `+2026-01-05` and trailing spaces.)
pub fn parse_date(text: &str) -> Option<NaiveDate> {
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

/// A timestamp exactly as RFC 3339 and JSON Schema's `date-time` write it:
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. Leap seconds are refused: no backend stores them.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    parse_date(date)?;
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
    time.format("%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for bad in ["9:30", "24:00", "09:60", "09:30:00.5", "", "0930", "09:30:61"] {
            assert!(parse_time_of_day(bad).is_none(), "{bad} should be rejected");
        }
    }
}
