//! The practice's view of the audit log.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use carenest_domain::audit::{AuditAction, AuditFilter};
use carenest_domain::ids::UserId;
use carenest_domain::time::Rfc3339;
use carenest_domain::validation::Choice;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::dto::{enums, AuditEntry};
use crate::extract::{ApiQuery, ListBody, Pagination};
use crate::json::Json;
use crate::{ApiError, ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(audit_log))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries this user made.
    #[param(minimum = 1)]
    pub actor_user_id: Option<i64>,
    /// Entries about this user's data.
    #[param(minimum = 1)]
    pub subject_user_id: Option<i64>,
    /// `parent_profile`, `child_profile`, `parenting_goal`, `session`, `user`, `audit_log`.
    #[param(max_length = 50, pattern = "^[a-z_]+$")]
    pub resource_type: Option<String>,
    #[param(minimum = 0)]
    pub resource_id: Option<i64>,
    #[param(value_type = Option<enums::AuditAction>)]
    pub action: Option<String>,
    /// From this moment, inclusive (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub from: Option<Rfc3339>,
    /// Until this moment, exclusive (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub until: Option<Rfc3339>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// An audit entry with its id, for the admin's view.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// Admin: the audit log, newest first, filtered by who, whose, what and when. Reading it is
/// itself recorded (a `read` of `audit_log` by the admin).
#[utoipa::path(get, path = "/api/v1/audit", tag = "accounts", security(("bearer" = [])), params(AuditQuery), responses(
    (status = 200, description = "Newest first", body = ListBody<AuditRecord>),
    (status = 400, description = "A malformed or contradictory filter; every one is listed", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn audit_log(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<ListBody<AuditRecord>>> {
    let page = Pagination { limit: query.limit, cursor: query.cursor }.page()?;
    let action = match query.action.as_deref() {
        None => None,
        Some(action) => Some(AuditAction::parse(action).ok_or_else(|| {
            ApiError::query("action", "one_of", format!("action must be one of: {}", AuditAction::ALL.join(", ")))
        })?),
    };
    let filter = AuditFilter {
        actor: query.actor_user_id.map(UserId),
        subject: query.subject_user_id.map(UserId),
        resource_type: query.resource_type,
        resource_id: query.resource_id,
        action,
        from: query.from.map(|t| t.0),
        until: query.until.map(|t| t.0),
    };
    let entries = state.app.audit_log(&caller, filter, page).await.map_err(ApiError::in_query)?;
    Ok(Json(ListBody::from_page(entries.map(|(id, entry)| AuditRecord { id, entry: entry.into() }))))
}
