//! The periodic purge past each tenant's retention periods (`audit_store::repo::purge`): a
//! thread that purges at start and then every `every`. Several instances may purge at once:
//! each tenant's purge is one transaction, so a model purged by one is simply gone for the
//! other.

use audit_store::Store;
use audit_store::repo::purge;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The actor of purges the scheduler runs.
pub const ACTOR: &str = "scheduler";

/// Purges once and logs what went.
pub fn purge_logged(store: &Store) {
    match purge::purge_all(store, audit_store::now(), ACTOR, false) {
        Ok(reports) => {
            for r in reports.iter().filter(|r| !r.is_empty()) {
                tracing::info!(
                    tenant_id = %r.tenant_id,
                    models = r.models,
                    audits = r.audits,
                    findings = r.findings,
                    log_entries = r.log_entries,
                    "retention purge"
                );
            }
        }
        Err(e) => tracing::error!(error = %e, "retention purge failed"),
    }
}

/// Starts the purge thread; it stops soon after `stop` is set.
pub fn start(
    store: Store,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("retention-purge".into())
        .spawn(move || {
            let mut last: Option<Instant> = None;
            while !stop.load(Ordering::SeqCst) {
                if last.is_none_or(|t| t.elapsed() >= every) {
                    last = Some(Instant::now());
                    purge_logged(&store);
                }
                // Short sleeps, so that a stopping server is not held for a whole period.
                std::thread::sleep(Duration::from_millis(250).min(every));
            }
        })
}
