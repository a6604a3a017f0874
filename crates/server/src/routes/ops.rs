//! Service endpoints: liveness, readiness, the OpenAPI document.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/api/openapi.json", get(openapi))
}

pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// 200 while the process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "The process is up")))]
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#)
}

/// 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, description = "The database answers"),
    (status = 503, description = "The database does not answer", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), state.app.store().ping()).await;
    match ping {
        Ok(Ok(())) => Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], r#"{"status":"ready"}"#)),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "readiness check failed");
            Err(ApiError::Unavailable)
        }
        Err(_) => Err(ApiError::Unavailable),
    }
}

/// The OpenAPI 3.1 document of the whole API.
#[utoipa::path(get, path = "/api/openapi.json", tag = "ops", responses((status = 200, description = "The OpenAPI document")))]
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi_json())
}

/// Prometheus text format: `http_requests_total` and `http_request_duration_seconds` by method,
/// route and status; `db_pool_connections` by state and `db_pool_max_connections`;
/// `db_query_duration_seconds` by kind of statement.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let pool = state.app.store().pool_stats();
    let in_use = pool.size.saturating_sub(pool.idle);
    ::metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    ::metrics::gauge!("db_pool_connections", "state" => "in_use").set(f64::from(in_use));
    ::metrics::gauge!("db_pool_max_connections").set(f64::from(pool.max));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], crate::metrics::recorder().render())
}
