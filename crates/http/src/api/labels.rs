//! The existing frontend's ground truth and outcome feedback: `POST /v1/labels` and
//! `POST /v1/feedback` take a JSON array, join each label (or feedback) to its prediction by
//! `request_id` **within the same request**, and reduce the joined rows to a sample profile at
//! once, like `POST /v1/events`. Events are never kept, so a label can only meet a prediction
//! that arrives with it: either in the same object, or as a separate object of the same array
//! with the same `request_id`. A label whose prediction is not in the array is counted as
//! unmatched and reported, never guessed at.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, post, web};
use audit_domain::FieldMapping;
use audit_evidence::Format;
use serde::Serialize;
use serde_json::{Map, Value};

use super::ingest::by_model;
use super::models::{SampleReceipt, sample_mapping, take_sample};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// Ground truth or outcome feedback: which field carries it and where the profile reads it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Label,
    Feedback,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Label => "label",
            Kind::Feedback => "feedback",
        }
    }

    /// The fields an item may carry its value in, besides the mapped column itself.
    fn keys(self) -> [&'static str; 2] {
        match self {
            Kind::Label => ["label", "ground_truth"],
            Kind::Feedback => ["feedback", "outcome"],
        }
    }

    /// The mapping's column the value goes to, and the mapping's name for that role.
    fn column(self, m: &FieldMapping) -> (Option<&str>, &'static str) {
        match self {
            Kind::Label => (m.ground_truth.as_deref(), "ground_truth"),
            Kind::Feedback => (m.outcome.as_deref(), "outcome"),
        }
    }
}

/// What became of one model's labels (or feedback).
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ModelJoin {
    pub model_id: String,
    /// Items of the array naming this model.
    pub items: u64,
    /// Rows profiled: a prediction and its label, joined (in one object or by `request_id`).
    pub joined: u64,
    /// Labels whose prediction was not in this request. Earlier events are not kept, so
    /// nothing can join them; they are counted here and dropped.
    pub unmatched: u64,
    /// Predictions in the array that came without a label: not profiled here (send a
    /// prediction once: to `/v1/events` without its label, or here with it).
    pub unlabelled: u64,
    /// Requests given two different labels in the array: dropped rather than guessed.
    pub conflicting: u64,
    /// Items with neither a `request_id` nor both a prediction and a label.
    pub unjoinable: u64,
    /// The sample profile the joined rows were reduced to (absent when the model refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<SampleReceipt>,
    /// Why the model refused them (unknown model, no sample source or no column to put the
    /// label in, nothing joined).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JoinReceipt {
    pub received: u64,
    pub models: Vec<ModelJoin>,
    /// Items that name no model, by reason.
    pub unassigned: BTreeMap<String, u64>,
    pub detail: String,
}

/// One request's prediction and label, gathered from the items that share its `request_id`.
#[derive(Default)]
struct Request {
    row: Map<String, Value>,
    value: Option<Value>,
    prediction: bool,
    conflict: bool,
}

/// The label an item carries: the first of the kind's fields or the mapped column, not null.
fn value_of(o: &Map<String, Value>, kind: Kind, column: &str) -> Option<Value> {
    kind.keys()
        .into_iter()
        .chain([column])
        .find_map(|k| o.get(k).filter(|v| !v.is_null()).cloned())
}

