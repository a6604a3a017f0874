//! What an attacker tries, through the real router on both backends: guessing passwords in
//! parallel and from many addresses, flooding registrations, invented methods, slow bodies;
//! and the headers every answer carries.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request};
use carenest_app::passwords::HashingLimits;
use carenest_app::Settings;
use carenest_domain::accounts::ThrottlePolicy;
use carenest_server::HttpSettings;
use carenest_store_tests::{on_both_backends, TestDb};
use common::{Response, TestApp, PASSWORD};
use futures::future::join_all;
use serde_json::{json, Value};

fn policy(max_failures: i64) -> ThrottlePolicy {
    ThrottlePolicy { max_failures, window: chrono::Duration::minutes(15) }
}

/// A JSON request as a client at `peer` sends it, through any proxies named in `forwarded_for`.
fn from(peer: &str, method: Method, path: &str, body: Value, forwarded_for: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .extension(ConnectInfo(format!("{peer}:40000").parse::<SocketAddr>().unwrap()));
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

async fn login_from(app: &TestApp, peer: &str, username: &str, password: &str) -> Response {
    app.raw(from(peer, Method::POST, "/api/v1/auth/login", json!({"username": username, "password": password}), None))
        .await
}

fn statuses(responses: &[Response]) -> Vec<u16> {
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort_unstable();
    statuses
}

async fn thirty_simultaneous_wrong_passwords_for_one_account_are_checked_at_most_five_times(db: &TestDb) {
    let app = TestApp::new(db);
    app.register("anna").await;
    let guesses = (0..30).map(|i| {
        let spelling = if i % 2 == 0 { "anna".to_owned() } else { "ANNA@example.org".to_owned() };
        let app = &app;
        async move { app.login(&spelling, &format!("guess number {i}")).await }
    });
    let answers = join_all(guesses).await;
    let checked = answers.iter().filter(|r| r.status == 401).count();
    let refused = answers.iter().filter(|r| r.status == 429).count();
    assert_eq!((checked, refused), (5, 25), "one counter for the account, whatever alias: {:?}", statuses(&answers));
    app.login("anna", PASSWORD).await.problem(429);
}

async fn logging_into_ones_own_account_does_not_reset_the_clients_count(db: &TestDb) {
    let settings = Settings { throttle_per_client: policy(4), ..Settings::default() };
    let app = TestApp::with_settings(db, settings);
    for name in ["mallory", "anna", "bram", "carla"] {
        app.register(name).await;
    }
    let attacker = "198.51.100.66";
    login_from(&app, attacker, "anna", "spray one").await.problem(401);
    login_from(&app, attacker, "bram", "spray two").await.problem(401);
    assert_eq!(login_from(&app, attacker, "mallory", PASSWORD).await.status, 200, "their own account");
    login_from(&app, attacker, "carla", "spray three").await.problem(401);
    login_from(&app, attacker, "anna", "spray four").await.problem(401);
    login_from(&app, attacker, "bram", "spray five").await.problem(429);
    assert_eq!(login_from(&app, "198.51.100.7", "carla", PASSWORD).await.status, 200, "other clients go on");
}

async fn a_stranger_typing_a_name_does_not_lock_its_owner_out_of_a_device_they_used_before(db: &TestDb) {
    let app = TestApp::new(db);
    app.register("anna").await;
    let (home, stranger) = ("203.0.113.10", "198.51.100.66");
    assert_eq!(login_from(&app, home, "anna", PASSWORD).await.status, 200);
    for _ in 0..5 {
        login_from(&app, stranger, "anna", "a guess").await.problem(401);
    }
    login_from(&app, stranger, "anna", PASSWORD).await.problem(429);
    login_from(&app, "192.0.2.44", "anna", PASSWORD).await.problem(429);
    login_from(&app, home, "anna", "her own typo").await.problem(401);
    assert_eq!(login_from(&app, home, "anna", PASSWORD).await.status, 200, "the owner's own device still gets in");
}

async fn behind_a_trusted_proxy_each_forwarded_client_is_counted_on_its_own(db: &TestDb) {
    let settings = Settings { throttle_per_client: policy(3), ..Settings::default() };
    let http = HttpSettings { trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()], ..HttpSettings::default() };
    let app = TestApp::with_http(db, settings, http);
    for name in ["anna", "bram", "carla", "daan"] {
        app.register(name).await;
    }
    let login = |name: &str, client: &str| {
        let body = json!({"username": name, "password": "a guess"});
        from("10.0.0.2", Method::POST, "/api/v1/auth/login", body, Some(client))
    };
    for name in ["anna", "bram", "carla"] {
        app.raw(login(name, "203.0.113.1")).await.problem(401);
    }
    app.raw(login("daan", "203.0.113.1")).await.problem(429);
    // A client that writes its own header in front of the proxy's entry is still itself.
    app.raw(login("daan", "192.0.2.1, 203.0.113.1")).await.problem(429);
    app.raw(login("daan", "203.0.113.2")).await.problem(401);
    // From a peer that is not a proxy of ours, the header is the client's own invention.
    let untrusted = |client: &str| {
        let body = json!({"username": "daan", "password": "a guess"});
        from("198.51.100.9", Method::POST, "/api/v1/auth/login", body, Some(client))
    };
    for i in 0..3 {
        app.raw(untrusted(&format!("192.0.2.{i}"))).await.problem(if i < 2 { 401 } else { 429 });
    }
    app.raw(untrusted("192.0.2.200")).await.problem(429);
}

