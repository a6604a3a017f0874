//! CareNest's application layer: who may do what, validation into domain types, the audit of
//! reads, and the orchestration of each use case. The JSON API and the pages both call it, so
//! no rule is written twice; neither of them talks to the store for anything it decides.

mod accounts;
pub mod availability;
pub mod backup;
pub mod calendar;
pub mod dates;
mod family;
mod feeds;
pub mod mail;
pub mod passwords;
pub mod reminders;
mod scheduling;

use std::future::Future;
use std::sync::Arc;

use carenest_domain::accounts::{Role, ThrottlePolicy, User};
use carenest_domain::audit::Actor;
use carenest_domain::error::describe_conflict;
use carenest_domain::ids::UserId;
use carenest_domain::page::{Page, PageRequest, MAX_LIMIT};
use carenest_domain::scheduling::BookingConflict;
use carenest_domain::time::{Clock, SystemClock};
use carenest_domain::validation::FieldError;
use carenest_domain::{Store, StoreError, StoreResult};
use passwords::{Hasher, HashingLimits};

pub use accounts::{AccountUpdate, Export, LoggedIn, Me};
pub use availability::AvailabilityInput;
pub use feeds::FeedLink;
pub use scheduling::Booked;

/// What the application needs to know beside the store; the binary fills it from configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a login token lives.
    pub token_ttl: chrono::Duration,
    /// Password attempts allowed per account (or per name no account has) in a window: logins,
    /// and the password checks of changing or erasing an account.
    pub throttle_per_account: ThrottlePolicy,
    /// Failed logins allowed per client address in a window.
    pub throttle_per_client: ThrottlePolicy,
    /// Registrations allowed per client address in a window.
    pub throttle_registrations: ThrottlePolicy,
    /// How much password hashing runs at once.
    pub hashing: HashingLimits,
    /// The practice's time zone: session times are its wall-clock times.
    pub practice_time_zone: chrono_tz::Tz,
    /// Where people reach the service (`https://carenest.example.org`), for links such as
    /// calendar feed URLs; without it a link is built from the request's own host.
    pub public_url: Option<String>,
    /// When families are reminded of sessions; the store plans the outbox with the same.
    pub reminders: carenest_domain::reminders::ReminderPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            token_ttl: chrono::Duration::days(30),
            throttle_per_account: ThrottlePolicy { max_failures: 5, window: chrono::Duration::minutes(15) },
            throttle_per_client: ThrottlePolicy { max_failures: 50, window: chrono::Duration::minutes(15) },
            throttle_registrations: ThrottlePolicy { max_failures: 20, window: chrono::Duration::hours(1) },
            hashing: HashingLimits::default(),
            practice_time_zone: chrono_tz::Europe::Amsterdam,
            public_url: None,
            reminders: carenest_domain::reminders::ReminderPolicy::default(),
        }
    }
}

/// The application: a store, its settings and a clock. It keeps no state of its own between
/// calls.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
    hasher: Arc<Hasher>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        let hasher = Arc::new(Hasher::new(settings.hashing));
        Self { store, settings: Arc::new(settings), clock: Arc::new(SystemClock), hasher }
    }

    /// The same application reading another clock (tests move theirs on).
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The practice's wall-clock date and time now.
    pub fn local_now(&self) -> (chrono::NaiveDate, chrono::NaiveTime) {
        let local = self.now().with_timezone(&self.settings.practice_time_zone).naive_local();
        (local.date(), local.time())
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store, for what is not a use case: readiness and pool figures.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }
}

/// Why a use case did not happen.
#[derive(Debug)]
pub enum AppError {
    /// No valid credentials: a missing, expired or revoked token, or a wrong password.
    Unauthorized,
    /// The caller's role may not do this at all.
    Forbidden,
    /// No such record, or it belongs to someone else.
    NotFound,
    /// A uniqueness or state rule: `constraint` names it, `detail` says it to a person.
    Conflict {
        constraint: &'static str,
        detail: String,
        conflicts: Vec<BookingConflict>,
    },
    /// Input that breaks a rule: every failing field.
    Invalid(Vec<FieldError>),
    TooManyRequests {
        retry_after_seconds: u64,
    },
    /// Too much work waits already (password hashing); come back later.
    Busy {
        retry_after_seconds: u64,
    },
    /// The database does not answer.
    Unavailable,
    /// A bug or a database fault; its cause has been logged.
    Internal,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<Vec<FieldError>> for AppError {
    fn from(errors: Vec<FieldError>) -> Self {
        Self::Invalid(errors)
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict { constraint, detail, conflicts } => {
                // Double bookings and unknown migrations say more than their rule's name.
                let detail = match constraint {
                    "therapist_double_booked" | "unknown_migration" => detail,
                    other => describe_conflict(other).to_owned(),
                };
                Self::Conflict { constraint, detail, conflicts }
            }
            StoreError::Invalid(errors) => Self::Invalid(errors),
            StoreError::Unavailable(cause) => {
                tracing::error!(error = %messages(cause.as_ref()), "database unavailable");
                Self::Unavailable
            }
            StoreError::Other(cause) => {
                tracing::error!(error = %messages(cause.as_ref()), "database error");
                Self::Internal
            }
        }
    }
}

/// An error's chain of messages. Only `Display`: a database error's `Debug` can carry the
/// failing row's values (a child's name, notes), which must never reach a log.
fn messages(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Reads every page of a list, a page of the largest size at a time.
async fn all_pages<T, K, F, Fut>(mut read: F) -> AppResult<Vec<T>>
where
    F: FnMut(PageRequest<K>) -> Fut,
    Fut: Future<Output = StoreResult<Page<T, K>>>,
{
    let mut items = Vec::new();
    let mut page = PageRequest::first(MAX_LIMIT);
    loop {
        let batch = read(page).await?;
        items.extend(batch.items);
        match batch.next {
            Some(next) => page = PageRequest { after: Some(next), limit: MAX_LIMIT },
            None => return Ok(items),
        }
    }
}

/// An authenticated caller, and the credential they came with (the hash of a bearer token),
/// so that changing the password can keep it and logging out can revoke it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub credential: [u8; 32],
    /// The therapist record linked to the caller, as of this request.
    pub therapist: Option<carenest_domain::ids::TherapistId>,
}

impl Caller {
    pub fn id(&self) -> UserId {
        self.user.id
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    /// The caller as the store records them in an audit row.
    pub fn actor(&self) -> Actor {
        Actor { user: self.user.id, role: self.user.role }
    }

    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if allows(self.role(), permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// What a role may do, from the API contract's role table. Family-owned data is always the
/// caller's own, so it needs no rule here; sessions are scoped per role in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ManageTherapists,
    ManageSessions,
    EditSessionNotes,
    ManageUsers,
    /// Working hours, time off and free slots are for staff.
    ReadAvailability,
    ManageClosures,
    /// The whole audit log is the practice's record of who saw what.
    ReadAuditLog,
}

pub fn allows(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::ManageTherapists
        | Permission::ManageSessions
        | Permission::ManageUsers
        | Permission::ManageClosures
        | Permission::ReadAuditLog => role == Role::Admin,
        Permission::EditSessionNotes | Permission::ReadAvailability => matches!(role, Role::Admin | Role::Therapist),
    }
}
