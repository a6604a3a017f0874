//! The one CareNest store: every store trait implemented once, generic over a [`Dialect`].
//!
//! Transaction bodies, the order of their steps, the audit writes, the row mapping and the
//! mapping of errors by constraint name live here. A dialect (`carenest-store-postgres`,
//! `carenest-store-sqlite`) holds only what must differ: argument binding, a few SQL
//! fragments, list and JSON columns, driver error codes, connecting and migrations.

mod accounts;
mod audit;
mod availability;
mod backup;
pub mod dialect;
mod family;
mod feeds;
mod ops;
pub mod pool;
mod read_log;
mod reminders;
pub mod rows;
mod scheduling;
mod suggestions;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use carenest_domain::ids::TherapistId;
use carenest_domain::page::PageRequest;
use carenest_domain::reminders::ReminderPolicy;
use carenest_domain::scheduling::{SessionFilter, SessionKey, SessionScope};
use carenest_domain::suggestions::{Embedder, HashedNgrams};
use carenest_domain::time::{Clock, SystemClock};
use carenest_domain::{StoreError, StoreResult};
use chrono::NaiveDate;
use sqlx::migrate::MigrateDatabase;
use sqlx::{Connection, Database, TransactionManager};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use dialect::{Arg, Conn, Dialect, PoolSettings, Sql};
use pool::{ConnectionPool, Pooled};

/// A pooled connection of a dialect, as the store's statements take it.
pub(crate) type Link<D> = pool::Link<<D as Dialect>::Db>;

/// What a store is built with besides its database.
#[derive(Clone)]
pub struct StoreOptions {
    pub pool: PoolSettings,
    /// Where the store's timestamps (`createdAt`, `updatedAt`, audit times) come from; tests
    /// move it on instead of sleeping.
    pub clock: Arc<dyn Clock>,
    /// Turns families into the embeddings suggestions compare.
    pub embedder: Arc<dyn Embedder>,
    /// When families are reminded of sessions: the outbox is planned with it.
    pub reminders: ReminderPolicy,
    /// A statement that takes this long or longer is logged and counted as slow.
    pub slow_statement: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            pool: PoolSettings::default(),
            clock: Arc::new(SystemClock),
            embedder: Arc::new(HashedNgrams),
            reminders: ReminderPolicy::default(),
            slow_statement: Duration::from_millis(100),
        }
    }
}

/// The store over one dialect.
pub struct SqlStore<D: Dialect> {
    pool: ConnectionPool<D::Db>,
    clock: Arc<dyn Clock>,
    embedder: Arc<dyn Embedder>,
    reminders: ReminderPolicy,
    slow_statement: Duration,
    /// Round trips sent (statements, and the `BEGIN` and `COMMIT` of transactions).
    statements: AtomicU64,
    /// Connections taken from the pool.
    checkouts: AtomicU64,
    /// Set when the database could not be reached, cleared by the next connection that can.
    unreachable: AtomicBool,
    last_probe: std::sync::Mutex<Option<Instant>>,
    /// The writers' turn, where the database has one writer at a time (see `Dialect::ONE_WRITER`).
    write_turn: Option<Arc<Mutex<()>>>,
    /// Staff reads waiting for their audit rows to be written together.
    read_log: read_log::ReadLog,
}

/// A transaction; one that writes holds the writers' turn until it ends. Dropped before its
/// `COMMIT` (an error, a cancelled request), it rolls back, and its connection and turn are
/// free again once the rollback has answered: a connection must not wait in the pool inside a
/// transaction, holding its locks (on SQLite, the write lock) until someone takes it again.
pub(crate) struct Tx<D: Dialect> {
    /// Until the transaction ends.
    link: Option<Pooled<D::Db>>,
    turn: Option<OwnedMutexGuard<()>>,
}

impl<D: Dialect> std::ops::Deref for Tx<D> {
    type Target = Link<D>;

    fn deref(&self) -> &Self::Target {
        self.link.as_ref().expect("a transaction holds its connection until it ends")
    }
}

impl<D: Dialect> std::ops::DerefMut for Tx<D> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.link.as_mut().expect("a transaction holds its connection until it ends")
    }
}

