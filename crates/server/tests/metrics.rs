//! `GET /metrics` on both backends: request counts and latencies by route template and
//! status, pool use, and statement latency fed by sqlx's own timings.

mod common;

use std::sync::Once;

use axum::http::Method;
use carenest_store_tests::{on_both_backends, TestDb};
use common::TestApp;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The subscriber the binary installs, as far as metrics go.
fn install_query_timings() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::filter::Targets::new().with_target("sqlx::query", tracing::Level::DEBUG);
        // Every statement counts as slow here, so the slow-statement count shows too.
        let timings = carenest_server::metrics::QueryTimings { slow: std::time::Duration::ZERO };
        tracing_subscriber::registry().with(timings.with_filter(filter)).init();
    });
}

async fn metrics_count_requests_by_route_and_status_and_time_the_database(db: &TestDb) {
    install_query_timings();
    let app = TestApp::new(db);
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
