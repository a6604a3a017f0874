//! The Accounts and Roles sections of the API contract, through the real router, on both backends.

mod common;

use axum::http::{header, Method};
use carenest_domain::accounts::ThrottlePolicy;
use carenest_domain::ids::UserId;
use carenest_server::Settings;
use carenest_store_tests::{on_both_backends, TestDb};
use common::{TestApp, PASSWORD};
use futures::future::join_all;
use serde_json::json;

async fn registering_answers_the_user_and_a_token_that_works(db: &TestDb) {
    let app = TestApp::new(db);
    let response = app
        .send(Method::POST, "/api/v1/auth/register", None, Some(json!({"username": "Anna", "email": "anna@example.org", "password": PASSWORD, "profilePicture": "https://img.example.org/a.png"})))
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    let body = response.json();
    assert_eq!(body["user"]["username"], "Anna");
    assert_eq!(body["user"]["role"], "parent");
    assert_eq!(body["user"]["profilePicture"], "https://img.example.org/a.png");
    assert!(body["user"].get("password").is_none());
    let token = body["token"].as_str().unwrap();
    assert!(token.len() >= 43, "at least 256 bits");
    let me = app.get("/api/v1/me", token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["username"], "Anna");
    assert_eq!(me.json()["parentProfile"], json!(null));
    assert_eq!(me.json()["childProfiles"], json!([]));
}

async fn a_username_taken_in_any_case_is_a_conflict(db: &TestDb) {
    let app = TestApp::new(db);
    app.register("anna").await;
    let again = app
        .send(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"username": "ANNA", "email": "other@example.org", "password": PASSWORD})),
        )
        .await;
    assert!(again.problem(409)["detail"].as_str().unwrap().contains("username"));
}

async fn registration_reports_every_invalid_field(db: &TestDb) {
    let app = TestApp::new(db);
    let response = app
        .send(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"username": "a!", "email": "nope", "password": "short"})),
        )
        .await;
    assert_eq!(response.invalid_fields(), ["username", "email", "password"]);
    let response = app.send(Method::POST, "/api/v1/auth/register", None, Some(json!({}))).await;
    assert_eq!(response.invalid_fields(), ["username", "email", "password"]);
    let response = app
        .send(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"username": " anna", "email": "a@example.org", "password": PASSWORD})),
        )
        .await;
    assert_eq!(response.invalid_fields(), ["username"], "nothing is trimmed silently");
}

async fn login_takes_the_username_or_email_in_any_case(db: &TestDb) {
    let app = TestApp::new(db);
    app.register("Anna").await;
    for login in ["anna", "ANNA", "Anna@Example.org"] {
        let response = app.login(login, PASSWORD).await;
        assert_eq!(response.status, 200, "{login}: {}", response.text);
        assert_eq!(response.json()["user"]["username"], "Anna");
    }
}

async fn a_wrong_password_and_an_unknown_user_get_the_same_401(db: &TestDb) {
    let app = TestApp::new(db);
    app.register("anna").await;
    let wrong = app.login("anna", "not the password").await;
    let unknown = app.login("nobody", "not the password").await;
    wrong.problem(401);
    unknown.problem(401);
    assert_eq!(wrong.text, unknown.text);
}

