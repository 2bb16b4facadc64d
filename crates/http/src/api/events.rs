//! Live events: `GET /events` (Server-Sent Events) and `GET /events/ws` (WebSocket) push
//! `audit.started`, `audit.completed`, `finding.created` and `finding.updated` of the caller's
//! tenant as they are committed. A client that reconnects resumes after the last id it saw
//! (`Last-Event-ID`, or `?last_event_id=`); without one it gets what happens from now on.
//!
//! Events are rows written in the transaction of their change, so every instance serving the
//! same database sees them; each connection polls for rows after its last id, and skips the
//! query while this process has written nothing (the store's write generation), except for a
//! check every 2 s for other instances' writes.

use actix_web::{HttpRequest, HttpResponse, get, web};
use audit_store::repo::events::{self, Event};
use serde::Deserialize;
use std::time::{Duration, Instant};

use super::read;
use crate::auth::Caller;
use crate::{ApiError, AppState};

const POLL: Duration = Duration::from_millis(250);
const FOREIGN_WRITES: Duration = Duration::from_secs(2);
const HEARTBEAT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Resume after this event id (SSE clients may send `Last-Event-ID` instead).
    pub last_event_id: Option<i64>,
    /// Comma-separated event types to receive (default: all five).
    pub types: Option<String>,
    /// For browsers, whose EventSource and WebSocket cannot send headers: the API key or login
    /// token. Other clients should use the `Authorization` header.
    pub access_token: Option<String>,
}

const TYPES: [&str; 5] = [
    "audit.started",
    "audit.completed",
    "finding.created",
    "finding.updated",
    "policy.warning",
];

/// What one connection follows.
struct Follow {
    state: web::Data<AppState>,
    scope: Option<String>,
    types: Vec<String>,
    last_id: i64,
    generation: u64,
    queried: Instant,
}

impl Follow {
    async fn new(
        state: web::Data<AppState>,
        caller: &Caller,
        req: &HttpRequest,
        p: &EventParams,
    ) -> Result<Follow, ApiError> {
        let types: Vec<String> = match &p.types {
            None => TYPES.iter().map(|t| (*t).to_owned()).collect(),
            Some(t) => t.split(',').map(|x| x.trim().to_owned()).collect(),
        };
        if let Some(bad) = types.iter().find(|t| !TYPES.contains(&t.as_str())) {
            return Err(ApiError::bad_request(format!(
                "unknown event type '{bad}': expected {}",
                TYPES.join(", ")
            )));
        }
        let header = req
            .headers()
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| ApiError::bad_request("Last-Event-ID must be an event id"))
            })
            .transpose()?;
        let last_id = match header.or(p.last_event_id) {
            Some(id) if id < 0 => return Err(ApiError::bad_request("last_event_id must be ≥ 0")),
            Some(id) => id,
            None => read(&state, events::latest_id).await?,
        };
        Ok(Follow {
            generation: state.store.generation(),
            state,
            scope: caller.scope(),
            types,
            last_id,
            // Deliver any backlog at once.
            queried: Instant::now() - FOREIGN_WRITES,
        })
    }

    /// New events, or an empty list when there is nothing to ask the database about yet.
    async fn poll(&mut self) -> Result<Vec<Event>, ApiError> {
        let generation = self.state.store.generation();
        if generation == self.generation && self.queried.elapsed() < FOREIGN_WRITES {
            return Ok(Vec::new());
        }
        self.generation = generation;
        self.queried = Instant::now();
        let (scope, after) = (self.scope.clone(), self.last_id);
        let got = read(&self.state, move |c| {
            events::since(c, scope.as_deref(), after, 200)
        })
        .await?;
        if let Some(last) = got.last() {
            self.last_id = last.id;
            // More may be waiting beyond this page.
            if got.len() == 200 {
                self.queried = Instant::now() - FOREIGN_WRITES;
            }
        }
        Ok(got
            .into_iter()
            .filter(|e| self.types.contains(&e.kind))
            .collect())
    }
}

