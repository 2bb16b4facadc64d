//! The console: server-rendered pages for people, at `/` beside the API. It signs people in
//! with the API's login sessions (in a cookie), sends no script, loads nothing from elsewhere
//! (a strict Content-Security-Policy says so), and works without JavaScript.

mod compliance;
mod findings;
mod models;
mod pages;
mod session;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use audit_http::api::access::open_session;
use audit_http::{ApiError, AppState};
use audit_store::repo::dashboard;
use maud::Markup;
use serde::Deserialize;

use audit_store::repo::access::Role;
use session::{LOGIN_CSRF, SESSION, Session};

/// The console's stylesheet, served from the binary.
const CSS: &str = include_str!("console.css");

/// Nothing but this origin's stylesheet and forms; no script, frame or plugin at all.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the console's routes (see `audit_http::app`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(overview))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/console.css", web::get().to(stylesheet))
        .route("/console/compliance", web::get().to(compliance::show))
        .route("/console/findings", web::get().to(findings::list))
        .route(
            "/console/findings/{finding_id}/status",
            web::post().to(findings::move_status),
        )
        .route("/console/models", web::get().to(models::list))
        .route("/console/models/{model_id}", web::get().to(models::one))
        .route(
            "/console/models/{model_id}/run",
            web::post().to(models::run_now),
        )
        .route(
            "/console/audits/{audit_id}/approve",
            web::post().to(models::approve),
        )
        .route("/console/audits/{audit_id}", web::get().to(models::report))
        .route(
            "/console/audits/{audit_id}/report.pdf",
            web::get().to(models::report_pdf),
        );
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

async fn overview(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Some(s) = session::current(&state, &req).await? else {
        return Ok(see_other("/login").finish());
    };
    let scope = s.caller.scope();
    let (o, risky, recent) = audit_http::api::read(&state, move |c| {
        let scope = scope.as_deref();
        let o = dashboard::overview(c, scope)?;
        let risky = audit_store::repo::series::riskiest(c, scope, 5)?;
        let recent = audit_store::repo::events::recent(c, scope, 10)?
            .into_iter()
            .map(|e| pages::Activity {
                text: audit_scheduler::notify::headline(&e),
                model_id: e.model_id,
                time: e.created_at,
            })
            .collect::<Vec<_>>();
        Ok((o, risky, recent))
    })
    .await?;
    Ok(page(
        StatusCode::OK,
        pages::overview(&s, &o, &risky, &recent),
    ))
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
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let Some(s) = session::current(&state, &req).await? else {
        return Ok(see_other("/login").finish());
    };
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

/// The session if it may act and the form carries its token; else the page that says why. A
/// viewer sees no write control, and a form a viewer posts anyway is refused here.
pub(crate) async fn acting(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    csrf: &str,
) -> Result<Result<Session, HttpResponse>, ApiError> {
    let Some(s) = session::current(state, req).await? else {
        return Ok(Err(see_other("/login").finish()));
    };
    if !session::same(&s.csrf(), csrf) {
        return Ok(Err(refused()));
    }
    if let Err(e) = s.caller.require(Role::Auditor) {
        let markup = pages::problem(Some(&s), "Not allowed", &e.detail);
        return Ok(Err(page(e.status, markup)));
    }
    Ok(Ok(s))
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
