//! Login, users, API keys, tenants and projects, and the set-up wizard's `/v1/...` routes.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use audit_domain::{ConnectionType, ModelType};
use audit_store::repo::access::{self, ApiKey, Role, User};
use audit_store::repo::tenants::{self, Project, SYSTEM_TENANT, Tenant};
use audit_store::repo::{log, models};
use audit_store::{NewModel, StoreError};
use serde::{Deserialize, Serialize};

use super::models::{check_text, log_model, project_for};
use super::{Deleted, PageParams, read, write};
use crate::auth::{self, Caller};
use crate::{ApiError, AppState};

fn log_change(
    c: &mut audit_store::AnyConnection,
    tenant: &str,
    caller: &Caller,
    action: &str,
    object_type: &str,
    object_id: &str,
    change: serde_json::Value,
) -> Result<(), StoreError> {
    log::append(
        c,
        &log::Change {
            tenant_id: tenant,
            actor: &caller.actor,
            action,
            object_type,
            object_id,
            change,
        },
    )?;
    Ok(())
}

/// The tenant a new key or user goes to: the caller's, or (operators only) the one named.
fn target_tenant(
    c: &mut audit_store::AnyConnection,
    caller: &Caller,
    named: Option<&str>,
) -> Result<String, StoreError> {
    match named {
        None => Ok(caller.tenant_id.clone()),
        Some(t) if caller.sees(t) && tenants::get(c, t)?.is_some() => Ok(t.to_owned()),
        Some(t) => Err(StoreError::NotFound(format!("tenant '{t}' not found"))),
    }
}

/// A hash to check unknown usernames against, so they take as long as known ones.
static DUMMY_HASH: std::sync::LazyLock<Option<String>> =
    std::sync::LazyLock::new(|| auth::hash_password("no such user").ok());

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Token {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    pub token_type: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub role: Role,
    pub tenant_id: String,
}

/// Log in with a username and password; returns a bearer token that expires. Wrong
/// passwords lock the account after a few tries, and each client address has a rate limit.
#[utoipa::path(
    tag = "access",
    request_body = Login,
    responses(
        (status = 200, body = Token),
        (status = 401, description = "Wrong username or password, or the account is locked", body = crate::ErrorBody),
        (status = 429, description = "Too many attempts from this address", body = crate::ErrorBody)
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Login>,
) -> Result<HttpResponse, ApiError> {
    let who = req
        .connection_info()
        .peer_addr()
        .unwrap_or("unknown")
        .to_owned();
    let b = body.into_inner();
    let token = open_session(&state, &who, b.username, b.password).await?;
    Ok(HttpResponse::Ok().json(token))
}

/// Checks a username and password and opens a login session: the API's `/auth/login` and the
/// console's sign-in form. `who` is the client address the rate limit counts.
pub async fn open_session(
    state: &web::Data<AppState>,
    who: &str,
    username: String,
    password: String,
) -> Result<Token, ApiError> {
    if !state.logins.allow(who) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "too many login attempts from this address; wait a minute",
        ));
    }
    let user = read(state, move |c| access::user_by_name(c, &username)).await?;
    // One answer for every failure (unknown user, wrong password, locked account), after the
    // same argon2 work, so that neither text nor timing tells which usernames exist.
    let wrong = || ApiError::unauthorized("wrong username or password, or the account is locked");
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .or_else(|| DUMMY_HASH.clone());
    let ok = web::block(move || hash.is_some_and(|h| auth::verify_password(&password, &h))).await?;
    let Some(user) = user else {
        return Err(wrong());
    };
    let uid = user.user.user_id.clone();
    if !ok {
        let max = state.config.login_max_failures;
        let lock = chrono::Duration::from_std(state.config.login_lock)
            .unwrap_or_else(|_| chrono::Duration::minutes(15));
        let locked = write(state, move |c| access::login_failed(c, &uid, max, lock)).await?;
        tracing::warn!(username = %user.user.username, locked, "login failed");
        return Err(wrong());
    }
    let now = audit_store::now();
    let token = format!("ses_{}", auth::random_hex(32)?);
    let token_hash = auth::sha256_hex(&token);
    let ttl = chrono::Duration::from_std(state.config.token_ttl)
        .unwrap_or_else(|_| chrono::Duration::hours(1));
    let expires_at = now + ttl;
    let u = user.user.clone();
    let opened = write(state, move |c| {
        if !access::login_succeeded(c, &uid)? {
            return Ok(false);
        }
        access::create_session(c, &token_hash, &uid, expires_at)?;
        Ok(true)
    })
    .await?;
    if !opened {
        tracing::warn!(username = %u.username, "login refused: account locked");
        return Err(wrong());
    }
    tracing::info!(username = %u.username, "logged in");
    Ok(Token {
        access_token: token,
        token_type: "bearer".into(),
        expires_at,
        role: u.role,
        tenant_id: u.tenant_id,
    })
}

