use async_trait::async_trait;
use carenest_domain::accounts::{
    AccountStore, Attempts, Credentials, NewUser, Role, ThrottleKey, ThrottlePolicy, TokenHolder, TokenInfo, User,
    UserChanges,
};
use carenest_domain::audit::AuditAction;
use carenest_domain::ids::{TherapistId, UserId};
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::{StoreError, StoreResult};
use chrono::{DateTime, Utc};

use crate::rows::{self, Columns, USER};
use crate::{Dialect, Link, Sql, SqlStore};

fn keys(keys: &[ThrottleKey]) -> Vec<String> {
    keys.iter().map(|k| k.0.clone()).collect()
}

impl<D: Dialect> SqlStore<D> {
    /// Refuses to leave the practice without an admin. The admin rows are locked first, so two
    /// admins demoting each other at once can't both succeed.
    pub(crate) async fn ensure_other_admin(&self, conn: &mut Link<D>, leaving: UserId) -> StoreResult<()> {
        let sql = format!("SELECT id FROM users WHERE role = 'admin' ORDER BY id{}", D::FOR_UPDATE);
        let admins = self.all(conn, Sql::new(sql)).await?;
        let admins = admins.iter().map(|row| row.int("id")).collect::<StoreResult<Vec<_>>>()?;
        if admins.contains(&leaving.0) && admins.len() == 1 {
            return Err(StoreError::conflict("last_admin", "the last admin can't stop being one"));
        }
        Ok(())
    }

    async fn add_token(
        &self,
        conn: &mut Link<D>,
        user: UserId,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let sql = Sql::new(
            "INSERT INTO auth_tokens (user_id, token_hash, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        );
        self.execute(conn, sql.arg(user).arg(token_hash).arg(expires_at).arg(self.now())).await.map(drop)
    }
}

#[async_trait]
impl<D: Dialect> AccountStore for SqlStore<D> {
    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let sql = Sql::new(format!(
            "INSERT INTO users (username, email, password, profile_picture, role, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {USER}"
        ))
        .arg(&user.username)
        .arg(&user.email)
        .arg(&user.password_hash)
        .arg(&user.profile_picture)
        .arg(user.role.as_str())
        .arg(self.now());
        let created = rows::user::<D>(&self.one(&mut tx, sql).await?)?;
        if let Some(token) = &user.first_token {
            self.add_token(&mut tx, created.id, &token.hash, token.expires_at).await?;
        }
        self.commit(tx).await?;
        Ok(created)
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        rows::user::<D>(&self.read_one(Sql::new(format!("SELECT {USER} FROM users WHERE id = $1")).arg(id)).await?)
    }

    async fn credentials_by_login(&self, login: &str) -> StoreResult<Option<Credentials>> {
        // Usernames can't hold '@' and emails must, so the two never match different users.
        let sql = Sql::new(format!(
            "SELECT {USER}, password FROM users WHERE lower(username) = lower($1) OR lower(email) = lower($1)
             ORDER BY (lower(username) = lower($1)) DESC LIMIT 1"
        ));
        self.read_optional(sql.arg(login)).await?.as_ref().map(rows::credentials::<D>).transpose()
    }

    async fn credentials(&self, id: UserId) -> StoreResult<Credentials> {
        let sql = Sql::new(format!("SELECT {USER}, password FROM users WHERE id = $1")).arg(id);
        rows::credentials::<D>(&self.read_one(sql).await?)
    }

