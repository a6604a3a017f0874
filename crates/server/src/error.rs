//! The one error type of the HTTP layer, rendered as `application/problem+json` (RFC 9457).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use carenest_app::AppError;
use carenest_domain::scheduling::BookingConflict;
use carenest_domain::validation::FieldError;
use serde::Serialize;

use crate::dto;
use utoipa::ToSchema;

#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict {
        detail: String,
        conflicts: Vec<BookingConflict>,
    },
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation(Vec<FieldError>),
    /// Query parameters that are well formed one by one but break a rule together or alone:
    /// 400, listing every one.
    InvalidQuery(Vec<FieldError>),
    TooManyRequests {
        retry_after_seconds: u64,
    },
    /// Too much work waits already; `Retry-After` says when to come back.
    Busy {
        retry_after_seconds: u64,
    },
    Unavailable,
    /// The body did not arrive in time.
    RequestTimeout,
    /// The answer took longer than the service allows a request.
    TimedOut {
        seconds: u64,
    },
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
    pub errors: Vec<dto::FieldError>,
    /// Every overlapping booking, on a double-booking 409.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<dto::BookingConflict>,
}

impl ApiError {
    pub fn validation(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    /// A query parameter that breaks a rule: 400 naming it.
    pub fn query(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidQuery(vec![FieldError::new(field, code, message)])
    }

    /// An application error for a request whose input is its query: invalid input is 400.
    pub fn in_query(error: AppError) -> Self {
        match error {
            AppError::Invalid(errors) => Self::InvalidQuery(errors),
            other => other.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::BadRequest(_) | Self::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
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
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too-many-requests", "Too many attempts"),
            Self::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy", "Too busy"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request-timeout", "Request body too slow"),
            Self::TimedOut { .. } => (StatusCode::SERVICE_UNAVAILABLE, "timed-out", "Request took too long"),
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
            Self::InvalidQuery(errors) => errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "),
            Self::TooManyRequests { retry_after_seconds } => format!("try again in {retry_after_seconds} seconds"),
            Self::Busy { retry_after_seconds } => {
                format!("too many requests are waiting their turn; try again in {retry_after_seconds} seconds")
            }
            Self::Unavailable => "the database is not answering; try again shortly".into(),
            Self::RequestTimeout => "the request body stopped arriving; send it again at once".into(),
            Self::TimedOut { seconds } => format!("the request took longer than {seconds} seconds; try again shortly"),
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
                Self::Validation(errors) | Self::InvalidQuery(errors) => {
                    errors.iter().cloned().map(Into::into).collect()
                }
                _ => Vec::new(),
            },
            conflicts: match &self {
                Self::Conflict { conflicts, .. } => conflicts.iter().cloned().map(Into::into).collect(),
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
            Self::TooManyRequests { retry_after_seconds } | Self::Busy { retry_after_seconds } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            }
            Self::Unavailable | Self::TimedOut { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Unauthorized => Self::Unauthorized,
            AppError::Forbidden => Self::Forbidden,
            AppError::NotFound => Self::NotFound,
            AppError::Conflict { detail, conflicts, .. } => Self::Conflict { detail, conflicts },
            AppError::Invalid(errors) => Self::Validation(errors),
            AppError::TooManyRequests { retry_after_seconds } => Self::TooManyRequests { retry_after_seconds },
            AppError::Busy { retry_after_seconds } => Self::Busy { retry_after_seconds },
            AppError::Unavailable => Self::Unavailable,
            AppError::Internal => Self::Internal,
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
