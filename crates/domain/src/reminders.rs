//! Session reminders: when a family is reminded of a session, and the outbox rows that carry
//! each reminder from the transaction that implies it to the sender that emails it.
//!
//! The rule is written once, here: a scheduled session of a family's child that has not
//! started is reminded at each of the practice's offsets before its start, read in the
//! practice's time zone; offsets whose moment has passed are covered by one reminder sent at
//! once (the nearest of them), so a session booked at short notice is reminded once, not once
//! per offset. The store plans rows with it inside each change's transaction, and the sender
//! asks it again just before sending, so a row the session no longer implies is never sent.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::ids::{ChildId, SessionId, UserId};
use crate::scheduling::{Session, SessionStatus};
use crate::StoreResult;

/// The practice's reminder offsets and its time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderPolicy {
    /// Whole minutes before a session's start, longest first, each once.
    offsets: Vec<i32>,
    pub zone: Tz,
}

/// The longest offset: a reminder more than four weeks ahead is not a reminder.
pub const MAX_OFFSET_MINUTES: i32 = 28 * 24 * 60;

impl Default for ReminderPolicy {
    /// One reminder a day ahead, in the practice's default zone.
    fn default() -> Self {
        Self { offsets: vec![24 * 60], zone: chrono_tz::Europe::Amsterdam }
    }
}

impl ReminderPolicy {
    /// Offsets as configuration writes them: `24h`, `48h,2h`, `90m`, `1d`, separated by commas.
    pub fn parse(offsets: &str, zone: Tz) -> Result<Self, String> {
        let mut minutes = Vec::new();
        for part in offsets.split(',').map(str::trim) {
            let offset = parse_offset(part).ok_or_else(|| {
                format!(
                    "reminder offset '{part}' is not a number of minutes, hours or days such as 90m, 24h or 2d \
                     (at most 28 days)"
                )
            })?;
            if minutes.contains(&offset) {
                return Err(format!("reminder offset '{part}' is given twice"));
            }
            minutes.push(offset);
        }
        Ok(Self::from_minutes(minutes, zone))
    }

    /// Offsets in minutes (positive, at most [`MAX_OFFSET_MINUTES`]).
    pub fn from_minutes(mut minutes: Vec<i32>, zone: Tz) -> Self {
        minutes.retain(|m| (1..=MAX_OFFSET_MINUTES).contains(m));
        minutes.sort_unstable_by(|a, b| b.cmp(a));
        minutes.dedup();
        Self { offsets: minutes, zone }
    }

    pub fn offsets(&self) -> &[i32] {
        &self.offsets
    }

    /// When a session on `date` at `start` (the practice's wall-clock time) begins. A time the
    /// clocks skip in spring is read as the moment after the gap.
    pub fn starts_at(&self, date: NaiveDate, start: NaiveTime) -> DateTime<Utc> {
        let local = date.and_time(start);
        let resolved = self.zone.from_local_datetime(&local).earliest().or_else(|| {
            // Inside a spring-forward gap: the same wall-clock reading an hour on exists.
            self.zone.from_local_datetime(&(local + Duration::hours(1))).earliest()
        });
        resolved.map_or_else(|| Utc.from_utc_datetime(&local), |at| at.with_timezone(&Utc))
    }

    /// The reminders a session that starts at `starts_at` is due, at `now`: `(offset, due)`
    /// pairs, longest offset first. None once it has started.
    pub fn plan(&self, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> Vec<(i32, DateTime<Utc>)> {
        if starts_at <= now {
            return Vec::new();
        }
        let due = |offset: i32| starts_at - Duration::minutes(i64::from(offset));
        let passed = self.offsets.iter().copied().filter(|&o| due(o) <= now).min();
        self.offsets.iter().copied().filter(|&o| due(o) > now || Some(o) == passed).map(|o| (o, due(o))).collect()
    }
}

fn parse_offset(text: &str) -> Option<i32> {
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(unit_at);
    let number: i64 = number.parse().ok()?;
    let minutes = match unit {
        "m" | "min" => number,
        "h" => number * 60,
        "d" => number * 24 * 60,
        _ => return None,
    };
    i32::try_from(minutes).ok().filter(|m| (1..=MAX_OFFSET_MINUTES).contains(m))
}

crate::text_enum!(
    /// Where an outbox row is: `pending` (waiting for its time or a retry), `sending` (claimed
    /// by a sender until the claim's lease runs out), `sent`, `failed` (given up after the most
    /// attempts; counted in `/metrics`), `superseded` (the session moved or was cancelled, or
    /// the family turned reminders off: never sent).
    ReminderState {
        Pending = "pending",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
        Superseded = "superseded",
    }
);

/// An outbox row as the family's export and the operator's status show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reminder {
    pub id: i64,
    pub session_id: SessionId,
    pub recipient: UserId,
    pub offset_minutes: i32,
    pub session_version: i32,
    pub due_at: DateTime<Utc>,
    pub state: ReminderState,
    pub attempts: i32,
    /// Why the last attempt failed, in the mail server's or the sender's words (never content).
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The family a reminder goes to, as it is now.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub user: UserId,
    /// The parent profile's email if set, else the account's.
    pub email: String,
    /// The parent profile's name (the account's username without one).
    pub name: String,
    pub language: String,
    pub session_reminders: bool,
}

/// A claimed row with the session and the family as they are at the moment of claiming: what
/// the sender re-checks and writes the email from.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub reminder: Reminder,
    /// `None`: the session is gone (its row goes with it, so only in a race).
    pub session: Option<Session>,
    pub recipient: Recipient,
    /// The session's child: its family's user and its first name, if it still has one.
    pub child: Option<(ChildId, UserId, String)>,
}

