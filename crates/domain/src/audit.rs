//! The append-only record of who read or changed a family's data.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    #[schema(value_type = i64)]
    pub actor_user_id: UserId,
    pub actor_role: Role,
    pub action: AuditAction,
    /// `parent_profile`, `child_profile`, `parenting_goal`, `session`, `user`.
    pub resource_type: String,
    pub resource_id: i64,
    #[schema(value_type = i64)]
    pub subject_user_id: UserId,
}

#[async_trait]
pub trait AuditStore {
    async fn record_audit(&self, entries: &[AuditEntry]) -> StoreResult<()>;
    /// A subject's entries, newest first (keyed by the row id).
    async fn audit_entries(&self, subject: UserId, page: PageRequest<i64>)
        -> StoreResult<Page<(i64, AuditEntry), i64>>;
}