async fn password_checks_on_the_account_itself_are_limited_like_logins(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, token) = app.register("anna").await;
    for i in 0..5 {
        let wrong = json!({"password": "a new long password", "currentPassword": format!("guess {i}")});
        assert_eq!(app.patch("/api/v1/me", &token, wrong).await.invalid_fields(), ["currentPassword"]);
    }
    let right = json!({"password": "a new long password", "currentPassword": PASSWORD});
    app.patch("/api/v1/me", &token, right).await.problem(429);
    let erase = app.send(Method::DELETE, "/api/v1/me", Some(&token), Some(json!({"password": PASSWORD}))).await;
    erase.problem(429);
    assert!(erase.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(app.get("/api/v1/me", &token).await.status, 200, "the token itself still works");
}

async fn registrations_are_limited_per_client(db: &TestDb) {
    let settings = Settings { throttle_registrations: policy(3), ..Settings::default() };
    let app = TestApp::with_settings(db, settings);
    let register = |peer: &str, name: &str| {
        let body = json!({"username": name, "email": format!("{name}@example.org"), "password": PASSWORD});
        app.raw(from(peer, Method::POST, "/api/v1/auth/register", body, None))
    };
    for name in ["anna1", "anna2", "anna3"] {
        assert_eq!(register("198.51.100.1", name).await.status, 201);
    }
    let refused = register("198.51.100.1", "anna4").await;
    refused.problem(429);
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(register("198.51.100.2", "bram1").await.status, 201, "another client is counted apart");
    app.login("anna4", PASSWORD).await.problem(401);
}

async fn a_flood_of_registrations_is_told_to_come_back_instead_of_piling_up(db: &TestDb) {
    let hashing = HashingLimits { concurrent: 1, queue: 2, wait: Duration::from_secs(30), ..HashingLimits::default() };
    // Registrations per client are not what this is about; hashing turns are.
    let settings = Settings { hashing, throttle_registrations: policy(1000), ..Settings::default() };
    let app = TestApp::with_settings(db, settings);
    let registrations = (0..24).map(|i| {
        let app = &app;
        async move {
            let body = json!({"username": format!("flood{i}"), "email": format!("flood{i}@example.org"), "password": PASSWORD});
            app.send(Method::POST, "/api/v1/auth/register", None, Some(body)).await
        }
    });
    let answers = join_all(registrations).await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    let busy: Vec<_> = answers.iter().filter(|r| r.status == 503).collect();
    assert_eq!(created + busy.len(), 24, "only 201 or 503: {:?}", statuses(&answers));
    assert!(created >= 3 && !busy.is_empty(), "one hashing, two waiting, the rest refused: {:?}", statuses(&answers));
    for answer in busy {
        answer.problem(503);
        assert_eq!(answer.headers[header::RETRY_AFTER], "2");
    }
}

