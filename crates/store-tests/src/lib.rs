//! The per-test database harness and the macro that runs one test body on both backends.
//!
//! Every test owns its database: a fresh SQLite file in a temporary folder, or a fresh
//! PostgreSQL database created on the server `DATABASE_URL` names (else the local one) and
//! dropped afterwards. Without a reachable PostgreSQL the PostgreSQL half says it is skipped,
//! unless `CARENEST_REQUIRE_POSTGRES=1`, which makes that a failure.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use carenest_domain::time::Clock;
use carenest_domain::Store;
use carenest_store::{Handle, Inspect, StoreOptions};
use chrono::{DateTime, Utc};
use rand::Rng;
use sqlx::{Connection, PgConnection};

pub use carenest_domain;

const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

enum Kind {
    Sqlite { _folder: tempfile::TempDir },
    Postgres { server: String, name: String },
}

/// A clock that follows the system's and that tests move on instead of sleeping, so that
/// "later" is certain rather than likely.
#[derive(Debug, Default)]
pub struct TestClock {
    ahead: Mutex<chrono::Duration>,
}

impl TestClock {
    pub fn advance(&self, by: chrono::Duration) {
        *self.ahead.lock().expect("the clock's lock is never poisoned") += by;
    }

    /// Moves the clock so that it reads `at` now (and runs on from there).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.ahead.lock().expect("the clock's lock is never poisoned") = at - carenest_domain::time::now();
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        carenest_domain::time::now() + *self.ahead.lock().expect("the clock's lock is never poisoned")
    }
}

/// A database owned by one test, migrated, with a store connected to it.
pub struct TestDb {
    kind: Kind,
    url: String,
    handle: Handle,
    clock: Arc<TestClock>,
}

async fn open(url: &str, clock: Arc<TestClock>) -> Handle {
    carenest_store::open(url, StoreOptions { clock, ..StoreOptions::default() }).await.expect("the test database opens")
}

fn postgres_server() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => url,
        _ => LOCAL_POSTGRES.to_owned(),
    }
}

fn postgres_required() -> bool {
    std::env::var("CARENEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v == "true")
}

fn with_database(server: &str, name: &str) -> String {
    let mut url = url_without_query(server);
    if let Some(slash) = url.rfind('/').filter(|&i| i > "postgres://".len()) {
        url.truncate(slash);
    }
    let query = server.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    format!("{url}/{name}{query}")
}

fn url_without_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

impl TestDb {
    /// A fresh, migrated SQLite database.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let clock = Arc::new(TestClock::default());
        let handle = open(&url, clock.clone()).await;
        handle.store.migrate().await.expect("migrations apply on SQLite");
        Self { kind: Kind::Sqlite { _folder: dir }, url, handle, clock }
    }

    /// A fresh, migrated PostgreSQL database, or `None` (after saying so) when no server is
    /// reachable and none is required.
    pub async fn postgres() -> Option<Self> {
        let server = postgres_server();
        let connected = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&server)).await;
        let mut admin = match connected {
            Ok(Ok(connection)) => connection,
            failure => {
                let reason = match failure {
                    Ok(Err(error)) => error.to_string(),
                    _ => "timed out".to_owned(),
                };
                if postgres_required() {
                    panic!(
                        "CARENEST_REQUIRE_POSTGRES is set but PostgreSQL at {} is unreachable: {reason}",
                        carenest_store::redact(&server)
                    );
                }
                eprintln!(
                    "skipped: PostgreSQL half of this test (no server at {}: {reason})",
                    carenest_store::redact(&server)
                );
                return None;
            }
        };
        let name = format!("carenest_test_{:016x}", rand::thread_rng().gen::<u64>());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("a test database can be created");
        admin.close().await.ok();
        let url = with_database(&server, &name);
        let clock = Arc::new(TestClock::default());
        let handle = open(&url, clock.clone()).await;
        handle.store.migrate().await.expect("migrations apply on PostgreSQL");
        Some(Self { kind: Kind::Postgres { server, name }, url, handle, clock })
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.handle.store.clone()
    }

    /// Plans and statement counts of this test's store.
    pub fn inspect(&self) -> Arc<dyn Inspect> {
        self.handle.inspect.clone()
    }

    /// The clock of this test's stores.
    pub fn clock(&self) -> Arc<TestClock> {
        self.clock.clone()
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> &'static str {
        self.handle.store.backend_name()
    }

    /// Another, independent connection pool on the same database, as a second server
    /// process would have.
    pub async fn second_store(&self) -> Arc<dyn Store> {
        open(&self.url, self.clock.clone()).await.store
    }

    /// How many pooled connections stay inside a transaction once every connection returned
    /// and every dropped transaction rolled back, which happens in tasks of their own and on a
    /// busy machine can take a while. A leaked transaction does not end by itself: nothing uses
    /// its connection while this looks.
    pub async fn connections_left_in_a_transaction(&self) -> usize {
        let mut inside = 0;
        for _ in 0..100 {
            inside = self.inspect().idle_connections_in_transaction().await.expect("the probe runs");
            if inside == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        inside
    }

    /// Another store on the same database, with a pool of its own settings.
    pub async fn store_with(&self, pool: carenest_store::PoolSettings) -> Arc<dyn Store> {
        self.store_opened(StoreOptions { pool, ..StoreOptions::default() }).await
    }

    /// Another store on the same database, planning reminders with `policy`.
    pub async fn store_reminding(&self, policy: carenest_domain::reminders::ReminderPolicy) -> Arc<dyn Store> {
        self.store_opened(StoreOptions { reminders: policy, ..StoreOptions::default() }).await
    }

    /// Another store on the same database, built with `options` and the test's clock.
    pub async fn store_opened(&self, options: StoreOptions) -> Arc<dyn Store> {
        let options = StoreOptions { clock: self.clock.clone(), ..options };
        carenest_store::open(&self.url, options).await.expect("the test database opens").store
    }

    /// A raw connection for tests that check the schema itself.
    pub async fn raw(&self) -> Raw {
        match &self.kind {
            Kind::Sqlite { .. } => Raw::Sqlite(
                sqlx::SqliteConnection::connect(&format!("{}?mode=rw", self.url)).await.expect("raw SQLite"),
            ),
            Kind::Postgres { .. } => Raw::Postgres(PgConnection::connect(&self.url).await.expect("raw PostgreSQL")),
        }
    }
}

