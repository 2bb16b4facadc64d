//! `users`, `api_keys`, `sessions`: who may call the API. Only hashes of secrets are stored
//! (argon2 for passwords, SHA-256 for random keys and tokens); hashing happens in the caller.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::records::{naive, utc};
use crate::schema::{api_keys, sessions, users};
use crate::{AnyConnection, StoreError};

/// What a credential may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// Read everything of its tenant.
    Viewer,
    /// Also run audits, approve baselines, acknowledge and resolve findings.
    Auditor,
    /// Also change the registry, policies, keys, users and tenants.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Auditor, Role::Admin];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown role '{s}'")))
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub user_id: String,
    pub tenant_id: String,
    pub username: String,
    pub role: Role,
    /// Set while the account is locked after repeated wrong passwords.
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A user with what login needs.
#[derive(Clone)]
pub struct UserSecret {
    pub user: User,
    pub password_hash: String,
    pub failed_logins: i32,
}

impl std::fmt::Debug for UserSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSecret")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

type UserRow = (
    String,
    String,
    String,
    String,
    String,
    i32,
    Option<chrono::NaiveDateTime>,
    chrono::NaiveDateTime,
);

macro_rules! user_cols {
    () => {
        (
            users::user_id,
            users::tenant_id,
            users::username,
            users::password_hash,
            users::role,
            users::failed_logins,
            users::locked_until,
            users::created_at,
        )
    };
}

fn user(r: UserRow) -> Result<UserSecret, StoreError> {
    Ok(UserSecret {
        user: User {
            user_id: r.0,
            tenant_id: r.1,
            username: r.2,
            role: role(&r.4)?,
            locked_until: r.6.map(utc),
            created_at: utc(r.7),
        },
        password_hash: r.3,
        failed_logins: r.5,
    })
}

pub fn create_user(
    conn: &mut AnyConnection,
    tenant_id: &str,
    username: &str,
    password_hash: &str,
    r: Role,
) -> Result<User, StoreError> {
    let taken: i64 = users::table
        .filter(users::username.eq(username))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "username '{username}' is taken"
        )));
    }
    let id = format!("usr_{}", &super::tenants::uuid_hex()[..16]);
    let inserted = diesel::insert_into(users::table)
        .values((
            users::user_id.eq(&id),
            users::tenant_id.eq(tenant_id),
            users::username.eq(username),
            users::password_hash.eq(password_hash),
            users::role.eq(r.as_str()),
            users::failed_logins.eq(0),
            users::created_at.eq(naive(crate::now())),
        ))
        .execute(conn);
    match inserted {
        // Another request took the name between the check and the insert.
        Err(e) if crate::is_unique_violation(&e) => {
            return Err(StoreError::Conflict(format!(
                "username '{username}' is taken"
            )));
        }
        other => other?,
    };
    Ok(user_by_id(conn, &id)?
        .ok_or_else(|| StoreError::NotFound(id))?
        .user)
}

pub fn user_by_name(
    conn: &mut AnyConnection,
    username: &str,
) -> Result<Option<UserSecret>, StoreError> {
    users::table
        .filter(users::username.eq(username))
        .select(user_cols!())
        .first::<UserRow>(conn)
        .optional()?
        .map(user)
        .transpose()
}

pub fn user_by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<UserSecret>, StoreError> {
    users::table
        .find(id)
        .select(user_cols!())
        .first::<UserRow>(conn)
        .optional()?
        .map(user)
        .transpose()
}

pub fn users(conn: &mut AnyConnection, tenant_id: Option<&str>) -> Result<Vec<User>, StoreError> {
    let mut q = users::table.into_boxed();
    if let Some(t) = tenant_id {
        q = q.filter(users::tenant_id.eq(t.to_owned()));
    }
    q.order(users::created_at.asc())
        .then_order_by(users::user_id.asc())
        .select(user_cols!())
        .load::<UserRow>(conn)?
        .into_iter()
        .map(|r| user(r).map(|u| u.user))
        .collect()
}

