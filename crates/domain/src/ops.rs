//! What the command line and the readiness probe need from a database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::StoreResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationInfo {
    pub version: i64,
    pub description: String,
    /// When it was applied; `None` while pending.
    pub applied_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Every migration this binary knows, oldest first.
    pub known: Vec<MigrationInfo>,
    /// Versions applied to the database that this binary does not know.
    pub unknown_applied: Vec<i64>,
}

impl MigrationStatus {
    pub fn pending(&self) -> impl Iterator<Item = &MigrationInfo> {
        self.known.iter().filter(|m| m.applied_at.is_none())
    }
}

#[async_trait]
pub trait OpsStore {
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
    fn backend_name(&self) -> &'static str;
    /// The connection pool's size, idle connections and limit, for `/metrics`.
    fn pool_stats(&self) -> PoolStats;
    async fn migration_status(&self) -> StoreResult<MigrationStatus>;
    /// Applies pending migrations; refuses when the database has one this binary does not know.
    async fn migrate(&self) -> StoreResult<Vec<MigrationInfo>>;
    /// Undoes the newest `steps` applied migrations (all of them with `None`). Undoing the
    /// audit migration would drop the audit log: `Conflict` on `audit_log_not_empty` while it
    /// holds rows, unless `force`.
    async fn rollback(&self, steps: Option<usize>, force: bool) -> StoreResult<Vec<MigrationInfo>>;
    /// Names of seeders that have run, with when.
    async fn seeders_run(&self) -> StoreResult<Vec<(String, DateTime<Utc>)>>;
    async fn mark_seeder(&self, name: &str, ran: bool) -> StoreResult<()>;
    async fn close(&self);
}

/// Joins what a binary knows with what a database has applied.
/// `known` is `(version, description)` of each up migration the binary carries, oldest first.
pub fn status(known: Vec<(i64, String)>, applied: &[(i64, DateTime<Utc>)]) -> MigrationStatus {
    MigrationStatus {
        unknown_applied: applied
            .iter()
            .map(|(version, _)| *version)
            .filter(|version| !known.iter().any(|(k, _)| k == version))
            .collect(),
        known: known
            .into_iter()
            .map(|(version, description)| MigrationInfo {
                applied_at: applied.iter().find(|(v, _)| *v == version).map(|(_, at)| *at),
                version,
                description,
            })
            .collect(),
    }
}

/// A database that has a migration this binary does not know was migrated by a newer binary;
/// touching it could lose data.
pub fn refuse_unknown(status: &MigrationStatus) -> StoreResult<()> {
    if status.unknown_applied.is_empty() {
        return Ok(());
    }
    Err(crate::StoreError::conflict(
        "unknown_migration",
        format!(
            "the database has migration(s) {:?} that this binary does not know; it was migrated by a newer CareNest, so use that one",
            status.unknown_applied
        ),
    ))
}

/// The migration that creates the audit log.
pub const AUDIT_MIGRATION: i64 = 4;

/// The version to undo down to, and the migrations that undoing removes (newest first).
pub fn rollback_plan(status: &MigrationStatus, steps: Option<usize>) -> (i64, Vec<MigrationInfo>) {
    let mut applied: Vec<_> = status.known.iter().filter(|m| m.applied_at.is_some()).cloned().collect();
    applied.reverse();
    let count = steps.unwrap_or(applied.len()).min(applied.len());
    let undone: Vec<_> = applied.drain(..count).collect();
    let target = applied.first().map_or(0, |m| m.version);
    (target, undone)
}
