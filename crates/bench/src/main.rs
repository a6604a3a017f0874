//! `cargo run --release -p carenest-bench -- scheduling` loads a practice with many sessions
//! into a scratch PostgreSQL database, prints the plans of the hot statements, and times them
//! through the real store at a small and at the full size. Speed is measured here, never in
//! the test suite.

mod backups;
mod suggestions;

use std::process::Command;
use std::time::{Duration, Instant};

use carenest_domain::ids::TherapistId;
use carenest_domain::page::PageRequest;
use carenest_domain::scheduling::{NewSession, SessionFilter, SessionScope, SessionStatus};
use carenest_domain::time::Clock;
use carenest_domain::Store;
use chrono::{NaiveDate, NaiveTime};
use clap::{Parser, Subcommand};
use rand::Rng;
use sqlx::{Connection, PgConnection};

#[derive(Parser)]
#[command(about = "CareNest benchmarks (PostgreSQL)")]
struct Cli {
    /// A PostgreSQL server; a scratch database is created on it and dropped afterwards.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    database_url: String,
    #[command(subcommand)]
    command: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// Therapist weeks, practice days and bookings against a large sessions table.
    Scheduling {
        /// Sessions in the full table.
        #[arg(long, default_value_t = 500_000)]
        sessions: i64,
        /// Sessions at the small size the full size is compared with (at least 100 days' worth,
        /// so that a 90-day availability question reads as many sessions at both sizes).
        #[arg(long, default_value_t = 70_000)]
        small: i64,
        #[arg(long, default_value_t = 200)]
        therapists: i64,
        /// Timed repetitions of each operation at each size.
        #[arg(long, default_value_t = 300)]
        iterations: usize,
        /// Keep the scratch database.
        #[arg(long)]
        keep: bool,
    },
    /// `carenest db backup` and `db restore` of a large database (PostgreSQL to a file, and the
    /// file back into PostgreSQL and SQLite).
    Backup {
        /// Generated sessions; each comes with 1.2 therapist links on average.
        #[arg(long, default_value_t = 460_000)]
        sessions: i64,
        #[arg(long)]
        keep: bool,
    },
    /// `GET /suggestions` through the real router, with many generated families.
    Suggestions {
        #[arg(long, default_value_t = 10_000)]
        families: usize,
        /// Timed requests.
        #[arg(long, default_value_t = 500)]
        iterations: usize,
        /// Keep the scratch database.
        #[arg(long)]
        keep: bool,
    },
}

/// Generated sessions a day. The practice is equally busy every day, so the small and the
/// full table differ only in how many days they hold, and a week or a day holds the same rows
/// in both: what changes between the two runs is the table's size alone.
const PER_DAY: i64 = 685;

/// Who books in the benchmark; its sessions have no child, so nothing is audited.
const BENCH_STAFF: carenest_domain::audit::Actor = carenest_domain::audit::Actor {
    user: carenest_domain::ids::UserId(0),
    role: carenest_domain::accounts::Role::Admin,
};

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date")
}

pub(crate) fn database_named(server: &str, name: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(prefix, _)| prefix);
    match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Adds `count` generated sessions after the `generated` ones, filling days in order from
/// 2026-01-01 in 20 half-hour slots; each has one therapist, every fifth a second, and every
/// 17th is cancelled.
async fn grow(connection: &mut PgConnection, generated: i64, count: i64, therapists: i64) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let before: i64 =
        sqlx::query_scalar("SELECT COALESCE(max(id), 0) FROM sessions").fetch_one(&mut *connection).await?;
    sqlx::query(
        "INSERT INTO sessions (date, start_time, end_time, status)
         SELECT DATE '2026-01-01' + (g / $3)::int, TIME '08:00' + (g % 20) * INTERVAL '30 minutes',
                TIME '08:30' + (g % 20) * INTERVAL '30 minutes', CASE WHEN g % 17 = 0 THEN 'cancelled' ELSE 'scheduled' END
         FROM generate_series($1::bigint, $2::bigint) g",
    )
    .bind(generated)
    .bind(generated + count - 1)
    .bind(PER_DAY)
    .execute(&mut *connection)
    .await?;
    sqlx::query(
        "INSERT INTO session_therapists (session_id, therapist_id, date)
         SELECT s.id, 1 + (s.id * 7919) % $2, s.date FROM sessions s WHERE s.id > $1
         UNION ALL
         SELECT s.id, 1 + (s.id * 7919 + 1) % $2, s.date FROM sessions s WHERE s.id > $1 AND s.id % 5 = 0",
    )
    .bind(before)
    .bind(therapists)
    .execute(&mut *connection)
    .await?;
    // Settle the load before timing: vacuum sets hint bits and the visibility map, and a
    // checkpoint writes the dirty pages, so neither happens in the middle of a timed run.
    sqlx::query("VACUUM (ANALYZE) sessions, session_therapists").execute(&mut *connection).await?;
    if let Err(error) = sqlx::query("CHECKPOINT").execute(&mut *connection).await {
        println!("  (no CHECKPOINT: {error})");
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&mut *connection).await?;
    println!("  {count} sessions added in {:.1} s; {total} in all", started.elapsed().as_secs_f64());
    Ok(())
}