/// A plain connection to a test database.
pub enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(PgConnection),
}

/// Why the database refused a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The constraint the database names. SQLite names none for a foreign key or NOT NULL.
    pub constraint: Option<String>,
    pub message: String,
}

fn refusal(error: sqlx::Error, constraint: impl Fn(&dyn sqlx::error::DatabaseError) -> Option<String>) -> Refusal {
    match &error {
        sqlx::Error::Database(db) => Refusal { constraint: constraint(db.as_ref()), message: db.message().to_owned() },
        other => panic!("not a refusal by the database: {other}"),
    }
}

impl Raw {
    /// Runs a statement; `Err` says what the database refused it for.
    pub async fn execute(&mut self, sql: &str) -> Result<(), Refusal> {
        match self {
            Raw::Sqlite(connection) => {
                sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *connection).await.expect("foreign keys turn on");
                sqlx::raw_sql(sql).execute(connection).await.map(drop).map_err(|e| {
                    refusal(e, |db| carenest_store_sqlite::refusing_rule(db.code().as_deref(), db.message()))
                })
            }
            Raw::Postgres(connection) => sqlx::raw_sql(sql)
                .execute(connection)
                .await
                .map(drop)
                .map_err(|e| refusal(e, |db| db.constraint().map(str::to_owned))),
        }
    }

    /// The first column of the first row, as text.
    pub async fn text(&mut self, sql: &str) -> Option<String> {
        match self {
            Raw::Sqlite(connection) => sqlx::query_scalar(sql).fetch_optional(connection).await.expect("query runs"),
            Raw::Postgres(connection) => sqlx::query_scalar(sql).fetch_optional(connection).await.expect("query runs"),
        }
    }

    /// The names of the tables and indexes in the schema, sorted (without the tools' own).
    pub async fn schema_objects(&mut self) -> Vec<String> {
        let rows: Vec<String> = match self {
            Raw::Sqlite(connection) => sqlx::query_scalar(
                "SELECT type || ' ' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY 1",
            )
            .fetch_all(connection)
            .await
            .expect("schema query"),
            Raw::Postgres(connection) => sqlx::query_scalar(
                "SELECT CASE c.relkind WHEN 'r' THEN 'table' ELSE 'index' END || ' ' || c.relname FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') AND c.relname NOT LIKE '_sqlx_migrations%'
                   AND c.relname NOT LIKE '%_pkey' ORDER BY 1",
            )
            .fetch_all(connection)
            .await
            .expect("schema query"),
        };
        rows
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Kind::Postgres { server, name } = &self.kind {
            let (server, name) = (server.clone(), name.clone());
            // Drop runs outside async; a short-lived runtime on its own thread drops the database.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                runtime.block_on(async move {
                    if let Ok(mut admin) = PgConnection::connect(&server).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .await;
                        admin.close().await.ok();
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// The `(field, code)` of every error of a result that must be `Invalid`.
pub fn invalid<T: std::fmt::Debug>(result: carenest_domain::StoreResult<T>) -> Vec<(String, &'static str)> {
    match result {
        Err(carenest_domain::StoreError::Invalid(errors)) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

/// The rule a result that must be a `Conflict` broke.
pub fn conflict<T: std::fmt::Debug>(result: carenest_domain::StoreResult<T>) -> &'static str {
    match result {
        Err(carenest_domain::StoreError::Conflict { constraint, .. }) => constraint,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

/// Generates one `#[tokio::test]` per backend for each named `async fn(&TestDb)`, in modules
/// `sqlite` and `postgres`, so a test's name reads the same on both.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::TestDb::sqlite().await;
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn a_test_database_url_keeps_the_server_and_its_parameters() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "t2"), "postgres://u:p@h/t2?sslmode=disable");
        assert_eq!(with_database("postgres://u@h", "t3"), "postgres://u@h/t3");
    }
}

/// Small builders shared by the contract suite and the HTTP tests.
pub mod fixtures {
    use carenest_domain::accounts::{NewUser, Role, User};
    use carenest_domain::family::{ExperienceLevel, NewParentProfile, ParentProfile, StressLevel};
    use carenest_domain::ids::TherapistId;
    use carenest_domain::scheduling::{NewSession, SessionStatus};
    use carenest_domain::Store;

    /// Practice staff making changes in store tests; audit rows need someone.
    pub const STAFF: carenest_domain::audit::Actor =
        carenest_domain::audit::Actor { user: carenest_domain::ids::UserId(1_000_000), role: Role::Admin };

    /// A syntactically valid Argon2id PHC string; store tests never verify it.
    pub const FAKE_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo";

    pub async fn user(store: &dyn Store, username: &str, role: Role) -> User {
        store
            .create_user(NewUser {
                username: username.to_owned(),
                email: format!("{username}@example.org"),
                password_hash: FAKE_HASH.to_owned(),
                profile_picture: None,
                role,
                first_token: None,
            })
            .await
            .expect("the user is created")
    }

    /// A time of day.
    pub fn at(h: u32, m: u32) -> chrono::NaiveTime {
        chrono::NaiveTime::from_hms_opt(h, m, 0).expect("a valid time of day")
    }

    /// A single scheduled session without a child, inside working hours' rules.
    pub fn booking(
        date: chrono::NaiveDate,
        start: chrono::NaiveTime,
        end: chrono::NaiveTime,
        therapists: &[TherapistId],
    ) -> NewSession {
        NewSession {
            date,
            start_time: start,
            end_time: end,
            notes: None,
            status: SessionStatus::Scheduled,
            therapist_ids: therapists.to_vec(),
            child_profile_id: None,
            repeat: None,
            outside_working_hours: false,
        }
    }

    pub async fn therapist(store: &dyn Store, name: &str) -> TherapistId {
        store.create_therapist(name.to_owned(), None).await.expect("the therapist is created").id
    }

    /// A parent with a profile.
    pub async fn parent(store: &dyn Store, username: &str) -> (User, ParentProfile) {
        let user = user(store, username, Role::Parent).await;
        let profile = store
            .create_parent_profile(
                user.id,
                NewParentProfile::new(username, StressLevel::Moderate, ExperienceLevel::FirstTime),
            )
            .await
            .expect("the profile is created");
        (user, profile)
    }
}

/// A database URL for a database that does not exist yet, for testing the commands that create
/// and drop databases. Whatever it names is removed when this is dropped.
pub struct ScratchDatabase {
    pub url: String,
    kind: Kind,
}

impl ScratchDatabase {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}", dir.path().join("scratch.db").display());
        Self { url, kind: Kind::Sqlite { _folder: dir } }
    }

    /// `None` (after saying so) when no PostgreSQL server is reachable and none is required.
    pub async fn postgres() -> Option<Self> {
        let server = postgres_server();
        let reachable = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&server)).await;
        match reachable {
            Ok(Ok(connection)) => {
                connection.close().await.ok();
            }
            _ if postgres_required() => panic!("CARENEST_REQUIRE_POSTGRES is set but PostgreSQL is unreachable"),
            _ => {
                eprintln!("skipped: PostgreSQL half of this test (no server at {})", carenest_store::redact(&server));
                return None;
            }
        }
        let name = format!("carenest_scratch_{:016x}", rand::thread_rng().gen::<u64>());
        Some(Self { url: with_database(&server, &name), kind: Kind::Postgres { server, name } })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Kind::Postgres { server, name } = &self.kind {
            drop_postgres_database(server.clone(), name.clone());
        }
    }
}

/// Drop runs outside async; a short-lived runtime on its own thread drops the database.
fn drop_postgres_database(server: String, name: String) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async move {
            if let Ok(mut admin) = PgConnection::connect(&server).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
                admin.close().await.ok();
            }
        });
    })
    .join()
    .ok();
}
