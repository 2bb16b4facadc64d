//! Access control. Every route needs a role (`viewer` < `auditor` < `admin`), decided in one
//! place ([`access`]) that the middleware enforces and the OpenAPI document states. Callers
//! present an API key (`aud_…`) or a login token (`ses_…`) as `Authorization: Bearer …` (or an
//! API key as `X-API-Key`). Keys and tokens are 256-bit random and stored as SHA-256 hashes;
//! passwords as argon2. Credentials belong to a tenant and see only its data; admins of the
//! system tenant (`default`) operate every tenant.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use audit_store::repo::access::{self, Role};
use audit_store::repo::tenants::SYSTEM_TENANT;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{ApiError, AppState};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub role: Role,
    /// `user:<name>`, `key:<key_id>` or `anonymous`: what the compliance log records.
    pub actor: String,
}

impl Caller {
    /// Admins of the system tenant operate every tenant.
    pub fn is_operator(&self) -> bool {
        self.role == Role::Admin && self.tenant_id == SYSTEM_TENANT
    }

    /// The tenant a query is limited to (`None`: every tenant).
    pub fn scope(&self) -> Option<String> {
        (!self.is_operator()).then(|| self.tenant_id.clone())
    }

    /// Whether the caller may see something of `tenant`.
    pub fn sees(&self, tenant: &str) -> bool {
        self.is_operator() || self.tenant_id == tenant
    }

    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the {role} role; the credential has {}",
                self.role
            )))
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Caller, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<Caller>()
                .cloned()
                .ok_or_else(|| ApiError::unauthorized("credentials required")),
        )
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    Needs(Role),
}

/// The role every route needs, by method and route pattern. Reads need `viewer`; running
/// audits, approving baselines, uploading samples and moving findings need `auditor`; every
/// other change (archiving and restoring models and setting retention periods included), and
/// reading users and keys, needs `admin`.
pub fn access(method: &Method, pattern: &str) -> Access {
    use Access::{Needs, Public};
    // The console's pages (`/console/…`) check its session cookie themselves (audit-console).
    if method == Method::OPTIONS
        || pattern.starts_with("/docs")
        || pattern.starts_with("/redoc")
        || pattern.starts_with("/console/")
    {
        return Public;
    }
    match (method.as_str(), pattern) {
        (_, "/health" | "/openapi.json") | ("POST", "/auth/login") => Public,
        // The console's pages check its session cookie themselves (audit-console).
        ("GET", "/" | "/login" | "/console.css" | "/console.js")
        | ("POST", "/login" | "/logout") => Public,
        ("GET", "/users" | "/api-keys" | "/webhooks" | "/webhooks/{id}/deliveries") => {
            Needs(Role::Admin)
        }
        (
            "POST",
            "/models/{model_id}/audits"
            | "/audits/{audit_id}/approve"
            | "/models/{model_id}/samples"
            | "/findings/{finding_id}/status"
            | "/v1/events"
            | "/v1/labels"
            | "/v1/feedback"
            | "/v1/baselines"
            | "/api/v1/audit",
        ) => Needs(Role::Auditor),
        ("POST", "/auth/logout") | ("GET", _) => Needs(Role::Viewer),
        _ => Needs(Role::Admin),
    }
}

/// The actor of requests made without credentials (anonymous reads, open mode).
pub const ANONYMOUS: &str = "anonymous";

pub use audit_store::repo::log::sha256_hex;

/// `n` random bytes in hex, from the operating system.
pub fn random_hex(n: usize) -> Result<String, ApiError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| ApiError::internal(&e))?;
    Ok(audit_store::repo::log::hex(&b))
}

/// A new API key: its id and the key itself (`aud_<id>_<secret>`, shown once).
pub fn new_api_key() -> Result<(String, String), ApiError> {
    let id = random_hex(8)?;
    let secret = random_hex(32)?;
    Ok((format!("key_{id}"), format!("aud_{id}_{secret}")))
}

/// The key id inside a presented key.
fn key_id_of(key: &str) -> Option<String> {
    let rest = key.strip_prefix("aud_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 16 && secret.len() == 64).then(|| format!("key_{id}"))
}

pub fn hash_password(p: &str) -> Result<String, ApiError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ApiError::internal(&e))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ApiError::internal(&e))?;
    argon2::Argon2::default()
        .hash_password(p.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(&e))
}