pub(crate) struct Timing {
    pub(crate) p50: Duration,
    pub(crate) p95: Duration,
}

impl Timing {
    pub(crate) fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        Self { p50: samples[samples.len() / 2], p95: samples[samples.len() * 95 / 100] }
    }
}

pub(crate) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Times the operations on the days both sizes hold in full.
struct Workload {
    therapists: i64,
    busy_days: i64,
    bookings: i64,
    /// The whole HTTP application, for the availability question, and an admin's token.
    router: axum::Router,
    token: String,
}

/// A clock that stands on the first generated day, so that the generated days lie ahead and
/// availability has slots to find.
struct FirstDay;

impl Clock for FirstDay {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        first_day().and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
    }
}

/// The application on the benchmark's store, and a token of an admin to ask it with.
async fn availability_router(store: std::sync::Arc<dyn Store>) -> Result<(axum::Router, String), String> {
    let admin = store
        .create_user(carenest_domain::accounts::NewUser {
            username: "bench.admin".into(),
            email: "bench.admin@example.org".into(),
            password_hash: carenest_app::passwords::hash_password_now("bench-admin").map_err(|_| "hashing failed")?,
            profile_picture: None,
            role: carenest_domain::accounts::Role::Admin,
            first_token: None,
        })
        .await
        .map_err(|e| e.to_string())?;
    let (token, hash) = carenest_app::passwords::new_token();
    store
        .insert_token(admin.id, &hash, FirstDay.now() + chrono::Duration::days(3650))
        .await
        .map_err(|e| e.to_string())?;
    let app =
        carenest_app::App::new(store, carenest_app::Settings::default()).with_clock(std::sync::Arc::new(FirstDay));
    Ok((carenest_server::app(carenest_server::AppState { app, http: Default::default() }), token))
}

impl Workload {
    fn busy_day(&self, rng: &mut impl Rng) -> NaiveDate {
        first_day() + chrono::Duration::days(rng.gen_range(0..self.busy_days - 7))
    }

    /// A one-minute evening slot after the generated day ends, different for every booking:
    /// always free, and on the same busy days at both sizes.
    fn next_booking(&mut self) -> NewSession {
        self.bookings += 1;
        let slot = NaiveTime::from_hms_opt(19, 0, 0).expect("a valid time")
            + chrono::Duration::minutes(self.bookings / self.busy_days);
        NewSession {
            date: first_day() + chrono::Duration::days(self.bookings % self.busy_days),
            start_time: slot,
            end_time: slot + chrono::Duration::minutes(1),
            notes: None,
            status: SessionStatus::Scheduled,
            therapist_ids: vec![TherapistId(1 + self.bookings % self.therapists)],
            child_profile_id: None,
            repeat: None,
            // The evening slots lie outside the generated working hours on purpose.
            outside_working_hours: true,
        }
    }

