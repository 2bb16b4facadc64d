//! The REST API of AI Auditor: seed 000's twelve endpoints at the root, plus what the screens
//! built on them need (update and delete, approvals, run-now, sample upload, health).
//!
//! Conventions (DESIGN.md §7): JSON in snake_case with the seed's field names; every error is
//! `{"detail": "..."}`; lists take `skip`/`limit` and report `total`; timestamps are RFC 3339
//! UTC. Database calls run on actix's blocking pool, never on the async workers. The OpenAPI
//! document is served at `/openapi.json` and browsable at `/docs/`.

pub mod api;
pub mod auth;
pub mod body;
pub mod cache;
pub mod error;
mod redoc;

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
    /// Open mode for a trusted local network (`--open-access TENANT`): a request without
    /// credentials acts as an admin of this tenant, actor `anonymous`. Off unless asked for.
    pub open_access: Option<String>,
    /// Open mode also for requests to other host names and through proxies (the operator said
    /// `--open-access-beyond-loopback`).
    pub open_access_beyond_loopback: bool,
    /// How long a login token lives.
    pub token_ttl: Duration,
    /// Wrong passwords in a row that lock an account, and for how long.
    pub login_max_failures: i32,
    pub login_lock: Duration,
    /// Login attempts per client address per minute.
    pub login_per_minute: u32,
    /// The append-only file each signed checkpoint is copied to, outside the database: verify
    /// checks the chains against it too.
    pub checkpoint_copy: Option<std::path::PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_json_bytes: 1 << 20,
            max_sample_bytes: 64 << 20,
            cors_origins: vec!["http://localhost:3000".into()],
            cache_ttl: Duration::from_secs(2),
            anonymous_reads: false,
            open_access: None,
            open_access_beyond_loopback: false,
            token_ttl: Duration::from_secs(3600),
            login_max_failures: 5,
            login_lock: Duration::from_secs(900),
            login_per_minute: 20,
            checkpoint_copy: None,
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

/// The OpenAPI document of every route (what `/openapi.json` serves without anonymous reads).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(api::configure)
        .split_for_parts();
    auth::document(&mut api);
    complete_responses(&mut api);
    api
}

/// Declares on every operation the error statuses that the layers below its handler can
/// answer, each with `{"detail"}`: 401/403 (credentials and roles), 404 (path identifiers that
/// do not parse or name nothing), 400 (query parameters), 400/413/415/422 (JSON bodies), 414
/// and 431 (URL length, header count), 500 and 503. Statuses a handler declares itself keep
/// their description.
pub fn complete_responses(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let error = |why: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(why)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in api.paths.paths.iter_mut() {
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            let secured = op
                .security
                .as_ref()
                .is_some_and(|s| s.iter().any(|r| *r != Default::default()));
            let params = op.parameters.as_deref().unwrap_or(&[]);
            let has_query = params
                .iter()
                .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query));
            let has_path = path.contains('{');
            let json_body = op
                .request_body
                .as_ref()
                .is_some_and(|b| b.content.contains_key("application/json"));
            let any_body = op.request_body.is_some();
            let mut add: Vec<(&str, &str)> = Vec::new();
            if secured {
                add.push(("401", "No valid credential"));
                add.push(("403", "The credential's role may not do this"));
            }
            if has_query || json_body {
                add.push(("400", "Malformed JSON or invalid query parameters"));
            }
            if has_path || json_body {
                add.push((
                    "404",
                    "Not found: the path's resource or one the body names, or a path identifier that does not parse",
                ));
            }
            if any_body {
                add.push(("413", "Body over the size limit"));
                add.push((
                    "415",
                    "A body in a content type this operation does not take",
                ));
            }
            if json_body {
                add.push((
                    "422",
                    "Well-formed JSON of the wrong shape, or a field check",
                ));
            }
            add.push(("414", "URL longer than 8192 bytes"));
            add.push(("431", "More than 64 request headers"));
            add.push(("500", "Internal error (the server log has the cause)"));
            add.push(("503", "The database does not answer"));
            for (code, why) in add {
                op.responses
                    .responses
                    .entry(code.to_owned())
                    .or_insert_with(|| error(why));
            }
        }
    }
}