pub fn verify_password(p: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(p.as_bytes(), &h)
            .is_ok()
    })
}

/// Compares two hex digests without an early exit (also the console's CSRF tokens).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Recently checked credentials (by hash), so that reads do not hit the database for every
/// request. Emptied whenever a key, user or session changes; entries live `ttl` at most, which
/// bounds how late another instance's revocation is noticed.
pub struct CredentialCache {
    ttl: Duration,
    map: Mutex<HashMap<String, (Caller, Instant)>>,
}

impl CredentialCache {
    pub fn new(ttl: Duration) -> CredentialCache {
        CredentialCache {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }
    fn get(&self, k: &str) -> Option<Caller> {
        let m = self.map.lock().ok()?;
        m.get(k)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(c, _)| c.clone())
    }
    fn put(&self, k: String, c: Caller) {
        if let Ok(mut m) = self.map.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(k, (c, Instant::now()));
        }
    }
    pub fn clear(&self) {
        if let Ok(mut m) = self.map.lock() {
            m.clear();
        }
    }
}

/// Counts recent attempts per client address (login guessing).
pub struct RateLimiter {
    per_minute: u32,
    map: Mutex<HashMap<String, Vec<Instant>>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            map: Mutex::new(HashMap::new()),
        }
    }
    /// Records an attempt; `false` when the address is over its limit.
    pub fn allow(&self, who: &str) -> bool {
        let Ok(mut m) = self.map.lock() else {
            return false;
        };
        let minute = Duration::from_secs(60);
        if m.len() > 10_000 {
            m.retain(|_, v| v.last().is_some_and(|t| t.elapsed() < minute));
        }
        let v = m.entry(who.to_owned()).or_default();
        v.retain(|t| t.elapsed() < minute);
        if v.len() as u32 >= self.per_minute {
            return false;
        }
        v.push(Instant::now());
        true
    }
}

/// The credential a request carries (`Authorization: Bearer …`, a bare `Authorization`
/// value, or `X-API-Key`).
/// A header that is there but not readable text counts as a (bad) credential, never as none:
/// open mode must not take it for a request without credentials.
pub fn presented_in(h: &actix_web::http::header::HeaderMap) -> Option<String> {
    if let Some(v) = h
        .get(actix_web::http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default())
    {
        let v = v.trim();
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .unwrap_or(v);
        return Some(token.trim().to_owned());
    }
    h.get("x-api-key")
        .map(|v| v.to_str().unwrap_or_default().trim().to_owned())
}

fn presented(req: &ServiceRequest) -> Option<String> {
    presented_in(req.headers()).or_else(|| {
        // Browsers' EventSource and WebSocket cannot send headers: the event routes alone
        // also take the credential as `?access_token=`.
        if !req.path().starts_with("/events") {
            return None;
        }
        web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("access_token").cloned())
    })
}

/// Looks a presented credential up: `None` when unknown, expired or revoked.
/// The caller a credential (API key or login token) stands for, if any.
pub async fn identify(
    state: &web::Data<AppState>,
    token: String,
) -> Result<Option<Caller>, ApiError> {
    let hash = sha256_hex(&token);
    if let Some(c) = state.credentials.get(&hash) {
        return Ok(Some(c));
    }
    let store = state.store.clone();
    let key_hash = hash.clone();
    let found = web::block(move || -> Result<Option<Caller>, audit_store::StoreError> {
        if let Some(id) = key_id_of(&token) {
            let Some((k, stored)) = store.read(|c| access::key_for_auth(c, &id))? else {
                return Ok(None);
            };
            let now = audit_store::now();
            if !same(&stored, &key_hash)
                || k.revoked_at.is_some()
                || k.expires_at.is_some_and(|e| e <= now)
            {
                return Ok(None);
            }
            if k.last_used_at
                .is_none_or(|t| now - t > chrono::Duration::minutes(1))
            {
                // Bookkeeping only: a busy database must not turn a read into an error.
                if let Err(e) = store.write(|c| access::touch_key(c, &id)) {
                    tracing::debug!(error = %e, "last_used_at not updated");
                }
            }
            return Ok(Some(Caller {
                tenant_id: k.tenant_id,
                role: k.role,
                actor: format!("key:{}", k.key_id),
            }));
        }
        if token.starts_with("ses_") {
            let user = store.read(|c| access::session_user(c, &key_hash))?;
            return Ok(user.map(|u| Caller {
                tenant_id: u.tenant_id,
                role: u.role,
                actor: format!("user:{}", u.username),
            }));
        }
        Ok(None)
    })
    .await??;
    if let Some(c) = &found {
        state.credentials.put(hash, c.clone());
    }
    Ok(found)
}

