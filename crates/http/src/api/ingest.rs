//! The existing frontend's event ingestion: `POST /v1/events` takes a JSON array of prediction
//! events and reduces each model's events to a sample profile at once, exactly like a sample
//! upload; the events themselves are never stored, so `GET /v1/events/{id}` has nothing to
//! return.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, web};
use audit_evidence::Format;
use serde::Serialize;
use serde_json::{Map, Value};

use super::models::{SampleReceipt, take_sample};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// Most models one batch may name: each is a lookup and a profile of its own.
pub(super) const MAX_MODELS: usize = 100;

/// What became of one model's events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelIngest {
    pub model_id: String,
    pub events: u64,
    /// The sample profile they were reduced to (absent when the model refused them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<SampleReceipt>,
    /// Why the model refused them (unknown model, no sample source, archived).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestReceipt {
    pub received: u64,
    pub models: Vec<ModelIngest>,
    /// Events that name no model, by reason.
    pub unassigned: BTreeMap<String, u64>,
    pub detail: String,
}

/// A batch's objects by the model they name, and the counts of items naming none, by reason.
pub(super) type Batch = (
    BTreeMap<String, Vec<Map<String, Value>>>,
    BTreeMap<String, u64>,
);

/// A batch's items grouped by the model they name, and the items naming none by reason;
/// refused when it names too many models or none (`noun` names the items in the answer).
pub(super) fn by_model(items: Vec<Value>, noun: &str) -> Result<Batch, ApiError> {
    let mut grouped: BTreeMap<String, Vec<Map<String, Value>>> = BTreeMap::new();
    let mut unassigned: BTreeMap<String, u64> = BTreeMap::new();
    for item in items {
        match model_of(&item) {
            Ok(m) => {
                if let Value::Object(o) = item {
                    grouped.entry(m).or_default().push(o);
                }
            }
            Err(why) => *unassigned.entry(why.to_owned()).or_default() += 1,
        }
    }
    if grouped.len() > MAX_MODELS {
        return Err(ApiError::invalid(format!(
            "the batch names {} models; send at most {MAX_MODELS} in one request",
            grouped.len()
        )));
    }
    if grouped.is_empty() {
        return Err(ApiError::invalid(format!(
            "no {noun} names its model: give each {noun} item a model_id"
        )));
    }
    Ok((grouped, unassigned))
}

/// The model an event names: `model_id`, or the set-up wizard's `id` of it as `model`.
fn model_of(e: &Value) -> Result<String, &'static str> {
    let Some(o) = e.as_object() else {
        return Err("not a JSON object");
    };
    match o.get("model_id").or_else(|| o.get("model")) {
        Some(Value::String(m)) if !m.trim().is_empty() => Ok(m.trim().to_owned()),
        Some(_) => Err("model_id is not a text"),
        None => Err("no model_id"),
    }
}

/// Take a batch of prediction events (a JSON array of objects, each naming its `model_id`,
/// fields as the model's sample mapping reads them) and reduce each model's events to a
/// sample profile at once, like `POST /models/{model_id}/samples`; the next audit reads it.
/// Nothing of the events is stored.
#[utoipa::path(
    tag = "frontend",
    request_body = Vec<Object>,
    responses(
        (status = 200, body = IngestReceipt),
        (status = 404, description = "No event named a model the caller may see", body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody)
    )
)]
#[post("/v1/events")]
pub async fn ingest_events(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    // Read as any JSON first, so that malformed JSON is told from JSON of the wrong shape
    // (a typed array target would call `{,}` a wrong type).
    let Value::Array(events) = body.into_inner() else {
        return Err(ApiError::invalid("the body must be a JSON array of events"));
    };
    let received = events.len() as u64;
    let (grouped, unassigned) = by_model(events, "event")?;
    let mut models = Vec::new();
    let mut refusal = None;
    for (model_id, items) in grouped {
        let events = items.len() as u64;
        let mut lines = Vec::new();
        for e in &items {
            serde_json::to_writer(&mut lines, e).map_err(|e| ApiError::internal(&e))?;
            lines.push(b'\n');
        }
        match take_sample(
            &state,
            caller.clone(),
            model_id.clone(),
            Format::Jsonl,
            lines.into(),
        )
        .await
        {
            Ok(r) => models.push(ModelIngest {
                model_id,
                events,
                receipt: Some(r),
                error: None,
            }),
            // A failure of one model (a refusal, or the server's own trouble) is that model's
            // answer: the others' samples are taken already, and a retry must know which.
            Err(e) => {
                models.push(ModelIngest {
                    model_id,
                    events,
                    receipt: None,
                    error: Some(e.detail.clone()),
                });
                refusal.get_or_insert(e);
            }
        }
    }
    // Nothing taken at all: the first refusal is the answer, with its own status.
    if let Some(e) = refusal
        && models.iter().all(|m| m.receipt.is_none())
    {
        return Err(e);
    }
    Ok(HttpResponse::Ok().json(IngestReceipt {
        received,
        models,
        unassigned,
        detail: "each model's events were reduced to a sample profile; the events are not stored"
            .into(),
    }))
}

/// Events are not stored, so none can be read back: always 404, saying so.
#[utoipa::path(
    tag = "frontend",
    params(("request_id" = String, Path)),
    responses((status = 404, body = crate::ErrorBody))
)]
#[get("/v1/events/{request_id}")]
pub async fn get_event(_caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "event '{}' is not stored: POST /v1/events reduces each batch to a profile at once and keeps no event",
        path.into_inner()
    )))
}
