use async_trait::async_trait;
use carenest_domain::feeds::{FeedOwner, FeedStore};
use carenest_domain::ids::{TherapistId, UserId};
use carenest_domain::StoreResult;
use chrono::{DateTime, Utc};

use crate::rows::Columns;
use crate::{Dialect, Sql, SqlStore};

/// The column that names a feed's owner, and the owner's id.
fn owner_column(owner: FeedOwner) -> (&'static str, i64) {
    match owner {
        FeedOwner::Therapist(therapist) => ("therapist_id", therapist.0),
        FeedOwner::Family(user) => ("user_id", user.0),
    }
}

#[async_trait]
impl<D: Dialect> FeedStore for SqlStore<D> {
    async fn set_feed(&self, owner: FeedOwner, secret_hash: &[u8]) -> StoreResult<DateTime<Utc>> {
        let (column, id) = owner_column(owner);
        let mut tx = self.write().await?;
        self.execute(&mut tx, Sql::new(format!("DELETE FROM calendar_feeds WHERE {column} = $1")).arg(id)).await?;
        let now = self.now();
        let sql = Sql::new(format!(
            "INSERT INTO calendar_feeds ({column}, secret_hash, created_at, updated_at) VALUES ($1, $2, $3, $3)"
        ));
        self.execute(&mut tx, sql.arg(id).arg(secret_hash).arg(now)).await?;
        self.commit(tx).await?;
        Ok(now)
    }

    async fn revoke_feed(&self, owner: FeedOwner) -> StoreResult<()> {
        let (column, id) = owner_column(owner);
        self.run(Sql::new(format!("DELETE FROM calendar_feeds WHERE {column} = $1")).arg(id)).await.map(drop)
    }

    async fn feed_owner(&self, secret_hash: &[u8], now: DateTime<Utc>) -> StoreResult<Option<FeedOwner>> {
        let sql = Sql::new("SELECT id, therapist_id, user_id, last_used_at FROM calendar_feeds WHERE secret_hash = $1");
        let mut conn = self.connection().await?;
        let Some(row) = self.optional(&mut conn, sql.arg(secret_hash)).await? else { return Ok(None) };
        // Calendar apps poll often: note the use at most once a minute.
        if row.opt_timestamp("last_used_at")?.is_none_or(|at| now - at > chrono::Duration::minutes(1)) {
            let touch = Sql::new("UPDATE calendar_feeds SET last_used_at = $2 WHERE id = $1");
            self.write_on(&mut conn, touch.arg(row.int("id")?).arg(now)).await?;
        }
        Ok(Some(match row.opt_int("therapist_id")? {
            Some(therapist) => FeedOwner::Therapist(TherapistId(therapist)),
            None => FeedOwner::Family(UserId(row.int("user_id")?)),
        }))
    }
}