/// The middleware: finds the route's role, identifies the caller, answers 401/403 itself or
/// passes the request on with the [`Caller`] in its extensions.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let pattern = req.match_pattern();
    let need = match pattern.as_deref() {
        Some(p) => access(req.method(), p),
        // The role table matches the raw path, routing the decoded one: a path that matches no
        // pattern here still needs a credential, so that no encoding reaches a handler
        // unchecked. Unknown paths then answer 401 before 404.
        None => access(req.method(), req.path()),
    };
    let Access::Needs(role) = need else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(ApiError::internal(&"application state missing").into());
    };
    let caller = match presented(&req) {
        Some(token) => match identify(&state, token).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Ok(reject(
                    req,
                    ApiError::unauthorized("invalid, expired or revoked credentials"),
                ));
            }
            Err(e) => return Ok(reject(req, e)),
        },
        // Open mode: whoever reaches the server is an admin of the named tenant (the server
        // refused to start it beyond loopback unless told twice).
        None if let Some(tenant) = &state.config.open_access => {
            if let Some(why) = beyond_loopback(&req, state.config.open_access_beyond_loopback) {
                return Ok(reject(req, ApiError::forbidden(why)));
            }
            if let Some(origin) = foreign_origin(&req, &state.config.cors_origins) {
                return Ok(reject(
                    req,
                    ApiError::forbidden(format!(
                        "open mode answers pages of this server and of the allowed origins only, not {origin}"
                    )),
                ));
            }
            Caller {
                tenant_id: tenant.clone(),
                role: Role::Admin,
                actor: ANONYMOUS.into(),
            }
        }
        None if state.config.anonymous_reads && role == Role::Viewer => Caller {
            tenant_id: SYSTEM_TENANT.into(),
            role: Role::Viewer,
            actor: ANONYMOUS.into(),
        },
        None => {
            return Ok(reject(
                req,
                ApiError::unauthorized(
                    "credentials required: send an API key or login token as 'Authorization: Bearer …'",
                ),
            ));
        }
    };
    if let Err(e) = caller.require(role) {
        return Ok(reject(req, e));
    }
    req.extensions_mut().insert(caller);
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The `Origin` of a request a web page made, when it is neither this server nor an allowed
/// CORS origin. Open mode trusts the network, not every site its users' browsers visit: a
/// page elsewhere could send a simple cross-site POST (no preflight) that would act as admin.
fn foreign_origin(req: &ServiceRequest, allowed: &[String]) -> Option<String> {
    let origin = req
        .headers()
        .get(actix_web::http::header::ORIGIN)?
        .to_str()
        .ok()?;
    let own = req.connection_info();
    let same = origin
        .split_once("://")
        .is_some_and(|(_, host)| host == own.host());
    // `*` in the CORS list does not count: it would make every site an admin.
    let listed = allowed.iter().any(|a| a == origin);
    (!same && !listed).then(|| origin.to_owned())
}

/// Why an open-mode request may have come from beyond this machine, unless the server was told
/// that is intended: a Host that is not a loopback name (a DNS-rebinding page names its own
/// host), or a proxy's forwarding headers (the proxy's connection is local, its client not).
fn beyond_loopback(req: &ServiceRequest, allowed: bool) -> Option<String> {
    if allowed {
        return None;
    }
    let h = req.headers();
    if h.contains_key("forwarded") || h.contains_key("x-forwarded-for") {
        return Some("open mode does not answer requests forwarded by a proxy (start it with --open-access-beyond-loopback if that is intended)".into());
    }
    let host = req.connection_info().host().to_owned();
    let name = match host.rsplit_once(':') {
        Some((n, port)) if port.chars().all(|c| c.is_ascii_digit()) => n.to_owned(),
        _ => host.clone(),
    };
    let local = name.eq_ignore_ascii_case("localhost")
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!local).then(|| format!("open mode answers requests to localhost only, not to host '{host}'"))
}

fn reject<B>(req: ServiceRequest, e: ApiError) -> ServiceResponse<EitherBody<B>> {
    req.error_response(e).map_into_right_body()
}

