//! A JSON body that may be absent (`POST /audits/{audit_id}/approve`): no body at all means
//! `None`; a body that is there is checked like any other: `Content-Type: application/json`
//! (415 otherwise), well-formed (400), the right fields and types (422), within the JSON size
//! limit (413). `Option<web::Json<T>>` would instead turn every one of those errors into `None`.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState};

/// An optional JSON body.
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

/// `application/json` or any `+json` type, parameters ignored.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A serde_json error as 400 (syntax) or 422 (well-formed, wrong fields or types).
pub fn json_error(e: &serde_json::Error) -> ApiError {
    if e.is_data() {
        ApiError::invalid(format!("invalid request: {e}"))
    } else {
        ApiError::bad_request(format!("malformed JSON: {e}"))
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(1 << 20, |s| s.config.max_json_bytes);
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().map(str::to_owned));
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(crate::error::payload_error)?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("request body is larger than the {limit} bytes allowed"),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            if body.is_empty() {
                return Ok(OptionalJson(None));
            }
            match content_type {
                Some(Ok(ct)) if is_json(&ct) => {}
                _ => {
                    return Err(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "request body must be JSON (Content-Type: application/json)",
                    ));
                }
            }
            serde_json::from_slice(&body)
                .map(|v| OptionalJson(Some(v)))
                .map_err(|e| json_error(&e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/jsonx",
            "text/json+xml",
            "",
            "json",
        ] {
            assert!(!is_json(bad), "{bad}");
        }
    }
}
