use async_trait::async_trait;
use carenest_domain::audit::{AuditEntry, AuditStore};
use carenest_domain::ids::UserId;
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::time::now;
use carenest_domain::StoreResult;

use crate::rows::Cols;
use crate::{PgStore, ResultExt};

#[async_trait]
impl AuditStore for PgStore {
    async fn record_audit(&self, entries: &[AuditEntry]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let column = |f: fn(&AuditEntry) -> String| entries.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO audit_log (at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id, created_at, updated_at)
             SELECT at, actor, role, action, kind, resource, subject, $8, $8
             FROM unnest($1::timestamptz[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])
                  AS e(at, actor, role, action, kind, resource, subject)",
        )
        .bind(entries.iter().map(|e| e.at).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.actor_user_id.0).collect::<Vec<_>>())
        .bind(column(|e| e.actor_role.as_str().to_owned()))
        .bind(column(|e| e.action.as_str().to_owned()))
        .bind(column(|e| e.resource_type.clone()))
        .bind(entries.iter().map(|e| e.resource_id).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.subject_user_id.0).collect::<Vec<_>>())
        .bind(now())
        .execute(&self.pool)
        .await
        .store()
        .map(drop)
    }

    async fn audit_entries(
        &self,
        subject: UserId,
        page: PageRequest<i64>,
    ) -> StoreResult<Page<(i64, AuditEntry), i64>> {
        let rows = sqlx::query(
            "SELECT id, at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id FROM audit_log
             WHERE subject_user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
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
    conn: &mut sqlx::PgConnection,
    owner: UserId,
    action: carenest_domain::audit::AuditAction,
    resource_type: &str,
    resource_id: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id, created_at, updated_at)
         SELECT $1, id, role, $2, $3, $4, id, $1, $1 FROM users WHERE id = $5",
    )
    .bind(now())
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
    conn: &mut sqlx::PgConnection,
    actor: carenest_domain::audit::Actor,
    action: carenest_domain::audit::AuditAction,
    ids: &[i64],
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor_role, action, resource_type, resource_id, subject_user_id, created_at, updated_at)
         SELECT $1, $2, $3, $4, 'session', s.id, p.user_id, $1, $1
         FROM sessions s JOIN child_profiles c ON c.id = s.child_profile_id JOIN parent_profiles p ON p.id = c.parent_profile_id
         WHERE s.id = ANY($5) AND p.user_id <> $2",
    )
    .bind(now())
    .bind(actor.user.0)
    .bind(actor.role.as_str())
    .bind(action.as_str())
    .bind(ids)
    .execute(conn)
    .await
    .store()
    .map(drop)
}
