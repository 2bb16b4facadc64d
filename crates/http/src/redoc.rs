//! ReDoc at `/redoc` (seed 001), beside Swagger UI at `/docs/`: the same `/openapi.json`, read
//! by the Redoc bundle served from the binary (nothing from another origin).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// The vendored Redoc bundle (crates/http/assets/redoc/README.md says where it comes from).
const BUNDLE: &str = include_str!("../assets/redoc/redoc.standalone.js");

/// The page: Redoc's element pointing at the document; the bundle starts it.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AI Auditor API · ReDoc</title>
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="/redoc/redoc.standalone.js"></script>
</body>
</html>
"#;

/// Redoc styles itself with inline style elements and searches in a worker made from a blob;
/// everything else stays on this origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(PAGE)
}

async fn bundle() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(BUNDLE)
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/redoc", web::get().to(page))
        .route("/redoc/redoc.standalone.js", web::get().to(bundle));
}
