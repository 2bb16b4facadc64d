//! `GET /health`.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use crate::{ApiError, AppState};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DatabaseHealth {
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `healthy` or `unhealthy`.
    pub status: String,
    pub timestamp: chrono::DateTime<chrono::Utc>,
    pub version: String,
    pub database: DatabaseHealth,
}

/// Liveness and database status (503 when the database does not answer).
#[utoipa::path(
    tag = "system",
    responses((status = 200, body = Health), (status = 503, body = Health))
)]
#[get("/health")]
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let ok = web::block(move || store.ping()).await?.is_ok();
    let body = Health {
        status: if ok { "healthy" } else { "unhealthy" }.into(),
        timestamp: audit_store::now(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: DatabaseHealth {
            backend: state.store.backend().name().into(),
            ok,
        },
    };
    Ok(if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    })
}
