//! `audit_policies`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::records::{json, naive, parse, utc};
use crate::schema::audit_policies;
use crate::{
    AnyConnection, AuditScope, NewPolicy, Page, Paging, Policy, PolicyChanges, StoreError,
    is_unique_violation,
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_policies)]
struct PolicyRow {
    id: i64,
    model_id: String,
    audit_frequency: String,
    baseline_strategy: String,
    audit_scope: String,
    policy_reference: Option<String>,
    active_audit_enabled: bool,
    thresholds: Option<String>,
    enabled: bool,
    next_run_at: Option<chrono::NaiveDateTime>,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl TryFrom<PolicyRow> for Policy {
    type Error = StoreError;
    fn try_from(r: PolicyRow) -> Result<Policy, StoreError> {
        let scope: AuditScope = serde_json::from_str(&r.audit_scope)
            .map_err(|e| StoreError::Corrupt(format!("audit_scope: {e}")))?;
        Ok(Policy {
            id: r.id,
            audit_frequency: parse(&r.audit_frequency, "audit_frequency")?,
            baseline_strategy: parse(&r.baseline_strategy, "baseline_strategy")?,
            audit_scope: scope,
            policy_reference: r
                .policy_reference
                .as_deref()
                .map(|s| json(s, "policy_reference"))
                .transpose()?,
            thresholds: r
                .thresholds
                .as_deref()
                .map(|s| json(s, "thresholds"))
                .transpose()?,
            model_id: r.model_id,
            active_audit_enabled: r.active_audit_enabled,
            enabled: r.enabled,
            next_run_at: r.next_run_at.map(utc),
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        })
    }
}

fn scope_json(s: &AuditScope) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "{}".into())
}

/// Creates a model's policy, due at once (its first run creates the baseline). One policy per
/// model: a second one is a `Conflict`; an unknown model is `NotFound`.
pub fn insert(conn: &mut AnyConnection, p: &NewPolicy) -> Result<Policy, StoreError> {
    if super::models::get(conn, &p.model_id)?.is_none() {
        return Err(StoreError::NotFound(format!(
            "model '{}' not found",
            p.model_id
        )));
    }
    let now = crate::now();
    let inserted = diesel::insert_into(audit_policies::table)
        .values((
            audit_policies::model_id.eq(&p.model_id),
            audit_policies::audit_frequency.eq(p.audit_frequency.as_str()),
            audit_policies::baseline_strategy.eq(p.baseline_strategy.as_str()),
            audit_policies::audit_scope.eq(scope_json(&p.audit_scope)),
            audit_policies::policy_reference.eq(p.policy_reference.as_ref().map(|v| v.to_string())),
            audit_policies::active_audit_enabled.eq(p.active_audit_enabled),
            audit_policies::thresholds.eq(p.thresholds.as_ref().map(|v| v.to_string())),
            audit_policies::enabled.eq(p.enabled),
            audit_policies::next_run_at.eq(p.enabled.then(|| naive(now))),
            audit_policies::created_at.eq(naive(now)),
            audit_policies::updated_at.eq(naive(now)),
        ))
        .execute(conn);
    match inserted {
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Conflict(format!(
                "model '{}' already has an audit policy; update it with PUT /audit-policies/{{id}}",
                p.model_id
            )));
        }
        other => other?,
    };
    of_model(conn, &p.model_id)?
        .ok_or_else(|| StoreError::NotFound(format!("policy of '{}' vanished", p.model_id)))
}

pub fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<Policy>, StoreError> {
    audit_policies::table
        .find(id)
        .select(PolicyRow::as_select())
        .first(conn)
        .optional()?
        .map(Policy::try_from)
        .transpose()
}

pub fn of_model(conn: &mut AnyConnection, model_id: &str) -> Result<Option<Policy>, StoreError> {
    audit_policies::table
        .filter(audit_policies::model_id.eq(model_id))
        .select(PolicyRow::as_select())
        .first(conn)
        .optional()?
        .map(Policy::try_from)
        .transpose()
}

