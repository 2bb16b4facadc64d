//! The model form's markup: labelled fields in fieldsets, each error beside its field (and
//! tied to it with `aria-describedby`, `aria-invalid`), a summary of errors at the top.

use maud::{Markup, html};

use crate::model_form::{Errors, ModelForm};
use crate::session::Session;

/// A text field of the model form.
fn text(f: &ModelForm, errors: &Errors, name: &'static str, label: &str, hint: &str) -> Markup {
    let err = errors.get(name).map(String::as_str);
    input(name, label, "text", f.value(name), hint, err)
}

/// A labelled input (`kind` its type) with its hint and error, tied to it for screen readers.
pub(crate) fn input(
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    hint: &str,
    err: Option<&str>,
) -> Markup {
    let hint_id = format!("{name}-hint");
    let err_id = format!("{name}-error");
    let described = match (hint.is_empty(), err.is_some()) {
        (true, false) => None,
        (false, false) => Some(hint_id.clone()),
        (true, true) => Some(err_id.clone()),
        (false, true) => Some(format!("{err_id} {hint_id}")),
    };
    html! {
        div class="field" {
            label for=(name) { (label) }
            @if let Some(e) = err { p class="error" id=(err_id) { (e) } }
            input id=(name) name=(name) type=(kind) value=(value)
                autocomplete=[(kind == "password").then_some("new-password")]
                aria-invalid=[err.map(|_| "true")] aria-describedby=[described];
            @if !hint.is_empty() { p class="hint" id=(hint_id) { (hint) } }
        }
    }
}

fn choice(
    f: &ModelForm,
    errors: &Errors,
    name: &'static str,
    label: &str,
    options: &[(&str, &str)],
) -> Markup {
    let err = errors.get(name).map(String::as_str);
    select(name, label, options, f.value(name), err)
}

/// A labelled choice with its error; `current` is the value selected.
pub(crate) fn select(
    name: &str,
    label: &str,
    options: &[(&str, &str)],
    current: &str,
    err: Option<&str>,
) -> Markup {
    let err_id = format!("{name}-error");
    html! {
        div class="field" {
            label for=(name) { (label) }
            @if let Some(e) = err { p class="error" id=(err_id) { (e) } }
            select id=(name) name=(name) aria-invalid=[err.map(|_| "true")]
                aria-describedby=[err.map(|_| err_id.clone())] {
                @for (v, shown) in options {
                    option value=(v) selected[current == *v] { (shown) }
                }
            }
        }
    }
}

fn check(f: &ModelForm, name: &'static str, label: &str) -> Markup {
    html! {
        label class="check" {
            input type="checkbox" name=(name) checked[f.checked(name)];
            " " (label)
        }
    }
}

/// The label a field's error summary links by: the words the person sees beside the field.
fn label_of(field: &str) -> &str {
    match field {
        "model_id" => "Model ID",
        "name" => "Name",
        "version" => "Version in use",
        "model_type" => "Type",
        "owner" => "Owner",
        "description" => "Description",
        "source_type" => "Where predictions are read",
        "path" => "File or glob",
        "format" => "Format",
        "prediction" => "Prediction",
        "confidence" => "Confidence",
        "outcome" => "Outcome",
        "ground_truth" => "Ground truth",
        "timestamp" => "Timestamp",
        "protected" => "Protected attributes",
        "positive_values" => "Positive values",
        "numeric" => "Numeric features",
        "categorical" => "Categorical features",
        "prompt" => "Prompt text (LLM)",
        "response" => "Response text (LLM)",
        "frequency" => "Scheduled audits",
        "baseline_strategy" => "Compare with",
        "thresholds" => "Threshold overrides (JSON)",
        other => other,
    }
}

