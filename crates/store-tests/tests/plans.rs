//! Query plans of the hot scheduling statements on a practice with a year of sessions: a
//! therapist's week, a day of the whole practice, and a booking's overlap check must search
//! indexes, never scan whole tables. Plans, not timings: timings belong in the benchmark.

use carenest_domain::ids::TherapistId;
use carenest_domain::page::PageRequest;
use carenest_domain::scheduling::{SessionFilter, SessionScope};
use carenest_store_tests::fixtures::{at, booking, therapist, STAFF};
use carenest_store_tests::{on_both_backends, Raw, TestDb};
use chrono::NaiveDate;

const SESSIONS: usize = 20_000;
const THERAPISTS: usize = 50;

async fn load_a_year_of_sessions(db: &TestDb) {
    let mut raw = db.raw().await;
    let sql = match raw {
        Raw::Postgres(_) => format!(
            "INSERT INTO therapists (name) SELECT 'Therapist ' || g FROM generate_series(1, {THERAPISTS}) g;
             INSERT INTO sessions (date, start_time, end_time)
                SELECT DATE '2026-01-01' + (g % 365), TIME '08:00' + (g % 20) * INTERVAL '30 minutes',
                       TIME '08:30' + (g % 20) * INTERVAL '30 minutes'
                FROM generate_series(1, {SESSIONS}) g;
             INSERT INTO session_therapists (session_id, therapist_id, date) SELECT id, 1 + id % {THERAPISTS}, date FROM sessions;
             ANALYZE;"
        ),
        Raw::Sqlite(_) => format!(
            "WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < {THERAPISTS})
                INSERT INTO therapists (name) SELECT 'Therapist ' || g FROM n;
             WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < {SESSIONS})
                INSERT INTO sessions (date, start_time, end_time)
                SELECT date('2026-01-01', '+' || (g % 365) || ' days'), time('08:00', '+' || ((g % 20) * 30) || ' minutes'),
                       time('08:30', '+' || ((g % 20) * 30) || ' minutes')
                FROM n;
             INSERT INTO session_therapists (session_id, therapist_id, date) SELECT id, 1 + id % {THERAPISTS}, date FROM sessions;
             ANALYZE;"
        ),
    };
    raw.execute(&sql).await.expect("the practice loads");
}

/// A plan line that reads a whole table: PostgreSQL's `Seq Scan`, SQLite's `SCAN <table>`
/// (SQLite's scans of the JSON list of ids are table-valued functions, not tables).
fn full_scans(plan: &[String]) -> Vec<&String> {
    plan.iter()
        .filter(|line| {
            let line = line.trim_start().trim_start_matches("->").trim_start();
            line.starts_with("Seq Scan") || (line.starts_with("SCAN ") && !line.contains("json_each"))
        })
        .collect()
}

fn uses_index(plan: &[String]) -> bool {
    plan.iter().any(|line| {
        line.contains("Index")
            || line.contains("USING INDEX")
            || line.contains("USING COVERING INDEX")
            || line.contains("USING INTEGER PRIMARY KEY")
    })
}

async fn a_therapists_week_a_practice_day_a_booking_check_and_availability_search_indexes(db: &TestDb) {
    load_a_year_of_sessions(db).await;
    let store = db.inspect();
    let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let week = SessionFilter {
        from: Some(day),
        to: Some(day + chrono::Duration::days(6)),
        therapist_id: Some(TherapistId(7)),
        child_profile_id: None,
    };
    let practice_day = SessionFilter { from: Some(day), to: Some(day), ..Default::default() };
    for (what, plan) in [
        ("a therapist's week", store.explain_sessions(SessionScope::All, week, PageRequest::first(50)).await.unwrap()),
        (
            "a day of the practice",
            store.explain_sessions(SessionScope::All, practice_day, PageRequest::first(200)).await.unwrap(),
        ),
        (
            "a booking's read of the therapists' sessions",
            store.explain_booking_check(&[TherapistId(7), TherapistId(8)], &[day]).await.unwrap(),
        ),
        (
            "ninety days of three therapists' sessions for availability",
            store
                .explain_availability(
                    &[TherapistId(7), TherapistId(8), TherapistId(9)],
                    day,
                    day + chrono::Duration::days(89),
                )
                .await
                .unwrap(),
        ),
    ] {
        assert!(full_scans(&plan).is_empty(), "{what} scans a whole table on {}:\n{}", db.backend(), plan.join("\n"));
        assert!(uses_index(&plan), "{what} uses no index on {}:\n{}", db.backend(), plan.join("\n"));
    }
}

/// PostgreSQL plans a prepared statement for each execution's own arguments until it judges one
/// generic plan good enough, and a booking's statements, with their lists of ids, never were:
/// every booking planned its calendar anew. PostgreSQL only: SQLite compiles a statement once,
/// when it is prepared, so there is nothing to plan again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bookings_statements_are_planned_once_not_at_every_booking() {
    let Some(db) = TestDb::postgres().await else { return };
    let store = db.store();
    let (first, second) = (therapist(&*store, "Ada").await, therapist(&*store, "Bo").await);
    let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    for hour in 8..16 {
        let mut new = booking(day, at(hour, 0), at(hour, 45), &[first, second]);
        new.outside_working_hours = true;
        store.create_sessions(new, STAFF).await.expect("the booking is made");
    }
    let replanned = db.inspect().replanned_statements().await.unwrap();
    assert!(replanned.is_empty(), "planned for their arguments: {replanned:#?}");
}

on_both_backends!(a_therapists_week_a_practice_day_a_booking_check_and_availability_search_indexes);
