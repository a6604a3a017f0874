//! The one error type of the HTTP layer, rendered as `application/problem+json` (RFC 9457).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use carenest_domain::scheduling::BookingConflict;
use carenest_domain::validation::FieldError;
use carenest_domain::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict { detail: String, conflicts: Vec<BookingConflict> },
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation(Vec<FieldError>),
    TooManyRequests { retry_after_seconds: u64 },
    Unavailable,
    Internal,
}

/// The problem document every error answers with.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Every failing field, on 422.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Every overlapping booking, on a double-booking 409.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<BookingConflict>,
}

impl ApiError {
    pub fn validation(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Authentication required"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed"),
            Self::Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Request body too large"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
            }
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation", "Validation failed"),
            Self::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too-many-requests", "Too many failed logins")
            }
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::BadRequest(detail) => detail.clone(),
            Self::Unauthorized => "a valid bearer token is required; log in to get one".into(),
            Self::Forbidden => "your role may not do this".into(),
            Self::NotFound => "no such resource".into(),
            Self::MethodNotAllowed => "this resource does not support that method; see the Allow header".into(),
            Self::Conflict { detail, .. } => detail.clone(),
            Self::PayloadTooLarge => "request bodies may be at most 1 MiB".into(),
            Self::UnsupportedMediaType => "send the body as application/json".into(),
            Self::Validation(errors) if errors.len() == 1 => "1 field is invalid".into(),
            Self::Validation(errors) => format!("{} fields are invalid", errors.len()),
            Self::TooManyRequests { retry_after_seconds } => format!("try again in {retry_after_seconds} seconds"),
            Self::Unavailable => "the database is not answering; try again shortly".into(),
            Self::Internal => "something went wrong on our side".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let problem = Problem {
            kind: format!("https://carenest.dev/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail: self.detail(),
            errors: match &self {
                Self::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
            conflicts: match &self {
                Self::Conflict { conflicts, .. } => conflicts.clone(),
                _ => Vec::new(),
            },
        };
        let body = serde_json::to_vec(&problem).expect("a problem always serialises");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        match self {
            Self::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TooManyRequests { retry_after_seconds } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict { constraint, detail, conflicts } => {
                // Double bookings and unknown migrations say more than their rule's name.
                let detail = match constraint {
                    "therapist_double_booked" | "unknown_migration" => detail,
                    other => carenest_domain::error::describe_conflict(other).to_owned(),
                };
                Self::Conflict { detail, conflicts }
            }
            StoreError::Invalid(errors) => Self::Validation(errors),
            StoreError::Unavailable(cause) => {
                tracing::error!(error = %messages(cause.as_ref()), "database unavailable");
                Self::Unavailable
            }
            StoreError::Other(cause) => {
                tracing::error!(error = %messages(cause.as_ref()), "database error");
                Self::Internal
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// An error's chain of messages. Only `Display`: a database error's `Debug` can carry the
/// failing row's values (a child's name, notes), which must never reach a log.
fn messages(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
