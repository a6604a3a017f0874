//! Rows into domain types, written once. Scalar columns read the same way on every backend
//! (one blanket implementation over sqlx's rows); lists and JSON, stored differently, are
//! read by the dialect.

use std::cell::Cell;

use carenest_domain::accounts::{Credentials, User};
use carenest_domain::audit::AuditEntry;
use carenest_domain::availability::{BookedSlot, Closure, TimeOff, WeeklyInterval};
use carenest_domain::error::parse_stored;
use carenest_domain::family::{ChildProfile, ParentProfile, ParentingGoal};
use carenest_domain::ids::{
    ChildId, ClosureId, GoalId, ParentProfileId, SessionId, TemplateId, TherapistId, TimeOffId, UserId,
};
use carenest_domain::scheduling::{Session, Therapist, TherapistRef};
use carenest_domain::suggestions::{GoalTemplate, NewGoalTemplate};
use carenest_domain::time::{parse_date, parse_time_of_day, parse_timestamp};
use carenest_domain::{StoreError, StoreResult};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::{Column, ColumnIndex, Decode, Row, Type, TypeInfo, ValueRef};

use crate::Dialect;

/// A row's scalar columns, by name.
pub trait Columns {
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn int32(&self, column: &str) -> StoreResult<i32>;
    fn opt_int32(&self, column: &str) -> StoreResult<Option<i32>>;
    fn flag(&self, column: &str) -> StoreResult<bool>;
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>>;
    fn timestamp(&self, column: &str) -> StoreResult<DateTime<Utc>>;
    fn opt_timestamp(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>>;
    fn date(&self, column: &str) -> StoreResult<NaiveDate>;
    fn opt_date(&self, column: &str) -> StoreResult<Option<NaiveDate>>;
    fn time(&self, column: &str) -> StoreResult<NaiveTime>;
    fn opt_time(&self, column: &str) -> StoreResult<Option<NaiveTime>>;
}

/// A column that does not decode means the schema and the code disagree: a bug, never input.
fn decoded<T>(result: Result<T, sqlx::Error>) -> StoreResult<T> {
    result.map_err(StoreError::other)
}

thread_local! {
    /// The place after the column found last: decoders read a row's columns mostly in the
    /// order the statement lists them, so this is usually the next one asked for.
    static NEXT_PLACE: Cell<usize> = const { Cell::new(0) };
}

/// Where `column` is in `row`. sqlx finds a name through a map that hashes it with SipHash for
/// every value read; here the place after the last one found is tried first, and the row's
/// names are searched only when that misses (`GET /me`'s family rows carry 40 columns).
/// Statements never repeat a column's name (checked in debug builds, so by every test), so the
/// first column of that name is the only one.
fn place<R: Row>(row: &R, column: &str) -> StoreResult<usize> {
    let columns = row.columns();
    let hint = NEXT_PLACE.get();
    let found = match columns.get(hint) {
        Some(next) if next.name() == column => Some(hint),
        _ => columns.iter().position(|c| c.name() == column),
    };
    let found = found.ok_or_else(|| StoreError::other(sqlx::Error::ColumnNotFound(column.into())))?;
    debug_assert_eq!(columns.iter().filter(|c| c.name() == column).count(), 1, "column {column} named twice");
    NEXT_PLACE.set(found + 1);
    Ok(found)
}

impl<R> Columns for R
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i32: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> &'r str: Decode<'r, R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> NaiveDate: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> NaiveTime: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, column: &str) -> StoreResult<i64> {
        decoded(self.try_get(place(self, column)?))
    }
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        decoded(self.try_get(place(self, column)?))
    }
    fn int32(&self, column: &str) -> StoreResult<i32> {
        decoded(self.try_get(place(self, column)?))
    }
    fn opt_int32(&self, column: &str) -> StoreResult<Option<i32>> {
        decoded(self.try_get(place(self, column)?))
    }
    fn flag(&self, column: &str) -> StoreResult<bool> {
        decoded(self.try_get(place(self, column)?))
    }
    fn text(&self, column: &str) -> StoreResult<String> {
        decoded(self.try_get(place(self, column)?))
    }
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        decoded(self.try_get(place(self, column)?))
    }
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        decoded(self.try_get(place(self, column)?))
    }
    fn timestamp(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        temporal(self, column, parse_timestamp)?.ok_or_else(|| null_in(column))
    }
    fn opt_timestamp(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        temporal(self, column, parse_timestamp)
    }
    fn date(&self, column: &str) -> StoreResult<NaiveDate> {
        temporal(self, column, parse_date)?.ok_or_else(|| null_in(column))
    }
    fn opt_date(&self, column: &str) -> StoreResult<Option<NaiveDate>> {
        temporal(self, column, parse_date)
    }
    fn time(&self, column: &str) -> StoreResult<NaiveTime> {
        temporal(self, column, parse_time_of_day)?.ok_or_else(|| null_in(column))
    }
    fn opt_time(&self, column: &str) -> StoreResult<Option<NaiveTime>> {
        temporal(self, column, parse_time_of_day)
    }
}

