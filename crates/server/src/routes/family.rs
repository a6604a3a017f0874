//! The current user's own family data: parent profile, onboarding, children, goals. Every id
//! is looked up within the caller's family, so another family's ids answer 404.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use carenest_domain::family::*;
use carenest_domain::ids::{ChildId, GoalId};
use carenest_domain::suggestions::{family_document, nearest, rank, Embedding, RankingInput, Suggestions};
use carenest_domain::validation::Choice;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::CurrentUser;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Id, ListBody, Pagination};
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
pub async fn get_profile(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Json<ParentProfile>> {
    Ok(Json(state.store.parent_profile(current.id()).await?))
}

/// Create the parent profile; `name`, `stressLevel` and `experienceLevel` are required.
#[utoipa::path(post, path = "/api/v1/parent-profile", tag = "family", security(("bearer" = [])), request_body = ParentProfileInput, responses(
    (status = 201, body = ParentProfile),
    (status = 409, description = "A profile exists already", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn create_profile(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<ParentProfileInput>,
) -> ApiResult<impl IntoResponse> {
    let profile = body.validate_new().map_err(ApiError::Validation)?;
    let profile = state.store.create_parent_profile(current.id(), profile).await?;
    Ok((StatusCode::CREATED, Json(profile)))
}

/// Change any field of the parent profile; `null` clears an optional one.
#[utoipa::path(patch, path = "/api/v1/parent-profile", tag = "family", security(("bearer" = [])), request_body = ParentProfileInput, responses((status = 200, body = ParentProfile), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_profile(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<ParentProfileInput>,
) -> ApiResult<Json<ParentProfile>> {
    let changes = body.validate_changes().map_err(ApiError::Validation)?;
    let profile = state.store.update_parent_profile(current.id(), changes).await?;
    Ok(Json(profile))
}

/// Delete the parent profile with its children and goals.
#[utoipa::path(delete, path = "/api/v1/parent-profile", tag = "family", security(("bearer" = [])), responses((status = 204), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete_profile(State(state): State<AppState>, current: CurrentUser) -> ApiResult<StatusCode> {
    state.store.delete_parent_profile(current.id()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Onboarding state.
#[utoipa::path(get, path = "/api/v1/onboarding", tag = "family", security(("bearer" = [])), responses((status = 200, body = Onboarding), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_onboarding(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Json<Onboarding>> {
    Ok(Json(Onboarding::from(&state.store.parent_profile(current.id()).await?)))
}

/// Move through onboarding; `onboardingData` keys are merged into what is stored.
#[utoipa::path(patch, path = "/api/v1/onboarding", tag = "family", security(("bearer" = [])), request_body = OnboardingInput, responses((status = 200, body = Onboarding), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_onboarding(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<OnboardingInput>,
) -> ApiResult<Json<Onboarding>> {
    let changes = body.validate().map_err(ApiError::Validation)?;
    let profile = state.store.update_onboarding(current.id(), changes).await?;
    Ok(Json(Onboarding::from(&profile)))
}

/// The user's children, by id.
#[utoipa::path(get, path = "/api/v1/children", tag = "family", security(("bearer" = [])), params(Pagination), responses((status = 200, description = "Ordered by id", body = ListBody<ChildProfile>)))]
pub async fn list_children(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(pagination): ApiQuery<Pagination>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(ListBody::from_page(state.store.children(current.id(), pagination.page()?).await?)))
}

/// Add a child; needs a parent profile first (409).
#[utoipa::path(post, path = "/api/v1/children", tag = "family", security(("bearer" = [])), request_body = ChildInput, responses((status = 201, body = ChildProfile), (status = 409, description = "No parent profile yet", body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_child(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<ChildInput>,
) -> ApiResult<impl IntoResponse> {
    let child = body.validate_new().map_err(ApiError::Validation)?;
    let child = state.store.create_child(current.id(), child).await?;
    Ok((StatusCode::CREATED, Json(child)))
}

