//! Dates, times of day and timestamps in answers, for `#[serde(serialize_with)]`: written by
//! the domain's [`Stamp`] into a buffer on the stack, byte for byte as chrono writes them.
//! chrono's own `Serialize` goes through `Display` a character at a time, each character
//! escaped on its own (timestamps were a sixth of the server's work for `GET /me`).

use carenest_domain::time::Stamp;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Serialize, Serializer};

pub fn timestamp<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    match Stamp::timestamp(at) {
        Some(text) => serializer.serialize_str(text.as_str()),
        // Years beyond four digits and leap seconds: chrono's rules, by chrono.
        None => at.serialize(serializer),
    }
}

pub fn optional_timestamp<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => timestamp(at, serializer),
        None => serializer.serialize_none(),
    }
}

pub fn date<S: Serializer>(date: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    match Stamp::date(*date) {
        Some(text) => serializer.serialize_str(text.as_str()),
        None => date.serialize(serializer),
    }
}

pub fn optional_date<S: Serializer>(date: &Option<NaiveDate>, serializer: S) -> Result<S::Ok, S::Error> {
    match date {
        Some(day) => self::date(day, serializer),
        None => serializer.serialize_none(),
    }
}

/// `HH:MM:SS`, as the API speaks times of day.
pub fn time_of_day<S: Serializer>(time: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(Stamp::time_of_day(*time).as_str())
}

pub fn optional_time_of_day<S: Serializer>(time: &Option<NaiveTime>, serializer: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => time_of_day(time, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(write: impl FnOnce(&mut serde_json::Serializer<&mut Vec<u8>>)) -> String {
        let mut out = Vec::new();
        write(&mut serde_json::Serializer::new(&mut out));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn answers_write_dates_and_times_as_chrono_does_beyond_four_digit_years_too() {
        let far = NaiveDate::from_ymd_opt(12_026, 1, 5).unwrap();
        let at = far.and_hms_opt(9, 30, 0).unwrap().and_utc();
        assert_eq!(written(|s| timestamp(&at, s).unwrap()), serde_json::to_string(&at).unwrap());
        assert_eq!(written(|s| date(&far, s).unwrap()), serde_json::to_string(&far).unwrap());
        let near = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        assert_eq!(written(|s| date(&near, s).unwrap()), "\"2026-01-05\"");
        assert_eq!(written(|s| time_of_day(&at.time(), s).unwrap()), "\"09:30:00\"");
        assert_eq!(written(|s| optional_timestamp(&None, s).unwrap()), "null");
        assert_eq!(written(|s| optional_date(&None, s).unwrap()), "null");
        assert_eq!(written(|s| optional_time_of_day(&None, s).unwrap()), "null");
    }
}
