//! Input features end to end through the CLI: generated logs with numeric and categorical
//! feature columns, a mapping that names them, and the audit's statistics and findings.

use crate::{auditor, gen_file};
use serde_json::Value;

const MAPPING: &str = r#"
prediction = "prediction"
confidence = "confidence"
outcome = "outcome"
timestamp = "ts"
[features]
numeric = ["num_0", "num_1", "num_2"]
categorical = ["cat_0", "cat_1", "cat_2"]
"#;

fn audit(dir: &std::path::Path, current: &str, format: &str) -> crate::Run {
    auditor(
        dir,
        &[
            "audit",
            "-q",
            "-m",
            "mapping.toml",
            "--format",
            format,
            "--baseline",
            "base.csv",
            "--current",
            current,
        ],
    )
}

fn feature_findings(out: &Value) -> Vec<(String, String)> {
    out["findings"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter(|f| {
            f["metric_name"]
                .as_str()
                .unwrap_or("")
                .contains("_feature:")
        })
        .map(|f| {
            (
                f["metric_name"].as_str().unwrap_or("").to_owned(),
                f["severity"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn features_are_profiled_compared_and_judged() {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(d.path().join("mapping.toml"), MAPPING).expect("mapping");
    let rows = ["--rows", "20000", "--features", "3", "--format", "csv"];
    gen_file(
        d.path(),
        "base.csv",
        &[&rows[..], &["--seed", "1"]].concat(),
    );
    // Another sample of the same population, and a drifted one.
    gen_file(
        d.path(),
        "same.csv",
        &[&rows[..], &["--seed", "2"]].concat(),
    );
    gen_file(
        d.path(),
        "drifted.csv",
        &[&rows[..], &["--seed", "3", "--drift", "0.6"]].concat(),
    );

    let same = audit(d.path(), "same.csv", "json");
    let out = same.json();
    let features = &out["statistics"]["features"];
    for name in ["num_0", "num_1", "num_2", "cat_0", "cat_1", "cat_2"] {
        let f = &features[name];
        assert!(f["psi"].as_f64().is_some(), "{name}: {f}");
        assert_eq!(f["n_current"].as_u64(), Some(20_000), "{name}: {f}");
    }
    assert!(
        features["num_0"]["ks"].as_f64().unwrap_or(1.0) < 0.05,
        "{features}"
    );
    assert!(
        features["cat_0"].get("ks").is_none(),
        "no KS for categories"
    );
    let above_low: Vec<_> = feature_findings(&out)
        .into_iter()
        .filter(|(_, s)| s != "LOW")
        .collect();
    assert!(
        above_low.is_empty(),
        "unchanged features alarmed: {above_low:?}"
    );
    let tests = out["statistics"]["tests"].as_array().expect("tests");
    assert!(
        tests.iter().any(|t| t["id"] == "drift.feature.num_0"),
        "feature tests join the family: {tests:?}"
    );

    let drifted = audit(d.path(), "drifted.csv", "json").json();
    let found = feature_findings(&drifted);
    for name in ["num_0", "num_1", "cat_0"] {
        assert!(
            found
                .iter()
                .any(|(m, s)| m.ends_with(&format!(":{name}")) && s != "LOW"),
            "{name} drift not found: {found:?}"
        );
    }
    let w = drifted["statistics"]["features"]["num_1"]["wasserstein_norm"]
        .as_f64()
        .expect("wasserstein");
    assert!((0.5..0.7).contains(&w), "num_1 moved by 0.6 σ: {w}");

    let text = audit(d.path(), "drifted.csv", "text").stdout;
    assert!(text.contains("feature num_1"), "{text}");
}
