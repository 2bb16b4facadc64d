//! The model form: register a model with one evidence source, its field mapping, policy and
//! scope; the same form edits it. Each error is shown next to the field it concerns; the API's
//! own checks (`register_model`, `update_model`, the policy functions) decide what is valid.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, http::StatusCode, web};
use audit_domain::{AuditFrequency, BaselineStrategy, ConnectionType, FieldMapping, ModelType};
use audit_http::api::models::{
    ModelDetail, PolicyInput, RegisterModel, SourceInput, UpdateModel, detail_of, register_model,
    update_model,
};
use audit_http::api::policies::{CreatePolicy, UpdatePolicy, create_policy, update_policy};
use audit_http::api::{read, visible_model};
use audit_http::{ApiError, AppState};
use audit_store::AuditScope;
use maud::html;
use serde::Deserialize;

use crate::pages::layout;
use crate::session::Session;
use crate::{page, see_other};

/// The form's fields as posted (every one a string; a checkbox is present or not).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(crate) struct ModelForm {
    csrf: String,
    model_id: String,
    name: String,
    version: String,
    model_type: String,
    owner: String,
    description: String,
    source_type: String,
    path: String,
    format: String,
    prediction: String,
    confidence: String,
    outcome: String,
    ground_truth: String,
    timestamp: String,
    protected: String,
    positive_values: String,
    numeric: String,
    categorical: String,
    prompt: String,
    response: String,
    frequency: String,
    baseline_strategy: String,
    drift: Option<String>,
    bias: Option<String>,
    risk: Option<String>,
    compliance: Option<String>,
    thresholds: String,
}

/// Field name → what is wrong with it; `form` for what concerns no one field.
pub(crate) type Errors = BTreeMap<&'static str, String>;

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn list(s: &str) -> Vec<String> {
    s.split(',').filter_map(opt).collect()
}

impl ModelForm {
    /// A blank registration: a log file of the conventional columns, audited daily.
    fn blank() -> ModelForm {
        ModelForm {
            version: "1".into(),
            model_type: "ml".into(),
            source_type: "logs".into(),
            prediction: "prediction".into(),
            frequency: "daily".into(),
            baseline_strategy: "previous_audit".into(),
            drift: Some("on".into()),
            bias: Some("on".into()),
            risk: Some("on".into()),
            compliance: Some("on".into()),
            ..ModelForm::default()
        }
    }

