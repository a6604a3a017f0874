//! Signing in and out, registering, and the language switch.

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use carenest_domain::accounts::Registration;
use serde::Deserialize;

use super::i18n::Lang;
use super::{
    cookie, error_page, filled, page, set_cookie, Chrome, CsrfOnly, FormErrors, Member, Refusal, Visitor,
    LANGUAGE_COOKIE, SESSION_COOKIE,
};
use crate::network::ClientAddress;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/login", get(login_form).post(login))
        .route("/register", get(register_form).post(register))
        .route("/logout", post(logout))
        .route("/language", post(language))
}

async fn root(visitor: Visitor) -> Redirect {
    Redirect::to(if visitor.caller.is_some() { "/home" } else { "/login" })
}

#[derive(askama::Template)]
#[template(path = "pages/login.html")]
struct LoginPage {
    chrome: Chrome,
    username: String,
    errors: FormErrors,
}

async fn login_form(visitor: Visitor) -> Response {
    if visitor.caller.is_some() {
        return Redirect::to("/home").into_response();
    }
    let chrome = visitor.chrome("login-title");
    page(&LoginPage { chrome, username: String::new(), errors: FormErrors::default() }, StatusCode::OK)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// Whether cookies must only travel over HTTPS: when the service says it is reached by https.
pub(super) fn secure(state: &AppState) -> bool {
    state.app.settings().public_url.as_deref().is_some_and(|url| url.starts_with("https://"))
}

fn signed_in(state: &AppState, token: &str, to: &str) -> Response {
    let max_age = state.app.settings().token_ttl.num_seconds();
    let cookie = set_cookie(SESSION_COOKIE, token, max_age, secure(state));
    ([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
}

async fn login(
    State(state): State<AppState>,
    visitor: Visitor,
    ClientAddress(client): ClientAddress,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = visitor.lang;
    match state.app.login(form.username.trim(), form.password, client).await {
        Ok(logged_in) => signed_in(&state, &logged_in.token, "/home"),
        Err(error) => {
            let errors = match error {
                carenest_app::AppError::Unauthorized => FormErrors::general(lang.text("login-failed")),
                other => match Refusal::of(lang, other) {
                    Refusal::Form(errors) => errors,
                    Refusal::Page(response) => return response,
                },
            };
            let chrome = visitor.chrome("login-title");
            page(&LoginPage { chrome, username: form.username, errors }, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[derive(askama::Template)]
#[template(path = "pages/register.html")]
struct RegisterPage {
    chrome: Chrome,
    username: String,
    email: String,
    errors: FormErrors,
}

async fn register_form(visitor: Visitor) -> Response {
    let chrome = visitor.chrome("register-title");
    let empty = RegisterPage { chrome, username: String::new(), email: String::new(), errors: FormErrors::default() };
    page(&empty, StatusCode::OK)
}

#[derive(Deserialize)]
struct RegisterForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn register(
    State(state): State<AppState>,
    visitor: Visitor,
    ClientAddress(client): ClientAddress,
    Form(form): Form<RegisterForm>,
) -> Response {
    let registration = Registration {
        username: filled(&form.username),
        email: filled(&form.email),
        password: Some(form.password).filter(|p| !p.is_empty()),
        profile_picture: None,
    };
    match state.app.register(registration, client).await {
        Ok(logged_in) => signed_in(&state, &logged_in.token, "/onboarding"),
        Err(error) => match Refusal::of(visitor.lang, error) {
            Refusal::Form(errors) => {
                let chrome = visitor.chrome("register-title");
                let again = RegisterPage { chrome, username: form.username, email: form.email, errors };
                page(&again, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Refusal::Page(response) => response,
        },
    }
}

async fn logout(State(state): State<AppState>, member: Member, Form(form): Form<CsrfOnly>) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    if let Err(error) = state.app.logout(&member.caller).await {
        return error_page(member.lang, &error);
    }
    let gone = set_cookie(SESSION_COOKIE, "", 0, secure(&state));
    ([(header::SET_COOKIE, gone)], Redirect::to("/login")).into_response()
}

#[derive(Deserialize)]
struct LanguageForm {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    csrf: String,
    /// The page to go back to.
    #[serde(default)]
    back: String,
}

/// Switches the language: a cookie for everyone, and the profile's language for a parent, so
/// that emails follow too.
async fn language(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<LanguageForm>) -> Response {
    let Some(lang) = Lang::from_tag(&form.lang) else {
        return (StatusCode::BAD_REQUEST, "lang must be nl or en").into_response();
    };
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        if let Ok(caller) = state.app.authenticate(secret).await {
            if !super::same(&form.csrf, &super::csrf_token(secret)) {
                return super::message_page(lang, StatusCode::FORBIDDEN, "error-csrf");
            }
            let change = carenest_domain::family::ParentProfileInput {
                preferred_language: Some(lang.code().to_owned()),
                ..Default::default()
            };
            match state.app.update_parent_profile(&caller, change).await {
                Ok(_) | Err(carenest_app::AppError::NotFound) => {}
                Err(error) => return error_page(lang, &error),
            }
        }
    }
    // Only a path of this site: never an address elsewhere.
    let back = if form.back.starts_with('/') && !form.back.starts_with("//") { form.back.as_str() } else { "/" };
    let cookie = set_cookie(LANGUAGE_COOKIE, lang.code(), 365 * 24 * 3600, secure(&state));
    ([(header::SET_COOKIE, cookie)], Redirect::to(back)).into_response()
}
