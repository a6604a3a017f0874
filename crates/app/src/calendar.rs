//! iCalendar (RFC 5545) documents of sessions: the feeds, and the one-event attachment of a
//! reminder. Sessions are wall-clock times of the practice, so every event carries `TZID` of
//! the practice's zone, defined by a `VTIMEZONE` built from the zone's real transitions. An
//! event's UID is its session's for ever and its `SEQUENCE` the session's version, so calendar
//! apps update an event rather than duplicate it. Callers choose the words; health data never
//! goes in.

use carenest_domain::ids::SessionId;
use carenest_domain::scheduling::{Session, SessionStatus};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

/// A calendar to publish.
pub struct Calendar {
    /// `X-WR-CALNAME`: what a calendar app calls the subscription.
    pub name: String,
    pub zone: Tz,
    pub events: Vec<Event>,
}

/// One session as an event.
pub struct Event {
    pub session: SessionId,
    pub sequence: i32,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub summary: String,
    pub description: Option<String>,
    pub cancelled: bool,
}

impl Event {
    /// A session as an event with these words.
    pub fn of(session: &Session, summary: String, description: Option<String>) -> Self {
        Self {
            session: session.id,
            sequence: session.version,
            created: session.created_at,
            last_modified: session.updated_at,
            date: session.date,
            start: session.start_time,
            end: session.end_time,
            summary,
            description,
            cancelled: session.status == SessionStatus::Cancelled,
        }
    }
}

/// Renders the calendar; each event is stamped with its own last change, so the same sessions
/// always give the same text.
pub fn render(calendar: &Calendar, today: NaiveDate) -> String {
    let zone = calendar.zone;
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//CareNest//Sessions//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        format!("X-WR-CALNAME:{}", escape(&calendar.name)),
        format!("X-WR-TIMEZONE:{}", zone.name()),
    ];
    let dates = calendar.events.iter().map(|e| e.date);
    let (first, last) = (dates.clone().min().unwrap_or(today), dates.max().unwrap_or(today));
    lines.extend(vtimezone(zone, first - Duration::days(366), last + Duration::days(366)));
    for event in &calendar.events {
        lines.extend(vevent(event, zone));
    }
    lines.push("END:VCALENDAR".to_owned());
    lines.iter().map(|line| fold(line)).collect()
}

fn vevent(event: &Event, zone: Tz) -> Vec<String> {
    let tzid = zone.name();
    let mut lines = vec![
        "BEGIN:VEVENT".to_owned(),
        format!("UID:session-{}@carenest.dev", event.session),
        format!("SEQUENCE:{}", event.sequence),
        format!("DTSTAMP:{}", utc_stamp(event.last_modified)),
        format!("CREATED:{}", utc_stamp(event.created)),
        format!("LAST-MODIFIED:{}", utc_stamp(event.last_modified)),
        format!("DTSTART;TZID={tzid}:{}", local_stamp(event.date.and_time(event.start))),
        format!("DTEND;TZID={tzid}:{}", local_stamp(event.date.and_time(event.end))),
        format!("SUMMARY:{}", escape(&event.summary)),
    ];
    if let Some(description) = &event.description {
        lines.push(format!("DESCRIPTION:{}", escape(description)));
    }
    lines.push(format!("STATUS:{}", if event.cancelled { "CANCELLED" } else { "CONFIRMED" }));
    lines.push("TRANSP:OPAQUE".to_owned());
    lines.push("END:VEVENT".to_owned());
    lines
}

fn utc_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

fn local_stamp(at: NaiveDateTime) -> String {
    at.format("%Y%m%dT%H%M%S").to_string()
}

fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.abs();
    let (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if rest == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{rest:02}")
    }
}

/// The zone's observances between two dates: one for the offset in force at the start, then
/// one for every transition, each found to the second.
fn vtimezone(zone: Tz, from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let offset_at = |at: DateTime<Utc>| zone.offset_from_utc_datetime(&at.naive_utc());
    let start = from.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let end = to.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let mut lines = vec!["BEGIN:VTIMEZONE".to_owned(), format!("TZID:{}", zone.name())];
    let initial = offset_at(start);
    let seconds = |offset: &chrono_tz::TzOffset| offset.fix().local_minus_utc();
    lines.extend(observance(&initial, seconds(&initial), start));
    let mut previous = initial;
    let mut at = start;
    while at < end {
        let next = at + Duration::hours(1);
        let offset = offset_at(next);
        if seconds(&offset) != seconds(&previous) || offset.abbreviation() != previous.abbreviation() {
            // The change happened in (at, next]: narrow it to the second.
            let (mut low, mut high) = (at, next);
            while high - low > Duration::seconds(1) {
                let middle = low + (high - low) / 2;
                if seconds(&offset_at(middle)) == seconds(&previous)
                    && offset_at(middle).abbreviation() == previous.abbreviation()
                {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            lines.extend(observance(&offset, seconds(&previous), high));
            previous = offset;
        }
        at = next;
    }
    lines.push("END:VTIMEZONE".to_owned());
    lines
}

/// One STANDARD or DAYLIGHT block. Its DTSTART is local time in the offset it replaces.
fn observance(offset: &chrono_tz::TzOffset, from_seconds: i32, onset: DateTime<Utc>) -> Vec<String> {
    let kind = if offset.dst_offset().is_zero() { "STANDARD" } else { "DAYLIGHT" };
    let to_seconds = offset.fix().local_minus_utc();
    let local_onset = onset.naive_utc() + Duration::seconds(i64::from(from_seconds));
    let mut lines = vec![
        format!("BEGIN:{kind}"),
        format!("DTSTART:{}", local_stamp(local_onset)),
        format!("TZOFFSETFROM:{}", offset_text(from_seconds)),
        format!("TZOFFSETTO:{}", offset_text(to_seconds)),
    ];
    if let Some(name) = offset.abbreviation() {
        lines.push(format!("TZNAME:{}", escape(name)));
    }
    lines.push(format!("END:{kind}"));
    lines
}

/// Escapes a TEXT value (RFC 5545 section 3.3.11).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (never inside a UTF-8 character) and ends it with CRLF.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        let size = c.len_utf8();
        if width + size > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += size;
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_escape_the_characters_rfc_5545_reserves() {
        assert_eq!(escape("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let line = format!("DESCRIPTION:{}", "é".repeat(60));
        let folded = fold(&line);
        assert!(folded.ends_with("\r\n"));
        for part in folded.trim_end_matches("\r\n").split("\r\n") {
            assert!(part.len() <= 75, "{} octets", part.len());
        }
        assert_eq!(folded.replace("\r\n ", "").trim_end(), line);
    }

    #[test]
    fn amsterdam_has_its_2026_summer_time_transitions_to_the_second() {
        let lines = vtimezone(
            chrono_tz::Europe::Amsterdam,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        );
        let text = lines.join("\n");
        assert!(
            text.contains("BEGIN:DAYLIGHT\nDTSTART:20260329T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nTZNAME:CEST"),
            "{text}"
        );
        assert!(
            text.contains("BEGIN:STANDARD\nDTSTART:20261025T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nTZNAME:CET"),
            "{text}"
        );
    }

    #[test]
    fn a_zone_without_transitions_still_defines_its_offset() {
        let lines = vtimezone(
            chrono_tz::Asia::Tokyo,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        );
        assert_eq!(lines.iter().filter(|l| l.starts_with("BEGIN:STANDARD")).count(), 1);
        assert!(lines.contains(&"TZOFFSETTO:+0900".to_owned()));
    }
}
