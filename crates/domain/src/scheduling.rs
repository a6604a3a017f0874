//! Therapists and therapy sessions, with the no-double-booking rule.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use crate::audit::Actor;
use crate::availability::Obstacle;
use crate::ids::{ChildId, SessionId, TherapistId, UserId};
use crate::page::{Page, PageRequest};
use crate::time::parse_time_of_day;
use crate::validation::{Errors, FieldError};
use crate::StoreResult;

crate::text_enum!(
    /// Where a session stands; a cancelled one no longer holds its therapists' time.
    SessionStatus { Scheduled = "scheduled", Completed = "completed", Cancelled = "cancelled", NoShow = "no_show" }
);

pub const NOTES_MAX: usize = 10_000;
pub const THERAPIST_NAME_MAX: usize = 100;
/// Longest search text for therapists' names.
pub const THERAPIST_SEARCH_MAX: usize = 100;
pub const THERAPISTS_PER_SESSION_MAX: usize = 20;
pub const REPEAT_COUNT: std::ops::RangeInclusive<i64> = 2..=52;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Therapist {
    pub id: TherapistId,
    pub name: String,
    pub user_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A therapist as a session lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TherapistRef {
    pub id: TherapistId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub date: NaiveDate,
    /// `HH:MM:SS`, the practice's local wall-clock time.
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub notes: Option<String>,
    pub status: SessionStatus,
    pub child_profile_id: Option<ChildId>,
    /// Ties the occurrences of a recurring series together.
    pub series_id: Option<i64>,
    /// Ordered by id.
    pub therapists: Vec<TherapistRef>,
    /// Rises with every change: calendar feeds' `SEQUENCE`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a booking can't have a therapist on a date: closed, outside their working hours, time
/// off, or another session of theirs (which it names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingConflict {
    pub therapist_id: TherapistId,
    pub date: NaiveDate,
    pub reason: Obstacle,
}

/// A child as practice staff choose one for a booking: the name and the family's username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildChoice {
    pub id: ChildId,
    pub name: String,
    pub family: String,
}

// ---- therapists -----------------------------------------------------------------------------

#[derive(Debug, Default)]
pub struct TherapistInput {
    pub name: Option<String>,
    /// Links a user account, which becomes a `therapist`; `null` unlinks.
    pub user_id: Option<Option<i64>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TherapistChanges {
    pub name: Option<String>,
    pub user_id: Option<Option<UserId>>,
}

impl TherapistInput {
    pub fn validate_changes(&self) -> Result<TherapistChanges, Vec<FieldError>> {
        let mut e = Errors::new();
        let mut c = TherapistChanges::default();
        if let Some(name) = &self.name {
            c.name = e.text("name", name, THERAPIST_NAME_MAX);
        }
        if let Some(user) = self.user_id {
            match user {
                Some(id) if id < 1 => e.add("userId", "positive", "userId must be a positive id"),
                other => c.user_id = Some(other.map(UserId)),
            }
        }
        e.finish(c)
    }

    pub fn validate_new(&self) -> Result<TherapistChanges, Vec<FieldError>> {
        let changes = self.validate_changes();
        if self.name.is_none() {
            let mut errors = changes.err().unwrap_or_default();
            errors.push(FieldError::new("name", "required", "name is required"));
            return Err(errors);
        }
        changes
    }
}

// ---- sessions -------------------------------------------------------------------------------

crate::text_enum!(
    /// How often a recurring series repeats.
    RepeatEvery { Week = "week", TwoWeeks = "2 weeks" }
);

impl RepeatEvery {
    pub fn step(self) -> Duration {
        match self {
            Self::Week => Duration::weeks(1),
            Self::TwoWeeks => Duration::weeks(2),
        }
    }
}

#[derive(Debug)]
pub struct RepeatInput {
    pub every: String,
    pub count: i64,
}

/// The body of `POST /sessions` and `PATCH /sessions/{id}`; on create `date`, `startTime`,
/// `endTime` and `therapistIds` are required.
#[derive(Debug, Default)]
pub struct SessionInput {
    pub date: Option<NaiveDate>,
    /// `HH:MM` or `HH:MM:SS`.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub notes: Option<Option<String>>,
    pub status: Option<String>,
    /// Each id once; on update the set replaces the current one.
    pub therapist_ids: Option<Vec<i64>>,
    pub child_profile_id: Option<Option<i64>>,
    /// Create only: book the same slot on every occurrence.
    pub repeat: Option<RepeatInput>,
    /// An admin books outside the therapists' working hours on purpose.
    pub outside_working_hours: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionChanges {
    pub date: Option<NaiveDate>,
    pub start_time: Option<NaiveTime>,
    pub end_time: Option<NaiveTime>,
    pub notes: Option<Option<String>>,
    pub status: Option<SessionStatus>,
    pub therapist_ids: Option<Vec<TherapistId>>,
    pub child_profile_id: Option<Option<ChildId>>,
    pub outside_working_hours: bool,
}

impl SessionChanges {
    /// True when only `notes` changes: what a therapist may do to their own sessions.
    pub fn only_notes(&self) -> bool {
        *self == SessionChanges { notes: self.notes.clone(), ..Default::default() }
    }

