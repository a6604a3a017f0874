use async_trait::async_trait;
use carenest_domain::ops::{
    refuse_unknown, rollback_plan, MigrationInfo, MigrationStatus, OpsStore, PoolStats, AUDIT_MIGRATION,
};
use carenest_domain::{StoreError, StoreResult};
use chrono::{DateTime, Utc};

use crate::rows::Columns;
use crate::{Dialect, Sql, SqlStore};

impl<D: Dialect> SqlStore<D> {
    async fn applied_migrations(&self) -> StoreResult<Vec<(i64, DateTime<Utc>)>> {
        if !self.read_one(Sql::new(D::table_exists("_sqlx_migrations"))).await?.flag("present")? {
            return Ok(Vec::new());
        }
        let sql = Sql::new("SELECT version, installed_on FROM _sqlx_migrations WHERE success ORDER BY version");
        self.read_all(sql).await?.iter().map(|row| Ok((row.int("version")?, row.timestamp("installed_on")?))).collect()
    }
}

#[async_trait]
impl<D: Dialect> OpsStore for SqlStore<D> {
    async fn ping(&self) -> StoreResult<()> {
        self.read_one(Sql::new("SELECT 1 AS one")).await.map(drop)
    }

    fn backend_name(&self) -> &'static str {
        D::NAME
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats { size: self.pool.size(), idle: self.pool.idle(), max: self.pool.max_connections() }
    }

    async fn migration_status(&self) -> StoreResult<MigrationStatus> {
        let known = D::migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| (m.version, m.description.to_string()))
            .collect();
        Ok(carenest_domain::ops::status(known, &self.applied_migrations().await?))
    }

    async fn migrate(&self) -> StoreResult<Vec<MigrationInfo>> {
        let before = self.migration_status().await?;
        refuse_unknown(&before)?;
        D::run_migrations(&self.pool, None).await?;
        Ok(before.pending().cloned().collect())
    }

    async fn rollback(&self, steps: Option<usize>, force: bool) -> StoreResult<Vec<MigrationInfo>> {
        let status = self.migration_status().await?;
        refuse_unknown(&status)?;
        let (target, undone) = rollback_plan(&status, steps);
        if !force && undone.iter().any(|m| m.version == AUDIT_MIGRATION) {
            let rows = self.read_one(Sql::new("SELECT count(*) AS n FROM audit_log")).await?.int("n")?;
            if rows > 0 {
                return Err(StoreError::conflict(
                    "audit_log_not_empty",
                    format!(
                        "rolling back migration {AUDIT_MIGRATION} would drop the audit log and its {rows} rows; \
                         back the database up first, then pass --force"
                    ),
                ));
            }
        }
        if !undone.is_empty() {
            D::undo_migrations(&self.pool, target).await?;
        }
        Ok(undone)
    }

    async fn seeders_run(&self) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
        let rows = self.read_all(Sql::new("SELECT name, created_at FROM seeders ORDER BY created_at, id")).await?;
        rows.iter().map(|row| Ok((row.text("name")?, row.timestamp("created_at")?))).collect()
    }

    async fn mark_seeder(&self, name: &str, ran: bool) -> StoreResult<()> {
        let sql = if ran {
            Sql::new(
                "INSERT INTO seeders (name, created_at, updated_at) VALUES ($1, $2, $2) ON CONFLICT (name) DO NOTHING",
            )
            .arg(name)
            .arg(self.now())
        } else {
            Sql::new("DELETE FROM seeders WHERE name = $1").arg(name)
        };
        self.run(sql).await.map(drop)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
