//! Registration, login, the current user's account, export and erase, and user admin.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use carenest_domain::accounts::{
    check_email, check_password, check_picture, NewToken, NewUser, Registration, Role, ThrottleKey, User, UserChanges,
};
use carenest_domain::audit::AuditEntry;
use carenest_domain::family::{ChildProfile, ParentProfile, ParentingGoal};
use carenest_domain::ids::UserId;
use carenest_domain::page::{PageRequest, MAX_LIMIT};
use carenest_domain::scheduling::{Session, SessionFilter, SessionScope};
use carenest_domain::time::now;
use carenest_domain::validation::{Choice, Errors};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{hash_password, new_token, verify_password, CurrentUser, Permission};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientAddress, Id, ListBody, Pagination};
use crate::{ApiError, ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me).patch(update_me).delete(erase_me))
        .route("/me/export", get(export))
        .route("/me/access-log", get(access_log))
        .route("/users", get(list_users))
        .route("/users/{id}", patch(change_role))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthSession {
    pub user: User,
    /// The bearer token for `Authorization: Bearer <token>`.
    pub token: String,
}

async fn issue_token(state: &AppState, user: User) -> ApiResult<AuthSession> {
    let (token, hash) = new_token();
    state.store.insert_token(user.id, &hash, now() + state.settings.token_ttl).await?;
    Ok(AuthSession { user, token })
}

