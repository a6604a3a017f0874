//! The pages without a browser, on both backends: sessions in cookies, CSRF and cross-site
//! refusals, security headers, language negotiation, and another family's records.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use carenest_store_tests::{on_both_backends, TestDb};
use common::{Response, TestApp, PASSWORD};
use serde_json::json;

/// A form post (or a get, without a form) with the given cookie and extra headers.
async fn page(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    form: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut request = Request::builder().method(method).uri(path).header(header::HOST, "care.test");
    if !cookie.is_empty() {
        request = request.header(header::COOKIE, cookie);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = if form.is_empty() {
        request.body(Body::empty())
    } else {
        request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(form.to_owned()))
    };
    app.raw(request.unwrap()).await
}

fn location(response: &Response) -> &str {
    response.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Signs in through the form and returns the session cookie.
async fn sign_in(app: &TestApp, username: &str) -> String {
    let signed = page(
        app,
        Method::POST,
        "/login",
        "",
        &format!("username={username}&password={}", PASSWORD.replace(' ', "+")),
        &[],
    )
    .await;
    assert_eq!(location(&signed), "/home", "{}", signed.text);
    let cookie = signed.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

/// The CSRF token the page's forms carry.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

async fn pages_ask_for_a_sign_in_and_carry_their_security_headers(db: &TestDb) {
    let app = TestApp::new(db);
    let root = page(&app, Method::GET, "/", "", "", &[]).await;
    assert_eq!(location(&root), "/login");
    assert_eq!(location(&page(&app, Method::GET, "/home", "", "", &[]).await), "/login");
    let login = page(&app, Method::GET, "/login", "", "", &[]).await;
    assert_eq!(login.status, 200);
    let policy = login.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
    assert!(policy.contains("default-src 'none'") && !policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(login.headers.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
    assert!(login.text.contains("<html lang=\"nl\">"), "Dutch by default");
    assert!(login.text.contains("name=\"username\"") && login.text.contains("autocomplete=\"current-password\""));
    let english = page(&app, Method::GET, "/login", "", "", &[("accept-language", "en-GB,en;q=0.8")]).await;
    assert!(english.text.contains("<html lang=\"en\">"));
    let chosen = page(&app, Method::GET, "/login", "lang=en", "", &[("accept-language", "nl")]).await;
    assert!(chosen.text.contains("<html lang=\"en\">"), "the switch's cookie comes before the browser's wish");
    let stylesheet = login.text.split("href=\"/static/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let css = page(&app, Method::GET, &format!("/static/{stylesheet}"), "", "", &[]).await;
    assert_eq!(css.status, 200);
    assert!(css.headers.get(header::CACHE_CONTROL).unwrap().to_str().unwrap().contains("immutable"));
}

async fn a_form_without_the_sessions_csrf_token_or_from_another_site_changes_nothing(db: &TestDb) {
    let app = TestApp::new(db);
    app.parent("anna").await;
    let cookie = sign_in(&app, "anna").await;
    let home = page(&app, Method::GET, "/home", &cookie, "", &[]).await;
    let token = csrf(&home.text);
    let forged = page(&app, Method::POST, "/children", &cookie, "csrf=forged&name=Noor&age=4", &[]).await;
    assert_eq!(forged.status, 403);
    let cross = [("origin", "https://evil.example")];
    let elsewhere =
        page(&app, Method::POST, "/children", &cookie, &format!("csrf={token}&name=Noor&age=4"), &cross).await;
    assert_eq!(elsewhere.status, 403);
    let fetched = [("sec-fetch-site", "cross-site")];
    let fetched =
        page(&app, Method::POST, "/children", &cookie, &format!("csrf={token}&name=Noor&age=4"), &fetched).await;
    assert_eq!(fetched.status, 403);
    assert!(!page(&app, Method::GET, "/home", &cookie, "", &[]).await.text.contains("Noor"), "nothing was added");
    let added = page(&app, Method::POST, "/children", &cookie, &format!("csrf={token}&name=Noor&age=4"), &[]).await;
    assert_eq!(location(&added), "/home", "{}", added.text);
    assert!(page(&app, Method::GET, "/home", &cookie, "", &[]).await.text.contains("Noor"));
}

async fn a_refused_form_comes_back_with_each_error_next_to_its_field(db: &TestDb) {
    let app = TestApp::new(db);
    app.parent("anna").await;
    let cookie = sign_in(&app, "anna").await;
    let token = csrf(&page(&app, Method::GET, "/children/new", &cookie, "", &[]).await.text);
    let refused = page(&app, Method::POST, "/children", &cookie, &format!("csrf={token}&name=&age=31"), &[]).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.text.contains("id=\"name-error\"") && refused.text.contains("id=\"age-error\""),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("aria-invalid=\"true\""));
    assert!(refused.text.contains("value=\"31\""), "what was typed stays");
}

async fn another_familys_records_are_not_found_and_signing_out_ends_the_session(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, anna) = app.parent("anna").await;
    app.parent("ben").await;
    let child = app.post("/api/v1/children", &anna, json!({"name": "Noor", "age": 4})).await.json()["id"].clone();
    let cookie = sign_in(&app, "ben").await;
    let token = csrf(&page(&app, Method::GET, "/home", &cookie, "", &[]).await.text);
    let theirs =
        page(&app, Method::POST, &format!("/children/{child}/delete"), &cookie, &format!("csrf={token}"), &[]).await;
    assert_eq!(theirs.status, 404);
    assert_eq!(app.get(&format!("/api/v1/children/{child}"), &anna).await.status, 200, "Noor is still there");
    let out = page(&app, Method::POST, "/logout", &cookie, &format!("csrf={token}"), &[]).await;
    assert_eq!(location(&out), "/login");
    assert_eq!(location(&page(&app, Method::GET, "/home", &cookie, "", &[]).await), "/login", "the old cookie is dead");
}

async fn the_data_download_is_the_apis_export(db: &TestDb) {
    let app = TestApp::new(db);
    app.parent("anna").await;
    let cookie = sign_in(&app, "anna").await;
    let download = page(&app, Method::GET, "/account/export", &cookie, "", &[]).await;
    assert_eq!(download.status, 200);
    assert!(download.headers.get(header::CONTENT_DISPOSITION).unwrap().to_str().unwrap().contains("attachment"));
    let document = download.json();
    assert_eq!(document["username"], "anna");
    assert!(document["reminders"].is_array() && document["accessLog"].is_array());
}

async fn a_parent_edits_a_child_moves_a_goal_on_and_turns_reminders_off(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, anna) = app.parent("anna").await;
    let child = app.post("/api/v1/children", &anna, json!({"name": "Noor", "age": 4})).await.json()["id"].clone();
    let goal = app.post("/api/v1/goals", &anna, json!({"title": "Sleep"})).await.json()["id"].clone();
    let cookie = sign_in(&app, "anna").await;
    let edit = page(&app, Method::GET, &format!("/children/{child}/edit"), &cookie, "", &[]).await;
    assert!(edit.text.contains("value=\"Noor\""), "{}", edit.text);
    let token = csrf(&edit.text);
    let renamed = page(
        &app,
        Method::POST,
        &format!("/children/{child}"),
        &cookie,
        &format!("csrf={token}&name=Noor+Bakker&age=5"),
        &[],
    )
    .await;
    assert_eq!(location(&renamed), "/home", "{}", renamed.text);
    assert_eq!(app.get(&format!("/api/v1/children/{child}"), &anna).await.json()["age"], 5);
    let moved = page(
        &app,
        Method::POST,
        &format!("/goals/{goal}/progress"),
        &cookie,
        &format!("csrf={token}&progress=70&status=paused"),
        &[],
    )
    .await;
    assert_eq!(location(&moved), "/home");
    let stored = app.get(&format!("/api/v1/goals/{goal}"), &anna).await.json();
    assert_eq!((stored["progress"].clone(), stored["status"].clone()), (json!(70), json!("paused")));
    let off = page(&app, Method::POST, "/account/notifications", &cookie, &format!("csrf={token}"), &[]).await;
    assert_eq!(off.status, 200);
    assert_eq!(app.get("/api/v1/me/notifications", &anna).await.json()["sessionReminders"], false);
    page(&app, Method::POST, "/account/notifications", &cookie, &format!("csrf={token}&sessionReminders=on"), &[])
        .await;
    assert_eq!(app.get("/api/v1/me/notifications", &anna).await.json()["sessionReminders"], true);
    let (_, _) = app.parent("ben").await;
    let ben = sign_in(&app, "ben").await;
    assert_eq!(page(&app, Method::GET, &format!("/children/{child}/edit"), &ben, "", &[]).await.status, 404);
}

async fn staff_keep_therapists_their_hours_time_off_and_roles_and_read_the_audit_log(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "boss").await;
    let (tess_user, _) = app.register("tess").await;
    let cookie = sign_in(&app, "boss").await;
    let list = page(&app, Method::GET, "/staff/therapists", &cookie, "", &[]).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let token = csrf(&list.text);
    let added = page(
        &app,
        Method::POST,
        "/staff/therapists",
        &cookie,
        &format!("csrf={token}&name=Tess&userId={tess_user}"),
        &[],
    )
    .await;
    assert_eq!(location(&added), "/staff/therapists", "{}", added.text);
    let tess = app.get("/api/v1/therapists", &admin).await.json()["items"][0]["id"].as_i64().unwrap();
    assert_eq!(app.get("/api/v1/users", &admin).await.json()["items"][1]["role"], "therapist");

    let hours = format!("csrf={token}&hours-1=09:00-12:00%2C+13:00-17:00&hours-3=nine+to+five");
    let unreadable = page(&app, Method::POST, &format!("/staff/therapists/{tess}/hours"), &cookie, &hours, &[]).await;
    assert_eq!(unreadable.status, 422);
    assert!(
        unreadable.text.contains("id=\"hours-3-error\"") && unreadable.text.contains("nine to five"),
        "what was typed stays"
    );
    let hours = format!("csrf={token}&hours-1=09:00-12:00%2C+13:00-17:00&hours-3=09:00-17:00");
    let saved = page(&app, Method::POST, &format!("/staff/therapists/{tess}/hours"), &cookie, &hours, &[]).await;
    assert_eq!(location(&saved), format!("/staff/therapists/{tess}"));
    let weekly = app.get(&format!("/api/v1/therapists/{tess}/working-hours"), &admin).await.json()["weekly"].clone();
    assert_eq!(weekly.as_array().unwrap().len(), 3, "{weekly}");
    let off = format!("csrf={token}&startDate=2027-01-04&endDate=2027-01-08&reason=holiday");
    page(&app, Method::POST, &format!("/staff/therapists/{tess}/time-off"), &cookie, &off, &[]).await;
    let shown = page(&app, Method::GET, &format!("/staff/therapists/{tess}"), &cookie, "", &[]).await;
    assert!(shown.text.contains("holiday") && shown.text.contains("09:00-12:00, 13:00-17:00"), "{}", shown.text);

    let users = page(&app, Method::GET, "/staff/users", &cookie, "", &[]).await;
    assert!(users.text.contains("tess"));
    let promoted = page(
        &app,
        Method::POST,
        &format!("/staff/users/{tess_user}/role"),
        &cookie,
        &format!("csrf={token}&role=admin"),
        &[],
    )
    .await;
    assert_eq!(location(&promoted), "/staff/users");
    assert_eq!(app.get("/api/v1/users", &admin).await.json()["items"][1]["role"], "admin");
    let audit = page(&app, Method::GET, "/staff/audit", &cookie, "", &[]).await;
    assert_eq!(audit.status, 200);

    // A parent gets none of it.
    app.parent("anna").await;
    let anna = sign_in(&app, "anna").await;
    for path in ["/staff/therapists", "/staff/users", "/staff/audit", "/practice", "/book"] {
        assert_eq!(page(&app, Method::GET, path, &anna, "", &[]).await.status, 403, "{path}");
    }
}

async fn staff_move_a_session_around_a_conflict_and_cancel_it(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "boss").await;
    let bram = app.post("/api/v1/therapists", &admin, json!({"name": "Bram"})).await.json()["id"].clone();
    let book = |start: &str, end: &str| json!({"date": "2027-03-15", "startTime": start, "endTime": end, "therapistIds": [bram.clone()]});
    let first = app.post("/api/v1/sessions", &admin, book("09:00", "10:00")).await.json()["id"].clone();
    let second = app.post("/api/v1/sessions", &admin, book("11:00", "12:00")).await.json()["id"].clone();
    let cookie = sign_in(&app, "boss").await;
    let shown = page(&app, Method::GET, &format!("/session/{second}"), &cookie, "", &[]).await;
    assert!(shown.text.contains("action=\"/session/") && shown.text.contains("/move\""), "staff may move it");
    let token = csrf(&shown.text);
    let onto_first = format!("csrf={token}&date=2027-03-15&startTime=09:30&endTime=10:30");
    let refused = page(&app, Method::POST, &format!("/session/{second}/move"), &cookie, &onto_first, &[]).await;
    assert_eq!(refused.status, 409);
    assert!(
        refused.text.contains("Bram heeft al een sessie op maandag 15 maart 2027 van 09:00–10:00"),
        "{}",
        refused.text
    );
    assert_eq!(app.get(&format!("/api/v1/sessions/{second}"), &admin).await.json()["startTime"], "11:00:00");
    let later = format!("csrf={token}&date=2027-03-15&startTime=13:00&endTime=14:00");
    let moved = page(&app, Method::POST, &format!("/session/{second}/move"), &cookie, &later, &[]).await;
    assert_eq!(location(&moved), format!("/session/{second}?saved=moved"));
    let said = page(&app, Method::GET, location(&moved), &cookie, "", &[]).await;
    assert!(said.text.contains("Sessie verplaatst."));
    let cancelled =
        page(&app, Method::POST, &format!("/session/{first}/cancel"), &cookie, &format!("csrf={token}"), &[]).await;
    assert_eq!(location(&cancelled), format!("/session/{first}?saved=cancelled"));
    assert_eq!(app.get(&format!("/api/v1/sessions/{first}"), &admin).await.json()["status"], "cancelled");
}

