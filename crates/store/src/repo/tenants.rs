//! `tenants` and `projects`: every model belongs to a project of a tenant.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::records::{naive, utc};
use crate::schema::{ai_models, projects, tenants};
use crate::{AnyConnection, StoreError};

/// The tenant of everything created before tenants existed; its admins operate every tenant.
pub const SYSTEM_TENANT: &str = "default";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tenant {
    /// Same as `tenant_id` (the frontend reads `id`).
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Project {
    /// Same as `project_id` (the frontend reads `id`).
    pub id: String,
    pub project_id: String,
    pub tenant_id: String,
    pub name: String,
    /// `classification`, `regression` or `generation`.
    pub task_type: String,
    pub created_at: DateTime<Utc>,
}

fn tenant(t: (String, String, chrono::NaiveDateTime)) -> Tenant {
    Tenant {
        id: t.0.clone(),
        tenant_id: t.0,
        name: t.1,
        created_at: utc(t.2),
    }
}

type ProjectRow = (String, String, String, String, chrono::NaiveDateTime);

fn project(p: ProjectRow) -> Project {
    Project {
        id: p.0.clone(),
        project_id: p.0,
        tenant_id: p.1,
        name: p.2,
        task_type: p.3,
        created_at: utc(p.4),
    }
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", &uuid_hex()[..16])
}

/// 32 random hex digits.
pub fn uuid_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A unique violation (another request won the race between check and insert) is a conflict.
pub(crate) fn conflict_if_taken(
    e: diesel::result::Error,
    what: impl FnOnce() -> String,
) -> StoreError {
    if crate::is_unique_violation(&e) {
        StoreError::Conflict(what())
    } else {
        e.into()
    }
}

/// Creates a tenant (409 when the name is taken).
pub fn create(conn: &mut AnyConnection, name: &str) -> Result<Tenant, StoreError> {
    let taken: i64 = tenants::table
        .filter(tenants::name.eq(name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "tenant '{name}' already exists"
        )));
    }
    let id = new_id("tnt");
    let at = crate::now();
    diesel::insert_into(tenants::table)
        .values((
            tenants::tenant_id.eq(&id),
            tenants::name.eq(name),
            tenants::created_at.eq(naive(at)),
        ))
        .execute(conn)
        .map_err(|e| conflict_if_taken(e, || format!("tenant '{name}' already exists")))?;
    get(conn, &id)?.ok_or_else(|| StoreError::NotFound(id))
}

/// The tenant of this name (names are unique).
pub fn by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<Tenant>, StoreError> {
    let id: Option<String> = tenants::table
        .filter(tenants::name.eq(name))
        .select(tenants::tenant_id)
        .first(conn)
        .optional()?;
    match id {
        Some(id) => get(conn, &id),
        None => Ok(None),
    }
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Tenant>, StoreError> {
    Ok(tenants::table
        .find(id)
        .select((tenants::tenant_id, tenants::name, tenants::created_at))
        .first(conn)
        .optional()?
        .map(tenant))
}

/// Tenants, oldest first; `only` restricts to one.
pub fn list(conn: &mut AnyConnection, only: Option<&str>) -> Result<Vec<Tenant>, StoreError> {
    let mut q = tenants::table.into_boxed();
    if let Some(t) = only {
        q = q.filter(tenants::tenant_id.eq(t.to_owned()));
    }
    Ok(q.order(tenants::created_at.asc())
        .then_order_by(tenants::tenant_id.asc())
        .select((tenants::tenant_id, tenants::name, tenants::created_at))
        .load(conn)?
        .into_iter()
        .map(tenant)
        .collect())
}

pub fn create_project(
    conn: &mut AnyConnection,
    tenant_id: &str,
    name: &str,
    task_type: &str,
) -> Result<Project, StoreError> {
    let taken: i64 = projects::table
        .filter(projects::tenant_id.eq(tenant_id))
        .filter(projects::name.eq(name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "project '{name}' already exists"
        )));
    }
    let id = new_id("prj");
    diesel::insert_into(projects::table)
        .values((
            projects::project_id.eq(&id),
            projects::tenant_id.eq(tenant_id),
            projects::name.eq(name),
            projects::task_type.eq(task_type),
            projects::created_at.eq(naive(crate::now())),
        ))
        .execute(conn)
        .map_err(|e| conflict_if_taken(e, || format!("project '{name}' already exists")))?;
    get_project(conn, &id)?.ok_or_else(|| StoreError::NotFound(id))
}

pub fn get_project(conn: &mut AnyConnection, id: &str) -> Result<Option<Project>, StoreError> {
    Ok(projects::table
        .find(id)
        .select((
            projects::project_id,
            projects::tenant_id,
            projects::name,
            projects::task_type,
            projects::created_at,
        ))
        .first(conn)
        .optional()?
        .map(project))
}

pub fn projects(
    conn: &mut AnyConnection,
    tenant_id: Option<&str>,
) -> Result<Vec<Project>, StoreError> {
    let mut q = projects::table.into_boxed();
    if let Some(t) = tenant_id {
        q = q.filter(projects::tenant_id.eq(t.to_owned()));
    }
    Ok(q.order(projects::created_at.asc())
        .then_order_by(projects::project_id.asc())
        .select((
            projects::project_id,
            projects::tenant_id,
            projects::name,
            projects::task_type,
            projects::created_at,
        ))
        .load(conn)?
        .into_iter()
        .map(project)
        .collect())
}

/// The tenant's project named `default`, created on first use (registrations that name no
/// project go there).
pub fn default_project(conn: &mut AnyConnection, tenant_id: &str) -> Result<Project, StoreError> {
    let found = projects::table
        .filter(projects::tenant_id.eq(tenant_id))
        .filter(projects::name.eq("default"))
        .select((
            projects::project_id,
            projects::tenant_id,
            projects::name,
            projects::task_type,
            projects::created_at,
        ))
        .first(conn)
        .optional()?;
    match found {
        Some(p) => Ok(project(p)),
        None => {
            let p = create_project(conn, tenant_id, "default", "classification")?;
            super::log::append(
                conn,
                &super::log::Change {
                    tenant_id,
                    actor: "system",
                    action: "project.create",
                    object_type: "project",
                    object_id: &p.project_id,
                    change: serde_json::json!({"name": p.name, "task_type": p.task_type}),
                },
            )?;
            Ok(p)
        }
    }
}

/// The subquery of a tenant's model ids, for `model_id.eq_any(models_of(t))` filters.
pub type ModelsOf = diesel::dsl::Select<
    diesel::dsl::Filter<ai_models::table, diesel::dsl::Eq<ai_models::tenant_id, String>>,
    ai_models::model_id,
>;

pub fn models_of(tenant: &str) -> ModelsOf {
    ai_models::table
        .filter(ai_models::tenant_id.eq(tenant.to_owned()))
        .select(ai_models::model_id)
}

/// The tenant a model belongs to (`None`: no such model).
pub fn tenant_of_model(
    conn: &mut AnyConnection,
    model_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(ai_models::table
        .filter(ai_models::model_id.eq(model_id))
        .select(ai_models::tenant_id)
        .first(conn)
        .optional()?)
}
