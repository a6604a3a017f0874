use std::fmt;

use crate::validation::FieldError;

/// What a store can report. Backends map their driver errors onto this; the server maps it
/// onto HTTP statuses. A database's own message never travels further than `Other`, which is
/// logged and answered generically.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or state rule was broken; `constraint` names the rule (a constraint or
    /// index name, or a domain rule such as `therapist_double_booked`).
    #[error("conflict on {constraint}")]
    Conflict { constraint: &'static str, detail: String, conflicts: Vec<crate::scheduling::BookingConflict> },
    /// Input that is well formed but refers to something that breaks a rule, found by the store
    /// (a goal's child that belongs to another family, a therapist id that does not exist).
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The database can't be reached or is shutting down.
    #[error("database unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("database error")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub fn conflict(constraint: &'static str, detail: impl fmt::Display) -> Self {
        Self::Conflict { constraint, detail: detail.to_string(), conflicts: Vec::new() }
    }

    pub fn invalid(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }

    pub fn other(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Other(Box::new(error))
    }
}

/// Reads an enum stored as text; a value outside its spellings means the row is corrupt.
pub fn parse_stored<T: crate::validation::Choice>(text: &str) -> StoreResult<T> {
    T::parse(text).ok_or_else(|| StoreError::Other(format!("stored value {text:?} is not one of {:?}", T::ALL).into()))
}

/// What a broken rule means to a person, by its name; shared by the API and the command line.
pub fn describe_conflict(constraint: &str) -> &'static str {
    match constraint {
        "users_username_key" => "that username is taken",
        "users_email_key" => "an account with that email exists already",
        "parent_profiles_user_id_key" => "you have a parent profile already; change it with PATCH",
        "parent_profile_required" => "create your parent profile first",
        "therapists_user_id_key" => "that user is linked to another therapist already",
        "session_therapists_session_id_therapist_id_key" => "that therapist is on the session already",
        "therapist_double_booked" => "a therapist is already booked at an overlapping time",
        "therapist_unavailable" => "a therapist is not available then",
        "last_admin" => "the last admin can't stop being one",
        "unknown_migration" => "the database has a migration this binary does not know",
        "audit_log_not_empty" => "undoing the audit migration would drop the audit log",
        "seeders_name_key" => "that seeder has run already",
        _ => "the request conflicts with the current state",
    }
}