impl<D: Dialect> Drop for Tx<D> {
    fn drop(&mut self) {
        let Some(mut link) = self.link.take() else { return };
        <D::Db as Database>::TransactionManager::start_rollback(link.raw());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Nothing to finish the rollback on: closing the connection ends the transaction on
            // the database's side.
            drop(Pooled::take(link));
            return;
        };
        let turn = self.turn.take();
        runtime.spawn(async move {
            // The ping sends the queued ROLLBACK and waits for its answer.
            if link.raw().ping().await.is_err() {
                drop(Pooled::take(link));
            }
            drop(turn);
        });
    }
}

/// Counts a caller in `db_pool_waiting` while it waits for a connection.
struct Waiting;

impl Waiting {
    fn new() -> Self {
        metrics::gauge!("db_pool_waiting").increment(1.0);
        Self
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        metrics::gauge!("db_pool_waiting").decrement(1.0);
    }
}

/// Records how long a statement of `kind` took (`db_query_duration_seconds`), and logs and
/// counts it when it took `slow` or longer. Timed here rather than from sqlx's statement log,
/// which formats each statement's whole text into a new string to report it; no text is kept.
fn record_statement(kind: &'static str, started: Instant, slow: Duration) {
    let elapsed = started.elapsed();
    if elapsed >= slow {
        let milliseconds = elapsed.as_millis();
        tracing::warn!(target: "carenest::slow_statement", statement = kind, milliseconds, "slow statement");
        metrics::counter!("db_slow_statements_total", "statement" => kind).increment(1);
    }
    metrics::histogram!("db_query_duration_seconds", "statement" => kind).record(elapsed.as_secs_f64());
}

/// How long a caller waits for a connection while the database is known to be unreachable:
/// long enough for a database that is back to answer, short enough that requests fail fast.
const UNREACHABLE_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(500);
/// A wait for a connection longer than this, with room in the pool, asks whether the
/// database is there at all.
const PROBE_AFTER: Duration = Duration::from_millis(250);
const OUTAGE_CHECK_INTERVAL: Duration = Duration::from_millis(50);

impl<D: Dialect> SqlStore<D> {
    /// Connects and checks that the database answers, so a bad URL, host or password is
    /// reported here rather than on the first request.
    pub async fn connect(url: &str, options: StoreOptions) -> StoreResult<Self> {
        let pool = D::connect(url, options.pool).await?;
        Ok(Self {
            pool,
            clock: options.clock,
            embedder: options.embedder,
            reminders: options.reminders,
            slow_statement: options.slow_statement,
            statements: AtomicU64::new(0),
            checkouts: AtomicU64::new(0),
            unreachable: AtomicBool::new(false),
            last_probe: std::sync::Mutex::new(None),
            write_turn: D::ONE_WRITER.then(|| Arc::new(Mutex::new(()))),
            read_log: read_log::ReadLog::new(D::ONE_WRITER),
        })
    }

    pub fn pool(&self) -> &ConnectionPool<D::Db> {
        &self.pool
    }