/// Create an account (role `parent`) and log in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = Registration, responses(
    (status = 201, body = AuthSession),
    (status = 409, description = "Username or email taken", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Registration>,
) -> ApiResult<impl IntoResponse> {
    let body = body.validate().map_err(ApiError::Validation)?;
    let password_hash = hash_password(body.password).await?;
    let (token, hash) = new_token();
    let user = state
        .store
        .create_user(NewUser {
            username: body.username,
            email: body.email,
            password_hash,
            profile_picture: body.profile_picture,
            role: Role::Parent,
            first_token: Some(NewToken { hash: hash.to_vec(), expires_at: now() + state.settings.token_ttl }),
        })
        .await?;
    tracing::info!(user_id = user.id.0, "registered");
    Ok((StatusCode::CREATED, Json(AuthSession { user, token })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The username or the email, in any case.
    pub username: String,
    pub password: String,
}

/// Log in with username (or email) and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = Login, responses(
    (status = 200, body = AuthSession),
    (status = 401, description = "Wrong username or password (the same answer for an unknown user)", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many failed logins; see Retry-After", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult<Json<AuthSession>> {
    let client = client.map_or_else(|| "unknown".to_owned(), |address| address.to_string());
    let user_key = [ThrottleKey::username(&body.username)];
    let client_key = [ThrottleKey::client(&client)];
    let settings = &state.settings;
    let now = now();
    let locked = [
        state.store.login_locked_until(&user_key, settings.throttle_per_username, now).await?,
        state.store.login_locked_until(&client_key, settings.throttle_per_client, now).await?,
    ];
    if let Some(until) = locked.into_iter().flatten().max() {
        let retry_after_seconds = (until - now).num_seconds().max(1) as u64;
        return Err(ApiError::TooManyRequests { retry_after_seconds });
    }
    let credentials =
        if body.username.len() <= 254 { state.store.credentials_by_login(&body.username).await? } else { None };
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
    if !verify_password(body.password, stored_hash).await? {
        state.store.record_login_failure(&user_key, settings.throttle_per_username, now).await?;
        state.store.record_login_failure(&client_key, settings.throttle_per_client, now).await?;
        return Err(ApiError::Unauthorized);
    }
    let user = credentials.expect("a verified password has a user").user;
    state.store.clear_login_failures(&[user_key[0].clone(), client_key[0].clone()]).await?;
    tracing::info!(user_id = user.id.0, "logged in");
    Ok(Json(issue_token(&state, user).await?))
}

/// Revoke the token of this request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", security(("bearer" = [])), responses((status = 204), (status = 401, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn logout(State(state): State<AppState>, current: CurrentUser) -> ApiResult<StatusCode> {
    state.store.revoke_token(&current.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The current user with their family nested.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    pub parent_profile: Option<ParentProfile>,
    pub child_profiles: Vec<ChildProfile>,
    pub parenting_goals: Vec<ParentingGoal>,
}

async fn me_of(state: &AppState, user: User) -> ApiResult<Me> {
    let family = state.store.family(user.id).await?;
    Ok(Me { user, parent_profile: family.profile, child_profiles: family.children, parenting_goals: family.goals })
}

/// The current user, with parent profile, children and goals: one query per level.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])), responses((status = 200, body = Me), (status = 401, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn me(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Json<Me>> {
    Ok(Json(me_of(&state, current.user).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountChanges {
    pub email: Option<String>,
    /// `null` removes the picture.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub profile_picture: Option<Option<String>>,
    /// A new password; needs `currentPassword`. Every other token is revoked.
    pub password: Option<String>,
    pub current_password: Option<String>,
}

fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Change email, picture or password.
#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])), request_body = AccountChanges, responses(
    (status = 200, body = User),
    (status = 422, description = "Invalid fields, or a new password without the right currentPassword", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn update_me(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<AccountChanges>,
) -> ApiResult<Json<User>> {
    let mut errors = Errors::new();
    if let Some(email) = &body.email {
        check_email(&mut errors, "email", email);
    }
    if let Some(Some(picture)) = &body.profile_picture {
        check_picture(&mut errors, "profilePicture", picture);
    }
    if let Some(password) = &body.password {
        check_password(&mut errors, "password", password);
        if body.current_password.is_none() {
            errors.add("currentPassword", "required", "currentPassword is required to set a new password");
        }
    }
    errors.finish(()).map_err(ApiError::Validation)?;
    let password_hash = match (body.password, body.current_password) {
        (Some(password), Some(current_password)) => {
            let stored = state.store.credentials(current.id()).await?.password_hash;
            if !verify_password(current_password, Some(stored)).await? {
                return Err(ApiError::validation(
                    "currentPassword",
                    "incorrect",
                    "currentPassword is not your current password",
                ));
            }
            Some(hash_password(password).await?)
        }
        _ => None,
    };
    let changes = UserChanges { email: body.email, profile_picture: body.profile_picture, password_hash };
    Ok(Json(state.store.update_user(current.id(), changes, Some(&current.token_hash)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Erase {
    pub password: String,
}

/// Erase the account and everything that belongs to it. Audit rows stay.
#[utoipa::path(delete, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])), request_body = Erase, responses(
    (status = 204),
    (status = 409, description = "The last admin can't be erased", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Wrong password", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn erase_me(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<Erase>,
) -> ApiResult<StatusCode> {
    let stored = state.store.credentials(current.id()).await?.password_hash;
    if !verify_password(body.password, Some(stored)).await? {
        return Err(ApiError::validation("password", "incorrect", "password is not your password"));
    }
    state.store.erase_user(current.id()).await?;
    tracing::info!(user_id = current.id().0, "account erased");
    Ok(StatusCode::NO_CONTENT)
}

/// Everything the service holds about a user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    pub exported_at: chrono::DateTime<chrono::Utc>,
    #[serde(flatten)]
    pub me: Me,
    /// Sessions of the user's children.
    pub sessions: Vec<Session>,
    /// Who read or changed this user's family data.
    pub access_log: Vec<AuditEntry>,
}

/// Every record held about the current user, as one document.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "accounts", security(("bearer" = [])), responses((status = 200, body = Export)))]
pub async fn export(State(state): State<AppState>, current: CurrentUser) -> ApiResult<Json<Export>> {
    let mut sessions = Vec::new();
    let mut page = PageRequest::first(MAX_LIMIT);
    loop {
        let batch =
            state.store.sessions(SessionScope::Parent(current.id()), SessionFilter::default(), page.clone()).await?;
        sessions.extend(batch.items);
        match batch.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    let mut access_log = Vec::new();
    let mut page = PageRequest::first(MAX_LIMIT);
    loop {
        let batch = state.store.audit_entries(current.id(), page.clone()).await?;
        access_log.extend(batch.items.into_iter().map(|(_, entry)| entry));
        match batch.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    Ok(Json(Export { exported_at: now(), me: me_of(&state, current.user).await?, sessions, access_log }))
}

/// Who read or changed this user's family data, newest first.
#[utoipa::path(get, path = "/api/v1/me/access-log", tag = "accounts", security(("bearer" = [])), params(Pagination), responses((status = 200, description = "Newest first", body = ListBody<AuditEntry>)))]
pub async fn access_log(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(pagination): ApiQuery<Pagination>,
) -> ApiResult<impl IntoResponse> {
    let page = state.store.audit_entries(current.id(), pagination.page()?).await?;
    Ok(Json(ListBody::from_page(page.map(|(_, entry)| entry))))
}

/// Admin: every user, by id.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", security(("bearer" = [])), params(Pagination), responses((status = 200, description = "Ordered by id", body = ListBody<User>), (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_users(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(pagination): ApiQuery<Pagination>,
) -> ApiResult<impl IntoResponse> {
    current.require(Permission::ManageUsers)?;
    let page = state.store.list_users(pagination.page::<UserId>()?).await?;
    Ok(Json(ListBody::from_page(page)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    #[schema(value_type = Role)]
    pub role: String,
}

/// Admin: change a user's role. The last admin can't stop being one.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts", security(("bearer" = [])), params(("id" = i64, Path)), request_body = RoleChange, responses(
    (status = 200, body = User),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 409, description = "It would leave no admin", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn change_role(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<RoleChange>,
) -> ApiResult<Json<User>> {
    current.require(Permission::ManageUsers)?;
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::validation("role", "one_of", format!("role must be one of: {}", Role::ALL.join(", ")))
    })?;
    let user = state.store.set_role(UserId(id), role).await?;
    tracing::info!(user_id = id, actor_user_id = current.id().0, role = role.as_str(), "role changed");
    Ok(Json(user))
}