    /// True when the change moves the session in time, changes who is on it, or brings it
    /// back from cancelled: what the availability rules look at again.
    pub fn moves(&self) -> bool {
        self.date.is_some() || self.start_time.is_some() || self.end_time.is_some() || self.therapist_ids.is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    pub every: RepeatEvery,
    pub count: u32,
}

/// A new session (or series) ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    pub date: NaiveDate,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub notes: Option<String>,
    pub status: SessionStatus,
    pub therapist_ids: Vec<TherapistId>,
    pub child_profile_id: Option<ChildId>,
    pub repeat: Option<Repeat>,
    /// Book outside the therapists' working hours on purpose.
    pub outside_working_hours: bool,
}

impl NewSession {
    /// The dates of every occurrence, the first one included. Validation has checked that the
    /// last one exists.
    pub fn dates(&self) -> Vec<NaiveDate> {
        match &self.repeat {
            None => vec![self.date],
            Some(repeat) => (0..repeat.count).filter_map(|n| occurrence(self.date, repeat, n)).collect(),
        }
    }
}

/// The `n`th date of a series (0 is the first), if the calendar has it.
fn occurrence(first: NaiveDate, repeat: &Repeat, n: u32) -> Option<NaiveDate> {
    first.checked_add_signed(repeat.every.step() * n as i32)
}

fn check_time(e: &mut Errors, field: &str, value: &Option<String>) -> Option<NaiveTime> {
    let text = value.as_deref()?;
    let parsed = parse_time_of_day(text);
    if parsed.is_none() {
        e.add(field, "time", format!("{field} must be a time of day as HH:MM or HH:MM:SS"));
    }
    parsed
}

fn check_therapist_ids(e: &mut Errors, ids: &[i64]) -> Option<Vec<TherapistId>> {
    let before_len = ids.len();
    if ids.is_empty() {
        e.add("therapistIds", "required", "therapistIds must name at least one therapist");
        return None;
    }
    if before_len > THERAPISTS_PER_SESSION_MAX {
        e.add(
            "therapistIds",
            "too_many",
            format!("therapistIds may name at most {THERAPISTS_PER_SESSION_MAX} therapists"),
        );
        return None;
    }
    let mut ok = true;
    for (index, id) in ids.iter().enumerate() {
        if *id < 1 {
            e.add(format!("therapistIds[{index}]"), "positive", "therapist ids are positive integers");
            ok = false;
        } else if ids[..index].contains(id) {
            e.add(format!("therapistIds[{index}]"), "duplicate", format!("therapist {id} is listed more than once"));
            ok = false;
        }
    }
    ok.then(|| ids.iter().copied().map(TherapistId).collect())
}

/// Checks `endTime > startTime` where both are known after the change.
pub fn check_time_order(start: NaiveTime, end: NaiveTime) -> Result<(), Vec<FieldError>> {
    if end > start {
        Ok(())
    } else {
        Err(vec![FieldError::new("endTime", "after_start", "endTime must be after startTime")])
    }
}

impl SessionInput {
    pub fn validate_changes(&self) -> Result<SessionChanges, Vec<FieldError>> {
        let mut e = Errors::new();
        let mut c = SessionChanges {
            date: self.date.and_then(|date| e.date("date", date)),
            outside_working_hours: self.outside_working_hours.unwrap_or(false),
            ..Default::default()
        };
        c.start_time = check_time(&mut e, "startTime", &self.start_time);
        c.end_time = check_time(&mut e, "endTime", &self.end_time);
        if let (Some(start), Some(end)) = (c.start_time, c.end_time) {
            if end <= start {
                e.add("endTime", "after_start", "endTime must be after startTime");
            }
        }
        if let Some(notes) = &self.notes {
            c.notes = e.optional_text("notes", notes.as_deref(), NOTES_MAX);
        }
        if let Some(status) = &self.status {
            c.status = e.choice("status", status);
        }
        if let Some(ids) = &self.therapist_ids {
            c.therapist_ids = check_therapist_ids(&mut e, ids);
        }
        if let Some(child) = self.child_profile_id {
            match child {
                Some(id) if id < 1 => e.add("childProfileId", "positive", "childProfileId must be a positive id"),
                other => c.child_profile_id = Some(other.map(ChildId)),
            }
        }
        if self.repeat.is_some() {
            e.add("repeat", "create_only", "repeat can only be given when a session is created");
        }
        e.finish(c)
    }

