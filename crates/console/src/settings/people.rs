//! The API keys, users and (for system admins) tenants tabs.

use actix_web::{HttpRequest, HttpResponse, web};
use audit_http::api::access::{
    NewKeyInput, NewTenant, NewUser, add_key, add_tenant, add_user, remove_user, revoke,
};
use audit_http::api::read;
use audit_http::{ApiError, AppState};
use audit_store::repo::access::{self, ApiKey, Role, User};
use audit_store::repo::tenants::{self, Tenant};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Outcome, Tab, closed, frame, number, removed};
use crate::acting::{CREATE_KEY, CREATE_TENANT, CREATE_USER, DELETE_USER, REVOKE_KEY};
use crate::form_markup::{input, select};
use crate::pages::{maybe_time, time};
use crate::session::Session;
use crate::{acting, may};

const ROLES: [(&str, &str); 3] = [
    ("viewer", "Viewer: reads everything"),
    (
        "auditor",
        "Auditor: also runs audits, approves baselines, moves findings",
    ),
    (
        "admin",
        "Admin: also changes models, keys, users and settings",
    ),
];

/// A small form that only posts its CSRF token to `action`, as one button.
pub(super) fn button_form(s: &Session, action: &str, label: &str, named: &str) -> Markup {
    html! {
        form class="inline" method="post" action=(action) {
            input type="hidden" name="csrf" value=(s.csrf());
            button type="submit" aria-label={ (label) " " (named) } { (label) }
        }
    }
}

/// Unpacks what `acting` gives: the session, or the answer for someone who may not act.
macro_rules! acting_or_answer {
    ($state:expr, $req:expr, $csrf:expr, $route:expr) => {
        match acting(&$state, &$req, $csrf, $route).await? {
            Ok(s) => s,
            Err(r) => return Ok(r),
        }
    };
}
pub(super) use acting_or_answer;

// --- API keys ---------------------------------------------------------------------------

pub(crate) async fn keys(state: web::Data<AppState>, s: Session) -> Result<HttpResponse, ApiError> {
    if let Some(r) = closed(&s, Tab::Keys) {
        return Ok(r);
    }
    keys_page(&state, &s, &Outcome::default()).await
}

fn key_state(k: &ApiKey, now: chrono::DateTime<chrono::Utc>) -> Markup {
    html! {
        @if let Some(at) = k.revoked_at { span class="tag" { "revoked" } " " (time(at)) }
        @else if k.expires_at.is_some_and(|e| e <= now) { span class="tag" { "expired" } }
        @else { span class="tag ok" { "active" } }
    }
}

async fn keys_page(
    state: &web::Data<AppState>,
    s: &Session,
    o: &Outcome,
) -> Result<HttpResponse, ApiError> {
    let scope = s.caller.scope();
    let keys = read(state, move |c| access::keys(c, scope.as_deref())).await?;
    let act = may(s, CREATE_KEY);
    let now = audit_store::now();
    let body = html! {
        p class="hint" {
            "Keys are for machines — pipelines, the existing frontend, scripts: they send "
            code { "Authorization: Bearer aud_…" } ". People sign in with a username instead."
        }
        @if keys.is_empty() {
            p class="empty" { "No API key yet." @if act { " Create one below for each machine that calls the API." } }
        } @else {
            div class="scroll" tabindex="0" role="region" aria-label="API keys" { table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Created" }
                    th scope="col" { "Expires" } th scope="col" { "Last used" } th scope="col" { "State" }
                    @if act { th scope="col" { span class="visually-hidden" { "Actions" } } }
                } }
                tbody { @for k in &keys { tr {
                    th scope="row" { (k.name) br; small { code { (k.key_id) } } }
                    td { (k.role) } td { (time(k.created_at)) " by " (k.created_by) }
                    td { (maybe_time(k.expires_at)) } td { (maybe_time(k.last_used_at)) }
                    td { (key_state(k, now)) }
                    @if act { td { @if k.revoked_at.is_none() {
                        (button_form(s, &format!("/console/settings/keys/{}/revoke", k.key_id), "Revoke", &k.name))
                    } } }
                } } }
            } }
        }
        @if act {
            form class="card" method="post" action="/console/settings/keys" aria-labelledby="new-key" novalidate {
                h3 id="new-key" { "Create an API key" }
                input type="hidden" name="csrf" value=(s.csrf());
                (input("name", "What it is for", "text", o.value("name"), "e.g. ci-pipeline", o.error("name")))
                (select("role", "Role", &ROLES, o.value("role"), o.error("role")))
                (input("expires_in_days", "Expires after (days)", "number", o.value("expires_in_days"),
                    "1 to 3650; empty: never.", o.error("expires_in_days")))
                button type="submit" { "Create key" }
            }
        }
    };
    Ok(frame(s, Tab::Keys, o, body))
}

