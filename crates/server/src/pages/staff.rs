//! Practice staff's pages: therapists, their working hours and time off, users and roles, and
//! the audit log. A therapist reaches their own hours and time off here too; the application
//! decides who may change what, as for the API.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use carenest_app::dates::{clock, long_date};
use carenest_app::{AppError, Permission};
use carenest_domain::accounts::User;
use carenest_domain::audit::AuditFilter;
use carenest_domain::availability::{TimeOff, TimeOffInput, WeeklyIntervalInput};
use carenest_domain::ids::{TherapistId, TimeOffId, UserId};
use carenest_domain::page::{PageRequest, MAX_LIMIT};
use carenest_domain::scheduling::{Therapist, TherapistInput};
use carenest_domain::time::parse_date;
use serde::Deserialize;

use super::me::{access_line, AccessLine};
use super::{error_page, filled, page, Chrome, CsrfOnly, FormErrors, Member, Refusal};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/therapists", get(therapists).post(add_therapist))
        .route("/staff/therapists/{id}", get(availability))
        .route("/staff/therapists/{id}/delete", post(remove_therapist))
        .route("/staff/therapists/{id}/hours", post(save_hours))
        .route("/staff/therapists/{id}/time-off", post(add_time_off))
        .route("/staff/therapists/{id}/time-off/{off}/delete", post(remove_time_off))
        .route("/staff/users", get(users))
        .route("/staff/users/{id}/role", post(change_role))
        .route("/staff/audit", get(audit))
}

#[derive(askama::Template)]
#[template(path = "pages/staff_therapists.html")]
struct TherapistsPage {
    chrome: Chrome,
    therapists: Vec<Therapist>,
    users: Vec<User>,
    name: String,
    errors: FormErrors,
}

async fn therapists_page(
    state: &AppState,
    member: &Member,
    name: String,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    if let Err(error) = member.caller.require(Permission::ManageTherapists) {
        return error_page(member.lang, &error);
    }
    let found = state.app.therapists(None, PageRequest::first(MAX_LIMIT)).await;
    let users = state.app.users(&member.caller, PageRequest::first(MAX_LIMIT)).await;
    match (found, users) {
        (Ok(found), Ok(users)) => {
            let view = TherapistsPage {
                chrome: member.chrome("staff-therapists-title"),
                therapists: found.items,
                users: users.items,
                name,
                errors,
            };
            page(&view, status)
        }
        (Err(error), _) | (_, Err(error)) => error_page(member.lang, &error),
    }
}

async fn therapists(State(state): State<AppState>, member: Member) -> Response {
    therapists_page(&state, &member, String::new(), FormErrors::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
struct TherapistForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default, rename = "userId")]
    user_id: String,
}

async fn add_therapist(State(state): State<AppState>, member: Member, Form(form): Form<TherapistForm>) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let input = TherapistInput {
        name: filled(&form.name),
        user_id: filled(&form.user_id).map(|id| Some(id.parse().unwrap_or(0))),
    };
    match state.app.create_therapist(&member.caller, input).await {
        Ok(_) => Redirect::to("/staff/therapists").into_response(),
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => {
                therapists_page(&state, &member, form.name, errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Refusal::Page(response) => response,
        },
    }
}

async fn remove_therapist(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    match state.app.delete_therapist(&member.caller, TherapistId(id)).await {
        Ok(()) => Redirect::to("/staff/therapists").into_response(),
        Err(error) => error_page(member.lang, &error),
    }
}

/// A day of the week with its hours as a field holds them: `09:00-12:00, 13:00-17:00`.
pub struct WeekdayHours {
    pub weekday: usize,
    pub name: &'static str,
    pub hours: String,
}

/// A time off as the list shows it.
pub struct OffLine {
    pub id: i64,
    pub when: String,
    pub reason: String,
}

#[derive(askama::Template)]
#[template(path = "pages/staff_availability.html")]
struct AvailabilityPage {
    chrome: Chrome,
    therapist: Therapist,
    days: Vec<WeekdayHours>,
    time_off: Vec<OffLine>,
    errors: FormErrors,
}