async fn every_protected_route_refuses_missing_malformed_expired_and_revoked_tokens(db: &TestDb) {
    let app = TestApp::new(db);
    let (anna, revoked) = app.register("anna").await;
    assert_eq!(app.send(Method::POST, "/api/v1/auth/logout", Some(&revoked), None).await.status, 204);
    let (expired, hash) = carenest_app::passwords::new_token();
    db.store()
        .insert_token(UserId(anna), &hash, carenest_domain::time::now() - chrono::Duration::seconds(1))
        .await
        .unwrap();
    let routes = [
        (Method::POST, "/api/v1/auth/logout"),
        (Method::GET, "/api/v1/me"),
        (Method::PATCH, "/api/v1/me"),
        (Method::DELETE, "/api/v1/me"),
        (Method::GET, "/api/v1/me/export"),
        (Method::GET, "/api/v1/me/access-log"),
        (Method::GET, "/api/v1/users"),
        (Method::PATCH, "/api/v1/users/1"),
        (Method::GET, "/api/v1/parent-profile"),
        (Method::POST, "/api/v1/parent-profile"),
        (Method::GET, "/api/v1/onboarding"),
        (Method::GET, "/api/v1/children"),
        (Method::GET, "/api/v1/children/1"),
        (Method::GET, "/api/v1/goals"),
        (Method::DELETE, "/api/v1/goals/1"),
        (Method::GET, "/api/v1/therapists"),
        (Method::POST, "/api/v1/therapists"),
        (Method::GET, "/api/v1/sessions"),
        (Method::POST, "/api/v1/sessions"),
        (Method::PUT, "/api/v1/sessions/1/therapists/1"),
    ];
    let bad_headers = [
        None,
        Some("Basic YW5uYTpwdw==".to_owned()),
        Some("Bearer".to_owned()),
        Some("Bearer not-a-token".to_owned()),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {revoked}")),
    ];
    for (method, path) in routes {
        for authorization in &bad_headers {
            let mut request = axum::http::Request::builder()
                .method(method.clone())
                .uri(path)
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(value) = authorization {
                request = request.header(header::AUTHORIZATION, value);
            }
            let response = app.raw(request.body(axum::body::Body::from("{}")).unwrap()).await;
            assert_eq!(response.status, 401, "{method} {path} with {authorization:?}: {}", response.text);
            assert_eq!(response.headers.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
        }
    }
}

async fn each_role_gets_exactly_what_the_role_table_gives_it(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, parent) = app.register("parent").await;
    let (therapist_id, therapist) = app.register("therapist").await;
    let (_, admin) = app.admin(db, "admin").await;
    db.store().create_therapist("Tess".into(), Some(UserId(therapist_id))).await.unwrap();
    for token in [&parent, &therapist] {
        app.get("/api/v1/users", token).await.problem(403);
        app.patch("/api/v1/users/1", token, json!({"role": "admin"})).await.problem(403);
        app.post("/api/v1/therapists", token, json!({"name": "X"})).await.problem(403);
        app.post(
            "/api/v1/sessions",
            token,
            json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [1]}),
        )
        .await
        .problem(403);
        assert_eq!(app.get("/api/v1/therapists", token).await.status, 200);
        assert_eq!(app.get("/api/v1/me", token).await.status, 200);
    }
    assert_eq!(app.get("/api/v1/users", &admin).await.json()["items"].as_array().unwrap().len(), 3);
    assert_eq!(app.post("/api/v1/therapists", &admin, json!({"name": "Bram"})).await.status, 201);
}

async fn an_admin_changes_roles_but_the_last_admin_cannot_demote_themself(db: &TestDb) {
    let app = TestApp::new(db);
    let (admin_id, admin) = app.admin(db, "admin").await;
    let (anna, _) = app.register("anna").await;
    let promoted = app.patch(&format!("/api/v1/users/{anna}"), &admin, json!({"role": "admin"})).await;
    assert_eq!(promoted.json()["role"], "admin");
    app.patch(&format!("/api/v1/users/{anna}"), &admin, json!({"role": "parent"})).await;
    app.patch(&format!("/api/v1/users/{admin_id}"), &admin, json!({"role": "parent"})).await.problem(409);
    assert_eq!(
        app.patch(&format!("/api/v1/users/{admin_id}"), &admin, json!({"role": "boss"})).await.invalid_fields(),
        ["role"]
    );
    app.patch("/api/v1/users/99999", &admin, json!({"role": "parent"})).await.problem(404);
}