async fn every_answer_says_nosniff_and_no_api_answer_may_be_cached(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, token) = app.register("anna").await;
    let answers = [
        ("/healthz", app.send(Method::GET, "/healthz", None, None).await, false),
        ("/nowhere", app.send(Method::GET, "/nowhere", None, None).await, false),
        ("/api/v1/me", app.get("/api/v1/me", &token).await, true),
        ("/api/v1/me 401", app.get("/api/v1/me", "not-a-token").await, true),
        ("/api/v1/me 405", app.send(Method::PUT, "/api/v1/me", Some(&token), Some(json!({}))).await, true),
        ("login", app.login("anna", PASSWORD).await, true),
        ("failed login", app.login("anna", "wrong").await, true),
    ];
    for (what, answer, private) in answers {
        assert_eq!(answer.headers["x-content-type-options"], "nosniff", "{what}");
        if private {
            assert_eq!(
                answer.headers.get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap()),
                Some("no-store"),
                "{what}: {:?}",
                answer.headers
            );
        }
    }
}

async fn browsers_get_cors_headers_only_for_configured_origins(db: &TestDb) {
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/v1/me")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PATCH")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization, content-type")
            .body(Body::empty())
            .unwrap()
    };
    let closed = TestApp::new(db);
    let answer = closed.raw(preflight("https://app.example.org")).await;
    assert!(!answer.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN), "no CORS unless configured");
    let http =
        HttpSettings { cors_origins: vec!["https://app.example.org".parse().unwrap()], ..HttpSettings::default() };
    let open = TestApp::with_http(db, Settings::default(), http);
    let answer = open.raw(preflight("https://app.example.org")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.org");
    assert!(answer.headers[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap().contains("PATCH"));
    let other = open.raw(preflight("https://evil.example.net")).await;
    assert!(!other.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN), "other origins get nothing");
}

async fn invented_methods_are_one_metrics_label(db: &TestDb) {
    let app = TestApp::new(db);
    for method in ["BREW", "PROPFIND", "X-INVENTED-1", "X-INVENTED-2"] {
        let request = Request::builder().method(method).uri("/healthz").body(Body::empty()).unwrap();
        app.raw(request).await.problem(405);
    }
    let metrics = app.send(Method::GET, "/metrics", None, None).await.text;
    assert!(metrics.contains(r#"method="other""#), "{metrics}");
    assert!(!metrics.contains("INVENTED") && !metrics.contains("BREW"), "{metrics}");
}

async fn metrics_can_move_to_a_listener_of_their_own(db: &TestDb) {
    let http = HttpSettings { metrics_with_api: false, ..HttpSettings::default() };
    let app = TestApp::with_http(db, Settings::default(), http);
    app.send(Method::GET, "/metrics", None, None).await.problem(404);
    let state = carenest_server::AppState::new(db.store(), Settings::default());
    let metrics = TestApp { router: carenest_server::metrics_app(state) };
    assert_eq!(metrics.send(Method::GET, "/metrics", None, None).await.status, 200);
    assert_eq!(metrics.send(Method::GET, "/api/v1/me", None, None).await.status, 404, "and nothing else");
}

/// A body that sends its first byte and then one more every `pause`, for ever.
fn trickling_body(pause: Duration) -> Body {
    let chunks = futures::stream::unfold(0u32, move |sent| async move {
        if sent > 0 {
            tokio::time::sleep(pause).await;
        }
        let chunk = if sent == 0 { "{" } else { " " };
        Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk)), sent + 1))
    });
    Body::from_stream(chunks)
}

async fn a_body_that_stalls_is_408_and_one_that_trickles_for_ever_is_cut_off_with_503(db: &TestDb) {
    let http = HttpSettings {
        body_timeout: Duration::from_millis(200),
        request_timeout: Duration::from_secs(1),
        ..HttpSettings::default()
    };
    let app = TestApp::with_http(db, Settings::default(), http);
    let request =
        |body| Request::post("/api/v1/auth/login").header(header::CONTENT_TYPE, "application/json").body(body).unwrap();
    let stalled = app.raw(request(trickling_body(Duration::from_secs(3600)))).await;
    stalled.problem(408);
    let trickling = app.raw(request(trickling_body(Duration::from_millis(50)))).await;
    trickling.problem(503);
    assert_eq!(trickling.headers[header::RETRY_AFTER], "1");
}

/// Sends a raw body, as a client that writes its own JSON would.
async fn raw_json(app: &TestApp, method: Method, path: &str, token: &str, body: &str) -> Response {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.raw(request).await
}