    async fn time(&mut self, store: &dyn Store, iterations: usize) -> [Timing; 4] {
        let mut rng = rand::thread_rng();
        let (mut week, mut day, mut booking, mut availability) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..iterations {
            let monday = self.busy_day(&mut rng);
            let therapist = TherapistId(rng.gen_range(1..=self.therapists));
            let filter = SessionFilter {
                from: Some(monday),
                to: Some(monday + chrono::Duration::days(6)),
                therapist_id: Some(therapist),
                child_profile_id: None,
            };
            let started = Instant::now();
            store.sessions(SessionScope::All, filter, PageRequest::first(200)).await.expect("a week reads");
            week.push(started.elapsed());

            let date = self.busy_day(&mut rng);
            let filter = SessionFilter { from: Some(date), to: Some(date), ..Default::default() };
            let started = Instant::now();
            store.sessions(SessionScope::All, filter, PageRequest::first(200)).await.expect("a day reads");
            day.push(started.elapsed());

            let new = self.next_booking();
            let started = Instant::now();
            store.create_sessions(new, BENCH_STAFF).await.expect("a free slot books");
            booking.push(started.elapsed());

            let first = first_day() + chrono::Duration::days(rng.gen_range(0..self.busy_days - 90));
            let pick = rng.gen_range(0..self.therapists);
            let three: Vec<_> = (0..3).map(|k| 1 + (pick + k * 67) % self.therapists).collect();
            let uri = format!(
                "/api/v1/availability?therapistIds={},{},{}&from={first}&to={}&duration=45",
                three[0],
                three[1],
                three[2],
                first + chrono::Duration::days(89)
            );
            let request = axum::http::Request::get(uri)
                .header(axum::http::header::AUTHORIZATION, format!("Bearer {}", self.token))
                .body(axum::body::Body::empty())
                .expect("a request builds");
            let started = Instant::now();
            let response = tower::ServiceExt::oneshot(self.router.clone(), request).await.expect("the router answers");
            let status = response.status();
            let body = http_body_util::BodyExt::collect(response.into_body()).await.expect("the body reads").to_bytes();
            availability.push(started.elapsed());
            assert_eq!(status, 200, "availability answers: {}", String::from_utf8_lossy(&body));
        }
        [Timing::of(week), Timing::of(day), Timing::of(booking), Timing::of(availability)]
    }
}

/// A booking's statements as the PostgreSQL store runs them, for pgbench. Its sessions are
/// cancelled ones, so that repeated runs never conflict.
const PGBENCH_BOOKING: &str = r"\set therapist random(1, :therapists)
\set day random(0, :days)
BEGIN;
SELECT id FROM therapists WHERE id = ANY(ARRAY[:therapist]::bigint[]) ORDER BY id FOR UPDATE;
SELECT st.therapist_id, s.id, s.date, s.start_time, s.end_time FROM session_therapists st JOIN sessions s ON s.id = st.session_id WHERE st.therapist_id = ANY(ARRAY[:therapist]::bigint[]) AND st.date = ANY(ARRAY[DATE '2026-01-01' + :day]) AND s.status <> 'cancelled' AND s.start_time < TIME '20:01' AND TIME '20:00' < s.end_time AND s.id <> 0 ORDER BY s.date, s.start_time, s.id, st.therapist_id;
INSERT INTO sessions (date, start_time, end_time, notes, status, child_profile_id, created_at, updated_at) VALUES (DATE '2026-01-01' + :day, TIME '20:00', TIME '20:01', NULL, 'cancelled', NULL, now(), now()) RETURNING id \gset
INSERT INTO session_therapists (session_id, therapist_id, date, created_at, updated_at) SELECT s.id, :therapist, s.date, now(), now() FROM sessions s WHERE s.id = :id ON CONFLICT (session_id, therapist_id) DO NOTHING;
COMMIT;
";

/// pgbench's average latency of the booking statements, in ms, when pgbench is installed.
fn pgbench_booking(url: &str, therapists: i64, days: i64) -> Option<f64> {
    let script = tempfile::NamedTempFile::new().ok()?;
    std::fs::write(script.path(), PGBENCH_BOOKING).ok()?;
    let output = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            "1",
            "-T",
            "10",
            "-D",
            &format!("therapists={therapists}"),
            "-D",
            &format!("days={}", days - 1),
            "-f",
        ])
        .arg(script.path())
        .arg(url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().find_map(|line| line.strip_prefix("latency average = ")?.strip_suffix(" ms")?.parse().ok())
}

async fn print_plans(store: &dyn carenest_store::Inspect, sessions: i64) -> Result<(), String> {
    let monday = first_day() + chrono::Duration::days(7);
    let week = SessionFilter {
        from: Some(monday),
        to: Some(monday + chrono::Duration::days(6)),
        therapist_id: Some(TherapistId(7)),
        child_profile_id: None,
    };
    let day = SessionFilter { from: Some(monday), to: Some(monday), ..Default::default() };
    let plans = [
        ("a therapist's week", store.explain_sessions(SessionScope::All, week, PageRequest::first(200)).await),
        ("a day of the practice", store.explain_sessions(SessionScope::All, day, PageRequest::first(200)).await),
        (
            "a booking's check of the therapists' sessions",
            store.explain_booking_check(&[TherapistId(7), TherapistId(8)], &[monday]).await,
        ),
    ];
    for (what, plan) in plans {
        println!("\nplan of {what} at {sessions} sessions:");
        for line in plan.map_err(|e| e.to_string())? {
            println!("  {line}");
        }
    }
    Ok(())
}

