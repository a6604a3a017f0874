//! The web app: server-rendered pages for families, in Dutch and English. Every page calls the
//! same application layer as the JSON API, so the rules are the API's.
//!
//! A browser session is a login token in an `HttpOnly`, `SameSite=Lax` cookie (`Secure` when
//! `public_url` is https): the same credential the API issues, stored only as its hash, so
//! any number of processes share it and signing out ends it everywhere. Every form carries a
//! CSRF token derived from the session's secret, which a page of another site can't read; a
//! POST whose `Origin` or `Sec-Fetch-Site` says another site is refused before anything else.

mod accounts;
mod family;
pub mod i18n;
mod me;
mod onboarding;
mod schedule;
mod staff;

use std::sync::LazyLock;

use axum::extract::{FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use carenest_app::{AppError, Caller};
use carenest_domain::validation::FieldError;
use sha2::{Digest, Sha256};

use crate::AppState;
use i18n::Lang;

pub const SESSION_COOKIE: &str = "carenest_session";
pub const LANGUAGE_COOKIE: &str = "lang";

const STYLESHEET: &[u8] = include_bytes!("../../static/app.css");

/// The stylesheet's address, named after its content so it can be cached for ever.
static STYLESHEET_PATH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLESHEET);
    format!("/static/app-{}.css", &hex(&digest)[..12])
});

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Scripts, styles and forms only from this origin; never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .merge(family::router())
        .merge(me::router())
        .merge(onboarding::router())
        .merge(schedule::router())
        .merge(staff::router())
        .route("/static/{file}", get(static_file))
        .layer(middleware::from_fn(refuse_cross_site_posts))
        .layer(middleware::from_fn(page_headers))
}

async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    if format!("/static/{file}") != *STYLESHEET_PATH {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn page_headers(request: Request, next: Next) -> Response {
    protect(next.run(request).await)
}

/// A page's security and caching headers.
fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A POST sent by a page of another site is refused, whatever else it carries.
async fn refuse_cross_site_posts(request: Request, next: Next) -> Response {
    if request.method() == Method::POST && is_cross_site(request.headers()) {
        return (StatusCode::FORBIDDEN, "cross-site form posts are refused").into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return !matches!(site, "same-origin" | "none");
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, authority)| authority) != Some(host),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The CSRF token of a session: a digest of its secret, which only its own pages can know.
fn csrf_token(session_secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("carenest-csrf\0{session_secret}")))
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers).find(|(key, _)| *key == name).map(|(_, value)| value)
}

/// Whoever asks for a page: their language, and the signed-in user if there is one.
pub struct Visitor {
    pub lang: Lang,
    pub caller: Option<Caller>,
    csrf: Option<String>,
    /// Where the language switch comes back to.
    back: String,
}

/// The page a language switch returns to: this one, if it can be asked for again.
fn back_path(parts: &Parts) -> String {
    if parts.method == Method::GET {
        parts.uri.path().to_owned()
    } else {
        "/".to_owned()
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let secret = cookie(&parts.headers, SESSION_COOKIE);
        let caller = match secret {
            Some(secret) => match state.app.authenticate(secret).await {
                Ok(caller) => Some(caller),
                Err(AppError::Unauthorized) => None,
                Err(other) => return Err(error_page(Lang::default(), &other)),
            },
            None => None,
        };
        let profile_language = match &caller {
            Some(caller) => match state.app.parent_profile(caller).await {
                Ok(profile) => Lang::from_tag(&profile.preferred_language),
                Err(AppError::NotFound) => None,
                Err(other) => return Err(error_page(Lang::default(), &other)),
            },
            None => None,
        };
        let lang = profile_language
            .or_else(|| cookie(&parts.headers, LANGUAGE_COOKIE).and_then(Lang::from_tag))
            .or_else(|| {
                let header = parts.headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
                Lang::from_accept_language(header)
            })
            .unwrap_or_default();
        if let Some(caller) = &caller {
            tracing::Span::current().record("user_id", caller.id().0);
        }
        let csrf = caller.as_ref().and(secret).map(csrf_token);
        Ok(Self { lang, caller, csrf, back: back_path(parts) })
    }
}

/// A signed-in visitor; anyone else is sent to the sign-in page.
pub struct Member {
    pub lang: Lang,
    pub caller: Caller,
    csrf: String,
    back: String,
}