fn sse_frame(e: &Event) -> String {
    let data = serde_json::json!({"id": e.id, "type": e.kind, "model_id": e.model_id,
        "created_at": e.created_at, "data": e.data});
    format!("id: {}\nevent: {}\ndata: {data}\n\n", e.id, e.kind)
}

/// Server-Sent Events of the caller's tenant. Each event: `id`, `event` (its type) and `data`
/// (JSON `{id, type, model_id, created_at, data}`); a comment line every 15 s keeps proxies
/// from closing the stream.
#[utoipa::path(
    tag = "events",
    params(EventParams),
    responses(
        (status = 200, description = "text/event-stream", content_type = "text/event-stream", body = String),
        (status = 400, body = crate::ErrorBody)
    )
)]
#[get("/events")]
pub async fn sse(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    params: web::Query<EventParams>,
) -> Result<HttpResponse, ApiError> {
    stream(state, &caller, &req, &params).await
}

/// The event stream of `caller`'s tenant (the console follows it with its session cookie).
pub async fn stream(
    state: web::Data<AppState>,
    caller: &Caller,
    req: &HttpRequest,
    params: &EventParams,
) -> Result<HttpResponse, ApiError> {
    let follow = Follow::new(state, caller, req, params).await?;
    let start = bytes::Bytes::from_static(b"retry: 2000\n\n");
    let stream = futures_util::stream::unfold(
        (follow, Some(start), Instant::now()),
        |(mut f, first, mut beat)| async move {
            if let Some(b) = first {
                return Some((Ok::<_, actix_web::Error>(b), (f, None, beat)));
            }
            loop {
                match f.poll().await {
                    Ok(evs) if !evs.is_empty() => {
                        let text: String = evs.iter().map(sse_frame).collect();
                        beat = Instant::now();
                        return Some((Ok(bytes::Bytes::from(text)), (f, None, beat)));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "event stream ended");
                        return None;
                    }
                }
                if beat.elapsed() >= HEARTBEAT {
                    beat = Instant::now();
                    return Some((
                        Ok(bytes::Bytes::from_static(b": keep-alive\n\n")),
                        (f, None, beat),
                    ));
                }
                actix_web::rt::time::sleep(POLL).await;
            }
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream))
}

/// The same events over a WebSocket: one JSON text message per event
/// (`{id, type, model_id, created_at, data}`); the server answers pings and stops at close.
#[utoipa::path(
    tag = "events",
    params(EventParams),
    responses((status = 101, description = "Switching to WebSocket"), (status = 400, body = crate::ErrorBody))
)]
#[get("/events/ws")]
pub async fn ws(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    params: web::Query<EventParams>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut follow = Follow::new(state, &caller, &req, &params).await?;
    let (response, mut session, mut incoming) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::bad_request(format!("not a WebSocket handshake: {e}")))?;
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut replies = session.clone();
    let closed2 = closed.clone();
    actix_web::rt::spawn(async move {
        use futures_util::StreamExt;
        while let Some(Ok(msg)) = incoming.next().await {
            match msg {
                actix_ws::Message::Ping(p) if replies.pong(&p).await.is_err() => break,
                actix_ws::Message::Close(_) => break,
                _ => {}
            }
        }
        closed2.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    actix_web::rt::spawn(async move {
        let mut beat = Instant::now();
        while !closed.load(std::sync::atomic::Ordering::SeqCst) {
            match follow.poll().await {
                Ok(evs) => {
                    for e in evs {
                        let msg = serde_json::json!({"id": e.id, "type": e.kind,
                            "model_id": e.model_id, "created_at": e.created_at, "data": e.data});
                        if session.text(msg.to_string()).await.is_err() {
                            return;
                        }
                        beat = Instant::now();
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event socket ended");
                    break;
                }
            }
            if beat.elapsed() >= HEARTBEAT {
                beat = Instant::now();
                if session.ping(b"").await.is_err() {
                    return;
                }
            }
            actix_web::rt::time::sleep(POLL).await;
        }
        let _ = session.close(None).await;
    });
    Ok(response)
}