    pub fn validate_new(&self) -> Result<NewSession, Vec<FieldError>> {
        let mut e = Errors::new();
        for (field, absent) in [
            ("date", self.date.is_none()),
            ("startTime", self.start_time.is_none()),
            ("endTime", self.end_time.is_none()),
            ("therapistIds", self.therapist_ids.is_none()),
        ] {
            if absent {
                e.add(field, "required", format!("{field} is required"));
            }
        }
        let repeat = self.repeat.as_ref().and_then(|repeat| {
            let every = e.choice::<RepeatEvery>("repeat.every", &repeat.every);
            let count = e.range("repeat.count", repeat.count, *REPEAT_COUNT.start(), *REPEAT_COUNT.end());
            Some(Repeat { every: every?, count: count? as u32 })
        });
        let without_repeat = SessionInput { repeat: None, ..self.shallow_copy() };
        let changes = match without_repeat.validate_changes() {
            Ok(changes) => Some(changes),
            Err(errors) => {
                for error in errors {
                    e.add(error.field, error.code, error.message);
                }
                None
            }
        };
        if let (Some(repeat), Some(Some(first))) = (&repeat, changes.as_ref().map(|c| c.date)) {
            let last = occurrence(first, repeat, repeat.count - 1);
            if last.is_none_or(|last| chrono::Datelike::year(&last) > crate::validation::MAX_YEAR) {
                e.add(
                    "repeat.count",
                    "date_range",
                    format!("the series would run past the year {}", crate::validation::MAX_YEAR),
                );
            }
        }
        let changes = e.finish(changes)?.expect("no errors means the changes validated");
        Ok(NewSession {
            date: changes.date.expect("required"),
            start_time: changes.start_time.expect("required"),
            end_time: changes.end_time.expect("required"),
            notes: changes.notes.flatten(),
            status: changes.status.unwrap_or(SessionStatus::Scheduled),
            therapist_ids: changes.therapist_ids.expect("required"),
            child_profile_id: changes.child_profile_id.flatten(),
            repeat,
            outside_working_hours: changes.outside_working_hours,
        })
    }

