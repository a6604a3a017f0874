//! Reading domain types out of database rows, written once for both backends. A backend says
//! how it reads each kind of column (PostgreSQL has arrays, JSON and timestamps; SQLite keeps
//! them as text) by implementing [`Columns`]; the mapping from columns to types lives here.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::Value;

use crate::accounts::{Credentials, User};
use crate::audit::AuditEntry;
use crate::error::parse_stored;
use crate::family::{ChildProfile, ParentProfile, ParentingGoal};
use crate::ids::{ChildId, GoalId, ParentProfileId, SessionId, TemplateId, TherapistId, UserId};
use crate::scheduling::{Session, Therapist};
use crate::suggestions::{GoalTemplate, NewGoalTemplate};
use crate::StoreResult;

/// One row, read column by column.
pub trait Columns {
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn int32(&self, column: &str) -> StoreResult<i32>;
    fn opt_int32(&self, column: &str) -> StoreResult<Option<i32>>;
    fn flag(&self, column: &str) -> StoreResult<bool>;
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    /// A list of strings.
    fn list(&self, column: &str) -> StoreResult<Vec<String>>;
    fn json(&self, column: &str) -> StoreResult<Value>;
    fn timestamp(&self, column: &str) -> StoreResult<DateTime<Utc>>;
    fn opt_timestamp(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>>;
    fn date(&self, column: &str) -> StoreResult<NaiveDate>;
    fn opt_date(&self, column: &str) -> StoreResult<Option<NaiveDate>>;
    fn time(&self, column: &str) -> StoreResult<NaiveTime>;
}

pub fn user(row: &impl Columns) -> StoreResult<User> {
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

pub fn credentials(row: &impl Columns) -> StoreResult<Credentials> {
    Ok(Credentials { user: user(row)?, password_hash: row.text("password")? })
}

pub fn parent_profile(row: &impl Columns) -> StoreResult<ParentProfile> {
    Ok(ParentProfile {
        id: ParentProfileId(row.int("id")?),
        user_id: UserId(row.int("user_id")?),
        name: row.text("name")?,
        email: row.opt_text("email")?,
        stress_level: parse_stored(&row.text("stress_level")?)?,
        experience_level: parse_stored(&row.text("experience_level")?)?,
        primary_concerns: row.list("primary_concerns")?,
        support_network: row.list("support_network")?,
        bio: row.opt_text("bio")?,
        preferred_language: row.text("preferred_language")?,
        communication_preference: row.opt_text("communication_preference")?,
        completed_onboarding: row.flag("completed_onboarding")?,
        current_onboarding_step: row.int32("current_onboarding_step")?,
        onboarding_data: row.json("onboarding_data")?,
        last_suggestion_check: row.opt_timestamp("last_suggestion_check")?,
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
        profile_embedding: row.opt_text("profile_embedding")?,
    })
}

pub fn child(row: &impl Columns) -> StoreResult<ChildProfile> {
    Ok(ChildProfile {
        id: ChildId(row.int("id")?),
        parent_profile_id: ParentProfileId(row.int("parent_profile_id")?),
        name: row.text("name")?,
        age: row.int32("age")?,
        special_needs: row.list("special_needs")?,
        routines: row.json("routines")?,
        development_notes: row.opt_text("development_notes")?,
        last_assessment: row.opt_timestamp("last_assessment")?,
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
    })
}

pub fn goal(row: &impl Columns) -> StoreResult<ParentingGoal> {
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

pub fn therapist(row: &impl Columns) -> StoreResult<Therapist> {
    Ok(Therapist {
        id: TherapistId(row.int("id")?),
        name: row.text("name")?,
        user_id: row.opt_int("user_id")?.map(UserId),
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
    })
}

/// A session without its therapists, which are read in one more query for a whole page.
pub fn session(row: &impl Columns) -> StoreResult<Session> {
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
        created_at: row.timestamp("created_at")?,
        updated_at: row.timestamp("updated_at")?,
    })
}

pub fn goal_template(row: &impl Columns) -> StoreResult<GoalTemplate> {
    Ok(GoalTemplate {
        id: TemplateId(row.int("id")?),
        template: NewGoalTemplate {
            key: row.text("key")?,
            category: row.text("category")?,
            title: row.text("title")?,
            description: row.opt_text("description")?.unwrap_or_default(),
            title_nl: row.opt_text("title_nl")?.unwrap_or_default(),
            description_nl: row.opt_text("description_nl")?.unwrap_or_default(),
            tags: row.list("tags")?,
            min_age: row.opt_int32("min_age")?,
            max_age: row.opt_int32("max_age")?,
        },
    })
}

/// An audit entry with its row id, which orders and pages the log.
pub fn audit_entry(row: &impl Columns) -> StoreResult<(i64, AuditEntry)> {
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
