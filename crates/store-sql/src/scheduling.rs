use async_trait::async_trait;
use carenest_domain::audit::{Actor, AuditAction};
use carenest_domain::ids::{ChildId, SessionId, TherapistId, UserId};
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::scheduling::*;
use carenest_domain::{StoreError, StoreResult};
use chrono::NaiveDate;

use crate::availability::{booked_query, Dates};
use crate::pool::Pooled;
use crate::rows::{self, Columns, SESSION, THERAPIST};
use crate::{Dialect, Inspect, Link, Sql, SqlStore, Tx};

/// A `LIKE` pattern that finds `text` anywhere, its wildcards taken literally.
fn contains_pattern(text: &str) -> String {
    format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

fn ids<T>(items: &[T], id: fn(&T) -> i64) -> Vec<i64> {
    items.iter().map(id).collect()
}

/// The statement behind `sessions()`.
fn sessions_query<'a>(scope: SessionScope, filter: &SessionFilter, page: &PageRequest<SessionKey>) -> Sql<'a> {
    let mut sql = Sql::new(format!("SELECT {SESSION} FROM sessions s WHERE TRUE"));
    push_scope(&mut sql, scope);
    if let Some(from) = filter.from {
        sql.push(" AND s.date >= ").push_arg(from);
    }
    if let Some(to) = filter.to {
        sql.push(" AND s.date <= ").push_arg(to);
    }
    if let Some(therapist) = filter.therapist_id {
        // The date bounds repeat inside, so the (therapist_id, date) index bounds the search.
        sql.push(" AND s.id IN (SELECT f.session_id FROM session_therapists f WHERE f.therapist_id = ")
            .push_arg(therapist);
        if let Some(from) = filter.from {
            sql.push(" AND f.date >= ").push_arg(from);
        }
        if let Some(to) = filter.to {
            sql.push(" AND f.date <= ").push_arg(to);
        }
        sql.push(")");
    }
    if let Some(child) = filter.child_profile_id {
        sql.push(" AND s.child_profile_id = ").push_arg(child);
    }
    if let Some((date, start, id)) = page.after {
        sql.push(" AND (s.date, s.start_time, s.id) > (").push_arg(date);
        sql.push(", ").push_arg(start).push(", ").push_arg(id).push(")");
    }
    sql.push(" ORDER BY s.date, s.start_time, s.id LIMIT ").push_arg(page.fetch_limit());
    sql
}

/// The statement for one session, if `scope` may see it.
fn session_query<'a>(scope: SessionScope, id: SessionId) -> Sql<'a> {
    let mut sql = Sql::new(format!("SELECT {SESSION} FROM sessions s WHERE s.id = $1")).arg(id);
    push_scope(&mut sql, scope);
    sql
}

/// Narrows a sessions query (`s`) to what `scope` may see.
fn push_scope(sql: &mut Sql<'_>, scope: SessionScope) {
    match scope {
        SessionScope::All => {}
        SessionScope::Nothing => {
            sql.push(" AND FALSE");
        }
        SessionScope::Therapist(therapist) => {
            sql.push(" AND EXISTS (SELECT 1 FROM session_therapists v WHERE v.session_id = s.id AND v.therapist_id = ");
            sql.push_arg(therapist).push(")");
        }
        SessionScope::Parent(user) => {
            sql.push(
                " AND s.child_profile_id IN (SELECT c.id FROM child_profiles c JOIN parent_profiles p
                   ON p.id = c.parent_profile_id WHERE p.user_id = ",
            );
            sql.push_arg(user).push(")");
        }
    }
}

/// `inner`, a query of `{SESSION}` from `sessions s`, with each session's therapists, so a page
/// of sessions is one statement and one snapshot: joined to its rows (one row per therapist),
/// or as one JSON column where the dialect aggregates them
/// ([`Dialect::session_therapists_json`]). The rows come in no particular order:
/// [`SqlStore::sessions_of`] puts them in order, where an `ORDER BY` here had the database sort
/// every joined row again (SQLite through a temporary b-tree) only to hand them over in the
/// order `inner` had already given.
fn with_therapists<D: Dialect>(inner: Sql<'_>) -> Sql<'_> {
    let text = match D::session_therapists_json() {
        Some(therapists) => format!("SELECT {SESSION}, {therapists} AS therapists FROM ({}) s", inner.text),
        None => format!(
            "SELECT {SESSION}, t.id AS therapist_id, t.name AS therapist_name FROM ({}) s
             LEFT JOIN session_therapists st ON st.session_id = s.id LEFT JOIN therapists t ON t.id = st.therapist_id",
            inner.text
        ),
    };
    Sql { text, ..inner }
}

/// `sessions` in the order of [`session_key`], each one's therapists by id. A session's rows
/// usually come together; where they did not, its parts are joined into one here.
fn in_key_order(mut sessions: Vec<Session>) -> Vec<Session> {
    sessions.sort_by_key(session_key);
    sessions.dedup_by(|later, earlier| {
        let same = later.id == earlier.id;
        if same {
            earlier.therapists.append(&mut later.therapists);
        }
        same
    });
    for session in &mut sessions {
        session.therapists.sort_unstable_by_key(|t| t.id);
    }
    sessions
}

impl<D: Dialect> SqlStore<D> {
    /// The sessions `inner` selects, with their therapists (see [`with_therapists`]), in the
    /// order of [`session_key`], each one's therapists by id.
    async fn sessions_of(&self, conn: &mut Link<D>, inner: Sql<'_>) -> StoreResult<Vec<Session>> {
        let mut sessions: Vec<Session> = Vec::new();
        for row in self.all(conn, with_therapists::<D>(inner)).await? {
            let id = SessionId(row.int("id")?);
            if sessions.last().is_none_or(|last| last.id != id) {
                sessions.push(rows::session::<D>(&row)?);
            }
            rows::session_therapists::<D>(&row, &mut sessions.last_mut().expect("pushed above").therapists)?;
        }
        Ok(in_key_order(sessions))
    }

    pub(crate) async fn sessions_by_id(&self, conn: &mut Link<D>, ids: &[i64]) -> StoreResult<Vec<Session>> {
        let sql = Sql::new(format!("SELECT {SESSION} FROM sessions s WHERE {}", D::in_list("s.id", 1)));
        self.sessions_of(conn, sql.arg(ids.to_vec())).await
    }

    /// A page of sessions in `scope`, and, with a `reader`, each one with a child recorded as
    /// read by them (a family reading its own sessions records nothing), on one connection.
    async fn page_of_sessions(
        &self,
        reader: Option<Actor>,
        scope: SessionScope,
        filter: SessionFilter,
        page: PageRequest<SessionKey>,
    ) -> StoreResult<Page<Session, SessionKey>> {
        let mut conn = self.connection().await?;
        let sessions = self.sessions_of(&mut conn, sessions_query(scope, &filter, &page)).await?;
        let page = Page::from_overfetch(sessions, &page, session_key);
        if let Some(reader) = reader {
            self.record_reads(conn, reader, scope, &page.items).await?;
        }
        Ok(page)
    }

    /// The one session `inner` selects; `NotFound` without it.
    async fn session_of(&self, conn: &mut Link<D>, inner: Sql<'_>) -> StoreResult<Session> {
        self.sessions_of(conn, inner).await?.pop().ok_or(StoreError::NotFound)
    }

    async fn one_session(&self, reader: Option<Actor>, scope: SessionScope, id: SessionId) -> StoreResult<Session> {
        let mut conn = self.connection().await?;
        let session = self.session_of(&mut conn, session_query(scope, id)).await?;
        if let Some(reader) = reader {
            self.record_reads(conn, reader, scope, std::slice::from_ref(&session)).await?;
        }
        Ok(session)
    }

    /// Records a staff or therapist read of children's sessions, with the reads of others
    /// waiting at the same moment (`read_log`); a family reading its own writes nothing.
    async fn record_reads(
        &self,
        conn: Pooled<D::Db>,
        reader: Actor,
        scope: SessionScope,
        sessions: &[Session],
    ) -> StoreResult<()> {
        if scope == SessionScope::Parent(reader.user) {
            return Ok(());
        }
        let read: Vec<SessionId> = sessions.iter().filter(|s| s.child_profile_id.is_some()).map(|s| s.id).collect();
        if read.is_empty() {
            return Ok(());
        }
        self.log_session_reads(conn, reader, read).await
    }

    /// Locks the therapists of a booking in id order (so that two bookings sharing therapists
    /// can't deadlock) and reports ids that do not exist; the therapists as a session lists them.
    async fn lock_therapists(&self, conn: &mut Link<D>, requested: &[TherapistId]) -> StoreResult<Vec<TherapistRef>> {
        let mut wanted = ids(requested, |t| t.0);
        wanted.sort_unstable();
        let sql = Sql::new(format!(
            "SELECT id, name FROM therapists WHERE {} ORDER BY id{}",
            D::in_list("id", 1),
            D::FOR_UPDATE
        ));
        let found = self.all(conn, sql.arg(wanted)).await?;
        let found = found
            .iter()
            .map(|row| Ok(TherapistRef { id: TherapistId(row.int("id")?), name: row.text("name")? }))
            .collect::<StoreResult<Vec<_>>>()?;
        let ids: Vec<TherapistId> = found.iter().map(|t| t.id).collect();
        missing_therapists_error(requested, &ids).map_or(Ok(found), Err)
    }

    async fn check_child(&self, conn: &mut Link<D>, child: Option<ChildId>) -> StoreResult<()> {
        let Some(child) = child else { return Ok(()) };
        let sql = Sql::new(format!("SELECT id FROM child_profiles WHERE id = $1{}", D::FOR_SHARE)).arg(child);
        self.optional(conn, sql).await?.map(drop).ok_or_else(unknown_child_error)
    }

    async fn link_therapists(
        &self,
        conn: &mut Link<D>,
        sessions: &[i64],
        therapists: &[TherapistId],
    ) -> StoreResult<u64> {
        let sql = Sql::new(format!(
            "INSERT INTO session_therapists (session_id, therapist_id, date, created_at, updated_at)
             SELECT s.id, t.value, s.date, $3, $3 FROM sessions s CROSS JOIN {} WHERE {}
             ON CONFLICT (session_id, therapist_id) DO NOTHING",
            D::list_table(2, "t"),
            D::in_list("s.id", 1)
        ))
        .arg(sessions.to_vec())
        .arg(ids(therapists, |t| t.0))
        .arg(self.now());
        self.execute(conn, sql).await
    }

    /// Marks a session changed when only its therapists changed.
    async fn touch_session(&self, conn: &mut Link<D>, id: SessionId) -> StoreResult<()> {
        let sql = Sql::new("UPDATE sessions SET updated_at = $2, version = version + 1 WHERE id = $1")
            .arg(id)
            .arg(self.now());
        self.execute(conn, sql).await.map(drop)
    }

    /// Sets a user's role when a therapist record is linked to it or unlinked from it. Admins
    /// stay admins either way.
    async fn relink_user(&self, conn: &mut Link<D>, old: Option<UserId>, new: Option<UserId>) -> StoreResult<()> {
        if old == new {
            return Ok(());
        }
        if let Some(old) = old {
            let sql =
                Sql::new("UPDATE users SET role = 'parent', updated_at = $2 WHERE id = $1 AND role = 'therapist'");
            self.execute(conn, sql.arg(old).arg(self.now())).await?;
        }
        if let Some(new) = new {
            let sql = Sql::new(
                "UPDATE users SET role = CASE WHEN role = 'admin' THEN role ELSE 'therapist' END, updated_at = $2
                 WHERE id = $1",
            );
            if self.execute(conn, sql.arg(new).arg(self.now())).await? == 0 {
                return Err(StoreError::invalid("userId", "unknown_user", "userId does not name an existing user"));
            }
        }
        Ok(())
    }

    /// Answers a session a change left as it was, recording that its caller read it.
    async fn read_unchanged(&self, mut tx: Tx<D>, actor: Actor, session: Session) -> StoreResult<Session> {
        self.audit_sessions(&mut tx, actor, AuditAction::Read, &[session.id]).await?;
        self.commit(tx).await?;
        Ok(session)
    }

    /// A session in `scope`, locked for a change.
    async fn locked_session(&self, conn: &mut Link<D>, scope: SessionScope, id: SessionId) -> StoreResult<Session> {
        let mut sql = session_query(scope, id);
        sql.push(&D::for_update_of("s"));
        self.session_of(conn, sql).await
    }
}

#[async_trait]
impl<D: Dialect> SchedulingStore for SqlStore<D> {
    async fn therapists(
        &self,
        search: Option<&str>,
        page: PageRequest<TherapistKey>,
    ) -> StoreResult<Page<Therapist, TherapistKey>> {
        let pattern = search.map(contains_pattern);
        let (after_name, after_id) = page.after.clone().map_or((None, 0), |(name, id)| (Some(name), id.0));
        let sql = Sql::new(format!(
            "SELECT {THERAPIST} FROM therapists
             WHERE ($1 IS NULL OR {}) AND ($2 IS NULL OR (name, id) > ($2, $3))
             ORDER BY name, id LIMIT $4",
            D::matches_ci("name", 1)
        ))
        .arg(pattern.as_deref())
        .arg(after_name.as_deref())
        .arg(after_id)
        .arg(page.fetch_limit());
        let therapists = rows::all::<D, _>(&self.read_all(sql).await?, rows::therapist::<D>)?;
        Ok(Page::from_overfetch(therapists, &page, |t| (t.name.clone(), t.id)))
    }

    async fn therapist(&self, id: TherapistId) -> StoreResult<Therapist> {
        rows::therapist::<D>(
            &self.read_one(Sql::new(format!("SELECT {THERAPIST} FROM therapists WHERE id = $1")).arg(id)).await?,
        )
    }

    async fn therapist_for_user(&self, user: UserId) -> StoreResult<Option<Therapist>> {
        let sql = Sql::new(format!("SELECT {THERAPIST} FROM therapists WHERE user_id = $1")).arg(user);
        self.read_optional(sql).await?.as_ref().map(rows::therapist::<D>).transpose()
    }

    async fn create_therapist(&self, name: String, user: Option<UserId>) -> StoreResult<Therapist> {
        let mut tx = self.write().await?;
        self.relink_user(&mut tx, None, user).await?;
        let sql = Sql::new(format!(
            "INSERT INTO therapists (name, user_id, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING {THERAPIST}"
        ));
        let therapist = rows::therapist::<D>(&self.one(&mut tx, sql.arg(&name).arg(user).arg(self.now())).await?)?;
        self.commit(tx).await?;
        Ok(therapist)
    }

    async fn update_therapist(&self, id: TherapistId, changes: TherapistChanges) -> StoreResult<Therapist> {
        let mut tx = self.write().await?;
        let sql = Sql::new(format!("SELECT {THERAPIST} FROM therapists WHERE id = $1{}", D::FOR_UPDATE)).arg(id);
        let current = rows::therapist::<D>(&self.one(&mut tx, sql).await?)?;
        let name = changes.name.unwrap_or_else(|| current.name.clone());
        let user = changes.user_id.unwrap_or(current.user_id);
        if name == current.name && user == current.user_id {
            return Ok(current);
        }
        self.relink_user(&mut tx, current.user_id, user).await?;
        let sql = Sql::new(format!(
            "UPDATE therapists SET name = $2, user_id = $3, updated_at = $4 WHERE id = $1 RETURNING {THERAPIST}"
        ));
        let therapist =
            rows::therapist::<D>(&self.one(&mut tx, sql.arg(id).arg(&name).arg(user).arg(self.now())).await?)?;
        self.commit(tx).await?;
        Ok(therapist)
    }

    async fn delete_therapist(&self, id: TherapistId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let sql = Sql::new("DELETE FROM therapists WHERE id = $1 RETURNING user_id").arg(id);
        let user = self.one(&mut tx, sql).await?.opt_int("user_id")?;
        self.relink_user(&mut tx, user.map(UserId), None).await?;
        self.commit(tx).await
    }

    async fn sessions(
        &self,
        scope: SessionScope,
        filter: SessionFilter,
        page: PageRequest<SessionKey>,
    ) -> StoreResult<Page<Session, SessionKey>> {
        self.page_of_sessions(None, scope, filter, page).await
    }

    async fn read_sessions(
        &self,
        reader: Actor,
        scope: SessionScope,
        filter: SessionFilter,
        page: PageRequest<SessionKey>,
    ) -> StoreResult<Page<Session, SessionKey>> {
        self.page_of_sessions(Some(reader), scope, filter, page).await
    }

    async fn session(&self, scope: SessionScope, id: SessionId) -> StoreResult<Session> {
        self.one_session(None, scope, id).await
    }

    async fn read_session(&self, reader: Actor, scope: SessionScope, id: SessionId) -> StoreResult<Session> {
        self.one_session(Some(reader), scope, id).await
    }

    async fn create_sessions(&self, new: NewSession, actor: Actor) -> StoreResult<Vec<Session>> {
        let dates = new.dates();
        let mut tx = self.write().await?;
        let therapists = self.lock_therapists(&mut tx, &new.therapist_ids).await?;
        self.check_child(&mut tx, new.child_profile_id).await?;
        if new.status != SessionStatus::Cancelled {
            let (start, end, allowed) = (new.start_time, new.end_time, new.outside_working_hours);
            self.refuse_unavailable(&mut tx, &new.therapist_ids, &dates, start, end, None, allowed).await?;
        }
        // Every occurrence in one statement, in date order, so ids rise with the dates. The
        // sessions come back from the insert itself: nothing else in this transaction changes
        // them but their series, set below, and their therapists are the ones locked above.
        let sql = Sql::new(format!(
            "INSERT INTO sessions (date, start_time, end_time, notes, status, child_profile_id, created_at, updated_at)
             SELECT d.value, $2, $3, $4, $5, $6, $7, $7 FROM {} ORDER BY d.position RETURNING {}",
            D::list_table(1, "d"),
            rows::returned_session_columns()
        ))
        .arg(dates)
        .arg(new.start_time)
        .arg(new.end_time)
        .arg(&new.notes)
        .arg(new.status.as_str())
        .arg(new.child_profile_id)
        .arg(self.now());
        let mut sessions = rows::all::<D, _>(&self.all(&mut tx, sql).await?, rows::session::<D>)?;
        let ids: Vec<i64> = sessions.iter().map(|s| s.id.0).collect();
        if new.repeat.is_some() {
            // The series is named after its first occurrence.
            let series = ids.iter().min().copied();
            let sql = Sql::new(format!("UPDATE sessions SET series_id = $2 WHERE {}", D::in_list("id", 1)));
            self.execute(&mut tx, sql.arg(ids.clone()).arg(series)).await?;
            sessions.iter_mut().for_each(|s| s.series_id = series);
        }
        self.link_therapists(&mut tx, &ids, &new.therapist_ids).await?;
        // Only a child's sessions have a family to remind and to account to.
        if new.child_profile_id.is_some() {
            self.plan_reminders(&mut tx, &ids, true).await?;
            let created: Vec<SessionId> = ids.iter().copied().map(SessionId).collect();
            self.audit_sessions(&mut tx, actor, AuditAction::Create, &created).await?;
        }
        self.commit(tx).await?;
        for session in &mut sessions {
            session.therapists.clone_from(&therapists);
        }
        sessions.sort_by_key(|s| (s.date, s.start_time, s.id));
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
        let current = self.locked_session(&mut tx, scope, id).await?;
        let (date, start, end, status) = changed_slot(&current, &changes).map_err(StoreError::Invalid)?;
        let therapists =
            changes.therapist_ids.clone().unwrap_or_else(|| current.therapists.iter().map(|t| t.id).collect());
        self.lock_therapists(&mut tx, &therapists).await?;
        let child = changes.child_profile_id.unwrap_or(current.child_profile_id);
        if child != current.child_profile_id {
            self.check_child(&mut tx, child).await?;
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
            // Nothing changes, but the caller gets the session: that is a read of it.
            return self.read_unchanged(tx, actor, current).await;
        }
        if status != SessionStatus::Cancelled {
            // A session that moves, or comes back from cancelled, is checked for all its
            // therapists; otherwise only therapists new to it are.
            let moved = (date, start, end) != (current.date, current.start_time, current.end_time)
                || current.status == SessionStatus::Cancelled;
            let checked: Vec<TherapistId> = if moved {
                therapists.clone()
            } else {
                therapists.iter().copied().filter(|t| !current.therapists.iter().any(|c| c.id == *t)).collect()
            };
            if !checked.is_empty() {
                let allowed = changes.outside_working_hours;
                self.refuse_unavailable(&mut tx, &checked, &[date], start, end, Some(id), allowed).await?;
            }
        }
        // Recorded for the family of the child the session had before, and (below) after.
        self.audit_sessions(&mut tx, actor, AuditAction::Update, &[id]).await?;
        let sql = Sql::new(
            "UPDATE sessions SET date = $2, start_time = $3, end_time = $4, notes = $5, status = $6, child_profile_id = $7,
                updated_at = $8, version = version + 1
             WHERE id = $1",
        )
        .arg(id)
        .arg(date)
        .arg(start)
        .arg(end)
        .arg(&notes)
        .arg(status.as_str())
        .arg(child)
        .arg(self.now());
        self.execute(&mut tx, sql).await?;
        if child != current.child_profile_id {
            self.audit_sessions(&mut tx, actor, AuditAction::Update, &[id]).await?;
        }
        // The reminders follow the session's moment, its status and its child.
        if (date, start, status, child) != (current.date, current.start_time, current.status, current.child_profile_id)
        {
            self.plan_reminders(&mut tx, &[id.0], false).await?;
        }
        if therapists_change {
            let sql = Sql::new(format!(
                "DELETE FROM session_therapists WHERE session_id = $1 AND {}",
                D::not_in_list("therapist_id", 2)
            ));
            self.execute(&mut tx, sql.arg(id).arg(ids(&therapists, |t| t.0))).await?;
            self.link_therapists(&mut tx, &[id.0], &therapists).await?;
        }
        let session = self.sessions_by_id(&mut tx, &[id.0]).await?.remove(0);
        self.commit(tx).await?;
        Ok(session)
    }

    async fn delete_session(&self, id: SessionId, actor: Actor) -> StoreResult<()> {
        let mut tx = self.write().await?;
        self.audit_sessions(&mut tx, actor, AuditAction::Delete, &[id]).await?;
        if self.execute(&mut tx, Sql::new("DELETE FROM sessions WHERE id = $1").arg(id)).await? == 0 {
            return Err(StoreError::NotFound);
        }
        self.commit(tx).await
    }

    async fn add_session_therapist(
        &self,
        id: SessionId,
        therapist: TherapistId,
        outside_working_hours: bool,
        actor: Actor,
    ) -> StoreResult<Session> {
        let mut tx = self.write().await?;
        let current = self.locked_session(&mut tx, SessionScope::All, id).await?;
        if current.therapists.iter().any(|t| t.id == therapist) {
            return self.read_unchanged(tx, actor, current).await;
        }
        // The therapist is named by the path: one that does not exist is a 404, not a 422.
        self.lock_therapists(&mut tx, &[therapist]).await.map_err(|error| match error {
            StoreError::Invalid(_) => StoreError::NotFound,
            other => other,
        })?;
        if current.status != SessionStatus::Cancelled {
            let (date, start, end) = (current.date, current.start_time, current.end_time);
            self.refuse_unavailable(&mut tx, &[therapist], &[date], start, end, Some(id), outside_working_hours)
                .await?;
        }
        self.link_therapists(&mut tx, &[id.0], &[therapist]).await?;
        self.touch_session(&mut tx, id).await?;
        self.audit_sessions(&mut tx, actor, AuditAction::Update, &[id]).await?;
        let session = self.sessions_by_id(&mut tx, &[id.0]).await?.remove(0);
        self.commit(tx).await?;
        Ok(session)
    }

    async fn children_for_booking(&self, search: &str, limit: i64, actor: Actor) -> StoreResult<Vec<ChildChoice>> {
        let pattern = contains_pattern(search);
        let mut tx = self.write().await?;
        let sql = Sql::new(format!(
            "SELECT c.id, c.name, u.username FROM child_profiles c
             JOIN parent_profiles p ON p.id = c.parent_profile_id JOIN users u ON u.id = p.user_id
             WHERE {} OR {} ORDER BY c.name, c.id LIMIT $2",
            D::matches_ci("c.name", 1),
            D::matches_ci("u.username", 1)
        ))
        .arg(pattern.as_str())
        .arg(limit);
        let choices = self
            .all(&mut tx, sql)
            .await?
            .iter()
            .map(|row| {
                Ok(ChildChoice { id: ChildId(row.int("id")?), name: row.text("name")?, family: row.text("username")? })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        if !choices.is_empty() {
            self.audit_child_reads(&mut tx, actor, &ids(&choices, |c| c.id.0)).await?;
        }
        self.commit(tx).await?;
        Ok(choices)
    }

    async fn remove_session_therapist(&self, id: SessionId, therapist: TherapistId, actor: Actor) -> StoreResult<()> {
        let mut tx = self.write().await?;
        self.locked_session(&mut tx, SessionScope::All, id).await?;
        let sql = Sql::new("DELETE FROM session_therapists WHERE session_id = $1 AND therapist_id = $2");
        if self.execute(&mut tx, sql.arg(id).arg(therapist)).await? > 0 {
            self.audit_sessions(&mut tx, actor, AuditAction::Update, &[id]).await?;
            self.touch_session(&mut tx, id).await?;
        }
        self.commit(tx).await
    }
}

impl<D: Dialect> SqlStore<D> {
    async fn plan(&self, sql: Sql<'_>) -> StoreResult<Vec<String>> {
        let explain = Sql { text: D::explain(&sql.text), args: sql.args, cached: sql.cached };
        self.read_all(explain).await?.iter().map(D::plan_line).collect()
    }
}

#[async_trait]
impl<D: Dialect> Inspect for SqlStore<D> {
    async fn explain_sessions(
        &self,
        scope: SessionScope,
        filter: SessionFilter,
        page: PageRequest<SessionKey>,
    ) -> StoreResult<Vec<String>> {
        self.plan(sessions_query(scope, &filter, &page)).await
    }

    async fn explain_booking_check(&self, therapists: &[TherapistId], dates: &[NaiveDate]) -> StoreResult<Vec<String>> {
        self.plan(booked_query::<D>(therapists, &Dates::Each(dates))).await
    }

    async fn explain_availability(
        &self,
        therapists: &[TherapistId],
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<String>> {
        self.plan(booked_query::<D>(therapists, &Dates::Range(from, to))).await
    }

    fn statements(&self) -> u64 {
        self.statements.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn checkouts(&self) -> u64 {
        self.checkouts.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn idle_connections_in_transaction(&self) -> StoreResult<usize> {
        D::idle_in_transaction(&self.pool).await
    }

    async fn replanned_statements(&self) -> StoreResult<Vec<(String, i64)>> {
        D::replanned_statements(&self.pool).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, TimeZone, Utc};

    fn part(id: i64, day: u32, hour: u32, therapists: &[i64]) -> Session {
        Session {
            id: SessionId(id),
            date: NaiveDate::from_ymd_opt(2026, 12, day).expect("a date"),
            start_time: NaiveTime::from_hms_opt(hour, 0, 0).expect("a time"),
            end_time: NaiveTime::from_hms_opt(hour + 1, 0, 0).expect("a time"),
            notes: None,
            status: SessionStatus::Scheduled,
            child_profile_id: None,
            series_id: None,
            therapists: therapists
                .iter()
                .map(|&t| TherapistRef { id: TherapistId(t), name: format!("T{t}") })
                .collect(),
            version: 0,
            created_at: Utc.timestamp_opt(0, 0).single().expect("an instant"),
            updated_at: Utc.timestamp_opt(0, 0).single().expect("an instant"),
        }
    }

    fn shape(sessions: &[Session]) -> Vec<(i64, Vec<i64>)> {
        sessions.iter().map(|s| (s.id.0, s.therapists.iter().map(|t| t.id.0).collect())).collect()
    }

    #[test]
    fn rows_in_any_order_give_sessions_by_date_time_and_id_with_their_therapists_by_id() {
        // Session 5 (the 8th at 9:00) came in two parts, apart; session 9 shares its time.
        let rows = vec![
            part(9, 8, 9, &[3]),
            part(5, 8, 9, &[7]),
            part(2, 9, 8, &[]),
            part(5, 8, 9, &[1, 4]),
            part(7, 7, 17, &[2]),
        ];
        assert_eq!(shape(&in_key_order(rows)), vec![(7, vec![2]), (5, vec![1, 4, 7]), (9, vec![3]), (2, vec![])]);
    }
}