    /// The form filled from a registered model.
    fn of(d: &ModelDetail) -> ModelForm {
        let m = &d.view.model;
        let mut f = ModelForm {
            model_id: m.model_id.clone(),
            name: m.name.clone(),
            version: m.version.clone(),
            model_type: m.model_type.as_str().to_owned(),
            owner: m.owner.clone().unwrap_or_default(),
            description: m.description.clone().unwrap_or_default(),
            source_type: "none".into(),
            frequency: String::new(),
            baseline_strategy: "previous_audit".into(),
            ..ModelForm::default()
        };
        if let Some(s) = d.evidence_sources.first() {
            f.source_type = s.source_type.as_str().to_owned();
            let text = |k: &str| {
                s.config
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            f.path = text("path");
            f.format = text("format");
            let mapping = s
                .config
                .get("mapping")
                .and_then(|m| serde_json::from_value::<FieldMapping>(m.clone()).ok());
            if let Some(m) = mapping {
                f.prediction = m.prediction;
                f.confidence = m.confidence.unwrap_or_default();
                f.outcome = m.outcome.unwrap_or_default();
                f.ground_truth = m.ground_truth.unwrap_or_default();
                f.timestamp = m.timestamp.unwrap_or_default();
                f.protected = m.protected.join(", ");
                f.positive_values = m.positive_values.join(", ");
                f.numeric = m.features.numeric.join(", ");
                f.categorical = m.features.categorical.join(", ");
                f.prompt = m.text.prompt.unwrap_or_default();
                f.response = m.text.response.unwrap_or_default();
            }
        }
        if let Some(p) = &d.policy {
            f.frequency = p.audit_frequency.as_str().to_owned();
            f.baseline_strategy = p.baseline_strategy.as_str().to_owned();
            let on = |b: bool| b.then(|| "on".to_owned());
            f.drift = on(p.audit_scope.drift);
            f.bias = on(p.audit_scope.bias);
            f.risk = on(p.audit_scope.risk);
            f.compliance = on(p.audit_scope.compliance);
            f.thresholds = p
                .thresholds
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default();
        }
        f
    }

    fn mapping(&self) -> FieldMapping {
        let mut m = FieldMapping::new(self.prediction.trim());
        m.confidence = opt(&self.confidence);
        m.outcome = opt(&self.outcome);
        m.ground_truth = opt(&self.ground_truth);
        m.timestamp = opt(&self.timestamp);
        m.protected = list(&self.protected);
        let positive = list(&self.positive_values);
        if !positive.is_empty() {
            m.positive_values = positive;
        }
        m.features.numeric = list(&self.numeric);
        m.features.categorical = list(&self.categorical);
        m.text.prompt = opt(&self.prompt);
        m.text.response = opt(&self.response);
        m
    }

    /// The evidence source the form describes, or the field errors that stop it.
    fn source(&self, errors: &mut Errors) -> Option<SourceInput> {
        if self.source_type == "none" {
            return None;
        }
        let Ok(kind) = self.source_type.parse::<ConnectionType>() else {
            errors.insert("source_type", "choose a kind of evidence source".into());
            return None;
        };
        if self.prediction.trim().is_empty() {
            errors.insert(
                "prediction",
                "name the column holding the prediction".into(),
            );
        }
        if let Err(e) = self.mapping().validate() {
            errors.insert("prediction", e.to_string());
        }
        let mapping = serde_json::to_value(self.mapping()).unwrap_or_default();
        let config = match kind {
            ConnectionType::Sample => serde_json::json!({ "mapping": mapping }),
            ConnectionType::Api => {
                errors.insert(
                    "source_type",
                    "API sources (with their headers) are registered through the API".into(),
                );
                return None;
            }
            _ => {
                if self.path.trim().is_empty() {
                    errors.insert("path", "give the file or glob to read".into());
                }
                let mut c = serde_json::json!({ "path": self.path.trim(), "mapping": mapping });
                if let Some(f) = opt(&self.format) {
                    c["format"] = f.into();
                }
                c
            }
        };
        Some(SourceInput {
            source_type: kind,
            config,
            read_only: true,
        })
    }

    fn scope(&self) -> AuditScope {
        AuditScope {
            drift: self.drift.is_some(),
            bias: self.bias.is_some(),
            risk: self.risk.is_some(),
            compliance: self.compliance.is_some(),
            active_security: false,
        }
    }

    fn thresholds(&self, errors: &mut Errors) -> Option<serde_json::Value> {
        let t = opt(&self.thresholds)?;
        match serde_json::from_str::<serde_json::Value>(&t) {
            Ok(v) if v.is_object() => Some(v),
            _ => {
                errors.insert(
                    "thresholds",
                    "thresholds must be a JSON object, e.g. {\"psi_threshold\": 0.25}".into(),
                );
                None
            }
        }
    }

    /// The policy the form asks for (`None`: no scheduled audits).
    fn policy(&self, errors: &mut Errors) -> Option<PolicyInput> {
        let frequency = opt(&self.frequency)?;
        let Ok(audit_frequency) = frequency.parse::<AuditFrequency>() else {
            errors.insert("frequency", "choose daily, weekly or monthly".into());
            return None;
        };
        let baseline_strategy = self
            .baseline_strategy
            .parse::<BaselineStrategy>()
            .unwrap_or(BaselineStrategy::PreviousAudit);
        Some(PolicyInput {
            audit_frequency,
            baseline_strategy,
            audit_scope: Some(self.scope()),
            policy_reference: None,
            active_audit_enabled: false,
            thresholds: self.thresholds(errors),
            enabled: true,
        })
    }

    fn model_type(&self, errors: &mut Errors) -> ModelType {
        self.model_type.parse().unwrap_or_else(|_| {
            errors.insert("model_type", "choose ML or LLM".into());
            ModelType::Ml
        })
    }

    fn registration(&self) -> Result<RegisterModel, Errors> {
        let mut errors = Errors::new();
        for (field, value, what) in [
            ("model_id", &self.model_id, "give the model an identifier"),
            ("name", &self.name, "give the model a name"),
            ("version", &self.version, "give the version in use"),
        ] {
            if value.trim().is_empty() {
                errors.insert(field, what.into());
            }
        }
        let model_type = self.model_type(&mut errors);
        let source = self.source(&mut errors);
        let policy = self.policy(&mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RegisterModel {
            model_id: self.model_id.trim().to_owned(),
            name: self.name.trim().to_owned(),
            version: self.version.trim().to_owned(),
            model_type,
            connection_type: source
                .as_ref()
                .map_or(ConnectionType::Logs, |s| s.source_type),
            description: opt(&self.description),
            owner: opt(&self.owner),
            evidence_sources: source.into_iter().collect(),
            policy,
            project_id: None,
        })
    }
}

/// The field an API refusal concerns, read from its message (the form says it beside that field).
fn field_of(detail: &str) -> &'static str {
    let d = detail.to_ascii_lowercase();
    let by_word: [(&str, &'static str); 9] = [
        ("model_id", "model_id"),
        ("threshold", "thresholds"),
        ("mapping", "prediction"),
        ("column", "prediction"),
        ("evidence root", "path"),
        ("path", "path"),
        ("version", "version"),
        ("name", "name"),
        ("frequency", "frequency"),
    ];
    by_word
        .into_iter()
        .find(|(w, _)| d.contains(w))
        .map_or("form", |(_, f)| f)
}

fn refused_by_api(e: ApiError) -> Result<Errors, ApiError> {
    if e.status.is_client_error() {
        Ok(Errors::from([(field_of(&e.detail), e.detail)]))
    } else {
        Err(e)
    }
}

pub(crate) async fn new_form(s: Session) -> Result<HttpResponse, ApiError> {
    if !crate::may(&s, crate::acting::REGISTER) {
        let e = ApiError::new(
            StatusCode::FORBIDDEN,
            "registering models needs the admin role",
        );
        return crate::shown(&s, "Not allowed", e);
    }
    Ok(form_page(
        &s,
        StatusCode::OK,
        &ModelForm::blank(),
        &Errors::new(),
        None,
    ))
}

pub(crate) async fn create(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    form: web::Form<ModelForm>,
) -> Result<HttpResponse, ApiError> {
    let s = match crate::acting(&state, &req, &form.csrf, crate::acting::REGISTER).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let f = form.into_inner();
    let errors = match f.registration() {
        Ok(r) => match register_model(&state, s.caller.clone(), r).await {
            Ok(d) => {
                let to = format!("/console/models/{}", d.view.model.model_id);
                return Ok(see_other(&to).finish());
            }
            Err(e) => refused_by_api(e)?,
        },
        Err(errors) => errors,
    };
    Ok(form_page(
        &s,
        StatusCode::UNPROCESSABLE_ENTITY,
        &f,
        &errors,
        None,
    ))
}

pub(crate) async fn edit_form(
    state: web::Data<AppState>,
    s: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = s.caller.clone();
    let id = path.into_inner();
    let d = read(&state, move |c| {
        visible_model(c, &caller, &id)?;
        detail_of(c, &id)
    })
    .await;
    match d {
        Ok(d) => {
            let f = ModelForm::of(&d);
            Ok(form_page(&s, StatusCode::OK, &f, &Errors::new(), Some(&d)))
        }
        Err(e) => crate::shown(&s, "Not found", e),
    }
}

/// Saves the edit form: the model's fields and evidence source, then its policy (created,
/// changed, or left as it is when the form asks for none).
pub(crate) async fn save(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
    form: web::Form<ModelForm>,
) -> Result<HttpResponse, ApiError> {
    let s = match crate::acting(&state, &req, &form.csrf, crate::acting::EDIT).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let id = path.into_inner();
    let mut f = form.into_inner();
    f.model_id.clone_from(&id);
    let errors = match f.registration() {
        Ok(r) => match save_registration(&state, &s, &id, r).await {
            Ok(()) => return Ok(see_other(&format!("/console/models/{id}")).finish()),
            Err(e) => refused_by_api(e)?,
        },
        Err(errors) => errors,
    };
    let d = read(&state, move |c| detail_of(c, &id)).await;
    Ok(form_page(
        &s,
        StatusCode::UNPROCESSABLE_ENTITY,
        &f,
        &errors,
        d.as_ref().ok(),
    ))
}

async fn save_registration(
    state: &web::Data<AppState>,
    s: &Session,
    id: &str,
    r: RegisterModel,
) -> Result<(), ApiError> {
    let changes = UpdateModel {
        name: Some(r.name),
        version: Some(r.version),
        model_type: Some(r.model_type),
        connection_type: Some(r.connection_type),
        description: Some(r.description.unwrap_or_default()),
        owner: Some(r.owner.unwrap_or_default()),
        evidence_sources: Some(r.evidence_sources),
    };
    let d = update_model(state, s.caller.clone(), id.to_owned(), changes).await?;
    match (r.policy, d.policy) {
        (Some(p), Some(cur)) => {
            let u = UpdatePolicy {
                audit_frequency: Some(p.audit_frequency),
                baseline_strategy: Some(p.baseline_strategy),
                audit_scope: p.audit_scope,
                thresholds: Some(p.thresholds),
                ..UpdatePolicy::default()
            };
            update_policy(state, s.caller.clone(), cur.id, u).await?;
        }
        (Some(p), None) => {
            let c = CreatePolicy {
                model_id: id.to_owned(),
                audit_frequency: p.audit_frequency,
                baseline_strategy: Some(p.baseline_strategy),
                audit_scope: p.audit_scope,
                policy_reference: None,
                active_audit_enabled: false,
                thresholds: p.thresholds,
                enabled: None,
            };
            create_policy(state, s.caller.clone(), c).await?;
        }
        (None, _) => {}
    }
    Ok(())
}

fn form_page(
    s: &Session,
    status: StatusCode,
    f: &ModelForm,
    errors: &Errors,
    editing: Option<&ModelDetail>,
) -> HttpResponse {
    let title = match editing {
        Some(d) => format!("Edit {}", d.view.model.name),
        None => "Register a model".to_owned(),
    };
    let body = crate::form_markup::model_form(
        s,
        f,
        errors,
        editing.map(|d| d.view.model.model_id.as_str()),
    );
    page(
        status,
        layout(&title, Some(s), "models", html! { h1 { (title) } (body) }),
    )
}

impl ModelForm {
    pub(crate) fn value(&self, name: &str) -> &str {
        match name {
            "model_id" => &self.model_id,
            "name" => &self.name,
            "version" => &self.version,
            "model_type" => &self.model_type,
            "owner" => &self.owner,
            "description" => &self.description,
            "source_type" => &self.source_type,
            "path" => &self.path,
            "format" => &self.format,
            "prediction" => &self.prediction,
            "confidence" => &self.confidence,
            "outcome" => &self.outcome,
            "ground_truth" => &self.ground_truth,
            "timestamp" => &self.timestamp,
            "protected" => &self.protected,
            "positive_values" => &self.positive_values,
            "numeric" => &self.numeric,
            "categorical" => &self.categorical,
            "prompt" => &self.prompt,
            "response" => &self.response,
            "frequency" => &self.frequency,
            "baseline_strategy" => &self.baseline_strategy,
            "thresholds" => &self.thresholds,
            _ => "",
        }
    }

