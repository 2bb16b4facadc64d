//! `GET /audits/{audit_id}/report.html` (and the frontend's `/api/v1/audit/{id}/report/html`):
//! the audit report page. This module reads the database into `audit_report`'s plain data; the
//! page itself is rendered there.

use actix_web::{HttpResponse, get, http::header, web};
use audit_domain::{AuditType, Profile, Thresholds};
use audit_report::{
    Active, Attribute, Content, Distribution, FindingRow, GroupCount, HistoryPoint, MetricRow,
    Passive, Report, RuleRow, Scores, ThresholdRow,
};
use audit_store::repo::{audits, findings, models, policies};
use audit_store::{AnyConnection, AuditFilter, AuditRun, Paging, RunState, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::{read, visible_audit};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// The page may load nothing: inline styles and SVG only (and `data:` images, unused today).
pub const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Points of the score-history chart.
const HISTORY_POINTS: i64 = 50;

/// The audit report as a self-contained HTML page: summary, findings, SVG charts.
#[utoipa::path(
    tag = "audits",
    params(("audit_id" = String, Path, description = "The audit's identifier")),
    responses(
        (status = 200, description = "A self-contained HTML page (inline CSS and SVG, no script)", content_type = "text/html", body = String),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "Still running: the report exists once the audit has finished", body = crate::ErrorBody)
    )
)]
#[get("/audits/{audit_id}/report.html")]
pub async fn audit_report_html(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    page(state, caller, path.into_inner()).await
}

/// The same report at the path of the existing frontend.
#[utoipa::path(
    tag = "audits",
    params(("audit_id" = String, Path, description = "The audit's identifier")),
    responses(
        (status = 200, description = "A self-contained HTML page (inline CSS and SVG, no script)", content_type = "text/html", body = String),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "Still running: the report exists once the audit has finished", body = crate::ErrorBody)
    )
)]
#[get("/api/v1/audit/{audit_id}/report/html")]
pub async fn audit_report_html_v1(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    page(state, caller, path.into_inner()).await
}

/// The audit report as a PDF (the same content; the two main charts drawn).
#[utoipa::path(
    tag = "audits",
    params(("audit_id" = String, Path, description = "The audit's identifier")),
    responses(
        (status = 200, description = "A PDF document", content_type = "application/pdf", body = Vec<u8>),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "Still running: the report exists once the audit has finished", body = crate::ErrorBody)
    )
)]
#[get("/audits/{audit_id}/report.pdf")]
pub async fn audit_report_pdf(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    pdf(state, caller, path.into_inner()).await
}

/// The PDF at the path of the existing frontend ("Download PDF").
#[utoipa::path(
    tag = "audits",
    params(("audit_id" = String, Path, description = "The audit's identifier")),
    responses(
        (status = 200, description = "A PDF document", content_type = "application/pdf", body = Vec<u8>),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "Still running: the report exists once the audit has finished", body = crate::ErrorBody)
    )
)]
#[get("/api/v1/audit/{audit_id}/report/pdf")]
pub async fn audit_report_pdf_v1(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    pdf(state, caller, path.into_inner()).await
}

/// The report of audit `id` as the PDF download, for `caller` (the API's and the console's).
pub async fn pdf(
    state: web::Data<AppState>,
    caller: Caller,
    id: String,
) -> Result<HttpResponse, ApiError> {
    let file = format!("audit-{id}.pdf");
    let report = read(&state, move |c| load(c, &caller, &id)).await?;
    // Laying out pages is CPU work: off the async workers.
    let bytes = web::block(move || audit_report::render_pdf(&report))
        .await?
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .body(bytes))
}

/// The report of audit `id` as its HTML page, for `caller` (the API's and the console's).
pub async fn page(
    state: web::Data<AppState>,
    caller: Caller,
    id: String,
) -> Result<HttpResponse, ApiError> {
    let report = report_of(&state, caller, id).await?;
    let body = audit_report::render(&report);
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, REPORT_CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body))
}

