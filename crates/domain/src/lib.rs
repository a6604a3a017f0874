//! CareNest's domain: the types every layer shares, their validation rules, and the store
//! traits the backends implement. No database driver lives here.

pub mod accounts;
pub mod audit;
pub mod availability;
pub mod backup;
pub mod error;
pub mod family;
pub mod feeds;
pub mod ids;
pub mod ops;
pub mod page;
pub mod reminders;
pub mod scheduling;
pub mod suggestions;
pub mod time;
pub mod validation;

pub use error::{StoreError, StoreResult};

/// Everything a backend provides: one trait per aggregate, joined so the server can hold a
/// single `Arc<dyn Store>` and never know which database it talks to.
pub trait Store:
    accounts::AccountStore
    + family::FamilyStore
    + scheduling::SchedulingStore
    + audit::AuditStore
    + availability::AvailabilityStore
    + feeds::FeedStore
    + reminders::ReminderStore
    + suggestions::SuggestionStore
    + ops::OpsStore
    + backup::BackupStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: accounts::AccountStore
        + family::FamilyStore
        + scheduling::SchedulingStore
        + audit::AuditStore
        + availability::AvailabilityStore
        + feeds::FeedStore
        + reminders::ReminderStore
        + reminders::ReminderStore
        + suggestions::SuggestionStore
        + ops::OpsStore
        + backup::BackupStore
        + Send
        + Sync
        + 'static
{
}