impl DueReminder {
    /// Whether the session, as it is now, still implies this reminder; why not otherwise.
    pub fn still_due(&self, policy: &ReminderPolicy, now: DateTime<Utc>) -> Result<(), &'static str> {
        let session = self.session.as_ref().ok_or("the session was deleted")?;
        if session.status != SessionStatus::Scheduled {
            return Err("the session is no longer scheduled");
        }
        match &self.child {
            Some((_, family, _)) if *family == self.recipient.user => {}
            _ => return Err("the session is no longer for this family's child"),
        }
        if !self.recipient.session_reminders {
            return Err("the family turned reminders off");
        }
        let starts_at = policy.starts_at(session.date, session.start_time);
        let planned = (self.reminder.offset_minutes, self.reminder.due_at);
        if !policy.plan(starts_at, now).contains(&planned) {
            return Err("the session moved, started, or a nearer reminder replaced this one");
        }
        Ok(())
    }
}

/// What became of a claimed row.
#[derive(Debug, Clone, PartialEq)]
pub enum ReminderOutcome {
    Sent,
    /// Not delivered; tried again at `at`.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Not delivered, and no more attempts.
    Failed {
        error: String,
    },
    /// No longer implied by its session.
    Superseded {
        why: String,
    },
}

#[async_trait]
pub trait ReminderStore {
    /// Whether the family's sessions are reminded.
    async fn session_reminders(&self, user: UserId) -> StoreResult<bool>;
    /// Turns the family's reminders on or off: off supersedes what is waiting, on plans the
    /// reminders of its children's sessions that have not started.
    async fn set_session_reminders(&self, user: UserId, on: bool) -> StoreResult<bool>;
    /// Plans the reminders every session that has not started implies under the store's
    /// policy, superseding waiting rows it no longer implies (after the practice changed its
    /// offsets). The number of rows written.
    async fn plan_all_reminders(&self) -> StoreResult<u64>;
    /// Claims up to `limit` rows whose time has come (or whose claim's lease ran out) for
    /// `lease`; two senders never claim the same row while a lease lasts.
    async fn claim_reminders(&self, lease: Duration, limit: u32) -> StoreResult<Vec<DueReminder>>;
    /// Records what became of a claimed row, if the claim (its attempt) is still the row's;
    /// false when another sender took it over.
    async fn finish_reminder(&self, id: i64, attempt: i32, outcome: ReminderOutcome) -> StoreResult<bool>;
    /// The family's reminders, newest first.
    async fn reminders_of(&self, user: UserId) -> StoreResult<Vec<Reminder>>;
    /// How many rows are in each state.
    async fn reminder_counts(&self) -> StoreResult<Vec<(ReminderState, i64)>>;
    /// The most recent failed rows.
    async fn failed_reminders(&self, limit: u32) -> StoreResult<Vec<Reminder>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn policy(offsets: &str) -> ReminderPolicy {
        ReminderPolicy::parse(offsets, chrono_tz::Europe::Amsterdam).unwrap()
    }

    #[test]
    fn offsets_read_as_minutes_hours_or_days_longest_first() {
        assert_eq!(policy("24h").offsets(), [1440]);
        assert_eq!(policy("2h, 48h").offsets(), [2880, 120]);
        assert_eq!(policy("90m,1d").offsets(), [1440, 90]);
        for bad in ["", "24", "h", "0h", "-1h", "29d", "24 hours", "1h,60m", "2w"] {
            assert!(ReminderPolicy::parse(bad, chrono_tz::UTC).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn a_session_starts_at_its_wall_clock_time_in_the_practice_zone() {
        let policy = policy("24h");
        let date = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
        assert_eq!(policy.starts_at(date, NaiveTime::from_hms_opt(10, 0, 0).unwrap()), at("2026-12-08T09:00:00Z"));
        let summer = NaiveDate::from_ymd_opt(2026, 7, 8).unwrap();
        assert_eq!(policy.starts_at(summer, NaiveTime::from_hms_opt(10, 0, 0).unwrap()), at("2026-07-08T08:00:00Z"));
        // 02:30 does not exist on the night clocks go forward: it is read as 03:30 summer time.
        let spring = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        assert_eq!(policy.starts_at(spring, NaiveTime::from_hms_opt(2, 30, 0).unwrap()), at("2026-03-29T01:30:00Z"));
    }

    #[test]
    fn each_offset_is_planned_while_its_moment_is_ahead() {
        let start = at("2026-12-08T09:00:00Z");
        let plan = policy("48h,2h").plan(start, at("2026-12-01T00:00:00Z"));
        assert_eq!(plan, [(2880, at("2026-12-06T09:00:00Z")), (120, at("2026-12-08T07:00:00Z"))]);
    }

    #[test]
    fn offsets_already_passed_are_covered_by_one_reminder_at_once() {
        let start = at("2026-12-08T09:00:00Z");
        let short_notice = policy("48h,2h").plan(start, at("2026-12-08T08:30:00Z"));
        assert_eq!(short_notice, [(120, at("2026-12-08T07:00:00Z"))]);
        let in_between = policy("48h,2h").plan(start, at("2026-12-07T09:00:00Z"));
        assert_eq!(in_between, [(2880, at("2026-12-06T09:00:00Z")), (120, at("2026-12-08T07:00:00Z"))]);
        assert!(policy("24h").plan(start, start).is_empty(), "a session that has started is not reminded");
    }
}
