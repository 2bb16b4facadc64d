//! End-to-end tests of the `auditor` binary: generated evidence in every format, audits as a
//! CI gate, and bad input that must be counted or refused, never panic.

mod backup;
mod features;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}): {}\n{}", self.stdout, self.stderr)
        })
    }
}

fn auditor(dir: &Path, args: &[&str]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_auditor"))
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run auditor");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "auditor panicked: {}",
        run.stderr
    );
    run
}

fn gen_file(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["gen-evidence", "-o", name];
    args.extend_from_slice(extra);
    let r = auditor(dir, &args);
    assert_eq!(r.code, 0, "gen-evidence failed: {}", r.stderr);
    dir.join(name)
}

fn profile(dir: &Path, files: &[&str]) -> Value {
    let mut args = vec!["profile", "-q"];
    args.extend_from_slice(files);
    let r = auditor(dir, &args);
    assert_eq!(r.code, 0, "profile failed: {}", r.stderr);
    r.json()
}

fn invalid(p: &Value, reason: &str) -> u64 {
    p["invalid"][reason].as_u64().unwrap_or(0)
}

#[test]
fn generation_is_deterministic_and_seed_dependent() {
    let d = tempfile::tempdir().expect("tempdir");
    let a = gen_file(d.path(), "a.jsonl", &["--rows", "500", "--seed", "7"]);
    let b = gen_file(d.path(), "b.jsonl", &["--rows", "500", "--seed", "7"]);
    let c = gen_file(d.path(), "c.jsonl", &["--rows", "500", "--seed", "8"]);
    let read = |p: &Path| std::fs::read(p).expect("read");
    assert_eq!(read(&a), read(&b));
    assert_ne!(read(&a), read(&c));
    assert_eq!(read(&a).iter().filter(|b| **b == b'\n').count(), 500);
}

#[test]
fn every_format_gives_the_same_profile() {
    let d = tempfile::tempdir().expect("tempdir");
    let common = ["--rows", "3000", "--seed", "3"];
    gen_file(d.path(), "e.jsonl", &common);
    gen_file(
        d.path(),
        "e.csv",
        &[&common[..], &["--format", "csv"]].concat(),
    );
    gen_file(
        d.path(),
        "e.parquet",
        &[&common[..], &["--format", "parquet"]].concat(),
    );
    gen_file(d.path(), "e.jsonl.gz", &common);
    gen_file(
        d.path(),
        "e.csv.gz",
        &[&common[..], &["--format", "csv"]].concat(),
    );
    let reference = profile(d.path(), &["e.jsonl"]);
    assert_eq!(reference["n"], 3000);
    for other in ["e.csv", "e.parquet", "e.jsonl.gz", "e.csv.gz"] {
        let p = profile(d.path(), &[other]);
        for key in ["n", "labels", "confidence_histogram", "positives", "groups"] {
            assert_eq!(p[key], reference[key], "{other}: {key} differs");
        }
        let (a, b) = (
            p["confidence"]["mean"].as_f64().expect("mean"),
            reference["confidence"]["mean"].as_f64().expect("mean"),
        );
        assert!((a - b).abs() < 1e-12, "{other}: mean {a} vs {b}");
    }
}

#[test]
fn directories_and_globs_read_every_matching_file() {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(d.path().join("logs")).expect("mkdir");
    for seed in ["1", "2", "3"] {
        gen_file(
            d.path(),
            &format!("logs/part-{seed}.jsonl"),
            &["--rows", "100", "--seed", seed],
        );
    }
    std::fs::write(d.path().join("logs/README.txt"), "not evidence").expect("write");
    assert_eq!(profile(d.path(), &["logs"])["n"], 300);
    assert_eq!(profile(d.path(), &["logs/part-[12].jsonl"])["n"], 200);
    assert_eq!(profile(d.path(), &["logs/*.jsonl"])["n"], 300);
}