/// Policies, optionally of one model and of one tenant's models.
pub fn list(
    conn: &mut AnyConnection,
    model_id: Option<&str>,
    tenant_id: Option<&str>,
    paging: Paging,
) -> Result<Page<Policy>, StoreError> {
    let (skip, limit) = super::clamp(paging);
    macro_rules! filtered {
        () => {{
            let mut q = audit_policies::table.into_boxed();
            if let Some(t) = tenant_id {
                q = q.filter(audit_policies::model_id.eq_any(super::tenants::models_of(t)));
            }
            if let Some(m) = model_id {
                q = q.filter(audit_policies::model_id.eq(m));
            }
            q
        }};
    }
    let total: i64 = filtered!().count().get_result(conn)?;
    let items = filtered!()
        .order(audit_policies::id.asc())
        .offset(skip)
        .limit(limit)
        .select(PolicyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Policy::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Page { total, items })
}

pub fn update(conn: &mut AnyConnection, id: i64, c: &PolicyChanges) -> Result<Policy, StoreError> {
    let cur = get(conn, id)?
        .ok_or_else(|| StoreError::NotFound(format!("audit policy {id} not found")))?;
    let now = crate::now();
    let enabled = c.enabled.unwrap_or(cur.enabled);
    // Re-enabling makes the policy due at once; disabling takes it off the schedule.
    let next = match (cur.enabled, enabled) {
        (_, false) => None,
        (false, true) => Some(now),
        (true, true) => cur.next_run_at.or(Some(now)),
    };
    let reference = c.policy_reference.clone().unwrap_or(cur.policy_reference);
    let thresholds = c.thresholds.clone().unwrap_or(cur.thresholds);
    diesel::update(audit_policies::table.find(id))
        .set((
            audit_policies::audit_frequency
                .eq(c.audit_frequency.unwrap_or(cur.audit_frequency).as_str()),
            audit_policies::baseline_strategy.eq(c
                .baseline_strategy
                .unwrap_or(cur.baseline_strategy)
                .as_str()),
            audit_policies::audit_scope.eq(scope_json(&c.audit_scope.unwrap_or(cur.audit_scope))),
            audit_policies::policy_reference.eq(reference.map(|v| v.to_string())),
            audit_policies::active_audit_enabled
                .eq(c.active_audit_enabled.unwrap_or(cur.active_audit_enabled)),
            audit_policies::thresholds.eq(thresholds.map(|v| v.to_string())),
            audit_policies::enabled.eq(enabled),
            audit_policies::next_run_at.eq(next.map(naive)),
            audit_policies::updated_at.eq(naive(now)),
        ))
        .execute(conn)?;
    get(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("audit policy {id} not found")))
}

pub fn delete(conn: &mut AnyConnection, id: i64) -> Result<bool, StoreError> {
    Ok(diesel::delete(audit_policies::table.find(id)).execute(conn)? > 0)
}

/// Enabled policies of active models whose next run is due at `now`, oldest first. An
/// archived model's policy is kept as it was (a restore brings it back) but never due.
pub fn due(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Policy>, StoreError> {
    use crate::schema::ai_models;
    let active = ai_models::table
        .filter(ai_models::archived_at.is_null())
        .select(ai_models::model_id);
    audit_policies::table
        .filter(audit_policies::enabled.eq(true))
        .filter(audit_policies::next_run_at.le(naive(now)))
        .filter(audit_policies::model_id.eq_any(active))
        .order(audit_policies::next_run_at.asc())
        .limit(limit)
        .select(PolicyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Policy::try_from)
        .collect()
}

/// Moves a policy's next run, but only if nobody moved it since `expected` was read: the
/// compare-and-set that keeps two schedulers from running one slot twice.
pub fn advance(
    conn: &mut AnyConnection,
    id: i64,
    expected: DateTime<Utc>,
    next: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        audit_policies::table
            .find(id)
            .filter(audit_policies::next_run_at.eq(naive(expected))),
    )
    .set(audit_policies::next_run_at.eq(naive(next)))
    .execute(conn)?;
    Ok(n == 1)
}