async fn scheduling(
    server: &str,
    sessions: i64,
    small: i64,
    therapists: i64,
    iterations: usize,
    keep: bool,
) -> Result<(), String> {
    if small < 100 * PER_DAY || sessions < small + 2 * iterations as i64 {
        return Err(format!(
            "--small must hold at least 100 days ({} sessions), and --sessions more than that",
            100 * PER_DAY
        ));
    }
    let name = format!("carenest_bench_{}", rand::thread_rng().gen::<u32>());
    let url = database_named(server, &name);
    carenest_store::create_database(&url).await.map_err(|e| format!("creating {name}: {e}"))?;
    let handle =
        carenest_store::open(&url, carenest_store::StoreOptions::default()).await.map_err(|e| e.to_string())?;
    let store = handle.store;
    store.migrate().await.map_err(|e| e.to_string())?;
    let mut connection = PgConnection::connect(&url).await.map_err(|e| e.to_string())?;
    sqlx::query("INSERT INTO therapists (name) SELECT 'Therapist ' || g FROM generate_series(1, $1) g")
        .bind(therapists)
        .execute(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    // Everyone works weekdays from 08:00 to 18:00, where the generated sessions fall.
    sqlx::query(
        "INSERT INTO working_hours (therapist_id, weekday, start_time, end_time)
         SELECT t, d, TIME '08:00', TIME '18:00' FROM generate_series(1, $1) t, generate_series(1, 5) d",
    )
    .bind(therapists)
    .execute(&mut connection)
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "scratch database {name}; {therapists} therapists; {PER_DAY} sessions a day; {iterations} timed runs of each"
    );
    let (router, token) = availability_router(store.clone()).await?;
    let mut workload = Workload { therapists, busy_days: small / PER_DAY, bookings: 0, router, token };
    // Each size gets an untimed warm-up first, so neither run pays for cold caches and new
    // connections.
    let warm_up = iterations / 5;
    grow(&mut connection, 0, small, therapists).await.map_err(|e| e.to_string())?;
    workload.time(store.as_ref(), warm_up).await;
    let at_small = workload.time(store.as_ref(), iterations).await;
    let generated = small + (iterations + warm_up) as i64;
    grow(&mut connection, small, sessions - generated, therapists).await.map_err(|e| e.to_string())?;
    workload.time(store.as_ref(), warm_up).await;
    let at_full = workload.time(store.as_ref(), iterations).await;

    println!(
        "\nlatency through the store, p50 / p95 in ms:    {small:>7} sessions   {sessions:>7} sessions   p50 ratio"
    );
    for (what, (a, b)) in [
        "a therapist's week",
        "a day of the practice (200 rows)",
        "a booking (one transaction)",
        "GET /availability, 3 x 90 days",
    ]
    .iter()
    .zip(at_small.iter().zip(at_full.iter()))
    {
        let ratio = ms(b.p50) / ms(a.p50);
        println!(
            "  {what:<34} {:>7.2} / {:>6.2}    {:>7.2} / {:>6.2}      {ratio:>5.2}",
            ms(a.p50),
            ms(a.p95),
            ms(b.p50),
            ms(b.p95)
        );
    }
    match pgbench_booking(&url, therapists, workload.busy_days) {
        Some(latency) => println!(
            "  pgbench running the same booking statements: {latency:.2} ms average; the store's p50 booking is {:.2}x that",
            ms(at_full[2].p50) / latency
        ),
        None => println!("  (pgbench is not installed: no comparison)"),
    }
    print_plans(handle.inspect.as_ref(), sessions).await?;
    store.close().await;
    connection.close().await.ok();
    if keep {
        println!("\nkept {}", carenest_store::redact(&url));
    } else {
        carenest_store::drop_database(&url).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Bench::Scheduling { sessions, small, therapists, iterations, keep } => {
            scheduling(&cli.database_url, sessions, small, therapists, iterations, keep).await
        }
        Bench::Backup { sessions, keep } => backups::run(&cli.database_url, sessions, keep).await,
        Bench::Suggestions { families, iterations, keep } => {
            suggestions::run(&cli.database_url, families, iterations, keep).await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