async fn a_new_password_needs_the_current_one_and_revokes_other_tokens(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, first) = app.register("anna").await;
    let second = app.login("anna", PASSWORD).await.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.patch("/api/v1/me", &first, json!({"password": "a brand new one"})).await.invalid_fields(),
        ["currentPassword"]
    );
    assert_eq!(
        app.patch("/api/v1/me", &first, json!({"password": "a brand new one", "currentPassword": "wrong guess"}))
            .await
            .invalid_fields(),
        ["currentPassword"]
    );
    let changed = app
        .patch(
            "/api/v1/me",
            &first,
            json!({"password": "a brand new one", "currentPassword": PASSWORD, "email": "new@example.org"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json()["email"], "new@example.org");
    assert_eq!(app.get("/api/v1/me", &first).await.status, 200, "the token that changed it still works");
    app.get("/api/v1/me", &second).await.problem(401);
    app.login("anna", PASSWORD).await.problem(401);
    assert_eq!(app.login("anna", "a brand new one").await.status, 200);
}

async fn erasing_the_account_needs_the_password_and_leaves_nothing_behind(db: &TestDb) {
    let app = TestApp::new(db);
    app.login("anna@example.org", "a guess before the account existed").await.problem(401);
    let (anna, token) = app.parent("anna").await;
    let (_, admin) = app.admin(db, "admin").await;
    let noor = app.post("/api/v1/children", &token, json!({"name": "Noor", "age": 3})).await.json()["id"].clone();
    let tess = app.post("/api/v1/therapists", &admin, json!({"name": "Tess"})).await.json()["id"].clone();
    let session = json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00", "therapistIds": [tess],
        "childProfileId": noor, "notes": "Slaapt slecht."});
    let session = app.post("/api/v1/sessions", &admin, session).await.json()["id"].clone();
    app.login("anna@example.org", "a wrong guess").await.problem(401);
    let wrong = app.send(Method::DELETE, "/api/v1/me", Some(&token), Some(json!({"password": "nope nope"}))).await;
    assert_eq!(wrong.invalid_fields(), ["password"]);
    assert_eq!(
        app.send(Method::DELETE, "/api/v1/me", Some(&token), Some(json!({"password": PASSWORD}))).await.status,
        204
    );
    app.get("/api/v1/me", &token).await.problem(401);
    app.login("anna", PASSWORD).await.problem(401);
    let mut raw = db.raw().await;
    for (table, column) in [("users", "id"), ("parent_profiles", "user_id"), ("auth_tokens", "user_id")] {
        assert_eq!(
            raw.text(&format!("SELECT CAST(count(*) AS TEXT) FROM {table} WHERE {column} = {anna}")).await.as_deref(),
            Some("0"),
            "{table}"
        );
    }
    assert_eq!(raw.text("SELECT CAST(count(*) AS TEXT) FROM child_profiles").await.as_deref(), Some("0"));
    assert_ne!(
        raw.text(&format!("SELECT CAST(count(*) AS TEXT) FROM audit_log WHERE subject_user_id = {anna}"))
            .await
            .as_deref(),
        Some("0"),
        "audit rows stay"
    );
    let erased = format!("SELECT CAST(count(*) AS TEXT) FROM audit_log WHERE actor_user_id = {anna} AND action = 'delete' AND resource_type = 'user' AND resource_id = {anna}");
    assert_eq!(raw.text(&erased).await.as_deref(), Some("1"), "the erase itself is recorded");
    let notes = format!("SELECT COALESCE(notes, 'none') || '/' || COALESCE(CAST(child_profile_id AS TEXT), 'none') FROM sessions WHERE id = {session}");
    assert_eq!(
        raw.text(&notes).await.as_deref(),
        Some("none/none"),
        "the practice keeps the slot, not what was written"
    );
    // (The login tried after the erase counts against the name "anna", as for any unknown name.)
    let counters = format!("SELECT CAST(count(*) AS TEXT) FROM login_throttles WHERE throttle_key IN ('account:{anna}', 'login:anna@example.org')");
    assert_eq!(raw.text(&counters).await.as_deref(), Some("0"), "no login counter names the erased account");
}

async fn the_export_holds_everything_but_secrets(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, token) = app.parent("anna").await;
    app.post("/api/v1/children", &token, json!({"name": "Noor", "age": 3, "developmentNotes": "Says ten words."}))
        .await;
    app.post("/api/v1/goals", &token, json!({"title": "Sleep through"})).await;
    let export = app.get("/api/v1/me/export", &token).await;
    assert_eq!(export.status, 200);
    let body = export.json();
    assert_eq!(body["username"], "anna");
    assert_eq!(body["parentProfile"]["name"], "anna");
    assert_eq!(body["childProfiles"][0]["developmentNotes"], "Says ten words.");
    assert_eq!(body["parentingGoals"][0]["title"], "Sleep through");
    assert!(body["accessLog"].as_array().unwrap().len() >= 3);
    let actions: Vec<_> = body["actions"].as_array().unwrap().iter().map(|a| a["resourceType"].clone()).collect();
    assert!(actions.contains(&json!("child_profile")) && actions.contains(&json!("parenting_goal")), "{actions:?}");
    assert_eq!(body["tokens"].as_array().unwrap().len(), 1, "the live token, as metadata");
    assert!(body["tokens"][0]["expiresAt"].is_string());
    assert!(body.get("therapist").is_none(), "a parent has no therapist record");
    assert!(!export.text.contains(&token) && !export.text.contains("argon2"), "no token or hash in the export");
}

async fn a_therapists_export_holds_their_schedule_without_the_families_data(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let (_, anna) = app.parent("anna").await;
    let (tess_user, tess) = app.register("tess").await;
    let therapist = app.post("/api/v1/therapists", &admin, json!({"name": "Tess", "userId": tess_user})).await;
    let noor = app.post("/api/v1/children", &anna, json!({"name": "Noor", "age": 3})).await.json()["id"].clone();
    let session = json!({"date": "2026-12-01", "startTime": "09:00", "endTime": "10:00",
        "therapistIds": [therapist.json()["id"]], "childProfileId": noor, "notes": "Slaapt slecht."});
    app.post("/api/v1/sessions", &admin, session).await;
    app.get("/api/v1/sessions", &tess).await;
    let export = app.get("/api/v1/me/export", &tess).await;
    let body = export.json();
    assert_eq!(body["therapist"]["therapist"]["name"], "Tess");
    let schedule = body["therapist"]["schedule"].as_array().unwrap();
    assert_eq!(schedule.len(), 1);
    assert_eq!(schedule[0]["startTime"], "09:00:00");
    assert!(schedule[0]["notes"].is_null() && schedule[0]["childProfileId"].is_null(), "{}", schedule[0]);
    assert!(!export.text.contains("Slaapt") && !export.text.contains("Noor"));
    let reads = body["actions"].as_array().unwrap().iter().filter(|a| a["action"] == "read").count();
    assert!(reads >= 1, "the therapist's reads of the family's session are theirs to see");
}

