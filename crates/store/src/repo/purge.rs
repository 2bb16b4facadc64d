//! The purge past the retention periods (`repo::retention`): archived models whose archive is
//! older than the tenant's records retention go with everything of theirs, and compliance-log
//! payloads older than the log retention are marked purged (`log::purge_payloads`: the entries,
//! digests and hashes stay, so the chain still verifies). Active models are never purged,
//! whatever their age: only an archive starts their records' clock.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::records::{log_time, naive};
use crate::schema::{
    active_targets, ai_models, audit_findings, audit_policies, audit_runs, audit_summaries,
    baseline_approvals, dashboard_counts, events, evidence_sources, model_versions,
    profile_snapshots, sample_profiles,
};
use crate::{AnyConnection, RunState, Store, StoreError};

/// The action of the log entry a purge leaves in the tenant's chain (its content's
/// `log_before` is what verification accounts the purged payloads to).
pub use super::log::PURGE_ACTION;

/// What a purge removed from one tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PurgeReport {
    pub tenant_id: String,
    pub models: u64,
    pub model_ids: Vec<String>,
    pub audits: u64,
    pub findings: u64,
    /// Compliance-log entries whose payload was purged.
    pub log_entries: u64,
    /// Archived before this instant: purged.
    pub records_before: DateTime<Utc>,
    /// Log entries before this instant (the log's own `at` format): payload purged.
    pub log_before: String,
}

impl PurgeReport {
    pub fn is_empty(&self) -> bool {
        self.models == 0 && self.log_entries == 0
    }
}

/// Every tenant that may hold something to purge: the tenants and the log's chains.
pub fn tenants(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let mut v: Vec<String> = super::tenants::list(conn, None)?
        .into_iter()
        .map(|t| t.tenant_id)
        .collect();
    v.extend(super::log::chains(conn)?);
    v.sort();
    v.dedup();
    Ok(v)
}

/// The tenant's archived models whose archive is older than `before` and that have no audit
/// running (a run still writing its results must find its model).
fn purgeable_models(
    conn: &mut AnyConnection,
    tenant_id: &str,
    before: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let running = audit_runs::table
        .filter(audit_runs::model_id.eq(ai_models::model_id))
        .filter(audit_runs::run_state.eq(RunState::Running.as_str()));
    Ok(ai_models::table
        .filter(ai_models::tenant_id.eq(tenant_id))
        .filter(ai_models::archived_at.lt(naive(before)))
        .filter(diesel::dsl::not(diesel::dsl::exists(running)))
        .order(ai_models::id.asc())
        .select(ai_models::model_id)
        .load(conn)?)
}

/// Deletes the models and everything that belongs to them; returns (audits, findings) removed.
/// Each table is named rather than left to `ON DELETE CASCADE`, so that nothing depends on a
/// connection's foreign-key setting and the tables without a foreign key (events) go too.
fn remove_models(conn: &mut AnyConnection, ids: &[String]) -> Result<(u64, u64), StoreError> {
    let (mut audits, mut findings) = (0u64, 0u64);
    for chunk in ids.chunks(500) {
        let runs = audit_runs::table
            .filter(audit_runs::model_id.eq_any(chunk))
            .select(audit_runs::audit_id);
        findings +=
            diesel::delete(audit_findings::table.filter(audit_findings::model_id.eq_any(chunk)))
                .execute(conn)? as u64;
        diesel::delete(audit_summaries::table.filter(audit_summaries::audit_id.eq_any(runs)))
            .execute(conn)?;
        diesel::delete(profile_snapshots::table.filter(profile_snapshots::model_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(
            baseline_approvals::table.filter(baseline_approvals::model_id.eq_any(chunk)),
        )
        .execute(conn)?;
        diesel::delete(sample_profiles::table.filter(sample_profiles::model_id.eq_any(chunk)))
            .execute(conn)?;
        audits += diesel::delete(audit_runs::table.filter(audit_runs::model_id.eq_any(chunk)))
            .execute(conn)? as u64;
        diesel::delete(model_versions::table.filter(model_versions::model_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(active_targets::table.filter(active_targets::model_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(audit_policies::table.filter(audit_policies::model_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(evidence_sources::table.filter(evidence_sources::model_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(dashboard_counts::table.filter(dashboard_counts::model_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(events::table.filter(events::model_id.eq_any(chunk))).execute(conn)?;
        diesel::delete(ai_models::table.filter(ai_models::model_id.eq_any(chunk))).execute(conn)?;
    }
    Ok((audits, findings))
}

/// Purges one tenant as of `now` (call inside one write transaction: the removal, the payload
/// purge and the log entry that accounts for them commit together). The entry is appended only
/// when something was purged, after the payload purge, so it never purges itself.
pub fn purge_tenant(
    conn: &mut AnyConnection,
    tenant_id: &str,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<PurgeReport, StoreError> {
    let r = super::retention::get(conn, tenant_id)?;
    let records_before = now - Duration::days(r.records_days);
    let log_before = log_time(now - Duration::days(r.log_days));
    let model_ids = purgeable_models(conn, tenant_id, records_before)?;
    let (audits, findings) = remove_models(conn, &model_ids)?;
    let log_entries = super::log::purge_payloads(conn, tenant_id, &log_before)?;
    let report = PurgeReport {
        tenant_id: tenant_id.to_owned(),
        models: model_ids.len() as u64,
        model_ids,
        audits,
        findings,
        log_entries,
        records_before,
        log_before,
    };
    if !report.is_empty() {
        super::log::append(
            conn,
            &super::log::Change {
                tenant_id,
                actor,
                action: PURGE_ACTION,
                object_type: "tenant",
                object_id: tenant_id,
                change: serde_json::json!({
                    "models": report.models,
                    "model_ids": report.model_ids,
                    "audits": report.audits,
                    "findings": report.findings,
                    "log_entries": report.log_entries,
                    "log_before": report.log_before,
                    "records_before": log_time(report.records_before),
                }),
            },
        )?;
    }
    Ok(report)
}

/// Purges every tenant, one transaction each, and returns what each lost. With `dry_run` the
/// same work runs in transactions that are rolled back: the counts are exact and nothing
/// changes.
pub fn purge_all(
    store: &Store,
    now: DateTime<Utc>,
    actor: &str,
    dry_run: bool,
) -> Result<Vec<PurgeReport>, StoreError> {
    let tenants = store.read(tenants)?;
    let mut out = Vec::with_capacity(tenants.len());
    for t in tenants {
        let work = |c: &mut AnyConnection| purge_tenant(c, &t, now, actor);
        out.push(if dry_run {
            store.rehearse(work)?
        } else {
            store.write(work)?
        });
    }
    Ok(out)
}
