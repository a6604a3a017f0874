use async_trait::async_trait;
use carenest_domain::audit::{Actor, AuditAction, AuditEntry, AuditFilter, AuditStore};
use carenest_domain::ids::{SessionId, UserId};
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::StoreResult;
use chrono::{DateTime, Utc};

use crate::rows::{self, AUDIT};
use crate::{Dialect, Link, Sql, SqlStore};

const INSERT: &str = "INSERT INTO audit_log (at, actor_user_id, actor_role, action, resource_type, resource_id, \
     subject_user_id, created_at, updated_at)";

impl<D: Dialect> SqlStore<D> {
    /// A page of the entries whose `column` is `user`, newest first.
    async fn audit_page(
        &self,
        column: &str,
        user: UserId,
        page: PageRequest<i64>,
    ) -> StoreResult<Page<(i64, AuditEntry), i64>> {
        let sql = Sql::new(format!(
            "SELECT {AUDIT} FROM audit_log WHERE {column} = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        ))
        .arg(user)
        .arg(page.after.unwrap_or(i64::MAX))
        .arg(page.fetch_limit());
        let entries = rows::all::<D, _>(&self.read_all(sql).await?, rows::audit_entry::<D>)?;
        Ok(Page::from_overfetch(entries, &page, |(id, _)| *id))
    }

    /// Appends the audit row of a family's change to its own data, inside the change's
    /// transaction: the change and its record are written together or not at all.
    pub(crate) async fn audit_own_change(
        &self,
        conn: &mut Link<D>,
        owner: UserId,
        action: AuditAction,
        resource_type: &str,
        resource_id: i64,
    ) -> StoreResult<()> {
        let sql = Sql::new(format!("{INSERT} SELECT $1, id, role, $2, $3, $4, id, $1, $1 FROM users WHERE id = $5"))
            .arg(self.now())
            .arg(action.as_str())
            .arg(resource_type)
            .arg(resource_id)
            .arg(owner);
        self.execute(conn, sql).await.map(drop)
    }

    /// Appends one audit row per session of a child and the family of that child (none for
    /// sessions of no child, or when the actor is that family), in one statement.
    pub(crate) async fn audit_sessions(
        &self,
        conn: &mut Link<D>,
        actor: Actor,
        action: AuditAction,
        sessions: &[SessionId],
    ) -> StoreResult<()> {
        let sql = self.session_audit_sql(action, [(actor, sessions)]);
        self.execute(conn, sql).await.map(drop)
    }
}

impl<D: Dialect> SqlStore<D> {
    /// The statement of `audit_sessions` for several actors at once: one part per actor, each
    /// with its own list of sessions, joined by `UNION ALL`. A session listed twice (one
    /// reader's two reads in a batch) gets two rows, as two reads do. Each part is linear in its
    /// sessions on both backends; looking a reader up by place in a list as long as the rows
    /// (the first shape of the group commit) is a walk from the list's start on each row, which
    /// made a batch of a busy day's reads quadratic (SQLite's day: 7 ms of CPU a request).
    pub(crate) fn session_audit_sql<'r>(
        &self,
        action: AuditAction,
        reads: impl IntoIterator<Item = (Actor, &'r [SessionId])>,
    ) -> Sql<'static> {
        let mut parts = Vec::new();
        let mut sql = Sql::new(String::new()).arg(self.now()).arg(action.as_str());
        for (actor, sessions) in reads {
            let first = sql.args.len() + 1;
            let (user, role, list) = (first, first + 1, first + 2);
            parts.push(format!(
                "SELECT $1, ${user}, ${role}, $2, 'session', s.id, p.user_id, $1, $1
                 FROM {} JOIN sessions s ON s.id = r.value
                 JOIN child_profiles c ON c.id = s.child_profile_id
                 JOIN parent_profiles p ON p.id = c.parent_profile_id
                 WHERE p.user_id <> ${user}",
                D::list_table(list, "r")
            ));
            sql = sql.arg(actor.user).arg(actor.role.as_str()).arg(sessions.iter().map(|s| s.0).collect::<Vec<_>>());
        }
        sql.text = format!("{INSERT} {}", parts.join(" UNION ALL "));
        sql
    }

    /// Appends one audit row per child that `actor` read, for the child's family (none when
    /// the actor is that family), in one statement.
    pub(crate) async fn audit_child_reads(
        &self,
        conn: &mut Link<D>,
        actor: Actor,
        children: &[i64],
    ) -> StoreResult<()> {
        let sql = Sql::new(format!(
            "{INSERT} SELECT $1, $2, $3, 'read', 'child_profile', c.id, p.user_id, $1, $1
             FROM child_profiles c JOIN parent_profiles p ON p.id = c.parent_profile_id
             WHERE {} AND p.user_id <> $2",
            D::in_list("c.id", 4)
        ))
        .arg(self.now())
        .arg(actor.user)
        .arg(actor.role.as_str())
        .arg(children.to_vec());
        self.execute(conn, sql).await.map(drop)
    }
}

#[async_trait]
impl<D: Dialect> AuditStore for SqlStore<D> {
    async fn audit_by_actor(&self, actor: UserId, page: PageRequest<i64>) -> StoreResult<Page<(i64, AuditEntry), i64>> {
        self.audit_page("actor_user_id", actor, page).await
    }

