//! Drives the real router on a test database, request by request.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use std::sync::Arc;

use carenest_domain::Store;
use carenest_server::{app as app_router, AppState, HttpSettings, Settings};
use carenest_store_tests::TestDb;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {}", self.text))
    }

    pub fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts a problem document with this status, and returns it.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.content_type(), "application/problem+json", "{}", self.text);
        let problem = self.json();
        assert_eq!(problem["status"], status);
        assert!(problem["type"].as_str().unwrap().starts_with("https://carenest.dev/problems/"));
        problem
    }

    /// The `field` of every error in a 422.
    pub fn invalid_fields(&self) -> Vec<String> {
        self.problem(422)["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }
}

pub struct TestApp {
    pub router: Router,
}

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub fn new(db: &TestDb) -> Self {
        Self::with_settings(db, Settings::default())
    }

    /// The app on the test's database, reading the test's clock.
    pub fn with_settings(db: &TestDb, settings: Settings) -> Self {
        Self::with_http(db, settings, HttpSettings::default())
    }

    /// The app with settings of its own on both sides.
    pub fn with_http(db: &TestDb, settings: Settings, http: HttpSettings) -> Self {
        Self::on_store(db, db.store(), settings, http)
    }

    /// The app over a store of the test's own making, on the test's clock.
    pub fn on_store(db: &TestDb, store: Arc<dyn Store>, settings: Settings, http: HttpSettings) -> Self {
        let app = carenest_app::App::new(store, settings).with_clock(db.clock());
        Self { router: app_router(AppState { app, http: Arc::new(http) }) }
    }

    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        self.raw(request).await
    }

    pub async fn raw(&self, request: Request<Body>) -> Response {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Response { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Response {
        self.send(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.send(Method::DELETE, path, Some(token), None).await
    }

    /// Registers a user and returns their id and token.
    pub async fn register(&self, username: &str) -> (i64, String) {
        let response = self
            .send(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(json!({"username": username, "email": format!("{username}@example.org"), "password": PASSWORD})),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
        let body = response.json();
        (body["user"]["id"].as_i64().unwrap(), body["token"].as_str().unwrap().to_owned())
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.send(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": username, "password": password})))
            .await
    }

    /// A registered user with a parent profile.
    pub async fn parent(&self, username: &str) -> (i64, String) {
        let (id, token) = self.register(username).await;
        let response = self
            .post(
                "/api/v1/parent-profile",
                &token,
                json!({"name": username, "stressLevel": "low", "experienceLevel": "first_time"}),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
        (id, token)
    }

    /// An admin, made with the store as the CLI would.
    pub async fn admin(&self, db: &TestDb, username: &str) -> (i64, String) {
        let (id, token) = self.register(username).await;
        db.store().set_role(carenest_domain::ids::UserId(id), carenest_domain::accounts::Role::Admin).await.unwrap();
        (id, token)
    }
}

/// The Python interpreter (`CARENEST_PYTHON`, else `python3`) when it can import `module`.
/// CI must have it; elsewhere the check says it was skipped.
pub fn python_with(module: &str) -> Option<String> {
    let python = std::env::var("CARENEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let works = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(python);
    }
    assert!(std::env::var("CI").is_err(), "CI must provide Python's {module} (CARENEST_PYTHON)");
    eprintln!("skipped: the {module} check (no Python with {module}; set CARENEST_PYTHON)");
    None
}
