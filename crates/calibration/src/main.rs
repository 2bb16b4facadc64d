//! `calibration`: how often the audit engine alarms on windows drawn from an unchanged
//! population (false alarms), and how often it finds real shifts (power), by Monte Carlo.
//!
//! Each trial draws a baseline window and a current window, builds their profiles with the
//! engine's own profile builder, and judges them with `audit_baseline::assess` and the
//! default thresholds (or `--alpha`). Trials are seeded by (shape, n, trial), so the table is
//! the same whatever the thread count. Run by `bench/calibration.sh`; figures are in
//! docs/benchmarks.md.

mod shapes;

use anyhow::Context;
use audit_baseline::assess;
use audit_domain::{FieldMapping, Record, RecordSink, Severity, Thresholds};
use audit_metrics::ProfileBuilder;
use clap::Parser;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use shapes::{Population, Shape};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Parser, Debug)]
#[command(about = "Monte Carlo calibration of the audit engine's findings")]
struct Args {
    /// Current-window sizes.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "50,100,300,1000,2000,10000,100000,1000000"
    )]
    sizes: Vec<u64>,
    /// Trials per size up to 10,000 rows.
    #[arg(long, default_value_t = 5000)]
    trials: u64,
    /// Trials at 100,000 rows.
    #[arg(long, default_value_t = 500)]
    trials_100k: u64,
    /// Trials at 1,000,000 rows.
    #[arg(long, default_value_t = 100)]
    trials_1m: u64,
    /// Only the shapes whose name contains this.
    #[arg(long)]
    shape: Option<String>,
    /// Family-wise significance level (default: the engine's default).
    #[arg(long)]
    alpha: Option<f64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// What one trial found.
#[derive(Default, Clone)]
struct Tally {
    trials: u64,
    /// Audits with any finding above LOW.
    any_medium: u64,
    /// Audits with a finding of a target rule at HIGH or worse.
    found_high: u64,
    /// Rule → audits where it was MEDIUM or worse.
    medium_by_rule: BTreeMap<String, u64>,
    /// Rule → audits where it was HIGH or worse.
    high_by_rule: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.trials += o.trials;
        self.any_medium += o.any_medium;
        self.found_high += o.found_high;
        for (k, v) in &o.medium_by_rule {
            *self.medium_by_rule.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.high_by_rule {
            *self.high_by_rule.entry(k.clone()).or_default() += v;
        }
    }
}

fn mapping(gt: bool, features: bool) -> FieldMapping {
    let mut m = FieldMapping {
        confidence: Some("confidence".into()),
        outcome: Some("outcome".into()),
        ground_truth: gt.then(|| "actual".into()),
        protected: vec!["group".into()],
        ..FieldMapping::new("prediction")
    };
    if features {
        m.features.numeric = (0..shapes::FEATURES).map(|i| format!("num_{i}")).collect();
        m.features.categorical = (0..shapes::FEATURES).map(|i| format!("cat_{i}")).collect();
    }
    m
}

fn window(p: &Population, rows: u64, labelled: bool, rng: &mut SmallRng) -> audit_domain::Profile {
    let m = mapping(labelled && p.ground_truth.is_some(), p.features.is_some());
    let mut b = ProfileBuilder::new(&m);
    let mut rec = Record::default();
    let (mut numeric, mut categorical) = (Vec::new(), Vec::new());
    for _ in 0..rows {
        p.features(rng, &mut numeric, &mut categorical);
        rec.numeric.clear();
        rec.numeric.extend(
            numeric
                .iter()
                .map(|x| audit_domain::FeatureValue::Number(*x)),
        );
        rec.categorical.clear();
        rec.categorical
            .extend(categorical.iter().map(|c| Cow::Borrowed(*c)));
        let (label, confidence, outcome, actual, group) = p.row(rng);
        rec.prediction = Cow::Borrowed(label);
        rec.confidence = Some(confidence);
        rec.outcome = Some(outcome);
        rec.ground_truth = actual.filter(|_| labelled);
        rec.groups.clear();
        rec.groups.push(Cow::Borrowed(group));
        b.observe(&rec);
    }
    b.finish()
}

