//! CareNest's store on PostgreSQL: plain SQL with bound parameters, one transaction for every
//! multi-row write, and row locks that close check-then-write races.

mod accounts;
mod audit;
mod family;
mod ops;
mod rows;
mod scheduling;
mod suggestions;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use carenest_domain::error::known_constraint;
use carenest_domain::suggestions::{Embedder, HashedNgrams};
use carenest_domain::StoreError;
use sqlx::migrate::MigrateDatabase;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Postgres};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How a pool is sized and how long callers wait for a connection.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 10, acquire_timeout: Duration::from_secs(5) }
    }
}

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Turns families into the embeddings suggestions compare.
    embedder: Arc<dyn Embedder>,
}

fn options(url: &str) -> Result<PgConnectOptions, StoreError> {
    PgConnectOptions::from_str(url)
        .map(|options| options.application_name("carenest").log_statements(tracing::log::LevelFilter::Debug))
        .map_err(|error| StoreError::Unavailable(format!("invalid PostgreSQL URL: {error}").into()))
}

impl PgStore {
    /// Connects and checks the connection works, so a bad URL, host or password is reported
    /// here rather than on the first request.
    pub async fn connect(url: &str, settings: PoolSettings) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options(url)?)
            .await
            .map_err(map_error)?;
        Ok(Self { pool, embedder: Arc::new(HashedNgrams) })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Uses another embedder than the built-in hashed n-grams.
    pub fn with_embedder(self, embedder: Arc<dyn Embedder>) -> Self {
        Self { embedder, ..self }
    }
}

/// Creates the database the URL names. Returns false when it already exists.
pub async fn create_database(url: &str) -> Result<bool, StoreError> {
    if Postgres::database_exists(url).await.map_err(map_error)? {
        return Ok(false);
    }
    Postgres::create_database(url).await.map_err(map_error)?;
    Ok(true)
}

/// Drops the database the URL names, closing other connections to it. Returns false when it
/// did not exist.
pub async fn drop_database(url: &str) -> Result<bool, StoreError> {
    if !Postgres::database_exists(url).await.map_err(map_error)? {
        return Ok(false);
    }
    Postgres::force_drop_database(url).await.map_err(map_error)?;
    Ok(true)
}

/// Maps a driver error onto the domain's: named constraints become conflicts or invalid input,
/// connection trouble becomes `Unavailable`, the rest `Other` (logged, never shown).
pub(crate) fn map_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) => {
            let constraint = db.constraint().and_then(known_constraint);
            match (db.code().as_deref(), constraint) {
                (Some("23505"), Some(name)) => StoreError::conflict(name, "already exists"),
                (Some("23514"), Some(name)) => StoreError::invalid(name, "constraint", format!("violates {name}")),
                // A rule without a known name is still a broken rule, not a server fault.
                (Some("23505"), None) => StoreError::conflict("unique", "already exists"),
                (Some("23514" | "22007" | "22008"), None) => {
                    StoreError::invalid("body", "constraint", "a value breaks a rule of the data model")
                }
                (Some("23503"), _) => {
                    StoreError::invalid("reference", "unknown_reference", "refers to a record that does not exist")
                }
                // Admin shutdown, cannot connect now, too many connections.
                (Some(code), _) if code.starts_with("57P") || code.starts_with("08") || code == "53300" => {
                    StoreError::Unavailable(Box::new(error))
                }
                _ => StoreError::Other(Box::new(error)),
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(error)),
        _ => StoreError::Other(Box::new(error)),
    }
}

pub(crate) trait ResultExt<T> {
    fn store(self) -> Result<T, StoreError>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn store(self) -> Result<T, StoreError> {
        self.map_err(map_error)
    }
}

/// `(version, description)` of every up migration this binary carries.
pub(crate) fn known_migrations() -> Vec<(i64, String)> {
    MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| (m.version, m.description.to_string()))
        .collect()
}