#[utoipa::path(get, path = "/api/v1/children/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = ChildProfile), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_child(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<Json<ChildProfile>> {
    Ok(Json(state.store.child(current.id(), ChildId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/children/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ChildInput, responses((status = 200, body = ChildProfile), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_child(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<ChildInput>,
) -> ApiResult<Json<ChildProfile>> {
    let changes = body.validate_changes().map_err(ApiError::Validation)?;
    let child = state.store.update_child(current.id(), ChildId(id), changes).await?;
    Ok(Json(child))
}

/// Remove a child; their goals and sessions stay, unlinked.
#[utoipa::path(delete, path = "/api/v1/children/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete_child(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    state.store.delete_child(current.id(), ChildId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GoalQuery {
    /// Only goals with this status.
    #[param(value_type = Option<GoalStatus>)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The user's goals, by id; `?status=` filters.
#[utoipa::path(get, path = "/api/v1/goals", tag = "family", security(("bearer" = [])), params(GoalQuery), responses((status = 200, description = "Ordered by id", body = ListBody<ParentingGoal>), (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_goals(
    State(state): State<AppState>,
    current: CurrentUser,
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
    Ok(Json(ListBody::from_page(state.store.goals(current.id(), status, page).await?)))
}

/// Add a goal; `childProfileId` must be one of the user's own children.
#[utoipa::path(post, path = "/api/v1/goals", tag = "family", security(("bearer" = [])), request_body = GoalInput, responses((status = 201, body = ParentingGoal), (status = 409, description = "No parent profile yet", body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_goal(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<GoalInput>,
) -> ApiResult<impl IntoResponse> {
    let goal = body.validate_new().map_err(ApiError::Validation)?;
    let goal = state.store.create_goal(current.id(), goal).await?;
    Ok((StatusCode::CREATED, Json(goal)))
}

#[utoipa::path(get, path = "/api/v1/goals/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = ParentingGoal), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_goal(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<Json<ParentingGoal>> {
    Ok(Json(state.store.goal(current.id(), GoalId(id)).await?))
}

#[utoipa::path(patch, path = "/api/v1/goals/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), request_body = GoalInput, responses((status = 200, body = ParentingGoal), (status = 404, body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_goal(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<GoalInput>,
) -> ApiResult<Json<ParentingGoal>> {
    let changes = body.validate_changes().map_err(ApiError::Validation)?;
    let goal = state.store.update_goal(current.id(), GoalId(id), changes).await?;
    Ok(Json(goal))
}

#[utoipa::path(delete, path = "/api/v1/goals/{id}", tag = "family", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete_goal(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    state.store.delete_goal(current.id(), GoalId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Goals suggested for this family: templates of the catalogue ranked by fit to the family's
/// profile and children, the children's ages, and adoption by the most similar families.
/// Sets `lastSuggestionCheck`.
#[utoipa::path(get, path = "/api/v1/suggestions", tag = "family", security(("bearer" = [])), responses(
    (status = 200, body = Suggestions, description = "At most 10 suggestions, best first, in the parent's preferredLanguage (Dutch for `nl`, else English). Templates the family already has, and templates for ages none of its children have, are left out. Adoption by fewer than 3 similar families is neither shown nor counted, and nothing identifies another family."),
    (status = 409, description = "No parent profile yet", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn suggestions(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Json<Suggestions>> {
    let family = state.store.family(current.id()).await?;
    let profile = family.profile.ok_or_else(|| {
        ApiError::from(carenest_domain::StoreError::conflict("parent_profile_required", "no profile"))
    })?;
    let embedder = state.store.embedder();
    let fields = profile.fields();
    // A profile always has its embedding; one of another model is recomputed rather than misread.
    let embedding = profile
        .profile_embedding
        .as_deref()
        .and_then(|text| Embedding::from_text(text, embedder.model()))
        .unwrap_or_else(|| embedder.embed(&family_document(&fields, &family.children)));
    let candidates = state.store.neighbour_candidates(profile.id, &embedding.buckets()).await?;
    let neighbours = nearest(&embedding, embedder.model(), &candidates);
    let adoption =
        if neighbours.is_empty() { Default::default() } else { state.store.template_adoption(&neighbours).await? };
    let templates = state.store.goal_templates().await?;
    let input = RankingInput {
        profile: &fields,
        family: &embedding,
        children: &family.children,
        goals: &family.goals,
        templates: &templates,
        adoption: &adoption,
        neighbours: neighbours.len(),
    };
    let suggestions = rank(embedder, &input, carenest_domain::time::now());
    state.store.touch_suggestion_check(current.id(), suggestions.generated_at).await?;
    Ok(Json(suggestions))
}
