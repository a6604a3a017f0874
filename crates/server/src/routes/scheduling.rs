//! Therapists and therapy sessions. Who sees which session follows the role table: parents
//! their children's, therapists their own, admins all; the store applies that scope in SQL.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use carenest_domain::accounts::Role;
use carenest_domain::audit::AuditAction;
use carenest_domain::ids::{ChildId, SessionId, TherapistId, UserId};
use carenest_domain::scheduling::*;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{CurrentUser, Permission};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Id, ListBody, Pagination};
use crate::{ApiError, ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/therapists", get(list_therapists).post(create_therapist))
        .route("/therapists/{id}", get(get_therapist).patch(update_therapist).delete(delete_therapist))
        .route("/therapists/{id}/sessions", get(therapist_sessions))
        .route("/therapists/{id}/calendar.ics", get(therapist_calendar))
        .route("/sessions", get(list_sessions).post(create_sessions))
        .route("/sessions/{id}", get(get_session).patch(update_session).delete(delete_session))
        .route("/sessions/{id}/therapists/{therapist_id}", put(add_therapist).delete(remove_therapist))
}

/// Which sessions the caller may see.
async fn scope_of(state: &AppState, current: &CurrentUser) -> ApiResult<SessionScope> {
    Ok(match current.role() {
        Role::Admin => SessionScope::All,
        Role::Parent => SessionScope::Parent(current.id()),
        Role::Therapist => state
            .store
            .therapist_for_user(current.id())
            .await?
            .map_or(SessionScope::Nothing, |t| SessionScope::Therapist(t.id)),
    })
}

/// Records reads of children's sessions by anyone but the child's own family. (Changes are
/// recorded by the store, in the change's transaction.)
async fn audit_session_reads(state: &AppState, current: &CurrentUser, sessions: &[&Session]) -> ApiResult<()> {
    let mut owners: BTreeMap<ChildId, Option<UserId>> = BTreeMap::new();
    let mut resources = Vec::new();
    for session in sessions {
        let Some(child) = session.child_profile_id else { continue };
        let owner = match owners.get(&child) {
            Some(owner) => *owner,
            None => {
                let owner = state.store.child_owner(child).await?;
                owners.insert(child, owner);
                owner
            }
        };
        if let Some(owner) = owner.filter(|owner| *owner != current.id()) {
            resources.push((session.id.0, owner));
        }
    }
    if resources.is_empty() {
        return Ok(());
    }
    state.audit_many(current, AuditAction::Read, "session", &resources).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TherapistQuery {
    /// Matches any part of the name, in any case.
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Therapists, ordered by name then id.
#[utoipa::path(get, path = "/api/v1/therapists", tag = "scheduling", security(("bearer" = [])), params(TherapistQuery), responses((status = 200, description = "Ordered by name, then id", body = ListBody<Therapist>)))]
pub async fn list_therapists(
    State(state): State<AppState>,
    _current: CurrentUser,
    ApiQuery(query): ApiQuery<TherapistQuery>,
) -> ApiResult<impl IntoResponse> {
    let page = Pagination { limit: query.limit, cursor: query.cursor }.page()?;
    let search = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if search.is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::BadRequest("q may be at most 100 characters".into()));
    }
    Ok(Json(ListBody::from_page(state.store.therapists(search, page).await?)))
}

/// Admin: add a therapist; linking `userId` makes that user a `therapist`.
#[utoipa::path(post, path = "/api/v1/therapists", tag = "scheduling", security(("bearer" = [])), request_body = TherapistInput, responses((status = 201, body = Therapist), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, description = "The user is linked to another therapist", body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_therapist(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<TherapistInput>,
) -> ApiResult<impl IntoResponse> {
    current.require(Permission::ManageTherapists)?;
    let input = body.validate_new().map_err(ApiError::Validation)?;
    let name = input.name.expect("validate_new requires a name");
    let therapist = state.store.create_therapist(name, input.user_id.flatten()).await?;
    Ok((StatusCode::CREATED, Json(therapist)))
}

#[utoipa::path(get, path = "/api/v1/therapists/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Therapist), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_therapist(
    State(state): State<AppState>,
    _current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<Json<Therapist>> {
    Ok(Json(state.store.therapist(TherapistId(id)).await?))
}

