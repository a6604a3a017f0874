//! Working hours, time off, closures, free slots, and calendar feeds by secret URL.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use carenest_app::{AvailabilityInput, FeedLink};
use carenest_domain::availability::validate_weekly;
use carenest_domain::ids::{ClosureId, TherapistId, TimeOffId};
use carenest_domain::time::IsoDate;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::auth::CurrentUser;
use crate::dto::{self, failures, read, Closure, Slot, TimeOff, WorkingHours};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Id, ListBody, Pagination};
use crate::json::Json;
use crate::{ApiError, ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/therapists/{id}/working-hours", get(get_working_hours).put(put_working_hours))
        .route("/therapists/{id}/time-off", get(list_time_off).post(create_time_off))
        .route("/therapists/{id}/time-off/{time_off_id}", delete(delete_time_off))
        .route("/closures", get(list_closures).post(create_closure))
        .route("/closures/{id}", delete(delete_closure))
        .route("/availability", get(availability))
        .route("/therapists/{id}/feed", post(new_therapist_feed).delete(revoke_therapist_feed))
        .route("/me/feed", post(new_family_feed).delete(revoke_family_feed))
}

/// Feeds live outside the API's base path: calendar apps fetch them without a token.
pub fn feeds_router() -> Router<AppState> {
    Router::new().route("/feeds/{file}", get(feed))
}

/// Staff: a therapist's weekly working hours.
#[utoipa::path(get, path = "/api/v1/therapists/{id}/working-hours", tag = "availability", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = WorkingHours),
    (status = 403, description = "Parents", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn get_working_hours(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<Json<WorkingHours>> {
    Ok(Json(state.app.working_hours(&caller, TherapistId(id)).await?.into()))
}

/// Admin, or that therapist: replace the whole weekly pattern. An empty list clears it (the
/// therapist is then bookable at any time).
#[utoipa::path(put, path = "/api/v1/therapists/{id}/working-hours", tag = "availability", security(("bearer" = [])), params(("id" = i64, Path)), request_body = dto::WorkingHoursInput, responses(
    (status = 200, body = WorkingHours),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, description = "A malformed or overlapping interval; every one is listed", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn put_working_hours(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<dto::WorkingHoursInput>,
) -> ApiResult<Json<WorkingHours>> {
    let weekly = read(body, |weekly| failures(validate_weekly(weekly.as_deref().unwrap_or_default())))?
        .ok_or_else(|| ApiError::validation("weekly", "required", "weekly is required: the whole weekly pattern"))?;
    Ok(Json(state.app.set_working_hours(&caller, TherapistId(id), &weekly).await?.into()))
}

/// Staff: a therapist's time off, by start date.
#[utoipa::path(get, path = "/api/v1/therapists/{id}/time-off", tag = "availability", security(("bearer" = [])), params(("id" = i64, Path), Pagination), responses(
    (status = 200, description = "Ordered by startDate, then id", body = ListBody<TimeOff>),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn list_time_off(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiQuery(pagination): ApiQuery<Pagination>,
) -> ApiResult<Json<ListBody<TimeOff>>> {
    Ok(Json(ListBody::from_page(state.app.time_off(&caller, TherapistId(id), pagination.page()?).await?)))
}

/// Admin, or that therapist: add time off.
#[utoipa::path(post, path = "/api/v1/therapists/{id}/time-off", tag = "availability", security(("bearer" = [])), params(("id" = i64, Path)), request_body = dto::TimeOffInput, responses(
    (status = 201, body = TimeOff),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn create_time_off(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<dto::TimeOffInput>,
) -> ApiResult<impl IntoResponse> {
    let time_off = state.app.add_time_off(&caller, TherapistId(id), read(body, |i| failures(i.validate()))?).await?;
    Ok((StatusCode::CREATED, Json(TimeOff::from(time_off))))
}

/// Admin, or that therapist: remove time off.
#[utoipa::path(delete, path = "/api/v1/therapists/{id}/time-off/{timeOffId}", tag = "availability", security(("bearer" = [])), params(("id" = i64, Path), ("timeOffId" = i64, Path)), responses(
    (status = 204),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn delete_time_off(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(ids): ApiPath<(Id, Id)>,
) -> ApiResult<StatusCode> {
    let (Id(id), Id(time_off)) = ids;
    state.app.remove_time_off(&caller, TherapistId(id), TimeOffId(time_off)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Days the whole practice is closed, by start date (anyone signed in).
#[utoipa::path(get, path = "/api/v1/closures", tag = "availability", security(("bearer" = [])), params(Pagination), responses(
    (status = 200, description = "Ordered by startDate, then id", body = ListBody<Closure>),
))]
pub async fn list_closures(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiQuery(pagination): ApiQuery<Pagination>,
) -> ApiResult<Json<ListBody<Closure>>> {
    Ok(Json(ListBody::from_page(state.app.closures(&caller, pagination.page()?).await?)))
}

/// Admin: close the practice for some days.
#[utoipa::path(post, path = "/api/v1/closures", tag = "availability", security(("bearer" = [])), request_body = dto::ClosureInput, responses(
    (status = 201, body = Closure),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn create_closure(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<dto::ClosureInput>,
) -> ApiResult<impl IntoResponse> {
    let closure = state.app.add_closure(&caller, read(body, |i| failures(i.validate()))?).await?;
    Ok((StatusCode::CREATED, Json(Closure::from(closure))))
}

/// Admin: remove a closure.
#[utoipa::path(delete, path = "/api/v1/closures/{id}", tag = "availability", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 204),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn delete_closure(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    state.app.remove_closure(&caller, ClosureId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Comma-separated therapist ids, each once (at most 10): slots where all of them are free.
    #[param(required = true, example = "1,2", pattern = "^[1-9][0-9]{0,17}(?:,[1-9][0-9]{0,17}){0,9}$")]
    pub therapist_ids: Option<String>,
    /// First date, inclusive; default today.
    #[param(value_type = Option<NaiveDate>)]
    pub from: Option<IsoDate>,
    /// Last date, inclusive; default 13 days after `from`; at most 366 days after it.
    #[param(value_type = Option<NaiveDate>)]
    pub to: Option<IsoDate>,
    /// Minutes, 5 to 480.
    #[param(required = true, minimum = 5, maximum = 480)]
    pub duration: Option<i64>,
    /// Minutes, 5 to 120 (default 15): slots start on multiples of it after midnight.
    #[param(minimum = 5, maximum = 120)]
    pub step: Option<i64>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// An id as a path or list spells it: digits, no sign, no leading zero.
fn positive_id(text: &str) -> Option<i64> {
    let digits = !text.is_empty() && !text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}

/// Staff: the free slots where every listed therapist is within working hours, not on time
/// off, the practice is open, and no non-cancelled session of theirs overlaps.
#[utoipa::path(get, path = "/api/v1/availability", tag = "availability", security(("bearer" = [])), params(AvailabilityQuery), responses(
    (status = 200, description = "Earliest first; never a slot that has started; a slot listed can be booked unless someone books it first", body = ListBody<Slot>),
    (status = 400, description = "A missing or malformed parameter; every one is listed", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Parents", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, description = "A therapist does not exist", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn availability(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiQuery(query): ApiQuery<AvailabilityQuery>,
) -> ApiResult<Json<ListBody<Slot>>> {
    let therapist_ids = match query.therapist_ids.as_deref().filter(|ids| !ids.is_empty()) {
        None => Vec::new(),
        Some(ids) => ids.split(',').map(positive_id).collect::<Option<_>>().ok_or_else(|| {
            ApiError::BadRequest("therapistIds must be positive ids separated by commas, such as 1,2".into())
        })?,
    };
    let input = AvailabilityInput {
        therapist_ids,
        from: query.from.map(|d| d.0),
        to: query.to.map(|d| d.0),
        duration: query.duration,
        step: query.step,
    };
    let page = Pagination { limit: query.limit, cursor: query.cursor }.page()?;
    let slots = state.app.availability(&caller, &input, page).await.map_err(ApiError::in_query)?;
    Ok(Json(ListBody::from_page(slots)))
}

/// The URL of a feed: under the configured public URL, else under the host the client used.
pub(crate) fn feed_url(state: &AppState, headers: &HeaderMap, link: &FeedLink) -> String {
    let base = state.app.settings().public_url.clone().unwrap_or_else(|| {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        format!("http://{host}")
    });
    format!("{}/feeds/{}.ics", base.trim_end_matches('/'), link.secret)
}

fn feed_created(state: &AppState, headers: &HeaderMap, link: FeedLink) -> impl IntoResponse {
    let url = feed_url(state, headers, &link);
    (StatusCode::CREATED, Json(dto::FeedLink { url, created_at: link.created_at }))
}

/// Admin, or that therapist: a new secret calendar URL for the therapist's sessions; any
/// earlier URL stops working. The URL is shown once.
#[utoipa::path(post, path = "/api/v1/therapists/{id}/feed", tag = "availability", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 201, body = dto::FeedLink),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn new_therapist_feed(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let link = state.app.new_therapist_feed(&caller, TherapistId(id)).await?;
    Ok(feed_created(&state, &headers, link))
}

