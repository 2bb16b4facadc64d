//! Archive instead of delete, per-tenant retention periods and the purge past them
//! (docs/retention.md).

use crate::harness::{Backend, Options, Server, audit_generated, spec, write_evidence};
use crate::on_both;
use crate::registry::model;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use std::process::Command;

fn sample_model(s: &Server, id: &str) {
    let mut m = model(id, "ml", "sample", json!({"type": "sample"}));
    m["policy"] = json!({"audit_frequency": "daily"});
    s.post("/models/register", &m).ok(201);
}

/// A finished audit of `id` with findings (a drifted, biased window against a first baseline).
fn audited(s: &Server, id: &str) -> Value {
    let start = Utc::now() - Duration::hours(3);
    audit_generated(s, id, spec(2000, 1, start, 3_600_000));
    let mut g = spec(2000, 2, start + Duration::hours(1), 3_600_000);
    g.drift = 0.6;
    g.bias = 0.3;
    let a = audit_generated(s, id, g);
    assert!(
        !a["findings"].as_array().unwrap().is_empty(),
        "no findings: {a}"
    );
    a
}

fn total(s: &Server, path: &str) -> i64 {
    s.get(path).ok(200)["total"].as_i64().unwrap()
}

/// `auditor purge` on the server's database, its JSON report per tenant.
pub fn purge(s: &Server, dry_run: bool) -> Vec<Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_auditor"));
    // Signed with the server's key, as the server's own entries are.
    cmd.args(["purge", "--json", "--database-url", &s.db_url])
        .env_remove("DATABASE_URL")
        .env_remove("AUDITOR_SIGNING_KEY")
        .env("AUDITOR_SIGNING_KEY_FILE", &s.signing_key);
    if dry_run {
        cmd.arg("--dry-run");
    }
    let out = cmd.output().expect("run auditor purge");
    assert!(
        out.status.success(),
        "purge failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON array of reports")
}

/// The content (what changed) of the entries with `action`, oldest first.
fn contents(s: &Server, action: &str) -> Vec<Value> {
    s.get(&format!("/compliance-log?action={action}")).ok(200)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e["content"].as_str().expect("content")).unwrap())
        .collect()
}

/// The report of the system tenant.
fn of_default(reports: &[Value]) -> Value {
    reports
        .iter()
        .find(|r| r["tenant_id"] == "default")
        .cloned()
        .expect("a report of the default tenant")
}

