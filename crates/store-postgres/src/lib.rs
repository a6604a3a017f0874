//! CareNest on PostgreSQL: the dialect of the one store (`carenest-store-sql`) and the
//! migrations. Arrays, `jsonb` and `timestamptz` are native; lists are bound as arrays and
//! matched with `= ANY`; row locks are `FOR UPDATE`, taken in id order by the store.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use carenest_domain::{StoreError, StoreResult};
use carenest_store_sql::dialect::run;
use carenest_store_sql::dialect::{migration_pool, migrations_up_to, transport_failed};
use carenest_store_sql::pool::ConnectionPool;
use carenest_store_sql::{broken_rule, known_constraint, Arg, Dialect, PoolSettings, RuleKind, Sql, SqlStore};
use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgQueryResult, PgRow};
use sqlx::query::Query;
use sqlx::{ConnectOptions, Connection, Postgres, Row};

mod copy;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The PostgreSQL dialect.
pub struct Pg;

/// The store on PostgreSQL.
pub type PgStore = SqlStore<Pg>;

fn bind<'q>(query: Query<'q, Postgres, PgArguments>, arg: Arg<'q>) -> Query<'q, Postgres, PgArguments> {
    match arg {
        Arg::Int(value) => query.bind(value),
        Arg::Bool(value) => query.bind(value),
        Arg::Text(value) => query.bind(value),
        Arg::Bytes(value) => query.bind(value),
        Arg::Date(value) => query.bind(value),
        Arg::Time(value) => query.bind(value),
        Arg::Timestamp(value) => query.bind(value),
        Arg::Json(value) => query.bind(sqlx::types::Json(value)),
        Arg::Texts(values) => query.bind(values.into_owned()),
        Arg::Ints(values) => query.bind(values),
        Arg::Dates(values) => query.bind(values),
    }
}

fn affected(result: &PgQueryResult) -> u64 {
    result.rows_affected()
}

fn options(url: &str) -> StoreResult<PgConnectOptions> {
    PgConnectOptions::from_str(url)
        .map(|options| {
            // Statement timings, and the slow ones, are the store's to report, without statement
            // text; sqlx's own slow-statement warning is off, and its log of every statement
            // (formatting its whole text) is only for `RUST_LOG=sqlx::query=debug`.
            options
                .application_name("carenest")
                .log_statements(tracing::log::LevelFilter::Debug)
                .log_slow_statements(tracing::log::LevelFilter::Off, Duration::MAX)
        })
        .map_err(|error| StoreError::Unavailable(format!("invalid PostgreSQL URL: {error}").into()))
}

type PgPool = ConnectionPool<Postgres>;

/// A pool of one connection on which statements may run as long as they need: a migration that
/// builds an index on a big table must not be cancelled by the limit meant for requests.
async fn without_statement_timeout(pool: &PgPool) -> StoreResult<sqlx::PgPool> {
    let options = pool.connect_options().clone().options([("statement_timeout", "0")]);
    migration_pool(options).await.map_err(Pg::map_error)
}

impl Dialect for Pg {
    type Db = Postgres;
    type Row = PgRow;

    const NAME: &'static str = "postgres";
    const ONE_WRITER: bool = false;
    const IN_PROCESS: bool = false;
    // A prepared statement whose list argument (`= ANY($1)`) usually holds one id never gets
    // its generic plan on its own: the planner prices that plan for a list of ten and keeps
    // planning every execution for its actual arguments, and a booking's calendar (a `UNION
    // ALL` of four reads) was replanned at every booking, most of the database's time for it.
    // A write's statements are keyed by the ids it names, so their one generic plan serves
    // every execution. Reads keep PostgreSQL's own choice, per statement.
    const BEGIN_WRITE: &'static str = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan";
    const BEGIN_SNAPSHOT: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const FOR_SHARE: &'static str = " FOR SHARE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
    // Other sessions on the database are ended, as `DROP DATABASE ... WITH (FORCE)` does.
    const FORCE_DROP: bool = true;

    // Under the protocol's limit of 65,535; a round trip per statement is what costs.
    const BULK_INSERT_VALUES: usize = 30_000;

