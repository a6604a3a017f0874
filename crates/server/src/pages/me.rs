//! What a family sees of itself beyond its profile: its children's sessions and their
//! calendar subscription, suggested goals, who looked at its data, its data to download, and
//! erasing the account.

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use carenest_app::dates::{clock, long_date};
use carenest_domain::audit::AuditEntry;
use carenest_domain::family::GoalInput;
use carenest_domain::page::PageRequest;
use carenest_domain::scheduling::SessionFilter;
use carenest_domain::suggestions::Suggestion;
use serde::Deserialize;

use super::schedule::Entry;
use super::{error_page, page, set_cookie, Chrome, CsrfOnly, FormErrors, Member, Refusal, SESSION_COOKIE};
use crate::routes::availability::feed_url;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(sessions))
        .route("/calendar", post(new_calendar))
        .route("/calendar/revoke", post(revoke_calendar))
        .route("/suggestions", get(suggestions))
        .route("/suggestions/{template}/adopt", post(adopt))
        .route("/access-log", get(access_log))
        .route("/account", get(account))
        .route("/account/export", get(export))
        .route("/account/notifications", post(notifications))
        .route("/account/delete", post(erase))
}

#[derive(askama::Template)]
#[template(path = "pages/sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    /// Each session with its day, in the page's language.
    upcoming: Vec<(String, Entry)>,
    past: Vec<(String, Entry)>,
    /// A calendar URL just made, shown once.
    feed_url: Option<String>,
}

async fn sessions_page(state: &AppState, member: &Member, feed_url: Option<String>) -> Response {
    let (today, _) = state.app.local_now();
    let code = member.lang.code();
    let upcoming = SessionFilter { from: Some(today), ..SessionFilter::default() };
    let past = SessionFilter {
        from: Some(today - chrono::Duration::days(365)),
        to: Some(today - chrono::Duration::days(1)),
        ..SessionFilter::default()
    };
    let (upcoming, past) = match (
        state.app.sessions(&member.caller, upcoming, PageRequest::first(100)).await,
        state.app.sessions(&member.caller, past, PageRequest::first(200)).await,
    ) {
        (Ok(upcoming), Ok(past)) => (upcoming.items, past.items),
        (Err(error), _) | (_, Err(error)) => return error_page(member.lang, &error),
    };
    let sessions = SessionsPage {
        chrome: member.chrome("sessions-title"),
        upcoming: upcoming.iter().map(|s| (long_date(s.date, code), Entry::of(s))).collect(),
        past: past.iter().rev().map(|s| (long_date(s.date, code), Entry::of(s))).collect(),
        feed_url,
    };
    page(&sessions, StatusCode::OK)
}

async fn sessions(State(state): State<AppState>, member: Member) -> Response {
    sessions_page(&state, &member, None).await
}

async fn new_calendar(
    State(state): State<AppState>,
    member: Member,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    match state.app.new_family_feed(&member.caller).await {
        Ok(link) => sessions_page(&state, &member, Some(feed_url(&state, &headers, &link))).await,
        Err(error) => error_page(member.lang, &error),
    }
}

async fn revoke_calendar(State(state): State<AppState>, member: Member, Form(form): Form<CsrfOnly>) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    match state.app.revoke_family_feed(&member.caller).await {
        Ok(()) => Redirect::to("/sessions").into_response(),
        Err(error) => error_page(member.lang, &error),
    }
}

#[derive(askama::Template)]
#[template(path = "pages/suggestions.html")]
struct SuggestionsPage {
    chrome: Chrome,
    items: Vec<Suggestion>,
    errors: FormErrors,
}

async fn suggestions_page(state: &AppState, member: &Member, errors: FormErrors, status: StatusCode) -> Response {
    match state.app.suggestions(&member.caller).await {
        Ok(found) => {
            page(&SuggestionsPage { chrome: member.chrome("suggestions-title"), items: found.items, errors }, status)
        }
        Err(error) => error_page(member.lang, &error),
    }
}

async fn suggestions(State(state): State<AppState>, member: Member) -> Response {
    suggestions_page(&state, &member, FormErrors::default(), StatusCode::OK).await
}

