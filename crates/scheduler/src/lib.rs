//! The scheduler and the audit runner of AI Auditor.
//!
//! A `job_scheduler_ng` thread ticks every few seconds, finds due policies in the database and
//! claims one run per due slot (the policy's next-run compare-and-set and the run's unique
//! (model, type, scheduled_at) key make a second claim of one slot impossible, across restarts
//! and instances). Claimed runs go to a bounded pool of worker threads, never to HTTP workers.
//! A run reads every evidence source of its model for the window since the previous run,
//! judges the profile against the baseline with `audit-core`, and writes the run, summary,
//! findings and profile snapshot in one transaction.

pub mod active;
pub mod compliance;
pub mod notify;
pub mod period;
pub mod queue;
pub mod reference;
pub mod retention;
pub mod sources;

use audit_core::{AuditOutcome, Collected, FileSummary};
use audit_domain::{AuditResult, AuditType, ConnectionType, ExecutionStatus, Profile, Thresholds};
use audit_evidence::TimeWindow;
use audit_store::repo::{audits, baselines, models, policies, samples, targets};
use audit_store::{AuditRun, AuditScope, Policy, Store, StoreError, Trigger};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use period::{TimeScale, next_after, next_slot};

/// Why a policy's active audits do not run: said on the model and as a `policy.warning` event.
pub const NO_TARGET_WARNING: &str = "active audits are enabled, but the model has no probe target (PUT /models/{model_id}/active-target): they are skipped";
pub use sources::SourcePolicy;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotFound(String),
    /// Run-now beyond its room (per model, per tenant, overall): the caller's to retry.
    #[error(transparent)]
    Busy(#[from] queue::Refused),
    #[error("the server is stopping; try again shortly")]
    Stopping,
}

/// A named baseline to build (`POST /v1/baselines`): the model's evidence of one source type
/// (or all) over a window.
#[derive(Debug, Clone)]
pub struct NamedBaselineRequest {
    pub baseline_id: String,
    pub model_id: String,
    pub name: String,
    pub source_type: Option<ConnectionType>,
    pub window_start: Option<DateTime<Utc>>,
    /// Default: now.
    pub window_end: Option<DateTime<Utc>>,
    pub actor: String,
}

/// Settings of the scheduler and its workers.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Worker threads running audits.
    pub workers: usize,
    /// Seconds between scans for due policies.
    pub tick_seconds: u32,
    pub time_scale: TimeScale,
    /// Due policies claimed per scan at most.
    pub batch: i64,
    /// A run still `running` this long after its claim is closed as interrupted (its
    /// instance died). On SQLite, one server per file, every running run is closed at start.
    pub run_timeout: Duration,
    /// Webhook delivery.
    pub notify: notify::NotifyConfig,
    /// Run-now audits queued or running at once per tenant (each model has at most one).
    pub run_now_per_tenant: usize,
    /// How often the retention purge runs on a scheduling instance (`None`: never).
    pub purge_every: Option<Duration>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            workers: 2,
            tick_seconds: 5,
            time_scale: TimeScale::default(),
            batch: 32,
            run_timeout: Duration::from_secs(30 * 60),
            notify: notify::NotifyConfig::default(),
            run_now_per_tenant: 4,
            purge_every: Some(Duration::from_secs(3600)),
        }
    }
}

/// Runs audits: claims, reads evidence, judges, writes.
pub struct Runner {
    store: Store,
    sources: SourcePolicy,
    config: SchedulerConfig,
    queue: Sender<(AuditRun, queue::Ticket)>,
    slots: Arc<queue::Slots>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.config)
            .field("in_flight", &self.slots.in_flight())
            .finish()
    }
}

/// The running scheduler: workers and the ticking thread. Dropping it does not stop them;
/// call [`Scheduler::shutdown`].
pub struct Scheduler {
    pub runner: Arc<Runner>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("runner", &self.runner)
            .finish()
    }
}