/// An audit's report as the caller may see it (the console renders it in its own page).
pub async fn report_of(
    state: &web::Data<AppState>,
    caller: Caller,
    id: String,
) -> Result<Report, ApiError> {
    read(state, move |c| load(c, &caller, &id)).await
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn load(c: &mut AnyConnection, caller: &Caller, id: &str) -> Result<Report, StoreError> {
    let run = visible_audit(c, caller, id)?;
    if run.run_state == RunState::Running {
        return Err(StoreError::Conflict(format!(
            "audit '{id}' is still running; its report is available once it has finished"
        )));
    }
    let model = models::get(c, &run.model_id)?;
    let summary = audits::summary(c, id)?;
    let thresholds = thresholds_of(c, &run.model_id)?;
    let content = match run.audit_type {
        AuditType::Active => Content::Active(active_of(run.evidence.as_ref())),
        AuditType::Passive => {
            let current = stored_profile(c, id)?;
            let baseline = match &run.baseline_audit_id {
                Some(b) => stored_profile(c, b)?,
                None => None,
            };
            let mut passive = passive_of(
                current.as_ref(),
                baseline.as_ref(),
                thresholds.min_group_size,
            );
            passive.features = features_of(summary.as_ref().map(|s| &s.metrics));
            Content::Passive(Box::new(passive))
        }
    };
    let history = history_of(c, &run)?;
    let findings = findings::of_audit(c, id)?
        .into_iter()
        .map(|f| FindingRow {
            severity: f.finding.severity.as_str().to_owned(),
            category: f.finding.category.as_str().to_owned(),
            rule_id: f.finding.rule_id,
            metric: f.finding.metric_name,
            baseline: f.finding.baseline_value,
            current: f.finding.current_value,
            deviation_percentage: f.finding.deviation_percentage,
            description: f.finding.description,
        })
        .collect();
    Ok(Report {
        model_id: run.model_id.clone(),
        model_name: model.as_ref().map(|m| m.name.clone()),
        model_version: run.model_version.clone(),
        audit_id: run.audit_id.clone(),
        audit_type: run.audit_type.as_str().to_owned(),
        scheduled_at: time(run.scheduled_at),
        executed_at: run.executed_at.map(time),
        execution_status: run.execution_status.map(|s| s.as_str().to_owned()),
        execution_reason: run.execution_reason.clone(),
        audit_result: run.audit_result.map(|r| r.as_str().to_owned()),
        window_start: run.window_start.map(time),
        window_end: time(run.window_end),
        baseline_audit_id: run.baseline_audit_id.clone(),
        generated_at: time(Utc::now()),
        scores: summary.map(|s| Scores {
            drift: s.drift_score,
            bias: s.bias_score,
            risk: s.risk_score,
        }),
        findings,
        content,
        history,
        thresholds: match run.audit_type {
            AuditType::Passive => threshold_rows(&thresholds),
            // Active rules carry their own allowed failure rate (each finding's baseline).
            AuditType::Active => Vec::new(),
        },
    })
}

/// A stored profile. One that no longer parses (a future schema) is shown as missing rather
/// than failing the whole page; the log says why.
fn stored_profile(c: &mut AnyConnection, audit_id: &str) -> Result<Option<Profile>, StoreError> {
    let Some(json) = audits::profile_of(c, audit_id)? else {
        return Ok(None);
    };
    match serde_json::from_str::<Profile>(&json) {
        Ok(p) => Ok(Some(p)),
        Err(e) => {
            tracing::warn!(audit_id, error = %e, "stored profile unreadable; report shows it as missing");
            Ok(None)
        }
    }
}

/// The model's policy thresholds now (the defaults without a policy or without thresholds).
fn thresholds_of(c: &mut AnyConnection, model_id: &str) -> Result<Thresholds, StoreError> {
    Ok(policies::of_model(c, model_id)?
        .and_then(|p| p.thresholds)
        .and_then(|v| serde_json::from_value::<Thresholds>(v).ok())
        .unwrap_or_default())
}

fn distribution(p: &Profile) -> Distribution {
    Distribution {
        n: p.n,
        labels: p.labels.iter().map(|(l, c)| (l.clone(), *c)).collect(),
        confidence_histogram: p.confidence_histogram,
    }
}

fn passive_of(
    current: Option<&Profile>,
    baseline: Option<&Profile>,
    min_group_size: u64,
) -> Passive {
    let attributes = current
        .map(|p| {
            p.groups
                .iter()
                .map(|(name, groups)| Attribute {
                    name: name.clone(),
                    groups: groups
                        .iter()
                        .map(|(g, s)| GroupCount {
                            name: g.clone(),
                            count: s.count,
                            positives: s.positives,
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    let (cm, bm) = (
        current.map(Profile::metrics),
        baseline.map(Profile::metrics),
    );
    let row = |name: &str, f: fn(&audit_domain::ProfileMetrics) -> Option<f64>| MetricRow {
        name: name.to_owned(),
        whole: false,
        baseline: bm.as_ref().and_then(f),
        current: cm.as_ref().and_then(f),
    };
    let mut metrics = vec![
        MetricRow {
            whole: true,
            ..row("rows (valid)", |m| Some(m.n as f64))
        },
        row("average confidence", |m| m.avg_confidence),
        row("confidence variance", |m| m.confidence_variance),
        row("positive outcome rate", |m| m.outcome_rate),
        row("accuracy (with ground truth)", |m| m.accuracy),
        row("precision (positive class)", |m| {
            m.performance.as_ref().and_then(|p| p.precision)
        }),
        row("recall (positive class)", |m| {
            m.performance.as_ref().and_then(|p| p.recall)
        }),
        row("F1 (positive class)", |m| {
            m.performance.as_ref().and_then(|p| p.f1)
        }),
        row("macro F1 (both classes)", |m| {
            m.performance.as_ref().and_then(|p| p.macro_f1)
        }),
        row("expected calibration error", |m| {
            m.performance.as_ref().and_then(|p| p.ece)
        }),
        row("invalid row ratio", |m| Some(m.invalid_row_ratio)),
        row("refusal rate (LLM logs)", |m| m.refusal_rate),
    ];
    if let Some(row) = estimated_row(current, baseline) {
        metrics.push(row);
    }
    metrics.retain(|m| m.current.is_some() || m.baseline.is_some());
    if current.is_none() {
        metrics.clear();
    }
    Passive {
        current: current.map(distribution),
        baseline: baseline.map(distribution),
        attributes,
        min_group_size,
        metrics,
        features: Vec::new(),
    }
}

/// The features of the run's comparison (`statistics.features` of its summary), most drifted
/// first.
fn features_of(metrics: Option<&Value>) -> Vec<audit_report::FeatureRow> {
    let Some(Value::Object(all)) = metrics.and_then(|m| m.pointer("/statistics/features")) else {
        return Vec::new();
    };
    let f64_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64);
    let mut rows: Vec<audit_report::FeatureRow> = all
        .iter()
        .map(|(name, f)| audit_report::FeatureRow {
            name: name.clone(),
            kind: f
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            psi: f64_of(f, "psi").unwrap_or(0.0),
            js: f64_of(f, "js").unwrap_or(0.0),
            ks: f64_of(f, "ks"),
            wasserstein_norm: f64_of(f, "wasserstein_norm"),
            p_value: f64_of(f, "chi2_p"),
            largest_shift: f
                .get("largest_shift")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        })
        .collect();
    rows.sort_by(|a, b| b.psi.total_cmp(&a.psi));
    rows
}

/// The accuracy estimated for a window without ground truth from the baseline's accuracy per
/// confidence bin, beside the baseline's accuracy (docs/metrics.md, "Performance").
fn estimated_row(current: Option<&Profile>, baseline: Option<&Profile>) -> Option<MetricRow> {
    let (c, b) = (current?, baseline?);
    if c.confusion.total() > 0 {
        return None;
    }
    let e = audit_core::estimate_accuracy(&b.reliability, &c.confidence_histogram, &c.reliability)?;
    Some(MetricRow {
        name: "estimated accuracy (no ground truth)".into(),
        whole: false,
        baseline: Some(e.baseline_accuracy),
        current: Some(e.accuracy),
    })
}

fn active_of(evidence: Option<&Value>) -> Active {
    let u = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64);
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let Some(e) = evidence else {
        return Active::default();
    };
    Active {
        rules: e
            .get("rules")
            .and_then(Value::as_array)
            .map(|rules| {
                rules
                    .iter()
                    .map(|r| RuleRow {
                        rule_id: s(r, "rule_id"),
                        category: s(r, "category"),
                        severity: s(r, "severity"),
                        attempts: u(r, "attempts").unwrap_or(0),
                        failures: u(r, "failures").unwrap_or(0),
                        errors: u(r, "errors").unwrap_or(0),
                        passed: r.get("passed").and_then(Value::as_bool),
                        summary: s(r, "summary"),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        calls: u(e, "calls"),
        tokens: u(e, "tokens"),
        stopped: e.get("stopped").and_then(Value::as_str).map(str::to_owned),
    }
}

/// The model's finished audits of the same type (active risk is another measure than passive
/// risk, so the two are not drawn on one line), oldest first.
fn history_of(c: &mut AnyConnection, run: &AuditRun) -> Result<Vec<HistoryPoint>, StoreError> {
    let f = AuditFilter {
        model_id: Some(run.model_id.clone()),
        audit_type: Some(run.audit_type),
        ..AuditFilter::default()
    };
    let page = audits::list(
        c,
        &f,
        Paging {
            skip: 0,
            limit: HISTORY_POINTS,
        },
    )?;
    let mut points: Vec<HistoryPoint> = page
        .items
        .into_iter()
        .filter_map(|(r, s)| {
            s.map(|s| HistoryPoint {
                label: r
                    .executed_at
                    .map(|t| t.format("%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
                audit_id: r.audit_id,
                drift: s.drift_score,
                bias: s.bias_score,
                risk: s.risk_score,
            })
        })
        .collect();
    points.reverse();
    Ok(points)
}

fn threshold_rows(t: &Thresholds) -> Vec<ThresholdRow> {
    let bands = |b: &audit_domain::Bands| {
        format!(
            "MEDIUM ≥ {:.2}, HIGH ≥ {:.2}, CRITICAL ≥ {:.2}",
            b.medium, b.high, b.critical
        )
    };
    let row = |name: &str, value: String, meaning: &str| ThresholdRow {
        name: name.to_owned(),
        value,
        meaning: meaning.to_owned(),
    };
    vec![
        row(
            "psi",
            bands(&t.psi),
            "population stability index of the label and confidence distributions",
        ),
        row(
            "js",
            bands(&t.js),
            "Jensen–Shannon distance of the same distributions (0 identical, 1 disjoint)",
        ),
        row(
            "dir",
            format!("HIGH < {:.2}, CRITICAL < {:.2}", t.dir.high, t.dir.critical),
            "disparate-impact ratio: lowest ÷ highest group selection rate (0.80 is the four-fifths rule)",
        ),
        row(
            "dpd_increase",
            bands(&t.dpd_increase),
            "rise of the selection-rate gap between groups over the baseline",
        ),
        row(
            "avg_confidence_change",
            bands(&t.avg_confidence_change),
            "change of the mean confidence",
        ),
        row(
            "outcome_rate_change",
            bands(&t.outcome_rate_change),
            "change of the positive outcome rate",
        ),
        row(
            "eod_increase",
            bands(&t.eod_increase),
            "growth of the true-positive-rate gap between groups",
        ),
        row(
            "accuracy_drop",
            bands(&t.accuracy_drop),
            "fall of the accuracy below the baseline's, with ground truth",
        ),
        row(
            "estimated_accuracy_drop",
            bands(&t.estimated_accuracy_drop),
            "fall of the accuracy estimated without ground truth below the baseline's",
        ),
        row(
            "min_samples",
            t.min_samples.to_string(),
            "with fewer rows in the window, findings are at most LOW",
        ),
        row(
            "min_group_size",
            t.min_group_size.to_string(),
            "smaller groups are shown but not scored",
        ),
        row(
            "alpha",
            format!("{}", t.alpha),
            "family-wise significance level: a finding above LOW needs its test to reject after Holm's correction over all the audit's tests",
        ),
        row(
            "persistence_windows",
            t.persistence_windows.to_string(),
            "consecutive windows a rule must be above LOW before it is reported above LOW",
        ),
        row(
            "max_invalid_ratio",
            format!("{}", t.max_invalid_ratio),
            "above this share of invalid rows the execution is FAILED",
        ),
    ]
}