fn trial(shape: &Shape, n: u64, seed: u64, t: &Thresholds) -> Tally {
    let mut rng = SmallRng::seed_from_u64(seed);
    let base = window(&shape.baseline, n * shape.baseline_factor, true, &mut rng);
    let cur = window(&shape.current, n, !shape.unlabelled_current, &mut rng);
    let a = assess(&cur, Some(&base), t);
    let mut out = Tally {
        trials: 1,
        ..Tally::default()
    };
    for f in &a.findings {
        let rule = f.rule_id.clone().unwrap_or_default();
        if f.severity >= Severity::Medium {
            out.medium_by_rule.insert(rule.clone(), 1);
        }
        if f.severity >= Severity::High {
            out.high_by_rule.insert(rule, 1);
        }
    }
    out.any_medium = u64::from(!out.medium_by_rule.is_empty());
    if let Some(target) = &shape.target {
        out.found_high = u64::from(target.iter().any(|r| out.high_by_rule.contains_key(*r)));
    }
    out
}

fn seed_of(shape: usize, n: u64, trial: u64) -> u64 {
    // SplitMix-style mixing keeps nearby (shape, n, trial) triples far apart.
    let mut x = (shape as u64) << 56 ^ n.rotate_left(20) ^ trial;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn run(shape: &Shape, idx: usize, n: u64, trials: u64, threads: usize, t: &Thresholds) -> Tally {
    let mut total = Tally::default();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|w| {
                s.spawn(move || {
                    let mut part = Tally::default();
                    let mut k = w;
                    while k < trials {
                        part.add(&trial(shape, n, seed_of(idx, n, k), t));
                        k += threads as u64;
                    }
                    part
                })
            })
            .collect();
        for h in handles {
            if let Ok(part) = h.join() {
                total.add(&part);
            }
        }
    });
    total
}

/// Upper end of the 95 % Wilson interval of a proportion.
fn wilson_upper(x: u64, n: u64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let (x, n, z) = (x as f64, n as f64, 1.959_963_984_540_054);
    let p = x / n;
    let centre = p + z * z / (2.0 * n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre + half) / (1.0 + z * z / n)).min(1.0)
}

fn pct(x: u64, n: u64) -> String {
    format!("{:.1} %", 100.0 * x as f64 / n.max(1) as f64)
}

fn rules(by: &BTreeMap<String, u64>, n: u64) -> String {
    if by.is_empty() {
        return "–".into();
    }
    by.iter()
        .map(|(r, x)| format!("{r} {}", pct(*x, n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut t = Thresholds::default();
    if let Some(a) = args.alpha {
        t.alpha = a;
    }
    t.validate().context("thresholds")?;
    let threads = args
        .threads
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Calibration at alpha = {} (family-wise), min_samples = {}, min_group_size = {}; {threads} threads.\n",
        t.alpha, t.min_samples, t.min_group_size
    )?;
    for (idx, shape) in shapes::all().iter().enumerate() {
        if args
            .shape
            .as_deref()
            .is_some_and(|s| !shape.name.contains(s))
        {
            continue;
        }
        writeln!(out, "### {}\n\n{}.\n", shape.name, shape.about)?;
        if shape.target.is_some() {
            writeln!(
                out,
                "| n | trials | found at HIGH+ | HIGH+ by rule | any MEDIUM+ by rule |"
            )?;
            writeln!(out, "|---:|---:|---:|---|---|")?;
        } else {
            writeln!(
                out,
                "| n | trials | audits with any MEDIUM+ | 95 % upper bound | MEDIUM+ by rule |"
            )?;
            writeln!(out, "|---:|---:|---:|---:|---|")?;
        }
        for &n in &args.sizes {
            let trials = match n {
                0..=10_000 => args.trials,
                10_001..=100_000 => args.trials_100k,
                _ => args.trials_1m,
            };
            let started = std::time::Instant::now();
            let r = run(shape, idx, n, trials, threads, &t);
            let line = if shape.target.is_some() {
                format!(
                    "| {n} | {trials} | {} | {} | {} |",
                    pct(r.found_high, r.trials),
                    rules(&r.high_by_rule, r.trials),
                    rules(&r.medium_by_rule, r.trials)
                )
            } else {
                format!(
                    "| {n} | {trials} | {} | {:.1} % | {} |",
                    pct(r.any_medium, r.trials),
                    100.0 * wilson_upper(r.any_medium, r.trials),
                    rules(&r.medium_by_rule, r.trials)
                )
            };
            writeln!(out, "{line}")?;
            out.flush()?;
            eprintln!(
                "{} n={n}: {:.1} s",
                shape.name,
                started.elapsed().as_secs_f64()
            );
        }
        writeln!(out)?;
    }
    Ok(())
}