impl Scheduler {
    /// Closes runs interrupted by a crash, then starts the workers and, when `tick` is true,
    /// the thread that scans for due policies. On PostgreSQL other live instances may be
    /// running audits, so only runs older than `run_timeout` count as interrupted.
    pub fn start(
        store: Store,
        sources: SourcePolicy,
        config: SchedulerConfig,
        tick: bool,
    ) -> Result<Scheduler, StoreError> {
        let before = match store.backend() {
            audit_store::Backend::Sqlite => None,
            audit_store::Backend::Postgres => Some(stale_before(&config)),
        };
        let closed = store.write(|c| audits::close_interrupted(c, audit_store::now(), before))?;
        if closed > 0 {
            tracing::warn!(
                closed,
                "closed audits interrupted by a previous stop as FAILED"
            );
        }
        let workers = config.workers.max(1);
        // Room for a few runs per worker, scheduled and run-now apart (queue.rs); the channel
        // itself is unbounded, so that a claimed run is always queued.
        let slots = queue::Slots::new(queue::Limits {
            scheduled: workers * 4,
            manual: workers * 4,
            manual_per_tenant: config.run_now_per_tenant,
        });
        let (tx, rx) = channel::<(AuditRun, queue::Ticket)>();
        let runner = Arc::new(Runner {
            store,
            sources,
            config: config.clone(),
            queue: tx,
            slots,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::new();
        for i in 0..workers {
            let runner = Arc::clone(&runner);
            let rx: Arc<Mutex<Receiver<(AuditRun, queue::Ticket)>>> = Arc::clone(&rx);
            let handle = std::thread::Builder::new()
                .name(format!("audit-worker-{i}"))
                .spawn(move || {
                    loop {
                        let next = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => break,
                        };
                        let Ok((run, ticket)) = next else { break };
                        runner.execute(&run);
                        drop(ticket);
                    }
                })
                .map_err(|e| StoreError::Pool(format!("cannot start worker: {e}")))?;
            threads.push(handle);
        }
        // Notifications go out whether or not this instance schedules audits.
        let notifier = notify::start(
            runner.store.clone(),
            config.notify.clone(),
            Arc::clone(&stop),
        )
        .map_err(|e| StoreError::Pool(format!("cannot start webhook delivery: {e}")))?;
        threads.push(notifier);
        if tick {
            if let Some(every) = config.purge_every {
                let purger = retention::start(runner.store.clone(), every, Arc::clone(&stop))
                    .map_err(|e| {
                        StoreError::Pool(format!("cannot start the retention purge: {e}"))
                    })?;
                threads.push(purger);
            }
            let runner = Arc::clone(&runner);
            let stop = Arc::clone(&stop);
            let every = config.tick_seconds.clamp(1, 59);
            let handle = std::thread::Builder::new()
                .name("audit-scheduler".into())
                .spawn(move || tick_loop(&runner, &stop, every))
                .map_err(|e| StoreError::Pool(format!("cannot start scheduler: {e}")))?;
            threads.push(handle);
        }
        Ok(Scheduler {
            runner,
            stop,
            threads,
        })
    }

    /// Stops scanning; workers finish the run in hand and exit once the runner is dropped.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::SeqCst);
        let Scheduler {
            runner, threads, ..
        } = self;
        drop(runner);
        for t in threads {
            if matches!(
                t.thread().name(),
                Some("audit-scheduler" | "retention-purge")
            ) {
                let _ = t.join();
            }
        }
    }
}

