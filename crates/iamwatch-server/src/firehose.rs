//! Amazon Data Firehose's HTTP endpoint protocol on `POST /v1/events`: a Firehose stream (fed
//! by an EventBridge rule or a CloudWatch Logs subscription) delivers straight to iamwatch.
//! Firehose sends the token in `X-Amz-Firehose-Access-Key` (see `auth`) and a request id in
//! `X-Amz-Firehose-Request-Id`, and counts a delivery done only on a 200 whose body echoes that
//! id with a timestamp; anything else it retries, and after its retry window backs the records
//! up to S3. So a Firehose request is answered in that shape: 200 once its incidents are
//! stored, and an error's status with `errorMessage` (which Firehose logs) otherwise. A retried
//! request makes no second incident: incidents are one per eventID.

use crate::error::ApiError;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// The request id of a Firehose delivery, if this request is one.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    let id = headers.get("x-amz-firehose-request-id")?;
    Some(String::from_utf8_lossy(id.as_bytes()).into_owned())
}

/// `outcome` (the route's answer) in the shape Firehose expects.
pub fn answer(request_id: String, outcome: Result<Response, ApiError>, now_ms: i64) -> Response {
    match outcome {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({"requestId": request_id, "timestamp": now_ms})),
        )
            .into_response(),
        Err(error) => {
            let message = error.to_string();
            // The error's own response, for its status and headers (Retry-After), with
            // Firehose's body.
            let (parts, _) = error.into_response().into_parts();
            let body =
                json!({"requestId": request_id, "timestamp": now_ms, "errorMessage": message});
            (parts, Json(body)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn success_is_a_200_echoing_the_request_id_and_errors_keep_their_status() {
        let accepted = (StatusCode::ACCEPTED, "{}").into_response();
        let done = answer("req-1".into(), Ok(accepted), 1_717_200_000_000);
        assert_eq!(done.status(), StatusCode::OK);
        assert_eq!(
            body_of(done).await,
            json!({"requestId": "req-1", "timestamp": 1_717_200_000_000_i64})
        );
        let overloaded = ApiError::Overloaded {
            status: StatusCode::SERVICE_UNAVAILABLE,
            reason: "the commit queue is full",
        };
        let failed = answer("req-2".into(), Err(overloaded), 5);
        assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(failed.headers().contains_key("retry-after"));
        let body = body_of(failed).await;
        assert_eq!(body["requestId"], "req-2");
        assert!(
            body["errorMessage"]
                .as_str()
                .unwrap()
                .contains("the commit queue is full"),
            "{body}"
        );
    }
}