/// Admin, or that therapist: the therapist's feed URL stops working.
#[utoipa::path(delete, path = "/api/v1/therapists/{id}/feed", tag = "availability", security(("bearer" = [])), params(("id" = i64, Path)), responses(
    (status = 204),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn revoke_therapist_feed(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    state.app.revoke_therapist_feed(&caller, TherapistId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret calendar URL for the sessions of the caller's children; any earlier one stops
/// working. The URL is shown once.
#[utoipa::path(post, path = "/api/v1/me/feed", tag = "availability", security(("bearer" = [])), responses((status = 201, body = dto::FeedLink)))]
pub async fn new_family_feed(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let link = state.app.new_family_feed(&caller).await?;
    Ok(feed_created(&state, &headers, link))
}

/// The family's feed URL stops working.
#[utoipa::path(delete, path = "/api/v1/me/feed", tag = "availability", security(("bearer" = [])), responses((status = 204)))]
pub async fn revoke_family_feed(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
) -> ApiResult<StatusCode> {
    state.app.revoke_family_feed(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A calendar feed by its secret URL, without authentication: RFC 5545, sessions from 90 days
/// back to a year ahead in the practice's time zone, cancelled ones as `STATUS:CANCELLED`.
#[utoipa::path(get, path = "/feeds/{secret}.ics", tag = "availability", params(("secret" = String, Path, description = "The secret of the feed's URL")), responses(
    (status = 200, description = "The calendar, with an ETag", content_type = "text/calendar"),
    (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
    (status = 404, description = "An unknown or revoked secret", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn feed(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let secret = file.strip_suffix(".ics").ok_or(ApiError::NotFound)?;
    let body = state.app.feed(secret).await?;
    let digest = Sha256::digest(body.as_bytes());
    let etag = format!("\"{}\"", digest[..16].iter().map(|b| format!("{b:02x}")).collect::<String>());
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let etag_value = HeaderValue::from_str(&etag).expect("a quoted hex digest is a valid header value");
    let caching = [(header::ETAG, etag_value), (header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"))];
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, caching).into_response());
    }
    let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"))];
    Ok((caching, content_type, body).into_response())
}