impl FromRequestParts<AppState> for Member {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        match (visitor.caller, visitor.csrf) {
            (Some(caller), Some(csrf)) => Ok(Self { lang: visitor.lang, caller, csrf, back: visitor.back }),
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

impl Member {
    /// The frame of a page with this title key.
    pub fn chrome(&self, title: &str) -> Chrome {
        Chrome::new(self.lang, title, Some(self.csrf.clone()), self.back.clone()).for_role(self.caller.role())
    }

    /// The refusal of a form whose CSRF token is not this session's; none for its own.
    pub fn forged(&self, token: &str) -> Option<Response> {
        (!same(token, &self.csrf)).then(|| message_page(self.lang, StatusCode::FORBIDDEN, "error-csrf"))
    }
}

impl Visitor {
    pub fn chrome(&self, title: &str) -> Chrome {
        let chrome = Chrome::new(self.lang, title, self.csrf.clone(), self.back.clone());
        match &self.caller {
            Some(caller) => chrome.for_role(caller.role()),
            None => chrome,
        }
    }
}

/// What every page's frame needs: the language, the title, the navigation and the CSRF token.
pub struct Chrome {
    pub lang: Lang,
    pub title: String,
    /// Set when someone is signed in.
    pub csrf: Option<String>,
    pub stylesheet: &'static str,
    /// This page's path, for the language switch to come back to.
    pub path: String,
    /// The signed-in user's role: what the navigation offers.
    role: Option<carenest_domain::accounts::Role>,
}

impl Chrome {
    fn new(lang: Lang, title: &str, csrf: Option<String>, path: String) -> Self {
        Self { lang, title: lang.text(title), csrf, stylesheet: STYLESHEET_PATH.as_str(), path, role: None }
    }

    fn for_role(self, role: carenest_domain::accounts::Role) -> Self {
        Self { role: Some(role), ..self }
    }

    /// Practice staff: the practice's schedule and booking.
    pub fn staff(&self) -> bool {
        self.role == Some(carenest_domain::accounts::Role::Admin)
    }

    /// A therapist (or staff): a week of sessions.
    pub fn therapist(&self) -> bool {
        matches!(self.role, Some(carenest_domain::accounts::Role::Therapist | carenest_domain::accounts::Role::Admin))
    }

    /// The text of a key in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.lang.text(key)
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn csrf(&self) -> &str {
        self.csrf.as_deref().unwrap_or_default()
    }

    pub fn signed_in(&self) -> bool {
        self.csrf.is_some()
    }

    pub fn languages(&self) -> [(&'static str, String, bool); 2] {
        Lang::ALL.map(|lang| (lang.code(), self.lang.text(&format!("language-{}", lang.code())), lang == self.lang))
    }
}

/// Errors of a form, by field, in the page's language.
#[derive(Debug, Default)]
pub struct FormErrors(Vec<(String, String)>);

impl FormErrors {
    /// The rule-breaking fields of an application error, translated where a translation exists.
    fn of(lang: Lang, errors: &[FieldError]) -> Self {
        Self(
            errors
                .iter()
                .map(|error| {
                    let key = format!("field-{}", error.code);
                    let translated = lang.text(&key);
                    let message = if translated == key { error.message.clone() } else { translated };
                    (error.field.clone(), message)
                })
                .collect(),
        )
    }

    /// A message for the whole form, shown above it.
    fn general(message: String) -> Self {
        Self(vec![(String::new(), message)])
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(name, _)| name == field).map(|(_, message)| message.as_str())
    }

    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }

