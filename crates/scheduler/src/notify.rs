//! Webhook notifications: a delivery thread follows the `events` table and POSTs the events a
//! target asked for (completed audits with chosen results, findings at or above a severity) as
//! generic JSON, a Slack message or a Teams card, signed with HMAC-SHA256 of the target's
//! secret (`X-Auditor-Signature: sha256=<hex>` over the body). Failed attempts are retried
//! with exponential backoff; every attempt is recorded. Each target's batch is claimed in the
//! database (so one instance sends it) and sent on its own thread, so a dead target delays
//! neither audits nor other targets.

use audit_outbound::OutboundPolicy;
use audit_store::Store;
use audit_store::repo::events::{self, Event};
use audit_store::repo::webhooks::{self, Destination, Webhook};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Tries per event (first included).
    pub attempts: u32,
    /// Wait before the second try; doubled for each next one.
    pub backoff: Duration,
    /// Per request.
    pub timeout: Duration,
    /// How often the table of events is looked at.
    pub poll: Duration,
    /// Events and delivery records older than this are removed.
    pub retention: Duration,
    /// Which URLs webhooks may reach; checked again before every delivery.
    pub outbound: Arc<OutboundPolicy>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            attempts: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
            poll: Duration::from_millis(500),
            retention: Duration::from_secs(30 * 86_400),
            outbound: Arc::new(OutboundPolicy::deny_internal()),
        }
    }
}

const SEVERITIES: [&str; 4] = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

fn rank(s: &str) -> Option<usize> {
    SEVERITIES.iter().position(|x| *x == s)
}

/// Whether a target wants this event.
pub fn wanted(h: &Webhook, e: &Event) -> bool {
    if h.model_id.as_ref().is_some_and(|m| *m != e.model_id) {
        return false;
    }
    match e.kind.as_str() {
        "audit.completed" => {
            let results = h.results();
            let result = e.data["audit_result"]
                .as_str()
                .or_else(|| e.data["execution_status"].as_str())
                .unwrap_or("");
            results.is_empty() || results.iter().any(|r| r == result)
        }
        "finding.created" => match (&h.min_severity, e.data["severity"].as_str()) {
            (Some(min), Some(sev)) => rank(sev) >= rank(min),
            _ => false,
        },
        _ => false,
    }
}

/// One line that says what happened.
pub fn headline(e: &Event) -> String {
    let d = &e.data;
    match e.kind.as_str() {
        "audit.completed" => format!(
            "Audit {} of {}: {} ({} findings, risk {:.0})",
            d["audit_id"].as_str().unwrap_or("?"),
            e.model_id,
            d["audit_result"]
                .as_str()
                .or_else(|| d["execution_status"].as_str())
                .unwrap_or("?"),
            d["total_findings"].as_u64().unwrap_or(0),
            d["risk_score"].as_f64().unwrap_or(0.0)
        ),
        "finding.created" => format!(
            "{} {} finding on {}: {}",
            d["severity"].as_str().unwrap_or("?"),
            d["category"].as_str().unwrap_or("?"),
            e.model_id,
            d["description"].as_str().unwrap_or("")
        ),
        "audit.started" => format!(
            "Audit {} of {} started ({}, {})",
            d["audit_id"].as_str().unwrap_or("?"),
            e.model_id,
            d["audit_type"].as_str().unwrap_or("?"),
            d["trigger"].as_str().unwrap_or("?")
        ),
        "finding.updated" => format!(
            "Finding {} on {} moved to {} by {}",
            d["finding_id"],
            e.model_id,
            d["status"].as_str().unwrap_or("?"),
            d["actor"].as_str().unwrap_or("?")
        ),
        other => format!("{other} on {}", e.model_id),
    }
}

/// The body for a target's style.
pub fn message(style: &str, e: &Event) -> serde_json::Value {
    let text = headline(e);
    match style {
        "slack" => serde_json::json!({"text": text}),
        "teams" => serde_json::json!({
            "@type": "MessageCard", "@context": "https://schema.org/extensions",
            "summary": text, "title": format!("AI Auditor: {}", e.kind), "text": text,
            "themeColor": if e.data["audit_result"] == "AUDIT_FAIL" { "D13438" } else { "0078D7" }
        }),
        _ => serde_json::json!({"id": e.id, "type": e.kind, "tenant_id": e.tenant_id,
            "model_id": e.model_id, "created_at": e.created_at, "data": e.data}),
    }
}

/// `sha256=<hex>`: HMAC-SHA256 of the body with the target's secret.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes keys of any length; this cannot happen.
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!(
        "sha256={}",
        audit_store::repo::log::hex(&mac.finalize().into_bytes())
    )
}

/// What a failed delivery records and reports, whatever the cause: whether the target was
/// refused by the outbound policy, unreachable, slow or answered an error status is logged at
/// debug level only, so that webhooks cannot map what the server can reach.
pub const DELIVERY_FAILED: &str = audit_outbound::GENERIC_FAILURE;