fn archive_keeps_records_readable(b: Backend) {
    let s = Server::start(&b, Options::default());
    sample_model(&s, "arch-1");
    sample_model(&s, "live-1");
    let audit = audited(&s, "arch-1");
    let audit_id = audit["audit_id"].as_str().unwrap().to_owned();
    let findings = total(&s, "/findings?model_id=arch-1");
    let audits_before = s.get("/dashboard/overview").ok(200)["total_audits"].clone();

    let a = s.delete("/models/arch-1").ok(200);
    assert_eq!(a["archived"], true);
    assert_eq!(a["deleted"], false);
    let purge_after = crate::harness::ts(&a["purge_after"]) - crate::harness::ts(&a["archived_at"]);
    assert_eq!(
        purge_after,
        Duration::days(3650),
        "the default records retention"
    );

    // Out of the lists, unless asked for.
    assert_eq!(total(&s, "/models"), 1);
    let all = s.get("/models?include_archived=true").ok(200);
    assert_eq!(all["total"], 2);
    let listed: Vec<&Value> = all["models"].as_array().unwrap().iter().collect();
    assert!(
        listed
            .iter()
            .any(|m| m["model_id"] == "arch-1" && m["archived_at"].is_string())
    );
    assert_eq!(s.get("/v1/models").ok(200).as_array().unwrap().len(), 1);
    assert_eq!(
        s.get("/v1/models?include_archived=true")
            .ok(200)
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let top = s.get("/dashboard/top-risk").ok(200);
    assert!(
        top.as_array()
            .unwrap()
            .iter()
            .all(|m| m["model_id"] != "arch-1")
    );

    // Readable: the model, its audits, findings, reports and log entries.
    let m = s.get("/models/arch-1").ok(200);
    assert!(m["archived_at"].is_string());
    assert!(m["archived_by"].as_str().unwrap().starts_with("key:"));
    assert_eq!(
        s.get(&format!("/audits/{audit_id}")).ok(200)["audit_id"],
        audit_id
    );
    assert_eq!(total(&s, "/audits/model/arch-1"), 2);
    assert_eq!(total(&s, "/findings?model_id=arch-1"), findings);
    for report in ["report.html", "report.pdf"] {
        let r = s
            .client()
            .get(s.url(&format!("/audits/{audit_id}/{report}")))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{report}");
    }
    let archived = &contents(&s, "model.archive")[0];
    assert_eq!(archived["before"]["archived_at"], Value::Null);
    assert_eq!(archived["after"]["archived_at"], a["archived_at"]);
    assert_eq!(archived["after"]["purge_after"], a["purge_after"]);

    // The dashboards: history keeps the archived model's audits; active models leave it out.
    let o = s.get("/dashboard/overview").ok(200);
    assert_eq!(o["total_models"], 1);
    assert_eq!(o["archived_models"], 1);
    assert_eq!(o["total_audits"], audits_before);

    // Read-only: no audit, no change, no second archive, and its id stays taken.
    let d = s.post("/models/arch-1/audits", &json!({})).detail(409);
    assert!(d.contains("archived") && d.contains("/restore"), "{d}");
    s.put("/models/arch-1", &json!({"owner": "x"})).detail(409);
    s.post_raw("/models/arch-1/samples", "application/x-ndjson", "{}\n")
        .detail(409);
    s.post(&format!("/audits/{audit_id}/approve"), &json!({}))
        .detail(409);
    s.delete("/models/arch-1").detail(409);
    let d = s
        .post(
            "/models/register",
            &model("arch-1", "ml", "sample", json!({"type": "sample"})),
        )
        .detail(409);
    assert!(d.contains("archived"), "{d}");

    // Restore: listed and audited again.
    let r = s.post("/models/arch-1/restore", &json!({})).ok(200);
    assert_eq!(r["archived_at"], Value::Null);
    assert_eq!(total(&s, "/models"), 2);
    s.post("/models/arch-1/restore", &json!({})).detail(409);
    s.post("/models/live-1/restore", &json!({})).detail(409);
    s.post("/models/nope/restore", &json!({})).detail(404);
    let run = s.post("/models/arch-1/audits", &json!({})).ok(202);
    s.wait_audit(run["audit_id"].as_str().unwrap());
    let restored = &contents(&s, "model.restore")[0];
    assert_eq!(restored["before"]["archived_at"], a["archived_at"]);
    assert_eq!(restored["after"]["archived_at"], Value::Null);
    assert_eq!(s.get("/compliance-log/verify").ok(200)["valid"], true);
}
on_both!(archive_keeps_records_readable);

fn archived_policies_do_not_run(b: Backend) {
    let s = Server::start(
        &b,
        Options {
            scheduler: true,
            day_seconds: 1.0,
            ..Options::default()
        },
    );
    write_evidence(
        &s.evidence.join("sched/w0.jsonl"),
        spec(500, 1, Utc::now() - Duration::hours(1), 3_000_000),
    );
    let mut m = model(
        "sched",
        "ml",
        "logs",
        json!({"type": "logs", "config": {"path": "sched"}}),
    );
    m["policy"] = json!({"audit_frequency": "daily"});
    s.post("/models/register", &m).ok(201);
    let runs = |s: &Server| total(s, "/audits?model_id=sched&include_running=true");
    s.wait_for(30, "a scheduled audit", || (runs(&s) >= 2).then_some(()));
    s.delete("/models/sched").ok(200);
    let at_archive = runs(&s);
    // Five scheduled "days" pass: nothing new is claimed.
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert_eq!(runs(&s), at_archive, "an archived model's policy ran");
    s.post("/models/sched/restore", &json!({})).ok(200);
    s.wait_for(30, "audits after the restore", || {
        (runs(&s) > at_archive).then_some(())
    });
}
on_both!(archived_policies_do_not_run);

fn retention_is_set_per_tenant(b: Backend) {
    let s = Server::start(&b, Options::default());
    let r = s.get("/v1/tenants/default/retention").ok(200);
    assert_eq!(
        (r["log_days"].clone(), r["records_days"].clone()),
        (json!(183), json!(3650))
    );
    assert_eq!(r["is_default"], true);
    assert_eq!(
        r["defaults"],
        json!({"log_days": 183, "records_days": 3650})
    );

    // Below a default: refused, naming the article, unless forced.
    let d = s
        .put("/v1/tenants/default/retention", &json!({"log_days": 30}))
        .detail(422);
    assert!(d.contains("Art. 19") && d.contains("force=true"), "{d}");
    let d = s
        .put(
            "/v1/tenants/default/retention",
            &json!({"records_days": 100}),
        )
        .detail(422);
    assert!(d.contains("Art. 18"), "{d}");
    let r = s
        .put("/v1/tenants/default/retention", &json!({"log_days": 365}))
        .ok(200);
    assert_eq!(
        (r["log_days"].clone(), r["records_days"].clone()),
        (json!(365), json!(3650))
    );
    assert_eq!(r["is_default"], false);
    let r = s
        .put(
            "/v1/tenants/default/retention?force=true",
            &json!({"log_days": 7, "records_days": 0}),
        )
        .ok(200);
    assert_eq!(
        (r["log_days"].clone(), r["records_days"].clone()),
        (json!(7), json!(0))
    );
    for bad in [
        json!({"log_days": -1}),
        json!({"records_days": 40000}),
        json!({"days": 1}),
    ] {
        s.put("/v1/tenants/default/retention?force=true", &bad)
            .detail(422);
    }
    let changes = contents(&s, "retention.update");
    assert_eq!(changes.len(), 2);
    assert_eq!(
        changes[0],
        json!({"before": {"log_days": 183}, "after": {"log_days": 365}})
    );
    assert_eq!(
        changes[1],
        json!({"before": {"log_days": 365, "records_days": 3650, "force": null},
               "after": {"log_days": 7, "records_days": 0, "force": true}})
    );

    // A tenant's admins set their own; another tenant's is not found; viewers only read.
    let t = s.post("/v1/tenants", &json!({"name": "acme"})).ok(201);
    let acme = t["id"].as_str().unwrap().to_owned();
    let admin = s.as_(t["admin_key"].as_str());
    admin.get("/v1/tenants/default/retention").detail(404);
    admin
        .put("/v1/tenants/default/retention", &json!({"log_days": 400}))
        .detail(404);
    let path = format!("/v1/tenants/{acme}/retention");
    assert_eq!(
        admin.put(&path, &json!({"records_days": 4000})).ok(200)["records_days"],
        4000
    );
    assert_eq!(
        s.get(&path).ok(200)["records_days"],
        4000,
        "operators see every tenant"
    );
    let viewer = admin
        .post("/api-keys", &json!({"name": "v", "role": "viewer"}))
        .ok(201);
    let viewer = s.as_(viewer["key"].as_str());
    assert_eq!(viewer.get(&path).ok(200)["records_days"], 4000);
    viewer
        .put(&path, &json!({"records_days": 5000}))
        .detail(403);
    s.get("/v1/tenants/tnt_nothing/retention").detail(404);
}
on_both!(retention_is_set_per_tenant);

fn purge_past_the_retention(b: Backend) {
    let s = Server::start(&b, Options::default());
    sample_model(&s, "old");
    sample_model(&s, "kept");
    let audit = audited(&s, "old");
    let old_audit = audit["audit_id"].as_str().unwrap().to_owned();
    audited(&s, "kept");
    let old_findings = total(&s, "/findings?model_id=old");
    let kept_findings = total(&s, "/findings?model_id=kept");
    s.delete("/models/old").ok(200);

    // The default retention keeps an archive of today; so does one day.
    assert_eq!(of_default(&purge(&s, false))["models"], 0);
    s.put(
        "/v1/tenants/default/retention?force=true",
        &json!({"records_days": 1}),
    )
    .ok(200);
    assert_eq!(of_default(&purge(&s, false))["models"], 0);
    s.get("/models/old").ok(200);

    // With no records retention the archive is past it: a dry run counts and changes nothing.
    s.put(
        "/v1/tenants/default/retention?force=true",
        &json!({"records_days": 0}),
    )
    .ok(200);
    let dry = of_default(&purge(&s, true));
    assert_eq!(dry["models"], 1);
    assert_eq!(dry["model_ids"], json!(["old"]));
    assert_eq!(dry["audits"], 2);
    assert_eq!(dry["findings"], old_findings);
    s.get("/models/old").ok(200);
    assert_eq!(total(&s, "/compliance-log?action=retention.purge"), 0);

    let done = of_default(&purge(&s, false));
    for k in ["models", "model_ids", "audits", "findings", "log_entries"] {
        assert_eq!(
            done[k], dry[k],
            "the dry run counted what the purge did: {k}"
        );
    }
    s.get("/models/old").detail(404);
    s.get(&format!("/audits/{old_audit}")).detail(404);
    assert_eq!(total(&s, "/findings?model_id=old"), 0);
    assert_eq!(total(&s, "/audits?model_id=old"), 0);
    assert_eq!(total(&s, "/models?include_archived=true"), 1);
    // The active model keeps everything, whatever the retention.
    assert_eq!(total(&s, "/findings?model_id=kept"), kept_findings);
    assert_eq!(total(&s, "/audits?model_id=kept"), 2);
    let o = s.get("/dashboard/overview").ok(200);
    assert_eq!(
        (o["total_models"].clone(), o["archived_models"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(o["total_audits"], 2);

    // Logged with its counts; the log still verifies; a second purge finds nothing.
    let log = s.get("/compliance-log?action=retention.purge").ok(200);
    assert_eq!(log["total"], 1);
    assert_eq!(log["entries"][0]["object_id"], "default");
    assert_eq!(log["entries"][0]["actor"], "system");
    let counts = &contents(&s, "retention.purge")[0]["after"];
    for k in [
        "models",
        "model_ids",
        "audits",
        "findings",
        "log_entries",
        "log_before",
    ] {
        assert_eq!(counts[k], done[k], "{k} in {counts}");
    }
    let v = s.get("/compliance-log/verify").ok(200);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(of_default(&purge(&s, false))["models"], 0);
    assert_eq!(total(&s, "/compliance-log?action=retention.purge"), 1);
    // The id is free again.
    sample_model(&s, "old");
}
on_both!(purge_past_the_retention);

fn log_payloads_are_purged_and_the_chain_verifies(b: Backend) {
    let s = Server::start(&b, Options::default());
    sample_model(&s, "m");
    let before = total(&s, "/compliance-log");
    // The default keeps today's entries.
    assert_eq!(of_default(&purge(&s, false))["log_entries"], 0);
    s.put(
        "/v1/tenants/default/retention?force=true",
        &json!({"log_days": 0}),
    )
    .ok(200);
    let r = of_default(&purge(&s, false));
    // Every entry so far: the key, the model, the retention change.
    assert_eq!(r["log_entries"], before + 1, "{r}");
    assert_eq!(r["models"], 0, "an active model is never purged");
    let entries = s.get("/compliance-log?limit=500").ok(200)["entries"].clone();
    let entries = entries.as_array().unwrap();
    let (purge, older) = entries.split_last().unwrap();
    assert_eq!(purge["action"], "retention.purge");
    assert!(
        purge["content"].is_string(),
        "the purge entry keeps its own content"
    );
    for e in older {
        assert_eq!(e["content"], Value::Null, "{e}");
        assert!(e["purged_at"].is_string(), "{e}");
    }
    let v = s.get("/compliance-log/verify").ok(200);
    assert_eq!(v["valid"], true, "{v}");
    s.get("/models/m").ok(200);
}
on_both!(log_payloads_are_purged_and_the_chain_verifies);

/// The scheduler purges on its own (here every second).
fn the_scheduler_purges(b: Backend) {
    let s = Server::start(
        &b,
        Options {
            scheduler: true,
            extra: vec!["--purge-interval-secs".into(), "1".into()],
            ..Options::default()
        },
    );
    sample_model(&s, "gone");
    s.put(
        "/v1/tenants/default/retention?force=true",
        &json!({"records_days": 0}),
    )
    .ok(200);
    s.delete("/models/gone").ok(200);
    s.wait_for(30, "the scheduled purge", || {
        (s.get("/models/gone").status == 404).then_some(())
    });
    let log = s.get("/compliance-log?action=retention.purge").ok(200);
    assert_eq!(log["entries"][0]["actor"], "scheduler");
    assert_eq!(s.get("/compliance-log/verify").ok(200)["valid"], true);
}
on_both!(the_scheduler_purges);