    pub fn all(&self) -> &[(String, String)] {
        &self.0
    }
}

/// What a form's submission comes to when the application refuses it: the form again with its
/// errors, or an error page.
pub enum Refusal {
    Form(FormErrors),
    Page(Response),
}

impl Refusal {
    pub fn of(lang: Lang, error: AppError) -> Self {
        match error {
            AppError::Invalid(errors) => Refusal::Form(FormErrors::of(lang, &errors)),
            AppError::Conflict { constraint, detail, .. } => {
                Refusal::Form(FormErrors::general(conflict_text(lang, constraint, &detail)))
            }
            AppError::TooManyRequests { retry_after_seconds } => {
                Refusal::Form(FormErrors::general(too_many_text(lang, retry_after_seconds)))
            }
            other => Refusal::Page(error_page(lang, &other)),
        }
    }
}

/// A broken rule in the page's language where a translation exists, else the application's words.
fn conflict_text(lang: Lang, constraint: &str, detail: &str) -> String {
    let key = format!("conflict-{constraint}");
    let text = lang.text(&key);
    if text == key {
        detail.to_owned()
    } else {
        text
    }
}

fn too_many_text(lang: Lang, retry_after_seconds: u64) -> String {
    let minutes = retry_after_seconds.div_ceil(60).max(1).to_string();
    lang.text_with("error-too-many", &[("minutes", minutes)])
}

/// A rendered template as a page.
pub fn page(template: &impl askama::Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(askama::Template)]
#[template(path = "pages/message.html")]
struct MessagePage {
    chrome: Chrome,
    message: String,
}

fn message_page(lang: Lang, status: StatusCode, key: &str) -> Response {
    said_page(lang, status, lang.text(key))
}

/// A page that says one thing.
fn said_page(lang: Lang, status: StatusCode, message: String) -> Response {
    let chrome = Chrome::new(lang, "app-name", None, "/".to_owned());
    page(&MessagePage { chrome, message }, status)
}

/// The page for an application error where no form can show it: the same status the API
/// would answer, and the reason in the page's language.
pub fn error_page(lang: Lang, error: &AppError) -> Response {
    match error {
        AppError::Unauthorized => Redirect::to("/login").into_response(),
        AppError::NotFound => message_page(lang, StatusCode::NOT_FOUND, "error-not-found"),
        AppError::Forbidden => message_page(lang, StatusCode::FORBIDDEN, "error-forbidden"),
        AppError::Conflict { constraint, detail, .. } => {
            said_page(lang, StatusCode::CONFLICT, conflict_text(lang, constraint, detail))
        }
        AppError::Invalid(errors) => {
            let text = FormErrors::of(lang, errors).all().iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join(" ");
            said_page(lang, StatusCode::UNPROCESSABLE_ENTITY, text)
        }
        AppError::TooManyRequests { retry_after_seconds } => {
            said_page(lang, StatusCode::TOO_MANY_REQUESTS, too_many_text(lang, *retry_after_seconds))
        }
        AppError::Busy { .. } | AppError::Unavailable => {
            message_page(lang, StatusCode::SERVICE_UNAVAILABLE, "error-busy")
        }
        AppError::Internal => message_page(lang, StatusCode::INTERNAL_SERVER_ERROR, "error-generic"),
    }
}

/// The "about you" fields the profile page and onboarding's first step share: the name and
/// the two levels, each level with its choices in the page's language.
pub struct About {
    pub name: String,
    pub stress_level: String,
    pub experience_level: String,
    pub stress_levels: Vec<(&'static str, String)>,
    pub experience_levels: Vec<(&'static str, String)>,
}

impl About {
    pub fn new(lang: Lang, name: &str, stress_level: &str, experience_level: &str) -> Self {
        let choices = |kind: &str, values: &[&'static str]| {
            values.iter().map(|value| (*value, lang.text(&format!("{kind}-{value}")))).collect()
        };
        Self {
            name: name.to_owned(),
            stress_level: stress_level.to_owned(),
            experience_level: experience_level.to_owned(),
            stress_levels: choices("stress", &["low", "moderate", "high", "very_high"]),
            experience_levels: choices("experience", &["first_time", "experienced", "multiple_children"]),
        }
    }
}

/// A form that only proves where it comes from.
#[derive(serde::Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// A text field as the application takes it: trimmed, and absent when left empty.
pub fn filled(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The page for an address that leads nowhere, in the language the browser asks for.
pub fn not_found_page(headers: &HeaderMap) -> Response {
    let lang = cookie(headers, LANGUAGE_COOKIE)
        .and_then(Lang::from_tag)
        .or_else(|| Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?))
        .unwrap_or_default();
    protect(message_page(lang, StatusCode::NOT_FOUND, "error-not-found"))
}

/// A cookie for the whole site.
fn set_cookie(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&text).expect("cookie values are base64url or language codes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_naming_another_site_are_cross_site_and_same_site_ones_are_not() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_static(value));
            }
            map
        };
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(is_cross_site(&headers(&[("origin", "https://evil.example"), ("host", "care.example.org")])));
        assert!(!is_cross_site(&headers(&[("origin", "https://care.example.org"), ("host", "care.example.org")])));
        assert!(
            !is_cross_site(&headers(&[("host", "care.example.org")])),
            "no Origin: not a browser's cross-site post"
        );
    }

    #[test]
    fn a_csrf_token_is_the_sessions_own() {
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert!(same(&csrf_token("a"), &csrf_token("a")));
        assert!(!same(&csrf_token("a"), &csrf_token("b")));
    }
}
