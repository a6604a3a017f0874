//! The API's wire format: request and response bodies, their JSON names (the seeds'
//! camelCase), and their OpenAPI schemas. The domain's types know nothing of HTTP; these
//! convert to and from them.

mod requests;
pub(crate) mod temporal;

use carenest_domain::accounts::{self, Role};
use carenest_domain::audit::{self, AuditAction};
use carenest_domain::availability::{self, Obstacle};
use carenest_domain::family::{self, ExperienceLevel, GoalStatus, StressLevel};
use carenest_domain::ids::{
    ChildId, ClosureId, GoalId, ParentProfileId, SessionId, TemplateId, TherapistId, TimeOffId, UserId,
};
use carenest_domain::scheduling::{self, SessionStatus};
use carenest_domain::suggestions;
use carenest_domain::validation;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use serde_json::Value;
use temporal::{date, optional_date, optional_time_of_day, optional_timestamp, time_of_day, timestamp};
use utoipa::ToSchema;

/// OpenAPI schemas of the domain's text enums, named as the API names them, with the
/// spellings the domain accepts.
pub mod enums {
    use carenest_domain::validation::Choice;
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    use utoipa::openapi::RefOr;

    macro_rules! enum_schemas {
        ($($name:ident => $domain:ty),* $(,)?) => {$(
            #[doc = concat!("The spellings of `", stringify!($name), "`.")]
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(<$domain as Choice>::ALL.iter().copied()))
                        .into()
                }
            }

            impl utoipa::ToSchema for $name {}
        )*};
    }

    enum_schemas!(
        Role => carenest_domain::accounts::Role,
        AuditAction => carenest_domain::audit::AuditAction,
        StressLevel => carenest_domain::family::StressLevel,
        ExperienceLevel => carenest_domain::family::ExperienceLevel,
        GoalStatus => carenest_domain::family::GoalStatus,
        SessionStatus => carenest_domain::scheduling::SessionStatus,
        RepeatEvery => carenest_domain::scheduling::RepeatEvery,
    );

    /// Why a booking can't have a therapist.
    pub struct ConflictReason;

    impl utoipa::PartialSchema for ConflictReason {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["booked", "outside_working_hours", "time_off", "closed"]))
                .into()
        }
    }

    impl utoipa::ToSchema for ConflictReason {}
}

// ---- responses --------------------------------------------------------------------------------

/// A user as every response shows it: never the password hash, never a token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[schema(value_type = i64)]
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub profile_picture: Option<String>,
    #[schema(value_type = enums::Role)]
    pub role: Role,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
}