/// Ends the login session of a `ses_` token; whether there was one.
pub async fn close_session(state: &web::Data<AppState>, token: &str) -> Result<bool, ApiError> {
    if !token.starts_with("ses_") {
        return Ok(false);
    }
    let h = auth::sha256_hex(token);
    let ended = write(state, move |c| access::end_session(c, &h)).await?;
    if ended {
        state.credentials.clear();
    }
    Ok(ended)
}

/// End the login session of the presented token.
#[utoipa::path(tag = "access", responses((status = 200, body = Deleted)))]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let ended = match auth::presented_in(req.headers()) {
        Some(t) => close_session(&state, &t).await?,
        None => false,
    };
    Ok(HttpResponse::Ok().json(Deleted {
        deleted: ended,
        detail: if ended {
            "logged out".into()
        } else {
            "no login session with this credential (API keys are revoked with DELETE /api-keys/{key_id})".into()
        },
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub actor: String,
    pub tenant_id: String,
    pub role: Role,
    /// Admin of the system tenant: operates every tenant.
    pub operator: bool,
}

/// Who the presented credential is.
#[utoipa::path(tag = "access", responses((status = 200, body = Me)))]
#[get("/auth/me")]
pub async fn me(caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        operator: caller.is_operator(),
        actor: caller.actor,
        tenant_id: caller.tenant_id,
        role: caller.role,
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(min_length = 1, max_length = 128)]
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    pub role: Role,
    /// Operators may name another tenant; default: the caller's.
    pub tenant_id: Option<String>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Create a user of the caller's tenant (password stored as argon2).
#[utoipa::path(
    tag = "access",
    request_body = NewUser,
    responses((status = 201, body = User), (status = 409, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody))
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let u = add_user(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(u))
}

/// Creates a user as `POST /users` does (the console's settings page calls it too).
pub async fn add_user(
    state: &web::Data<AppState>,
    caller: Caller,
    b: NewUser,
) -> Result<User, ApiError> {
    check_text("username", &b.username, 128)?;
    if b.password.chars().count() < 12 || b.password.len() > 1024 {
        return Err(ApiError::invalid("password must be 12 to 1024 characters"));
    }
    let password = b.password;
    let hash = web::block(move || auth::hash_password(&password)).await??;
    write(state, move |c| {
        let tenant = target_tenant(c, &caller, b.tenant_id.as_deref())?;
        let u = access::create_user(c, &tenant, &b.username, &hash, b.role)?;
        log_change(
            c,
            &tenant,
            &caller,
            "user.create",
            "user",
            &u.user_id,
            // The salted hash, which the log turns into a fingerprint: "a password was set".
            serde_json::json!({"after": {"username": u.username, "role": u.role, "password": hash}}),
        )?;
        Ok(u)
    })
    .await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserList {
    pub total: i64,
    pub skip: i64,
    pub limit: i64,
    pub users: Vec<User>,
}

/// The users of the caller's tenant (every tenant for operators), oldest first.
#[utoipa::path(
    tag = "access",
    params(PageParams),
    responses((status = 200, body = UserList), (status = 400, body = crate::ErrorBody))
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let paging = page.paging()?;
    let scope = caller.scope();
    let p = read(&state, move |c| {
        access::users_page(c, scope.as_deref(), paging)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserList {
        total: p.total,
        skip: paging.skip,
        limit: paging.limit,
        users: p.items,
    }))
}

/// Delete a user (their login sessions end).
#[utoipa::path(
    tag = "access",
    params(("user_id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 404, body = crate::ErrorBody))
)]
#[delete("/users/{user_id}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let d = remove_user(&state, caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Deletes a user as `DELETE /users/{user_id}` does.
pub async fn remove_user(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
) -> Result<Deleted, ApiError> {
    let id2 = id.clone();
    write(state, move |c| {
        let missing = || StoreError::NotFound(format!("user '{id2}' not found"));
        let u = access::user_by_id(c, &id2)?.ok_or_else(missing)?;
        if !caller.sees(&u.user.tenant_id) {
            return Err(missing());
        }
        access::delete_user(c, &id2)?;
        log_change(
            c,
            &u.user.tenant_id,
            &caller,
            "user.delete",
            "user",
            &id2,
            serde_json::json!({"before": {"username": u.user.username, "role": u.user.role}}),
        )
    })
    .await?;
    state.credentials.clear();
    Ok(Deleted {
        deleted: true,
        detail: format!("user '{id}' deleted"),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyInput {
    /// What the key is for, e.g. `ci-pipeline`.
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    pub role: Role,
    /// Days until it stops working (default: never).
    pub expires_in_days: Option<i64>,
    /// Operators may name another tenant; default: the caller's.
    pub tenant_id: Option<String>,
}

/// A new key: the only time the key itself is shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub meta: ApiKey,
    /// Shown once; only its hash is stored.
    pub key: String,
}

/// Create an API key; the response is the only place the key appears.
#[utoipa::path(
    tag = "access",
    request_body = NewKeyInput,
    responses((status = 201, body = CreatedKey), (status = 422, body = crate::ErrorBody))
)]
#[post("/api-keys")]
pub async fn create_key(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewKeyInput>,
) -> Result<HttpResponse, ApiError> {
    let k = add_key(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(k))
}

/// Creates an API key as `POST /api-keys` does; the result is the only place the key appears.
pub async fn add_key(
    state: &web::Data<AppState>,
    caller: Caller,
    b: NewKeyInput,
) -> Result<CreatedKey, ApiError> {
    check_text("name", &b.name, 128)?;
    if b.expires_in_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(ApiError::invalid(
            "expires_in_days must be between 1 and 3650",
        ));
    }
    let (key_id, key) = auth::new_api_key()?;
    let hash = auth::sha256_hex(&key);
    let meta = write(state, move |c| {
        let tenant = target_tenant(c, &caller, b.tenant_id.as_deref())?;
        let k = access::create_key(
            c,
            &access::NewKey {
                key_id: &key_id,
                tenant_id: &tenant,
                name: &b.name,
                role: b.role,
                key_hash: &hash,
                created_by: &caller.actor,
                expires_at: b
                    .expires_in_days
                    .map(|d| audit_store::now() + chrono::Duration::days(d)),
            },
        )?;
        log_change(
            c,
            &tenant,
            &caller,
            "key.create",
            "api_key",
            &k.key_id,
            serde_json::json!(k),
        )?;
        Ok(k)
    })
    .await?;
    tracing::info!(key_id = %meta.key_id, role = %meta.role, "api key created");
    Ok(CreatedKey { meta, key })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyList {
    pub total: i64,
    pub skip: i64,
    pub limit: i64,
    pub keys: Vec<ApiKey>,
}

/// The API keys of the caller's tenant (never the keys themselves), oldest first.
#[utoipa::path(
    tag = "access",
    params(PageParams),
    responses((status = 200, body = KeyList), (status = 400, body = crate::ErrorBody))
)]
#[get("/api-keys")]
pub async fn list_keys(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let paging = page.paging()?;
    let scope = caller.scope();
    let p = read(&state, move |c| {
        access::keys_page(c, scope.as_deref(), paging)
    })
    .await?;
    Ok(HttpResponse::Ok().json(KeyList {
        total: p.total,
        skip: paging.skip,
        limit: paging.limit,
        keys: p.items,
    }))
}

