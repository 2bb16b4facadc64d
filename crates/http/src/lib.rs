//! The REST API of AI Auditor: seed 000's twelve endpoints at the root, plus what the screens
//! built on them need (update and delete, approvals, run-now, sample upload, health).
//!
//! Conventions (DESIGN.md §7): JSON in snake_case with the seed's field names; every error is
//! `{"detail": "..."}`; lists take `skip`/`limit` and report `total`; timestamps are RFC 3339
//! UTC. Database calls run on actix's blocking pool, never on the async workers. The OpenAPI
//! document is served at `/openapi.json` and browsable at `/docs/`.

pub mod api;
pub mod auth;
pub mod cache;
pub mod error;

use actix_cors::Cors;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, web};
use audit_scheduler::Runner;
use audit_store::Store;
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, ErrorBody};

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest JSON body accepted (bytes).
    pub max_json_bytes: usize,
    /// Largest sample upload accepted (bytes).
    pub max_sample_bytes: usize,
    /// Origins allowed by CORS; `*` allows any.
    pub cors_origins: Vec<String>,
    /// How long list and dashboard responses may be served from cache (0 disables it).
    pub cache_ttl: Duration,
    /// Let requests without credentials read (as viewers of the system tenant). Off unless
    /// `--demo` or `AUDITOR_ANONYMOUS_READS` turns it on.
    pub anonymous_reads: bool,
    /// How long a login token lives.
    pub token_ttl: Duration,
    /// Wrong passwords in a row that lock an account, and for how long.
    pub login_max_failures: i32,
    pub login_lock: Duration,
    /// Login attempts per client address per minute.
    pub login_per_minute: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_json_bytes: 1 << 20,
            max_sample_bytes: 64 << 20,
            cors_origins: vec!["http://localhost:3000".into()],
            cache_ttl: Duration::from_secs(2),
            anonymous_reads: false,
            token_ttl: Duration::from_secs(3600),
            login_max_failures: 5,
            login_lock: Duration::from_secs(900),
            login_per_minute: 20,
        }
    }
}

/// What every handler can reach.
pub struct AppState {
    pub store: Store,
    pub runner: Arc<Runner>,
    pub config: HttpConfig,
    pub cache: cache::ResponseCache,
    pub credentials: auth::CredentialCache,
    pub logins: auth::RateLimiter,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish()
    }
}

impl AppState {
    pub fn new(store: Store, runner: Arc<Runner>, config: HttpConfig) -> web::Data<AppState> {
        let cache = cache::ResponseCache::new(config.cache_ttl, 4096);
        let credentials = auth::CredentialCache::new(Duration::from_secs(2));
        let logins = auth::RateLimiter::new(config.login_per_minute);
        web::Data::new(AppState {
            store,
            runner,
            config,
            cache,
            credentials,
            logins,
        })
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AI Auditor",
        description = "Audits AI models from the evidence they already produced: registry, evidence sources, policies, scheduled baseline-driven audits, findings and dashboards. Only aggregates are stored.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "models", description = "Model registry and evidence sources"),
        (name = "policies", description = "Audit policies: when and against which baseline"),
        (name = "audits", description = "Audit runs, summaries and baseline approval"),
        (name = "findings", description = "Findings of audits"),
        (name = "dashboard", description = "Aggregates for dashboards"),
        (name = "rules", description = "Security rules of active audits"),
        (name = "events", description = "Live events over Server-Sent Events and WebSocket"),
        (name = "notifications", description = "Webhook targets and their deliveries"),
        (name = "frontend", description = "The existing frontend's audit routes, in its field names"),
        (name = "access", description = "Login, users, API keys, tenants and projects"),
        (name = "compliance", description = "The tamper-evident compliance log and compliance coverage by regulation"),
        (name = "system", description = "Health")
    )
)]
struct ApiDoc;

fn cors(origins: &[String]) -> Cors {
    let mut c = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::AUTHORIZATION,
            header::HeaderName::from_static("x-api-key"),
        ])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        c = c.allow_any_origin();
    } else {
        for o in origins {
            c = c.allowed_origin(o);
        }
    }
    c
}

/// The OpenAPI document of every route (what `/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(api::configure)
        .split_for_parts();
    auth::document(&mut api);
    api
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// The application: routes, extractor error handlers, CORS, OpenAPI and Swagger UI.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let json = web::JsonConfig::default()
        .limit(state.config.max_json_bytes)
        .error_handler(|e, _| error::json_error(e).into());
    let query = web::QueryConfig::default().error_handler(|e, _| error::query_error(e).into());
    let path = web::PathConfig::default().error_handler(|e, _| error::path_error(e).into());
    let cors = cors(&state.config.cors_origins);
    let (app, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .app_data(state)
        .app_data(json)
        .app_data(query)
        .app_data(path)
        .configure(api::configure)
        .split_for_parts();
    auth::document(&mut api);
    app.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api))
        .route("/docs", web::get().to(docs_redirect))
        .default_service(web::to(not_found))
        .wrap(actix_web::middleware::from_fn(auth::guard))
        .wrap(cors)
        .wrap(actix_web::middleware::NormalizePath::new(
            actix_web::middleware::TrailingSlash::MergeOnly,
        ))
}