fn tick_loop(runner: &Arc<Runner>, stop: &AtomicBool, every: u32) {
    // job_scheduler_ng's schedules have a seconds field, and its first tick never fires, so
    // scan once right away.
    scan_logged(runner);
    let mut sched = job_scheduler_ng::JobScheduler::new();
    let expr = format!("1/{every} * * * * *");
    let job_runner = Arc::clone(runner);
    match expr.parse() {
        Ok(schedule) => {
            sched.add(job_scheduler_ng::Job::new(schedule, move || {
                scan_logged(&job_runner);
            }));
        }
        Err(e) => {
            tracing::error!(error = %e, expr, "invalid scheduler expression; scheduler stopped");
            return;
        }
    }
    while !stop.load(Ordering::SeqCst) {
        sched.tick();
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn stale_before(config: &SchedulerConfig) -> DateTime<Utc> {
    audit_store::now()
        - chrono::Duration::from_std(config.run_timeout).unwrap_or(chrono::Duration::hours(1))
}

fn scan_logged(runner: &Runner) {
    // Runs of instances that died (or hung) past the time limit. Checked with a read first:
    // a write every tick would take the SQLite write lock and invalidate the response cache.
    let before = stale_before(&runner.config);
    let closed = runner
        .store
        .read(|c| audits::any_interrupted(c, before))
        .and_then(|any| {
            if any {
                runner
                    .store
                    .write(|c| audits::close_interrupted(c, audit_store::now(), Some(before)))
            } else {
                Ok(0)
            }
        });
    match closed {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            closed = n,
            "closed audits running past their time limit as FAILED"
        ),
        Err(e) => tracing::error!(error = %e, "cannot close stale audits"),
    }
    match runner.scan(audit_store::now()) {
        Ok(0) => {}
        Ok(n) => tracing::info!(claimed = n, "scheduled audits claimed"),
        Err(e) => tracing::error!(error = %e, "scheduler scan failed"),
    }
}

/// Keeps only the findings the policy's scope covers, and re-derives the verdict from them.
fn apply_scope(outcome: &mut AuditOutcome, scope: &AuditScope) {
    outcome.findings.retain(|f| scope.covers(f.category));
    outcome.recount();
}

/// What the model's previous judged passive windows showed above LOW (`statistics.above_low`),
/// most recent first, for the persistence requirement of `k` consecutive windows. Windows that
/// judged nothing (execution FAILED, or fewer than `min_samples` rows, as a run-now soon after a
/// scheduled run has) are passed over, so they neither extend nor break a streak.
fn above_low_history(
    c: &mut audit_store::AnyConnection,
    model_id: &str,
    t: &Thresholds,
) -> Result<Vec<Vec<String>>, StoreError> {
    let need = t.persistence_windows.saturating_sub(1) as usize;
    let runs = audits::recent_finished(c, model_id, AuditType::Passive, (need * 3 + 3) as i64)?;
    let mut out = Vec::new();
    for r in runs {
        if out.len() == need {
            break;
        }
        if r.execution_status == Some(ExecutionStatus::Failed) {
            continue;
        }
        let Some(summary) = audits::summary(c, &r.audit_id)? else {
            continue;
        };
        let stats = &summary.metrics["statistics"];
        if stats["n_current"]
            .as_u64()
            .is_none_or(|n| n < t.min_samples)
        {
            continue;
        }
        let keys = stats["above_low"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        out.push(keys);
    }
    Ok(out)
}

/// The passive check families the scope leaves out, as recorded on the run's evidence.
fn skipped(scope: &AuditScope) -> Vec<&'static str> {
    [
        ("drift", scope.drift),
        ("bias", scope.bias),
        ("risk", scope.risk),
        ("compliance", scope.compliance),
    ]
    .into_iter()
    .filter(|(_, on)| !on)
    .map(|(name, _)| name)
    .collect()
}

impl Runner {
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn sources(&self) -> &SourcePolicy {
        &self.sources
    }

    /// Claims and queues due policies' runs, as many as the scheduled room holds (run-now has
    /// its own); the others stay due for a later tick. Returns how many.
    pub fn scan(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let room = self.slots.scheduled_room();
        if room == 0 {
            return Ok(0);
        }
        let due = self
            .store
            .read(|c| policies::due(c, now, self.config.batch.min(room as i64)))?;
        let mut claimed = 0;
        for p in due {
            match self.claim_scheduled(&p, now) {
                Ok(runs) => {
                    for run in runs {
                        let ticket = self.slots.scheduled();
                        if self.enqueue(run, ticket).is_ok() {
                            claimed += 1;
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(policy = p.id, model_id = %p.model_id, error = %e, "claim failed")
                }
            }
        }
        Ok(claimed)
    }

    /// In one transaction: move the policy to its next slot (only if still at `slot`) and
    /// insert the runs for `slot`: the passive one, and the active one when the policy enables
    /// it and the model has a probe target. Empty when someone else claimed the slot.
    fn claim_scheduled(&self, p: &Policy, now: DateTime<Utc>) -> Result<Vec<AuditRun>, StoreError> {
        let Some(slot) = p.next_run_at else {
            return Ok(Vec::new());
        };
        let next = next_after(slot, now, p.audit_frequency, self.config.time_scale);
        self.store.write(|c| {
            if !policies::advance(c, p.id, slot, next)? {
                return Ok(Vec::new());
            }
            // Archived since the scan read the policy: its slot passes unrun.
            let Some(model) = models::get(c, &p.model_id)?.filter(|m| !m.is_archived()) else {
                return Ok(Vec::new());
            };
            let mut types = vec![AuditType::Passive];
            // Probing needs both the permission and the scope: `active_security` off means
            // the security checks are not performed at all.
            if p.active_audit_enabled && p.audit_scope.active_security {
                if targets::get(c, &p.model_id)?.is_some() {
                    types.push(AuditType::Active);
                } else {
                    // Said, not silently skipped: the policy asks for probes nobody can send.
                    audit_store::repo::events::emit(
                        c,
                        &p.model_id,
                        "policy.warning",
                        serde_json::json!({"warning": NO_TARGET_WARNING, "slot": slot}),
                    )?;
                }
            }
            let mut runs = Vec::new();
            for t in types {
                let start = audits::last_window_end(c, &p.model_id, t)?;
                runs.extend(audits::claim(
                    c,
                    &audits::NewRun {
                        audit_id: new_audit_id(),
                        model_id: p.model_id.clone(),
                        audit_type: t,
                        scheduled_at: slot,
                        trigger: Trigger::Schedule,
                        model_version: model.version.clone(),
                        window_start: start,
                        window_end: now,
                        actor: "scheduler".into(),
                    },
                )?);
            }
            Ok(runs)
        })
    }

    /// Claims a run of `model_id` now (`POST /models/{model_id}/audits`) and queues it. An
    /// active run needs the policy's permission and the model's probe target. Refused with
    /// [`RunError::Busy`] while the model has a run-now audit queued or running, or its tenant
    /// or the server has no run-now room left.
    pub fn run_now(
        &self,
        model_id: &str,
        audit_type: AuditType,
        actor: &str,
    ) -> Result<AuditRun, RunError> {
        self.claim_now(model_id, |c, model, now| {
            // Seed 000: active audits run ONLY if the policy's active_audit_enabled is true.
            if audit_type == AuditType::Active
                && !policies::of_model(c, model_id)?.is_some_and(|p| p.active_audit_enabled)
            {
                return Err(StoreError::Conflict(format!(
                    "active audits are not enabled for model '{model_id}': set active_audit_enabled to true in its policy first"
                )));
            }
            if audit_type == AuditType::Active && targets::get(c, model_id)?.is_none() {
                return Err(StoreError::Invalid(format!(
                    "model '{model_id}' has no active target: set one with PUT /models/{model_id}/active-target"
                )));
            }
            let start = audits::last_window_end(c, model_id, audit_type)?;
            audits::claim(
                c,
                &audits::NewRun {
                    audit_id: new_audit_id(),
                    model_id: model_id.to_owned(),
                    audit_type,
                    scheduled_at: now,
                    trigger: Trigger::Manual,
                    model_version: model.version,
                    window_start: start,
                    window_end: now,
                    actor: actor.to_owned(),
                },
            )
        })
    }

    /// Claims the run that builds a named baseline (`POST /v1/baselines`) and queues it: a
    /// passive run over the asked window and source type whose profile, when it is usable, is
    /// approved as the model's baseline. Admitted like run-now.
    pub fn build_baseline(&self, b: NamedBaselineRequest) -> Result<AuditRun, RunError> {
        self.claim_now(&b.model_id, |c, model, now| {
            let audit_id = new_audit_id();
            let Some(run) = audits::claim(
                c,
                &audits::NewRun {
                    audit_id: audit_id.clone(),
                    model_id: b.model_id.clone(),
                    audit_type: AuditType::Passive,
                    scheduled_at: now,
                    trigger: Trigger::Manual,
                    model_version: model.version,
                    window_start: b.window_start,
                    window_end: b.window_end.unwrap_or(now),
                    actor: b.actor.clone(),
                },
            )?
            else {
                return Ok(None);
            };
            baselines::create(
                c,
                &baselines::NewBaseline {
                    baseline_id: b.baseline_id.clone(),
                    project_id: model.project_id,
                    model_id: b.model_id.clone(),
                    audit_id,
                    name: b.name.clone(),
                    source_type: b.source_type.map(|t| t.as_str().to_owned()),
                    window_start: b.window_start,
                    window_end: run.window_end,
                    created_at: now,
                    created_by: b.actor.clone(),
                },
            )?;
            Ok(Some(run))
        })
    }

    /// What run-now and named baselines share: run-now admission, the model (present, not
    /// archived), `claim` in one transaction (it returns `None` when the slot is taken), the
    /// queue.
    fn claim_now(
        &self,
        model_id: &str,
        claim: impl FnOnce(
            &mut audit_store::AnyConnection,
            audit_store::Model,
            DateTime<Utc>,
        ) -> Result<Option<AuditRun>, StoreError>,
    ) -> Result<AuditRun, RunError> {
        let tenant = self
            .store
            .read(|c| audit_store::repo::tenants::tenant_of_model(c, model_id))?
            .ok_or_else(|| RunError::NotFound(format!("model '{model_id}' not found")))?;
        let ticket = self.slots.manual(model_id, &tenant)?;
        let now = audit_store::now();
        let run = self.store.write(|c| {
            let Some(model) = models::get(c, model_id)? else {
                return Err(StoreError::NotFound(format!(
                    "model '{model_id}' not found"
                )));
            };
            if model.is_archived() {
                return Err(models::archived_conflict(&model));
            }
            claim(c, model, now)
        });
        let run = match run {
            Ok(Some(run)) => run,
            Ok(None) => {
                return Err(RunError::Store(StoreError::Conflict(format!(
                    "an audit of '{model_id}' was started at this very instant; try again"
                ))));
            }
            Err(StoreError::NotFound(m)) => return Err(RunError::NotFound(m)),
            Err(e) => return Err(e.into()),
        };
        self.enqueue(run.clone(), ticket)?;
        Ok(run)
    }

    /// The room run-now has: (queued or running scheduled runs, run-now runs).
    pub fn in_flight(&self) -> (usize, usize) {
        self.slots.in_flight()
    }

    /// Queues a claimed run. The channel is unbounded (admission is counted by the tickets),
    /// so this fails only when the workers are gone (the server is stopping).
    fn enqueue(&self, run: AuditRun, ticket: queue::Ticket) -> Result<(), RunError> {
        if let Err(std::sync::mpsc::SendError((run, _ticket))) = self.queue.send((run, ticket)) {
            // Close the claimed run rather than leave it running forever.
            let closed = self
                .store
                .write(|c| audits::finish(c, &failed(&run, "the server was stopping".into())));
            if let Err(e) = closed {
                tracing::error!(audit_id = %run.audit_id, error = %e, "cannot close unqueued run");
            }
            return Err(RunError::Stopping);
        }
        Ok(())
    }

    /// Runs a claimed audit to the end and stores its results. Never panics on bad evidence:
    /// every problem ends as a FAILED or PARTIAL run with its reason.
    pub fn execute(&self, run: &AuditRun) {
        let started = std::time::Instant::now();
        let finish = match self.evaluate(run) {
            Ok(f) => f,
            Err(reason) => failed(run, reason),
        };
        let status = finish.execution_status;
        let result = finish.audit_result;
        match self.store.write(|c| audits::finish(c, &finish)) {
            Ok(_) => tracing::info!(
                audit_id = %run.audit_id,
                model_id = %run.model_id,
                execution_status = %status,
                audit_result = result.map(|r| r.as_str()).unwrap_or("-"),
                findings = finish.findings.len(),
                ms = started.elapsed().as_millis() as u64,
                "audit finished"
            ),
            Err(e) => {
                tracing::error!(audit_id = %run.audit_id, error = %e, "cannot store audit results");
                let _ = self.store.write(|c| {
                    audits::finish(c, &failed(run, format!("results could not be stored: {e}")))
                });
            }
        }
    }

    fn evaluate(&self, run: &AuditRun) -> Result<audits::FinishRun, String> {
        if run.audit_type == AuditType::Active {
            let (target, policy, tenant) = self
                .store
                .read(|c| {
                    Ok((
                        targets::get(c, &run.model_id)?,
                        policies::of_model(c, &run.model_id)?,
                        audit_store::repo::tenants::tenant_of_model(c, &run.model_id)?,
                    ))
                })
                .map_err(|e| e.to_string())?;
            let target = target.ok_or_else(|| "the model has no active target".to_string())?;
            let target = self
                .store
                .sealer()
                .and_then(|s| target.open(&s))
                .map_err(|e| e.to_string())?;
            let tenant =
                tenant.ok_or_else(|| format!("model '{}' no longer exists", run.model_id))?;
            // Read again at each run: a referenced file may have changed since it was saved.
            let plan = reference::load(
                policy.as_ref().and_then(|p| p.policy_reference.as_ref()),
                &self.sources.for_tenant(&tenant),
            )
            .and_then(|d| d.plan())
            .map_err(|e| format!("policy_reference: {e}"))?;
            return active::evaluate(run, &target, &plan, &self.sources.outbound);
        }
        let (model, mut sources, policy, named) = self
            .store
            .read(|c| {
                Ok((
                    models::get(c, &run.model_id)?,
                    models::sources_of(c, &run.model_id)?,
                    policies::of_model(c, &run.model_id)?,
                    baselines::of_run(c, &run.audit_id)?,
                ))
            })
            .map_err(|e| e.to_string())?;
        // A named baseline reads only the source type it asked for.
        if let Some(t) = named.as_ref().and_then(|b| b.source_type.as_deref()) {
            sources.retain(|s| s.source_type.as_str() == t);
        }
        let model = model.ok_or_else(|| format!("model '{}' no longer exists", run.model_id))?;
        // File evidence and policy documents of this model's tenant only.
        let tenant_sources = self.sources.for_tenant(&model.tenant_id);
        let thresholds = match policy.as_ref().and_then(|p| p.thresholds.clone()) {
            Some(v) => {
                let t: Thresholds =
                    serde_json::from_value(v).map_err(|e| format!("policy thresholds: {e}"))?;
                t.validate()
                    .map_err(|e| format!("policy thresholds: {e}"))?;
                t
            }
            None => Thresholds::default(),
        };
        let strategy = policy
            .as_ref()
            .map_or(audit_domain::BaselineStrategy::PreviousAudit, |p| {
                p.baseline_strategy
            });
        let scope = policy.as_ref().map(|p| p.audit_scope).unwrap_or_default();
        if sources.is_empty() {
            return Err("the model has no evidence source".into());
        }
        // Read again at each run: a referenced file may have changed since it was saved.
        let rule_set = reference::load(
            policy.as_ref().and_then(|p| p.policy_reference.as_ref()),
            &tenant_sources,
        )
        .and_then(|d| d.compliance_rules())
        .map_err(|e| format!("policy_reference: {e}"))?;

        // Window (start, end]: rows at or after `start` and before `end`.
        let window = TimeWindow {
            from: run.window_start,
            to: Some(run.window_end),
        };
        let mut profile = Profile::new();
        let mut files: Vec<FileSummary> = Vec::new();
        let mut pruned = audit_core::Skipped::default();
        let mut sample_ids = Vec::new();
        let sealer = self.store.sealer().map_err(|e| e.to_string())?;
        for s in &sources {
            // The stored config is masked; the full one (secrets included) is opened here only.
            let config = s
                .open_config(&sealer)
                .map_err(|e| format!("{} source: {e}", s.source_type));
            let got: Result<Collected, String> = match s.source_type {
                ConnectionType::Logs | ConnectionType::Batch | ConnectionType::Container => {
                    config.and_then(|c| tenant_sources.read_files(&c, window))
                }
                ConnectionType::Api => config.and_then(|c| self.sources.fetch_summary(&c)),
                ConnectionType::Sample => {
                    let pending = self
                        .store
                        .read(|c| samples::pending(c, &run.model_id))
                        .map_err(|e| e.to_string())?;
                    sample_ids.extend(pending.iter().map(|(id, _)| *id));
                    sources::merge_samples(&pending).map(|profile| Collected {
                        files: vec![FileSummary {
                            path: format!("samples:{}", pending.len()),
                            format: "sample-profile".into(),
                            bytes: 0,
                            rows: profile.rows_read(),
                            error: None,
                        }],
                        profile,
                        pruned: Default::default(),
                    })
                }
            };
            match got {
                Ok(c) => {
                    profile.merge_from(&c.profile).map_err(|e| e.to_string())?;
                    files.extend(c.files);
                    pruned.add(&c.pruned);
                }
                Err(e) => files.push(FileSummary {
                    path: format!("source {} ({})", s.id, s.source_type),
                    format: s.source_type.as_str().into(),
                    bytes: 0,
                    rows: 0,
                    error: Some(e),
                }),
            }
        }

        // Each source's profile was judged on its own; the window is judged as a whole.
        profile.pool_free_text();
        // A named baseline is built, not judged: it is compared with nothing.
        let baseline = if named.is_some() {
            None
        } else {
            self.store
                .read(|c| audits::baseline(c, &run.model_id, strategy, &model.version))
                .map_err(|e| e.to_string())?
        };
        let (baseline_id, baseline_profile) = match baseline {
            Some((id, json)) => (
                Some(id),
                Some(
                    audit_core::parse_profile(&json)
                        .map_err(|e| format!("baseline profile: {e}"))?,
                ),
            ),
            None => (None, None),
        };
        let mut outcome = audit_core::judge(
            Collected {
                profile,
                files,
                pruned,
            },
            baseline_profile.as_ref(),
            &thresholds,
        );
        // Compliance checks are performed only when in scope; the others are computed in one
        // pass by `judge`, so out-of-scope findings are dropped by `apply_scope`.
        let mut compliance_record = None;
        if scope.compliance && !rule_set.rules.is_empty() && named.is_none() {
            let process = self
                .store
                .read(|c| {
                    compliance::process_facts(
                        c,
                        run,
                        policy.as_ref().map(|p| p.audit_frequency),
                        baseline_id.as_deref(),
                        &outcome,
                        audit_store::now(),
                        self.config.time_scale,
                    )
                })
                .map_err(|e| e.to_string())?;
            let (results, findings) =
                compliance::check(&rule_set, &outcome, baseline_profile.is_some(), &process);
            outcome.findings.extend(findings);
            compliance_record = Some(compliance::record(&rule_set, &results));
        }
        apply_scope(&mut outcome, &scope);
        if thresholds.persistence_windows > 1 && outcome.audit_result.is_some() {
            let history = self
                .store
                .read(|c| above_low_history(c, &run.model_id, &thresholds))
                .map_err(|e| e.to_string())?;
            outcome.apply_persistence(&history, thresholds.persistence_windows);
        }
        let usable = outcome.execution_status != ExecutionStatus::Failed;
        let profile_json = if usable {
            Some(serde_json::to_string(&outcome.profile).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let metrics = serde_json::json!({
            "metrics": outcome.metrics,
            "baseline_metrics": outcome.baseline_metrics,
            "statistics": outcome.statistics,
        });
        Ok(audits::FinishRun {
            audit_id: run.audit_id.clone(),
            executed_at: audit_store::now(),
            execution_status: outcome.execution_status,
            audit_result: outcome.audit_result,
            execution_reason: (!outcome.execution_reasons.is_empty())
                .then(|| outcome.execution_reasons.join("; ")),
            evidence: serde_json::to_value(&outcome.evidence).ok().map(|mut e| {
                if let Some(o) = e.as_object_mut() {
                    o.insert("skipped".into(), serde_json::json!(skipped(&scope)));
                    if let Some(r) = compliance_record {
                        o.insert("compliance".into(), r);
                    }
                }
                e
            }),
            baseline_audit_id: if usable { baseline_id } else { None },
            summary: usable.then_some(audits::SummaryInput {
                drift_score: outcome.drift_score,
                bias_score: outcome.bias_score,
                risk_score: outcome.risk_score,
                metrics,
            }),
            auto_approve: outcome.audit_result == Some(AuditResult::BaselineCreated),
            findings: outcome.findings,
            profile: profile_json,
            samples: if usable { sample_ids } else { Vec::new() },
        })
    }
}

fn failed(run: &AuditRun, reason: String) -> audits::FinishRun {
    audits::FinishRun {
        audit_id: run.audit_id.clone(),
        executed_at: audit_store::now(),
        execution_status: ExecutionStatus::Failed,
        audit_result: None,
        execution_reason: Some(reason),
        evidence: None,
        baseline_audit_id: None,
        summary: None,
        findings: Vec::new(),
        profile: None,
        auto_approve: false,
        samples: Vec::new(),
    }
}

/// A new audit id: `aud_` and a random UUID.
pub fn new_audit_id() -> String {
    format!("aud_{}", uuid::Uuid::new_v4().simple())
}