/// Revoke an API key (it stops working at once on this server, within 2 s on others).
#[utoipa::path(
    tag = "access",
    params(("key_id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 404, body = crate::ErrorBody))
)]
#[delete("/api-keys/{key_id}")]
pub async fn revoke_key(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let d = revoke(&state, caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Revokes an API key as `DELETE /api-keys/{key_id}` does.
pub async fn revoke(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
) -> Result<Deleted, ApiError> {
    let id2 = id.clone();
    write(state, move |c| {
        let missing = || StoreError::NotFound(format!("API key '{id2}' not found"));
        let k = access::key_by_id(c, &id2)?.ok_or_else(missing)?;
        if !caller.sees(&k.tenant_id) {
            return Err(missing());
        }
        if !access::revoke_key(c, &id2)? {
            return Err(StoreError::Conflict(format!(
                "API key '{id2}' is already revoked"
            )));
        }
        log_change(
            c,
            &k.tenant_id,
            &caller,
            "key.revoke",
            "api_key",
            &id2,
            serde_json::json!({"before": {"revoked": false}, "after": {"revoked": true}}),
        )
    })
    .await?;
    state.credentials.clear();
    Ok(Deleted {
        deleted: true,
        detail: format!("API key '{id}' revoked"),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
}

/// A new tenant, with its first admin key when an operator creates it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedTenant {
    #[serde(flatten)]
    pub tenant: Tenant,
    /// An admin key of the new tenant (shown once), for its own administrators. Absent when
    /// open mode answers with a tenant that already had the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_key: Option<String>,
}

/// Create a tenant (operators only: admins of the system tenant).
#[utoipa::path(
    tag = "access",
    request_body = NewTenant,
    responses(
        (status = 201, body = CreatedTenant),
        (status = 200, description = "Open mode only: the tenant that already had this name (no admin key)", body = CreatedTenant),
        (status = 403, body = crate::ErrorBody),
        (status = 409, body = crate::ErrorBody)
    )
)]
#[post("/v1/tenants")]
pub async fn create_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewTenant>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    // Open mode (a trusted local network): the set-up wizard may run again with the same
    // name, so the tenant of that name is the answer instead of a conflict.
    if state.config.open_access.is_some() && caller.actor == auth::ANONYMOUS && caller.is_operator()
    {
        let name = b.name.clone();
        if let Some(t) = read(&state, move |c| tenants::by_name(c, &name)).await? {
            return Ok(HttpResponse::Ok().json(CreatedTenant {
                tenant: t,
                admin_key: None,
            }));
        }
    }
    let t = add_tenant(&state, caller, b).await?;
    Ok(HttpResponse::Created().json(t))
}

