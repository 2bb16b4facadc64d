//! `auditor bench-db`: fills a database with a large synthetic history (models, finished audits
//! with summaries, findings) to measure the API at scale. Deterministic for a given seed.

use crate::synth::Rng;
use anyhow::Context;
use audit_store::repo::execute_raw;
use audit_store::{Store, StoreOptions, redact_url};
use chrono::{Duration, Utc};
use clap::Args;
use std::io::Write as _;

#[derive(Debug, Args)]
pub struct BenchDbArgs {
    /// Target database (a SQLite file path or postgres:// URL); created if missing.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    #[arg(long, default_value_t = 1000)]
    pub models: u64,
    #[arg(long, default_value_t = 100_000)]
    pub audits: u64,
    #[arg(long, default_value_t = 1_000_000)]
    pub findings: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

const ROWS_PER_STATEMENT: usize = 500;

fn esc(s: &str) -> String {
    s.replace('\'', "''")
}

/// Executes `INSERT INTO table (cols) VALUES …` in statements of a few hundred rows, all in one
/// transaction per call.
fn insert_all(store: &Store, head: &str, rows: &[String]) -> anyhow::Result<()> {
    store.write(|c| {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut sql = String::with_capacity(chunk.len() * 200 + head.len());
            sql.push_str(head);
            sql.push_str(" VALUES ");
            sql.push_str(&chunk.join(","));
            execute_raw(c, &sql)?;
        }
        Ok(())
    })?;
    Ok(())
}

pub fn run(a: &BenchDbArgs) -> anyhow::Result<()> {
    let store = Store::open(&a.database_url, &StoreOptions::default())
        .with_context(|| format!("cannot open '{}'", redact_url(&a.database_url)))?;
    let mut rng = Rng::new(a.seed);
    let t0 = Utc::now() - Duration::days(365);
    let ts = |d: chrono::DateTime<Utc>| d.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
    let started = std::time::Instant::now();

    let models: Vec<String> = (0..a.models)
        .map(|i| format!("bench-model-{i:05}"))
        .collect();
    let rows: Vec<String> = models
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let kind = if i % 4 == 0 { "llm" } else { "ml" };
            let conn = ["logs", "batch", "container", "sample", "api"][i % 5];
            format!(
                "('{id}','Benchmark model {i}','1.{}.0','{kind}','{conn}','{t}','synthetic','bench','{t}')",
                i % 7,
                t = ts(t0)
            )
        })
        .collect();
    insert_all(
        &store,
        "INSERT INTO ai_models (model_id, name, version, model_type, connection_type, created_at, description, owner, updated_at)",
        &rows,
    )?;
    let rows: Vec<String> = models
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let f = ["daily", "weekly", "monthly"][i % 3];
            format!(
                "('{id}','{f}','previous_audit','{{\"drift\":true,\"bias\":true,\"risk\":true,\"compliance\":true,\"active_security\":false}}',false,true,NULL,'{t}','{t}')",
                t = ts(t0)
            )
        })
        .collect();
    insert_all(
        &store,
        "INSERT INTO audit_policies (model_id, audit_frequency, baseline_strategy, audit_scope, active_audit_enabled, enabled, next_run_at, created_at, updated_at)",
        &rows,
    )?;

    let per_audit = a.findings as f64 / a.audits.max(1) as f64;
    let mut made_findings = 0u64;
    let batch = 10_000u64;
    let mut i = 0u64;
    while i < a.audits {
        let end = (i + batch).min(a.audits);
        let mut runs = Vec::new();
        let mut sums = Vec::new();
        let mut finds = Vec::new();
        for k in i..end {
            let model = &models[(k % a.models.max(1)) as usize];
            let audit_id = format!("aud_bench{k:09}");
            let at = t0 + Duration::seconds((k * 315) as i64);
            // Findings vary per audit (none for most passes, many for failures) while the
            // running total tracks the target, so the last audit lands on it exactly.
            let owed =
                (((k + 1) as f64 * per_audit).round() as u64).min(a.findings) - made_findings;
            let want = match rng.unit() {
                _ if k + 1 == a.audits => owed,
                u if u < 0.4 => 0,
                u if u < 0.8 => owed.min((per_audit * 0.8) as u64),
                _ => owed,
            };
            made_findings += want;
            let first = k < a.models;
            let (status, result) = if first {
                ("SUCCESS", "BASELINE_CREATED")
            } else {
                match (want, rng.unit()) {
                    (_, u) if u < 0.03 => ("FAILED", ""),
                    (0, _) => ("SUCCESS", "AUDIT_PASS"),
                    (n, u) if n > 12 || u < 0.1 => ("SUCCESS", "AUDIT_FAIL"),
                    (_, u) if u < 0.2 => ("PARTIAL", "AUDIT_WARN"),
                    _ => ("SUCCESS", "AUDIT_WARN"),
                }
            };
            let result_sql = if result.is_empty() {
                "NULL".to_string()
            } else {
                format!("'{result}'")
            };
            runs.push(format!(
                "('{audit_id}','{model}','passive','{t}','{t}','{status}',{result_sql},'finished','schedule','1.0.0',NULL,'{t}',NULL,NULL,NULL)",
                t = ts(at)
            ));
            if status == "FAILED" {
                made_findings -= want;
                continue;
            }
            let mut crit = 0;
            let mut high = 0;
            for j in 0..want {
                let sev = match rng.unit() {
                    u if u < 0.1 => "CRITICAL",
                    u if u < 0.35 => "HIGH",
                    u if u < 0.75 => "MEDIUM",
                    _ => "LOW",
                };
                crit += i32::from(sev == "CRITICAL");
                high += i32::from(sev == "HIGH");
                let cat = ["drift", "bias", "risk", "compliance"][(j % 4) as usize];
                let b = rng.unit();
                let c = b * (0.5 + rng.unit());
                finds.push(format!(
                    "('{audit_id}','{cat}','{cat}.bench','{sev}','{cat}.metric_{j}',{b},{c},{d},'{desc}','{model}','{t}')",
                    d = if b > 0.0 { (c - b) / b * 100.0 } else { 0.0 },
                    desc = esc(&format!("Synthetic {cat} finding {j} of {audit_id}")),
                    t = ts(at)
                ));
            }
            sums.push(format!(
                "('{audit_id}',{},{},{},{want},{crit},{high},'{{}}')",
                rng.unit() * 0.5,
                rng.unit() * 0.5,
                rng.unit() * 100.0
            ));
        }
        insert_all(
            &store,
            "INSERT INTO audit_runs (audit_id, model_id, audit_type, scheduled_at, executed_at, execution_status, audit_result, run_state, trigger_kind, model_version, window_start, window_end, execution_reason, evidence, baseline_audit_id)",
            &runs,
        )?;
        insert_all(
            &store,
            "INSERT INTO audit_summaries (audit_id, drift_score, bias_score, risk_score, total_findings, critical_findings, high_findings, metrics)",
            &sums,
        )?;
        insert_all(
            &store,
            "INSERT INTO audit_findings (audit_id, category, rule_id, severity, metric_name, baseline_value, current_value, deviation_percentage, description, model_id, created_at)",
            &finds,
        )?;
        i = end;
        tracing::info!(audits = end, findings = made_findings, "bench-db progress");
    }
    // Fresh statistics so the planners pick the list indexes.
    store.write(|c| {
        audit_store::repo::dashboard::rebuild_counts(c)?;
        execute_raw(c, "ANALYZE")?;
        Ok(())
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "bench-db: {} models, {} audits, {} findings in {:.1} s",
        a.models,
        a.audits,
        made_findings,
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}