/// A date, time or timestamp column. One the database hands back as text (SQLite) is read by
/// the domain's strict parser, which reads the forms the store writes; sqlx reads such text
/// with chrono's format-string parser, one format after another, and that was a tenth of the
/// work of reading a busy day. Text in any other form, and binary values (PostgreSQL), are
/// decoded by sqlx as `try_get` would.
fn temporal<'r, R, T>(row: &'r R, column: &str, parse: fn(&str) -> Option<T>) -> StoreResult<Option<T>>
where
    R: Row,
    usize: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
    for<'s> &'s str: Decode<'s, R::Database>,
{
    let place = place(row, column)?;
    let raw = decoded(row.try_get_raw(place))?;
    if raw.is_null() {
        return Ok(None);
    }
    let kind = raw.type_info().into_owned();
    if kind.name() == "TEXT" {
        let text: &str = decoded(Decode::decode(raw).map_err(sqlx::Error::Decode))?;
        return match parse(text) {
            Some(value) => Ok(Some(value)),
            None => decoded(row.try_get(place)),
        };
    }
    if !kind.is_null() && !T::compatible(&kind) {
        let message = format!("column {column} holds {}, not {}", kind.name(), T::type_info().name());
        return Err(StoreError::other(sqlx::Error::Decode(message.into())));
    }
    decoded(T::decode(raw).map(Some).map_err(sqlx::Error::Decode))
}

/// A required column that held NULL: the schema and the code disagree.
fn null_in(column: &str) -> StoreError {
    StoreError::other(sqlx::Error::Decode(format!("column {column} is NULL").into()))
}

