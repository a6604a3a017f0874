//! Clock helpers. Timestamps are kept at microsecond precision: the finest both PostgreSQL and
//! our SQLite text format hold, so a value reads back exactly as it was written on either.

use chrono::{DateTime, NaiveTime, SubsecRound, Timelike, Utc};

pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
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

pub fn format_time_of_day(time: NaiveTime) -> String {
    time.format("%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_accept_minutes_or_seconds_and_nothing_else() {
        assert_eq!(parse_time_of_day("09:30").unwrap().to_string(), "09:30:00");
        assert_eq!(parse_time_of_day("09:30:15").unwrap().to_string(), "09:30:15");
        for bad in ["9:30", "24:00", "09:60", "09:30:00.5", "", "0930", "09:30:61"] {
            assert!(parse_time_of_day(bad).is_none(), "{bad} should be rejected");
        }
    }
}
