//! Every error leaves as `{"detail": "<one readable sentence>"}` with the right status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use audit_store::StoreError;
use serde::Serialize;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub detail: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: String,
    /// Seconds for a `Retry-After` header (429 and 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }
    /// 429 with `Retry-After`.
    pub fn too_many(detail: impl Into<String>, retry_after_secs: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after_secs.max(1)),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, detail)
        }
    }
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, detail)
    }
    pub fn invalid(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, detail)
    }
    pub fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, detail)
    }
    /// A 500 that says nothing about internals; the cause goes to the log.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; the server log has the details",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            r.insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(secs) = self.retry_after {
            r.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
        }
        r.json(ErrorBody {
            detail: self.detail.clone(),
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(m) => ApiError::not_found(m),
            StoreError::Conflict(m) => ApiError::conflict(m),
            StoreError::Invalid(m) => ApiError::invalid(m),
            // The change is refused rather than forking the chain; the store raised an alert.
            StoreError::LogTampered { reason, .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, reason)
            }
            StoreError::Pool(m) => {
                tracing::error!(error = %m, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable; try again shortly",
                )
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> ApiError {
        ApiError::internal(&e)
    }
}

impl From<audit_scheduler::RunError> for ApiError {
    fn from(e: audit_scheduler::RunError) -> ApiError {
        match e {
            audit_scheduler::RunError::Store(s) => s.into(),
            audit_scheduler::RunError::NotFound(m) => ApiError::not_found(m),
            // The caller asks faster than audits run: theirs to slow down, not a server fault.
            // A model's own run usually takes seconds; a full tenant or queue a little longer.
            audit_scheduler::RunError::Busy(r) => {
                let secs = match r {
                    audit_scheduler::queue::Refused::Model(_) => 2,
                    _ => 5,
                };
                ApiError::too_many(r.to_string(), secs)
            }
            audit_scheduler::RunError::Stopping => ApiError {
                retry_after: Some(5),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            },
        }
    }
}

/// JSON bodies: syntax errors are 400, well-formed bodies with wrong fields 422, too large 413.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as J;
    match &err {
        J::Overflow { limit } | J::OverflowKnownLength { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than the {limit} bytes allowed"),
        ),
        J::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request body must be JSON (Content-Type: application/json)",
        ),
        J::Deserialize(e) if e.is_data() => ApiError::invalid(format!("invalid request: {e}")),
        J::Deserialize(e) => ApiError::bad_request(format!("malformed JSON: {e}")),
        other => ApiError::bad_request(format!("cannot read request body: {other}")),
    }
}

pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    use actix_web::error::QueryPayloadError as Q;
    match err {
        Q::Deserialize(e) => ApiError::bad_request(format!("invalid query parameters: {e}")),
        other => ApiError::bad_request(format!("invalid query parameters: {other}")),
    }
}

/// A path whose identifiers do not parse (a number too large, bytes that are not UTF-8) names
/// nothing: 404, in a sentence.
pub fn path_error(err: actix_web::error::PathError, req: &actix_web::HttpRequest) -> ApiError {
    tracing::debug!(path = %req.path(), error = %err, "path parameters do not parse");
    let params: Vec<&str> = req.match_info().iter().map(|(k, _)| k).collect();
    let what = match params.as_slice() {
        [] => "an identifier".to_owned(),
        [one] => format!("'{one}'"),
        many => format!("one of {}", many.join(", ")),
    };
    ApiError::not_found(format!(
        "nothing found: {what} in the path is not a valid identifier (a whole number, or text that is valid UTF-8)"
    ))
}

pub fn payload_error(err: actix_web::error::PayloadError) -> ApiError {
    match err {
        actix_web::error::PayloadError::Overflow => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body is larger than allowed",
        ),
        other => ApiError::bad_request(format!("cannot read request body: {other}")),
    }
}