/// Maps every row with `map`.
pub fn all<D: Dialect, T>(rows: &[D::Row], map: fn(&D::Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(map).collect()
}

pub const USER: &str = "id, username, email, profile_picture, role, created_at, updated_at";

pub fn user<D: Dialect>(row: &D::Row) -> StoreResult<User> {
    Ok(User {
        id: UserId(row.int("id")?),
        username: row.text("username")?,
        email: row.text("email")?,
        profile_picture: row.opt_text("profile_picture")?,
        role: parse_stored(&row.text("role")?)?,
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
    })
}

pub fn credentials<D: Dialect>(row: &D::Row) -> StoreResult<Credentials> {
    Ok(Credentials { user: user::<D>(row)?, password_hash: row.text("password")? })
}

pub const PROFILE: &str = "id, user_id, name, email, stress_level, experience_level, primary_concerns, support_network, \
     bio, preferred_language, communication_preference, completed_onboarding, current_onboarding_step, onboarding_data, \
     last_suggestion_check, created_at, updated_at, profile_embedding";

pub fn parent_profile<D: Dialect>(row: &D::Row) -> StoreResult<ParentProfile> {
    Ok(ParentProfile {
        id: ParentProfileId(row.int("id")?),
        user_id: UserId(row.int("user_id")?),
        name: row.text("name")?,
        email: row.opt_text("email")?,
        stress_level: parse_stored(&row.text("stress_level")?)?,
        experience_level: parse_stored(&row.text("experience_level")?)?,
        primary_concerns: D::list(row, "primary_concerns")?,
        support_network: D::list(row, "support_network")?,
        bio: row.opt_text("bio")?,
        preferred_language: row.text("preferred_language")?,
        communication_preference: row.opt_text("communication_preference")?,
        completed_onboarding: row.flag("completed_onboarding")?,
        current_onboarding_step: row.int32("current_onboarding_step")?,
        onboarding_data: D::json(row, "onboarding_data")?,
        last_suggestion_check: row.opt_timestamp("last_suggestion_check")?,
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
        profile_embedding: row.opt_text("profile_embedding")?,
    })
}

pub const CHILD: &str =
    "id, parent_profile_id, name, age, special_needs, routines, development_notes, last_assessment, \
     created_at, updated_at";

pub fn child<D: Dialect>(row: &D::Row) -> StoreResult<ChildProfile> {
    Ok(ChildProfile {
        id: ChildId(row.int("id")?),
        parent_profile_id: ParentProfileId(row.int("parent_profile_id")?),
        name: row.text("name")?,
        age: row.int32("age")?,
        special_needs: D::list(row, "special_needs")?,
        routines: D::json(row, "routines")?,
        development_notes: row.opt_text("development_notes")?,
        last_assessment: row.opt_timestamp("last_assessment")?,
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
    })
}

pub const GOAL: &str = "id, parent_profile_id, child_profile_id, title, description, category, status, progress, \
     target_date, template_id, created_at, updated_at";

pub fn goal<D: Dialect>(row: &D::Row) -> StoreResult<ParentingGoal> {
    Ok(ParentingGoal {
        id: GoalId(row.int("id")?),
        parent_profile_id: ParentProfileId(row.int("parent_profile_id")?),
        child_profile_id: row.opt_int("child_profile_id")?.map(ChildId),
        title: row.text("title")?,
        description: row.opt_text("description")?,
        category: row.opt_text("category")?,
        status: parse_stored(&row.text("status")?)?,
        progress: row.int32("progress")?,
        target_date: row.opt_date("target_date")?,
        template_id: row.opt_int("template_id")?.map(TemplateId),
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
    })
}

pub const THERAPIST: &str = "id, name, user_id, created_at, updated_at";

pub fn therapist<D: Dialect>(row: &D::Row) -> StoreResult<Therapist> {
    Ok(Therapist {
        id: TherapistId(row.int("id")?),
        name: row.text("name")?,
        user_id: row.opt_int("user_id")?.map(UserId),
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
    })
}

/// The columns of a session read through the alias `s`.
pub const SESSION: &str =
    "s.id, s.date, s.start_time, s.end_time, s.notes, s.status, s.child_profile_id, s.series_id, \
     s.version, s.created_at, s.updated_at";

/// The columns of a session as `INSERT ... RETURNING` names them, without the alias.
pub fn returned_session_columns() -> String {
    SESSION.replace("s.", "")
}

/// A session without its therapists (see [`session_therapists`]).
pub fn session<D: Dialect>(row: &D::Row) -> StoreResult<Session> {
    Ok(Session {
        id: SessionId(row.int("id")?),
        date: row.date("date")?,
        start_time: row.time("start_time")?,
        end_time: row.time("end_time")?,
        notes: row.opt_text("notes")?,
        status: parse_stored(&row.text("status")?)?,
        child_profile_id: row.opt_int("child_profile_id")?.map(ChildId),
        series_id: row.opt_int("series_id")?,
        therapists: Vec::new(),
        version: row.int32("version")?,
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
    })
}

/// Adds the therapists a session's row brings to `therapists`: all of them, from the JSON
/// array of `[id, name]` pairs where the dialect aggregates them, else the one joined to the
/// row, if the session has one (see `with_therapists` in `scheduling.rs`).
pub fn session_therapists<D: Dialect>(row: &D::Row, therapists: &mut Vec<TherapistRef>) -> StoreResult<()> {
    if D::session_therapists_json().is_some() {
        let pairs: Vec<(i64, String)> = serde_json::from_str(&row.text("therapists")?).map_err(StoreError::other)?;
        therapists.extend(pairs.into_iter().map(|(id, name)| TherapistRef { id: TherapistId(id), name }));
    } else if let Some(id) = row.opt_int("therapist_id")? {
        therapists.push(TherapistRef { id: TherapistId(id), name: row.text("therapist_name")? });
    }
    Ok(())
}

/// A non-cancelled session of one of its therapists.
pub fn booked_slot<D: Dialect>(row: &D::Row) -> StoreResult<BookedSlot> {
    Ok(BookedSlot {
        therapist: TherapistId(row.int("therapist_id")?),
        session: SessionId(row.int("id")?),
        date: row.date("date")?,
        start: row.time("start_time")?,
        end: row.time("end_time")?,
    })
}

pub fn weekly_interval<D: Dialect>(row: &D::Row) -> StoreResult<(TherapistId, WeeklyInterval)> {
    Ok((
        TherapistId(row.int("therapist_id")?),
        WeeklyInterval {
            weekday: u8::try_from(row.int32("weekday")?).map_err(StoreError::other)?,
            start: row.time("start_time")?,
            end: row.time("end_time")?,
        },
    ))
}

pub const TIME_OFF: &str = "id, therapist_id, start_date, end_date, start_time, end_time, reason, created_at";

pub fn time_off<D: Dialect>(row: &D::Row) -> StoreResult<TimeOff> {
    Ok(TimeOff {
        id: TimeOffId(row.int("id")?),
        therapist_id: TherapistId(row.int("therapist_id")?),
        start_date: row.date("start_date")?,
        end_date: row.date("end_date")?,
        start_time: row.opt_time("start_time")?,
        end_time: row.opt_time("end_time")?,
        reason: row.opt_text("reason")?,
        created_at: row.timestamp("created_at")?,
    })
}

pub const CLOSURE: &str = "id, start_date, end_date, name, created_at";

pub fn closure<D: Dialect>(row: &D::Row) -> StoreResult<Closure> {
    Ok(Closure {
        id: ClosureId(row.int("id")?),
        start_date: row.date("start_date")?,
        end_date: row.date("end_date")?,
        name: row.text("name")?,
        created_at: row.timestamp("created_at")?,
    })
}

pub const TEMPLATE: &str = "id, key, category, title, description, title_nl, description_nl, tags, min_age, max_age";

pub fn goal_template<D: Dialect>(row: &D::Row) -> StoreResult<GoalTemplate> {
    Ok(GoalTemplate {
        id: TemplateId(row.int("id")?),
        template: NewGoalTemplate {
            key: row.text("key")?,
            category: row.text("category")?,
            title: row.text("title")?,
            description: row.opt_text("description")?.unwrap_or_default(),
            title_nl: row.opt_text("title_nl")?.unwrap_or_default(),
            description_nl: row.opt_text("description_nl")?.unwrap_or_default(),
            tags: D::list(row, "tags")?,
            min_age: row.opt_int32("min_age")?,
            max_age: row.opt_int32("max_age")?,
        },
    })
}

pub const AUDIT: &str = "id, at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id";

/// An audit entry with its row id, which orders and pages the log.
pub fn audit_entry<D: Dialect>(row: &D::Row) -> StoreResult<(i64, AuditEntry)> {
    Ok((
        row.int("id")?,
        AuditEntry {
            at: row.timestamp("at")?,
            actor_user_id: UserId(row.int("actor_user_id")?),
            actor_role: parse_stored(&row.text("actor_role")?)?,
            action: parse_stored(&row.text("action")?)?,
            resource_type: row.text("resource_type")?,
            resource_id: row.int("resource_id")?,
            subject_user_id: UserId(row.int("subject_user_id")?),
        },
    ))
}
