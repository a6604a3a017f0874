use async_trait::async_trait;
use carenest_domain::ops::{MigrationInfo, MigrationStatus, OpsStore, PoolStats};
use carenest_domain::time::now;
use carenest_domain::{StoreError, StoreResult};
use chrono::{DateTime, Utc};

use crate::{known_migrations, PgStore, ResultExt, MIGRATOR};

impl PgStore {
    async fn applied_migrations(&self) -> StoreResult<Vec<(i64, DateTime<Utc>)>> {
        let table_exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .store()?;
        if !table_exists {
            return Ok(Vec::new());
        }
        sqlx::query_as("SELECT version, installed_on FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&self.pool)
            .await
            .store()
    }
}

#[async_trait]
impl OpsStore for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.store().map(drop)
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    async fn migration_status(&self) -> StoreResult<MigrationStatus> {
        let applied = self.applied_migrations().await?;
        Ok(carenest_domain::ops::status(known_migrations(), &applied))
    }

    async fn migrate(&self) -> StoreResult<Vec<MigrationInfo>> {
        let before = self.migration_status().await?;
        carenest_domain::ops::refuse_unknown(&before)?;
        MIGRATOR.run(&self.pool).await.map_err(|e| StoreError::Other(Box::new(e)))?;
        Ok(before.pending().cloned().collect())
    }

    async fn rollback(&self, steps: Option<usize>) -> StoreResult<Vec<MigrationInfo>> {
        let status = self.migration_status().await?;
        carenest_domain::ops::refuse_unknown(&status)?;
        let (target, undone) = carenest_domain::ops::rollback_plan(&status, steps);
        if !undone.is_empty() {
            MIGRATOR.undo(&self.pool, target).await.map_err(|e| StoreError::Other(Box::new(e)))?;
        }
        Ok(undone)
    }

    async fn seeders_run(&self) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
        sqlx::query_as("SELECT name, created_at FROM seeders ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .store()
    }

    async fn mark_seeder(&self, name: &str, ran: bool) -> StoreResult<()> {
        let query = if ran {
            sqlx::query(
                "INSERT INTO seeders (name, created_at, updated_at) VALUES ($1, $2, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(now())
        } else {
            sqlx::query("DELETE FROM seeders WHERE name = $1").bind(name)
        };
        query.execute(&self.pool).await.store().map(drop)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
