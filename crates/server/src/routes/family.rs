//! The current user's own family data: parent profile, onboarding, children, goals. Every id
//! is looked up within the caller's family, so another family's ids answer 404.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use carenest_domain::family::GoalStatus;
use carenest_domain::ids::{ChildId, GoalId};
use carenest_domain::validation::Choice;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::CurrentUser;
use crate::dto::{self, failures, read, ChildProfile, Onboarding, ParentProfile, ParentingGoal, Suggestions};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Id, ListBody, Pagination};
use crate::json::Json;
use crate::{ApiError, ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/parent-profile", get(get_profile).post(create_profile).patch(update_profile).delete(delete_profile))
        .route("/onboarding", get(get_onboarding).patch(update_onboarding))
        .route("/children", get(list_children).post(create_child))
        .route("/children/{id}", get(get_child).patch(update_child).delete(delete_child))
        .route("/goals", get(list_goals).post(create_goal))
        .route("/goals/{id}", get(get_goal).patch(update_goal).delete(delete_goal))
        .route("/suggestions", get(suggestions))
}

/// The current user's parent profile.
#[utoipa::path(get, path = "/api/v1/parent-profile", tag = "family", security(("bearer" = [])), responses((status = 200, body = ParentProfile), (status = 404, description = "No profile yet", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_profile(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
) -> ApiResult<Json<ParentProfile>> {
    Ok(Json(state.app.parent_profile(&caller).await?.into()))
}

/// Create the parent profile; `name`, `stressLevel` and `experienceLevel` are required.
#[utoipa::path(post, path = "/api/v1/parent-profile", tag = "family", security(("bearer" = [])), request_body = dto::ParentProfileInput, responses(
    (status = 201, body = ParentProfile),
    (status = 409, description = "A profile exists already", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn create_profile(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<dto::ParentProfileInput>,
) -> ApiResult<impl IntoResponse> {
    let profile = state.app.create_parent_profile(&caller, read(body, |i| failures(i.validate_new()))?).await?;
    Ok((StatusCode::CREATED, Json(ParentProfile::from(profile))))
}

/// Change any field of the parent profile; `null` clears an optional one.
#[utoipa::path(patch, path = "/api/v1/parent-profile", tag = "family", security(("bearer" = [])), request_body = dto::ParentProfileInput, responses((status = 200, body = ParentProfile), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_profile(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<dto::ParentProfileInput>,
) -> ApiResult<Json<ParentProfile>> {
    let input = read(body, |i| failures(i.validate_changes()))?;
    Ok(Json(state.app.update_parent_profile(&caller, input).await?.into()))
}

/// Delete the parent profile with its children and goals.
#[utoipa::path(delete, path = "/api/v1/parent-profile", tag = "family", security(("bearer" = [])), responses((status = 204), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete_profile(State(state): State<AppState>, CurrentUser(caller): CurrentUser) -> ApiResult<StatusCode> {
    state.app.delete_parent_profile(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Onboarding state.
#[utoipa::path(get, path = "/api/v1/onboarding", tag = "family", security(("bearer" = [])), responses((status = 200, body = Onboarding), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_onboarding(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
) -> ApiResult<Json<Onboarding>> {
    Ok(Json(state.app.onboarding(&caller).await?.into()))
}

/// Move through onboarding; `onboardingData` keys are merged into what is stored.
#[utoipa::path(patch, path = "/api/v1/onboarding", tag = "family", security(("bearer" = [])), request_body = dto::OnboardingInput, responses((status = 200, body = Onboarding), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_onboarding(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<dto::OnboardingInput>,
) -> ApiResult<Json<Onboarding>> {
    let input = read(body, |i| failures(i.validate()))?;
    Ok(Json(state.app.update_onboarding(&caller, input).await?.into()))
}

/// The user's children, by id.
#[utoipa::path(get, path = "/api/v1/children", tag = "family", security(("bearer" = [])), params(Pagination), responses((status = 200, description = "Ordered by id", body = ListBody<ChildProfile>)))]
pub async fn list_children(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiQuery(pagination): ApiQuery<Pagination>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(ListBody::<ChildProfile>::from_page(state.app.children(&caller, pagination.page()?).await?)))
}