    pub(crate) fn checked(&self, name: &str) -> bool {
        match name {
            "drift" => self.drift.is_some(),
            "bias" => self.bias.is_some(),
            "risk" => self.risk.is_some(),
            "compliance" => self.compliance.is_some(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn refusals_land_beside_their_field() {
        assert_eq!(field_of("model_id 'x y' is not valid"), "model_id");
        assert_eq!(
            field_of("evidence source path '/etc' is outside the evidence roots"),
            "path"
        );
        assert_eq!(field_of("unknown threshold key 'psi'"), "thresholds");
        assert_eq!(field_of("database is locked"), "form");
    }

    #[test]
    fn a_blank_form_names_every_missing_field() {
        let f = ModelForm {
            model_id: String::new(),
            name: String::new(),
            path: String::new(),
            thresholds: "[1]".into(),
            ..ModelForm::blank()
        };
        let errors = f.registration().unwrap_err();
        for k in ["model_id", "name", "path", "thresholds"] {
            assert!(errors.contains_key(k), "{k}: {errors:?}");
        }
    }

    #[test]
    fn a_filled_form_registers_a_log_source_with_its_mapping() {
        let f = ModelForm {
            model_id: "m1".into(),
            name: "Scorer".into(),
            path: "logs/*.jsonl".into(),
            confidence: "confidence".into(),
            protected: "gender, age_band".into(),
            ..ModelForm::blank()
        };
        let r = f.registration().unwrap();
        let src = &r.evidence_sources[0];
        assert_eq!(src.source_type, ConnectionType::Logs);
        assert_eq!(src.config["path"], "logs/*.jsonl");
        assert_eq!(src.config["mapping"]["protected"][1], "age_band");
        assert_eq!(r.policy.unwrap().audit_frequency, AuditFrequency::Daily);
    }
}