    fn sent(&self) {
        self.statements.fetch_add(1, Ordering::Relaxed);
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    fn timed(&self, kind: &'static str, started: Instant) {
        record_statement(kind, started, self.slow_statement);
    }

    /// A transaction that writes.
    async fn write(&self) -> StoreResult<Tx<D>> {
        self.begin(D::BEGIN_WRITE, self.write_turn.clone()).await
    }

    /// A read-only transaction on one snapshot.
    async fn snapshot(&self) -> StoreResult<Tx<D>> {
        self.begin(D::BEGIN_SNAPSHOT, None).await
    }

    /// Begins a transaction, its isolation in the `BEGIN` itself, after taking `turn`. The
    /// `BEGIN` runs in a task of its own, to the end, whatever happens to the caller: sqlx
    /// counts a transaction as open only once its `BEGIN` has answered, so a request dropped
    /// while the `BEGIN` was on the wire used to return its connection to the pool inside a
    /// transaction nobody rolled back, and the next requests on it ran inside that transaction.
    /// Once begun, a dropped transaction rolls back before its connection is reused (`Tx`).
    ///
    /// The connection comes before the turn: a writer holding the turn never waits for a
    /// connection that someone waiting for the turn holds.
    async fn begin(&self, statement: &'static str, turn: Option<Arc<Mutex<()>>>) -> StoreResult<Tx<D>> {
        self.sent();
        let (pool, slow) = (self.pool.clone(), self.slow_statement);
        let begun = tokio::spawn(async move {
            let mut link = pool.acquire().await?;
            let turn = match turn {
                Some(turn) => Some(turn.lock_owned().await),
                None => None,
            };
            let started = Instant::now();
            let begun = <D::Db as Database>::TransactionManager::begin(link.raw(), Some(statement.into())).await;
            record_statement("begin", started, slow);
            match begun {
                Ok(()) => Ok(Tx { link: Some(link), turn }),
                Err(error) => {
                    if D::connection_lost(&error) {
                        link.lose();
                    }
                    Err(error)
                }
            }
        });
        self.reach(async move { begun.await.unwrap_or(Err(sqlx::Error::WorkerCrashed)) }).await
    }

    /// Runs one statement that writes, on its own, in the writers' turn (see `begin`).
    async fn write_on(&self, conn: &mut Link<D>, sql: Sql<'_>) -> StoreResult<u64> {
        let _turn = self.take_turn().await;
        self.execute(conn, sql).await
    }

    /// The writers' turn, where writers take turns.
    async fn take_turn(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.write_turn {
            Some(turn) => Some(turn.clone().lock_owned().await),
            None => None,
        }
    }

    /// Waits for a connection (or a transaction on one). A wait that drags on while the pool
    /// has room to connect asks the database directly whether it is there (sqlx itself keeps
    /// retrying a refused connection until its acquire timeout). Once the database is known to
    /// be unreachable, callers give up after a moment, so requests answer 503 at once during
    /// an outage; the first connection that works again ends that.
    async fn reach<T>(&self, connecting: impl Future<Output = Result<T, sqlx::Error>>) -> StoreResult<T> {
        let started = Instant::now();
        let _waiting = Waiting::new();
        let mut connecting = std::pin::pin!(connecting);
        let outcome = loop {
            match tokio::time::timeout(OUTAGE_CHECK_INTERVAL, &mut connecting).await {
                Ok(outcome) => break outcome,
                Err(_) if self.unreachable.load(Ordering::Relaxed) => {
                    if started.elapsed() >= UNREACHABLE_ACQUIRE_TIMEOUT {
                        break Err(sqlx::Error::PoolTimedOut);
                    }
                }
                Err(_) if started.elapsed() >= PROBE_AFTER && !self.saturated() => self.probe().await,
                Err(_) => {}
            }
        };
        metrics::histogram!("db_pool_acquire_wait_seconds").record(started.elapsed().as_secs_f64());
        match outcome {
            Ok(connected) => {
                self.checkouts.fetch_add(1, Ordering::Relaxed);
                self.unreachable.store(false, Ordering::Relaxed);
                Ok(connected)
            }
            Err(error) => Err(self.failed(error)),
        }
    }

    /// Every connection the pool may open is open: waiting is load, not an outage.
    fn saturated(&self) -> bool {
        self.pool.size() >= self.pool.max_connections()
    }

    /// Opens a connection of its own to see whether the database is there; at most one probe
    /// runs per interval, however many callers wait.
    async fn probe(&self) {
        {
            let mut last = self.last_probe.lock().expect("the probe lock is never poisoned");
            if last.is_some_and(|at| at.elapsed() < PROBE_AFTER) {
                return;
            }
            *last = Some(Instant::now());
        }
        let options = self.pool.connect_options();
        let attempt = tokio::time::timeout(UNREACHABLE_ACQUIRE_TIMEOUT, sqlx::ConnectOptions::connect(options)).await;
        let reachable = match attempt {
            Ok(Ok(connection)) => {
                let _ = sqlx::Connection::close(connection).await;
                true
            }
            // The server answered, if only to say no (too many connections, a bad password).
            Ok(Err(sqlx::Error::Database(_))) => true,
            _ => false,
        };
        if !reachable {
            tracing::warn!(backend = D::NAME, "the database is unreachable; answering 503 until it is back");
        }
        self.unreachable.store(!reachable, Ordering::Relaxed);
    }

    /// A statement's error as the domain's; a connection that broke is not reused.
    fn failed_on(&self, conn: &mut Link<D>, error: sqlx::Error) -> StoreError {
        if D::connection_lost(&error) {
            conn.lose();
        }
        self.failed(error)
    }

    /// A driver error as the domain's, noting an outage when it is one.
    fn failed(&self, error: sqlx::Error) -> StoreError {
        // A full pool timing out is load, not an outage.
        let saturated = matches!(error, sqlx::Error::PoolTimedOut) && self.saturated();
        let error = D::map_error(error);
        if matches!(error, StoreError::Unavailable(_)) && !saturated {
            self.unreachable.store(true, Ordering::Relaxed);
        }
        error
    }

    /// Commits; a transaction whose `COMMIT` fails rolls back as it drops.
    async fn commit(&self, mut tx: Tx<D>) -> StoreResult<()> {
        self.sent();
        let started = Instant::now();
        let committed = <D::Db as Database>::TransactionManager::commit(tx.raw()).await;
        self.timed("commit", started);
        match committed {
            Ok(()) => {
                tx.link.take();
                Ok(())
            }
            Err(error) => Err(self.failed_on(&mut tx, error)),
        }
    }

    async fn connection(&self) -> StoreResult<Pooled<D::Db>> {
        self.reach(self.pool.acquire()).await
    }

    async fn all(&self, conn: &mut Link<D>, sql: Sql<'_>) -> StoreResult<Vec<D::Row>> {
        self.sent();
        let (kind, started) = (sql.kind(), Instant::now());
        let outcome = D::fetch_all(conn.raw(), sql).await;
        self.timed(kind, started);
        outcome.map_err(|e| self.failed_on(conn, e))
    }

    async fn optional(&self, conn: &mut Link<D>, sql: Sql<'_>) -> StoreResult<Option<D::Row>> {
        self.sent();
        let (kind, started) = (sql.kind(), Instant::now());
        let outcome = D::fetch_optional(conn.raw(), sql).await;
        self.timed(kind, started);
        outcome.map_err(|e| self.failed_on(conn, e))
    }

    /// The one row a statement must find; `NotFound` without it.
    async fn one(&self, conn: &mut Link<D>, sql: Sql<'_>) -> StoreResult<D::Row> {
        self.optional(conn, sql).await?.ok_or(StoreError::NotFound)
    }

    async fn execute(&self, conn: &mut Link<D>, sql: Sql<'_>) -> StoreResult<u64> {
        self.sent();
        let (kind, started) = (sql.kind(), Instant::now());
        let outcome = D::execute(conn.raw(), sql).await;
        self.timed(kind, started);
        outcome.map_err(|e| self.failed_on(conn, e))
    }

    /// `all`, `one`, `optional` and `execute` on a connection of their own.
    async fn read_all(&self, sql: Sql<'_>) -> StoreResult<Vec<D::Row>> {
        self.all(&mut *self.connection().await?, sql).await
    }

    async fn read_one(&self, sql: Sql<'_>) -> StoreResult<D::Row> {
        self.one(&mut *self.connection().await?, sql).await
    }

    async fn read_optional(&self, sql: Sql<'_>) -> StoreResult<Option<D::Row>> {
        self.optional(&mut *self.connection().await?, sql).await
    }

    /// One statement that writes, on its own.
    async fn run(&self, sql: Sql<'_>) -> StoreResult<u64> {
        self.write_on(&mut *self.connection().await?, sql).await
    }
}

/// Creates the database a URL names; false when it already exists.
pub async fn create_database<D: Dialect>(url: &str) -> StoreResult<bool>
where
    D::Db: MigrateDatabase,
{
    if D::Db::database_exists(url).await.map_err(D::map_error)? {
        return Ok(false);
    }
    D::Db::create_database(url).await.map_err(D::map_error)?;
    Ok(true)
}

/// Drops the database a URL names; false when it did not exist.
pub async fn drop_database<D: Dialect>(url: &str) -> StoreResult<bool>
where
    D::Db: MigrateDatabase,
{
    if !D::Db::database_exists(url).await.map_err(D::map_error)? {
        return Ok(false);
    }
    if D::FORCE_DROP {
        D::Db::force_drop_database(url).await.map_err(D::map_error)?;
    } else {
        D::Db::drop_database(url).await.map_err(D::map_error)?;
    }
    Ok(true)
}

/// What tests and the benchmark look into, beside the store traits: the plans of the hot
/// statements, and how many round trips the store has made.
#[async_trait]
pub trait Inspect: Send + Sync {
    /// The database's plan for `sessions()` with these arguments, a line per plan node.
    async fn explain_sessions(
        &self,
        scope: SessionScope,
        filter: SessionFilter,
        page: PageRequest<SessionKey>,
    ) -> StoreResult<Vec<String>>;
    /// Likewise for the read of the therapists' sessions that every booking's check runs.
    async fn explain_booking_check(&self, therapists: &[TherapistId], dates: &[NaiveDate]) -> StoreResult<Vec<String>>;
    /// Likewise for the read of the therapists' sessions over a range that availability runs.
    async fn explain_availability(
        &self,
        therapists: &[TherapistId],
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<String>>;
    /// Round trips so far: statements, and the `BEGIN` and `COMMIT` of transactions.
    fn statements(&self) -> u64;
    /// Connections taken from the pool so far (a transaction's included).
    fn checkouts(&self) -> u64;
    /// How many of the pool's idle connections are inside a transaction on the server's side:
    /// a connection handed out like that would run the next request inside someone else's
    /// transaction. Takes every idle connection at once to look.
    async fn idle_connections_in_transaction(&self) -> StoreResult<usize>;
    /// The statements prepared on the pool's idle connections that the database planned anew
    /// for some execution's own arguments instead of reusing one plan, with how many times.
    async fn replanned_statements(&self) -> StoreResult<Vec<(String, i64)>>;
}

/// Every named constraint or index the stores map errors by. Both backends' migrations use
/// these names, so one lookup serves both.
pub const CONSTRAINTS: &[&str] = &[
    "users_username_key",
    "users_email_key",
    "users_role_check",
    "auth_tokens_token_hash_key",
    "login_throttles_throttle_key_key",
    "parent_profiles_user_id_key",
    "parent_profiles_stress_level_check",
    "parent_profiles_experience_level_check",
    "child_profiles_age_check",
    "parenting_goals_status_check",
    "parenting_goals_progress_check",
    "therapists_user_id_key",
    "sessions_time_order",
    "sessions_status_check",
    "sessions_notes_length",
    "session_therapists_session_id_therapist_id_key",
    "seeders_name_key",
    "working_hours_no_overlap",
    "working_hours_weekday_check",
    "working_hours_time_order",
    "time_off_date_order",
    "time_off_times_together",
    "time_off_time_order",
    "time_off_part_day_is_one_day",
    "time_off_reason_length",
    "closures_date_order",
    "closures_name_not_blank",
    "calendar_feeds_one_owner",
    "calendar_feeds_secret_hash_key",
    "calendar_feeds_therapist_id_key",
    "calendar_feeds_user_id_key",
];

/// The static name of a known constraint.
pub fn known_constraint(name: &str) -> Option<&'static str> {
    CONSTRAINTS.iter().copied().find(|known| *known == name)
}

/// How a broken rule found by the database reads as a domain error: a uniqueness rule is a
/// conflict, any other rule invalid input, named where the constraint is known. Shared by the
/// dialects, which only say which rule broke.
pub fn broken_rule(kind: RuleKind, constraint: Option<&'static str>) -> StoreError {
    match (kind, constraint) {
        (RuleKind::Unique, Some(name)) => StoreError::conflict(name, "already exists"),
        (RuleKind::Unique, None) => StoreError::conflict("unique", "already exists"),
        (RuleKind::Check, Some(name)) => StoreError::invalid(name, "constraint", format!("violates {name}")),
        (RuleKind::Check, None) => StoreError::invalid("body", "constraint", "a value breaks a rule of the data model"),
        (RuleKind::ForeignKey, _) => {
            StoreError::invalid("reference", "unknown_reference", "refers to a record that does not exist")
        }
    }
}

/// The kinds of rule a database enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Unique,
    Check,
    ForeignKey,
}