fn off_line(off: &TimeOff, language: &str) -> OffLine {
    let mut when = long_date(off.start_date, language);
    if off.end_date != off.start_date {
        when = format!("{when} – {}", long_date(off.end_date, language));
    }
    if let (Some(start), Some(end)) = (off.start_time, off.end_time) {
        when = format!("{when}, {}–{}", clock(start), clock(end));
    }
    OffLine { id: off.id.0, when, reason: off.reason.clone().unwrap_or_default() }
}

/// The page of a therapist's hours and time off; `typed` keeps what was sent when it was refused.
async fn availability_page(
    state: &AppState,
    member: &Member,
    id: i64,
    typed: Option<Vec<String>>,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let therapist = TherapistId(id);
    let loaded = (
        state.app.therapist(therapist).await,
        state.app.working_hours(&member.caller, therapist).await,
        state.app.time_off(&member.caller, therapist, PageRequest::first(MAX_LIMIT)).await,
    );
    let (therapist, hours, time_off) = match loaded {
        (Ok(t), Ok(h), Ok(o)) => (t, h, o.items),
        (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => return error_page(member.lang, &error),
    };
    let code = member.lang.code();
    let monday = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("a Monday");
    let days = (1..=7)
        .map(|weekday| {
            let hours = match &typed {
                Some(typed) => typed[weekday - 1].clone(),
                None => hours
                    .weekly
                    .iter()
                    .filter(|i| usize::from(i.weekday) == weekday)
                    .map(|i| format!("{}-{}", clock(i.start), clock(i.end)))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let name = carenest_app::dates::weekday(monday + chrono::Duration::days(weekday as i64 - 1), code);
            WeekdayHours { weekday, name, hours }
        })
        .collect();
    let view = AvailabilityPage {
        chrome: member.chrome("staff-availability-title"),
        therapist,
        days,
        time_off: time_off.iter().map(|off| off_line(off, code)).collect(),
        errors,
    };
    page(&view, status)
}

async fn availability(State(state): State<AppState>, member: Member, Path(id): Path<i64>) -> Response {
    availability_page(&state, &member, id, None, FormErrors::default(), StatusCode::OK).await
}

/// Reads `09:00-12:00, 13:00-17:00` into intervals of one weekday; `None` when it doesn't read.
fn intervals(weekday: usize, text: &str) -> Option<Vec<WeeklyIntervalInput>> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (start, end) = part.split_once('-')?;
            Some(WeeklyIntervalInput {
                weekday: weekday as i64,
                start_time: start.trim().to_owned(),
                end_time: end.trim().to_owned(),
            })
        })
        .collect()
}

async fn save_hours(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let value = |name: &str| fields.iter().find(|(key, _)| key == name).map_or(String::new(), |(_, v)| v.clone());
    if let Some(refused) = member.forged(&value("csrf")) {
        return refused;
    }
    let typed: Vec<String> = (1..=7).map(|day| value(&format!("hours-{day}"))).collect();
    let mut weekly = Vec::new();
    let mut unreadable = Vec::new();
    for (index, text) in typed.iter().enumerate() {
        match intervals(index + 1, text) {
            Some(found) => weekly.extend(found),
            None => unreadable.push((format!("hours-{}", index + 1), member.lang.text("staff-hours-format"))),
        }
    }
    if !unreadable.is_empty() {
        return availability_page(
            &state,
            &member,
            id,
            Some(typed),
            FormErrors(unreadable),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match state.app.set_working_hours(&member.caller, TherapistId(id), &weekly).await {
        Ok(_) => Redirect::to(&format!("/staff/therapists/{id}")).into_response(),
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => {
                // The application names intervals (`weekly[3].endTime`); the page says it once.
                let message = errors.all().iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join(" ");
                let errors = FormErrors::general(message);
                availability_page(&state, &member, id, Some(typed), errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Refusal::Page(response) => response,
        },
    }
}

#[derive(Deserialize)]
struct TimeOffForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "startDate")]
    start_date: String,
    #[serde(default, rename = "endDate")]
    end_date: String,
    #[serde(default, rename = "startTime")]
    start_time: String,
    #[serde(default, rename = "endTime")]
    end_time: String,
    #[serde(default)]
    reason: String,
}