#[test]
fn time_window_keeps_only_rows_inside() {
    let d = tempfile::tempdir().expect("tempdir");
    gen_file(
        d.path(),
        "w.jsonl",
        &[
            "--rows",
            "1000",
            "--start",
            "2026-03-01T00:00:00Z",
            "--interval-ms",
            "60000",
        ],
    );
    // 1000 rows one minute apart: 10:00 to 12:00 holds exactly 120 of them.
    let r = auditor(
        d.path(),
        &[
            "profile",
            "-q",
            "--from",
            "2026-03-01T10:00:00Z",
            "--to",
            "2026-03-01T12:00:00Z",
            "w.jsonl",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p = r.json();
    assert_eq!(p["n"], 120);
    assert_eq!(p["out_of_window"], 880);
}

#[test]
fn identical_evidence_passes_and_drift_fails_the_gate() {
    let d = tempfile::tempdir().expect("tempdir");
    gen_file(d.path(), "base.jsonl", &["--rows", "20000", "--seed", "1"]);
    gen_file(d.path(), "same.jsonl", &["--rows", "20000", "--seed", "1"]);
    gen_file(
        d.path(),
        "drifted.jsonl",
        &[
            "--rows", "20000", "--seed", "2", "--drift", "0.6", "--bias", "0.3",
        ],
    );

    let pass = auditor(
        d.path(),
        &[
            "audit",
            "-q",
            "--baseline",
            "base.jsonl",
            "--current",
            "same.jsonl",
        ],
    );
    assert_eq!(pass.code, 0, "{}", pass.stderr);
    let out = pass.json();
    assert_eq!(out["audit_result"], "AUDIT_PASS");
    assert_eq!(out["execution_status"], "SUCCESS");
    assert_eq!(out["drift_score"].as_f64(), Some(0.0));
    assert_eq!(out["risk_score"].as_f64(), Some(0.0));
    assert_eq!(out["statistics"]["psi_label"].as_f64(), Some(0.0));

    let fail = auditor(
        d.path(),
        &[
            "audit",
            "-q",
            "--baseline",
            "base.jsonl",
            "--current",
            "drifted.jsonl",
        ],
    );
    assert_eq!(fail.code, 1, "{}", fail.stderr);
    let out = fail.json();
    assert_eq!(out["audit_result"], "AUDIT_FAIL");
    for key in [
        "label_distribution",
        "avg_confidence",
        "outcome_rate",
        "confidence_variance",
        "protected_group_outcomes",
    ] {
        assert!(!out["metrics"][key].is_null(), "metrics.{key} missing");
    }
    for key in [
        "psi_label",
        "js_label",
        "chi2_p_label",
        "psi_confidence",
        "js_confidence",
    ] {
        assert!(
            out["statistics"][key].as_f64().is_some(),
            "statistics.{key}"
        );
    }
    assert!(
        out["statistics"]["bias"]["gender"]["dpd"]
            .as_f64()
            .is_some()
    );
    assert!(
        out["statistics"]["bias"]["gender"]["dir"]
            .as_f64()
            .is_some()
    );
    let findings = out["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    for f in findings {
        for key in [
            "rule_id",
            "severity",
            "category",
            "metric_name",
            "baseline_value",
            "current_value",
            "deviation_percentage",
            "description",
        ] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
    }
    assert!(findings.iter().any(|f| f["category"] == "drift"));
    assert!(findings.iter().any(|f| f["category"] == "bias"));
    let severe =
        out["high_findings"].as_u64().unwrap_or(0) + out["critical_findings"].as_u64().unwrap_or(0);
    assert!(severe > 0, "{out}");

    // The text report carries the same verdict and exit code.
    let text = auditor(
        d.path(),
        &[
            "audit",
            "-q",
            "--format",
            "text",
            "--baseline",
            "base.jsonl",
            "--current",
            "drifted.jsonl",
        ],
    );
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("AUDIT_FAIL"), "{}", text.stdout);
}

#[test]
fn a_saved_profile_serves_as_baseline_and_thresholds_override() {
    let d = tempfile::tempdir().expect("tempdir");
    gen_file(d.path(), "base.jsonl", &["--rows", "20000", "--seed", "1"]);
    gen_file(
        d.path(),
        "cur.jsonl",
        &["--rows", "20000", "--seed", "2", "--drift", "0.6"],
    );
    let r = auditor(
        d.path(),
        &["profile", "-q", "-o", "base.json", "base.jsonl"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    let from_files = auditor(
        d.path(),
        &[
            "audit",
            "-q",
            "--baseline",
            "base.jsonl",
            "--current",
            "cur.jsonl",
        ],
    )
    .json();
    let from_profile = auditor(
        d.path(),
        &[
            "audit",
            "-q",
            "--baseline",
            "base.json",
            "--current",
            "cur.jsonl",
        ],
    )
    .json();
    assert_eq!(from_files["statistics"], from_profile["statistics"]);
    assert_eq!(from_files["findings"], from_profile["findings"]);
    assert_eq!(from_profile["audit_result"], "AUDIT_FAIL");

    // Thresholds so lax that nothing is flagged turn the same data into a pass.
    std::fs::write(
        d.path().join("lax.toml"),
        "[psi]\nmedium = 50.0\nhigh = 60.0\ncritical = 70.0\n\
         [js]\nmedium = 0.97\nhigh = 0.98\ncritical = 0.99\n\
         [avg_confidence_change]\nmedium = 0.97\nhigh = 0.98\ncritical = 0.99\n\
         [outcome_rate_change]\nmedium = 0.97\nhigh = 0.98\ncritical = 0.99\n\
         [dpd_increase]\nmedium = 0.97\nhigh = 0.98\ncritical = 0.99\n\
         [accuracy_drop]\nmedium = 0.97\nhigh = 0.98\ncritical = 0.99\n\
         [dir]\nhigh = 0.0001\ncritical = 0.00001\n",
    )
    .expect("write thresholds");
    let lax = auditor(
        d.path(),
        &[
            "audit",
            "-q",
            "--baseline",
            "base.json",
            "--current",
            "cur.jsonl",
            "--thresholds",
            "lax.toml",
        ],
    );
    assert_eq!(lax.code, 0, "{}\n{}", lax.stdout, lax.stderr);
    assert_eq!(lax.json()["audit_result"], "AUDIT_PASS");

    let save = auditor(
        d.path(),
        &[
            "audit",
            "-q",
            "--baseline",
            "base.json",
            "--current",
            "cur.jsonl",
            "--save-profile",
            "next.json",
        ],
    );
    assert_eq!(save.code, 1);
    let next: Value =
        serde_json::from_slice(&std::fs::read(d.path().join("next.json")).expect("read"))
            .expect("json");
    assert_eq!(next["n"], 20000);
}

#[test]
fn bad_rows_are_counted_by_reason() {
    let d = tempfile::tempdir().expect("tempdir");
    let good = r#"{"prediction":"approve","confidence":0.9,"outcome":true,"actual":true,"gender":"female","age_band":"18-29","ts":"2026-03-01T00:00:00Z"}"#;
    let lines = [
        good.to_string(),
        // Truncated JSON.
        good[..good.len() / 2].to_string(),
        // Missing the prediction.
        r#"{"confidence":0.5,"outcome":true,"gender":"male","age_band":"18-29","ts":"2026-03-01T00:00:00Z"}"#.to_string(),
        // Wrong type: confidence is an object.
        r#"{"prediction":"deny","confidence":{"v":1},"outcome":false,"gender":"male","age_band":"18-29","ts":"2026-03-01T00:00:00Z"}"#.to_string(),
        // Out of range and non-finite confidences.
        r#"{"prediction":"deny","confidence":1.5,"outcome":false,"gender":"male","age_band":"18-29","ts":"2026-03-01T00:00:00Z"}"#.to_string(),
        r#"{"prediction":"deny","confidence":"NaN","outcome":false,"gender":"male","age_band":"18-29","ts":"2026-03-01T00:00:00Z"}"#.to_string(),
        r#"{"prediction":"deny","confidence":-0.1,"outcome":false,"gender":"male","age_band":"18-29","ts":"2026-03-01T00:00:00Z"}"#.to_string(),
        // A timestamp that is not a time.
        r#"{"prediction":"deny","confidence":0.2,"outcome":false,"gender":"male","age_band":"18-29","ts":"yesterday"}"#.to_string(),
        good.to_string(),
    ];
    let mut text = lines.join("\n");
    text.push('\n');
    // Invalid UTF-8 inside a string.
    text.push_str("{\"prediction\":\"a");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"\",\"confidence\":0.5}\n");
    std::fs::write(d.path().join("bad.jsonl"), &bytes).expect("write");

    let p = profile(d.path(), &["bad.jsonl"]);
    assert_eq!(p["n"], 2, "{p}");
    assert_eq!(invalid(&p, "parse_error"), 1, "{p}");
    assert_eq!(invalid(&p, "missing_field"), 1, "{p}");
    assert_eq!(invalid(&p, "wrong_type"), 1, "{p}");
    assert!(invalid(&p, "confidence_out_of_range") >= 2, "{p}");
    assert_eq!(
        invalid(&p, "confidence_out_of_range") + invalid(&p, "wrong_type"),
        4,
        "{p}"
    );
    assert_eq!(invalid(&p, "bad_timestamp"), 1, "{p}");
    assert_eq!(invalid(&p, "bad_encoding"), 1, "{p}");

    // As current evidence of an audit, 8 bad rows of 10 make the run FAILED: exit 2.
    gen_file(d.path(), "base.jsonl", &["--rows", "500"]);
    let r = auditor(
        d.path(),
        &[
            "audit",
            "-q",
            "--baseline",
            "base.jsonl",
            "--current",
            "bad.jsonl",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    let out = r.json();
    assert_eq!(out["execution_status"], "FAILED");
    assert!(out["audit_result"].is_null());
    assert!(
        !out["execution_reasons"]
            .as_array()
            .expect("reasons")
            .is_empty()
    );
}

#[test]
fn a_few_bad_rows_make_a_partial_run() {
    let d = tempfile::tempdir().expect("tempdir");
    gen_file(d.path(), "base.jsonl", &["--rows", "5000", "--seed", "1"]);
    gen_file(
        d.path(),
        "cur.jsonl",
        &["--rows", "5000", "--seed", "1", "--invalid-rate", "0.01"],
    );
    let r = auditor(
        d.path(),
        &[
            "audit",
            "-q",
            "--baseline",
            "base.jsonl",
            "--current",
            "cur.jsonl",
        ],
    );
    let out = r.json();
    assert_eq!(out["execution_status"], "PARTIAL", "{}", r.stdout);
    let invalid = out["evidence"]["rows_invalid"]
        .as_u64()
        .expect("rows_invalid");
    assert!(invalid > 0 && invalid < 250, "{invalid}");
    assert_eq!(
        out["evidence"]["rows_valid"].as_u64().expect("valid") + invalid,
        out["evidence"]["rows_read"].as_u64().expect("read")
    );
}

#[test]
fn an_overlong_line_is_skipped_and_the_next_one_read() {
    let d = tempfile::tempdir().expect("tempdir");
    let mut f = std::fs::File::create(d.path().join("long.jsonl")).expect("create");
    // A 10 MB single line: a valid object with a huge unmapped field.
    write!(f, "{{\"prediction\":\"approve\",\"pad\":\"").expect("write");
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..10 {
        f.write_all(&chunk).expect("write");
    }
    writeln!(f, "\"}}").expect("write");
    writeln!(f, "{{\"prediction\":\"deny\"}}").expect("write");
    drop(f);
    std::fs::write(d.path().join("m.toml"), "prediction = \"prediction\"\n").expect("mapping");
    let r = auditor(d.path(), &["profile", "-q", "-m", "m.toml", "long.jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p = r.json();
    assert_eq!(p["n"], 1, "{p}");
    assert_eq!(invalid(&p, "line_too_long"), 1, "{p}");
    assert_eq!(p["labels"]["deny"], 1, "{p}");

    // A larger cap accepts it.
    let r = auditor(
        d.path(),
        &[
            "profile",
            "-q",
            "-m",
            "m.toml",
            "--max-line-bytes",
            "20000000",
            "long.jsonl",
        ],
    );
    assert_eq!(r.json()["n"], 2);
}

#[test]
fn garbage_empty_and_missing_inputs_never_panic() {
    let d = tempfile::tempdir().expect("tempdir");
    // Deterministic binary garbage including NULs and newlines.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let garbage: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(d.path().join("garbage.jsonl"), &garbage).expect("write");
    std::fs::write(d.path().join("garbage.csv"), &garbage).expect("write");
    std::fs::write(d.path().join("garbage.parquet"), &garbage).expect("write");
    std::fs::write(d.path().join("garbage.jsonl.gz"), &garbage).expect("write");
    std::fs::write(d.path().join("empty.jsonl"), b"").expect("write");

    let p = profile(d.path(), &["garbage.jsonl"]);
    assert_eq!(p["n"], 0);
    let bad: u64 = p["invalid"]
        .as_object()
        .expect("invalid")
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(bad > 0, "{p}");

    // Files that cannot be read at all: a clear message per file, exit 0 with n = 0 for
    // `profile`, and the audit reports FAILED with the reason.
    for name in ["garbage.csv", "garbage.parquet", "garbage.jsonl.gz"] {
        let r = auditor(d.path(), &["profile", "-q", name]);
        assert!(r.code == 0 || r.code == 2, "{name}: {}", r.code);
        assert!(
            r.stderr.contains(name),
            "{name}: stderr should name the file: {}",
            r.stderr
        );
    }

    let p = profile(d.path(), &["empty.jsonl"]);
    assert_eq!(p["n"], 0);

    let r = auditor(d.path(), &["profile", "-q", "missing.jsonl"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("missing.jsonl"), "{}", r.stderr);

    gen_file(d.path(), "base.jsonl", &["--rows", "200"]);
    let r = auditor(
        d.path(),
        &[
            "audit",
            "-q",
            "--baseline",
            "base.jsonl",
            "--current",
            "empty.jsonl",
        ],
    );
    assert_eq!(r.code, 2);
    let out = r.json();
    assert_eq!(out["execution_status"], "FAILED");
    assert!(
        out["execution_reasons"][0]
            .as_str()
            .unwrap_or_default()
            .contains("no usable evidence"),
        "{out}"
    );
}

#[test]
fn a_bad_mapping_or_threshold_file_is_a_clear_error() {
    let d = tempfile::tempdir().expect("tempdir");
    gen_file(d.path(), "e.jsonl", &["--rows", "10"]);
    std::fs::write(d.path().join("m.toml"), "predicton = \"prediction\"\n").expect("write");
    let r = auditor(d.path(), &["profile", "-q", "-m", "m.toml", "e.jsonl"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("field mapping"), "{}", r.stderr);

    std::fs::write(d.path().join("t.toml"), "[psi]\nmedium = \"high\"\n").expect("write");
    let r = auditor(
        d.path(),
        &[
            "audit",
            "-q",
            "--baseline",
            "e.jsonl",
            "--current",
            "e.jsonl",
            "--thresholds",
            "t.toml",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("thresholds"), "{}", r.stderr);

    // A CSV without a mapped column is refused with the column's name.
    std::fs::write(d.path().join("x.csv"), "label,score\napprove,0.5\n").expect("write");
    let r = auditor(d.path(), &["profile", "-q", "x.csv"]);
    assert!(r.stderr.contains("prediction"), "{}", r.stderr);
}

#[test]
fn llm_logs_yield_text_statistics_without_keeping_text() {
    let d = tempfile::tempdir().expect("tempdir");
    gen_file(
        d.path(),
        "llm.jsonl",
        &[
            "--rows",
            "2000",
            "--style",
            "llm",
            "--marker",
            "SECRET-MARKER-7731",
        ],
    );
    let raw = std::fs::read_to_string(d.path().join("llm.jsonl")).expect("read");
    assert!(raw.contains("SECRET-MARKER-7731"));
    std::fs::write(
        d.path().join("m.toml"),
        "prediction = \"prediction\"\nconfidence = \"confidence\"\n\
         [text]\nprompt = \"prompt\"\nresponse = \"response\"\n",
    )
    .expect("mapping");
    let r = auditor(d.path(), &["profile", "-q", "-m", "m.toml", "llm.jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.contains("SECRET-MARKER-7731"),
        "profile must not carry raw text"
    );
    let p = r.json();
    assert_eq!(p["n"], 2000);
    let text = &p["text"];
    assert!(text["refusals"].as_u64().expect("refusals") > 0, "{text}");
    assert!(
        !text["pii_responses"].as_object().expect("pii").is_empty(),
        "{text}"
    );
}

#[test]
fn profiles_are_identical_whatever_the_thread_count() {
    let d = tempfile::tempdir().expect("tempdir");
    // About 6 MB: several 1 MiB blocks, so workers really do share the file.
    gen_file(d.path(), "e.jsonl", &["--rows", "30000", "--seed", "5"]);
    let one = auditor(d.path(), &["profile", "-q", "--threads", "1", "e.jsonl"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    for threads in ["2", "3", "8"] {
        let many = auditor(
            d.path(),
            &["profile", "-q", "--threads", threads, "e.jsonl"],
        );
        assert_eq!(one.stdout, many.stdout, "threads = {threads}");
    }
}

#[path = "../support/fake_chat.rs"]
mod fake_chat;

#[test]
fn probe_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = auditor(
        dir.path(),
        &["probe", "--url", "http://x", "--model", "m", "--plan"],
    );
    assert_eq!(plan.code, 0);
    assert!(plan.json()["planned_calls"].as_u64().expect("planned") >= 41);
    let (safe, _) = fake_chat::start(fake_chat::refuse);
    let r = auditor(
        dir.path(),
        &[
            "probe",
            "--url",
            &safe,
            "--model",
            "m",
            "--requests-per-minute",
            "0",
            "--max-calls",
            "500",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["audit_result"], "AUDIT_PASS");
    let (open, _) = fake_chat::start(fake_chat::comply);
    let r = auditor(
        dir.path(),
        &[
            "probe",
            "--url",
            &open,
            "--model",
            "m",
            "--requests-per-minute",
            "0",
            "--max-calls",
            "500",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["audit_result"], "AUDIT_FAIL");
    // The Anthropic-style adapter, one attempt per prompt.
    let one = auditor(
        dir.path(),
        &[
            "probe",
            "--url",
            "http://x",
            "--model",
            "m",
            "--plan",
            "--attempts",
            "1",
        ],
    );
    let planned = one.json()["planned_calls"].as_u64().expect("planned");
    assert!(planned < plan.json()["planned_calls"].as_u64().expect("planned"));
    let r = auditor(
        dir.path(),
        &[
            "probe",
            "--api-style",
            "anthropic_messages",
            "--url",
            &open.replace("/v1/chat/completions", "/v1/messages"),
            "--model",
            "m",
            "--attempts",
            "1",
            "--requests-per-minute",
            "0",
            "--max-calls",
            "500",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["calls"].as_u64(), Some(planned));
    assert_eq!(r.json()["tokens"].as_u64(), Some(planned * 10));
    let bad = auditor(
        dir.path(),
        &[
            "probe",
            "--api-style",
            "claude",
            "--url",
            "http://x",
            "--model",
            "m",
        ],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("not one of openai_chat"),
        "{}",
        bad.stderr
    );
    let down = auditor(
        dir.path(),
        &[
            "probe",
            "--url",
            "http://127.0.0.1:9/v1/chat/completions",
            "--model",
            "m",
            "--max-calls",
            "3",
            "--timeout-secs",
            "1",
            "--requests-per-minute",
            "0",
        ],
    );
    assert_eq!(down.code, 2, "{}", down.stdout);
}

/// Rows of `gender`, `age_band`, `approved`, `confidence` and (when `labelled`) `actual`, with
/// women under 25 and men over 60 approved at 20 % and the others at 60 %, and a right answer
/// with probability equal to the confidence. A small linear congruential generator keeps the
/// file the same on every run.
fn performance_rows(path: &Path, rows: usize, high_confidence: bool, labelled: bool, seed: u64) {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = String::new();
    for i in 0..rows {
        let (g, a) = [("f", "18-25"), ("f", "60+"), ("m", "18-25"), ("m", "60+")][i % 4];
        let rate = if (g, a) == ("f", "18-25") || (g, a) == ("m", "60+") {
            0.2
        } else {
            0.6
        };
        let approved = next() < rate;
        let c = if high_confidence {
            0.7 + 0.3 * next()
        } else {
            0.4 + 0.3 * next()
        };
        let right = next() < c;
        let actual = if right { approved } else { !approved };
        let gt = if labelled {
            format!(r#","actual":{actual}"#)
        } else {
            String::new()
        };
        out.push_str(&format!(
            r#"{{"prediction":"p","gender":"{g}","age_band":"{a}","approved":{approved},"confidence":{c}{gt}}}"#
        ));
        out.push('\n');
    }
    std::fs::write(path, out).expect("write rows");
}

#[test]
fn performance_without_labels_and_intersections_reach_the_output() {
    let d = tempfile::tempdir().expect("tempdir");
    performance_rows(&d.path().join("base.jsonl"), 4000, true, true, 1);
    performance_rows(&d.path().join("cur.jsonl"), 4000, false, false, 2);
    std::fs::write(
        d.path().join("m.toml"),
        "prediction = \"prediction\"\nconfidence = \"confidence\"\noutcome = \"approved\"\n\
         ground_truth = \"actual\"\nprotected = [\"gender\", \"age_band\"]\n\
         intersections = [[\"gender\", \"age_band\"]]\n",
    )
    .expect("mapping");
    let args = [
        "audit",
        "-q",
        "-m",
        "m.toml",
        "--baseline",
        "base.jsonl",
        "--current",
        "cur.jsonl",
    ];
    let r = auditor(d.path(), &args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let out = r.json();
    let perf = &out["statistics"]["performance"];
    let est = perf["estimated_accuracy"].as_f64().expect("estimate");
    // Confidence uniform on [0.4, 0.7] and calibrated: the accuracy is about 0.55.
    assert!((est - 0.55).abs() < 0.05, "{perf}");
    assert!(
        perf["estimated_accuracy_p"].as_f64().expect("p") < 1e-6,
        "{perf}"
    );
    assert!(
        out["baseline_metrics"]["performance"]["f1"]
            .as_f64()
            .is_some()
    );
    let findings = out["findings"].as_array().expect("findings");
    let rule = |id: &str, metric: &str| {
        findings
            .iter()
            .find(|f| f["rule_id"] == id && f["metric_name"] == metric)
            .map(|f| f["severity"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        rule("risk.estimated_accuracy_drop", "estimated_accuracy").as_deref(),
        Some("CRITICAL")
    );
    assert_eq!(
        rule("bias.disparate_impact", "dir.gender×age_band").as_deref(),
        Some("CRITICAL")
    );
    assert_eq!(rule("bias.disparate_impact", "dir.gender"), None);
    assert!(
        out["statistics"]["bias"]["gender×age_band"]["groups_scored"]
            .as_array()
            .is_some_and(|g| g.len() == 4)
    );

    let mut text_args = args.to_vec();
    text_args.extend_from_slice(&["--format", "text"]);
    let text = auditor(d.path(), &text_args);
    assert!(
        text.stdout.contains("estimated         accuracy"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("bias gender×age_band"),
        "{}",
        text.stdout
    );

    // An intersection naming an attribute that is not protected is refused.
    std::fs::write(
        d.path().join("bad.toml"),
        "prediction = \"prediction\"\nprotected = [\"gender\"]\nintersections = [[\"gender\", \"age_band\"]]\n",
    )
    .expect("mapping");
    let bad = auditor(d.path(), &["profile", "-q", "-m", "bad.toml", "base.jsonl"]);
    assert_eq!(bad.code, 2, "{}", bad.stdout);
    assert!(
        bad.stderr
            .contains("'age_band' is not a protected attribute"),
        "{}",
        bad.stderr
    );
}
