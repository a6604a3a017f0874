//! What differs between the backends, and nothing else: how arguments are bound, the few SQL
//! fragments whose spelling differs (lists, row locks, case-insensitive search, EXPLAIN), how
//! lists and JSON columns read, how errors map, how a pool connects and how migrations are kept.

use std::borrow::Cow;
use std::future::Future;
use std::time::Duration;

use carenest_domain::ids::{ChildId, GoalId, ParentProfileId, SessionId, TemplateId, TherapistId, UserId};
use carenest_domain::{StoreError, StoreResult};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::{Connection, Database};

use crate::pool::ConnectionPool;
use crate::rows::Columns;

/// The migrations of `migrator` up to `version`, for bringing a database to an older schema.
/// (sqlx's `Migrator` fields are public for its macro; the lock file pins the version.)
pub fn migrations_up_to(migrator: &Migrator, version: Option<i64>) -> Migrator {
    let migrations = migrator.migrations.iter().filter(|m| version.is_none_or(|v| m.version <= v)).cloned().collect();
    Migrator {
        migrations: std::borrow::Cow::Owned(migrations),
        ignore_missing: migrator.ignore_missing,
        locking: migrator.locking,
        no_tx: migrator.no_tx,
    }
}

/// A pool of one connection for migrations, which sqlx runs on a pool of its own (on a plain
/// connection the compiler cannot prove their futures `Send`).
pub async fn migration_pool<DB: Database>(
    options: <DB::Connection as Connection>::Options,
) -> Result<sqlx::Pool<DB>, sqlx::Error> {
    sqlx::pool::PoolOptions::new().max_connections(1).connect_with(options).await
}

/// The driver lost the connection under a statement (its socket, TLS, the protocol, or the
/// thread a SQLite connection runs on), whatever the backend.
pub fn transport_failed(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed)
}

/// A database connection of a dialect.
pub type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

/// How a pool is sized and how long callers wait for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// `None`: the dialect's own default (SQLite waits as long as its busy timeout, since a
    /// connection there may be queued behind the one writer).
    pub acquire_timeout: Option<Duration>,
    /// Longest a statement may hold a connection. PostgreSQL cancels any statement that runs
    /// longer (`statement_timeout`); on SQLite, where statements run in-process and the one
    /// thing they wait for is the write lock, it bounds that wait (`busy_timeout`).
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 10, acquire_timeout: None, statement_timeout: Duration::from_secs(30) }
    }
}

impl PoolSettings {
    /// Opens the pool both dialects use (see `crate::pool`) over connections opened with
    /// `options`, and its first connection, so that a database that does not answer is
    /// reported here.
    pub async fn open<DB: Database>(
        &self,
        options: <DB::Connection as Connection>::Options,
        default_acquire_timeout: Duration,
    ) -> Result<ConnectionPool<DB>, sqlx::Error> {
        let timeout = self.acquire_timeout.unwrap_or(default_acquire_timeout);
        let pool = ConnectionPool::new(options, self.max_connections, timeout);
        drop(pool.acquire().await?);
        Ok(pool)
    }
}

