//! Privacy: evidence with unique markers in its text fields goes through audits end to end; no
//! marker appears in the database or in any response.

use crate::harness::{Backend, Options, Server, spec, write_evidence};
use crate::on_both;
use crate::registry::model;
use chrono::{Duration, Utc};
use serde_json::json;

/// Everything the database holds, as text.
pub(crate) fn database_text(s: &Server, b: &Backend) -> Vec<u8> {
    match b {
        Backend::Sqlite => {
            let db = s.db_file.clone().unwrap();
            let mut all = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                let p = format!("{}{suffix}", db.display());
                if let Ok(bytes) = std::fs::read(&p) {
                    all.extend(bytes);
                }
            }
            assert!(all.len() > 10_000, "database file not found or empty");
            all
        }
        Backend::Postgres(_) => {
            use diesel::sql_types::Text;
            use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = Text)]
                t: String,
            }
            let mut c = PgConnection::establish(&s.db_url).unwrap();
            let tables: Vec<Row> = diesel::sql_query(
                "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .load(&mut c)
            .unwrap();
            assert!(tables.len() >= 6);
            let mut all = Vec::new();
            for table in tables {
                let rows: Vec<Row> =
                    diesel::sql_query(format!("SELECT x::text AS t FROM \"{}\" x", table.t))
                        .load(&mut c)
                        .unwrap();
                for r in rows {
                    all.extend(r.t.into_bytes());
                    all.push(b'\n');
                }
            }
            all
        }
    }
}

