//! Who may use a form: each console form stands for an API route and needs that route's role
//! (`audit_http::auth::access`, the one table for both), and carries the session's CSRF token.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use audit_http::auth::{Access, access};
use audit_http::{ApiError, AppState};

use crate::session::{self, Session};
use crate::{page, pages, refused, see_other};

/// The API route (method, pattern) a console form does the work of.
pub(crate) type Route = (&'static str, &'static str);

pub(crate) const RUN: Route = ("POST", "/models/{model_id}/audits");
pub(crate) const APPROVE: Route = ("POST", "/audits/{audit_id}/approve");
pub(crate) const SAMPLE: Route = ("POST", "/models/{model_id}/samples");
pub(crate) const MOVE_FINDING: Route = ("POST", "/findings/{finding_id}/status");
pub(crate) const REGISTER: Route = ("POST", "/models/register");
pub(crate) const EDIT: Route = ("PUT", "/models/{model_id}");
pub(crate) const ARCHIVE: Route = ("DELETE", "/models/{model_id}");
pub(crate) const RESTORE: Route = ("POST", "/models/{model_id}/restore");
pub(crate) const ADD_VERSION: Route = ("POST", "/models/{model_id}/versions");
pub(crate) const METRICS: Route = ("PUT", "/models/{model_id}/versions/{version_tag}/metrics");
pub(crate) const CREATE_KEY: Route = ("POST", "/api-keys");
pub(crate) const REVOKE_KEY: Route = ("DELETE", "/api-keys/{key_id}");
pub(crate) const CREATE_USER: Route = ("POST", "/users");
pub(crate) const DELETE_USER: Route = ("DELETE", "/users/{user_id}");
pub(crate) const CREATE_HOOK: Route = ("POST", "/webhooks");
pub(crate) const DELETE_HOOK: Route = ("DELETE", "/webhooks/{id}");
pub(crate) const TEST_HOOK: Route = ("POST", "/webhooks/{id}/test");
pub(crate) const SET_TARGET: Route = ("PUT", "/models/{model_id}/active-target");
pub(crate) const DELETE_TARGET: Route = ("DELETE", "/models/{model_id}/active-target");
pub(crate) const CREATE_TENANT: Route = ("POST", "/v1/tenants");

fn needed(route: Route) -> Access {
    let method = match route.0 {
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        "GET" => Method::GET,
        _ => Method::POST,
    };
    access(&method, route.1)
}

/// Whether the signed-in person may do what `route` does (controls are shown only then; the
/// server checks again when the form arrives).
pub(crate) fn may(s: &Session, route: Route) -> bool {
    match needed(route) {
        Access::Public => true,
        Access::Needs(role) => s.caller.require(role).is_ok(),
    }
}

/// The session if it may do what `route` does and the form carries its token; else the page
/// that says why. A control a person does not see is refused here too.
pub(crate) async fn acting(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    csrf: &str,
    route: Route,
) -> Result<Result<Session, HttpResponse>, ApiError> {
    let Some(s) = session::current(state, req).await? else {
        return Ok(Err(see_other("/login").finish()));
    };
    if !session::same(&s.csrf(), csrf) {
        return Ok(Err(refused()));
    }
    if let Access::Needs(role) = needed(route)
        && let Err(e) = s.caller.require(role)
    {
        let markup = pages::problem(Some(&s), "Not allowed", &e.detail);
        return Ok(Err(page(e.status, markup)));
    }
    Ok(Ok(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_store::repo::access::Role;

    #[test]
    fn forms_need_the_roles_of_their_api_routes() {
        for r in [RUN, APPROVE, SAMPLE, MOVE_FINDING] {
            assert_eq!(needed(r), Access::Needs(Role::Auditor), "{r:?}");
        }
        for r in [
            REGISTER,
            EDIT,
            ARCHIVE,
            RESTORE,
            ADD_VERSION,
            METRICS,
            CREATE_KEY,
            REVOKE_KEY,
            CREATE_USER,
            DELETE_USER,
            CREATE_HOOK,
            DELETE_HOOK,
            TEST_HOOK,
            SET_TARGET,
            DELETE_TARGET,
            CREATE_TENANT,
        ] {
            assert_eq!(needed(r), Access::Needs(Role::Admin), "{r:?}");
        }
    }
}