/// One page of [`users`], with how many there are.
pub fn users_page(
    conn: &mut AnyConnection,
    tenant_id: Option<&str>,
    paging: crate::Paging,
) -> Result<crate::Page<User>, StoreError> {
    let (skip, limit) = super::clamp(paging);
    let scoped = || {
        let mut q = users::table.into_boxed();
        if let Some(t) = tenant_id {
            q = q.filter(users::tenant_id.eq(t.to_owned()));
        }
        q
    };
    let total = scoped().count().get_result(conn)?;
    let items = scoped()
        .order(users::created_at.asc())
        .then_order_by(users::user_id.asc())
        .offset(skip)
        .limit(limit)
        .select(user_cols!())
        .load::<UserRow>(conn)?
        .into_iter()
        .map(|r| user(r).map(|u| u.user))
        .collect::<Result<_, _>>()?;
    Ok(crate::Page { total, items })
}

pub fn delete_user(conn: &mut AnyConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(users::table.find(id)).execute(conn)? == 1)
}

/// Records a wrong password; locks the account for `lock` when this makes `max_failures` in a
/// row. Call inside `Store::write`: the increment is one UPDATE (on PostgreSQL it holds the row,
/// so concurrent failures queue and all count), and a failure never clears a lock. Returns
/// whether the account is now locked.
pub fn login_failed(
    conn: &mut AnyConnection,
    id: &str,
    max_failures: i32,
    lock: chrono::Duration,
) -> Result<bool, StoreError> {
    diesel::update(users::table.find(id))
        .set(users::failed_logins.eq(users::failed_logins + 1))
        .execute(conn)?;
    let n: i32 = users::table
        .find(id)
        .select(users::failed_logins)
        .first(conn)?;
    if n < max_failures {
        return Ok(false);
    }
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(0),
            users::locked_until.eq(Some(naive(crate::now() + lock))),
        ))
        .execute(conn)?;
    Ok(true)
}

/// After a right password: `false` (and nothing changed) while the account is locked, else
/// clears the failure count. Call inside `Store::write`, so the lock is read where it is
/// written.
pub fn login_succeeded(conn: &mut AnyConnection, id: &str) -> Result<bool, StoreError> {
    let locked: Option<chrono::NaiveDateTime> = users::table
        .find(id)
        .select(users::locked_until)
        .first(conn)?;
    if locked.is_some_and(|t| utc(t) > crate::now()) {
        return Ok(false);
    }
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<chrono::NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(true)
}

/// An API key as the API shows it (never the key or its hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub key_id: String,
    pub tenant_id: String,
    pub name: String,
    pub role: Role,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

type KeyRow = (
    String,
    String,
    String,
    String,
    String,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
    Option<chrono::NaiveDateTime>,
    Option<chrono::NaiveDateTime>,
);

macro_rules! key_cols {
    () => {
        (
            api_keys::key_id,
            api_keys::tenant_id,
            api_keys::name,
            api_keys::role,
            api_keys::created_by,
            api_keys::created_at,
            api_keys::expires_at,
            api_keys::revoked_at,
            api_keys::last_used_at,
        )
    };
}

fn key(r: KeyRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        key_id: r.0,
        tenant_id: r.1,
        name: r.2,
        role: role(&r.3)?,
        created_by: r.4,
        created_at: utc(r.5),
        expires_at: r.6.map(utc),
        revoked_at: r.7.map(utc),
        last_used_at: r.8.map(utc),
    })
}

/// A new key's fields; `key_hash` is SHA-256 of the full key.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    pub key_id: &'a str,
    pub tenant_id: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub key_hash: &'a str,
    pub created_by: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

pub fn create_key(conn: &mut AnyConnection, k: &NewKey<'_>) -> Result<ApiKey, StoreError> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::key_id.eq(k.key_id),
            api_keys::tenant_id.eq(k.tenant_id),
            api_keys::name.eq(k.name),
            api_keys::role.eq(k.role.as_str()),
            api_keys::key_hash.eq(k.key_hash),
            api_keys::created_by.eq(k.created_by),
            api_keys::created_at.eq(naive(crate::now())),
            api_keys::expires_at.eq(k.expires_at.map(naive)),
        ))
        .execute(conn)?;
    key_by_id(conn, k.key_id)?.ok_or_else(|| StoreError::NotFound(k.key_id.to_owned()))
}