impl From<accounts::User> for User {
    fn from(user: accounts::User) -> Self {
        Self {
            id: user.id,
            username: user.username,
            email: user.email,
            profile_picture: user.profile_picture,
            role: user.role,
            created_at: user.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParentProfile {
    #[schema(value_type = i64)]
    pub id: ParentProfileId,
    #[schema(value_type = i64)]
    pub user_id: UserId,
    pub name: String,
    pub email: Option<String>,
    #[schema(value_type = enums::StressLevel)]
    pub stress_level: StressLevel,
    #[schema(value_type = enums::ExperienceLevel)]
    pub experience_level: ExperienceLevel,
    pub primary_concerns: Vec<String>,
    pub support_network: Vec<String>,
    pub bio: Option<String>,
    pub preferred_language: String,
    pub communication_preference: Option<String>,
    pub completed_onboarding: bool,
    pub current_onboarding_step: i32,
    /// A JSON object.
    #[schema(value_type = Object)]
    pub onboarding_data: Value,
    #[serde(serialize_with = "optional_timestamp")]
    pub last_suggestion_check: Option<DateTime<Utc>>,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl From<family::ParentProfile> for ParentProfile {
    fn from(p: family::ParentProfile) -> Self {
        Self {
            id: p.id,
            user_id: p.user_id,
            name: p.name,
            email: p.email,
            stress_level: p.stress_level,
            experience_level: p.experience_level,
            primary_concerns: p.primary_concerns,
            support_network: p.support_network,
            bio: p.bio,
            preferred_language: p.preferred_language,
            communication_preference: p.communication_preference,
            completed_onboarding: p.completed_onboarding,
            current_onboarding_step: p.current_onboarding_step,
            onboarding_data: p.onboarding_data,
            last_suggestion_check: p.last_suggestion_check,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Onboarding {
    pub completed_onboarding: bool,
    pub current_onboarding_step: i32,
    #[schema(value_type = Object)]
    pub onboarding_data: Value,
}

impl From<family::Onboarding> for Onboarding {
    fn from(o: family::Onboarding) -> Self {
        Self {
            completed_onboarding: o.completed_onboarding,
            current_onboarding_step: o.current_onboarding_step,
            onboarding_data: o.onboarding_data,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChildProfile {
    #[schema(value_type = i64)]
    pub id: ChildId,
    #[schema(value_type = i64)]
    pub parent_profile_id: ParentProfileId,
    pub name: String,
    #[schema(minimum = 0, maximum = 25)]
    pub age: i32,
    pub special_needs: Vec<String>,
    /// A JSON object or array.
    #[schema(value_type = Object)]
    pub routines: Value,
    pub development_notes: Option<String>,
    #[serde(serialize_with = "optional_timestamp")]
    pub last_assessment: Option<DateTime<Utc>>,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl From<family::ChildProfile> for ChildProfile {
    fn from(c: family::ChildProfile) -> Self {
        Self {
            id: c.id,
            parent_profile_id: c.parent_profile_id,
            name: c.name,
            age: c.age,
            special_needs: c.special_needs,
            routines: c.routines,
            development_notes: c.development_notes,
            last_assessment: c.last_assessment,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParentingGoal {
    #[schema(value_type = i64)]
    pub id: GoalId,
    #[schema(value_type = i64)]
    pub parent_profile_id: ParentProfileId,
    #[schema(value_type = Option<i64>)]
    pub child_profile_id: Option<ChildId>,
    pub title: String,
    pub description: Option<String>,
    pub category: Option<String>,
    #[schema(value_type = enums::GoalStatus)]
    pub status: GoalStatus,
    #[schema(minimum = 0, maximum = 100)]
    pub progress: i32,
    #[serde(serialize_with = "optional_date")]
    pub target_date: Option<NaiveDate>,
    /// The catalogue template this goal was adopted from, if any.
    #[schema(value_type = Option<i64>)]
    pub template_id: Option<TemplateId>,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl From<family::ParentingGoal> for ParentingGoal {
    fn from(g: family::ParentingGoal) -> Self {
        Self {
            id: g.id,
            parent_profile_id: g.parent_profile_id,
            child_profile_id: g.child_profile_id,
            title: g.title,
            description: g.description,
            category: g.category,
            status: g.status,
            progress: g.progress,
            target_date: g.target_date,
            template_id: g.template_id,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Therapist {
    #[schema(value_type = i64)]
    pub id: TherapistId,
    pub name: String,
    #[schema(value_type = Option<i64>)]
    pub user_id: Option<UserId>,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl From<scheduling::Therapist> for Therapist {
    fn from(t: scheduling::Therapist) -> Self {
        Self { id: t.id, name: t.name, user_id: t.user_id, created_at: t.created_at, updated_at: t.updated_at }
    }
}

/// A therapist as a session lists them.
#[derive(Debug, Serialize, ToSchema)]
pub struct TherapistRef {
    #[schema(value_type = i64)]
    pub id: TherapistId,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    #[schema(value_type = i64)]
    pub id: SessionId,
    #[serde(serialize_with = "date")]
    pub date: NaiveDate,
    /// `HH:MM:SS`, the practice's local wall-clock time.
    #[serde(serialize_with = "time_of_day")]
    #[schema(value_type = String, example = "09:30:00")]
    pub start_time: NaiveTime,
    #[serde(serialize_with = "time_of_day")]
    #[schema(value_type = String, example = "10:15:00")]
    pub end_time: NaiveTime,
    pub notes: Option<String>,
    #[schema(value_type = enums::SessionStatus)]
    pub status: SessionStatus,
    #[schema(value_type = Option<i64>)]
    pub child_profile_id: Option<ChildId>,
    /// Ties the occurrences of a recurring series together.
    pub series_id: Option<i64>,
    /// Ordered by id.
    pub therapists: Vec<TherapistRef>,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl From<scheduling::Session> for Session {
    fn from(s: scheduling::Session) -> Self {
        Self {
            id: s.id,
            date: s.date,
            start_time: s.start_time,
            end_time: s.end_time,
            notes: s.notes,
            status: s.status,
            child_profile_id: s.child_profile_id,
            series_id: s.series_id,
            therapists: s.therapists.into_iter().map(|t| TherapistRef { id: t.id, name: t.name }).collect(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// Why a booking can't have a therapist: `reason` is `booked` (an overlapping session, which
/// the entry names with its date and times), `outside_working_hours`, `time_off` or `closed`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingConflict {
    #[schema(value_type = i64)]
    pub therapist_id: TherapistId,
    #[schema(value_type = enums::ConflictReason)]
    pub reason: &'static str,
    #[serde(serialize_with = "date")]
    pub date: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub session_id: Option<SessionId>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "optional_time_of_day")]
    #[schema(value_type = Option<String>)]
    pub start_time: Option<NaiveTime>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "optional_time_of_day")]
    #[schema(value_type = Option<String>)]
    pub end_time: Option<NaiveTime>,
}

impl From<scheduling::BookingConflict> for BookingConflict {
    fn from(c: scheduling::BookingConflict) -> Self {
        let (reason, session) = match c.reason {
            Obstacle::Booked { session, start, end } => ("booked", Some((session, start, end))),
            Obstacle::OutsideWorkingHours => ("outside_working_hours", None),
            Obstacle::TimeOff => ("time_off", None),
            Obstacle::Closed => ("closed", None),
        };
        Self {
            therapist_id: c.therapist_id,
            reason,
            date: c.date,
            session_id: session.map(|s| s.0),
            start_time: session.map(|s| s.1),
            end_time: session.map(|s| s.2),
        }
    }
}

/// A therapist's weekly working hours. An empty list means none are set: bookable at any time.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkingHours {
    /// Ordered by weekday, then start.
    pub weekly: Vec<WeeklyInterval>,
    /// When the pattern was last replaced; `null` if never.
    #[serde(serialize_with = "optional_timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeeklyInterval {
    /// 1 = Monday ... 7 = Sunday (ISO 8601).
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: u8,
    #[serde(serialize_with = "time_of_day")]
    #[schema(value_type = String, example = "09:00:00")]
    pub start_time: NaiveTime,
    #[serde(serialize_with = "time_of_day")]
    #[schema(value_type = String, example = "12:30:00")]
    pub end_time: NaiveTime,
}

impl From<availability::WorkingHours> for WorkingHours {
    fn from(w: availability::WorkingHours) -> Self {
        Self {
            weekly: w
                .weekly
                .into_iter()
                .map(|i| WeeklyInterval { weekday: i.weekday, start_time: i.start, end_time: i.end })
                .collect(),
            updated_at: w.updated_at,
        }
    }
}

/// A whole day or days off, or one part of one day when the times are given.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeOff {
    #[schema(value_type = i64)]
    pub id: TimeOffId,
    #[schema(value_type = i64)]
    pub therapist_id: TherapistId,
    #[serde(serialize_with = "date")]
    pub start_date: NaiveDate,
    #[serde(serialize_with = "date")]
    pub end_date: NaiveDate,
    #[serde(serialize_with = "optional_time_of_day")]
    #[schema(value_type = Option<String>)]
    pub start_time: Option<NaiveTime>,
    #[serde(serialize_with = "optional_time_of_day")]
    #[schema(value_type = Option<String>)]
    pub end_time: Option<NaiveTime>,
    /// Seen by staff only.
    pub reason: Option<String>,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
}

impl From<availability::TimeOff> for TimeOff {
    fn from(t: availability::TimeOff) -> Self {
        Self {
            id: t.id,
            therapist_id: t.therapist_id,
            start_date: t.start_date,
            end_date: t.end_date,
            start_time: t.start_time,
            end_time: t.end_time,
            reason: t.reason,
            created_at: t.created_at,
        }
    }
}

/// Days the whole practice is closed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Closure {
    #[schema(value_type = i64)]
    pub id: ClosureId,
    #[serde(serialize_with = "date")]
    pub start_date: NaiveDate,
    #[serde(serialize_with = "date")]
    pub end_date: NaiveDate,
    pub name: String,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
}

impl From<availability::Closure> for Closure {
    fn from(c: availability::Closure) -> Self {
        Self { id: c.id, start_date: c.start_date, end_date: c.end_date, name: c.name, created_at: c.created_at }
    }
}

/// A free slot for every therapist asked about.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    #[serde(serialize_with = "date")]
    pub date: NaiveDate,
    #[serde(serialize_with = "time_of_day")]
    #[schema(value_type = String, example = "09:15:00")]
    pub start_time: NaiveTime,
    #[serde(serialize_with = "time_of_day")]
    #[schema(value_type = String, example = "10:00:00")]
    pub end_time: NaiveTime,
}

impl From<availability::Slot> for Slot {
    fn from(s: availability::Slot) -> Self {
        Self { date: s.date, start_time: s.start, end_time: s.end }
    }
}

/// Who, what and when; never content.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    #[serde(serialize_with = "timestamp")]
    pub at: DateTime<Utc>,
    #[schema(value_type = i64)]
    pub actor_user_id: UserId,
    #[schema(value_type = enums::Role)]
    pub actor_role: Role,
    #[schema(value_type = enums::AuditAction)]
    pub action: AuditAction,
    /// `parent_profile`, `child_profile`, `parenting_goal`, `session`, `user`.
    pub resource_type: String,
    pub resource_id: i64,
    #[schema(value_type = i64)]
    pub subject_user_id: UserId,
}

impl From<audit::AuditEntry> for AuditEntry {
    fn from(e: audit::AuditEntry) -> Self {
        Self {
            at: e.at,
            actor_user_id: e.actor_user_id,
            actor_role: e.actor_role,
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            subject_user_id: e.subject_user_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    #[schema(value_type = i64)]
    pub template_id: TemplateId,
    pub title: String,
    pub description: String,
    pub category: String,
    /// 0 to 1; higher fits better.
    pub score: f64,
    /// Why it is suggested, in the parent's language.
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suggestions {
    #[serde(serialize_with = "timestamp")]
    pub generated_at: DateTime<Utc>,
    pub items: Vec<Suggestion>,
}

impl From<suggestions::Suggestions> for Suggestions {
    fn from(s: suggestions::Suggestions) -> Self {
        Self {
            generated_at: s.generated_at,
            items: s
                .items
                .into_iter()
                .map(|i| Suggestion {
                    template_id: i.template_id,
                    title: i.title,
                    description: i.description,
                    category: i.category,
                    score: i.score,
                    reasons: i.reasons,
                })
                .collect(),
        }
    }
}

/// One failing field: a JSON-pointer-like path (`therapistIds[2]`), a stable machine code, and
/// a sentence for people.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl From<validation::FieldError> for FieldError {
    fn from(e: validation::FieldError) -> Self {
        Self { field: e.field, code: e.code, message: e.message }
    }
}

pub use requests::*;

/// A new calendar feed: its URL is shown once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedLink {
    /// The secret URL a calendar app subscribes to; any earlier one has stopped working.
    pub url: String,
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
}
