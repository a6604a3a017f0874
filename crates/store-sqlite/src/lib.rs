//! CareNest on embedded SQLite: the dialect of the one store (`carenest-store-sql`) and the
//! migrations. Lists and JSON are JSON text (bound as JSON and matched with `json_each`),
//! timestamps UTC text in one format that sorts, and every write transaction begins with
//! `BEGIN IMMEDIATE`: SQLite has one writer, so it takes the write lock at once and the
//! store needs no row locks.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use carenest_domain::{StoreError, StoreResult};
use carenest_store_sql::dialect::{migration_pool, migrations_up_to, run};
use carenest_store_sql::pool::ConnectionPool;
use carenest_store_sql::{broken_rule, known_constraint, Arg, Dialect, PoolSettings, RuleKind, Sql, SqlStore};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteQueryResult, SqliteRow,
    SqliteSynchronous,
};
use sqlx::types::Json;
use sqlx::{ConnectOptions, Row, Sqlite};

type SqlitePool = ConnectionPool<Sqlite>;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a caller waits for a connection: every connection may be queued behind the one
/// writer, each for up to the statement timeout.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The SQLite dialect.
pub struct Lite;

/// The store on SQLite.
pub type SqliteStore = SqlStore<Lite>;

/// The one text format of every timestamp: sorts correctly, and holds microseconds like
/// PostgreSQL's `timestamptz`.
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).expect("a list of ids, dates or strings always serialises")
}

fn bind<'q>(query: Query<'q, Sqlite, SqliteArguments<'q>>, arg: Arg<'q>) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    match arg {
        Arg::Int(value) => query.bind(value),
        Arg::Bool(value) => query.bind(value),
        Arg::Text(value) => query.bind(value),
        Arg::Bytes(value) => query.bind(value),
        Arg::Date(value) => query.bind(value),
        Arg::Time(value) => query.bind(value),
        Arg::Timestamp(value) => query.bind(value.map(timestamp)),
        Arg::Json(value) => query.bind(Json(value)),
        Arg::Texts(values) => query.bind(json_list(&values)),
        Arg::Ints(values) => query.bind(json_list(&values)),
        Arg::Dates(values) => query.bind(json_list(&values)),
    }
}

fn affected(result: &SqliteQueryResult) -> u64 {
    result.rows_affected()
}

fn options(url: &str, busy_timeout: Duration) -> StoreResult<SqliteConnectOptions> {
    SqliteConnectOptions::from_str(url)
        .map(|options| {
            options
                .create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(busy_timeout)
                // Timings, and slow statements, are the store's to report (without the
                // statement text); sqlx's own slow-statement warning is off, and its log of every
                // statement (formatting its whole text) is only for `RUST_LOG=sqlx::query=debug`.
                .log_statements(tracing::log::LevelFilter::Debug)
                .log_slow_statements(tracing::log::LevelFilter::Off, Duration::MAX)
        })
        .map_err(|error| StoreError::Unavailable(format!("invalid SQLite URL: {error}").into()))
}

/// The constraint a failure names. SQLite names a failed CHECK by its constraint, a failed
/// expression index by the index, and other unique indexes by their columns (`table.a,
/// table.b`), which our naming convention turns back into the index name (`table_a_b_key`).
/// A failed foreign key or NOT NULL names none.
pub fn constraint_name(message: &str) -> Option<String> {
    let detail = message.split_once("constraint failed: ")?.1;
    if let Some(index) = detail.strip_prefix("index '") {
        return Some(index.trim_end_matches('\'').to_owned());
    }
    if message.starts_with("NOT NULL") {
        return None;
    }
    if !detail.contains('.') {
        return Some(detail.to_owned());
    }
    let mut columns = detail.split(", ").filter_map(|c| c.split_once('.'));
    let (table, first) = columns.next()?;
    let mut name = format!("{table}_{first}");
    for (_, column) in columns {
        name.push('_');
        name.push_str(column);
    }
    name.push_str("_key");
    Some(name)
}

/// The rule that refused a statement: a constraint or index, or the name a trigger raises
/// (SQLITE_CONSTRAINT_TRIGGER carries the trigger's message alone).
pub fn refusing_rule(code: Option<&str>, message: &str) -> Option<String> {
    match code {
        Some("1811") => Some(message.to_owned()),
        _ => constraint_name(message),
    }
}

impl Dialect for Lite {
    type Db = Sqlite;
    type Row = SqliteRow;

    const NAME: &'static str = "sqlite";
    const ONE_WRITER: bool = true;
    const IN_PROCESS: bool = true;
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    // Under WAL, a deferred transaction's reads share one snapshot.
    const BEGIN_SNAPSHOT: &'static str = "BEGIN";
    const FOR_UPDATE: &'static str = "";
    const FOR_SHARE: &'static str = "";
    // A write transaction holds the whole database: claimers take turns.
    const SKIP_LOCKED: &'static str = "";
    const DEFAULT_ACQUIRE_TIMEOUT: Duration = ACQUIRE_TIMEOUT;
    const FORCE_DROP: bool = false;

    // Binding a `$n` parameter looks it up by name among the statement's parameters, so a
    // statement's cost grows with the square of its values: small statements are faster.
    const BULK_INSERT_VALUES: usize = 500;

    fn reset_identity(_table: &str) -> Option<String> {
        None
    }

    fn for_update_of(_alias: &str) -> String {
        String::new()
    }

    fn in_list(column: &str, param: usize) -> String {
        format!("{column} IN (SELECT value FROM json_each(${param}))")
    }

    fn not_in_list(column: &str, param: usize) -> String {
        format!("{column} NOT IN (SELECT value FROM json_each(${param}))")
    }

    fn list_table(param: usize, alias: &str) -> String {
        format!("(SELECT value, key + 1 AS position FROM json_each(${param})) AS {alias}")
    }