pub fn key_by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<ApiKey>, StoreError> {
    api_keys::table
        .find(id)
        .select(key_cols!())
        .first::<KeyRow>(conn)
        .optional()?
        .map(key)
        .transpose()
}

/// The key and its stored hash, for authentication.
pub fn key_for_auth(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(ApiKey, String)>, StoreError> {
    let hash: Option<String> = api_keys::table
        .find(id)
        .select(api_keys::key_hash)
        .first(conn)
        .optional()?;
    match hash {
        Some(h) => Ok(key_by_id(conn, id)?.map(|k| (k, h))),
        None => Ok(None),
    }
}

pub fn keys(conn: &mut AnyConnection, tenant_id: Option<&str>) -> Result<Vec<ApiKey>, StoreError> {
    let mut q = api_keys::table.into_boxed();
    if let Some(t) = tenant_id {
        q = q.filter(api_keys::tenant_id.eq(t.to_owned()));
    }
    q.order(api_keys::created_at.asc())
        .then_order_by(api_keys::key_id.asc())
        .select(key_cols!())
        .load::<KeyRow>(conn)?
        .into_iter()
        .map(key)
        .collect()
}

/// One page of [`keys`], with how many there are.
pub fn keys_page(
    conn: &mut AnyConnection,
    tenant_id: Option<&str>,
    paging: crate::Paging,
) -> Result<crate::Page<ApiKey>, StoreError> {
    let (skip, limit) = super::clamp(paging);
    let scoped = || {
        let mut q = api_keys::table.into_boxed();
        if let Some(t) = tenant_id {
            q = q.filter(api_keys::tenant_id.eq(t.to_owned()));
        }
        q
    };
    let total = scoped().count().get_result(conn)?;
    let items = scoped()
        .order(api_keys::created_at.asc())
        .then_order_by(api_keys::key_id.asc())
        .offset(skip)
        .limit(limit)
        .select(key_cols!())
        .load::<KeyRow>(conn)?
        .into_iter()
        .map(key)
        .collect::<Result<_, _>>()?;
    Ok(crate::Page { total, items })
}

pub fn revoke_key(conn: &mut AnyConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::update(api_keys::table.find(id))
        .filter(api_keys::revoked_at.is_null())
        .set(api_keys::revoked_at.eq(naive(crate::now())))
        .execute(conn)?
        == 1)
}

/// Marks a key used (at most once a minute per key, to keep reads cheap).
pub fn touch_key(conn: &mut AnyConnection, id: &str) -> Result<(), StoreError> {
    let now = crate::now();
    diesel::update(api_keys::table.find(id))
        .filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.lt(naive(now - chrono::Duration::minutes(1)))),
        )
        .set(api_keys::last_used_at.eq(naive(now)))
        .execute(conn)?;
    Ok(())
}

/// Whether any credential exists (first start creates one).
pub fn any_credential(conn: &mut AnyConnection) -> Result<bool, StoreError> {
    let k: i64 = api_keys::table.count().get_result(conn)?;
    let u: i64 = users::table.count().get_result(conn)?;
    Ok(k + u > 0)
}

pub fn create_session(
    conn: &mut AnyConnection,
    token_hash: &str,
    user_id: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now = crate::now();
    // Expired sessions go when new ones come.
    diesel::delete(sessions::table.filter(sessions::expires_at.lt(naive(now)))).execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(token_hash),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(naive(now)),
            sessions::expires_at.eq(naive(expires_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The user of a live session.
pub fn session_user(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<User>, StoreError> {
    let s: Option<(String, chrono::NaiveDateTime)> = sessions::table
        .find(token_hash)
        .select((sessions::user_id, sessions::expires_at))
        .first(conn)
        .optional()?;
    match s {
        Some((uid, exp)) if utc(exp) > crate::now() => Ok(user_by_id(conn, &uid)?.map(|u| u.user)),
        _ => Ok(None),
    }
}

pub fn end_session(conn: &mut AnyConnection, token_hash: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(sessions::table.find(token_hash)).execute(conn)? == 1)
}