async fn hostile_text_is_refused_with_a_4xx_or_stored_exactly_as_sent(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, token) = app.parent("anna").await;
    for name in [
        "Robert'); DROP TABLE child_profiles;--",
        "1' OR '1'='1",
        "\u{202E}Noor\u{202C} 👶🏽",
        "名前 ثمانية",
        "a\\b\"c%_*",
    ] {
        let created = app.post("/api/v1/children", &token, json!({"name": name, "age": 3})).await;
        assert_eq!(created.status, 201, "{name}: {}", created.text);
        let id = created.json()["id"].as_i64().unwrap();
        assert_eq!(app.get(&format!("/api/v1/children/{id}"), &token).await.json()["name"], name, "verbatim");
    }
    let listed = app.get("/api/v1/children?limit=50", &token).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 5, "no statement was changed by what it carried");
    let refused = [
        ("/api/v1/children", r#"{"name": "no\u0000l", "age": 3}"#, 422),
        ("/api/v1/children", r#"{"name": "lone \ud800 surrogate", "age": 3}"#, 400),
        ("/api/v1/children", r#"{"name": "Noor", "age": 1e400}"#, 400),
        ("/api/v1/children", r#"{"name": "Noor", "age": 99999999999999999999999}"#, 422),
        ("/api/v1/children", r#"{"name": "Noor", "age": -9223372036854775809}"#, 422),
        ("/api/v1/goals", r#"{"title": "x", "progress": 1.5}"#, 422),
    ];
    for (path, body, status) in refused {
        let answer = raw_json(&app, Method::POST, path, &token, body).await;
        answer.problem(status);
    }
    let deep = format!("{{\"onboardingData\": {{\"a\": {}1{}}}}}", "[".repeat(100_000), "]".repeat(100_000));
    raw_json(&app, Method::PATCH, "/api/v1/onboarding", &token, &deep).await.problem(400);
    let nested = format!("{{\"onboardingData\": {{\"a\": {}1{}}}}}", "[".repeat(100), "]".repeat(100));
    let answer = raw_json(&app, Method::PATCH, "/api/v1/onboarding", &token, &nested).await;
    assert_eq!(answer.invalid_fields(), ["onboardingData"], "within the parser's depth, past the service's");
    let nul_key = r#"{"onboardingData": {"k\u0000": 1}}"#;
    assert_eq!(
        raw_json(&app, Method::PATCH, "/api/v1/onboarding", &token, nul_key).await.invalid_fields(),
        ["onboardingData"]
    );
    app.login("anna\u{0}", PASSWORD).await.problem(401);
    app.login("' OR 1=1 --", PASSWORD).await.problem(401);
    app.get("/api/v1/therapists?q=%00", &token).await.problem(400);
    let search = app.get("/api/v1/therapists?q=%25%27%20OR%201%3D1", &token).await;
    assert_eq!(search.status, 200, "{}", search.text);
    assert_eq!(search.json()["items"], json!([]));
    let cursor = base64_url(r#"{"name":"\u0000","id":1}"#);
    app.get(&format!("/api/v1/therapists?cursor={cursor}"), &token).await.problem(400);
    assert_eq!(app.get("/api/v1/me", &token).await.status, 200, "and the service is fine");
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

on_both_backends!(
    hostile_text_is_refused_with_a_4xx_or_stored_exactly_as_sent,
    thirty_simultaneous_wrong_passwords_for_one_account_are_checked_at_most_five_times,
    logging_into_ones_own_account_does_not_reset_the_clients_count,
    a_stranger_typing_a_name_does_not_lock_its_owner_out_of_a_device_they_used_before,
    behind_a_trusted_proxy_each_forwarded_client_is_counted_on_its_own,
    password_checks_on_the_account_itself_are_limited_like_logins,
    registrations_are_limited_per_client,
    a_flood_of_registrations_is_told_to_come_back_instead_of_piling_up,
    every_answer_says_nosniff_and_no_api_answer_may_be_cached,
    browsers_get_cors_headers_only_for_configured_origins,
    invented_methods_are_one_metrics_label,
    metrics_can_move_to_a_listener_of_their_own,
    a_body_that_stalls_is_408_and_one_that_trickles_for_ever_is_cut_off_with_503,
);
