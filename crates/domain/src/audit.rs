//! The append-only record of who read or changed a family's data.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::accounts::Role;
use crate::ids::UserId;
use crate::page::{Page, PageRequest};
use crate::StoreResult;

crate::text_enum!(
    /// What was done.
    AuditAction { Read = "read", Create = "create", Update = "update", Delete = "delete" }
);

/// Who makes a change that the store records in the change's own transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user: UserId,
    pub role: Role,
}

/// Who, what and when; never content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor_user_id: UserId,
    pub actor_role: Role,
    pub action: AuditAction,
    /// `parent_profile`, `child_profile`, `parenting_goal`, `session`, `user`.
    pub resource_type: String,
    pub resource_id: i64,
    pub subject_user_id: UserId,
}

/// What an admin looks for in the audit log; every part optional, all of them together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    pub subject: Option<UserId>,
    pub resource_type: Option<String>,
    pub resource_id: Option<i64>,
    pub action: Option<AuditAction>,
    /// From this moment, inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Until this moment, exclusive.
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// Every filter that can't match anything by its shape, at once: ids out of range, a
    /// resource type that is not a lower-case name, a time range that ends before it starts.
    pub fn validate(&self) -> Result<(), Vec<crate::validation::FieldError>> {
        let mut errors = crate::validation::Errors::new();
        for (field, id) in [("actorUserId", self.actor.map(|u| u.0)), ("subjectUserId", self.subject.map(|u| u.0))] {
            if let Some(id) = id {
                errors.range(field, id, 1, i64::MAX);
            }
        }
        if let Some(id) = self.resource_id {
            errors.range("resourceId", id, 0, i64::MAX);
        }
        if let Some(kind) = &self.resource_type {
            let named = (1..=50).contains(&kind.len()) && kind.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if !named {
                errors.add("resourceType", "pattern", "resourceType is 1 to 50 lower-case letters and underscores");
            }
        }
        if let (Some(from), Some(until)) = (self.from, self.until) {
            if until <= from {
                errors.add("until", "before_from", "until must be after from");
            }
        }
        errors.finish(())
    }
}

/// The shortest retention `db prune-audit` accepts: a year of who saw what stays.
pub const AUDIT_RETENTION_MIN_DAYS: i64 = 365;

#[async_trait]
pub trait AuditStore {
    /// The entries a user made as the actor, newest first (keyed by the row id).
    async fn audit_by_actor(&self, actor: UserId, page: PageRequest<i64>) -> StoreResult<Page<(i64, AuditEntry), i64>>;
    /// A subject's entries, newest first (keyed by the row id).
    async fn audit_entries(&self, subject: UserId, page: PageRequest<i64>)
        -> StoreResult<Page<(i64, AuditEntry), i64>>;
    /// Entries matching `filter`, newest first, and a row recording that `reader` read the
    /// log, in one transaction.
    async fn audit_search(
        &self,
        reader: Actor,
        filter: &AuditFilter,
        page: PageRequest<i64>,
    ) -> StoreResult<Page<(i64, AuditEntry), i64>>;
    /// Deletes the entries older than `before`: the log's one delete path, which its triggers
    /// allow only while this runs. The number of entries removed.
    async fn prune_audit(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}
