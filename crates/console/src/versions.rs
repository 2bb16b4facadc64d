//! A model's versions (artifact location, evaluation metrics), the forms that add a version or
//! record metrics, and the sample upload; each form's errors are shown beside its fields on the
//! model's page.

use actix_multipart::form::{MultipartForm, bytes::Bytes as FileBytes, text::Text};
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use audit_evidence::Format;
use audit_http::api::governance::{NewVersionInput, add_version, record_metrics};
use audit_http::api::models::take_sample;
use audit_http::{ApiError, AppState};
use audit_store::repo::versions::ModelVersion;
use maud::{Markup, html};
use serde::Deserialize;

use crate::models::{Notes, render};
use crate::pages::time;
use crate::see_other;
use crate::session::Session;

/// Parses `name = value` lines (or `name: value`) into named finite numbers.
fn metrics_of(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut m = serde_json::Map::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once(['=', ':']) else {
            return Err(format!("line {}: write name = value", i + 1));
        };
        let v: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("line {}: '{}' is not a number", i + 1, v.trim()))?;
        m.insert(k.trim().to_owned(), serde_json::json!(v));
    }
    Ok(m)
}

fn metrics_text(m: &serde_json::Map<String, serde_json::Value>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An error paragraph for `field`, if the notes hold one.
fn error(notes: &Notes, field: &str) -> Markup {
    html! { @if let Some(e) = notes.errors.get(field) { p class="error" id={ (field) "-error" } { (e) } } }
}

fn invalid(notes: &Notes, field: &str) -> Option<&'static str> {
    notes.errors.contains_key(field).then_some("true")
}

fn described(notes: &Notes, field: &str) -> Option<String> {
    notes
        .errors
        .contains_key(field)
        .then(|| format!("{field}-error"))
}

pub(crate) fn section(
    s: &Session,
    model_id: &str,
    versions: &[ModelVersion],
    act: bool,
    notes: &Notes,
) -> Markup {
    html! {
        h2 id="versions" { "Versions" }
        @if versions.is_empty() {
            p class="empty" { "No version recorded yet." @if act { " Add the one in use below." } }
        } @else {
            div class="scroll" tabindex="0" role="region" aria-label="Versions" {
                table {
                    thead { tr {
                        th scope="col" { "Version" } th scope="col" { "Artifact" }
                        th scope="col" { "Evaluation metrics" } th scope="col" { "Added" }
                    } }
                    tbody {
                        @for v in versions.iter().rev() {
                            tr {
                                th scope="row" { (v.version_tag) @if v.current { " " span class="tag ok" { "current" } } }
                                td { (v.artifact_location.as_deref().unwrap_or("–")) }
                                td {
                                    @if v.metrics.is_empty() { "–" }
                                    @for (k, val) in &v.metrics { span class="metric-chip" { (k) " " strong { (val) } } " " }
                                }
                                td { (time(v.created_at)) " by " (v.created_by) }
                            }
                        }
                    }
                }
            }
        }
        @if act {
            div class="pair" {
                form class="card" method="post" action={ "/console/models/" (model_id) "/versions" } aria-labelledby="add-version" {
                    h3 id="add-version" { "Add a version" }
                    input type="hidden" name="csrf" value=(s.csrf());
                    label for="version_tag" { "Version" }
                    (error(notes, "version_tag"))
                    input id="version_tag" name="version_tag" type="text" required
                        aria-invalid=[invalid(notes, "version_tag")] aria-describedby=[described(notes, "version_tag")];
                    label for="artifact_location" { "Artifact location" }
                    input id="artifact_location" name="artifact_location" type="text" aria-describedby="artifact-hint";
                    p class="hint" id="artifact-hint" { "A registry URI or path; the auditor never reads it." }
                    label for="new_metrics" { "Evaluation metrics" }
                    (error(notes, "new_metrics"))
                    textarea id="new_metrics" name="metrics" rows="3" aria-describedby="new-metrics-hint"
                        aria-invalid=[invalid(notes, "new_metrics")] {}
                    p class="hint" id="new-metrics-hint" { "One per line: accuracy = 0.91" }
                    label class="check" { input type="checkbox" name="make_current" checked; " Make it the current version" }
                    button type="submit" { "Add version" }
                }
                @if let Some(last) = versions.last() {
                    form class="card" method="post" action={ "/console/models/" (model_id) "/metrics" } aria-labelledby="record-metrics" {
                        h3 id="record-metrics" { "Record evaluation metrics" }
                        input type="hidden" name="csrf" value=(s.csrf());
                        label for="metrics_version" { "Version" }
                        select id="metrics_version" name="version_tag" {
                            @for v in versions.iter().rev() { option value=(v.version_tag) selected[v.version_tag == last.version_tag] { (v.version_tag) } }
                        }
                        label for="metrics" { "Metrics" }
                        (error(notes, "metrics"))
                        textarea id="metrics" name="metrics" rows="4" aria-describedby="metrics-hint"
                            aria-invalid=[invalid(notes, "metrics")] { (metrics_text(&last.metrics)) }
                        p class="hint" id="metrics-hint" { "One per line; a name given again replaces its value." }
                        button type="submit" { "Save metrics" }
                    }
                }
            }
        }
    }
}

