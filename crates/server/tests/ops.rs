//! Service endpoints and the error contract every route shares, on both backends.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use carenest_store_tests::{on_both_backends, TestDb};
use common::TestApp;
use serde_json::json;

async fn health_and_readiness_answer_without_a_token(db: &TestDb) {
    let app = TestApp::new(db);
    assert_eq!(app.send(Method::GET, "/healthz", None, None).await.status, 200);
    let ready = app.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
}

async fn readiness_is_503_once_the_database_is_gone(db: &TestDb) {
    let app = TestApp::new(db);
    db.store().close().await;
    app.send(Method::GET, "/readyz", None, None).await.problem(503);
    assert_eq!(app.send(Method::GET, "/healthz", None, None).await.status, 200, "the process itself is still up");
}

async fn the_openapi_document_describes_every_route(db: &TestDb) {
    let app = TestApp::new(db);
    let response = app.send(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(response.status, 200);
    let document = response.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/register",
        "/api/v1/me",
        "/api/v1/parent-profile",
        "/api/v1/children/{id}",
        "/api/v1/goals",
        "/api/v1/sessions",
        "/api/v1/sessions/{id}/therapists/{therapistId}",
        "/api/v1/therapists",
        "/readyz",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path} is not documented");
    }
    let stress = &document["components"]["schemas"]["StressLevel"]["enum"];
    assert_eq!(stress, &json!(["low", "moderate", "high", "very_high"]));
}

async fn unknown_routes_are_404_and_wrong_methods_405_with_allow_as_problems(db: &TestDb) {
    let app = TestApp::new(db);
    app.send(Method::GET, "/api/v1/nothing-here", None, None).await.problem(404);
    let response = app.send(Method::PUT, "/healthz", None, None).await;
    response.problem(405);
    assert!(response.headers.get(header::ALLOW).is_some_and(|allow| allow.to_str().unwrap().contains("GET")));
}

async fn malformed_bodies_are_400_and_wrong_shapes_422_naming_the_field(db: &TestDb) {
    let app = TestApp::new(db);
    let malformed = Request::post("/api/v1/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"username\": "))
        .unwrap();
    app.raw(malformed).await.problem(400);
    let trailing = Request::post("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"username\": \"anna\", \"password\": \"x\"} {}"))
        .unwrap();
    app.raw(trailing).await.problem(400);
    let unknown = app
        .send(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"username": "anna", "email": "a@example.org", "password": "long enough", "nickname": "A"})),
        )
        .await;
    assert_eq!(unknown.invalid_fields(), ["nickname"]);
    let wrong_type = app
        .send(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"username": 7, "email": "a@example.org", "password": "x"})),
        )
        .await;
    assert_eq!(wrong_type.invalid_fields(), ["username", "password"], "a wrong type and a broken rule, both named");
    let not_json =
        Request::post("/api/v1/auth/login").header(header::CONTENT_TYPE, "text/plain").body(Body::from("hi")).unwrap();
    app.raw(not_json).await.problem(415);
}

async fn bodies_over_one_mebibyte_are_413(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, token) = app.register("anna").await;
    let huge = json!({"name": "x".repeat(1024 * 1024 + 1), "stressLevel": "low", "experienceLevel": "first_time"});
    app.post("/api/v1/parent-profile", &token, huge).await.problem(413);
}

async fn malformed_path_and_query_parameters_are_400(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, token) = app.parent("anna").await;
    for path in [
        "/api/v1/children/abc",
        "/api/v1/children/-1",
        "/api/v1/children/0",
        "/api/v1/children?limit=-1",
        "/api/v1/children?limit=201",
        "/api/v1/children?cursor=nonsense",
        "/api/v1/sessions?from=2026-13-01",
        "/api/v1/goals?status=done",
        "/api/v1/children?unknown=1",
    ] {
        app.get(path, &token).await.problem(400);
    }
}

async fn every_response_carries_a_request_id(db: &TestDb) {
    let app = TestApp::new(db);
    let response = app.send(Method::GET, "/healthz", None, None).await;
    assert!(response.headers.get("x-request-id").is_some_and(|id| id.len() >= 32));
}

on_both_backends!(
    health_and_readiness_answer_without_a_token,
    readiness_is_503_once_the_database_is_gone,
    the_openapi_document_describes_every_route,
    unknown_routes_are_404_and_wrong_methods_405_with_allow_as_problems,
    malformed_bodies_are_400_and_wrong_shapes_422_naming_the_field,
    bodies_over_one_mebibyte_are_413,
    malformed_path_and_query_parameters_are_400,
    every_response_carries_a_request_id,
);
