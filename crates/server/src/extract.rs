//! Extractors whose failures are problem documents: malformed JSON, paths and queries are 400;
//! a well-formed body of the wrong shape is 422 naming the field; over 1 MiB is 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use carenest_domain::page::{PageRequest, DEFAULT_LIMIT, MAX_LIMIT};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::error::ApiError;

/// Maximum request body size.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else if caused_by_body_timeout(&rejection) {
                ApiError::RequestTimeout
            } else {
                ApiError::BadRequest("the request body could not be read".into())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn caused_by_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Parses a body: syntax errors are 400, shape errors 422 with the failing field's path. Every
/// body is a JSON object (serde would read a struct from an array too).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return Err(ApiError::validation("body", "type", "the body must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(&mut deserializer);
    let value = parsed.map_err(|error| {
        let inner = error.inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            return ApiError::BadRequest(format!("malformed JSON at line {} column {}", inner.line(), inner.column()));
        }
        let field = json_pointer(&error.path().to_string());
        let message = inner.to_string();
        let message = message.split(" at line ").next().unwrap_or_default().to_owned();
        let (field, code) = match message.strip_prefix("unknown field `") {
            Some(rest) => {
                // The path already ends at the unknown key.
                let name = rest.split('`').next().unwrap_or_default();
                let field = if field.is_empty() { name.to_owned() } else { field };
                (field, "unknown_field")
            }
            None if message.starts_with("missing field `") => {
                let name = message.trim_start_matches("missing field `").split('`').next().unwrap_or_default();
                let field = if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
                (field, "required")
            }
            None => (if field.is_empty() { "body".to_owned() } else { field }, "type"),
        };
        ApiError::validation(&field, code, message)
    })?;
    deserializer
        .end()
        .map_err(|_| ApiError::BadRequest("malformed JSON: trailing characters after the value".into()))?;
    Ok(value)
}

/// serde_path_to_error writes `therapistIds[2]` already; the root is `.`.
fn json_pointer(path: &str) -> String {
    if path == "." {
        String::new()
    } else {
        path.to_owned()
    }
}

/// Path parameters; a malformed one (`/sessions/abc`) is 400.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// An id in a path: a positive integer.
#[derive(Debug, Clone, Copy)]
pub struct Id(pub i64);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.parse::<i64>() {
            Ok(id) if id > 0 && !text.starts_with('+') => Ok(Id(id)),
            _ => Err(serde::de::Error::custom(format!("'{text}' is not an id: ids are positive integers"))),
        }
    }
}

/// Query parameters; a malformed one (`limit=-1`, `from=2026-13-01`) is 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded_from_str(query).map(ApiQuery)
    }
}

fn serde_urlencoded_from_str<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}").parse().map_err(|_| ApiError::BadRequest("malformed query string".into()))?,
    )
    .map(|axum::extract::Query(value)| value)
    .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
}

/// `limit` and `cursor` of every list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Pagination {
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl Pagination {
    pub fn page<K: DeserializeOwned>(&self) -> Result<PageRequest<K>, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        // `?cursor=` is the first page, as no cursor is.
        let after = self.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?;
        Ok(PageRequest { after, limit })
    }
}

/// Cursors are opaque to clients: base64url of the last row's sort key.
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).expect("sort keys always serialise"))
}

fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        // No cursor this service gives out holds a NUL, which PostgreSQL could not compare.
        .filter(|key| !carenest_domain::validation::holds_nul(key))
        .and_then(|key| serde_json::from_value(key).ok())
        .ok_or_else(|| {
            let message = "cursor is not one this service gave out; pass a nextCursor as it came";
            ApiError::InvalidQuery(vec![carenest_domain::validation::FieldError::new("cursor", "cursor", message)])
        })
}

/// A page of a list as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListBody<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListBody<T> {
    /// A page of domain values in their wire form.
    pub fn from_page<U: Into<T>, K: Serialize>(page: carenest_domain::page::Page<U, K>) -> Self {
        Self {
            next_cursor: page.next.as_ref().map(encode_cursor),
            items: page.items.into_iter().map(Into::into).collect(),
        }
    }
}