/// The sample upload form (for a model with a `sample` evidence source) and the last receipt.
pub(crate) fn sample_form(s: &Session, model_id: &str, notes: &Notes) -> Markup {
    html! {
        form class="card" method="post" enctype="multipart/form-data"
            action={ "/console/models/" (model_id) "/samples" } aria-labelledby="upload" {
            h3 id="upload" { "Upload a sample" }
            p class="hint" { "Reduced to a profile at once; the file itself is not kept. The next audit reads it." }
            input type="hidden" name="csrf" value=(s.csrf());
            label for="sample_file" { "File (JSON Lines, CSV or TSV)" }
            (error(notes, "sample_file"))
            input id="sample_file" name="file" type="file" accept=".jsonl,.json,.ndjson,.csv,.tsv"
                aria-invalid=[invalid(notes, "sample_file")] aria-describedby=[described(notes, "sample_file")];
            label for="sample_format" { "Format" }
            select id="sample_format" name="format" {
                option value="" { "From the file name" }
                option value="jsonl" { "JSON Lines" } option value="csv" { "CSV" } option value="tsv" { "TSV" }
            }
            button type="submit" { "Upload" }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct VersionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version_tag: String,
    #[serde(default)]
    artifact_location: String,
    #[serde(default)]
    metrics: String,
    #[serde(default)]
    make_current: Option<String>,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The model's page again, with `field`'s error beside it.
async fn again(
    state: &web::Data<AppState>,
    s: &Session,
    id: String,
    field: &'static str,
    message: String,
) -> Result<HttpResponse, ApiError> {
    let notes = Notes::error(field, message);
    render(state, s, id, &notes, StatusCode::UNPROCESSABLE_ENTITY).await
}

pub(crate) async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<VersionForm>,
) -> Result<HttpResponse, ApiError> {
    let s = match crate::acting(&state, &req, &form.csrf, crate::acting::ADD_VERSION).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let id = path.into_inner();
    let f = form.into_inner();
    let metrics = match metrics_of(&f.metrics) {
        Ok(m) => m,
        Err(e) => return again(&state, &s, id, "new_metrics", e).await,
    };
    let input = NewVersionInput {
        version_tag: f.version_tag.trim().to_owned(),
        artifact_location: opt(&f.artifact_location),
        notes: None,
        metrics,
        make_current: Some(f.make_current.is_some()),
    };
    match add_version(&state, s.caller.clone(), id.clone(), input).await {
        Ok(_) => Ok(see_other(&format!("/console/models/{id}#versions")).finish()),
        Err(e) if e.status.is_client_error() => {
            let field = if e.detail.contains("metric") {
                "new_metrics"
            } else {
                "version_tag"
            };
            again(&state, &s, id, field, e.detail).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct MetricsForm {
    #[serde(default)]
    csrf: String,
    version_tag: String,
    #[serde(default)]
    metrics: String,
}

pub(crate) async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<MetricsForm>,
) -> Result<HttpResponse, ApiError> {
    let s = match crate::acting(&state, &req, &form.csrf, crate::acting::METRICS).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let id = path.into_inner();
    let f = form.into_inner();
    let m = match metrics_of(&f.metrics) {
        Ok(m) => m,
        Err(e) => return again(&state, &s, id, "metrics", e).await,
    };
    match record_metrics(&state, s.caller.clone(), id.clone(), f.version_tag, m).await {
        Ok(_) => Ok(see_other(&format!("/console/models/{id}#versions")).finish()),
        Err(e) if e.status.is_client_error() => again(&state, &s, id, "metrics", e.detail).await,
        Err(e) => Err(e),
    }
}

#[derive(MultipartForm)]
pub(crate) struct SampleUpload {
    csrf: Option<Text<String>>,
    format: Option<Text<String>>,
    file: FileBytes,
}

fn format_of(upload: &SampleUpload) -> Result<Format, String> {
    let named = upload
        .format
        .as_ref()
        .map(|f| f.0.trim().to_owned())
        .filter(|f| !f.is_empty());
    let by_name = || {
        let name = upload.file.file_name.as_deref()?.to_ascii_lowercase();
        let ext = name.rsplit('.').next()?;
        Some(match ext {
            "csv" => "csv",
            "tsv" => "tsv",
            _ => "jsonl",
        })
    };
    let name = named.as_deref().or_else(by_name).unwrap_or("jsonl");
    match Format::parse(name) {
        Some(Format::Parquet) | None => Err(format!(
            "'{name}' cannot be uploaded: use JSON Lines, CSV or TSV"
        )),
        Some(f) => Ok(f),
    }
}

pub(crate) async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: MultipartForm<SampleUpload>,
) -> Result<HttpResponse, ApiError> {
    let up = form.into_inner();
    let csrf = up.csrf.as_ref().map_or("", |t| t.0.as_str());
    let s = match crate::acting(&state, &req, csrf, crate::acting::SAMPLE).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let id = path.into_inner();
    if up.file.data.is_empty() {
        let e = "choose a file to upload".to_owned();
        return again(&state, &s, id, "sample_file", e).await;
    }
    let format = match format_of(&up) {
        Ok(f) => f,
        Err(e) => return again(&state, &s, id, "sample_file", e).await,
    };
    match take_sample(&state, s.caller.clone(), id.clone(), format, up.file.data).await {
        Ok(r) => {
            let reasons = r
                .invalid_rows
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let receipt = format!(
                "Sample {} taken: {} rows read, {} valid, {} invalid{}. The next audit reads it.",
                r.sample_id,
                r.rows_read,
                r.rows_valid,
                r.rows_invalid,
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(" ({reasons})")
                }
            );
            let notes = Notes {
                receipt: Some(receipt),
                ..Notes::default()
            };
            render(&state, &s, id, &notes, StatusCode::CREATED).await
        }
        Err(e) if e.status.is_client_error() => {
            again(&state, &s, id, "sample_file", e.detail).await
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn metrics_are_read_one_per_line() {
        let m = metrics_of("accuracy = 0.91\n\n f1: 0.8 \n").unwrap();
        assert_eq!(m["accuracy"], 0.91);
        assert_eq!(m["f1"], 0.8);
        assert!(metrics_of("accuracy 0.9").unwrap_err().contains("line 1"));
        assert!(
            metrics_of("auc = high")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(metrics_of("auc = NaN").is_err());
    }
}