pub(crate) fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn no_marker_anywhere(b: Backend) {
    let s = Server::start(&b, Options::default());
    let marker = format!("MARKER{}", uuid::Uuid::new_v4().simple());
    let now = Utc::now();
    // LLM logs whose prompts and responses carry the marker, a baseline and a drifted window.
    let mut w0 = spec(1500, 5, now - Duration::hours(3), 3_600_000);
    w0.style = auditor::synth::Style::Llm;
    w0.marker = Some(marker.clone());
    write_evidence(&s.evidence.join("llm/w0.jsonl"), w0);
    let mut m = model(
        "llm-1",
        "llm",
        "logs",
        json!({"type": "logs", "config": {"path": "llm"}}),
    );
    m["policy"] = json!({"audit_frequency": "daily"});
    s.post("/models/register", &m).ok(201);
    let run = s.post("/models/llm-1/audits", &json!({})).ok(202);
    let a = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert_eq!(a["audit_result"], "BASELINE_CREATED", "{a}");
    // The next window: rows after the first audit's window, in the past by the time it runs.
    let mut w1 = spec(
        1500,
        6,
        crate::harness::ts(&a["window_end"]) + Duration::milliseconds(1),
        1500,
    );
    w1.style = auditor::synth::Style::Llm;
    w1.marker = Some(marker.clone());
    w1.drift = 0.7;
    write_evidence(&s.evidence.join("llm/w1.jsonl"), w1);
    // The marker also arrives through a sample upload.
    let mut sample = Vec::new();
    let mut w2 = spec(300, 7, now - Duration::minutes(30), 60_000);
    w2.style = auditor::synth::Style::Llm;
    w2.marker = Some(marker.clone());
    auditor::synth::write_text(
        auditor::synth::Generator::new(w2),
        auditor::synth::OutFormat::Jsonl,
        &mut sample,
    )
    .unwrap();
    assert!(contains(&sample, &marker));
    s.post(
        "/models/register",
        &model("llm-2", "llm", "sample", json!({"type": "sample"})),
    )
    .ok(201);
    let up = s.post_raw("/models/llm-2/samples", "application/x-ndjson", sample);
    assert!(!up.text.contains(&marker));
    assert_eq!(up.status, 201, "{}", up.text);
    let run2 = s.post("/models/llm-2/audits", &json!({})).ok(202);
    s.wait_audit(run2["audit_id"].as_str().unwrap());

    // A mapping that names the prompt as a protected attribute and the response as the label:
    // the text behaves like free text and is pooled, never kept as keys.
    let mapping = json!({"prediction": "response", "confidence": "confidence", "outcome": "outcome",
                         "protected": ["prompt", "gender"]});
    s.post(
        "/models/register",
        &model(
            "llm-3",
            "llm",
            "sample",
            json!({"type": "sample", "config": {"mapping": mapping}}),
        ),
    )
    .ok(201);
    let mut text_as_groups = Vec::new();
    let mut w3 = spec(300, 8, now - Duration::minutes(30), 60_000);
    w3.style = auditor::synth::Style::Llm;
    w3.marker = Some(marker.clone());
    auditor::synth::write_text(
        auditor::synth::Generator::new(w3),
        auditor::synth::OutFormat::Jsonl,
        &mut text_as_groups,
    )
    .unwrap();
    let up = s.post_raw(
        "/models/llm-3/samples",
        "application/x-ndjson",
        text_as_groups,
    );
    assert_eq!(up.status, 201, "{}", up.text);
    assert!(!up.text.contains(&marker));
    let run3 = s.post("/models/llm-3/audits", &json!({})).ok(202);
    let a3 = s.wait_audit(run3["audit_id"].as_str().unwrap());
    let reason = a3["execution_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("'prompt' holds free text"), "{a3}");
    assert!(reason.contains("'labels' holds free text"), "{a3}");

    std::thread::sleep(std::time::Duration::from_millis(1600));
    let run = s.post("/models/llm-1/audits", &json!({})).ok(202);
    let a = s.wait_audit(run["audit_id"].as_str().unwrap());
    assert!(
        a["findings"].as_array().is_some_and(|f| !f.is_empty()),
        "{a}"
    );

    let mut responses = String::new();
    for path in [
        "/models".to_string(),
        "/models/llm-1".into(),
        "/models/llm-2".into(),
        "/models/llm-3".into(),
        "/dashboard/model/llm-3".into(),
        "/audits?limit=500".into(),
        format!("/audits/{}", a["audit_id"].as_str().unwrap()),
        "/audits/model/llm-1".into(),
        "/findings?limit=500".into(),
        format!("/findings/{}", a["audit_id"].as_str().unwrap()),
        "/dashboard/overview".into(),
        "/dashboard/model/llm-1".into(),
        "/dashboard/model/llm-2".into(),
        "/audit-policies".into(),
    ] {
        responses.push_str(&s.get(&path).ok(200).to_string());
    }
    assert!(responses.len() > 2000);
    assert!(
        !responses.contains(&marker),
        "a response holds evidence text"
    );
    assert!(
        !s.log_text().contains(&marker),
        "the log holds evidence text"
    );
    let db = database_text(&s, &b);
    assert!(!contains(&db, &marker), "the database holds evidence text");
    // Nor any part of a prompt kept as a group key (a prefix would carry text too).
    assert!(
        !contains(&db, "I have a question about"),
        "the database holds prompt text"
    );
}
on_both!(no_marker_anywhere);

/// A numeric input feature whose every value is a unique marker: the profile keeps bucket
/// counts, so no value reaches the database, in decimal or in the sketch's encoding (whose
/// min, max and sum are bucket representatives, never a row's value).
fn feature_values_never_stored(b: Backend) {
    let s = Server::start(&b, Options::default());
    let mapping = json!({"prediction": "prediction", "features": {"numeric": ["score"],
                         "categorical": ["channel"]}});
    s.post(
        "/models/register",
        &model(
            "feat",
            "ml",
            "sample",
            json!({"type": "sample", "config": {"mapping": mapping}}),
        ),
    )
    .ok(201);
    let marker = |i: u64| format!("{}.314159", 7_000_000 + i * 13);
    let mut body = String::new();
    for i in 0..400 {
        body.push_str(&format!(
            "{{\"prediction\":\"{}\",\"score\":{},\"channel\":\"{}\"}}\n",
            ["a", "b"][(i % 2) as usize],
            marker(i),
            ["web", "app", "branch"][(i % 3) as usize]
        ));
    }
    let mut last = json!(null);
    for _ in 0..2 {
        s.post_raw("/models/feat/samples", "application/x-ndjson", body.clone())
            .ok(201);
        let run = s.post("/models/feat/audits", &json!({})).ok(202);
        last = s.wait_audit(run["audit_id"].as_str().unwrap());
        assert_eq!(last["execution_status"], "SUCCESS", "{last}");
    }
    let text = last.to_string();
    assert!(
        text.contains("\"score\""),
        "the feature's statistics are reported: {text}"
    );
    let db = database_text(&s, &b);
    for i in 0..400 {
        assert!(
            !contains(&db, &marker(i)),
            "feature value {} stored",
            marker(i)
        );
        assert!(!text.contains(&marker(i)));
    }
}
on_both!(feature_values_never_stored);
