//! API errors as JSON: `{"error": "..."}` with the right status (and Retry-After under load).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "a valid token is required: send `Authorization: Bearer <token>` or `x-api-key: <token>`"
    )]
    Unauthorized,
    #[error("{message}")]
    BadRequest {
        message: String,
        errors: Vec<String>,
    },
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("overloaded: {reason}; retry shortly")]
    Overloaded {
        status: StatusCode,
        reason: &'static str,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            errors: Vec::new(),
        }
    }
}

impl From<iamwatch_store::StoreError> for ApiError {
    fn from(error: iamwatch_store::StoreError) -> Self {
        use iamwatch_store::StoreErrorKind;
        match error.kind() {
            StoreErrorKind::NotFound => Self::NotFound(error.to_string()),
            StoreErrorKind::Conflict => Self::Conflict(error.to_string()),
            StoreErrorKind::Invalid => Self::bad_request(error.to_string()),
            _ => Self::Unavailable(error.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Overloaded { status, .. } => *status,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = match &self {
            Self::BadRequest { errors, .. } if !errors.is_empty() => {
                json!({"error": self.to_string(), "errors": errors})
            }
            _ => json!({"error": self.to_string()}),
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            Self::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"iamwatch\""),
                );
            }
            Self::Overloaded { .. } | Self::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}