fn request_id_of(o: &Map<String, Value>) -> Option<String> {
    match o.get("request_id")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Joins one model's items by `request_id` into JSON Lines rows with the label under `column`;
/// fills the counts of `out`.
fn join(
    items: &[Map<String, Value>],
    kind: Kind,
    mapping: &FieldMapping,
    column: &str,
    out: &mut ModelJoin,
) -> Result<Vec<u8>, ApiError> {
    let label_keys: Vec<&str> = kind.keys().into_iter().chain([column]).collect();
    let strip = |o: &Map<String, Value>| -> Map<String, Value> {
        o.iter()
            .filter(|(k, _)| !label_keys.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let has_prediction =
        |o: &Map<String, Value>| o.get(&mapping.prediction).is_some_and(|v| !v.is_null());
    let mut rows: Vec<Map<String, Value>> = Vec::new();
    let mut requests: BTreeMap<String, Request> = BTreeMap::new();
    for o in items {
        let value = value_of(o, kind, column);
        let Some(rid) = request_id_of(o) else {
            // Without a request id an item joins nothing: it stands alone or not at all.
            match value {
                Some(v) if has_prediction(o) => {
                    let mut row = strip(o);
                    row.insert(column.to_owned(), v);
                    rows.push(row);
                }
                _ => out.unjoinable += 1,
            }
            continue;
        };
        let r = requests.entry(rid).or_default();
        r.prediction |= has_prediction(o);
        for (k, v) in strip(o) {
            r.row.entry(k).or_insert(v);
        }
        if let Some(v) = value {
            match &r.value {
                Some(old) if *old != v => r.conflict = true,
                Some(_) => {}
                None => r.value = Some(v),
            }
        }
    }
    for (_, r) in requests {
        match (r.prediction, r.value) {
            (_, Some(_)) if r.conflict => out.conflicting += 1,
            (true, Some(v)) => {
                let mut row = r.row;
                row.insert(column.to_owned(), v);
                rows.push(row);
            }
            (true, None) => out.unlabelled += 1,
            (false, _) => out.unmatched += 1,
        }
    }
    out.joined = rows.len() as u64;
    let mut lines = Vec::new();
    for row in rows {
        serde_json::to_writer(&mut lines, &row).map_err(|e| ApiError::internal(&e))?;
        lines.push(b'\n');
    }
    Ok(lines)
}

/// One model's share of the batch: join it and take the joined rows as a sample.
async fn take_model(
    state: &web::Data<AppState>,
    caller: &Caller,
    kind: Kind,
    model_id: &str,
    items: &[Map<String, Value>],
    out: &mut ModelJoin,
) -> Result<SampleReceipt, ApiError> {
    let mapping = sample_mapping(state, caller, model_id).await?;
    let (column, role) = kind.column(&mapping);
    let Some(column) = column.map(str::to_owned) else {
        return Err(ApiError::invalid(format!(
            "model '{model_id}''s sample mapping has no {role} column, so a {} has nowhere to go; name one in its sample source with PUT /models/{model_id}",
            kind.noun()
        )));
    };
    let lines = join(items, kind, &mapping, &column, out)?;
    if out.joined == 0 {
        return Err(ApiError::invalid(format!(
            "no {} of model '{model_id}' could be joined to its prediction: give each a request_id and send its prediction in the same request (events are not kept, so an earlier request's prediction cannot be found)",
            kind.noun()
        )));
    }
    take_sample(
        state,
        caller.clone(),
        model_id.to_owned(),
        Format::Jsonl,
        lines.into(),
    )
    .await
}

async fn ingest(
    state: web::Data<AppState>,
    caller: Caller,
    body: Value,
    kind: Kind,
) -> Result<HttpResponse, ApiError> {
    let Value::Array(items) = body else {
        return Err(ApiError::invalid(format!(
            "the body must be a JSON array of {} items",
            kind.noun()
        )));
    };
    let received = items.len() as u64;
    let (grouped, unassigned) = by_model(items, kind.noun())?;
    let mut models = Vec::new();
    let mut refusal = None;
    for (model_id, items) in grouped {
        let mut out = ModelJoin {
            model_id: model_id.clone(),
            items: items.len() as u64,
            ..ModelJoin::default()
        };
        // One model's refusal is that model's answer; the others' samples are taken already.
        match take_model(&state, &caller, kind, &model_id, &items, &mut out).await {
            Ok(r) => out.receipt = Some(r),
            Err(e) => {
                out.error = Some(e.detail.clone());
                refusal.get_or_insert(e);
            }
        }
        models.push(out);
    }
    if let Some(e) = refusal
        && models.iter().all(|m| m.receipt.is_none())
    {
        return Err(e);
    }
    Ok(HttpResponse::Ok().json(JoinReceipt {
        received,
        models,
        unassigned,
        detail: format!(
            "each {} was joined to its prediction within this request and the joined rows reduced to a sample profile; nothing of the items is stored",
            kind.noun()
        ),
    }))
}

/// Take ground truth: a JSON array of items, each naming its `model_id` and `request_id` and
/// carrying `label` (or `ground_truth`, or the model's ground-truth column). Each label is
/// joined, in memory and within this request only, to the prediction with the same
/// `request_id` (in the same object or another item of the array), and the joined rows are
/// reduced to a sample profile that the model's next audit reads (accuracy, confusion counts).
/// Events are not kept, so a label for a prediction sent earlier cannot be joined: it is
/// counted as `unmatched`.
#[utoipa::path(
    tag = "frontend",
    request_body = Vec<Object>,
    responses(
        (status = 200, body = JoinReceipt),
        (status = 404, description = "No item named a model the caller may see", body = crate::ErrorBody),
        (status = 422, description = "Not an array, or nothing could be joined", body = crate::ErrorBody)
    )
)]
#[post("/v1/labels")]
pub async fn ingest_labels(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    ingest(state, caller, body.into_inner(), Kind::Label).await
}

/// Take outcome feedback: as `POST /v1/labels`, with the value in `feedback` (or `outcome`, or
/// the model's outcome column); the joined rows feed the model's outcome rates (fairness).
#[utoipa::path(
    tag = "frontend",
    request_body = Vec<Object>,
    responses(
        (status = 200, body = JoinReceipt),
        (status = 404, description = "No item named a model the caller may see", body = crate::ErrorBody),
        (status = 422, description = "Not an array, or nothing could be joined", body = crate::ErrorBody)
    )
)]
#[post("/v1/feedback")]
pub async fn ingest_feedback(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    ingest(state, caller, body.into_inner(), Kind::Feedback).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn objs(v: Value) -> Vec<Map<String, Value>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_object().unwrap().clone())
            .collect()
    }

    fn rows(lines: &[u8]) -> Vec<Value> {
        String::from_utf8_lossy(lines)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn joins_by_request_id_within_the_batch_and_counts_the_rest() {
        let m = FieldMapping::conventional();
        let items = objs(json!([
            {"model_id": "m", "request_id": "a", "prediction": "yes", "gender": "f"},
            {"model_id": "m", "request_id": "a", "label": "no"},
            {"model_id": "m", "request_id": 7, "prediction": "no", "label": "no"},
            {"model_id": "m", "request_id": "gone", "label": "yes"},
            {"model_id": "m", "request_id": "u", "prediction": "yes"},
            {"model_id": "m", "request_id": "c", "prediction": "yes", "label": "yes"},
            {"model_id": "m", "request_id": "c", "label": "no"},
            {"model_id": "m", "prediction": "yes", "actual": "yes"},
            {"model_id": "m", "label": "yes"}
        ]));
        let mut out = ModelJoin::default();
        let lines = join(&items, Kind::Label, &m, "actual", &mut out).unwrap();
        let got = rows(&lines);
        assert_eq!(
            (
                out.joined,
                out.unmatched,
                out.unlabelled,
                out.conflicting,
                out.unjoinable
            ),
            (3, 1, 1, 1, 1)
        );
        assert!(got.contains(&json!({"model_id": "m", "request_id": "a", "prediction": "yes", "gender": "f", "actual": "no"})));
        assert!(got.contains(
            &json!({"model_id": "m", "request_id": 7, "prediction": "no", "actual": "no"})
        ));
        assert!(got.contains(&json!({"model_id": "m", "prediction": "yes", "actual": "yes"})));
        assert!(got.iter().all(|r| r.get("label").is_none()));
    }

    #[test]
    fn feedback_goes_to_the_outcome_column() {
        let m = FieldMapping::conventional();
        let items = objs(json!([
            {"model_id": "m", "request_id": "a", "prediction": "yes"},
            {"model_id": "m", "request_id": "a", "feedback": true}
        ]));
        let mut out = ModelJoin::default();
        let lines = join(&items, Kind::Feedback, &m, "outcome", &mut out).unwrap();
        assert_eq!(
            rows(&lines),
            vec![json!({"model_id": "m", "request_id": "a", "prediction": "yes", "outcome": true})]
        );
    }
}
