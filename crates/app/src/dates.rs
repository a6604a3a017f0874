//! Dates and times the way Dutch and English write them, for pages and emails alike.

use chrono::{Datelike, NaiveDate, NaiveTime};

const DUTCH_WEEKDAYS: [&str; 7] = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"];
const DUTCH_MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];
const ENGLISH_WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const ENGLISH_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn dutch(language: &str) -> bool {
    language.starts_with("nl")
}

/// The day of the week: `dinsdag`, `Tuesday`.
pub fn weekday(date: NaiveDate, language: &str) -> &'static str {
    let index = date.weekday().num_days_from_monday() as usize;
    if dutch(language) {
        DUTCH_WEEKDAYS[index]
    } else {
        ENGLISH_WEEKDAYS[index]
    }
}

/// `dinsdag 8 december 2026`, `Tuesday 8 December 2026`: Dutch for `nl`, English otherwise.
pub fn long_date(date: NaiveDate, language: &str) -> String {
    let month = date.month0() as usize;
    let month = if dutch(language) { DUTCH_MONTHS[month] } else { ENGLISH_MONTHS[month] };
    format!("{} {} {month} {}", weekday(date, language), date.day(), date.year())
}

/// `09:30`: both languages write the time of day on a 24-hour clock here.
pub fn clock(time: NaiveTime) -> String {
    time.format("%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_the_way_each_language_writes_them() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
        assert_eq!(long_date(date, "nl"), "dinsdag 8 december 2026");
        assert_eq!(long_date(date, "en"), "Tuesday 8 December 2026");
        assert_eq!(long_date(date, "en-GB"), "Tuesday 8 December 2026");
        assert_eq!(clock(NaiveTime::from_hms_opt(9, 5, 0).unwrap()), "09:05");
    }
}
