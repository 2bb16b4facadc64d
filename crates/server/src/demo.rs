//! `auditor serve --demo`: loads the demo registry (seeds/demo.toml) into a fresh database,
//! writes each model's first evidence window, and runs a feeder that writes the next windows
//! ahead of time with the drift and bias the registry scripts, so that a person watching the
//! dashboard sees baselines first and then WARN and FAIL audits arrive.
//!
//! Evidence comes from the same generator as `auditor gen-evidence`.

use crate::synth::{GenSpec, Generator, OutFormat, Style, write_text};
use anyhow::{Context, bail};
use audit_http::api::models::{RegisterModel, prepare};
use audit_scheduler::SourcePolicy;
use audit_store::Store;
use audit_store::repo::{models, policies};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// A demo day lasts 15 seconds.
pub const DEMO_TIME_SCALE: f64 = 5760.0;

/// Evidence files kept per model; older windows are outside every future audit window.
const KEEP_WINDOWS: usize = 6;

const MARKER_FILE: &str = ".auditor-demo";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSeed {
    pub models: Vec<DemoModel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoModel {
    /// Exactly the body of `POST /models/register`.
    pub register: RegisterModel,
    pub feed: Feed,
}

/// How the model's evidence evolves window by window (the last value repeats).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    /// The directory under the evidence root (the source's `path`).
    pub dir: String,
    #[serde(default = "ml")]
    pub style: String,
    pub seed: u64,
    pub rows_per_window: u64,
    #[serde(default)]
    pub drift: Vec<f64>,
    #[serde(default)]
    pub bias: Vec<f64>,
    #[serde(default)]
    pub invalid_rate: f64,
    /// The window from which the model is fixed (retrained on the population it now sees):
    /// the first audit that reads only windows from this one on is approved as the new
    /// baseline by the demo's operator, as a person would with `POST /audits/{id}/approve`.
    #[serde(default)]
    pub rebaseline_at: Option<usize>,
}

fn ml() -> String {
    "ml".into()
}

impl Feed {
    fn at(v: &[f64], window: usize) -> f64 {
        v.get(window).or(v.last()).copied().unwrap_or(0.0)
    }

    fn style(&self) -> anyhow::Result<Style> {
        match self.style.as_str() {
            "ml" => Ok(Style::Ml),
            "llm" => Ok(Style::Llm),
            s => bail!("feed style '{s}': expected ml or llm"),
        }
    }

    /// Writes window `k` covering `[start, start + period)`; the file appears atomically.
    fn write_window(
        &self,
        root: &Path,
        k: usize,
        start: DateTime<Utc>,
        period: Duration,
    ) -> anyhow::Result<()> {
        let dir = root.join(&self.dir);
        std::fs::create_dir_all(&dir)?;
        let rows = self.rows_per_window.max(1);
        let spec = GenSpec {
            rows,
            seed: self.seed.wrapping_add(k as u64 * 7919),
            drift: Self::at(&self.drift, k),
            bias: Self::at(&self.bias, k),
            style: self.style()?,
            start,
            interval_ms: (period.num_milliseconds() / rows as i64).max(1),
            invalid_rate: self.invalid_rate,
            marker: None,
            features: 0,
            non_ascii: false,
        };
        // Written beside the root and renamed in, so a reader never sees half a file.
        let staging = root.with_extension("staging");
        std::fs::create_dir_all(&staging)?;
        let tmp = staging.join(format!("{}-{k}.jsonl", self.dir.replace('/', "_")));
        {
            let f = std::fs::File::create(&tmp)?;
            let mut out = std::io::BufWriter::new(f);
            write_text(Generator::new(spec), OutFormat::Jsonl, &mut out)?;
            std::io::Write::flush(&mut out)?;
        }
        std::fs::rename(&tmp, dir.join(format!("window-{k:05}.jsonl")))?;
        if k >= KEEP_WINDOWS {
            let _ = std::fs::remove_file(dir.join(format!("window-{:05}.jsonl", k - KEEP_WINDOWS)));
        }
        Ok(())
    }
}

/// Empties the demo directory, refusing one that the demo did not create.
pub fn fresh_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let ours = dir.join(MARKER_FILE).exists();
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !ours && !empty {
            bail!(
                "'{}' exists and was not made by the demo; choose another --demo-dir",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot clear '{}'", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create '{}'", dir.display()))?;
    std::fs::write(dir.join(MARKER_FILE), "made by auditor serve --demo\n")?;
    Ok(())
}

pub fn read_seed(path: &Path) -> anyhow::Result<DemoSeed> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the demo registry '{}'", path.display()))?;
    let seed: DemoSeed = toml::from_str(&text)
        .with_context(|| format!("demo registry '{}' is not valid", path.display()))?;
    for m in &seed.models {
        m.feed.style()?;
    }
    Ok(seed)
}

