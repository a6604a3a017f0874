//! CareNest's HTTP API: one router per area, joined by [`app`].

pub mod auth;
mod calendar;
pub mod error;
pub mod extract;
pub mod metrics;
mod openapi;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use carenest_domain::accounts::ThrottlePolicy;
use carenest_domain::audit::{AuditAction, AuditEntry};
use carenest_domain::ids::UserId;
use carenest_domain::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use crate::error::{ApiError, ApiResult};
pub use crate::openapi::openapi_json;

/// Settings the HTTP layer needs; the binary fills them from configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a login token lives.
    pub token_ttl: chrono::Duration,
    /// Failed logins allowed per username in a window.
    pub throttle_per_username: ThrottlePolicy,
    /// Failed logins allowed per client address in a window.
    pub throttle_per_client: ThrottlePolicy,
    /// The practice's time zone: session times are its wall-clock times.
    pub practice_time_zone: chrono_tz::Tz,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            token_ttl: chrono::Duration::days(30),
            throttle_per_username: ThrottlePolicy { max_failures: 5, window: chrono::Duration::minutes(15) },
            throttle_per_client: ThrottlePolicy { max_failures: 50, window: chrono::Duration::minutes(15) },
            practice_time_zone: chrono_tz::Europe::Amsterdam,
        }
    }
}

/// What every handler shares: the store and the settings. No other state lives in a process.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        Self { store, settings: Arc::new(settings) }
    }

    /// Appends to the audit log: who did what to whose data. Never content.
    pub async fn audit(
        &self,
        actor: &auth::CurrentUser,
        action: AuditAction,
        resource_type: &str,
        resource_id: i64,
        subject: UserId,
    ) -> ApiResult<()> {
        self.audit_many(actor, action, resource_type, &[(resource_id, subject)]).await
    }

    pub async fn audit_many(
        &self,
        actor: &auth::CurrentUser,
        action: AuditAction,
        resource_type: &str,
        resources: &[(i64, UserId)],
    ) -> ApiResult<()> {
        let at = carenest_domain::time::now();
        let entries: Vec<AuditEntry> = resources
            .iter()
            .map(|(resource_id, subject)| AuditEntry {
                at,
                actor_user_id: actor.id(),
                actor_role: actor.role(),
                action,
                resource_type: resource_type.to_owned(),
                resource_id: *resource_id,
                subject_user_id: *subject,
            })
            .collect();
        Ok(self.store.record_audit(&entries).await?)
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .merge(routes::accounts::router())
        .merge(routes::family::router())
        .merge(routes::scheduling::router());
    Router::new()
        .nest("/api/v1", api)
        .merge(routes::ops::router())
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
        .layer(middleware::from_fn(problem_for_bare_errors))
        .layer(middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal.into_response()))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // Route templates and ids only: never query strings, bodies or tokens.
                let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str());
                let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                tracing::info_span!("request", method = %request.method(), route, request_id, user_id = tracing::field::Empty)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Errors the framework answers itself (405 with its `Allow` header) get a problem body too.
async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED && !response.headers().contains_key(header::CONTENT_TYPE) {
        let allow = response.headers().get(header::ALLOW).cloned();
        let mut problem = ApiError::MethodNotAllowed.into_response();
        if let Some(allow) = allow {
            problem.headers_mut().insert(header::ALLOW, allow);
        }
        return problem;
    }
    response
}

/// How long `serve` waits for in-flight requests after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