async fn add_time_off(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Form(form): Form<TimeOffForm>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    let start = parse_date(form.start_date.trim());
    let input = TimeOffInput {
        start_date: start,
        end_date: parse_date(form.end_date.trim()).or(start),
        start_time: filled(&form.start_time),
        end_time: filled(&form.end_time),
        reason: filled(&form.reason),
    };
    match state.app.add_time_off(&member.caller, TherapistId(id), input).await {
        Ok(_) => Redirect::to(&format!("/staff/therapists/{id}")).into_response(),
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => {
                availability_page(&state, &member, id, None, errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Refusal::Page(response) => response,
        },
    }
}

async fn remove_time_off(
    State(state): State<AppState>,
    member: Member,
    Path((id, off)): Path<(i64, i64)>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    match state.app.remove_time_off(&member.caller, TherapistId(id), TimeOffId(off)).await {
        Ok(()) => Redirect::to(&format!("/staff/therapists/{id}")).into_response(),
        Err(error) => error_page(member.lang, &error),
    }
}

#[derive(askama::Template)]
#[template(path = "pages/staff_users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<User>,
    errors: FormErrors,
}

impl UsersPage {
    fn roles(&self, user: &User) -> Vec<(&'static str, String, bool)> {
        ["parent", "therapist", "admin"]
            .map(|role| (role, self.chrome.t(&format!("staff-role-{role}")), user.role.as_str() == role))
            .to_vec()
    }
}

async fn users_page(state: &AppState, member: &Member, errors: FormErrors, status: StatusCode) -> Response {
    match state.app.users(&member.caller, PageRequest::first(MAX_LIMIT)).await {
        Ok(found) => {
            page(&UsersPage { chrome: member.chrome("staff-users-title"), users: found.items, errors }, status)
        }
        Err(error) => error_page(member.lang, &error),
    }
}

async fn users(State(state): State<AppState>, member: Member) -> Response {
    users_page(&state, &member, FormErrors::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

async fn change_role(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<i64>,
    Form(form): Form<RoleForm>,
) -> Response {
    if let Some(refused) = member.forged(&form.csrf) {
        return refused;
    }
    match state.app.set_role(&member.caller, UserId(id), &form.role).await {
        Ok(_) => Redirect::to("/staff/users").into_response(),
        Err(AppError::NotFound) => error_page(member.lang, &AppError::NotFound),
        Err(error) => match Refusal::of(member.lang, error) {
            Refusal::Form(errors) => users_page(&state, &member, errors, StatusCode::CONFLICT).await,
            Refusal::Page(response) => response,
        },
    }
}

#[derive(askama::Template)]
#[template(path = "pages/staff_audit.html")]
struct AuditPage {
    chrome: Chrome,
    /// Each entry: who (role and user id), and when, what and whose, as the access log says them.
    lines: Vec<(String, i64, AccessLine)>,
}

/// The newest entries of the whole audit log (reading it is itself recorded).
async fn audit(State(state): State<AppState>, member: Member) -> Response {
    match state.app.audit_log(&member.caller, AuditFilter::default(), PageRequest::first(MAX_LIMIT)).await {
        Ok(found) => {
            let zone = state.app.settings().practice_time_zone;
            let lines = found
                .items
                .iter()
                .map(|(_, entry)| {
                    let role = member.lang.text(&format!("staff-role-{}", entry.actor_role.as_str()));
                    let who = format!("{role} #{}", entry.actor_user_id.0);
                    (who, entry.subject_user_id.0, access_line(member.lang, entry, zone))
                })
                .collect();
            page(&AuditPage { chrome: member.chrome("staff-audit-title"), lines }, StatusCode::OK)
        }
        Err(error) => error_page(member.lang, &error),
    }
}