/// One POST to the target's opened destination `to`, its URL checked against the outbound
/// policy right before and the connection pinned to the checked addresses. `Ok(status)` for
/// 2xx; otherwise [`DELIVERY_FAILED`] and whether another try may help (never for a refused
/// destination).
pub fn send_once(
    outbound: &OutboundPolicy,
    timeout: Duration,
    h: &Webhook,
    to: &Destination,
    e: &Event,
) -> Result<u16, bool> {
    let pinned = match outbound.client(&to.url, timeout) {
        Ok(p) => p,
        Err(why) => {
            tracing::debug!(webhook_id = h.id, host = %audit_outbound::host_of(&to.url), reason = %why, "webhook destination refused");
            return Err(false);
        }
    };
    let body = message(&h.style, e).to_string();
    let r = pinned
        .client
        .post(pinned.destination.url.as_str())
        .header("content-type", "application/json")
        .header("x-auditor-event", &e.kind)
        .header("x-auditor-delivery", e.id.to_string())
        .header("x-auditor-signature", sign(&to.secret, body.as_bytes()))
        .body(body)
        .send();
    let why = match r {
        Ok(resp) if resp.status().is_success() => return Ok(resp.status().as_u16()),
        Ok(resp) => format!("answered HTTP {}", resp.status().as_u16()),
        Err(e) if e.is_timeout() => "timed out".into(),
        Err(e) if e.is_connect() => "cannot connect".into(),
        Err(_) => "request failed".into(),
    };
    tracing::debug!(webhook_id = h.id, host = %pinned.destination.host, reason = %why, "webhook delivery failed");
    Err(true)
}

/// Sends one event with retries, recording every attempt.
fn deliver(store: &Store, cfg: &NotifyConfig, h: &Webhook, to: &Destination, e: &Event) {
    let mut wait = cfg.backoff;
    for attempt in 1..=cfg.attempts.max(1) {
        let got = send_once(&cfg.outbound, cfg.timeout, h, to, e);
        let (ok, status, error, again) = match got {
            Ok(s) => (true, Some(i32::from(s)), None, false),
            Err(again) => (false, None, Some(DELIVERY_FAILED), again),
        };
        if let Err(err) = store
            .write(|c| webhooks::record(c, h.id, e.id, &e.kind, attempt as i32, ok, status, error))
        {
            tracing::warn!(webhook_id = h.id, error = %err, "delivery attempt not recorded");
        }
        if ok {
            return;
        }
        tracing::warn!(
            webhook_id = h.id,
            event_id = e.id,
            attempt,
            "webhook delivery failed"
        );
        if !again {
            return;
        }
        if attempt < cfg.attempts {
            std::thread::sleep(wait);
            wait *= 2;
        }
    }
}

/// Starts the delivery thread; it stops when `stop` is set.
pub fn start(
    store: Store,
    cfg: NotifyConfig,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("webhook-delivery".into())
        .spawn(move || {
            let busy: Arc<Mutex<HashSet<i64>>> = Arc::default();
            // Retention runs every ten minutes, or twice per retention period if shorter.
            let prune_every = (cfg.retention / 2).min(Duration::from_secs(600));
            let mut pruned = std::time::Instant::now();
            while !stop.load(Ordering::SeqCst) {
                if let Err(e) = cycle(&store, &cfg, &busy) {
                    tracing::warn!(error = %e, "webhook cycle failed");
                }
                if pruned.elapsed() >= prune_every {
                    pruned = std::time::Instant::now();
                    prune(&store, cfg.retention);
                }
                std::thread::sleep(cfg.poll);
            }
        })
}

fn prune(store: &Store, retention: Duration) {
    let Ok(age) = chrono::Duration::from_std(retention) else {
        return;
    };
    let before = audit_store::now() - age;
    // Read first: no write lock (and no cache invalidation) when there is nothing to remove.
    let old = store.read(|c| {
        Ok(events::since(c, None, 0, 1)?
            .first()
            .is_some_and(|e| e.created_at < before))
    });
    if !matches!(old, Ok(true)) {
        return;
    }
    match store.write(|c| {
        Ok((
            events::prune(c, before)?,
            webhooks::prune_deliveries(c, before)?,
        ))
    }) {
        Ok((e, d)) => tracing::info!(events = e, deliveries = d, "old events removed"),
        Err(e) => tracing::warn!(error = %e, "events not pruned"),
    }
}

fn cycle(
    store: &Store,
    cfg: &NotifyConfig,
    busy: &Arc<Mutex<HashSet<i64>>>,
) -> Result<(), audit_store::StoreError> {
    let hooks = store.read(|c| webhooks::list(c, None, true))?;
    for h in hooks {
        if busy.lock().map(|b| b.contains(&h.id)).unwrap_or(true) {
            continue;
        }
        let batch = store.read(|c| events::since(c, Some(&h.tenant_id), h.last_event_id, 50))?;
        let Some(last) = batch.last().map(|e| e.id) else {
            continue;
        };
        if !store.write(|c| webhooks::claim(c, h.id, h.last_event_id, last))? {
            continue;
        }
        let todo: Vec<Event> = batch.into_iter().filter(|e| wanted(&h, e)).collect();
        if todo.is_empty() {
            continue;
        }
        // Opened once per batch, on this thread; a value that does not open (a missing key,
        // an altered row) skips the batch with a warning, as a refused destination would.
        let to = match store.sealer().and_then(|s| h.destination(&s)) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(webhook_id = h.id, error = %e, "webhook destination cannot be opened");
                continue;
            }
        };
        if let Ok(mut b) = busy.lock() {
            b.insert(h.id);
        }
        let (store, cfg, busy) = (store.clone(), cfg.clone(), busy.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("webhook-{}", h.id))
            .spawn(move || {
                for e in &todo {
                    deliver(&store, &cfg, &h, &to, e);
                }
                if let Ok(mut b) = busy.lock() {
                    b.remove(&h.id);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a delivery thread");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