async fn no_page_fails_whoever_opens_it(db: &TestDb) {
    let app = TestApp::new(db);
    let (_, admin) = app.admin(db, "boss").await;
    let (tess_user, _) = app.register("tess").await;
    let tess =
        app.post("/api/v1/therapists", &admin, json!({"name": "Tess", "userId": tess_user})).await.json()["id"].clone();
    let (_, anna) = app.parent("anna").await;
    let child = app.post("/api/v1/children", &anna, json!({"name": "Noor", "age": 4})).await.json()["id"].clone();
    let session = json!({"date": "2027-03-15", "startTime": "09:00", "endTime": "10:00", "therapistIds": [tess], "childProfileId": child});
    let session = app.post("/api/v1/sessions", &admin, session).await.json()["id"].clone();
    app.register("newcomer").await;
    let paths = [
        "/".to_owned(),
        "/home".to_owned(),
        "/onboarding".to_owned(),
        "/onboarding?step=3".to_owned(),
        "/profile".to_owned(),
        "/children/new".to_owned(),
        format!("/children/{child}/edit"),
        "/goals/new".to_owned(),
        "/sessions".to_owned(),
        "/suggestions".to_owned(),
        "/access-log".to_owned(),
        "/account".to_owned(),
        "/account/export".to_owned(),
        "/week".to_owned(),
        "/week?date=2027-03-15".to_owned(),
        format!("/session/{session}"),
        "/practice".to_owned(),
        "/practice?view=week&date=2027-03-15".to_owned(),
        "/book".to_owned(),
        "/staff/therapists".to_owned(),
        format!("/staff/therapists/{tess}"),
        "/staff/users".to_owned(),
        "/staff/audit".to_owned(),
        "/login".to_owned(),
        "/register".to_owned(),
        "/nowhere".to_owned(),
    ];
    for user in ["boss", "tess", "anna", "newcomer"] {
        let cookie = sign_in(&app, user).await;
        for path in &paths {
            let answer = page(&app, Method::GET, path, &cookie, "", &[]).await;
            assert!(answer.status.as_u16() < 500, "{user} opening {path}: {} {}", answer.status, answer.text);
        }
    }
    let nowhere =
        page(&app, Method::GET, "/nowhere", "", "", &[("accept", "text/html"), ("accept-language", "en")]).await;
    assert_eq!(nowhere.status, 404);
    assert!(nowhere.text.contains("<html lang=\"en\">"), "a browser gets a page: {}", nowhere.text);
    assert!(nowhere.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    let api = page(&app, Method::GET, "/api/v1/nowhere", "", "", &[("accept", "text/html")]).await;
    assert_eq!(api.content_type(), "application/problem+json");
    let (_, newcomer) = (0, sign_in(&app, "newcomer").await);
    let suggestions = page(&app, Method::GET, "/suggestions", &newcomer, "", &[]).await;
    assert_eq!(suggestions.status, 409);
    assert!(suggestions.text.contains("Maak eerst uw ouderprofiel aan"), "{}", suggestions.text);
}

on_both_backends!(
    no_page_fails_whoever_opens_it,
    staff_move_a_session_around_a_conflict_and_cancel_it,
    staff_keep_therapists_their_hours_time_off_and_roles_and_read_the_audit_log,
    a_parent_edits_a_child_moves_a_goal_on_and_turns_reminders_off,
    pages_ask_for_a_sign_in_and_carry_their_security_headers,
    a_form_without_the_sessions_csrf_token_or_from_another_site_changes_nothing,
    a_refused_form_comes_back_with_each_error_next_to_its_field,
    another_familys_records_are_not_found_and_signing_out_ends_the_session,
    the_data_download_is_the_apis_export,
);