/// States each operation's role in the OpenAPI document: a security requirement, an
/// `x-required-role` extension and a line in the description.
/// With anonymous reads on (`--demo`, `AUDITOR_ANONYMOUS_READS`), the routes a viewer may read
/// take no credential either: their security requirements gain the empty one, so that the
/// document served says what the server does.
pub fn document_anonymous_reads(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::SecurityRequirement;
    each_operation(api, |m, path, op| {
        if matches!(access(m, path), Access::Needs(Role::Viewer))
            && let Some(sec) = &mut op.security
        {
            sec.push(SecurityRequirement::default());
        }
    });
}

/// In open mode every route takes no credential: each security requirement gains the empty one.
pub fn document_open_access(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::SecurityRequirement;
    each_operation(api, |_, _, op| {
        if let Some(sec) = &mut op.security {
            sec.push(SecurityRequirement::default());
        }
    });
}

/// Calls `f` with every operation of the document, its method and its path.
fn each_operation(
    api: &mut utoipa::openapi::OpenApi,
    mut f: impl FnMut(&Method, &str, &mut utoipa::openapi::path::Operation),
) {
    for (path, item) in api.paths.paths.iter_mut() {
        let ops = [
            (Method::GET, &mut item.get),
            (Method::POST, &mut item.post),
            (Method::PUT, &mut item.put),
            (Method::DELETE, &mut item.delete),
            (Method::PATCH, &mut item.patch),
        ];
        for (m, op) in ops {
            if let Some(op) = op {
                f(&m, path, op);
            }
        }
    }
}

pub fn document(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::{
        ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
    };
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API key (aud_…) or a login token (ses_… from POST /auth/login)",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
    );
    each_operation(api, |m, path, op| match access(m, path) {
        Access::Public => {
            op.security = Some(vec![SecurityRequirement::default()]);
        }
        Access::Needs(role) => {
            op.security = Some(vec![
                SecurityRequirement::new("bearer", Vec::<String>::new()),
                SecurityRequirement::new("api_key", Vec::<String>::new()),
            ]);
            let line = format!("Role: `{role}`.");
            op.description = Some(match op.description.take() {
                Some(d) => format!("{d}\n\n{line}"),
                None => line,
            });
            let ext = op.extensions.get_or_insert_with(Default::default);
            ext.insert("x-required-role".into(), serde_json::json!(role.as_str()));
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn routes_need_the_documented_roles() {
        assert_eq!(access(&Method::GET, "/health"), Access::Public);
        assert_eq!(access(&Method::POST, "/auth/login"), Access::Public);
        assert_eq!(access(&Method::GET, "/models"), Access::Needs(Role::Viewer));
        assert_eq!(
            access(&Method::POST, "/audits/{audit_id}/approve"),
            Access::Needs(Role::Auditor)
        );
        assert_eq!(
            access(&Method::POST, "/models/register"),
            Access::Needs(Role::Admin)
        );
        assert_eq!(
            access(&Method::GET, "/api-keys"),
            Access::Needs(Role::Admin)
        );
        // Archiving (DELETE), restoring and setting retention are registry changes: admin.
        for (m, p) in [
            (Method::DELETE, "/models/{model_id}"),
            (Method::POST, "/models/{model_id}/restore"),
            (Method::PUT, "/v1/tenants/{tenant_id}/retention"),
        ] {
            assert_eq!(access(&m, p), Access::Needs(Role::Admin), "{m} {p}");
        }
        assert_eq!(
            access(&Method::GET, "/v1/tenants/{tenant_id}/retention"),
            Access::Needs(Role::Viewer)
        );
    }

    #[test]
    fn keys_passwords_and_hashes() {
        let (id, key) = new_api_key().unwrap();
        assert_eq!(key_id_of(&key).as_deref(), Some(id.as_str()));
        assert_eq!(key_id_of("aud_short_x"), None);
        assert_ne!(new_api_key().unwrap().1, key);
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(same(&sha256_hex("a"), &sha256_hex("a")));
        assert!(!same(&sha256_hex("a"), &sha256_hex("b")));
    }

    #[test]
    fn the_rate_limiter_counts_per_address() {
        let r = RateLimiter::new(3);
        assert!((0..3).all(|_| r.allow("a")));
        assert!(!r.allow("a"));
        assert!(r.allow("b"));
    }
}
