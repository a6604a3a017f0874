use async_trait::async_trait;
use carenest_domain::audit::{Actor, AuditAction};
use carenest_domain::ids::{ChildId, SessionId, TherapistId, UserId};
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::scheduling::*;
use carenest_domain::time::now;
use carenest_domain::{rows, StoreError, StoreResult};
use chrono::NaiveDate;
use chrono::NaiveTime;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use crate::audit::audit_session_change;
use crate::rows::Cols;
use crate::{json_list, ts, ResultExt, SqliteStore};
use carenest_store_sql::{push_scope, sessions_query, SESSION_COLUMNS};

const THERAPIST_COLUMNS: &str = "id, name, user_id, created_at, updated_at";

fn therapist_from_row(row: &SqliteRow) -> StoreResult<Therapist> {
    rows::therapist(&Cols(row))
}

fn session_from_row(row: &SqliteRow) -> StoreResult<Session> {
    rows::session(&Cols(row))
}

/// Reads sessions and their therapists: one query per level, in the order the rows came.
async fn with_therapists(conn: &mut SqliteConnection, rows: &[SqliteRow]) -> StoreResult<Vec<Session>> {
    let mut sessions = rows.iter().map(session_from_row).collect::<StoreResult<Vec<_>>>()?;
    let ids: Vec<i64> = sessions.iter().map(|s| s.id.0).collect();
    let links = sqlx::query(
        "SELECT st.session_id, t.id, t.name FROM session_therapists st JOIN therapists t ON t.id = st.therapist_id
         WHERE st.session_id IN (SELECT value FROM json_each(?1)) ORDER BY st.session_id, t.id",
    )
    .bind(json_list(&ids))
    .fetch_all(conn)
    .await
    .store()?;
    let links = links
        .iter()
        .map(|row| {
            Ok((
                SessionId(row.try_get("session_id").store()?),
                TherapistRef { id: TherapistId(row.try_get("id").store()?), name: row.try_get("name").store()? },
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    attach_therapists(&mut sessions, links);
    Ok(sessions)
}

async fn sessions_by_id(conn: &mut SqliteConnection, ids: &[i64]) -> StoreResult<Vec<Session>> {
    let rows = sqlx::query(&format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id IN (SELECT value FROM json_each(?1)) ORDER BY s.date, s.start_time, s.id"))
        .bind(json_list(ids))
        .fetch_all(&mut *conn)
        .await
        .store()?;
    with_therapists(conn, &rows).await
}

/// Locks the therapists of a booking in id order (so that two bookings sharing therapists can
/// not deadlock) and reports ids that do not exist.
async fn lock_therapists(conn: &mut SqliteConnection, requested: &[TherapistId]) -> StoreResult<()> {
    let mut ids: Vec<i64> = requested.iter().map(|t| t.0).collect();
    ids.sort_unstable();
    let found: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM therapists WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id")
            .bind(json_list(&ids))
            .fetch_all(conn)
            .await
            .store()?;
    let found: Vec<TherapistId> = found.into_iter().map(TherapistId).collect();
    missing_therapists_error(requested, &found).map_or(Ok(()), Err)
}

async fn check_child(conn: &mut SqliteConnection, child: Option<ChildId>) -> StoreResult<()> {
    let Some(child) = child else { return Ok(()) };
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM child_profiles WHERE id = ?1")
        .bind(child.0)
        .fetch_optional(conn)
        .await
        .store()?;
    found.map(drop).ok_or_else(unknown_child_error)
}

const CONFLICTS: &str = "SELECT st.therapist_id, s.id, s.date, s.start_time, s.end_time
         FROM session_therapists st JOIN sessions s ON s.id = st.session_id
         WHERE st.therapist_id IN (SELECT value FROM json_each(?1)) AND st.date IN (SELECT value FROM json_each(?2)) AND s.status <> 'cancelled'
           AND s.start_time < ?4 AND ?3 < s.end_time AND s.id <> ?5
         ORDER BY s.date, s.start_time, s.id, st.therapist_id";

/// The overlap check with its parameters bound; `sql` is `CONFLICTS` or an EXPLAIN of it.
fn conflicts_query<'a>(
    sql: &'a str,
    therapists: &[TherapistId],
    dates: &[NaiveDate],
    start: NaiveTime,
    end: NaiveTime,
    except: Option<SessionId>,
) -> sqlx::query::Query<'a, Sqlite, sqlx::sqlite::SqliteArguments<'a>> {
    sqlx::query(sql)
        .bind(json_list(&therapists.iter().map(|t| t.0).collect::<Vec<i64>>()))
        .bind(json_list(dates))
        .bind(start)
        .bind(end)
        .bind(except.map_or(0, |id| id.0))
}

/// Every non-cancelled session (other than `except`) of these therapists on these dates that
/// overlaps `start..end`. Runs after `lock_therapists`, so nothing can slip in meanwhile.
async fn find_conflicts(
    conn: &mut SqliteConnection,
    therapists: &[TherapistId],
    dates: &[NaiveDate],
    start: NaiveTime,
    end: NaiveTime,
    except: Option<SessionId>,
) -> StoreResult<()> {
    let rows = conflicts_query(CONFLICTS, therapists, dates, start, end, except).fetch_all(conn).await.store()?;
    if rows.is_empty() {
        return Ok(());
    }
    let conflicts = rows
        .iter()
        .map(|row| {
            Ok(BookingConflict {
                therapist_id: TherapistId(row.try_get("therapist_id").store()?),
                session_id: SessionId(row.try_get("id").store()?),
                date: row.try_get("date").store()?,
                start_time: row.try_get("start_time").store()?,
                end_time: row.try_get("end_time").store()?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Err(double_booking_error(conflicts))
}

async fn link_therapists(
    conn: &mut SqliteConnection,
    sessions: &[i64],
    therapists: &[TherapistId],
) -> StoreResult<u64> {
    let therapist_ids: Vec<i64> = therapists.iter().map(|t| t.0).collect();
    let inserted = sqlx::query(
        "INSERT INTO session_therapists (session_id, therapist_id, date, created_at, updated_at)
         SELECT s.id, t.value, s.date, ?3, ?3 FROM sessions s CROSS JOIN json_each(?2) AS t
         WHERE s.id IN (SELECT value FROM json_each(?1))
         ON CONFLICT (session_id, therapist_id) DO NOTHING",
    )
    .bind(json_list(sessions))
    .bind(json_list(&therapist_ids))
    .bind(ts(now()))
    .execute(conn)
    .await
    .store()?;
    Ok(inserted.rows_affected())
}

/// Marks a session changed when only its therapists changed.
async fn touch_session(conn: &mut SqliteConnection, id: SessionId) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET updated_at = ?2 WHERE id = ?1")
        .bind(id.0)
        .bind(ts(now()))
        .execute(conn)
        .await
        .store()
        .map(drop)
}

/// Sets a user's role when a therapist record is linked to it or unlinked from it. Admins
/// stay admins either way.
async fn relink_user(conn: &mut SqliteConnection, old: Option<UserId>, new: Option<UserId>) -> StoreResult<()> {
    if old == new {
        return Ok(());
    }
    if let Some(old) = old {
        sqlx::query("UPDATE users SET role = 'parent', updated_at = ?2 WHERE id = ?1 AND role = 'therapist'")
            .bind(old.0)
            .bind(ts(now()))
            .execute(&mut *conn)
            .await
            .store()?;
    }
    if let Some(new) = new {
        let updated = sqlx::query("UPDATE users SET role = CASE WHEN role = 'admin' THEN role ELSE 'therapist' END, updated_at = ?2 WHERE id = ?1")
            .bind(new.0)
            .bind(ts(now()))
            .execute(&mut *conn)
            .await
            .store()?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::invalid("userId", "unknown_user", "userId does not name an existing user"));
        }
    }
    Ok(())
}

async fn locked_session(conn: &mut SqliteConnection, scope: SessionScope, id: SessionId) -> StoreResult<Session> {
    let mut query = QueryBuilder::new(format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = "));
    query.push_bind(id.0);
    push_scope(&mut query, scope);
    query.push("");
    let row = query.build().fetch_one(&mut *conn).await.store()?;
    Ok(with_therapists(conn, &[row]).await?.remove(0))
}

#[async_trait]
impl SchedulingStore for SqliteStore {
    async fn therapists(
        &self,
        search: Option<&str>,
        page: PageRequest<TherapistKey>,
    ) -> StoreResult<Page<Therapist, TherapistKey>> {
        let pattern = search.map(|q| format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
        let (after_name, after_id) = page.after.clone().map_or((None, 0), |(name, id)| (Some(name), id.0));
        let rows = sqlx::query(&format!(
            "SELECT {THERAPIST_COLUMNS} FROM therapists
             WHERE (?1 IS NULL OR lower(name) LIKE lower(?1) ESCAPE '\\') AND (?2 IS NULL OR (name, id) > (?2, ?3))
             ORDER BY name, id LIMIT ?4"
        ))
        .bind(pattern)
        .bind(after_name)
        .bind(after_id)
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await
        .store()?;
        let therapists = rows.iter().map(therapist_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(therapists, &page, |t| (t.name.clone(), t.id)))
    }

    async fn therapist(&self, id: TherapistId) -> StoreResult<Therapist> {
        let row = sqlx::query(&format!("SELECT {THERAPIST_COLUMNS} FROM therapists WHERE id = ?1"))
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .store()?;
        therapist_from_row(&row)
    }

    async fn therapist_for_user(&self, user: UserId) -> StoreResult<Option<Therapist>> {
        let row = sqlx::query(&format!("SELECT {THERAPIST_COLUMNS} FROM therapists WHERE user_id = ?1"))
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .store()?;
        row.as_ref().map(therapist_from_row).transpose()
    }

    async fn create_therapist(&self, name: String, user: Option<UserId>) -> StoreResult<Therapist> {
        let mut tx = self.write().await?;
        relink_user(&mut tx, None, user).await?;
        let row = sqlx::query(&format!(
            "INSERT INTO therapists (name, user_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) RETURNING {THERAPIST_COLUMNS}"
        ))
        .bind(&name)
        .bind(user.map(|u| u.0))
        .bind(ts(now()))
        .fetch_one(&mut *tx)
        .await
        .store()?;
        tx.commit().await.store()?;
        therapist_from_row(&row)
    }

    async fn update_therapist(&self, id: TherapistId, changes: TherapistChanges) -> StoreResult<Therapist> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!("SELECT {THERAPIST_COLUMNS} FROM therapists WHERE id = ?1"))
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .store()?;
        let current = therapist_from_row(&row)?;
        let name = changes.name.unwrap_or_else(|| current.name.clone());
        let user = changes.user_id.unwrap_or(current.user_id);
        if name == current.name && user == current.user_id {
            return Ok(current);
        }
        relink_user(&mut tx, current.user_id, user).await?;
        let row = sqlx::query(&format!(
            "UPDATE therapists SET name = ?2, user_id = ?3, updated_at = ?4 WHERE id = ?1 RETURNING {THERAPIST_COLUMNS}"
        ))
        .bind(id.0)
        .bind(&name)
        .bind(user.map(|u| u.0))
        .bind(ts(now()))
        .fetch_one(&mut *tx)
        .await
        .store()?;
        tx.commit().await.store()?;
        therapist_from_row(&row)
    }

    async fn delete_therapist(&self, id: TherapistId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let user: Option<Option<i64>> = sqlx::query_scalar("DELETE FROM therapists WHERE id = ?1 RETURNING user_id")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .store()?;
        let Some(user) = user else { return Err(StoreError::NotFound) };
        relink_user(&mut tx, user.map(UserId), None).await?;
        tx.commit().await.store()
    }

    async fn sessions(
        &self,
        scope: SessionScope,
        filter: SessionFilter,
        page: PageRequest<SessionKey>,
    ) -> StoreResult<Page<Session, SessionKey>> {
        let mut query = sessions_query("", scope, &filter, &page);
        let mut conn = self.pool.acquire().await.store()?;
        let rows = query.build().fetch_all(&mut *conn).await.store()?;
        let sessions = with_therapists(&mut conn, &rows).await?;
        Ok(Page::from_overfetch(sessions, &page, session_key))
    }

    async fn session(&self, scope: SessionScope, id: SessionId) -> StoreResult<Session> {
        let mut query = QueryBuilder::new(format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = "));
        query.push_bind(id.0);
        push_scope(&mut query, scope);
        let mut conn = self.pool.acquire().await.store()?;
        let row = query.build().fetch_one(&mut *conn).await.store()?;
        Ok(with_therapists(&mut conn, &[row]).await?.remove(0))
    }

    async fn create_sessions(&self, new: NewSession, actor: Actor) -> StoreResult<Vec<Session>> {
        let dates = new.dates();
        let mut tx = self.write().await?;
        lock_therapists(&mut tx, &new.therapist_ids).await?;
        check_child(&mut tx, new.child_profile_id).await?;
        if new.status != SessionStatus::Cancelled {
            find_conflicts(&mut tx, &new.therapist_ids, &dates, new.start_time, new.end_time, None).await?;
        }
        let created_at = ts(now());
        let mut ids = Vec::with_capacity(dates.len());
        for date in &dates {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO sessions (date, start_time, end_time, notes, status, child_profile_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING id",
            )
            .bind(date)
            .bind(new.start_time)
            .bind(new.end_time)
            .bind(&new.notes)
            .bind(new.status.as_str())
            .bind(new.child_profile_id.map(|c| c.0))
            .bind(&created_at)
            .fetch_one(&mut *tx)
            .await
            .store()?;
            ids.push(id);
        }
        if new.repeat.is_some() {
            // The series is named after its first occurrence.
            sqlx::query("UPDATE sessions SET series_id = ?2 WHERE id IN (SELECT value FROM json_each(?1))")
                .bind(json_list(&ids))
                .bind(ids.iter().min())
                .execute(&mut *tx)
                .await
                .store()?;
        }
        link_therapists(&mut tx, &ids, &new.therapist_ids).await?;
        audit_session_change(&mut tx, actor, AuditAction::Create, &ids).await?;
        let sessions = sessions_by_id(&mut tx, &ids).await?;
        tx.commit().await.store()?;
        Ok(sessions)
    }

    async fn update_session(
        &self,
        scope: SessionScope,
        id: SessionId,
        changes: SessionChanges,
        actor: Actor,
    ) -> StoreResult<Session> {
        let mut tx = self.write().await?;
        let current = locked_session(&mut tx, scope, id).await?;
        let (date, start, end, status) = changed_slot(&current, &changes).map_err(StoreError::Invalid)?;
        let therapists =
            changes.therapist_ids.clone().unwrap_or_else(|| current.therapists.iter().map(|t| t.id).collect());
        lock_therapists(&mut tx, &therapists).await?;
        let child = changes.child_profile_id.unwrap_or(current.child_profile_id);
        if child != current.child_profile_id {
            check_child(&mut tx, child).await?;
        }
        let notes = changes.notes.clone().unwrap_or_else(|| current.notes.clone());
        let therapists_change = changes.therapist_ids.as_ref().is_some_and(|ids| {
            let mut now_on: Vec<_> = current.therapists.iter().map(|t| t.id).collect();
            let mut wanted = ids.clone();
            now_on.sort();
            wanted.sort();
            now_on != wanted
        });
        let row_changes = (date, start, end, status, &notes, child)
            != (
                current.date,
                current.start_time,
                current.end_time,
                current.status,
                &current.notes,
                current.child_profile_id,
            );
        if !row_changes && !therapists_change {
            return Ok(current);
        }
        if status != SessionStatus::Cancelled {
            find_conflicts(&mut tx, &therapists, &[date], start, end, Some(id)).await?;
        }
        // Recorded for the family of the child the session had before, and (below) after.
        audit_session_change(&mut tx, actor, AuditAction::Update, &[id.0]).await?;
        sqlx::query(
            "UPDATE sessions SET date = ?2, start_time = ?3, end_time = ?4, notes = ?5, status = ?6, child_profile_id = ?7, updated_at = ?8
             WHERE id = ?1",
        )
        .bind(id.0)
        .bind(date)
        .bind(start)
        .bind(end)
        .bind(&notes)
        .bind(status.as_str())
        .bind(child.map(|c| c.0))
        .bind(ts(now()))
        .execute(&mut *tx)
        .await
        .store()?;
        if child != current.child_profile_id {
            audit_session_change(&mut tx, actor, AuditAction::Update, &[id.0]).await?;
        }
        if therapists_change {
            let keep: Vec<i64> = therapists.iter().map(|t| t.0).collect();
            sqlx::query("DELETE FROM session_therapists WHERE session_id = ?1 AND therapist_id NOT IN (SELECT value FROM json_each(?2))")
                .bind(id.0)
                .bind(json_list(&keep))
                .execute(&mut *tx)
                .await
                .store()?;
            link_therapists(&mut tx, &[id.0], &therapists).await?;
        }
        let session = sessions_by_id(&mut tx, &[id.0]).await?.remove(0);
        tx.commit().await.store()?;
        Ok(session)
    }

    async fn delete_session(&self, id: SessionId, actor: Actor) -> StoreResult<()> {
        let mut tx = self.write().await?;
        audit_session_change(&mut tx, actor, AuditAction::Delete, &[id.0]).await?;
        let deleted = sqlx::query("DELETE FROM sessions WHERE id = ?1").bind(id.0).execute(&mut *tx).await.store()?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.store()
    }

    async fn add_session_therapist(&self, id: SessionId, therapist: TherapistId, actor: Actor) -> StoreResult<Session> {
        let mut tx = self.write().await?;
        let current = locked_session(&mut tx, SessionScope::All, id).await?;
        if current.therapists.iter().any(|t| t.id == therapist) {
            return Ok(current);
        }
        // The therapist is named by the path: one that does not exist is a 404, not a 422.
        lock_therapists(&mut tx, &[therapist]).await.map_err(|error| match error {
            StoreError::Invalid(_) => StoreError::NotFound,
            other => other,
        })?;
        if current.status != SessionStatus::Cancelled {
            find_conflicts(&mut tx, &[therapist], &[current.date], current.start_time, current.end_time, Some(id))
                .await?;
        }
        link_therapists(&mut tx, &[id.0], &[therapist]).await?;
        touch_session(&mut tx, id).await?;
        audit_session_change(&mut tx, actor, AuditAction::Update, &[id.0]).await?;
        let session = sessions_by_id(&mut tx, &[id.0]).await?.remove(0);
        tx.commit().await.store()?;
        Ok(session)
    }

    async fn remove_session_therapist(&self, id: SessionId, therapist: TherapistId, actor: Actor) -> StoreResult<()> {
        let mut tx = self.write().await?;
        locked_session(&mut tx, SessionScope::All, id).await?;
        let removed = sqlx::query("DELETE FROM session_therapists WHERE session_id = ?1 AND therapist_id = ?2")
            .bind(id.0)
            .bind(therapist.0)
            .execute(&mut *tx)
            .await
            .store()?;
        if removed.rows_affected() > 0 {
            audit_session_change(&mut tx, actor, AuditAction::Update, &[id.0]).await?;
            touch_session(&mut tx, id).await?;
        }
        tx.commit().await.store()
    }

    async fn explain_sessions(
        &self,
        scope: SessionScope,
        filter: SessionFilter,
        page: PageRequest<SessionKey>,
    ) -> StoreResult<Vec<String>> {
        let mut query = sessions_query("EXPLAIN QUERY PLAN ", scope, &filter, &page);
        let rows = query.build().fetch_all(&self.pool).await.store()?;
        rows.iter().map(|row| row.try_get::<String, _>("detail").store()).collect()
    }

    async fn explain_booking_check(
        &self,
        therapists: &[TherapistId],
        dates: &[NaiveDate],
        start: NaiveTime,
        end: NaiveTime,
    ) -> StoreResult<Vec<String>> {
        let sql = format!("EXPLAIN QUERY PLAN {CONFLICTS}");
        let rows = conflicts_query(&sql, therapists, dates, start, end, None).fetch_all(&self.pool).await.store()?;
        rows.iter().map(|row| row.try_get::<String, _>("detail").store()).collect()
    }
}
