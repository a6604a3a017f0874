use async_trait::async_trait;
use carenest_domain::accounts::{
    AccountStore, Credentials, NewUser, Role, ThrottleKey, ThrottlePolicy, User, UserChanges,
};
use carenest_domain::ids::UserId;
use carenest_domain::page::{Page, PageRequest};
use carenest_domain::time::now;
use carenest_domain::{rows, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::rows::Cols;
use crate::{json_list, ts, ResultExt, SqliteStore};

const USER_COLUMNS: &str = "id, username, email, profile_picture, role, created_at, updated_at";

pub(crate) fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    rows::user(&Cols(row))
}

fn credentials_from_row(row: &SqliteRow) -> StoreResult<Credentials> {
    rows::credentials(&Cols(row))
}

fn keys(keys: &[ThrottleKey]) -> String {
    json_list(&keys.iter().map(|k| k.0.as_str()).collect::<Vec<_>>())
}

/// Refuses to leave the practice without an admin; the surrounding `BEGIN IMMEDIATE` keeps
/// two admins from demoting each other at once.
async fn ensure_other_admin(conn: &mut SqliteConnection, leaving: UserId) -> StoreResult<()> {
    let admins: Vec<i64> = sqlx::query_scalar("SELECT id FROM users WHERE role = 'admin' ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .store()?;
    if admins.contains(&leaving.0) && admins.len() == 1 {
        return Err(StoreError::conflict("last_admin", "the last admin can't stop being one"));
    }
    Ok(())
}

async fn add_token(
    conn: &mut SqliteConnection,
    user: UserId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO auth_tokens (user_id, token_hash, expires_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )
    .bind(user.0)
    .bind(token_hash)
    .bind(ts(expires_at))
    .bind(now)
    .execute(conn)
    .await
    .store()
    .map(drop)
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        let now = ts(now());
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO users (username, email, password, profile_picture, role, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING {USER_COLUMNS}"
        ))
        .bind(&user.username)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(&user.profile_picture)
        .bind(user.role.as_str())
        .bind(&now)
        .fetch_one(&mut *tx)
        .await
        .store()?;
        let created = user_from_row(&row)?;
        if let Some(token) = &user.first_token {
            add_token(&mut tx, created.id, &token.hash, token.expires_at, &now).await?;
        }
        tx.commit().await.store()?;
        Ok(created)
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .store()?;
        user_from_row(&row)
    }

    async fn credentials_by_login(&self, login: &str) -> StoreResult<Option<Credentials>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, password FROM users WHERE lower(username) = lower(?1) OR lower(email) = lower(?1)
             ORDER BY (lower(username) = lower(?1)) DESC LIMIT 1"
        ))
        .bind(login)
        .fetch_optional(&self.pool)
        .await
        .store()?;
        row.as_ref().map(credentials_from_row).transpose()
    }

    async fn credentials(&self, id: UserId) -> StoreResult<Credentials> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, password FROM users WHERE id = ?1"))
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .store()?;
        credentials_from_row(&row)
    }

    async fn update_user(&self, id: UserId, changes: UserChanges, keep_token_hash: Option<&[u8]>) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "UPDATE users SET
                email = COALESCE(?2, email),
                profile_picture = CASE WHEN ?3 THEN ?4 ELSE profile_picture END,
                password = COALESCE(?5, password),
                updated_at = ?6
             WHERE id = ?1 RETURNING {USER_COLUMNS}"
        ))
        .bind(id.0)
        .bind(&changes.email)
        .bind(changes.profile_picture.is_some())
        .bind(changes.profile_picture.clone().flatten())
        .bind(&changes.password_hash)
        .bind(ts(now()))
        .fetch_one(&mut *tx)
        .await
        .store()?;
        if changes.password_hash.is_some() {
            sqlx::query("DELETE FROM auth_tokens WHERE user_id = ?1 AND token_hash IS NOT ?2")
                .bind(id.0)
                .bind(keep_token_hash)
                .execute(&mut *tx)
                .await
                .store()?;
        }
        tx.commit().await.store()?;
        user_from_row(&row)
    }

    async fn set_role(&self, id: UserId, role: Role) -> StoreResult<User> {
        let mut tx = self.write().await?;
        if role != Role::Admin {
            ensure_other_admin(&mut tx, id).await?;
        }
        let row =
            sqlx::query(&format!("UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1 RETURNING {USER_COLUMNS}"))
                .bind(id.0)
                .bind(role.as_str())
                .bind(ts(now()))
                .fetch_one(&mut *tx)
                .await
                .store()?;
        tx.commit().await.store()?;
        user_from_row(&row)
    }

    async fn list_users(&self, page: PageRequest<UserId>) -> StoreResult<Page<User, UserId>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id > ?1 ORDER BY id LIMIT ?2"))
            .bind(page.after.map_or(0, |id| id.0))
            .bind(page.fetch_limit())
            .fetch_all(&self.pool)
            .await
            .store()?;
        let users = rows.iter().map(user_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(users, &page, |user| user.id))
    }

    async fn erase_user(&self, id: UserId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        ensure_other_admin(&mut tx, id).await?;
        let deleted = sqlx::query("DELETE FROM users WHERE id = ?1").bind(id.0).execute(&mut *tx).await.store()?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.store()
    }

    async fn insert_token(&self, user: UserId, token_hash: &[u8], expires_at: DateTime<Utc>) -> StoreResult<()> {
        let now = ts(now());
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM auth_tokens WHERE user_id = ?1 AND expires_at <= ?2")
            .bind(user.0)
            .bind(&now)
            .execute(&mut *tx)
            .await
            .store()?;
        add_token(&mut tx, user, token_hash, expires_at, &now).await?;
        tx.commit().await.store()
    }

    async fn user_by_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<Option<User>> {
        let columns = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
        let row = sqlx::query(&format!(
            "SELECT {columns}, t.id AS token_id, t.last_used_at FROM auth_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1 AND t.expires_at > ?2"
        ))
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await
        .store()?;
        let Some(row) = row else { return Ok(None) };
        let last_used: Option<DateTime<Utc>> = row.try_get("last_used_at").store()?;
        if last_used.is_none_or(|at| now - at > chrono::Duration::minutes(1)) {
            sqlx::query("UPDATE auth_tokens SET last_used_at = ?2, updated_at = ?2 WHERE id = ?1")
                .bind(row.try_get::<i64, _>("token_id").store()?)
                .bind(ts(now))
                .execute(&self.pool)
                .await
                .store()?;
        }
        user_from_row(&row).map(Some)
    }

    async fn revoke_token(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM auth_tokens WHERE token_hash = ?1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .store()
            .map(drop)
    }

    async fn login_locked_until(
        &self,
        throttle_keys: &[ThrottleKey],
        policy: ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let started: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT max(window_starts_at) FROM login_throttles
             WHERE throttle_key IN (SELECT value FROM json_each(?1)) AND failures >= ?2 AND window_starts_at > ?3",
        )
        .bind(keys(throttle_keys))
        .bind(policy.max_failures)
        .bind(ts(now - policy.window))
        .fetch_one(&self.pool)
        .await
        .store()?;
        Ok(started.map(|at| at + policy.window))
    }

    async fn record_login_failure(
        &self,
        throttle_keys: &[ThrottleKey],
        policy: ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        // `WHERE true` lets SQLite parse the upsert after a SELECT.
        sqlx::query(
            "INSERT INTO login_throttles (throttle_key, failures, window_starts_at, created_at, updated_at)
             SELECT value, 1, ?2, ?2, ?2 FROM json_each(?1) WHERE true
             ON CONFLICT (throttle_key) DO UPDATE SET
                failures = CASE WHEN login_throttles.window_starts_at <= ?3 THEN 1 ELSE login_throttles.failures + 1 END,
                window_starts_at = CASE WHEN login_throttles.window_starts_at <= ?3 THEN ?2 ELSE login_throttles.window_starts_at END,
                updated_at = ?2",
        )
        .bind(keys(throttle_keys))
        .bind(ts(now))
        .bind(ts(now - policy.window))
        .execute(&self.pool)
        .await
        .store()
        .map(drop)
    }

    async fn clear_login_failures(&self, throttle_keys: &[ThrottleKey]) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_throttles WHERE throttle_key IN (SELECT value FROM json_each(?1))")
            .bind(keys(throttle_keys))
            .execute(&self.pool)
            .await
            .store()
            .map(drop)
    }
}
