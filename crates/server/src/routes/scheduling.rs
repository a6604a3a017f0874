//! Therapists and therapy sessions. Who sees which session follows the role table: parents
//! their children's, therapists their own, admins all; the store applies that scope in SQL.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use carenest_domain::ids::{ChildId, SessionId, TherapistId};
use carenest_domain::scheduling::SessionFilter;
use carenest_domain::time::IsoDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::dto::{self, failures, read, Session, Therapist};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Id, ListBody, Pagination};
use crate::json::Json;
use crate::{ApiError, ApiResult, AppState};
use carenest_app::calendar::{render, Calendar, Event};
use carenest_app::Booked;

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

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TherapistQuery {
    /// Matches any part of the name, in any case; blank matches all.
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Therapists, ordered by name then id.
#[utoipa::path(get, path = "/api/v1/therapists", tag = "scheduling", security(("bearer" = [])), params(TherapistQuery), responses((status = 200, description = "Ordered by name, then id", body = ListBody<Therapist>)))]
pub async fn list_therapists(
    State(state): State<AppState>,
    _caller: CurrentUser,
    ApiQuery(query): ApiQuery<TherapistQuery>,
) -> ApiResult<impl IntoResponse> {
    let page = Pagination { limit: query.limit, cursor: query.cursor }.page()?;
    let therapists = state.app.therapists(query.q.as_deref(), page).await.map_err(ApiError::in_query)?;
    Ok(Json(ListBody::<Therapist>::from_page(therapists)))
}

/// Admin: add a therapist; linking `userId` makes that user a `therapist`.
#[utoipa::path(post, path = "/api/v1/therapists", tag = "scheduling", security(("bearer" = [])), request_body = dto::TherapistInput, responses((status = 201, body = Therapist), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, description = "The user is linked to another therapist", body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_therapist(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<dto::TherapistInput>,
) -> ApiResult<impl IntoResponse> {
    let therapist = state.app.create_therapist(&caller, read(body, |i| failures(i.validate_new()))?).await?;
    Ok((StatusCode::CREATED, Json(Therapist::from(therapist))))
}

#[utoipa::path(get, path = "/api/v1/therapists/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Therapist), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_therapist(
    State(state): State<AppState>,
    _caller: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<Json<Therapist>> {
    Ok(Json(state.app.therapist(TherapistId(id)).await?.into()))
}

/// Admin: rename a therapist or change the linked user.
#[utoipa::path(patch, path = "/api/v1/therapists/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), request_body = dto::TherapistInput, responses((status = 200, body = Therapist), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_therapist(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<dto::TherapistInput>,
) -> ApiResult<Json<Therapist>> {
    let input = read(body, |i| failures(i.validate_changes()))?;
    Ok(Json(state.app.update_therapist(&caller, TherapistId(id), input).await?.into()))
}

/// Admin: remove a therapist from their sessions and delete them; the sessions stay.
#[utoipa::path(delete, path = "/api/v1/therapists/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete_therapist(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    state.app.delete_therapist(&caller, TherapistId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// First date, inclusive.
    #[param(value_type = Option<NaiveDate>)]
    pub from: Option<IsoDate>,
    /// Last date, inclusive.
    #[param(value_type = Option<NaiveDate>)]
    pub to: Option<IsoDate>,
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
        let (from, to) = (self.from.map(|d| d.0), self.to.map(|d| d.0));
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(ApiError::query("to", "before_from", "to must not be before from"));
            }
        }
        for (name, id) in [("therapistId", self.therapist_id), ("childProfileId", self.child_profile_id)] {
            if id.is_some_and(|id| id < 1) {
                return Err(ApiError::BadRequest(format!("{name} must be a positive id")));
            }
        }
        Ok(SessionFilter {
            from,
            to,
            therapist_id: self.therapist_id.map(TherapistId),
            child_profile_id: self.child_profile_id.map(ChildId),
        })
    }
}

/// Sessions the caller may see, ordered by date, startTime, id.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "scheduling", security(("bearer" = [])), params(SessionQuery), responses((status = 200, description = "Ordered by date, startTime, id", body = ListBody<Session>), (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_sessions(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> ApiResult<Json<ListBody<Session>>> {
    let filter = query.filter()?;
    let page = Pagination { limit: query.limit, cursor: query.cursor }.page()?;
    Ok(Json(ListBody::from_page(state.app.sessions(&caller, filter, page).await?)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    #[param(value_type = Option<NaiveDate>)]
    pub from: Option<IsoDate>,
    #[param(value_type = Option<NaiveDate>)]
    pub to: Option<IsoDate>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One therapist's sessions (those the caller may see), ordered by date, startTime, id.
#[utoipa::path(get, path = "/api/v1/therapists/{id}/sessions", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path), RangeQuery), responses((status = 200, description = "Ordered by date, startTime, id", body = ListBody<Session>), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn therapist_sessions(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> ApiResult<Json<ListBody<Session>>> {
    let filter = SessionQuery { from: query.from, to: query.to, ..Default::default() }.filter()?;
    let page = Pagination { limit: query.limit, cursor: query.cursor }.page()?;
    Ok(Json(ListBody::from_page(state.app.therapist_sessions(&caller, TherapistId(id), filter, page).await?)))
}

/// A series answers with every occurrence.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionSeries {
    pub items: Vec<Session>,
}

