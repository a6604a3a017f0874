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

on_both_backends!(
    pages_ask_for_a_sign_in_and_carry_their_security_headers,
    a_form_without_the_sessions_csrf_token_or_from_another_site_changes_nothing,
    a_refused_form_comes_back_with_each_error_next_to_its_field,
    another_familys_records_are_not_found_and_signing_out_ends_the_session,
    the_data_download_is_the_apis_export,
);