/// Creates a tenant as `POST /v1/tenants` does (operators only).
pub async fn add_tenant(
    state: &web::Data<AppState>,
    caller: Caller,
    b: NewTenant,
) -> Result<CreatedTenant, ApiError> {
    if !caller.is_operator() {
        return Err(ApiError::forbidden(
            "only admins of the system tenant create tenants",
        ));
    }
    check_text("name", &b.name, 128)?;
    let (key_id, key) = auth::new_api_key()?;
    let hash = auth::sha256_hex(&key);
    let t = write(state, move |c| {
        let t = tenants::create(c, &b.name)?;
        tenants::default_project(c, &t.tenant_id)?;
        access::create_key(
            c,
            &access::NewKey {
                key_id: &key_id,
                tenant_id: &t.tenant_id,
                name: "initial admin",
                role: Role::Admin,
                key_hash: &hash,
                created_by: &caller.actor,
                expires_at: None,
            },
        )?;
        log_change(
            c,
            &t.tenant_id,
            &caller,
            "tenant.create",
            "tenant",
            &t.tenant_id,
            serde_json::json!({"name": t.name, "admin_key_id": key_id}),
        )?;
        Ok(t)
    })
    .await?;
    Ok(CreatedTenant {
        tenant: t,
        admin_key: Some(key),
    })
}

