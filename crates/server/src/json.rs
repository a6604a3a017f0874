//! JSON answers written into a buffer sized for them up front.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

/// A JSON answer, like axum's `Json`, but serialised into a buffer of `START` bytes instead of
/// one that grows from 128: a family is a few kilobytes and a page of sessions tens of them,
/// and growing to that size copied the body at every doubling (a day of sessions cost the
/// server 0.90 ms of CPU with it, 0.79 without: BENCHMARKS.md).
pub struct Json<T>(pub T);

const START: usize = 16 * 1024;

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(START);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response(),
            Err(error) => {
                tracing::error!(%error, "an answer could not be serialised");
                ApiError::Internal.into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use axum::body::to_bytes;
    use axum::http::StatusCode;

    use super::*;

    #[tokio::test]
    async fn an_answer_larger_than_the_first_buffer_is_sent_whole_as_json() {
        let items: Vec<String> = (0..2_000).map(|n| format!("item {n}")).collect();
        let response = Json(&items).into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert!(body.len() > START);
        assert_eq!(serde_json::from_slice::<Vec<String>>(&body).unwrap(), items);
    }

    #[tokio::test]
    async fn a_value_json_cannot_express_is_a_problem_not_a_partial_body() {
        // JSON objects have text keys only.
        let unserialisable: BTreeMap<(i32, i32), i32> = [((1, 2), 3)].into();
        let response = Json(unserialisable).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
    }
}