/// One bound value. The store speaks only these kinds; each dialect says how it binds them
/// (PostgreSQL has arrays, `jsonb` and `timestamptz`; SQLite takes JSON text and ISO text).
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Int(Option<i64>),
    Bool(Option<bool>),
    Text(Option<&'a str>),
    Bytes(Option<&'a [u8]>),
    Date(Option<NaiveDate>),
    Time(Option<NaiveTime>),
    Timestamp(Option<DateTime<Utc>>),
    Json(&'a Value),
    /// A list of strings, for `= ANY` / `json_each` and array columns.
    Texts(Cow<'a, [String]>),
    Ints(Vec<i64>),
    Dates(Vec<NaiveDate>),
}

macro_rules! arg_from {
    ($($type:ty => |$value:ident| $arg:expr),* $(,)?) => {$(
        impl<'a> From<$type> for Arg<'a> {
            fn from($value: $type) -> Self {
                $arg
            }
        }
    )*};
}

arg_from!(
    i64 => |v| Arg::Int(Some(v)),
    Option<i64> => |v| Arg::Int(v),
    i32 => |v| Arg::Int(Some(i64::from(v))),
    Option<i32> => |v| Arg::Int(v.map(i64::from)),
    bool => |v| Arg::Bool(Some(v)),
    Option<bool> => |v| Arg::Bool(v),
    &'a str => |v| Arg::Text(Some(v)),
    &'a String => |v| Arg::Text(Some(v.as_str())),
    Option<&'a str> => |v| Arg::Text(v),
    &'a Option<String> => |v| Arg::Text(v.as_deref()),
    &'a [u8] => |v| Arg::Bytes(Some(v)),
    Option<&'a [u8]> => |v| Arg::Bytes(v),
    NaiveDate => |v| Arg::Date(Some(v)),
    Option<NaiveDate> => |v| Arg::Date(v),
    NaiveTime => |v| Arg::Time(Some(v)),
    Option<NaiveTime> => |v| Arg::Time(v),
    DateTime<Utc> => |v| Arg::Timestamp(Some(v)),
    Option<DateTime<Utc>> => |v| Arg::Timestamp(v),
    &'a Value => |v| Arg::Json(v),
    &'a [String] => |v| Arg::Texts(Cow::Borrowed(v)),
    &'a Vec<String> => |v| Arg::Texts(Cow::Borrowed(v.as_slice())),
    Vec<String> => |v| Arg::Texts(Cow::Owned(v)),
    Vec<i64> => |v| Arg::Ints(v),
    Vec<NaiveDate> => |v| Arg::Dates(v),
);

macro_rules! id_args {
    ($($id:ty),*) => {$(
        arg_from!($id => |v| Arg::Int(Some(v.0)), Option<$id> => |v| Arg::Int(v.map(|id| id.0)));
    )*};
}

id_args!(UserId, ParentProfileId, ChildId, GoalId, TemplateId, TherapistId, SessionId);

/// A statement and its arguments. Placeholders are `$1`, `$2`, ...: sqlx binds them by number
/// on SQLite too, so one text serves both backends.
#[derive(Debug, Clone)]
pub struct Sql<'a> {
    pub text: String,
    pub args: Vec<Arg<'a>>,
    /// Whether the connection keeps the prepared statement for the next run of the same text.
    pub cached: bool,
}

impl<'a> Sql<'a> {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), args: Vec::new(), cached: true }
    }

    /// A statement whose text is unlikely to come again (a bulk insert of so many rows): not
    /// kept prepared, so it neither fills the statement caches nor costs a separate prepare.
    pub fn uncached(mut self) -> Self {
        self.cached = false;
        self
    }

    /// Adds the next argument, for a text that names its placeholders itself.
    pub fn arg(mut self, value: impl Into<Arg<'a>>) -> Self {
        self.args.push(value.into());
        self
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// The statement's kind, the label its timings are kept under: its first word.
    pub fn kind(&self) -> &'static str {
        statement_kind(&self.text)
    }

    /// Appends a placeholder for `value`.
    pub fn push_arg(&mut self, value: impl Into<Arg<'a>>) -> &mut Self {
        self.args.push(value.into());
        let placeholder = format!("${}", self.args.len());
        self.text.push_str(&placeholder);
        self
    }
}

/// A statement's first word, lowercased, for the ones worth a label of their own.
pub fn statement_kind(text: &str) -> &'static str {
    let first = text.split_whitespace().next().unwrap_or_default();
    ["select", "insert", "update", "delete", "with", "begin", "commit"]
        .into_iter()
        .find(|kind| first.eq_ignore_ascii_case(kind))
        .unwrap_or("other")
}

