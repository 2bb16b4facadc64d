//! Feature sketches against exact values: numpy's quantiles and scipy's `ks_2samp` and
//! `wasserstein_distance` on the raw rows (`fixtures/sketch_reference.json`, made by
//! `fixtures/make_sketch_reference.py`), on heavy tails, zeros, negatives and constant columns.
//! Quantiles must be within the sketch's relative error; KS and the normalised Wasserstein
//! distance (÷ the baseline's standard deviation) within 0.01 of the exact values.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use audit_baseline::assess;
use audit_domain::{FeatureValue, NumericFeature, Profile, SKETCH_ALPHA, Thresholds};
use serde_json::Value;

fn feature(xs: &[Value]) -> NumericFeature {
    let mut f = NumericFeature::default();
    for x in xs {
        f.push(FeatureValue::Number(x.as_f64().unwrap()));
    }
    f
}

fn profile(name: &str, f: NumericFeature) -> Profile {
    let mut p = Profile::new();
    p.n = f.rows();
    p.features.numeric.insert(name.to_owned(), f);
    p
}

#[test]
fn sketches_match_numpy_and_scipy() {
    let text = include_str!("fixtures/sketch_reference.json");
    let cases: serde_json::Map<String, Value> = serde_json::from_str(text).unwrap();
    assert_eq!(cases.len(), 8);
    println!("| case | KS scipy | KS sketch | W/σ scipy | W/σ sketch |");
    println!("|---|---:|---:|---:|---:|");
    for (name, c) in &cases {
        let b = feature(c["baseline"].as_array().unwrap());
        let cur = feature(c["current"].as_array().unwrap());
        for (q, exact) in c["quantiles"].as_object().unwrap() {
            let q: f64 = q.parse().unwrap();
            let exact = exact.as_f64().unwrap();
            let got = b.sketch.quantile(q).unwrap();
            assert!(
                (got - exact).abs() <= exact.abs() * SKETCH_ALPHA * 1.0001 + 1e-9,
                "{name} q={q}: sketch {got}, numpy {exact}"
            );
        }
        let a = assess(
            &profile(name, cur),
            Some(&profile(name, b)),
            &Thresholds::default(),
        );
        let d = &a.statistics.features[name];
        let ks = d.ks.unwrap();
        let ks_exact = c["ks"].as_f64().unwrap();
        assert!(
            (ks - ks_exact).abs() <= 0.01,
            "{name}: KS {ks} vs scipy {ks_exact}"
        );
        let sd = c["baseline_std"].as_f64().unwrap();
        let w_exact = c["wasserstein"].as_f64().unwrap();
        let (w_norm, w_norm_exact) = if sd > 0.0 {
            (d.wasserstein_norm.unwrap(), w_exact / sd)
        } else {
            // A constant baseline has no σ: the raw distance is compared.
            (d.wasserstein.unwrap(), w_exact)
        };
        assert!(
            (w_norm - w_norm_exact).abs() <= 0.01,
            "{name}: W/σ {w_norm} vs scipy {w_norm_exact}"
        );
        println!("| {name} | {ks_exact:.4} | {ks:.4} | {w_norm_exact:.4} | {w_norm:.4} |");
    }
}
