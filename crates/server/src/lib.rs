//! CareNest's HTTP API: one router per area, joined by [`app`].

pub mod auth;
pub mod dto;
pub mod error;
pub mod extract;
mod json;
pub mod metrics;
pub mod network;
mod openapi;
pub mod pages;
mod routes;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use carenest_app::App;
use carenest_domain::Store;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

pub use crate::error::{ApiError, ApiResult};
pub use crate::network::HttpSettings;
pub use crate::openapi::openapi_json;

pub use carenest_app::Settings;

/// What every handler shares: the application and how it faces the network. No other state
/// lives in a process.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub http: Arc<HttpSettings>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        Self { app: App::new(store, settings), http: Arc::new(HttpSettings::default()) }
    }

    pub fn with_http(self, http: HttpSettings) -> Self {
        Self { http: Arc::new(http), ..self }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let http = state.http.clone();
    let api = Router::new()
        .merge(routes::accounts::router())
        .merge(routes::family::router())
        .merge(routes::scheduling::router())
        .merge(routes::availability::router())
        .merge(routes::audit::router());
    let mut router = Router::new()
        .nest("/api/v1", api)
        .merge(routes::ops::router())
        .merge(routes::availability::feeds_router())
        .merge(pages::router());
    if http.metrics_with_api {
        router = router.merge(routes::ops::metrics_router());
    }
    // Two stacks, each applied once: `Router::layer` boxes every layer it is given around
    // every route, and each request then cloned the whole chain of boxes (7% of the server's
    // instructions for `GET /me`). All of it runs after routing, so the metrics and the
    // request's span see the route template. CORS, when configured, sits between the two.
    let inner = ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(http.request_timeout, network::whole_request_timeout))
        .layer(middleware::from_fn(problem_for_bare_errors))
        // Innermost: axum's middleware takes only axum's own body, and this one wraps it.
        .layer(RequestBodyTimeoutLayer::new(http.body_timeout));
    let outer = ServiceBuilder::new()
        // Outermost, so that no answer lacks it, a panic's included.
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            // Route templates and ids only: never query strings, bodies or tokens.
            let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str());
            let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %request.method(), route, request_id, user_id = tracing::field::Empty)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal.into_response()))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(middleware::from_fn(metrics::track))
        .layer(middleware::from_fn(uncacheable_api_answers));
    let router = router.fallback(not_found).with_state(state).layer(inner);
    let router = match http.cors() {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.layer(outer)
}

/// No such route: a problem document, or for a browser asking for a page, a page.
async fn not_found(request: Request) -> Response {
    let headers = request.headers();
    let wants_page = !request.uri().path().starts_with("/api/")
        && headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    if wants_page {
        pages::not_found_page(headers)
    } else {
        ApiError::NotFound.into_response()
    }
}

/// `/metrics` alone, for a listener of its own that need not face the internet.
pub fn metrics_app(state: AppState) -> Router {
    routes::ops::metrics_router().with_state(state)
}

/// Every API answer is someone's data or about their credentials, errors included: no cache
/// may keep it.
async fn uncacheable_api_answers(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/v1/");
    let mut response = next.run(request).await;
    if api {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
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