    async fn update_user(&self, id: UserId, changes: UserChanges, keep_token_hash: Option<&[u8]>) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let sql = Sql::new(format!(
            "UPDATE users SET
                email = COALESCE($2, email),
                profile_picture = CASE WHEN $3 THEN $4 ELSE profile_picture END,
                password = COALESCE($5, password),
                updated_at = $6
             WHERE id = $1 RETURNING {USER}"
        ))
        .arg(id)
        .arg(&changes.email)
        .arg(changes.profile_picture.is_some())
        .arg(changes.profile_picture.as_ref().and_then(Option::as_deref))
        .arg(&changes.password_hash)
        .arg(self.now());
        let user = rows::user::<D>(&self.one(&mut tx, sql).await?)?;
        if changes.password_hash.is_some() {
            let sql = Sql::new("DELETE FROM auth_tokens WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2");
            self.execute(&mut tx, sql.arg(id).arg(keep_token_hash)).await?;
        }
        self.commit(tx).await?;
        Ok(user)
    }

    async fn set_role(&self, id: UserId, role: Role) -> StoreResult<User> {
        let mut tx = self.write().await?;
        if role != Role::Admin {
            self.ensure_other_admin(&mut tx, id).await?;
        }
        let sql = Sql::new(format!("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1 RETURNING {USER}"));
        let user = rows::user::<D>(&self.one(&mut tx, sql.arg(id).arg(role.as_str()).arg(self.now())).await?)?;
        self.commit(tx).await?;
        Ok(user)
    }

    async fn list_users(&self, page: PageRequest<UserId>) -> StoreResult<Page<User, UserId>> {
        let sql = Sql::new(format!("SELECT {USER} FROM users WHERE id > $1 ORDER BY id LIMIT $2"))
            .arg(page.after.map_or(0, |id| id.0))
            .arg(page.fetch_limit());
        let users = rows::all::<D, _>(&self.read_all(sql).await?, rows::user::<D>)?;
        Ok(Page::from_overfetch(users, &page, |user| user.id))
    }

    async fn erase_user(&self, id: UserId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        self.ensure_other_admin(&mut tx, id).await?;
        let user = rows::user::<D>(
            &self.one(&mut tx, Sql::new(format!("SELECT {USER} FROM users WHERE id = $1")).arg(id)).await?,
        )?;
        // The erase is recorded while the user still exists to be named.
        self.audit_own_change(&mut tx, id, AuditAction::Delete, "user", id.0).await?;
        // The practice keeps its schedule; what was written about the children goes.
        let sessions = Sql::new(
            "UPDATE sessions SET notes = NULL, child_profile_id = NULL, updated_at = $2, version = version + 1
             WHERE child_profile_id IN (SELECT c.id FROM child_profiles c JOIN parent_profiles p
                 ON p.id = c.parent_profile_id WHERE p.user_id = $1)",
        );
        self.execute(&mut tx, sessions.arg(id).arg(self.now())).await?;
        let counters =
            [ThrottleKey::account(id), ThrottleKey::username(&user.username), ThrottleKey::username(&user.email)];
        let sql = Sql::new(format!("DELETE FROM login_throttles WHERE {}", D::in_list("throttle_key", 1)));
        self.execute(&mut tx, sql.arg(keys(&counters))).await?;
        // Cascades take the profile, children, goals, tokens, feed and remembered clients;
        // therapist records that pointed at the user are unlinked by their ON DELETE SET NULL.
        self.execute(&mut tx, Sql::new("DELETE FROM users WHERE id = $1").arg(id)).await?;
        self.commit(tx).await
    }

    async fn insert_token(&self, user: UserId, token_hash: &[u8], expires_at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.write().await?;
        // Expired tokens are swept as new ones are issued, so the table does not grow forever.
        let sweep =
            Sql::new("DELETE FROM auth_tokens WHERE user_id = $1 AND expires_at <= $2").arg(user).arg(self.now());
        self.execute(&mut tx, sweep).await?;
        self.add_token(&mut tx, user, token_hash, expires_at).await?;
        self.commit(tx).await
    }

    async fn user_by_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<Option<TokenHolder>> {
        let sql = Sql::new(
            "SELECT u.id, u.username, u.email, u.profile_picture, u.role, u.created_at, u.updated_at,
                    t.id AS token_id, t.last_used_at, th.id AS therapist_id
             FROM auth_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN therapists th ON th.user_id = u.id
             WHERE t.token_hash = $1 AND t.expires_at > $2",
        );
        let mut conn = self.connection().await?;
        let Some(row) = self.optional(&mut conn, sql.arg(token_hash).arg(now)).await? else { return Ok(None) };
        // Note the use at most once a minute: a write on every request would be wasteful.
        let last_used = row.opt_timestamp("last_used_at")?;
        if last_used.is_none_or(|at| now - at > chrono::Duration::minutes(1)) {
            let touch = Sql::new("UPDATE auth_tokens SET last_used_at = $2, updated_at = $2 WHERE id = $1");
            self.write_on(&mut conn, touch.arg(row.int("token_id")?).arg(now)).await?;
        }
        let therapist = row.opt_int("therapist_id")?.map(TherapistId);
        Ok(Some(TokenHolder { user: rows::user::<D>(&row)?, therapist }))
    }

    async fn revoke_token(&self, token_hash: &[u8]) -> StoreResult<()> {
        self.run(Sql::new("DELETE FROM auth_tokens WHERE token_hash = $1").arg(token_hash)).await.map(drop)
    }

    async fn count_attempt(
        &self,
        key: &ThrottleKey,
        policy: ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<Attempts> {
        // One statement: concurrent attempts are counted one after the other, never lost.
        let sql = Sql::new(
            "INSERT INTO login_throttles (throttle_key, failures, window_starts_at, created_at, updated_at)
             VALUES ($1, 1, $2, $2, $2)
             ON CONFLICT (throttle_key) DO UPDATE SET
                failures = CASE WHEN login_throttles.window_starts_at <= $3 THEN 1 ELSE login_throttles.failures + 1 END,
                window_starts_at = CASE WHEN login_throttles.window_starts_at <= $3 THEN $2 ELSE login_throttles.window_starts_at END,
                updated_at = $2
             RETURNING failures, window_starts_at",
        )
        .arg(key.0.as_str())
        .arg(now)
        .arg(now - policy.window);
        let mut conn = self.connection().await?;
        let _turn = self.take_turn().await;
        let row = self.one(&mut conn, sql).await?;
        Ok(Attempts { count: row.int32("failures")?.into(), window_started: row.timestamp("window_starts_at")? })
    }

    async fn forgive_attempt(&self, key: &ThrottleKey) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let gone =
            Sql::new("DELETE FROM login_throttles WHERE throttle_key = $1 AND failures <= 1").arg(key.0.as_str());
        self.execute(&mut tx, gone).await?;
        let less =
            Sql::new("UPDATE login_throttles SET failures = failures - 1 WHERE throttle_key = $1").arg(key.0.as_str());
        self.execute(&mut tx, less).await?;
        self.commit(tx).await
    }

    async fn clear_attempts(&self, throttle_keys: &[ThrottleKey]) -> StoreResult<()> {
        let sql = Sql::new(format!("DELETE FROM login_throttles WHERE {}", D::in_list("throttle_key", 1)));
        self.run(sql.arg(keys(throttle_keys))).await.map(drop)
    }

    async fn is_known_client(&self, user: UserId, client: &[u8]) -> StoreResult<bool> {
        let sql = Sql::new("SELECT id FROM known_clients WHERE user_id = $1 AND client_hash = $2");
        Ok(self.read_optional(sql.arg(user).arg(client)).await?.is_some())
    }

    async fn remember_client(&self, user: UserId, client: &[u8], now: DateTime<Utc>) -> StoreResult<()> {
        let sql = Sql::new(
            "INSERT INTO known_clients (user_id, client_hash, last_login_at, created_at, updated_at)
             VALUES ($1, $2, $3, $3, $3)
             ON CONFLICT (user_id, client_hash) DO UPDATE SET last_login_at = excluded.last_login_at,
                updated_at = excluded.updated_at",
        );
        self.run(sql.arg(user).arg(client).arg(now)).await.map(drop)
    }

    async fn tokens(&self, user: UserId) -> StoreResult<Vec<TokenInfo>> {
        let sql = Sql::new(
            "SELECT created_at, expires_at, last_used_at FROM auth_tokens WHERE user_id = $1 AND expires_at > $2
             ORDER BY created_at DESC, id DESC",
        );
        let rows = self.read_all(sql.arg(user).arg(self.now())).await?;
        rows.iter()
            .map(|row| {
                Ok(TokenInfo {
                    created_at: row.timestamp("created_at")?,
                    expires_at: row.timestamp("expires_at")?,
                    last_used_at: row.opt_timestamp("last_used_at")?,
                })
            })
            .collect()
    }
}
