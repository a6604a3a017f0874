//! `GET /metrics` on both backends: request counts and latencies by route template and
//! status, pool use, and statement latency as the store times it.

mod common;

use std::time::Duration;

use axum::http::Method;
use carenest_server::{HttpSettings, Settings};
use carenest_store::StoreOptions;
use carenest_store_tests::{on_both_backends, TestDb};
use common::TestApp;

async fn metrics_count_requests_by_route_and_status_and_time_the_database(db: &TestDb) {
    // Every statement counts as slow here, so the slow-statement count shows too.
    let store = db.store_opened(StoreOptions { slow_statement: Duration::ZERO, ..StoreOptions::default() }).await;
    let app = TestApp::on_store(db, store, Settings::default(), HttpSettings::default());
    let (_, token) = app.parent("anna").await;
    app.get("/api/v1/children/424242", &token).await.problem(404);
    let response = app.send(Method::GET, "/metrics", None, None).await;
    assert_eq!(response.status, 200);
    assert!(response.content_type().starts_with("text/plain; version=0.0.4"));
    let text = response.text;
    for expected in [
        r#"http_requests_total{method="GET",route="/api/v1/children/{id}",status="404"}"#,
        r#"http_requests_total{method="POST",route="/api/v1/auth/register",status="201"}"#,
        r#"http_request_duration_seconds_bucket{method="POST",route="/api/v1/parent-profile",status="201",le="#,
        r#"db_pool_connections{state="idle"}"#,
        "db_pool_max_connections",
        r#"db_query_duration_seconds_bucket{statement="insert",le="#,
        r#"db_query_duration_seconds_count{statement="select"}"#,
        r#"db_query_duration_seconds_count{statement="begin"}"#,
        r#"db_query_duration_seconds_count{statement="commit"}"#,
        r#"db_slow_statements_total{statement="select"}"#,
        "http_requests_in_flight",
        "db_pool_acquire_wait_seconds_count",
        "db_pool_waiting",
    ] {
        assert!(text.contains(expected), "{expected} is missing from:\n{text}");
    }
    assert!(!text.contains("424242"), "raw paths, which hold ids, are not labels");
}

on_both_backends!(metrics_count_requests_by_route_and_status_and_time_the_database);