    async fn audit_entries(
        &self,
        subject: UserId,
        page: PageRequest<i64>,
    ) -> StoreResult<Page<(i64, AuditEntry), i64>> {
        self.audit_page("subject_user_id", subject, page).await
    }

    async fn audit_search(
        &self,
        reader: Actor,
        filter: &AuditFilter,
        page: PageRequest<i64>,
    ) -> StoreResult<Page<(i64, AuditEntry), i64>> {
        let mut sql = Sql::new(format!("SELECT {AUDIT} FROM audit_log WHERE id < "));
        sql.push_arg(page.after.unwrap_or(i64::MAX));
        let conditions: [(&str, Option<crate::Arg>); 7] = [
            ("actor_user_id = ", filter.actor.map(Into::into)),
            ("subject_user_id = ", filter.subject.map(Into::into)),
            ("resource_type = ", filter.resource_type.as_deref().map(Into::into)),
            ("resource_id = ", filter.resource_id.map(Into::into)),
            ("action = ", filter.action.map(|a| a.as_str().into())),
            ("at >= ", filter.from.map(Into::into)),
            ("at < ", filter.until.map(Into::into)),
        ];
        for (condition, value) in conditions {
            if let Some(value) = value {
                sql.push(" AND ").push(condition).push_arg(value);
            }
        }
        sql.push(" ORDER BY id DESC LIMIT ").push_arg(page.fetch_limit());
        let mut tx = self.write().await?;
        let entries = rows::all::<D, _>(&self.all(&mut tx, sql).await?, rows::audit_entry::<D>)?;
        // Reading the log is itself recorded, as a read of the log by and about the reader.
        let record = Sql::new(format!("{INSERT} VALUES ($1, $2, $3, 'read', 'audit_log', 0, $2, $1, $1)"))
            .arg(self.now())
            .arg(reader.user)
            .arg(reader.role.as_str());
        self.execute(&mut tx, record).await?;
        self.commit(tx).await?;
        Ok(Page::from_overfetch(entries, &page, |(id, _)| *id))
    }

    async fn prune_audit(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        // The mark lets the delete trigger pass rows older than it, for this transaction only.
        let mark = Sql::new("INSERT INTO audit_log_pruning (before, created_at, updated_at) VALUES ($1, $2, $2)")
            .arg(before)
            .arg(self.now());
        self.execute(&mut tx, mark).await?;
        let removed = self.execute(&mut tx, Sql::new("DELETE FROM audit_log WHERE at < $1").arg(before)).await?;
        self.execute(&mut tx, Sql::new("DELETE FROM audit_log_pruning")).await?;
        self.commit(tx).await?;
        Ok(removed)
    }
}