    fn shallow_copy(&self) -> SessionInput {
        SessionInput {
            date: self.date,
            start_time: self.start_time.clone(),
            end_time: self.end_time.clone(),
            notes: self.notes.clone(),
            status: self.status.clone(),
            therapist_ids: self.therapist_ids.clone(),
            child_profile_id: self.child_profile_id,
            repeat: None,
            outside_working_hours: self.outside_working_hours,
        }
    }
}

/// Whose sessions a reader may see, from the role table of the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionScope {
    All,
    /// Only sessions this therapist is on.
    Therapist(TherapistId),
    /// Only sessions of this user's children.
    Parent(UserId),
    /// Nothing (a therapist-role user with no therapist record).
    Nothing,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub therapist_id: Option<TherapistId>,
    pub child_profile_id: Option<ChildId>,
}

/// Sessions are listed by date, start time, id.
pub type SessionKey = (NaiveDate, NaiveTime, SessionId);

pub fn session_key(session: &Session) -> SessionKey {
    (session.date, session.start_time, session.id)
}

/// Therapists are listed by name, id.
pub type TherapistKey = (String, TherapistId);

/// Whether two slots on one date overlap; back-to-back is fine.
pub fn overlaps(a: (NaiveTime, NaiveTime), b: (NaiveTime, NaiveTime)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// The store side of scheduling.
#[async_trait]
pub trait SchedulingStore {
    /// Therapists ordered by name then id; `query` matches any part of the name, in any case.
    async fn therapists(
        &self,
        query: Option<&str>,
        page: PageRequest<TherapistKey>,
    ) -> StoreResult<Page<Therapist, TherapistKey>>;
    async fn therapist(&self, id: TherapistId) -> StoreResult<Therapist>;
    async fn therapist_for_user(&self, user: UserId) -> StoreResult<Option<Therapist>>;
    /// Creates a therapist; a linked user becomes a `therapist` (admins stay admins).
    async fn create_therapist(&self, name: String, user: Option<UserId>) -> StoreResult<Therapist>;
    async fn update_therapist(&self, id: TherapistId, changes: TherapistChanges) -> StoreResult<Therapist>;
    /// Removes a therapist from their sessions; the sessions stay.
    async fn delete_therapist(&self, id: TherapistId) -> StoreResult<()>;

    /// Sessions visible in `scope` that match `filter`, by date, start time, id.
    async fn sessions(
        &self,
        scope: SessionScope,
        filter: SessionFilter,
        page: PageRequest<SessionKey>,
    ) -> StoreResult<Page<Session, SessionKey>>;
    /// `sessions`, each one with a child recorded as read by `reader` for the child's family
    /// (unless `reader` is that family), on the same connection.
    async fn read_sessions(
        &self,
        reader: Actor,
        scope: SessionScope,
        filter: SessionFilter,
        page: PageRequest<SessionKey>,
    ) -> StoreResult<Page<Session, SessionKey>>;
    async fn session(&self, scope: SessionScope, id: SessionId) -> StoreResult<Session>;
    /// `session`, recorded as read by `reader` like `read_sessions`.
    async fn read_session(&self, reader: Actor, scope: SessionScope, id: SessionId) -> StoreResult<Session>;
    /// Books a session, or every occurrence of a series, or nothing: `Conflict`
    /// (`therapist_double_booked`) lists every overlap.
    ///
    /// Every change to a session of a child is audited, in the same transaction, for the
    /// child's family (unless `actor` is that family).
    async fn create_sessions(&self, session: NewSession, actor: Actor) -> StoreResult<Vec<Session>>;
    async fn update_session(
        &self,
        scope: SessionScope,
        id: SessionId,
        changes: SessionChanges,
        actor: Actor,
    ) -> StoreResult<Session>;
    async fn delete_session(&self, id: SessionId, actor: Actor) -> StoreResult<()>;
    /// Adds one therapist; adding one already there changes nothing. With
    /// `outside_working_hours` an admin books them outside their working hours on purpose.
    async fn add_session_therapist(
        &self,
        id: SessionId,
        therapist: TherapistId,
        outside_working_hours: bool,
        actor: Actor,
    ) -> StoreResult<Session>;
    async fn remove_session_therapist(&self, id: SessionId, therapist: TherapistId, actor: Actor) -> StoreResult<()>;
    /// Children whose name, or whose family's username, contains `search` (any case), by name
    /// then id, for staff booking a session. Each one listed is recorded as read by `actor`.
    async fn children_for_booking(&self, search: &str, limit: i64, actor: Actor) -> StoreResult<Vec<ChildChoice>>;
}

/// A session's slot after `changes`, checked: the date, times and status it will have.
pub fn changed_slot(
    current: &Session,
    changes: &SessionChanges,
) -> Result<(NaiveDate, NaiveTime, NaiveTime, SessionStatus), Vec<FieldError>> {
    let start = changes.start_time.unwrap_or(current.start_time);
    let end = changes.end_time.unwrap_or(current.end_time);
    check_time_order(start, end)?;
    Ok((changes.date.unwrap_or(current.date), start, end, changes.status.unwrap_or(current.status)))
}

/// The 422 for therapist ids that do not exist, naming each by its place in the request.
pub fn missing_therapists_error(requested: &[TherapistId], found: &[TherapistId]) -> Option<crate::StoreError> {
    let errors: Vec<FieldError> = requested
        .iter()
        .enumerate()
        .filter(|(_, id)| !found.contains(id))
        .map(|(index, id)| {
            FieldError::new(
                format!("therapistIds[{index}]"),
                "unknown_therapist",
                format!("therapist {id} does not exist"),
            )
        })
        .collect();
    (!errors.is_empty()).then_some(crate::StoreError::Invalid(errors))
}

/// The 409 listing every reason a booking can't happen. A conflict of overlaps alone keeps its
/// old name, `therapist_double_booked`.
pub fn unavailable_error(conflicts: Vec<BookingConflict>) -> crate::StoreError {
    let only_overlaps = conflicts.iter().all(|c| matches!(c.reason, Obstacle::Booked { .. }));
    let (constraint, what) = if only_overlaps {
        ("therapist_double_booked", "overlapping booking(s)")
    } else {
        ("therapist_unavailable", "reason(s) the therapists are not available")
    };
    crate::StoreError::Conflict {
        constraint,
        detail: format!("{} {what} for the therapists involved", conflicts.len()),
        conflicts,
    }
}

pub fn unknown_child_error() -> crate::StoreError {
    crate::StoreError::invalid("childProfileId", "unknown_child", "childProfileId does not name an existing child")
}