/// Adopts a suggestion in one action: it becomes one of the family's goals.
async fn adopt(
    State(state): State<AppState>,
    member: Member,
    Path(template): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let found = match state.app.suggestions(&member.caller).await {
        Ok(found) => found,
        Err(error) => return error_page(member.lang, &error),
    };
    let Some(suggestion) = found.items.into_iter().find(|s| s.template_id.0 == template) else {
        return error_page(member.lang, &carenest_app::AppError::NotFound);
    };
    let input = GoalInput {
        title: Some(suggestion.title),
        description: Some(Some(suggestion.description)),
        category: Some(Some(suggestion.category)),
        template_id: Some(Some(template)),
        ..GoalInput::default()
    };
    match state.app.create_goal(&member.caller, input).await {
        Ok(_) => Redirect::to("/home").into_response(),
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => suggestions_page(&state, &member, errors, StatusCode::UNPROCESSABLE_ENTITY).await,
            Refusal::Page(response) => response,
        },
    }
}

/// One line of the access log, in the page's language.
pub struct AccessLine {
    pub when: String,
    pub who: String,
    pub what: String,
}

#[derive(askama::Template)]
#[template(path = "pages/access_log.html")]
struct AccessLogPage {
    chrome: Chrome,
    lines: Vec<AccessLine>,
}

pub fn access_line(member_lang: super::i18n::Lang, entry: &AuditEntry, zone: chrono_tz::Tz) -> AccessLine {
    let at = entry.at.with_timezone(&zone).naive_local();
    let code = member_lang.code();
    AccessLine {
        when: format!("{} {}", long_date(at.date(), code), clock(at.time())),
        who: member_lang.text(&format!("role-{}", entry.actor_role.as_str())),
        what: format!(
            "{} · {} #{}",
            member_lang.text(&format!("action-{}", entry.action.as_str())),
            member_lang.text(&format!("resource-{}", entry.resource_type)),
            entry.resource_id
        ),
    }
}

async fn access_log(State(state): State<AppState>, member: Member) -> Response {
    match state.app.access_log(&member.caller, PageRequest::first(200)).await {
        Ok(entries) => {
            let zone = state.app.settings().practice_time_zone;
            let lines = entries.items.iter().map(|entry| access_line(member.lang, entry, zone)).collect();
            page(&AccessLogPage { chrome: member.chrome("access-title"), lines }, StatusCode::OK)
        }
        Err(error) => error_page(member.lang, &error),
    }
}

#[derive(askama::Template)]
#[template(path = "pages/account.html")]
struct AccountPage {
    chrome: Chrome,
    reminders: bool,
    saved: bool,
    errors: FormErrors,
}

async fn account_page(
    state: &AppState,
    member: &Member,
    saved: bool,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    match state.app.notifications(&member.caller).await {
        Ok(choices) => {
            let view = AccountPage {
                chrome: member.chrome("account-title"),
                reminders: choices.session_reminders,
                saved,
                errors,
            };
            page(&view, status)
        }
        Err(error) => error_page(member.lang, &error),
    }
}

async fn account(State(state): State<AppState>, member: Member) -> Response {
    account_page(&state, &member, false, FormErrors::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
struct NotificationsForm {
    #[serde(default)]
    csrf: String,
    /// A ticked checkbox sends `on`; an unticked one sends nothing.
    #[serde(default, rename = "sessionReminders")]
    session_reminders: String,
}

/// Turns the family's reminder emails on or off.
async fn notifications(State(state): State<AppState>, member: Member, Form(form): Form<NotificationsForm>) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    match state.app.set_notifications(&member.caller, form.session_reminders == "on").await {
        Ok(_) => account_page(&state, &member, true, FormErrors::default(), StatusCode::OK).await,
        Err(error) => error_page(member.lang, &error),
    }
}

/// Everything held about the user, as the API's export document, to save.
async fn export(State(state): State<AppState>, member: Member) -> Response {
    match crate::routes::accounts::export_document(&state, &member.caller).await {
        Ok(document) => (
            [
                (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"carenest-export.json\""),
            ],
            serde_json::to_string_pretty(&document).unwrap_or_default(),
        )
            .into_response(),
        Err(error) => error_page(member.lang, &error),
    }
}

#[derive(Deserialize)]
struct EraseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

async fn erase(State(state): State<AppState>, member: Member, Form(form): Form<EraseForm>) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    match state.app.erase(&member.caller, form.password).await {
        Ok(()) => {
            let gone = set_cookie(SESSION_COOKIE, "", 0, super::accounts::secure(&state));
            ([(header::SET_COOKIE, gone)], Redirect::to("/login")).into_response()
        }
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => {
                account_page(&state, &member, false, errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Refusal::Page(response) => response,
        },
    }
}