/// A backend. Implemented by `carenest-store-postgres` and `carenest-store-sqlite`; the store
/// itself ([`crate::SqlStore`]) is written once against this.
pub trait Dialect: Send + Sync + Sized + 'static {
    type Db: Database;
    /// The backend's row; scalar columns read alike everywhere.
    type Row: Columns + Send + Sync + 'static;

    const NAME: &'static str;
    /// The database lets one writer in at a time (SQLite): the store's own writers then take
    /// turns in the process, in order, rather than polling the database's lock.
    const ONE_WRITER: bool;
    /// The database runs inside the process (SQLite): a statement costs a hand-off to its
    /// connection's thread rather than a network round trip, and decoding a wide row of mostly
    /// NULLs costs more than another narrow statement. A nested read is then several narrow
    /// statements on one snapshot instead of one `UNION ALL` (`GET /me`: measured both ways).
    const IN_PROCESS: bool;
    /// Begins a transaction that writes, in one round trip. SQLite takes the write lock at once,
    /// so a read-then-write never fails to upgrade and writers queue on the busy timeout;
    /// PostgreSQL plans a write's statements once per connection (see its dialect).
    const BEGIN_WRITE: &'static str;
    /// Begins a read-only transaction whose statements all see one snapshot.
    const BEGIN_SNAPSHOT: &'static str;
    /// Appended to a `SELECT` to lock its rows until the transaction ends; empty where the
    /// write transaction already holds the whole database.
    const FOR_UPDATE: &'static str;
    const FOR_SHARE: &'static str;
    /// Ends a subquery that picks rows to claim: rows another transaction has locked are
    /// passed over, not waited for. Empty where writers take turns anyway.
    const SKIP_LOCKED: &'static str;
    const DEFAULT_ACQUIRE_TIMEOUT: Duration;
    /// Whether dropping the database also ends other connections to it.
    const FORCE_DROP: bool;

    /// Locks only the rows of `alias` in a join.
    fn for_update_of(alias: &str) -> String;
    /// `column` is one of the list bound at `$param`.
    fn in_list(column: &str, param: usize) -> String;
    fn not_in_list(column: &str, param: usize) -> String;
    /// The list bound at `$param` as a table `alias` with the columns `value` and `position`
    /// (1, 2, ...), for joins and multi-row inserts.
    fn list_table(param: usize, alias: &str) -> String;
    /// `column` contains the `LIKE` pattern bound at `$param`, in any case.
    fn matches_ci(column: &str, param: usize) -> String;
    /// How a page of sessions brings its therapists: `None` joins them, a row per therapist;
    /// `Some` is an expression of the session `s` giving all of them as one JSON array of
    /// `[id, name]` pairs, a row per session. PostgreSQL joins (its `json_agg` per session ran
    /// at a fifth of the join's speed in pgbench); SQLite aggregates, since each value it hands
    /// over is copied on its way out: a busy day's 285 joined rows of 13 values became 200
    /// rows of 12, 8% fewer instructions a request (BENCHMARKS.md).
    fn session_therapists_json() -> Option<&'static str>;
    /// Whether a table exists, as a statement with one boolean column `present`.
    fn table_exists(table: &str) -> String;
    /// The statement that shows the plan of `sql`, and how a plan line reads.
    fn explain(sql: &str) -> String;
    fn plan_line(row: &Self::Row) -> StoreResult<String>;

    fn list(row: &Self::Row, column: &str) -> StoreResult<Vec<String>>;
    fn json(row: &Self::Row, column: &str) -> StoreResult<Value>;

    /// A driver error as the domain's: named constraints become conflicts or invalid input,
    /// connection trouble `Unavailable`, the rest `Other`.
    fn map_error(error: sqlx::Error) -> StoreError;

    /// Whether an error means the connection itself is gone, so that the pool closes it
    /// rather than hand it out again.
    fn connection_lost(error: &sqlx::Error) -> bool {
        transport_failed(error)
    }

    fn fetch_all<'a>(
        conn: &'a mut Conn<Self>,
        sql: Sql<'a>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'a;
    fn fetch_optional<'a>(
        conn: &'a mut Conn<Self>,
        sql: Sql<'a>,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'a;
    /// Runs a statement; the number of rows it changed.
    fn execute<'a>(
        conn: &'a mut Conn<Self>,
        sql: Sql<'a>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a;

    /// How many of the pool's idle connections are inside a transaction on the server's side
    /// (a check for tests).
    fn idle_in_transaction(pool: &ConnectionPool<Self::Db>) -> impl Future<Output = StoreResult<usize>> + Send;

    /// The statements prepared on the pool's idle connections that the database planned again
    /// for some execution's own arguments, with how many times (a check for tests). SQLite
    /// compiles a statement once, when it is prepared, so it has none.
    fn replanned_statements(
        pool: &ConnectionPool<Self::Db>,
    ) -> impl Future<Output = StoreResult<Vec<(String, i64)>>> + Send;

    /// Opens a pool and checks that the database answers.
    fn connect(url: &str, settings: PoolSettings)
        -> impl Future<Output = StoreResult<ConnectionPool<Self::Db>>> + Send;
    fn migrator() -> &'static Migrator;
    /// Applies pending migrations, all of them or those up to `up_to`.
    fn run_migrations(
        pool: &ConnectionPool<Self::Db>,
        up_to: Option<i64>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A statement after a restore that moves `table`'s id generator past its largest id, if
    /// the backend keeps one apart from the table.
    fn reset_identity(table: &str) -> Option<String>;
    /// Bound values per multi-row insert: as many as pay off, under the limit.
    const BULK_INSERT_VALUES: usize;

    /// Writes rows into `table` in bulk (a restore, generated data), ids as given: `values`
    /// holds the rows one after another, one value for each of `columns`; the rows written.
    ///
    /// By default, multi-row `INSERT`s of `BULK_INSERT_VALUES` values each, for a backend whose
    /// id columns take the ids given (SQLite's `INTEGER PRIMARY KEY` is the rowid, and new rows
    /// go past the largest by themselves).
    fn bulk_insert<'a>(
        conn: &'a mut Conn<Self>,
        table: &'a str,
        columns: &'a [&'a str],
        values: Vec<Arg<'a>>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a {
        async move {
            let width = columns.len().max(1);
            let per_statement = (Self::BULK_INSERT_VALUES / width).max(1) * width;
            let mut written = 0;
            let mut values = values.into_iter().peekable();
            while values.peek().is_some() {
                let mut sql = Sql::new(format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "))).uncached();
                for (index, value) in values.by_ref().take(per_statement).enumerate() {
                    sql.push(match (index % width, index) {
                        (0, 0) => "(",
                        (0, _) => "), (",
                        _ => ", ",
                    });
                    sql.push_arg(value);
                }
                sql.push(")");
                written += Self::execute(conn, sql).await?;
            }
            Ok(written)
        }
    }

    fn undo_migrations(pool: &ConnectionPool<Self::Db>, target: i64) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The shared body of every dialect's `fetch_all`, `fetch_optional` and `execute`: build the