/// Admin: rename a therapist or change the linked user.
#[utoipa::path(patch, path = "/api/v1/therapists/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), request_body = TherapistInput, responses((status = 200, body = Therapist), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_therapist(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<TherapistInput>,
) -> ApiResult<Json<Therapist>> {
    current.require(Permission::ManageTherapists)?;
    let changes = body.validate_changes().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_therapist(TherapistId(id), changes).await?))
}

/// Admin: remove a therapist from their sessions and delete them; the sessions stay.
#[utoipa::path(delete, path = "/api/v1/therapists/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete_therapist(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    current.require(Permission::ManageTherapists)?;
    state.store.delete_therapist(TherapistId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// First date, inclusive.
    pub from: Option<NaiveDate>,
    /// Last date, inclusive.
    pub to: Option<NaiveDate>,
    #[param(minimum = 1)]
    pub therapist_id: Option<i64>,
    #[param(minimum = 1)]
    pub child_profile_id: Option<i64>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl SessionQuery {
    fn filter(&self) -> ApiResult<SessionFilter> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(ApiError::BadRequest("from must not be after to".into()));
            }
        }
        for (name, id) in [("therapistId", self.therapist_id), ("childProfileId", self.child_profile_id)] {
            if id.is_some_and(|id| id < 1) {
                return Err(ApiError::BadRequest(format!("{name} must be a positive id")));
            }
        }
        Ok(SessionFilter {
            from: self.from,
            to: self.to,
            therapist_id: self.therapist_id.map(TherapistId),
            child_profile_id: self.child_profile_id.map(ChildId),
        })
    }
}

async fn session_list(
    state: &AppState,
    current: &CurrentUser,
    filter: SessionFilter,
    pagination: Pagination,
) -> ApiResult<Response> {
    let scope = scope_of(state, current).await?;
    let page = state.store.sessions(scope, filter, pagination.page()?).await?;
    audit_session_reads(state, current, &page.items.iter().collect::<Vec<_>>()).await?;
    Ok(Json(ListBody::from_page(page)).into_response())
}

/// Sessions the caller may see, ordered by date, startTime, id.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "scheduling", security(("bearer" = [])), params(SessionQuery), responses((status = 200, description = "Ordered by date, startTime, id", body = ListBody<Session>), (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_sessions(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> ApiResult<Response> {
    let filter = query.filter()?;
    session_list(&state, &current, filter, Pagination { limit: query.limit, cursor: query.cursor }).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One therapist's sessions (those the caller may see), ordered by date, startTime, id.
#[utoipa::path(get, path = "/api/v1/therapists/{id}/sessions", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path), RangeQuery), responses((status = 200, description = "Ordered by date, startTime, id", body = ListBody<Session>), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn therapist_sessions(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> ApiResult<Response> {
    state.store.therapist(TherapistId(id)).await?;
    let filter =
        SessionQuery { from: query.from, to: query.to, therapist_id: Some(id), ..Default::default() }.filter()?;
    session_list(&state, &current, filter, Pagination { limit: query.limit, cursor: query.cursor }).await
}

/// A series answers with every occurrence.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionSeries {
    pub items: Vec<Session>,
}