/// The whole form; `editing` is the id of the model being edited (its id is then fixed).
pub(crate) fn model_form(
    s: &Session,
    f: &ModelForm,
    errors: &Errors,
    editing: Option<&str>,
) -> Markup {
    let action = match editing {
        Some(id) => format!("/console/models/{id}/edit"),
        None => "/console/models".to_owned(),
    };
    html! {
        @if !errors.is_empty() {
            div class="card problems" role="alert" aria-labelledby="problems" {
                h2 id="problems" { "Not saved: " (errors.len()) " field" @if errors.len() > 1 { "s" } " to correct" }
                @if let Some(e) = errors.get("form") { p class="error" { (e) } }
                ul {
                    @for k in errors.keys().filter(|k| **k != "form") {
                        li { a href={ "#" (k) } { (label_of(k)) } }
                    }
                }
            }
        }
        form class="card wide" method="post" action=(action) novalidate {
            input type="hidden" name="csrf" value=(s.csrf());
            fieldset {
                legend { "Model" }
                @if let Some(id) = editing {
                    div class="field" {
                        span class="label" { "Model ID" }
                        code { (id) }
                        input type="hidden" name="model_id" value=(id);
                    }
                } @else {
                    (text(f, errors, "model_id", "Model ID", "Letters, digits, . _ - and :; it cannot change later."))
                }
                (text(f, errors, "name", "Name", ""))
                (text(f, errors, "version", "Version in use", "Added to the version history."))
                (choice(f, errors, "model_type", "Type", &[("ml", "ML (classifier or scorer)"), ("llm", "LLM (text in, text out)")]))
                (text(f, errors, "owner", "Owner", "A person or team to ask about this model."))
                (text(f, errors, "description", "Description", ""))
            }
            fieldset {
                legend { "Evidence" }
                (choice(f, errors, "source_type", "Where predictions are read", &[
                    ("logs", "Prediction log files"), ("batch", "Batch output files"),
                    ("container", "Files a container writes"), ("sample", "Uploaded samples only"),
                    ("none", "No evidence yet"),
                ]))
                (text(f, errors, "path", "File or glob", "Under the server's evidence roots, e.g. logs/scorer/*.jsonl"))
                (choice(f, errors, "format", "Format", &[("", "From the file name"), ("jsonl", "JSON Lines"), ("csv", "CSV"), ("tsv", "TSV"), ("parquet", "Parquet")]))
            }
            fieldset {
                legend { "Field mapping (column names in the evidence)" }
                div class="grid" {
                    (text(f, errors, "prediction", "Prediction", "Required in every row."))
                    (text(f, errors, "confidence", "Confidence", "In [0, 1]."))
                    (text(f, errors, "outcome", "Outcome", ""))
                    (text(f, errors, "ground_truth", "Ground truth", ""))
                    (text(f, errors, "timestamp", "Timestamp", "Rows are windowed by it."))
                    (text(f, errors, "protected", "Protected attributes", "Comma-separated, e.g. gender, age_band"))
                    (text(f, errors, "positive_values", "Positive values", "Default: true, 1, yes, y, positive"))
                    (text(f, errors, "numeric", "Numeric features", "Comma-separated."))
                    (text(f, errors, "categorical", "Categorical features", "Comma-separated."))
                    (text(f, errors, "prompt", "Prompt text (LLM)", "Analysed in memory only, never stored."))
                    (text(f, errors, "response", "Response text (LLM)", ""))
                }
            }
            fieldset {
                legend { "Policy and scope" }
                (choice(f, errors, "frequency", "Scheduled audits", &[("", "None (run by hand)"), ("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly")]))
                (choice(f, errors, "baseline_strategy", "Compare with", &[("previous_audit", "The approved baseline, else the previous audit"), ("model_version", "A baseline approved for the current version")]))
                div class="field" role="group" aria-labelledby="scope-label" {
                    span class="label" id="scope-label" { "Checks" }
                    (check(f, "drift", "Drift")) (check(f, "bias", "Bias")) (check(f, "risk", "Risk")) (check(f, "compliance", "Compliance"))
                }
                div class="field" {
                    label for="thresholds" { "Threshold overrides (JSON)" }
                    @if let Some(e) = errors.get("thresholds") { p class="error" id="thresholds-error" { (e) } }
                    textarea id="thresholds" name="thresholds" rows="3"
                        aria-invalid=[errors.get("thresholds").map(|_| "true")]
                        aria-describedby="thresholds-hint" { (f.value("thresholds")) }
                    p class="hint" id="thresholds-hint" { "Any keys of docs/metrics.md, e.g. {\"psi_threshold\": 0.25}; empty for the defaults." }
                }
            }
            button type="submit" { @if editing.is_some() { "Save changes" } @else { "Register" } }
        }
    }
}