/// Admin: book a session, or with `repeat` a whole series (all or nothing).
#[utoipa::path(post, path = "/api/v1/sessions", tag = "scheduling", security(("bearer" = [])), request_body = dto::SessionInput, responses(
    (status = 201, description = "The session, or `{items}` for a series", body = Session),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 409, description = "A therapist is booked at an overlapping time; `conflicts` lists every overlap", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn create_sessions(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<dto::SessionInput>,
) -> ApiResult<Response> {
    Ok(match state.app.book(&caller, read(body, |i| failures(i.validate_new()))?).await? {
        Booked::Series(sessions) => {
            let items = sessions.into_iter().map(Into::into).collect();
            (StatusCode::CREATED, Json(SessionSeries { items })).into_response()
        }
        Booked::One(session) => (StatusCode::CREATED, Json(Session::from(session))).into_response(),
    })
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = Session), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_session(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<Json<Session>> {
    Ok(Json(state.app.session(&caller, SessionId(id)).await?.into()))
}

/// Admin: change anything; a therapist: only `notes` of their own sessions.
#[utoipa::path(patch, path = "/api/v1/sessions/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), request_body = dto::SessionInput, responses(
    (status = 200, body = Session),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 409, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn update_session(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<dto::SessionInput>,
) -> ApiResult<Json<Session>> {
    let input = read(body, |i| failures(i.validate_changes()))?;
    Ok(Json(state.app.update_session(&caller, SessionId(id), input).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete_session(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    state.app.delete_session(&caller, SessionId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AddTherapistQuery {
    /// Admins: put the therapist on the session even outside their working hours.
    pub outside_working_hours: Option<bool>,
}

/// Admin: put a therapist on a session (idempotent); 409 if they are busy, off, outside their
/// working hours or the practice is closed then.
#[utoipa::path(put, path = "/api/v1/sessions/{id}/therapists/{therapistId}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path), ("therapistId" = i64, Path), AddTherapistQuery), responses((status = 200, body = Session), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn add_therapist(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(ids): ApiPath<(Id, Id)>,
    ApiQuery(query): ApiQuery<AddTherapistQuery>,
) -> ApiResult<Json<Session>> {
    let (Id(id), Id(therapist)) = ids;
    let outside_hours = query.outside_working_hours.unwrap_or(false);
    Ok(Json(
        state.app.add_session_therapist(&caller, SessionId(id), TherapistId(therapist), outside_hours).await?.into(),
    ))
}

/// Admin: take a therapist off a session.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}/therapists/{therapistId}", tag = "scheduling", security(("bearer" = [])), params(("id" = i64, Path), ("therapistId" = i64, Path)), responses((status = 204), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn remove_therapist(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(ids): ApiPath<(Id, Id)>,
) -> ApiResult<StatusCode> {
    let (Id(id), Id(therapist)) = ids;
    state.app.remove_session_therapist(&caller, SessionId(id), TherapistId(therapist)).await?;
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
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiQuery(query): ApiQuery<CalendarQuery>,
) -> ApiResult<Response> {
    let therapist = state.app.therapist(TherapistId(id)).await?;
    let today = chrono::Utc::now().date_naive();
    let from = query.from.map_or(today - chrono::Duration::days(90), |d| d.0);
    let to = query.to.map_or(today + chrono::Duration::days(365), |d| d.0);
    if from > to || (to - from).num_days() > CALENDAR_MAX_DAYS {
        let message = format!("to must not be before from, nor more than {CALENDAR_MAX_DAYS} days after it");
        return Err(ApiError::query("to", "range", message));
    }
    let filter =
        SessionFilter { from: Some(from), to: Some(to), therapist_id: Some(therapist.id), child_profile_id: None };
    let sessions = state.app.all_sessions(&caller, filter).await?;
    let events = sessions
        .iter()
        .map(|session| {
            let names = session.therapists.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
            Event::of(session, "Therapy session".to_owned(), Some(format!("Therapists: {names}")))
        })
        .collect();
    let zone = state.app.settings().practice_time_zone;
    let calendar = Calendar { name: format!("CareNest: {}", therapist.name), zone, events };
    let body = render(&calendar, today);
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
    pub from: Option<IsoDate>,
    pub to: Option<IsoDate>,
}
