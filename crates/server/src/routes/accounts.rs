//! Registration, login, the current user's account, export and erase, and user admin.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};
use axum::Router;
use carenest_app::LoggedIn;

use carenest_domain::ids::UserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::dto::{
    self, failures, read, AuditEntry, ChildProfile, ParentProfile, ParentingGoal, Session, Therapist, User,
};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Id, ListBody, Pagination};
use crate::json::Json;
use crate::network::ClientAddress;
use crate::{ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me).patch(update_me).delete(erase_me))
        .route("/me/export", get(export))
        .route("/me/access-log", get(access_log))
        .route("/me/notifications", get(notifications).patch(set_notifications))
        .route("/users", get(list_users))
        .route("/users/{id}", patch(change_role))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthSession {
    pub user: User,
    /// The bearer token for `Authorization: Bearer <token>`.
    pub token: String,
}

impl From<LoggedIn> for AuthSession {
    fn from(logged_in: LoggedIn) -> Self {
        Self { user: logged_in.user.into(), token: logged_in.token }
    }
}

/// Create an account (role `parent`) and log in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = dto::Registration, responses(
    (status = 201, body = AuthSession),
    (status = 409, description = "Username or email taken", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many registrations from this client; see Retry-After", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn register(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<dto::Registration>,
) -> ApiResult<impl IntoResponse> {
    let registered = state.app.register(read(body, |i| failures(i.validate()))?, client).await?;
    Ok((StatusCode::CREATED, Json(AuthSession::from(registered))))
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
    Ok(Json(state.app.login(&body.username, body.password, client).await?.into()))
}

/// Revoke the token of this request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", security(("bearer" = [])), responses((status = 204), (status = 401, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn logout(State(state): State<AppState>, CurrentUser(caller): CurrentUser) -> ApiResult<StatusCode> {
    state.app.logout(&caller).await?;
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

impl From<carenest_app::Me> for Me {
    fn from(me: carenest_app::Me) -> Self {
        Self {
            user: me.user.into(),
            parent_profile: me.family.profile.map(Into::into),
            child_profiles: me.family.children.into_iter().map(Into::into).collect(),
            parenting_goals: me.family.goals.into_iter().map(Into::into).collect(),
        }
    }
}

/// The current user, with parent profile, children and goals: one query per level.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])), responses((status = 200, body = Me), (status = 401, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn me(State(state): State<AppState>, CurrentUser(caller): CurrentUser) -> ApiResult<Json<Me>> {
    Ok(Json(state.app.me(&caller).await?.into()))
}