    fn session_therapists_json() -> Option<&'static str> {
        Some(
            "(SELECT json_group_array(json_array(t.id, t.name)) FROM session_therapists st
              JOIN therapists t ON t.id = st.therapist_id WHERE st.session_id = s.id)",
        )
    }

    fn matches_ci(column: &str, param: usize) -> String {
        format!("lower({column}) LIKE lower(${param}) ESCAPE '\\'")
    }

    fn table_exists(table: &str) -> String {
        format!("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{table}') AS present")
    }

    fn explain(sql: &str) -> String {
        format!("EXPLAIN QUERY PLAN {sql}")
    }

    fn plan_line(row: &SqliteRow) -> StoreResult<String> {
        row.try_get("detail").map_err(StoreError::other)
    }

    fn list(row: &SqliteRow, column: &str) -> StoreResult<Vec<String>> {
        row.try_get::<Json<Vec<String>>, _>(column).map(|list| list.0).map_err(StoreError::other)
    }

    fn json(row: &SqliteRow, column: &str) -> StoreResult<Value> {
        row.try_get::<Json<Value>, _>(column).map(|value| value.0).map_err(StoreError::other)
    }

    /// By SQLite's extended result codes.
    fn map_error(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) => {
                let code = db.code();
                let constraint = refusing_rule(code.as_deref(), db.message()).and_then(|name| known_constraint(&name));
                match code.as_deref() {
                    // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
                    Some("2067" | "1555") => broken_rule(RuleKind::Unique, constraint),
                    // SQLITE_CONSTRAINT_CHECK, SQLITE_CONSTRAINT_TRIGGER
                    Some("275" | "1811") => broken_rule(RuleKind::Check, constraint),
                    Some("787") => broken_rule(RuleKind::ForeignKey, None),
                    // SQLITE_BUSY and SQLITE_LOCKED with their extended codes
                    Some(code) if matches!(code.parse::<i32>().map(|c| c & 0xff), Ok(5 | 6)) => {
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

    fn fetch_all<'a>(
        conn: &'a mut SqliteConnection,
        sql: Sql<'a>,
    ) -> impl Future<Output = Result<Vec<SqliteRow>, sqlx::Error>> + Send + 'a {
        run::fetch_all::<Sqlite>(conn, sql, bind)
    }

    fn fetch_optional<'a>(
        conn: &'a mut SqliteConnection,
        sql: Sql<'a>,
    ) -> impl Future<Output = Result<Option<SqliteRow>, sqlx::Error>> + Send + 'a {
        run::fetch_optional::<Sqlite>(conn, sql, bind)
    }

    fn execute<'a>(
        conn: &'a mut SqliteConnection,
        sql: Sql<'a>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a {
        run::execute::<Sqlite>(conn, sql, bind, affected)
    }

    async fn replanned_statements(_pool: &SqlitePool) -> StoreResult<Vec<(String, i64)>> {
        Ok(Vec::new())
    }

    async fn idle_in_transaction(pool: &SqlitePool) -> StoreResult<usize> {
        // Every idle connection at once, each asked whether it can begin: SQLite refuses a
        // BEGIN inside a transaction.
        let mut held = pool.hold_idle().await.map_err(Self::map_error)?;
        let mut inside = 0;
        for link in &mut held {
            let conn = link.raw();
            match run::execute::<Sqlite>(conn, Sql::new("BEGIN"), bind, affected).await {
                Ok(_) => {
                    run::execute::<Sqlite>(conn, Sql::new("ROLLBACK"), bind, affected)
                        .await
                        .map_err(Self::map_error)?;
                }
                Err(sqlx::Error::Database(db)) if db.message().contains("within a transaction") => inside += 1,
                Err(other) => return Err(Self::map_error(other)),
            }
        }
        Ok(inside)
    }

    async fn connect(url: &str, settings: PoolSettings) -> StoreResult<SqlitePool> {
        let options = options(url, settings.statement_timeout)?;
        settings.open(options, Self::DEFAULT_ACQUIRE_TIMEOUT).await.map_err(Self::map_error)
    }

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    async fn run_migrations(pool: &SqlitePool, up_to: Option<i64>) -> StoreResult<()> {
        let migrating = migration_pool::<Sqlite>(pool.connect_options().clone()).await.map_err(Self::map_error)?;
        let outcome = migrations_up_to(&MIGRATOR, up_to).run(&migrating).await.map_err(StoreError::other);
        migrating.close().await;
        outcome
    }

    async fn undo_migrations(pool: &SqlitePool, target: i64) -> StoreResult<()> {
        let migrating = migration_pool::<Sqlite>(pool.connect_options().clone()).await.map_err(Self::map_error)?;
        let outcome = MIGRATOR.undo(&migrating, target).await.map_err(StoreError::other);
        migrating.close().await;
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::constraint_name;

    #[test]
    fn sqlite_messages_map_back_to_constraint_names() {
        let name = |message| constraint_name(message);
        assert_eq!(name("UNIQUE constraint failed: index 'users_username_key'").as_deref(), Some("users_username_key"));
        assert_eq!(
            name("UNIQUE constraint failed: parent_profiles.user_id").as_deref(),
            Some("parent_profiles_user_id_key")
        );
        assert_eq!(
            name("UNIQUE constraint failed: session_therapists.session_id, session_therapists.therapist_id").as_deref(),
            Some("session_therapists_session_id_therapist_id_key")
        );
        assert_eq!(name("CHECK constraint failed: sessions_time_order").as_deref(), Some("sessions_time_order"));
        assert_eq!(name("FOREIGN KEY constraint failed"), None);
        assert_eq!(name("NOT NULL constraint failed: users.username"), None);
    }
}
