//! The console's session: the same login sessions as the API's `/auth/login`, carried in an
//! HttpOnly, SameSite=Strict cookie instead of an `Authorization` header, and the CSRF tokens
//! its forms carry.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, web};
use audit_http::auth::{self, Caller};
use audit_http::{ApiError, AppState};

/// The session cookie: a `ses_` login token.
pub(crate) const SESSION: &str = "auditor_session";
/// Before sign-in, the sign-in form's CSRF token (double submit: cookie and hidden field).
pub(crate) const LOGIN_CSRF: &str = "auditor_csrf";

/// Who signed in, with the token of their session.
pub(crate) struct Session {
    pub caller: Caller,
    pub token: String,
}

impl Session {
    /// The CSRF token of this session's forms. Derived from the session token, which the page's
    /// scripts cannot read (HttpOnly) and another site cannot send (SameSite=Strict), so a form
    /// posted from elsewhere cannot carry it.
    pub fn csrf(&self) -> String {
        csrf_of(&self.token)
    }
}

pub(crate) fn csrf_of(token: &str) -> String {
    auth::sha256_hex(&format!("console-csrf:{token}"))
}

/// The signed-in session of a request, if its cookie holds a live one.
pub(crate) async fn current(
    state: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<Option<Session>, ApiError> {
    let Some(token) = req
        .cookie(SESSION)
        .map(|c| c.value().to_owned())
        .filter(|t| t.starts_with("ses_"))
    else {
        return Ok(None);
    };
    Ok(auth::identify(state, token.clone())
        .await?
        .map(|caller| Session { caller, token }))
}

/// Whether the page is served over TLS (directly or, as the connection info reports, behind
/// a proxy that says so): cookies are then marked Secure.
fn over_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// A cookie for the console's pages only the server reads.
pub(crate) fn cookie(req: &HttpRequest, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(over_tls(req))
        .finish()
}

/// The same cookie, expired: the browser drops it.
pub(crate) fn removal(req: &HttpRequest, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(req, name, String::new());
    c.set_max_age(CookieDuration::ZERO);
    c
}

pub(crate) use audit_http::auth::same;

/// Why a page was not served to a request: nobody signed in (the answer is the sign-in page),
/// or the server could not tell (the API's error).
#[derive(Debug)]
pub(crate) enum NotServed {
    SignIn,
    Api(ApiError),
}

impl std::fmt::Display for NotServed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotServed::SignIn => f.write_str("sign in first"),
            NotServed::Api(e) => std::fmt::Display::fmt(e, f),
        }
    }
}

impl actix_web::ResponseError for NotServed {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self {
            NotServed::SignIn => actix_web::http::StatusCode::SEE_OTHER,
            NotServed::Api(e) => e.status,
        }
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        match self {
            NotServed::SignIn => crate::see_other("/login").finish(),
            NotServed::Api(e) => e.error_response(),
        }
    }
}

/// A page handler that takes a `Session` is only reached by a signed-in person; anyone else
/// is sent to the sign-in page.
impl actix_web::FromRequest for Session {
    type Error = NotServed;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Session, NotServed>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| NotServed::Api(ApiError::internal(&"no application state")))?;
            current(&state, &req)
                .await
                .map_err(NotServed::Api)?
                .ok_or(NotServed::SignIn)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_per_session_and_compared_whole() {
        let a = csrf_of("ses_a");
        assert_eq!(a, csrf_of("ses_a"));
        assert_ne!(a, csrf_of("ses_b"));
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &a[1..]));
        assert!(!same(&a, &csrf_of("ses_b")));
    }
}
