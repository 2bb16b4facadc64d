//! The console: server-rendered pages for people, at `/` beside the API. It signs people in
//! with the API's login sessions (in a cookie), sends no script, loads nothing from elsewhere
//! (a strict Content-Security-Policy says so), and works without JavaScript.

mod acting;
mod audit_page;
mod compliance;
mod findings;
mod form_markup;
mod log_entries;
mod model_form;
mod models;
mod pages;
mod session;
mod settings;
mod versions;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use audit_http::api::access::open_session;
use audit_http::{ApiError, AppState};
use audit_store::repo::dashboard;
use maud::Markup;
use serde::Deserialize;

pub(crate) use acting::{acting, may};
use session::{LOGIN_CSRF, SESSION, Session};

/// The console's stylesheet, served from the binary.
const CSS: &str = include_str!("console.css");

/// The console's script: local times and live redraws; pages work without it.
const JS: &str = include_str!("console.js");

/// Nothing but this origin's stylesheet, script, event stream and forms: no inline script, no
/// frame, no plugin, nothing from elsewhere.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The largest sample form the console reads (the configured sample size decides below it).
const UPLOAD_LIMIT: usize = 256 * 1024 * 1024;

/// Adds the console's routes (see `audit_http::app`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(overview))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/console.css", web::get().to(stylesheet))
        .route("/console.js", web::get().to(script))
        .route("/console/events", web::get().to(live_events))
        .route("/console/compliance", web::get().to(compliance::show))
        .route("/console/settings", web::get().to(settings::index))
        .route("/console/settings/keys", web::get().to(settings::keys))
        .route(
            "/console/settings/keys",
            web::post().to(settings::create_key),
        )
        .route(
            "/console/settings/keys/{key_id}/revoke",
            web::post().to(settings::revoke_key),
        )
        .route("/console/settings/users", web::get().to(settings::users))
        .route(
            "/console/settings/users",
            web::post().to(settings::create_user),
        )
        .route(
            "/console/settings/users/{user_id}/delete",
            web::post().to(settings::delete_user),
        )
        .route(
            "/console/settings/webhooks",
            web::get().to(settings::webhooks),
        )
        .route(
            "/console/settings/webhooks",
            web::post().to(settings::create_hook),
        )
        .route(
            "/console/settings/webhooks/{id}/test",
            web::post().to(settings::test_hook),
        )
        .route(
            "/console/settings/webhooks/{id}/delete",
            web::post().to(settings::delete_hook),
        )
        .route(
            "/console/settings/targets",
            web::get().to(settings::targets),
        )
        .route(
            "/console/settings/targets",
            web::post().to(settings::set_target),
        )
        .route(
            "/console/settings/targets/{model_id}/delete",
            web::post().to(settings::delete_target),
        )
        .route(
            "/console/settings/tenants",
            web::get().to(settings::tenants),
        )
        .route(
            "/console/settings/tenants",
            web::post().to(settings::create_tenant),
        )
        .route("/console/findings", web::get().to(findings::list))
        .route("/console/findings/bulk", web::post().to(findings::bulk))
        .route(
            "/console/findings/{finding_id}/status",
            web::post().to(findings::move_status),
        )
        .route("/console/models", web::get().to(models::list))
        .route("/console/models", web::post().to(model_form::create))
        .route("/console/models/new", web::get().to(model_form::new_form))
        .route(
            "/console/models/{model_id}/edit",
            web::get().to(model_form::edit_form),
        )
        .route(
            "/console/models/{model_id}/edit",
            web::post().to(model_form::save),
        )
        .route(
            "/console/models/{model_id}/versions",
            web::post().to(versions::create),
        )
        .route(
            "/console/models/{model_id}/metrics",
            web::post().to(versions::metrics),
        )
        .service(
            web::resource("/console/models/{model_id}/samples")
                // The upload is held in memory only while it is reduced (as the API's is);
                // take_sample refuses what is over the configured sample size.
                .app_data(
                    actix_multipart::form::MultipartFormConfig::default()
                        .total_limit(UPLOAD_LIMIT)
                        .memory_limit(UPLOAD_LIMIT),
                )
                // Who may upload is known before a byte of the form is buffered.
                .wrap(actix_web::middleware::from_fn(may_upload))
                .route(web::post().to(versions::upload)),
        )
        .route(
            "/console/models/{model_id}/archive",
            web::post().to(models::archive),
        )
        .route(
            "/console/models/{model_id}/restore",
            web::post().to(models::restore),
        )
        .route("/console/models/{model_id}", web::get().to(models::one))
        .route(
            "/console/models/{model_id}/run",
            web::post().to(models::run_now),
        )
        .route(
            "/console/audits/{audit_id}/approve",
            web::post().to(models::approve),
        )
        .route(
            "/console/audits/{audit_id}",
            web::get().to(audit_page::show),
        )
        .route(
            "/console/audits/{audit_id}/report.pdf",
            web::get().to(models::report_pdf),
        );
}