/// Which methods each documented path template answers: the default service says 405 with
/// `Allow` for a known path asked with another method, 404 otherwise.
#[derive(Debug, Default)]
pub struct Methods {
    routes: Vec<(Vec<String>, Vec<&'static str>)>,
}

impl Methods {
    /// From the OpenAPI document's paths (every route is documented).
    pub fn of(api: &utoipa::openapi::OpenApi) -> Methods {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segs = template
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_owned)
                    .collect();
                let mut m = Vec::new();
                for (name, op) in [
                    ("GET", &item.get),
                    ("POST", &item.post),
                    ("PUT", &item.put),
                    ("PATCH", &item.patch),
                    ("DELETE", &item.delete),
                ] {
                    if op.is_some() {
                        m.push(name);
                    }
                }
                (segs, m)
            })
            .collect();
        Methods { routes }
    }

    /// The methods a path answers (empty: no such path).
    pub fn allowed(&self, path: &str) -> Vec<&'static str> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut out: Vec<&'static str> = Vec::new();
        for (segs, methods) in &self.routes {
            let hit = segs.len() == parts.len()
                && segs.iter().zip(&parts).all(|(s, p)| {
                    (s.starts_with('{') && s.ends_with('}') && !p.is_empty()) || s == p
                });
            if hit {
                for m in methods {
                    if !out.contains(m) {
                        out.push(m);
                    }
                }
            }
        }
        out
    }
}

/// At most this much of a path is echoed in an error.
fn shown(path: &str) -> String {
    if path.chars().count() > 200 {
        format!("{}…", path.chars().take(200).collect::<String>())
    } else {
        path.to_owned()
    }
}

async fn not_found(req: HttpRequest, methods: web::Data<Methods>) -> HttpResponse {
    use actix_web::ResponseError;
    let allowed = methods.allowed(req.path());
    if allowed.is_empty() || allowed.contains(&req.method().as_str()) {
        return ApiError::not_found(format!(
            "no route for {} {}",
            req.method(),
            shown(req.path())
        ))
        .error_response();
    }
    let mut r = ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} is not allowed on {}; allowed: {}",
            req.method(),
            shown(req.path()),
            allowed.join(", ")
        ),
    )
    .error_response();
    if let Ok(v) = header::HeaderValue::from_str(&allowed.join(", ")) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}

/// Longest request target (path and query) accepted; longer gets 414.
pub const MAX_URL_BYTES: usize = 8192;
/// Most request headers accepted; more get 431. (The HTTP layer itself refuses heads over
/// 96 headers or 128 KiB before any of this runs.)
pub const MAX_HEADERS: usize = 64;

/// Refuses over-long URLs and too many headers with `{"detail"}`, before routing.
async fn edge_limits(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    use actix_web::ResponseError;
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let refusal = if target > MAX_URL_BYTES {
        Some(ApiError::new(
            actix_web::http::StatusCode::URI_TOO_LONG,
            format!("the URL is longer than the {MAX_URL_BYTES} bytes allowed"),
        ))
    } else if req.headers().len() > MAX_HEADERS {
        Some(ApiError::new(
            actix_web::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("the request has more than the {MAX_HEADERS} headers allowed"),
        ))
    } else {
        None
    };
    match refusal {
        Some(e) => {
            let (req, _) = req.into_parts();
            Ok(ServiceResponse::new(req, e.error_response()).map_into_right_body())
        }
        None => Ok(next.call(req).await?.map_into_left_body()),
    }
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// The application: routes, extractor error handlers, CORS, OpenAPI and Swagger UI, and the
/// routes `pages` adds (the console's, kept out of the OpenAPI document).
pub fn app(
    state: web::Data<AppState>,
    pages: fn(&mut web::ServiceConfig),
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
    let path = web::PathConfig::default().error_handler(|e, req| error::path_error(e, req).into());
    let cors = cors(&state.config.cors_origins);
    let anonymous = state.config.anonymous_reads;
    let open = state.config.open_access.is_some();
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
    complete_responses(&mut api);
    if open {
        auth::document_open_access(&mut api);
    } else if anonymous {
        auth::document_anonymous_reads(&mut api);
    }
    let methods = web::Data::new(Methods::of(&api));
    app.app_data(methods)
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api))
        .route("/docs", web::get().to(docs_redirect))
        .configure(redoc::configure)
        .configure(pages)
        .default_service(web::to(not_found))
        .wrap(actix_web::middleware::from_fn(auth::guard))
        .wrap(cors)
        .wrap(actix_web::middleware::from_fn(edge_limits))
        .wrap(actix_web::middleware::NormalizePath::new(
            actix_web::middleware::TrailingSlash::MergeOnly,
        ))
}