async fn admins_search_the_audit_log_and_nobody_else_can(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "admin").await;
    let (anna_id, anna) = app.parent("anna").await;
    app.post("/api/v1/children", &anna, json!({"name": "Noor", "age": 3})).await;
    app.get("/api/v1/audit", &anna).await.problem(403);
    let all = app.get(&format!("/api/v1/audit?subjectUserId={anna_id}&limit=1"), &admin).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    assert_eq!(all["items"][0]["resourceType"], "child_profile", "newest first");
    assert!(all["items"][0]["id"].is_i64());
    let next = app
        .get(&format!("/api/v1/audit?subjectUserId={anna_id}&cursor={}", all["nextCursor"].as_str().unwrap()), &admin)
        .await;
    assert_eq!(next.json()["items"][0]["resourceType"], "parent_profile");
    let filtered =
        app.get("/api/v1/audit?action=create&resourceType=child_profile&from=2000-01-01T00:00:00Z", &admin).await;
    assert_eq!(filtered.json()["items"].as_array().unwrap().len(), 1);
    let bad = app.get("/api/v1/audit?action=peek&from=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", &admin).await;
    assert_eq!(bad.problem(400)["errors"][0]["field"], "action");
    let backwards = app.get("/api/v1/audit?from=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", &admin).await;
    assert_eq!(backwards.problem(400)["errors"][0]["field"], "until");
    let odd = app.get("/api/v1/audit?resourceType=Child%C2%87&actorUserId=-3&resourceId=-1", &admin).await;
    let fields: Vec<_> = odd.problem(400)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["actorUserId", "resourceId", "resourceType"], "every malformed filter is named at once");
    let reads = app.get("/api/v1/audit?resourceType=audit_log", &admin).await.json();
    assert_eq!(reads["items"].as_array().unwrap().len(), 3, "the admin's three searches that answered are recorded");
}

async fn failed_logins_are_throttled_across_two_app_instances_sharing_a_database(db: &TestDb) {
    let settings = Settings {
        throttle_per_account: ThrottlePolicy { max_failures: 3, window: chrono::Duration::minutes(15) },
        ..Settings::default()
    };
    let first = TestApp::with_settings(db, settings.clone());
    let second_db_store = db.second_store().await;
    let second = TestApp { router: carenest_server::app(carenest_server::AppState::new(second_db_store, settings)) };
    let (anna, _) = first.register("anna").await;
    let guesses = join_all([
        first.login("anna", "wrong one"),
        second.login("ANNA", "wrong two"),
        first.login("anna", "wrong three"),
    ])
    .await;
    for guess in guesses {
        guess.problem(401);
    }
    let throttled = second.login("anna", PASSWORD).await;
    throttled.problem(429);
    let retry_after: u64 = throttled.headers.get(header::RETRY_AFTER).unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after));
    db.store().clear_attempts(&[carenest_domain::accounts::ThrottleKey::account(UserId(anna))]).await.unwrap();
    assert_eq!(first.login("anna", PASSWORD).await.status, 200);
    second.login("anna", "wrong again").await.problem(401);
    assert_eq!(second.login("anna", PASSWORD).await.status, 200, "a success resets the count");
}

on_both_backends!(
    registering_answers_the_user_and_a_token_that_works,
    a_username_taken_in_any_case_is_a_conflict,
    registration_reports_every_invalid_field,
    login_takes_the_username_or_email_in_any_case,
    a_wrong_password_and_an_unknown_user_get_the_same_401,
    every_protected_route_refuses_missing_malformed_expired_and_revoked_tokens,
    each_role_gets_exactly_what_the_role_table_gives_it,
    an_admin_changes_roles_but_the_last_admin_cannot_demote_themself,
    a_new_password_needs_the_current_one_and_revokes_other_tokens,
    erasing_the_account_needs_the_password_and_leaves_nothing_behind,
    the_export_holds_everything_but_secrets,
    admins_search_the_audit_log_and_nobody_else_can,
    a_therapists_export_holds_their_schedule_without_the_families_data,
    failed_logins_are_throttled_across_two_app_instances_sharing_a_database,
);
