//! CareNest's store on embedded SQLite: the same behaviour as the PostgreSQL backend, with
//! SQLite's types (arrays and JSON as checked JSON text, timestamps as fixed-format UTC text)
//! and every write transaction begun with `BEGIN IMMEDIATE`, so writers queue on the busy
//! timeout instead of failing with "database is locked".

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
use chrono::{DateTime, Utc};
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a writer waits for another to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Turns families into the embeddings suggestions compare.
    embedder: Arc<dyn Embedder>,
}

fn options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    SqliteConnectOptions::from_str(url)
        .map(|options| {
            options
                .create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(BUSY_TIMEOUT)
        })
        .map_err(|error| StoreError::Unavailable(format!("invalid SQLite URL: {error}").into()))
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and checks it answers.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options(url)?)
            .await
            .map_err(map_error)?;
        Ok(Self { pool, embedder: Arc::new(HashedNgrams) })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Uses another embedder than the built-in hashed n-grams.
    pub fn with_embedder(self, embedder: Arc<dyn Embedder>) -> Self {
        Self { embedder, ..self }
    }

    /// A write transaction that holds the write lock from its first statement, so a
    /// read-then-write can never fail to upgrade.
    pub(crate) async fn write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_error)
    }
}

/// Creates the database file. Returns false when it already exists.
pub async fn create_database(url: &str) -> Result<bool, StoreError> {
    if Sqlite::database_exists(url).await.map_err(map_error)? {
        return Ok(false);
    }
    Sqlite::create_database(url).await.map_err(map_error)?;
    Ok(true)
}

/// Deletes the database file. Returns false when it did not exist.
pub async fn drop_database(url: &str) -> Result<bool, StoreError> {
    if !Sqlite::database_exists(url).await.map_err(map_error)? {
        return Ok(false);
    }
    Sqlite::drop_database(url).await.map_err(map_error)?;
    Ok(true)
}

/// The one text format of every timestamp: sorts correctly, and holds microseconds like
/// PostgreSQL's `timestamptz`.
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// SQLite names a failed CHECK by its constraint, a failed expression index by the index,
/// and other unique indexes by their columns (`table.a, table.b`), which our naming
/// convention turns back into the index name (`table_a_b_key`).
fn constraint_name(message: &str) -> Option<&'static str> {
    let detail = message.split_once("constraint failed: ")?.1;
    if let Some(index) = detail.strip_prefix("index '") {
        return known_constraint(index.trim_end_matches('\''));
    }
    if !detail.contains('.') {
        return known_constraint(detail);
    }
    let mut columns = detail.split(", ").filter_map(|c| c.split_once('.'));
    let (table, first) = columns.next()?;
    let mut name = format!("{table}_{first}");
    for (_, column) in columns {
        name.push('_');
        name.push_str(column);
    }
    name.push_str("_key");
    known_constraint(&name)
}

/// Maps a driver error onto the domain's, by SQLite's extended result codes.
pub(crate) fn map_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) => {
            let constraint = constraint_name(db.message());
            match (db.code().as_deref(), constraint) {
                // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
                (Some("2067" | "1555"), Some(name)) => StoreError::conflict(name, "already exists"),
                // SQLITE_CONSTRAINT_CHECK
                (Some("275"), Some(name)) => StoreError::invalid(name, "constraint", format!("violates {name}")),
                // A rule without a known name is still a broken rule, not a server fault.
                (Some("2067" | "1555"), None) => StoreError::conflict("unique", "already exists"),
                (Some("275"), None) => {
                    StoreError::invalid("body", "constraint", "a value breaks a rule of the data model")
                }
                // SQLITE_CONSTRAINT_FOREIGNKEY
                (Some("787"), _) => {
                    StoreError::invalid("reference", "unknown_reference", "refers to a record that does not exist")
                }
                // SQLITE_BUSY and SQLITE_LOCKED with their extended codes
                (Some(code), _) if matches!(code.parse::<i32>().map(|c| c & 0xff), Ok(5 | 6)) => {
                    StoreError::Unavailable(Box::new(error))
                }
                _ => StoreError::Other(Box::new(error)),
            }
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable(Box::new(error))
        }
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

/// A list bound as JSON text, for `IN (SELECT value FROM json_each(?))`.
pub(crate) fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).expect("a list of ids or strings always serialises")
}

#[cfg(test)]
mod tests {
    use super::constraint_name;

    #[test]
    fn sqlite_messages_map_back_to_constraint_names() {
        assert_eq!(constraint_name("UNIQUE constraint failed: index 'users_username_key'"), Some("users_username_key"));
        assert_eq!(
            constraint_name("UNIQUE constraint failed: parent_profiles.user_id"),
            Some("parent_profiles_user_id_key")
        );
        assert_eq!(
            constraint_name("UNIQUE constraint failed: session_therapists.session_id, session_therapists.therapist_id"),
            Some("session_therapists_session_id_therapist_id_key")
        );
        assert_eq!(constraint_name("CHECK constraint failed: sessions_time_order"), Some("sessions_time_order"));
        assert_eq!(constraint_name("FOREIGN KEY constraint failed"), None);
    }
}