/// Admin: book a session, or with `repeat` a whole series (all or nothing).
#[utoipa::path(post, path = "/api/v1/sessions", tag = "scheduling", security(("bearer" = [])), request_body = SessionInput, responses(
    (status = 201, description = "The session, or `{items}` for a series", body = Session),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 409, description = "A therapist is booked at an overlapping time; `conflicts` lists every overlap", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn create_sessions(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<SessionInput>,
) -> ApiResult<Response> {
    current.require(Permission::ManageSessions)?;
    let new = body.validate_new().map_err(ApiError::Validation)?;
    let series = new.repeat.is_some();
    let sessions = state.store.create_sessions(new, current.actor()).await?;
    Ok(if series {
        (StatusCode::CREATED, Json(SessionSeries { items: sessions })).into_response()
    } else {
        (StatusCode::CREATED, Json(sessions.into_iter().next().expect("one session was created"))).into_response()
    })
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Session), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_session(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<Json<Session>> {
    let scope = scope_of(&state, &current).await?;
    let session = state.store.session(scope, SessionId(id)).await?;
    audit_session_reads(&state, &current, &[&session]).await?;
    Ok(Json(session))
}

/// Admin: change anything; a therapist: only `notes` of their own sessions.
#[utoipa::path(patch, path = "/api/v1/sessions/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), request_body = SessionInput, responses(
    (status = 200, body = Session),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 409, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn update_session(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<SessionInput>,
) -> ApiResult<Json<Session>> {
    let changes = body.validate_changes().map_err(ApiError::Validation)?;
    if changes.only_notes() {
        current.require(Permission::EditSessionNotes)?;
    } else {
        current.require(Permission::ManageSessions)?;
    }
    let scope = scope_of(&state, &current).await?;
    let session = state.store.update_session(scope, SessionId(id), changes, current.actor()).await?;
    Ok(Json(session))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete_session(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    current.require(Permission::ManageSessions)?;
    state.store.delete_session(SessionId(id), current.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Admin: put a therapist on a session (idempotent); 409 if they are busy then.
#[utoipa::path(put, path = "/api/v1/sessions/{id}/therapists/{therapistId}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path), ("therapistId" = i64, Path)), responses((status = 200, body = Session), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn add_therapist(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(ids): ApiPath<(Id, Id)>,
) -> ApiResult<Json<Session>> {
    let (Id(id), Id(therapist)) = ids;
    current.require(Permission::ManageSessions)?;
    let session = state.store.add_session_therapist(SessionId(id), TherapistId(therapist), current.actor()).await?;
    Ok(Json(session))
}

/// Admin: take a therapist off a session.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}/therapists/{therapistId}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path), ("therapistId" = i64, Path)), responses((status = 204), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn remove_therapist(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(ids): ApiPath<(Id, Id)>,
) -> ApiResult<StatusCode> {
    let (Id(id), Id(therapist)) = ids;
    current.require(Permission::ManageSessions)?;
    state.store.remove_session_therapist(SessionId(id), TherapistId(therapist), current.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The widest range one calendar feed covers.
const CALENDAR_MAX_DAYS: i64 = 731;

/// A therapist's sessions (those the caller may see) as an iCalendar feed, in the practice's
/// time zone. Without `from`/`to` it covers 90 days back to 365 days ahead; at most two years.
#[utoipa::path(get, path = "/api/v1/therapists/{id}/calendar.ics", tag = "scheduling", security(("bearer" = [])),
    params(("id" = i64, Path), ("from" = Option<NaiveDate>, Query, description = "First date, inclusive"), ("to" = Option<NaiveDate>, Query, description = "Last date, inclusive")),
    responses(
        (status = 200, description = "RFC 5545 calendar: one VEVENT per session, DTSTART/DTEND with TZID of the practice's zone and its VTIMEZONE; no child's name or notes", content_type = "text/calendar"),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn therapist_calendar(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiQuery(query): ApiQuery<CalendarQuery>,
) -> ApiResult<Response> {
    let therapist = state.store.therapist(TherapistId(id)).await?;
    let today = chrono::Utc::now().date_naive();
    let from = query.from.unwrap_or(today - chrono::Duration::days(90));
    let to = query.to.unwrap_or(today + chrono::Duration::days(365));
    if from > to || (to - from).num_days() > CALENDAR_MAX_DAYS {
        return Err(ApiError::BadRequest(format!(
            "from must not be after to, and the range may span at most {CALENDAR_MAX_DAYS} days"
        )));
    }
    let scope = scope_of(&state, &current).await?;
    let filter =
        SessionFilter { from: Some(from), to: Some(to), therapist_id: Some(therapist.id), child_profile_id: None };
    let mut sessions = Vec::new();
    let mut page = carenest_domain::page::PageRequest::first(carenest_domain::page::MAX_LIMIT);
    loop {
        let batch = state.store.sessions(scope, filter.clone(), page.clone()).await?;
        sessions.extend(batch.items);
        match batch.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    audit_session_reads(&state, &current, &sessions.iter().collect::<Vec<_>>()).await?;
    let body = crate::calendar::render(&therapist, &sessions, state.settings.practice_time_zone);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, format!("inline; filename=\"therapist-{id}.ics\"")),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}