/// Add a child; needs a parent profile first (409).
#[utoipa::path(post, path = "/api/v1/children", tag = "family", security(("bearer" = [])), request_body = dto::ChildInput, responses((status = 201, body = ChildProfile), (status = 409, description = "No parent profile yet", body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_child(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<dto::ChildInput>,
) -> ApiResult<impl IntoResponse> {
    let child = state.app.create_child(&caller, read(body, |i| failures(i.validate_new()))?).await?;
    Ok((StatusCode::CREATED, Json(ChildProfile::from(child))))
}

#[utoipa::path(get, path = "/api/v1/children/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = ChildProfile), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_child(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<Json<ChildProfile>> {
    Ok(Json(state.app.child(&caller, ChildId(id)).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/children/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), request_body = dto::ChildInput, responses((status = 200, body = ChildProfile), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_child(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<dto::ChildInput>,
) -> ApiResult<Json<ChildProfile>> {
    let input = read(body, |i| failures(i.validate_changes()))?;
    Ok(Json(state.app.update_child(&caller, ChildId(id), input).await?.into()))
}

/// Remove a child; their goals and sessions stay, unlinked.
#[utoipa::path(delete, path = "/api/v1/children/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete_child(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    state.app.delete_child(&caller, ChildId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GoalQuery {
    /// Only goals with this status.
    #[param(value_type = Option<dto::enums::GoalStatus>)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The user's goals, by id; `?status=` filters.
#[utoipa::path(get, path = "/api/v1/goals", tag = "family", security(("bearer" = [])), params(GoalQuery), responses((status = 200, description = "Ordered by id", body = ListBody<ParentingGoal>), (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_goals(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiQuery(query): ApiQuery<GoalQuery>,
) -> ApiResult<impl IntoResponse> {
    let status = query
        .status
        .as_deref()
        .map(|s| {
            GoalStatus::parse(s)
                .ok_or_else(|| ApiError::BadRequest(format!("status must be one of: {}", GoalStatus::ALL.join(", "))))
        })
        .transpose()?;
    let page = Pagination { limit: query.limit, cursor: query.cursor }.page()?;
    Ok(Json(ListBody::<ParentingGoal>::from_page(state.app.goals(&caller, status, page).await?)))
}

/// Add a goal; `childProfileId` must be one of the user's own children.
#[utoipa::path(post, path = "/api/v1/goals", tag = "family", security(("bearer" = [])), request_body = dto::GoalInput, responses((status = 201, body = ParentingGoal), (status = 409, description = "No parent profile yet", body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_goal(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<dto::GoalInput>,
) -> ApiResult<impl IntoResponse> {
    let goal = state.app.create_goal(&caller, read(body, |i| failures(i.validate_new()))?).await?;
    Ok((StatusCode::CREATED, Json(ParentingGoal::from(goal))))
}

#[utoipa::path(get, path = "/api/v1/goals/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = ParentingGoal), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_goal(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<Json<ParentingGoal>> {
    Ok(Json(state.app.goal(&caller, GoalId(id)).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/goals/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), request_body = dto::GoalInput, responses((status = 200, body = ParentingGoal), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_goal(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<dto::GoalInput>,
) -> ApiResult<Json<ParentingGoal>> {
    let input = read(body, |i| failures(i.validate_changes()))?;
    Ok(Json(state.app.update_goal(&caller, GoalId(id), input).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/goals/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete_goal(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    state.app.delete_goal(&caller, GoalId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Goals suggested for this family: templates of the catalogue ranked by fit to the family's
/// profile and children, the children's ages, and adoption by the most similar families.
/// Sets `lastSuggestionCheck`.
#[utoipa::path(get, path = "/api/v1/suggestions", tag = "family", security(("bearer" = [])), responses(
    (status = 200, body = Suggestions, description = "At most 10 suggestions, best first, in the parent's preferredLanguage (Dutch for `nl`, else English). Templates the family already has, and templates for ages none of its children have, are left out. Adoption by fewer than 3 similar families is neither shown nor counted, and nothing identifies another family."),
    (status = 409, description = "No parent profile yet", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn suggestions(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
) -> ApiResult<Json<Suggestions>> {
    Ok(Json(state.app.suggestions(&caller).await?.into()))
}
