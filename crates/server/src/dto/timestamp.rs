//! Timestamps in answers, written as chrono's own `Serialize` writes them (RFC 3339, UTC as
//! `Z`, the fraction of a second in groups of three digits and none when whole), but into a
//! buffer on the stack: chrono's goes through `Display` a character at a time, each character
//! escaped on its own, and was a sixth of the server's work for `GET /me` (30 timestamps).

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Serialize, Serializer};

/// For `#[serde(serialize_with)]` on a timestamp.
pub fn timestamp<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0; LONGEST];
    match rfc3339(at, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        // Years outside 0..=9999 and leap seconds: chrono's rules, by chrono.
        None => at.serialize(serializer),
    }
}

/// For `#[serde(serialize_with)]` on a timestamp that may be absent.
pub fn optional_timestamp<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => timestamp(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const LONGEST: usize = 30;

/// The text, or `None` where chrono's rules go beyond four-digit years and ordinary seconds.
fn rfc3339<'b>(at: &DateTime<Utc>, buffer: &'b mut [u8; LONGEST]) -> Option<&'b str> {
    let at = at.naive_utc();
    let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let seconds = at.num_seconds_from_midnight();
    let mut text = Text { buffer, length: 0 };
    text.digits(year, 4, b'-');
    text.digits(at.month(), 2, b'-');
    text.digits(at.day(), 2, b'T');
    text.digits(seconds / 3600, 2, b':');
    text.digits(seconds / 60 % 60, 2, b':');
    match nanos {
        0 => text.digits(seconds % 60, 2, b'Z'),
        _ => {
            text.digits(seconds % 60, 2, b'.');
            match nanos {
                _ if nanos.is_multiple_of(1_000_000) => text.digits(nanos / 1_000_000, 3, b'Z'),
                _ if nanos.is_multiple_of(1_000) => text.digits(nanos / 1_000, 6, b'Z'),
                _ => text.digits(nanos, 9, b'Z'),
            }
        }
    }
    std::str::from_utf8(&text.buffer[..text.length]).ok()
}

/// The buffer being written and how much of it is.
struct Text<'b> {
    buffer: &'b mut [u8; LONGEST],
    length: usize,
}

impl Text<'_> {
    /// `value` in `count` digits, zero-padded, then `after`.
    fn digits(&mut self, mut value: u32, count: usize, after: u8) {
        for place in self.buffer[self.length..self.length + count].iter_mut().rev() {
            *place = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.buffer[self.length + count] = after;
        self.length += count + 1;
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};
    use rand::Rng;

    use super::*;

    fn ours(at: DateTime<Utc>) -> String {
        let mut out = Vec::new();
        timestamp(&at, &mut serde_json::Serializer::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn chronos(at: DateTime<Utc>) -> String {
        serde_json::to_string(&at).unwrap()
    }

    #[test]
    fn timestamps_are_written_exactly_as_chrono_writes_them() {
        let at = |y, mo, d, h, mi, s, n| {
            Utc.from_utc_datetime(&NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_nano_opt(h, mi, s, n).unwrap())
        };
        let cases = [
            at(2026, 12, 6, 2, 48, 9, 0),
            at(2026, 1, 1, 0, 0, 0, 123_000_000),
            at(2026, 1, 1, 0, 0, 0, 123_456_000),
            at(2026, 1, 1, 0, 0, 0, 123_456_789),
            at(2026, 1, 1, 0, 0, 0, 1_000),
            at(2026, 1, 1, 0, 0, 0, 1),
            at(0, 1, 1, 0, 0, 0, 0),
            at(9999, 12, 31, 23, 59, 59, 999_999_999),
            // Beyond four digits, and before the year 0, chrono's rules apply.
            at(10000, 1, 1, 0, 0, 0, 0),
            at(-1, 1, 1, 0, 0, 0, 5_000),
            // A leap second.
            at(2016, 12, 31, 23, 59, 59, 1_500_000_000),
        ];
        for case in cases {
            assert_eq!(ours(case), chronos(case), "{case:?}");
        }
        let mut rng = rand::thread_rng();
        for _ in 0..10_000 {
            let seconds = rng.gen_range(0..253_402_300_800_i64);
            let nanos = match rng.gen_range(0..4) {
                0 => 0,
                1 => rng.gen_range(0..1_000) * 1_000_000,
                2 => rng.gen_range(0..1_000_000) * 1_000,
                _ => rng.gen_range(0..1_000_000_000),
            };
            let case = Utc.timestamp_opt(seconds, nanos).unwrap();
            assert_eq!(ours(case), chronos(case), "{case:?}");
        }
    }

    #[test]
    fn an_absent_timestamp_is_null() {
        let mut out = Vec::new();
        optional_timestamp(&None, &mut serde_json::Serializer::new(&mut out)).unwrap();
        assert_eq!(out, b"null");
    }
}
