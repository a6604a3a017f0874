//! The one place a bearer token becomes the caller.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use carenest_app::Caller;

use crate::error::ApiError;
use crate::AppState;

/// The authenticated caller. Extracting it answers 401 for a missing, malformed, expired or
/// revoked token.
pub struct CurrentUser(pub Caller);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or(ApiError::Unauthorized)?;
        let caller = state.app.authenticate(token).await?;
        tracing::Span::current().record("user_id", caller.id().0);
        Ok(CurrentUser(caller))
    }
}