/// The running feeder; [`Feeder::stop`] ends it.
#[derive(Debug)]
pub struct Feeder {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Feeder {
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Registers the demo models, writes the baseline window (in the past, so the first audit sees
/// it at once) and the first live window (ahead), and starts the feeder.
pub fn load(
    store: &Store,
    sources: &SourcePolicy,
    seed_path: &Path,
    evidence: &Path,
    time_scale: f64,
) -> anyhow::Result<Feeder> {
    let seed = read_seed(seed_path)?;
    let period = Duration::milliseconds((86_400_000.0 / time_scale.max(1.0)) as i64);
    let now = Utc::now();
    let mut feeds = Vec::new();
    for m in seed.models {
        let feed = m.feed;
        let model_id = m.register.model_id.clone();
        feed.write_window(evidence, 0, now - period, period)?;
        feed.write_window(evidence, 1, now, period)?;
        let (new, srcs, policy) = prepare(sources, m.register)
            .map_err(|e| anyhow::anyhow!("demo model: {}", e.detail))?;
        let id = new.model_id.clone();
        let sealer = store.sealer()?;
        store
            .write(|c| {
                models::insert(c, &sealer, &new, &srcs)?;
                if let Some(p) = &policy {
                    policies::insert(c, p)?;
                }
                audit_store::repo::log::record_for_model(
                    c,
                    &new.model_id,
                    "system",
                    "model.create",
                    "model",
                    &new.model_id,
                    serde_json::json!({"model_id": new.model_id, "name": new.name, "demo": true}),
                )?;
                Ok(())
            })
            .with_context(|| format!("cannot register demo model '{id}'"))?;
        tracing::info!(model_id = %id, "demo model registered");
        feeds.push((feed, model_id));
    }
    tracing::warn!(
        models = feeds.len(),
        seconds_per_day = period.num_milliseconds() as f64 / 1000.0,
        "DEMO MODE: fresh database, compressed time, synthetic evidence"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let root: PathBuf = evidence.to_path_buf();
    let store = store.clone();
    let handle = std::thread::Builder::new()
        .name("demo-feeder".into())
        .spawn(move || feed_loop(&feeds, &store, &root, now, period, &flag))?;
    Ok(Feeder {
        stop,
        handle: Some(handle),
    })
}

fn feed_loop(
    feeds: &[(Feed, String)],
    store: &Store,
    root: &Path,
    t0: DateTime<Utc>,
    period: Duration,
    stop: &AtomicBool,
) {
    let mut k = 2;
    let mut rebaselined = vec![false; feeds.len()];
    while !stop.load(Ordering::SeqCst) {
        // Window k covers [t0 + (k-1)·period, t0 + k·period); write it when window k-1 begins.
        let due = t0 + period * (k as i32 - 2);
        if Utc::now() >= due {
            for (f, _) in feeds {
                if let Err(e) = f.write_window(root, k, t0 + period * (k as i32 - 1), period) {
                    tracing::error!(dir = %f.dir, error = %e, "demo feeder cannot write");
                }
            }
            tracing::debug!(window = k, "demo evidence window written");
            k += 1;
        } else {
            for (i, (f, model_id)) in feeds.iter().enumerate() {
                if let Some(w) = f.rebaseline_at.filter(|_| !rebaselined[i]) {
                    let from = t0 + period * (w as i32 - 1);
                    match rebaseline(store, model_id, from) {
                        Ok(done) => rebaselined[i] = done,
                        Err(e) => {
                            tracing::error!(model_id = %model_id, error = %e, "demo cannot approve a new baseline")
                        }
                    }
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

/// Approves the model's latest judged audit as its baseline once that audit read only evidence
/// from `from` on; true when done.
fn rebaseline(store: &Store, model_id: &str, from: DateTime<Utc>) -> anyhow::Result<bool> {
    use audit_domain::{AuditType, ExecutionStatus};
    use audit_store::repo::audits;
    let latest = store.read(|c| audits::recent_finished(c, model_id, AuditType::Passive, 1))?;
    let Some(run) = latest.into_iter().next() else {
        return Ok(false);
    };
    let judged = matches!(
        run.execution_status,
        Some(ExecutionStatus::Success | ExecutionStatus::Partial)
    );
    if !judged || run.window_start.is_none_or(|s| s < from) {
        return Ok(false);
    }
    let id = run.audit_id.clone();
    store.write(|c| {
        audits::approve(
            c,
            &id,
            "demo-operator",
            Some("model retrained on the new population; its first audit approved as the new baseline"),
        )
    })?;
    tracing::info!(model_id = %model_id, audit_id = %id, "demo: new baseline approved");
    Ok(true)
}
