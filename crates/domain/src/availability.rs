//! Availability: working hours, time off and closures, and the one set of rules that decides
//! both which slots are free and whether a booking fits, so that a slot the listing offers can
//! be booked and one it does not offer cannot.
//!
//! Times are the practice's wall-clock times, as seconds after midnight in half-open intervals
//! `[start, end)`: a session that ends when another starts does not overlap it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc};

use crate::ids::{ClosureId, SessionId, TherapistId, TimeOffId};
use crate::page::{Page, PageRequest};
use crate::time::parse_time_of_day;
use crate::validation::{Errors, FieldError};
use crate::StoreResult;

/// Seconds in a day.
pub const DAY: u32 = 86_400;

/// `[start, end)` in seconds after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    pub start: u32,
    pub end: u32,
}

impl Interval {
    pub const WHOLE_DAY: Interval = Interval { start: 0, end: DAY };

    pub fn of(start: NaiveTime, end: NaiveTime) -> Self {
        Self { start: start.num_seconds_from_midnight(), end: end.num_seconds_from_midnight() }
    }

    pub fn overlaps(self, other: Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains(self, other: Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// A time of day from seconds after midnight (below [`DAY`]).
pub fn time_of(seconds: u32) -> NaiveTime {
    NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).expect("seconds within a day")
}

/// Sorts intervals and merges those that overlap or touch.
pub fn normalize(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.retain(|i| i.start < i.end);
    intervals.sort_unstable();
    let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
    for interval in intervals {
        match merged.last_mut() {
            Some(last) if interval.start <= last.end => last.end = last.end.max(interval.end),
            _ => merged.push(interval),
        }
    }
    merged
}

/// `from` without `taken`; both normalized. One pass over each.
pub fn subtract(from: &[Interval], taken: &[Interval]) -> Vec<Interval> {
    let mut free = Vec::with_capacity(from.len());
    let mut t = 0;
    for interval in from {
        let mut start = interval.start;
        while t < taken.len() && taken[t].end <= start {
            t += 1;
        }
        let mut k = t;
        while k < taken.len() && taken[k].start < interval.end {
            if taken[k].start > start {
                free.push(Interval { start, end: taken[k].start });
            }
            start = start.max(taken[k].end);
            k += 1;
        }
        if start < interval.end {
            free.push(Interval { start, end: interval.end });
        }
    }
    free
}

/// The time both lists share; both normalized. One sweep over both.
pub fn intersect(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let (mut i, mut j) = (0, 0);
    let mut shared = Vec::new();
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        if start < end {
            shared.push(Interval { start, end });
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    shared
}

// ---- working hours, time off, closures --------------------------------------------------------

/// One interval of a weekly pattern; `weekday` 1 = Monday ... 7 = Sunday (ISO 8601).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WeeklyInterval {
    pub weekday: u8,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// A therapist's weekly pattern. Empty means "not set": bookable at any time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingHours {
    /// Ordered by weekday, then start.
    pub weekly: Vec<WeeklyInterval>,
    /// When the pattern was last replaced.
    pub updated_at: Option<DateTime<Utc>>,
}

/// One interval as a client writes it.
#[derive(Debug, Clone, Default)]
pub struct WeeklyIntervalInput {
    pub weekday: i64,
    pub start_time: String,
    pub end_time: String,
}

pub const INTERVALS_MAX: usize = 70;

/// Checks a whole pattern: every interval well formed, none overlapping another of its day.
pub fn validate_weekly(intervals: &[WeeklyIntervalInput]) -> Result<Vec<WeeklyInterval>, Vec<FieldError>> {
    let mut e = Errors::new();
    if intervals.len() > INTERVALS_MAX {
        e.add("weekly", "too_many", format!("weekly may hold at most {INTERVALS_MAX} intervals"));
        return e.finish(Vec::new());
    }
    let mut valid = Vec::new();
    for (index, input) in intervals.iter().enumerate() {
        let field = |name: &str| format!("weekly[{index}].{name}");
        let weekday = e.range(&field("weekday"), input.weekday, 1, 7);
        let start = parse_time_of_day(&input.start_time);
        let end = parse_time_of_day(&input.end_time);
        for (name, parsed) in [("startTime", start), ("endTime", end)] {
            if parsed.is_none() {
                e.add(field(name), "time", format!("{} must be a time of day as HH:MM or HH:MM:SS", field(name)));
            }
        }
        if let (Some(start), Some(end)) = (start, end) {
            if end <= start {
                e.add(field("endTime"), "after_start", format!("{} must be after its startTime", field("endTime")));
            } else if let Some(weekday) = weekday {
                valid.push((index, WeeklyInterval { weekday: weekday as u8, start, end }));
            }
        }
    }
    for (k, (index, interval)) in valid.iter().enumerate() {
        let clash = valid[..k].iter().find(|(_, other)| {
            other.weekday == interval.weekday
                && Interval::of(other.start, other.end).overlaps(Interval::of(interval.start, interval.end))
        });
        if let Some((other, _)) = clash {
            e.add(
                format!("weekly[{index}]"),
                "overlaps",
                format!("weekly[{index}] overlaps weekly[{other}] on the same day"),
            );
        }
    }
    let mut weekly: Vec<WeeklyInterval> = valid.into_iter().map(|(_, interval)| interval).collect();
    weekly.sort();
    e.finish(weekly)
}

/// A whole day or days off, or one part of one day when the times are given. The reason is
/// for staff only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeOff {
    pub id: TimeOffId,
    pub therapist_id: TherapistId,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub start_time: Option<NaiveTime>,
    pub end_time: Option<NaiveTime>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl TimeOff {
    /// What it takes out of `date`: the whole day, part of it, or nothing.
    pub fn on(&self, date: NaiveDate) -> Option<Interval> {
        if date < self.start_date || date > self.end_date {
            return None;
        }
        Some(match (self.start_time, self.end_time) {
            (Some(start), Some(end)) => Interval::of(start, end),
            _ => Interval::WHOLE_DAY,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTimeOff {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub start_time: Option<NaiveTime>,
    pub end_time: Option<NaiveTime>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TimeOffInput {
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub reason: Option<String>,
}

pub const REASON_MAX: usize = 500;
pub const CLOSURE_NAME_MAX: usize = 200;
/// The longest stretch one time off or closure may cover.
pub const PERIOD_MAX_DAYS: i64 = 366;

fn check_period(e: &mut Errors, start: Option<NaiveDate>, end: Option<NaiveDate>) -> Option<(NaiveDate, NaiveDate)> {
    for (field, value) in [("startDate", start), ("endDate", end)] {
        if value.is_none() {
            e.add(field, "required", format!("{field} is required"));
        }
    }
    let (start, end) = (e.date("startDate", start?)?, e.date("endDate", end?)?);
    if end < start {
        e.add("endDate", "before_start", "endDate must not be before startDate");
        return None;
    }
    if (end - start).num_days() >= PERIOD_MAX_DAYS {
        e.add("endDate", "range", format!("a period may span at most {PERIOD_MAX_DAYS} days"));
        return None;
    }
    Some((start, end))
}

impl TimeOffInput {
    pub fn validate(&self) -> Result<NewTimeOff, Vec<FieldError>> {
        let mut e = Errors::new();
        let period = check_period(&mut e, self.start_date, self.end_date);
        let mut time = |field: &str, value: &Option<String>| {
            let parsed = value.as_deref().map(parse_time_of_day);
            if parsed == Some(None) {
                e.add(field, "time", format!("{field} must be a time of day as HH:MM or HH:MM:SS"));
            }
            parsed.flatten()
        };
        let (start_time, end_time) = (time("startTime", &self.start_time), time("endTime", &self.end_time));
        match (&self.start_time, &self.end_time) {
            (Some(_), None) => e.add("endTime", "together", "endTime is required with startTime"),
            (None, Some(_)) => e.add("startTime", "together", "startTime is required with endTime"),
            _ => {}
        }
        if let (Some(start), Some(end)) = (start_time, end_time) {
            if end <= start {
                e.add("endTime", "after_start", "endTime must be after startTime");
            }
            if period.is_some_and(|(first, last)| first != last) {
                e.add("endDate", "part_day", "part of a day off is one day: endDate must equal startDate");
            }
        }
        let reason = self.reason.as_deref().and_then(|reason| e.text("reason", reason, REASON_MAX));
        let (start_date, end_date) = period.unwrap_or_default();
        e.finish(NewTimeOff { start_date, end_date, start_time, end_time, reason })
    }
}

/// Days the whole practice is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub id: ClosureId,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl Closure {
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.start_date <= date && date <= self.end_date
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClosure {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct ClosureInput {
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub name: Option<String>,
}

impl ClosureInput {
    pub fn validate(&self) -> Result<NewClosure, Vec<FieldError>> {
        let mut e = Errors::new();
        let period = check_period(&mut e, self.start_date, self.end_date);
        let name = match &self.name {
            Some(name) => e.text("name", name, CLOSURE_NAME_MAX),
            None => {
                e.add("name", "required", "name is required");
                None
            }
        };
        let (start_date, end_date) = period.unwrap_or_default();
        e.finish(NewClosure { start_date, end_date, name: name.unwrap_or_default() })
    }
}

// ---- the rules ----------------------------------------------------------------------------------

/// Why a slot can't be booked for a therapist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Obstacle {
    /// The practice is closed that day.
    Closed,
    /// Outside the therapist's working hours (only when they have set some).
    OutsideWorkingHours,
    TimeOff,
    /// Another non-cancelled session of theirs overlaps.
    Booked {
        session: SessionId,
        start: NaiveTime,
        end: NaiveTime,
    },
}

/// One therapist's day as the rules see it.
#[derive(Debug, Clone, Default)]
pub struct TherapistDay {
    /// Their working intervals that day, normalized; `None` when they have no working hours set.
    pub working: Option<Vec<Interval>>,
    pub closed: bool,
    /// Time off that day, normalized.
    pub off: Vec<Interval>,
    /// Their non-cancelled sessions that day.
    pub booked: Vec<(Interval, SessionId)>,
}

impl TherapistDay {
    /// The free time: working hours (or the whole day) without time off and sessions.
    pub fn free(&self) -> Vec<Interval> {
        if self.closed {
            return Vec::new();
        }
        let base = self.working.clone().unwrap_or_else(|| vec![Interval::WHOLE_DAY]);
        let taken =
            normalize(self.off.iter().copied().chain(self.booked.iter().map(|(interval, _)| *interval)).collect());
        subtract(&base, &taken)
    }

    /// Everything that keeps `slot` from being booked. Empty exactly when `slot` lies within
    /// [`TherapistDay::free`] (or, with `outside_hours_allowed`, would if the working hours
    /// were the whole day).
    pub fn obstacles(&self, slot: Interval, outside_hours_allowed: bool) -> Vec<Obstacle> {
        let mut obstacles = Vec::new();
        if self.closed {
            obstacles.push(Obstacle::Closed);
        }
        if let Some(working) = &self.working {
            if !outside_hours_allowed && !working.iter().any(|interval| interval.contains(slot)) {
                obstacles.push(Obstacle::OutsideWorkingHours);
            }
        }
        if self.off.iter().any(|off| off.overlaps(slot)) {
            obstacles.push(Obstacle::TimeOff);
        }
        for (interval, session) in &self.booked {
            if interval.overlaps(slot) {
                obstacles.push(Obstacle::Booked {
                    session: *session,
                    start: time_of(interval.start),
                    end: time_of(interval.end),
                });
            }
        }
        obstacles
    }
}

/// A non-cancelled session of one therapist, as availability sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookedSlot {
    pub therapist: TherapistId,
    pub session: SessionId,
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Everything the rules read about some therapists over some dates, as the store returns it.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    /// Each therapist's pattern; a therapist with none set is absent (or has an empty list).
    pub working_hours: BTreeMap<TherapistId, Vec<WeeklyInterval>>,
    pub time_off: Vec<TimeOff>,
    pub closures: Vec<Closure>,
    pub booked: Vec<BookedSlot>,
}

/// The calendar arranged by therapist and day, to read many days cheaply.
pub struct Days<'a> {
    calendar: &'a Calendar,
    booked: BTreeMap<(TherapistId, NaiveDate), Vec<(Interval, SessionId)>>,
}

impl Calendar {
    /// Arranges the calendar, leaving out the session `except` (the one being moved).
    pub fn days(&self, except: Option<SessionId>) -> Days<'_> {
        let mut booked: BTreeMap<(TherapistId, NaiveDate), Vec<(Interval, SessionId)>> = BTreeMap::new();
        for slot in self.booked.iter().filter(|slot| Some(slot.session) != except) {
            booked
                .entry((slot.therapist, slot.date))
                .or_default()
                .push((Interval::of(slot.start, slot.end), slot.session));
        }
        Days { calendar: self, booked }
    }
}

impl Days<'_> {
    pub fn day(&self, therapist: TherapistId, date: NaiveDate) -> TherapistDay {
        let calendar = self.calendar;
        let weekday = date.weekday().number_from_monday() as u8;
        let working = calendar.working_hours.get(&therapist).filter(|weekly| !weekly.is_empty()).map(|weekly| {
            normalize(weekly.iter().filter(|w| w.weekday == weekday).map(|w| Interval::of(w.start, w.end)).collect())
        });
        TherapistDay {
            working,
            closed: calendar.closures.iter().any(|closure| closure.covers(date)),
            off: normalize(
                calendar
                    .time_off
                    .iter()
                    .filter(|off| off.therapist_id == therapist)
                    .filter_map(|off| off.on(date))
                    .collect(),
            ),
            booked: self.booked.get(&(therapist, date)).cloned().unwrap_or_default(),
        }
    }
}

/// A free slot for all the therapists asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// What `GET /availability` asks for.
#[derive(Debug, Clone)]
pub struct SlotQuery {
    pub therapists: Vec<TherapistId>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Length of a slot, in seconds.
    pub duration: u32,
    /// Slots start on multiples of this many seconds after midnight.
    pub step: u32,
    /// The practice's local time now: no slot that has started is offered.
    pub now: (NaiveDate, NaiveTime),
}

pub type SlotKey = (NaiveDate, NaiveTime);

/// The free slots where every therapist of the query is free from `query.from` to `query.to`,
/// earliest first, after `after`, at most `max` of them.
pub fn free_slots(calendar: &Calendar, query: &SlotQuery, after: Option<SlotKey>, max: usize) -> Vec<Slot> {
    let days = calendar.days(None);
    let (today, now) = query.now;
    let now = now.num_seconds_from_midnight();
    let first = query.from.max(today).max(after.map_or(query.from, |(date, _)| date));
    let mut slots = Vec::new();
    for date in first.iter_days().take_while(|date| *date <= query.to) {
        let mut free = vec![Interval::WHOLE_DAY];
        for therapist in &query.therapists {
            free = intersect(&free, &days.day(*therapist, date).free());
            if free.is_empty() {
                break;
            }
        }
        for interval in free {
            let mut start = interval.start.div_ceil(query.step) * query.step;
            // A slot must end by 23:59:59: a session's end is a time of day.
            while start + query.duration <= interval.end.min(DAY - 1) {
                let started = date == today && start <= now;
                let seen = after.is_some_and(|after| (date, time_of(start)) <= after);
                if !started && !seen {
                    slots.push(Slot { date, start: time_of(start), end: time_of(start + query.duration) });
                    if slots.len() == max {
                        return slots;
                    }
                }
                start += query.step;
            }
        }
    }
    slots
}

/// The store side of availability.
#[async_trait]
pub trait AvailabilityStore {
    /// `NotFound` for no such therapist.
    async fn working_hours(&self, therapist: TherapistId) -> StoreResult<WorkingHours>;
    /// Replaces the whole pattern in one transaction.
    async fn set_working_hours(&self, therapist: TherapistId, weekly: Vec<WeeklyInterval>)
        -> StoreResult<WorkingHours>;
    /// A therapist's time off, by start date then id.
    async fn time_off(
        &self,
        therapist: TherapistId,
        page: PageRequest<(NaiveDate, i64)>,
    ) -> StoreResult<Page<TimeOff, (NaiveDate, i64)>>;
    async fn create_time_off(&self, therapist: TherapistId, time_off: NewTimeOff) -> StoreResult<TimeOff>;
    async fn delete_time_off(&self, therapist: TherapistId, id: TimeOffId) -> StoreResult<()>;
    /// Closures by start date then id.
    async fn closures(&self, page: PageRequest<(NaiveDate, i64)>) -> StoreResult<Page<Closure, (NaiveDate, i64)>>;
    async fn create_closure(&self, closure: NewClosure) -> StoreResult<Closure>;
    async fn delete_closure(&self, id: ClosureId) -> StoreResult<()>;
    /// What the rules need about these therapists from `from` to `to`, read from one snapshot:
    /// `NotFound` if a therapist does not exist.
    async fn calendar(&self, therapists: &[TherapistId], from: NaiveDate, to: NaiveDate) -> StoreResult<Calendar>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> u32 {
        h * 3600 + m * 60
    }

    fn iv(a: (u32, u32), b: (u32, u32)) -> Interval {
        Interval { start: at(a.0, a.1), end: at(b.0, b.1) }
    }

    #[test]
    fn subtracting_cuts_holes_and_keeps_the_rest() {
        let day = [iv((9, 0), (12, 0)), iv((13, 0), (17, 0))];
        let taken = normalize(vec![iv((10, 0), (10, 30)), iv((11, 30), (13, 30)), iv((16, 0), (18, 0))]);
        assert_eq!(subtract(&day, &taken), [iv((9, 0), (10, 0)), iv((10, 30), (11, 30)), iv((13, 30), (16, 0))]);
        assert_eq!(subtract(&day, &[]), day);
        assert!(subtract(&day, &[Interval::WHOLE_DAY]).is_empty());
    }

    #[test]
    fn intersecting_keeps_only_the_time_both_share() {
        let a = [iv((9, 0), (12, 0)), iv((13, 0), (17, 0))];
        let b = [iv((8, 0), (9, 30)), iv((11, 0), (14, 0)), iv((16, 30), (20, 0))];
        assert_eq!(
            intersect(&a, &b),
            [iv((9, 0), (9, 30)), iv((11, 0), (12, 0)), iv((13, 0), (14, 0)), iv((16, 30), (17, 0))]
        );
        assert!(intersect(&a, &[iv((12, 0), (13, 0))]).is_empty(), "touching is not sharing");
    }

    #[test]
    fn touching_intervals_merge() {
        assert_eq!(normalize(vec![iv((12, 0), (17, 0)), iv((9, 0), (12, 0))]), [iv((9, 0), (17, 0))]);
    }

    /// The listing's rule and the booking's rule agree on every slot of a busy day.
    #[test]
    fn a_slot_is_free_exactly_when_nothing_stands_in_its_way() {
        let day = TherapistDay {
            working: Some(normalize(vec![iv((9, 0), (12, 0)), iv((12, 0), (13, 0)), iv((14, 0), (17, 30))])),
            closed: false,
            off: vec![iv((15, 0), (15, 45))],
            booked: vec![(iv((9, 30), (10, 15)), SessionId(1)), (iv((16, 0), (17, 0)), SessionId(2))],
        };
        let free = day.free();
        for start in (0..DAY - 1800).step_by(300) {
            for length in [600, 1800, 3000] {
                let slot = Interval { start, end: (start + length).min(DAY - 1) };
                let listed = free.iter().any(|interval| interval.contains(slot));
                assert_eq!(listed, day.obstacles(slot, false).is_empty(), "{slot:?}");
            }
        }
    }

    #[test]
    fn weekly_patterns_report_every_bad_interval_and_overlap() {
        let input = |weekday, start: &str, end: &str| WeeklyIntervalInput {
            weekday,
            start_time: start.into(),
            end_time: end.into(),
        };
        let errors = validate_weekly(&[
            input(1, "09:00", "12:00"),
            input(1, "11:00", "13:00"),
            input(8, "09:00", "10:00"),
            input(2, "10:00", "09:00"),
            input(3, "9h", "10:00"),
            input(1, "12:00", "13:00"),
        ])
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            [
                ("weekly[2].weekday", "out_of_range"),
                ("weekly[3].endTime", "after_start"),
                ("weekly[4].startTime", "time"),
                ("weekly[1]", "overlaps"),
                ("weekly[5]", "overlaps"),
            ]
        );
        let ok = validate_weekly(&[input(2, "13:00", "17:00"), input(2, "09:00", "12:00")]).unwrap();
        assert_eq!(ok[0].start, NaiveTime::from_hms_opt(9, 0, 0).unwrap(), "sorted");
    }
}