/// query, bind each argument the dialect's way, run it.
pub mod run {
    use sqlx::database::HasStatementCache;
    use sqlx::query::Query;
    use sqlx::{Database, Executor, IntoArguments};

    use super::{Arg, Sql};

    /// How a dialect binds one argument.
    pub type Binder<DB> = for<'q> fn(
        Query<'q, DB, <DB as Database>::Arguments<'q>>,
        Arg<'q>,
    ) -> Query<'q, DB, <DB as Database>::Arguments<'q>>;

    fn build<'q, DB: Database + HasStatementCache>(
        text: &'q str,
        args: Vec<Arg<'q>>,
        cached: bool,
        bind: Binder<DB>,
    ) -> Query<'q, DB, DB::Arguments<'q>> {
        args.into_iter().fold(sqlx::query::<DB>(text), bind).persistent(cached)
    }

    pub async fn fetch_all<DB>(
        conn: &mut DB::Connection,
        sql: Sql<'_>,
        bind: Binder<DB>,
    ) -> Result<Vec<DB::Row>, sqlx::Error>
    where
        DB: Database + HasStatementCache,
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    {
        let Sql { text, args, cached } = sql;
        build(&text, args, cached, bind).fetch_all(conn).await
    }

    pub async fn fetch_optional<DB>(
        conn: &mut DB::Connection,
        sql: Sql<'_>,
        bind: Binder<DB>,
    ) -> Result<Option<DB::Row>, sqlx::Error>
    where
        DB: Database + HasStatementCache,
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    {
        let Sql { text, args, cached } = sql;
        build(&text, args, cached, bind).fetch_optional(conn).await
    }

    /// `affected` reads the number of changed rows from the backend's own result type.
    pub async fn execute<DB>(
        conn: &mut DB::Connection,
        sql: Sql<'_>,
        bind: Binder<DB>,
        affected: fn(&DB::QueryResult) -> u64,
    ) -> Result<u64, sqlx::Error>
    where
        DB: Database + HasStatementCache,
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    {
        let Sql { text, args, cached } = sql;
        let result = build(&text, args, cached, bind).execute(conn).await?;
        Ok(affected(&result))
    }
}