    fn reset_identity(table: &str) -> Option<String> {
        Some(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
        ))
    }

    fn for_update_of(alias: &str) -> String {
        format!(" FOR UPDATE OF {alias}")
    }

    fn in_list(column: &str, param: usize) -> String {
        format!("{column} = ANY(${param})")
    }

    fn not_in_list(column: &str, param: usize) -> String {
        format!("NOT ({column} = ANY(${param}))")
    }

    fn list_table(param: usize, alias: &str) -> String {
        format!("unnest(${param}) WITH ORDINALITY AS {alias}(value, position)")
    }

    fn session_therapists_json() -> Option<&'static str> {
        None
    }

    fn matches_ci(column: &str, param: usize) -> String {
        format!("{column} ILIKE ${param}")
    }

    fn table_exists(table: &str) -> String {
        format!("SELECT to_regclass('{table}') IS NOT NULL AS present")
    }

    fn explain(sql: &str) -> String {
        format!("EXPLAIN {sql}")
    }

    fn plan_line(row: &PgRow) -> StoreResult<String> {
        row.try_get(0).map_err(StoreError::other)
    }

    fn list(row: &PgRow, column: &str) -> StoreResult<Vec<String>> {
        row.try_get(column).map_err(StoreError::other)
    }

    fn json(row: &PgRow, column: &str) -> StoreResult<Value> {
        row.try_get(column).map_err(StoreError::other)
    }

    /// Besides a broken socket: the server ended the session (admin shutdown, a crash) or
    /// refuses it.
    fn connection_lost(error: &sqlx::Error) -> bool {
        match error {
            sqlx::Error::Database(db) => {
                db.code().is_some_and(|code| code.starts_with("57P") || code.starts_with("08"))
            }
            other => transport_failed(other),
        }
    }

    fn map_error(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) => {
                let constraint = db.constraint().and_then(known_constraint);
                match db.code().as_deref() {
                    Some("23505") => broken_rule(RuleKind::Unique, constraint),
                    // A check, or an exclusion such as the working-hours overlap trigger's.
                    Some("23514" | "23P01") => broken_rule(RuleKind::Check, constraint),
                    // Invalid datetime format, datetime field overflow, a NUL character (which
                    // PostgreSQL's text can't hold; input checks refuse it first, this is the
                    // net under them): a value, not a fault.
                    Some("22007" | "22008" | "22021" | "22P05" | "54000") => broken_rule(RuleKind::Check, None),
                    Some("23503") => broken_rule(RuleKind::ForeignKey, constraint),
                    // Admin shutdown, cannot connect now, too many connections, statement timeout.
                    Some(code)
                        if code.starts_with("57P") || code.starts_with("08") || matches!(code, "53300" | "57014") =>
                    {
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

    fn fetch_all<'a>(
        conn: &'a mut PgConnection,
        sql: Sql<'a>,
    ) -> impl Future<Output = Result<Vec<PgRow>, sqlx::Error>> + Send + 'a {
        run::fetch_all::<Postgres>(conn, sql, bind)
    }

    fn fetch_optional<'a>(
        conn: &'a mut PgConnection,
        sql: Sql<'a>,
    ) -> impl Future<Output = Result<Option<PgRow>, sqlx::Error>> + Send + 'a {
        run::fetch_optional::<Postgres>(conn, sql, bind)
    }

    fn execute<'a>(
        conn: &'a mut PgConnection,
        sql: Sql<'a>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a {
        run::execute::<Postgres>(conn, sql, bind, affected)
    }

    fn bulk_insert<'a>(
        conn: &'a mut PgConnection,
        table: &'a str,
        columns: &'a [&'a str],
        values: Vec<Arg<'a>>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a {
        // COPY writes the ids given into identity columns, as `OVERRIDING SYSTEM VALUE` would.
        copy::copy_in(conn, table, columns, values)
    }

    async fn idle_in_transaction(pool: &PgPool) -> StoreResult<usize> {
        // The server's view of every session on this database, asked from a connection outside
        // the pool: a pooled one might be the very connection in question.
        let sql = Sql::new(
            "SELECT count(*) AS inside FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'",
        );
        let mut conn = pool.connect_options().connect().await.map_err(Self::map_error)?;
        let row = run::fetch_optional::<Postgres>(&mut conn, sql, bind).await.map_err(Self::map_error)?;
        conn.close().await.map_err(Self::map_error)?;
        let inside: i64 = row.ok_or(StoreError::NotFound)?.try_get("inside").map_err(StoreError::other)?;
        Ok(usize::try_from(inside).unwrap_or_default())
    }

    async fn replanned_statements(pool: &PgPool) -> StoreResult<Vec<(String, i64)>> {
        // Prepared statements belong to their connection: every idle one is asked.
        let mut held = pool.hold_idle().await.map_err(Self::map_error)?;
        let sql = "SELECT statement, custom_plans FROM pg_prepared_statements WHERE custom_plans > 0";
        let mut replanned = Vec::new();
        for link in &mut held {
            let rows = run::fetch_all::<Postgres>(link.raw(), Sql::new(sql), bind).await.map_err(Self::map_error)?;
            for row in rows {
                let statement: String = row.try_get("statement").map_err(StoreError::other)?;
                replanned.push((statement, row.try_get("custom_plans").map_err(StoreError::other)?));
            }
        }
        Ok(replanned)
    }

    async fn connect(url: &str, settings: PoolSettings) -> StoreResult<PgPool> {
        let limit = format!("{}ms", settings.statement_timeout.as_millis().max(1));
        let options = options(url)?.options([("statement_timeout", limit)]);
        settings.open(options, Self::DEFAULT_ACQUIRE_TIMEOUT).await.map_err(Self::map_error)
    }

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    async fn run_migrations(pool: &PgPool, up_to: Option<i64>) -> StoreResult<()> {
        let unlimited = without_statement_timeout(pool).await?;
        let outcome = migrations_up_to(&MIGRATOR, up_to).run(&unlimited).await.map_err(StoreError::other);
        unlimited.close().await;
        outcome
    }

    async fn undo_migrations(pool: &PgPool, target: i64) -> StoreResult<()> {
        let unlimited = without_statement_timeout(pool).await?;
        let outcome = MIGRATOR.undo(&unlimited, target).await.map_err(StoreError::other);
        unlimited.close().await;
        outcome
    }
}
