use async_trait::async_trait;
use carenest_domain::audit::{AuditEntry, AuditStore};
use carenest_domain::ids::UserId;
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::time::now;
use carenest_domain::StoreResult;

use crate::rows::Cols;
use crate::{ts, ResultExt, SqliteStore};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn record_audit(&self, entries: &[AuditEntry]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let created_at = ts(now());
        let mut tx = self.write().await?;
        for e in entries {
            sqlx::query(
                "INSERT INTO audit_log (at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            )
            .bind(ts(e.at))
            .bind(e.actor_user_id.0)
            .bind(e.actor_role.as_str())
            .bind(e.action.as_str())
            .bind(&e.resource_type)
            .bind(e.resource_id)
            .bind(e.subject_user_id.0)
            .bind(&created_at)
            .execute(&mut *tx)
            .await
            .store()?;
        }
        tx.commit().await.store()
    }

    async fn audit_entries(
        &self,
        subject: UserId,
        page: PageRequest<i64>,
    ) -> StoreResult<Page<(i64, AuditEntry), i64>> {
        let rows = sqlx::query(
            "SELECT id, at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id FROM audit_log
             WHERE subject_user_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
        )
        .bind(subject.0)
        .bind(page.after.unwrap_or(i64::MAX))
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await
        .store()?;
        let entries =
            rows.iter().map(|row| carenest_domain::rows::audit_entry(&Cols(row))).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(entries, &page, |(id, _)| *id))
    }
}

/// Appends the audit row of a family's change to its own data, inside the change's
/// transaction: the change and its record are written together or not at all.
pub(crate) async fn audit_own_change(
    conn: &mut sqlx::SqliteConnection,
    owner: UserId,
    action: carenest_domain::audit::AuditAction,
    resource_type: &str,
    resource_id: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id, created_at, updated_at)
         SELECT ?1, id, role, ?2, ?3, ?4, id, ?1, ?1 FROM users WHERE id = ?5",
    )
    .bind(crate::ts(now()))
    .bind(action.as_str())
    .bind(resource_type)
    .bind(resource_id)
    .bind(owner.0)
    .execute(conn)
    .await
    .store()
    .map(drop)
}

/// Appends audit rows for changes by staff to sessions of children, one per session and the
/// family of its child (none for sessions of no child, or when the actor is that family), in
/// the change's transaction.
pub(crate) async fn audit_session_change(
    conn: &mut sqlx::SqliteConnection,
    actor: carenest_domain::audit::Actor,
    action: carenest_domain::audit::AuditAction,
    ids: &[i64],
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, 'session', s.id, p.user_id, ?1, ?1
         FROM sessions s JOIN child_profiles c ON c.id = s.child_profile_id JOIN parent_profiles p ON p.id = c.parent_profile_id
         WHERE s.id IN (SELECT value FROM json_each(?5)) AND p.user_id <> ?2",
    )
    .bind(crate::ts(now()))
    .bind(actor.user.0)
    .bind(actor.role.as_str())
    .bind(action.as_str())
    .bind(crate::json_list(ids))
    .execute(conn)
    .await
    .store()
    .map(drop)
}