/// The caller's tenant (every tenant for operators).
#[utoipa::path(tag = "access", responses((status = 200, body = Vec<Tenant>)))]
#[get("/v1/tenants")]
pub async fn list_tenants(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let scope = caller.scope();
    let v = read(&state, move |c| tenants::list(c, scope.as_deref())).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// Default: the caller's tenant.
    pub tenant_id: Option<String>,
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// `classification` (default), `regression` or `generation`.
    pub task_type: Option<String>,
}

/// Create a project in a tenant the caller may see.
#[utoipa::path(
    tag = "access",
    request_body = NewProject,
    responses((status = 201, body = Project), (status = 404, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody))
)]
#[post("/v1/projects")]
pub async fn create_project(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewProject>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    check_text("name", &b.name, 128)?;
    let task = b.task_type.unwrap_or_else(|| "classification".into());
    if !["classification", "regression", "generation"].contains(&task.as_str()) {
        return Err(ApiError::invalid(
            "task_type must be classification, regression or generation",
        ));
    }
    let p = write(&state, move |c| {
        let tenant = target_tenant(c, &caller, b.tenant_id.as_deref())?;
        let p = tenants::create_project(c, &tenant, &b.name, &task)?;
        log_change(
            c,
            &tenant,
            &caller,
            "project.create",
            "project",
            &p.project_id,
            serde_json::json!(p),
        )?;
        Ok(p)
    })
    .await?;
    Ok(HttpResponse::Created().json(p))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectFilter {
    pub tenant_id: Option<String>,
}

/// Projects the caller may see.
#[utoipa::path(tag = "access", params(ProjectFilter), responses((status = 200, body = Vec<Project>)))]
#[get("/v1/projects")]
pub async fn list_projects(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ProjectFilter>,
) -> Result<HttpResponse, ApiError> {
    let scope = caller.scope();
    let named = q.into_inner().tenant_id;
    let v = read(&state, move |c| {
        let mut v = tenants::projects(c, scope.as_deref())?;
        if let Some(t) = named {
            v.retain(|p| p.tenant_id == t);
        }
        Ok(v)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// One project.
#[utoipa::path(
    tag = "access",
    params(("project_id" = String, Path)),
    responses((status = 200, body = Project), (status = 404, body = crate::ErrorBody))
)]
#[get("/v1/projects/{project_id}")]
pub async fn get_project(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let p = read(&state, move |c| project_for(c, &caller, Some(&id))).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// The set-up wizard's model: a name and version in a project.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WizardModel {
    pub project_id: String,
    #[schema(min_length = 1, max_length = 256)]
    pub name: String,
    /// Default `v1.0`.
    #[schema(min_length = 1, max_length = 128)]
    pub version: Option<String>,
}

/// A model as the wizard reads it (`id` is the `model_id` the rest of the API takes).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WizardModelView {
    pub id: String,
    pub model_id: String,
    pub name: String,
    pub version: String,
    pub project_id: String,
    pub tenant_id: String,
    pub model_type: ModelType,
    pub connection_type: ConnectionType,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Set when the model is archived (listed only with `include_archived=true`).
    pub archived_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<audit_store::Model> for WizardModelView {
    fn from(m: audit_store::Model) -> Self {
        WizardModelView {
            id: m.model_id.clone(),
            model_id: m.model_id,
            name: m.name,
            version: m.version,
            project_id: m.project_id,
            tenant_id: m.tenant_id,
            model_type: m.model_type,
            connection_type: m.connection_type,
            created_at: m.created_at,
            archived_at: m.archived_at,
        }
    }
}

/// Register a model from the set-up wizard (`{project_id, name, version}`); it gets a
/// `sample` evidence source, so uploads can feed its audits at once.
#[utoipa::path(
    tag = "access",
    request_body = WizardModel,
    responses((status = 201, body = WizardModelView), (status = 404, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody))
)]
#[post("/v1/models")]
pub async fn create_wizard_model(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<WizardModel>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    check_text("name", &b.name, 256)?;
    let version = b.version.unwrap_or_else(|| "v1.0".into());
    check_text("version", &version, 128)?;
    let sealer = state.store.sealer()?;
    let m = write(&state, move |c| {
        let project = project_for(c, &caller, Some(&b.project_id))?;
        let model_id = format!("mdl_{}", &tenants::uuid_hex()[..12]);
        let model_type = if project.task_type == "generation" {
            ModelType::Llm
        } else {
            ModelType::Ml
        };
        let (m, _) = models::insert(
            c,
            &sealer,
            &NewModel {
                model_id: model_id.clone(),
                name: b.name,
                version,
                model_type,
                connection_type: ConnectionType::Sample,
                description: None,
                owner: None,
                tenant_id: project.tenant_id,
                project_id: project.project_id,
            },
            &[audit_store::NewEvidenceSource {
                source_type: ConnectionType::Sample,
                config: serde_json::json!({}),
                read_only: true,
            }],
        )?;
        log_model(c, &caller, "model.create", &model_id, serde_json::json!(m))?;
        Ok(m)
    })
    .await?;
    Ok(HttpResponse::Created().json(WizardModelView::from(m)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WizardModelFilter {
    pub project_id: Option<String>,
    /// Also list archived models (default false).
    pub include_archived: Option<bool>,
}

/// Models the caller may see, optionally of one project (archived ones only with
/// `include_archived=true`).
#[utoipa::path(tag = "access", params(WizardModelFilter), responses((status = 200, body = Vec<WizardModelView>)))]
#[get("/v1/models")]
pub async fn list_wizard_models(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<WizardModelFilter>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let f = models::ModelFilter {
        tenant_id: caller.scope(),
        project_id: q.project_id,
        include_archived: q.include_archived.unwrap_or(false),
        ..Default::default()
    };
    let v = read(&state, move |c| {
        models::list(
            c,
            &f,
            audit_store::Paging {
                skip: 0,
                limit: audit_store::repo::MAX_LIMIT,
            },
        )
    })
    .await?;
    let out: Vec<WizardModelView> = v.items.into_iter().map(WizardModelView::from).collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Creates the first admin key when the database has no credential yet. Returns the key to
/// print once (`None` when credentials exist).
pub fn bootstrap(store: &audit_store::Store) -> Result<Option<String>, ApiError> {
    if store.read(access::any_credential)? {
        return Ok(None);
    }
    mint_admin_key(store, "first admin").map(Some)
}

/// Creates an admin key of the system tenant (first start, or `auditor admin-key` for someone
/// with access to the database who lost theirs). Logged in the compliance log.
pub fn mint_admin_key(store: &audit_store::Store, name: &str) -> Result<String, ApiError> {
    let (key_id, key) = auth::new_api_key()?;
    let hash = auth::sha256_hex(&key);
    store.write(|c| {
        access::create_key(
            c,
            &access::NewKey {
                key_id: &key_id,
                tenant_id: SYSTEM_TENANT,
                name,
                role: Role::Admin,
                key_hash: &hash,
                created_by: "system",
                expires_at: None,
            },
        )?;
        log::append(
            c,
            &log::Change {
                tenant_id: SYSTEM_TENANT,
                actor: "system",
                action: "key.create",
                object_type: "api_key",
                object_id: &key_id,
                change: serde_json::json!({"key_id": key_id, "role": "admin", "name": name}),
            },
        )
    })?;
    Ok(key)
}

/// A person's account for the demo's console: an admin of the system tenant named `username`
/// with a random password, returned once to be printed (only its argon2 hash is stored).
/// Logged in the compliance log.
pub fn mint_demo_user(store: &audit_store::Store, username: &str) -> Result<String, ApiError> {
    // Four groups of four hex digits: easy to type from a terminal, 64 bits of randomness.
    let raw = auth::random_hex(8)?;
    let password = raw
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-");
    let hash = auth::hash_password(&password)?;
    store.write(|c| {
        let u = access::create_user(c, SYSTEM_TENANT, username, &hash, Role::Admin)?;
        log::append(
            c,
            &log::Change {
                tenant_id: SYSTEM_TENANT,
                actor: "system",
                action: "user.create",
                object_type: "user",
                object_id: &u.user_id,
                change: serde_json::json!({"after": {"username": u.username, "role": u.role, "password": hash}}),
            },
        )
    })?;
    Ok(password)
}