#[derive(Deserialize)]
pub(crate) struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    expires_in_days: String,
}

pub(crate) async fn create_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<KeyForm>,
) -> Result<HttpResponse, ApiError> {
    let s = acting_or_answer!(state, req, &form.csrf, CREATE_KEY);
    let f = form.into_inner();
    let o = Outcome::keeping([
        ("name", f.name.clone()),
        ("role", f.role.clone()),
        ("expires_in_days", f.expires_in_days.clone()),
    ]);
    let Some(role) = Role::parse(&f.role) else {
        return keys_page(&state, &s, &o.failed("role", "choose a role")).await;
    };
    let expires_in_days = match number(&f.expires_in_days) {
        Ok(d) => d,
        Err(e) => return keys_page(&state, &s, &o.failed("expires_in_days", e)).await,
    };
    let input = NewKeyInput {
        name: f.name.trim().to_owned(),
        role,
        expires_in_days,
        tenant_id: None,
    };
    match add_key(&state, s.caller.clone(), input).await {
        Ok(k) => {
            let what = format!("API key '{}' created", k.meta.name);
            keys_page(&state, &s, &Outcome::once(what, k.key)).await
        }
        Err(e) if e.status.is_client_error() => {
            keys_page(&state, &s, &o.refused(&e, &["name", "expires_in_days"])).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct Csrf {
    #[serde(default)]
    pub csrf: String,
}

pub(crate) async fn revoke_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Csrf>,
) -> Result<HttpResponse, ApiError> {
    let s = acting_or_answer!(state, req, &form.csrf, REVOKE_KEY);
    let o = removed(revoke(&state, s.caller.clone(), path.into_inner()).await)?;
    keys_page(&state, &s, &o).await
}

// --- users ------------------------------------------------------------------------------

pub(crate) async fn users(
    state: web::Data<AppState>,
    s: Session,
) -> Result<HttpResponse, ApiError> {
    if let Some(r) = closed(&s, Tab::Users) {
        return Ok(r);
    }
    users_page(&state, &s, &Outcome::default()).await
}

fn is_me(s: &Session, u: &User) -> bool {
    u.tenant_id == s.caller.tenant_id && s.caller.actor == format!("user:{}", u.username)
}

async fn users_page(
    state: &web::Data<AppState>,
    s: &Session,
    o: &Outcome,
) -> Result<HttpResponse, ApiError> {
    let scope = s.caller.scope();
    let users = read(state, move |c| access::users(c, scope.as_deref())).await?;
    let act = may(s, CREATE_USER);
    let remove = may(s, DELETE_USER);
    let body = html! {
        @if users.is_empty() {
            p class="empty" { "No user yet: people sign in with a username this tab creates." }
        } @else {
            div class="scroll" tabindex="0" role="region" aria-label="Users" { table {
                thead { tr {
                    th scope="col" { "Username" } th scope="col" { "Role" } th scope="col" { "Created" }
                    th scope="col" { "Locked until" }
                    @if remove { th scope="col" { span class="visually-hidden" { "Actions" } } }
                } }
                tbody { @for u in &users { tr {
                    th scope="row" { (u.username) @if is_me(s, u) { " (you)" } }
                    td { (u.role) } td { (time(u.created_at)) } td { (maybe_time(u.locked_until)) }
                    @if remove { td { @if !is_me(s, u) {
                        (button_form(s, &format!("/console/settings/users/{}/delete", u.user_id), "Delete", &u.username))
                    } } }
                } } }
            } }
        }
        @if act {
            form class="card" method="post" action="/console/settings/users" aria-labelledby="new-user" novalidate {
                h3 id="new-user" { "Add a user" }
                input type="hidden" name="csrf" value=(s.csrf());
                (input("username", "Username", "text", o.value("username"), "", o.error("username")))
                (input("password", "Password", "password", "", "At least 12 characters; stored only as an argon2 hash.", o.error("password")))
                (select("role", "Role", &ROLES, o.value("role"), o.error("role")))
                button type="submit" { "Add user" }
            }
        }
    };
    Ok(frame(s, Tab::Users, o, body))
}

#[derive(Deserialize)]
pub(crate) struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

pub(crate) async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<UserForm>,
) -> Result<HttpResponse, ApiError> {
    let s = acting_or_answer!(state, req, &form.csrf, CREATE_USER);
    let f = form.into_inner();
    // The password is never sent back in the page.
    let o = Outcome::keeping([("username", f.username.clone()), ("role", f.role.clone())]);
    let Some(role) = Role::parse(&f.role) else {
        return users_page(&state, &s, &o.failed("role", "choose a role")).await;
    };
    let input = NewUser {
        username: f.username.trim().to_owned(),
        password: f.password,
        role,
        tenant_id: None,
    };
    match add_user(&state, s.caller.clone(), input).await {
        Ok(u) => {
            let done = format!(
                "User '{}' added as {}: they can sign in now.",
                u.username, u.role
            );
            users_page(&state, &s, &Outcome::done(done)).await
        }
        Err(e) if e.status.is_client_error() => {
            users_page(&state, &s, &o.refused(&e, &["username", "password"])).await
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn delete_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Csrf>,
) -> Result<HttpResponse, ApiError> {
    let s = acting_or_answer!(state, req, &form.csrf, DELETE_USER);
    let o = removed(remove_user(&state, s.caller.clone(), path.into_inner()).await)?;
    users_page(&state, &s, &o).await
}

// --- tenants (system admins) --------------------------------------------------------------

pub(crate) async fn tenants(
    state: web::Data<AppState>,
    s: Session,
) -> Result<HttpResponse, ApiError> {
    if let Some(r) = closed(&s, Tab::Tenants) {
        return Ok(r);
    }
    tenants_page(&state, &s, &Outcome::default()).await
}

async fn tenants_page(
    state: &web::Data<AppState>,
    s: &Session,
    o: &Outcome,
) -> Result<HttpResponse, ApiError> {
    let scope = s.caller.scope();
    let list: Vec<Tenant> = read(state, move |c| tenants::list(c, scope.as_deref())).await?;
    let body = html! {
        p class="hint" { "Each tenant sees only its own models, audits, keys and users." }
        div class="scroll" tabindex="0" role="region" aria-label="Tenants" { table {
            thead { tr { th scope="col" { "Name" } th scope="col" { "ID" } th scope="col" { "Created" } } }
            tbody { @for t in &list { tr {
                th scope="row" { (t.name) } td { code { (t.tenant_id) } } td { (time(t.created_at)) }
            } } }
        } }
        form class="card" method="post" action="/console/settings/tenants" aria-labelledby="new-tenant" novalidate {
            h3 id="new-tenant" { "Create a tenant" }
            input type="hidden" name="csrf" value=(s.csrf());
            (input("name", "Name", "text", o.value("name"), "Its first admin key is shown once, here.", o.error("name")))
            button type="submit" { "Create tenant" }
        }
    };
    Ok(frame(s, Tab::Tenants, o, body))
}

#[derive(Deserialize)]
pub(crate) struct TenantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub(crate) async fn create_tenant(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<TenantForm>,
) -> Result<HttpResponse, ApiError> {
    let s = acting_or_answer!(state, req, &form.csrf, CREATE_TENANT);
    let f = form.into_inner();
    let o = Outcome::keeping([("name", f.name.clone())]);
    let input = NewTenant {
        name: f.name.trim().to_owned(),
    };
    match add_tenant(&state, s.caller.clone(), input).await {
        Ok(t) => {
            let what = format!("Tenant '{}' created: its first admin key", t.tenant.name);
            let key = t.admin_key.unwrap_or_default();
            tenants_page(&state, &s, &Outcome::once(what, key)).await
        }
        Err(e) if e.status.is_client_error() => {
            tenants_page(&state, &s, &o.refused(&e, &["name"])).await
        }
        Err(e) => Err(e),
    }
}