/// Change email, picture or password.
#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])), request_body = dto::AccountChanges, responses(
        (status = 200, body = User),
    (status = 409, description = "Another account has that email", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields, or a new password without the right currentPassword", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many wrong passwords for this account; see Retry-After", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn update_me(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<dto::AccountChanges>,
) -> ApiResult<Json<User>> {
    let update = read(body, |update| update.check())?;
    Ok(Json(state.app.update_account(&caller, update).await?.into()))
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
    (status = 429, description = "Too many wrong passwords for this account; see Retry-After", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn erase_me(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<Erase>,
) -> ApiResult<StatusCode> {
    state.app.erase(&caller, body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything the service holds about a user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    #[serde(serialize_with = "crate::dto::temporal::timestamp")]
    pub exported_at: chrono::DateTime<chrono::Utc>,
    #[serde(flatten)]
    pub me: Me,
    /// Sessions of the user's children.
    pub sessions: Vec<Session>,
    /// Who read or changed this user's family data.
    pub access_log: Vec<AuditEntry>,
    /// What this user read or changed, as the audit log records it.
    pub actions: Vec<AuditEntry>,
    /// The user's live login tokens, as metadata: the tokens themselves are never stored.
    pub tokens: Vec<TokenMetadata>,
    /// The therapist record linked to this user, with its schedule; absent for other users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub therapist: Option<TherapistExport>,
    /// The family's session reminders, newest first.
    pub reminders: Vec<ReminderRecord>,
}

/// One planned reminder email: when, for which session, and what became of it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReminderRecord {
    pub session_id: i64,
    /// Minutes before the session's start.
    pub offset_minutes: i32,
    #[serde(serialize_with = "crate::dto::temporal::timestamp")]
    pub due_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = String, example = "sent")]
    pub state: String,
    pub attempts: i32,
    #[serde(serialize_with = "crate::dto::temporal::optional_timestamp")]
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(serialize_with = "crate::dto::temporal::timestamp")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A live login token, without the token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenMetadata {
    #[serde(serialize_with = "crate::dto::temporal::timestamp")]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "crate::dto::temporal::timestamp")]
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Noted at most once a minute.
    #[serde(serialize_with = "crate::dto::temporal::optional_timestamp")]
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A therapist user's record and sessions: times and colleagues, without the children and
/// notes, which belong to the families.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TherapistExport {
    pub therapist: Therapist,
    pub schedule: Vec<Session>,
}

/// Every record held about the current user, as one document.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "accounts", security(("bearer" = [])), responses((status = 200, body = Export)))]
pub async fn export(State(state): State<AppState>, CurrentUser(caller): CurrentUser) -> ApiResult<Json<Export>> {
    Ok(Json(export_document(&state, &caller).await?))
}

/// The export as its document, for the API and for the page that downloads it.
pub(crate) async fn export_document(
    state: &AppState,
    caller: &carenest_app::Caller,
) -> carenest_app::AppResult<Export> {
    let export = state.app.export(caller).await?;
    Ok(Export {
        exported_at: export.exported_at,
        me: export.me.into(),
        sessions: export.sessions.into_iter().map(Into::into).collect(),
        access_log: export.access_log.into_iter().map(Into::into).collect(),
        actions: export.actions.into_iter().map(Into::into).collect(),
        tokens: export
            .tokens
            .into_iter()
            .map(|t| TokenMetadata { created_at: t.created_at, expires_at: t.expires_at, last_used_at: t.last_used_at })
            .collect(),
        therapist: export.therapist.map(|(therapist, schedule)| TherapistExport {
            therapist: therapist.into(),
            schedule: schedule.into_iter().map(Into::into).collect(),
        }),
        reminders: export
            .reminders
            .into_iter()
            .map(|r| ReminderRecord {
                session_id: r.session_id.0,
                offset_minutes: r.offset_minutes,
                due_at: r.due_at,
                state: r.state.as_str().to_owned(),
                attempts: r.attempts,
                sent_at: r.sent_at,
                created_at: r.created_at,
            })
            .collect(),
    })
}

/// Who read or changed this user's family data, newest first.
#[utoipa::path(get, path = "/api/v1/me/access-log", tag = "accounts", security(("bearer" = [])), params(Pagination), responses((status = 200, description = "Newest first", body = ListBody<AuditEntry>)))]
pub async fn access_log(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiQuery(pagination): ApiQuery<Pagination>,
) -> ApiResult<Json<ListBody<AuditEntry>>> {
    Ok(Json(ListBody::from_page(state.app.access_log(&caller, pagination.page()?).await?)))
}

/// A family's notification choices.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Notifications {
    /// Whether the family is emailed before each of its children's sessions.
    pub session_reminders: bool,
}

/// The current user's notification choices.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "accounts", security(("bearer" = [])), responses((status = 200, body = Notifications)))]
pub async fn notifications(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
) -> ApiResult<Json<Notifications>> {
    let choices = state.app.notifications(&caller).await?;
    Ok(Json(Notifications { session_reminders: choices.session_reminders }))
}

/// Turn session reminders on or off. Off stops every reminder not sent yet; on plans them again
/// for the sessions that have not started.
#[utoipa::path(patch, path = "/api/v1/me/notifications", tag = "accounts", security(("bearer" = [])), request_body = Notifications, responses(
    (status = 200, body = Notifications),
    (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn set_notifications(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<Notifications>,
) -> ApiResult<Json<Notifications>> {
    let choices = state.app.set_notifications(&caller, body.session_reminders).await?;
    Ok(Json(Notifications { session_reminders: choices.session_reminders }))
}

/// Admin: every user, by id.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", security(("bearer" = [])), params(Pagination), responses((status = 200, description = "Ordered by id", body = ListBody<User>), (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_users(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiQuery(pagination): ApiQuery<Pagination>,
) -> ApiResult<Json<ListBody<User>>> {
    Ok(Json(ListBody::from_page(state.app.users(&caller, pagination.page::<UserId>()?).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    #[schema(value_type = dto::enums::Role)]
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
    CurrentUser(caller): CurrentUser,
    ApiPath(Id(id)): ApiPath<Id>,
    ApiJson(body): ApiJson<RoleChange>,
) -> ApiResult<Json<User>> {
    Ok(Json(state.app.set_role(&caller, UserId(id), &body.role).await?.into()))
}