/// Answers a sample upload by someone signed out, or without the role, before its body is read
/// (the form is buffered in memory up to `UPLOAD_LIMIT`); the handler checks the CSRF token and
/// the role again.
async fn may_upload(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(ApiError::internal(&"application state missing").into());
    };
    let refusal = match session::current(&state, req.request()).await? {
        None => Some(see_other("/login").finish()),
        Some(s) if !may(&s, acting::SAMPLE) => Some(page(
            StatusCode::FORBIDDEN,
            pages::problem(
                Some(&s),
                "Not allowed",
                "uploading a sample needs the auditor role",
            ),
        )),
        Some(_) => None,
    };
    match refusal {
        Some(r) => Ok(req.into_response(r).map_into_right_body()),
        None => next
            .call(req)
            .await
            .map(actix_web::dev::ServiceResponse::map_into_left_body),
    }
}

/// A page with the console's security headers; pages hold tenant data, so nothing is cached.
pub(crate) fn page(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

pub(crate) fn see_other(to: &str) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::SeeOther();
    b.insert_header((header::LOCATION, to.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    b
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(JS)
}

/// The API's event stream for the signed-in person's tenant, which the script follows.
async fn live_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Session,
    q: web::Query<audit_http::api::events::EventParams>,
) -> Result<HttpResponse, ApiError> {
    audit_http::api::events::stream(state, &s.caller, &req, &q).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OverviewQuery {
    /// The score series' period: day, week (default), month or quarter.
    by: String,
}

async fn overview(
    state: web::Data<AppState>,
    s: Session,
    q: web::Query<OverviewQuery>,
) -> Result<HttpResponse, ApiError> {
    use audit_store::repo::series::{self, Granularity};
    let by = match q.by.as_str() {
        "" => "week",
        b => b,
    };
    let Some(g) = Granularity::parse(by) else {
        let e = ApiError::bad_request(format!("'{by}' is not one of day, week, month, quarter"));
        return shown(&s, "Overview", e);
    };
    let periods = match g {
        Granularity::Day => 30,
        Granularity::Week | Granularity::Month => 12,
        Granularity::Quarter => 8,
    };
    let scope = s.caller.scope();
    let key = format!("console|{}|overview|{by}", scope.as_deref().unwrap_or("*"));
    let by = by.to_owned();
    let state2 = state.clone();
    let cached = fragment(&state, key, async move {
        let (o, risky, recent, points, after) = audit_http::api::read(&state2, move |c| {
            let scope = scope.as_deref();
            let after = audit_store::repo::events::latest_id(c)?;
            let points = series::scores(c, scope, None, g, periods, audit_store::now())?;
            let o = dashboard::overview(c, scope)?;
            let risky = series::riskiest(c, scope, 5)?;
            let recent = audit_store::repo::events::recent(c, scope, 10)?
                .into_iter()
                .map(|e| pages::Activity {
                    text: audit_scheduler::notify::headline(&e),
                    model_id: e.model_id,
                    time: e.created_at,
                })
                .collect::<Vec<_>>();
            Ok((o, risky, recent, points, after))
        })
        .await?;
        let chart = pages::series_chart(&by, &points);
        let html = pages::overview_content(&o, &risky, &recent, &chart).into_string();
        Ok(format!("{after}\n{html}"))
    })
    .await?;
    // The event the content was read at, then the content.
    let (after, content) = cached.split_once('\n').unwrap_or(("0", &cached));
    Ok(page(
        StatusCode::OK,
        pages::overview(&s, content, after.parse().unwrap_or(0)),
    ))
}

/// Content that depends only on the tenant and the query, kept in the API's response cache
/// (the same TTL, emptied by every write, one computation at a time per key): the overview's
/// queries cost tens of milliseconds on a large history, and every person of a tenant sees the
/// same figures.
async fn fragment<F>(state: &web::Data<AppState>, key: String, make: F) -> Result<String, ApiError>
where
    F: Future<Output = Result<String, ApiError>>,
{
    let hit = |generation| {
        state
            .cache
            .get(&key, generation)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    if let Some(s) = hit(state.store.generation()) {
        return Ok(s);
    }
    let flight = state.cache.flight(&key);
    let _turn = match &flight {
        Some(f) => Some(f.lock().await),
        None => None,
    };
    // Whoever held the turn before may have just filled the entry.
    let generation = state.store.generation();
    if let Some(s) = hit(generation) {
        return Ok(s);
    }
    let made = make.await?;
    state
        .cache
        .put(key.clone(), generation, bytes::Bytes::from(made.clone()));
    Ok(made)
}

/// The sign-in form, with a fresh CSRF token in a cookie and in the form.
async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if session::current(&state, &req).await?.is_some() {
        return Ok(see_other("/").finish());
    }
    Ok(login_page(&req, StatusCode::OK, "", None))
}

fn login_page(
    req: &HttpRequest,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    // A CSRF token that cannot be made is a server fault, not a reason to serve a form without one.
    let csrf = match audit_http::auth::random_hex(16) {
        Ok(t) => t,
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let mut r = page(status, pages::login(&csrf, username, error));
    if let Err(e) = r.add_cookie(&session::cookie(req, LOGIN_CSRF, csrf)) {
        tracing::error!(error = %e, "cannot set the sign-in form's cookie");
    }
    r
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ApiError> {
    let f = form.into_inner();
    let expected = req.cookie(LOGIN_CSRF).map(|c| c.value().to_owned());
    if !expected.is_some_and(|e| !e.is_empty() && session::same(&e, &f.csrf)) {
        return Ok(refused());
    }
    let who = req
        .connection_info()
        .peer_addr()
        .unwrap_or("unknown")
        .to_owned();
    let username = f.username.clone();
    match open_session(&state, &who, f.username, f.password).await {
        Ok(token) => {
            let mut r = see_other("/").finish();
            r.add_cookie(&session::cookie(&req, SESSION, token.access_token))
                .map_err(|e| ApiError::internal(&e))?;
            r.add_cookie(&session::removal(&req, LOGIN_CSRF))
                .map_err(|e| ApiError::internal(&e))?;
            Ok(r)
        }
        Err(e) if e.status.is_client_error() => {
            Ok(login_page(&req, e.status, &username, Some(&e.detail)))
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Session,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    if !session::same(&s.csrf(), &form.csrf) {
        return Ok(refused());
    }
    audit_http::api::access::close_session(&state, &s.token).await?;
    tracing::info!(actor = %s.caller.actor, "signed out of the console");
    let mut r = see_other("/login").finish();
    r.add_cookie(&session::removal(&req, SESSION))
        .map_err(|e| ApiError::internal(&e))?;
    Ok(r)
}

/// A refusal from the API's own checks, shown on a page.
pub(crate) fn shown(s: &Session, title: &str, e: ApiError) -> Result<HttpResponse, ApiError> {
    if e.status.is_client_error() {
        Ok(page(e.status, pages::problem(Some(s), title, &e.detail)))
    } else {
        Err(e)
    }
}

/// A form without its CSRF token (or with another session's) changes nothing.
pub(crate) fn refused() -> HttpResponse {
    page(
        StatusCode::FORBIDDEN,
        pages::refused(
            "This form was not sent from a page of this console (its CSRF token is missing or wrong). Nothing was changed; reload the page and try again.",
        ),
    )
}
