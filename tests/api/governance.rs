//! Access control, tenants, the compliance log, model versions and the findings workflow.

use crate::harness::{Backend, Options, Server};
use crate::on_both;
use crate::registry::model;
use serde_json::json;

use crate::active::fake_chat;

fn key(s: &Server, role: &str) -> String {
    let k = s
        .post(
            "/api-keys",
            &json!({"name": format!("{role} key"), "role": role}),
        )
        .ok(201);
    assert_eq!(k["role"], role);
    k["key"].as_str().unwrap().to_owned()
}

/// Replaces `{param}` segments with a value that names nothing.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                if seg.contains("id}")
                    && (seg.contains("policy") || seg == "{id}" || seg.contains("finding"))
                {
                    "999999".to_owned()
                } else {
                    "nothing-here".to_owned()
                }
            } else {
                seg.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every route of the OpenAPI document against every role: no credential gets 401, a lesser
/// role 403, the stated role or a higher one neither.
#[test]
fn each_role_against_each_route() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let keys = [
        ("viewer", key(&s, "viewer")),
        ("auditor", key(&s, "auditor")),
        ("admin", s.admin_key.clone().unwrap()),
    ];
    let rank = |r: &str| {
        ["viewer", "auditor", "admin"]
            .iter()
            .position(|x| *x == r)
            .unwrap()
    };
    let doc = s.get("/openapi.json").ok(200);
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let url = concrete(path);
            let method = &method.to_uppercase();
            let Some(need) = op["x-required-role"].as_str() else {
                // Public routes say so with an empty security requirement.
                assert_eq!(
                    op["security"],
                    json!([{}]),
                    "{method} {path} states no role"
                );
                continue;
            };
            // Logging out ends nothing for API keys, but keep the admin's cache warm.
            let anon = s.as_(None).call(method, &url, &json!({}));
            assert_eq!(
                anon.status, 401,
                "{method} {path} without credentials: {}",
                anon.text
            );
            assert!(anon.body["detail"].is_string());
            for (role, k) in &keys {
                if path == "/events" {
                    // A stream that never ends: look at the status only.
                    let st = reqwest::blocking::Client::new()
                        .get(s.url(&url))
                        .bearer_auth(k)
                        .send()
                        .unwrap()
                        .status()
                        .as_u16();
                    assert!(st != 401 && st != 403, "GET /events as {role}: {st}");
                    continue;
                }
                let r = s.as_(Some(k)).call(method, &url, &json!({}));
                if rank(role) < rank(need) {
                    assert_eq!(r.status, 403, "{method} {path} as {role}: {}", r.text);
                    assert!(r.body["detail"].as_str().unwrap().contains(need));
                } else {
                    assert!(
                        r.status != 401 && r.status != 403,
                        "{method} {path} as {role} (needs {need}): {} {}",
                        r.status,
                        r.text
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 45, "{checked} operations checked");
    // A revoked key stops working at once.
    let viewer = &keys[0].1;
    let list = s.get("/api-keys").ok(200);
    // Paged like every list, oldest first.
    let total = list["total"].as_i64().unwrap();
    assert_eq!(list["keys"].as_array().unwrap().len() as i64, total);
    assert!(total >= 3, "{list}");
    let second = s.get("/api-keys?skip=1&limit=1").ok(200);
    assert_eq!(
        (second["total"].as_i64(), second["limit"].as_i64()),
        (Some(total), Some(1))
    );
    assert_eq!(second["keys"].as_array().unwrap().len(), 1);
    assert_eq!(second["keys"][0]["key_id"], list["keys"][1]["key_id"]);
    s.get("/api-keys?limit=0").detail(400);
    let id = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "viewer")
        .unwrap()["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.as_(Some(viewer)).get("/models").ok(200);
    s.delete(&format!("/api-keys/{id}")).ok(200);
    s.as_(Some(viewer)).get("/models").detail(401);
    s.as_(Some("aud_0000000000000000_00"))
        .get("/models")
        .detail(401);
    // Someone with the database can mint an admin key (first set-up scripts, a lost key).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auditor"))
        .args([
            "admin-key",
            "--database-url",
            &s.db_url,
            "--name",
            "recovery",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let minted = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let me = s.as_(Some(&minted)).get("/auth/me").ok(200);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["operator"], true);
    // Keys are never listed or logged.
    let listed = s.get("/api-keys").ok(200).to_string();
    for (_, k) in &keys {
        assert!(!listed.contains(k.as_str()));
        assert!(!s.log_text().contains(k.as_str()), "a key in the log");
    }
}

/// Login with argon2 passwords, expiring tokens, lock-out after wrong passwords.
#[test]
fn login_tokens_expire_and_guessing_locks() {
    let s = Server::start(
        &Backend::Sqlite,
        Options {
            extra: vec!["--token-ttl-secs".into(), "2".into()],
            ..Options::default()
        },
    );
    let pw = "correct horse battery staple";
    s.post(
        "/users",
        &json!({"username": "alice", "password": "short", "role": "auditor"}),
    )
    .detail(422);
    let u = s
        .post(
            "/users",
            &json!({"username": "alice", "password": pw, "role": "auditor"}),
        )
        .ok(201);
    assert!(!u.to_string().contains("argon2") && !u.to_string().contains(pw));
    s.post(
        "/users",
        &json!({"username": "carol", "password": pw, "role": "viewer"}),
    )
    .ok(201);
    let users = s.get("/users").ok(200);
    assert_eq!(users["total"], 2, "{users}");
    let page = s.get("/users?skip=1&limit=1").ok(200);
    assert_eq!(page["users"][0]["username"], "carol", "{page}");
    assert_eq!(
        (page["total"].as_i64(), page["skip"].as_i64()),
        (Some(2), Some(1))
    );
    s.post(
        "/users",
        &json!({"username": "alice", "password": pw, "role": "viewer"}),
    )
    .detail(409);
    let anon = s.as_(None);
    let t = anon
        .post("/auth/login", &json!({"username": "alice", "password": pw}))
        .ok(200);
    let token = t["access_token"].as_str().unwrap().to_owned();
    assert_eq!(t["role"], "auditor");
    let me = s.as_(Some(&token)).get("/auth/me").ok(200);
    assert_eq!(me["actor"], "user:alice");
    s.as_(Some(&token))
        .post(
            "/models/register",
            &model("m", "ml", "sample", json!({"type": "sample"})),
        )
        .detail(403);
    // Logout ends a session whichever way its token was sent (here as a bare header).
    let t2 = anon
        .post("/auth/login", &json!({"username": "alice", "password": pw}))
        .ok(200)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = s
        .client()
        .post(s.url("/auth/logout"))
        .header("authorization", &t2)
        .send()
        .unwrap();
    assert_eq!(out.status(), 200);
    assert_eq!(out.json::<serde_json::Value>().unwrap()["deleted"], true);
    s.as_(Some(&t2)).get("/auth/me").detail(401);
    // Paths that match no route still need a credential (no encoding slips past the guard).
    anon.get("/api/v1/rules/summar%79").detail(401);
    anon.get("/no/such/route").detail(401);
    std::thread::sleep(std::time::Duration::from_millis(2600));
    s.as_(Some(&token)).get("/auth/me").detail(401);

    // Wrong passwords: the fifth locks the account, and then even the right one is refused.
    anon.post(
        "/auth/login",
        &json!({"username": "nobody", "password": pw}),
    )
    .detail(401);
    for _ in 0..5 {
        let e = anon
            .post(
                "/auth/login",
                &json!({"username": "alice", "password": "guess"}),
            )
            .detail(401);
        assert_eq!(e, "wrong username or password, or the account is locked");
    }
    // Locked: even the right password is refused, with the same words as any failure.
    let e = anon
        .post("/auth/login", &json!({"username": "alice", "password": pw}))
        .detail(401);
    assert_eq!(e, "wrong username or password, or the account is locked");
    // Parallel guesses all count: none of them can clear the lock another one set.
    s.post(
        "/users",
        &json!({"username": "bob", "password": pw, "role": "viewer"}),
    )
    .ok(201);
    std::thread::scope(|sc| {
        for i in 0..7 {
            let anon = s.as_(None);
            sc.spawn(move || {
                anon.post(
                    "/auth/login",
                    &json!({"username": "bob", "password": format!("wrong{i}")}),
                )
                .detail(401);
            });
        }
    });
    anon.post("/auth/login", &json!({"username": "bob", "password": pw}))
        .detail(401);
    // Rate limit per address (20 a minute): some of these are refused with 429.
    let mut limited = 0;
    for _ in 0..20 {
        if anon
            .post("/auth/login", &json!({"username": "x", "password": "y"}))
            .status
            == 429
        {
            limited += 1;
        }
    }
    assert!(limited > 0);
    assert!(!s.log_text().contains(pw), "a password in the log");
}

/// Two tenants: neither sees anything of the other (404, never 403), on every resource.
fn tenants_are_isolated(b: Backend) {
    let s = Server::start(&b, Options::default());
    // The set-up wizard's calls, as the operator.
    let ta = s.post("/v1/tenants", &json!({"name": "acme"})).ok(201);
    let tb = s.post("/v1/tenants", &json!({"name": "globex"})).ok(201);
    s.post("/v1/tenants", &json!({"name": "acme"})).detail(409);
    let (ka, kb) = (
        ta["admin_key"].as_str().unwrap().to_owned(),
        tb["admin_key"].as_str().unwrap().to_owned(),
    );
    let (a, bb) = (s.as_(Some(&ka)), s.as_(Some(&kb)));
    a.post("/v1/tenants", &json!({"name": "sneaky"}))
        .detail(403);
    let p = a
        .post(
            "/v1/projects",
            &json!({"tenant_id": ta["id"], "name": "credit", "task_type": "classification"}),
        )
        .ok(201);
    let m = a
        .post(
            "/v1/models",
            &json!({"project_id": p["id"], "name": "scorer", "version": "v1.0"}),
        )
        .ok(201);
    let mid = m["id"].as_str().unwrap().to_owned();
    assert_eq!(m["tenant_id"], ta["id"]);
    a.post(
        "/models/register",
        &model("acme-llm", "llm", "api", json!({"type": "sample"})),
    )
    .ok(201);
    let (chat, _) = fake_chat::start(fake_chat::comply);
    a.put(
        "/models/acme-llm/active-target",
        &json!({"url": chat, "model": "m", "requests_per_minute": 6000, "max_calls": 30}),
    )
    .ok(200);
    crate::active::enable_active(&s, "acme-llm");
    let run = a
        .post("/models/acme-llm/audits?audit_type=active", &json!({}))
        .ok(202);
    let aid = run["audit_id"].as_str().unwrap().to_owned();
    let done = s.wait_audit(&aid);
    let fid = done["findings"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{done}"));
    let pol = a
        .post(
            "/audit-policies",
            &json!({"model_id": mid, "audit_frequency": "daily"}),
        )
        .ok(201);

    // Globex sees none of it.
    let none = json!({});
    let target = json!({"url": "http://x", "model": "m"});
    let owned = [
        ("GET", format!("/models/{mid}"), &none),
        ("PUT", format!("/models/{mid}"), &json!({"owner": "x"})),
        ("DELETE", format!("/models/{mid}"), &none),
        ("GET", "/models/acme-llm/active-target".to_owned(), &none),
        ("PUT", "/models/acme-llm/active-target".to_owned(), &target),
        ("DELETE", "/models/acme-llm/active-target".to_owned(), &none),
        ("POST", "/models/acme-llm/audits".to_owned(), &none),
        ("GET", format!("/audits/{aid}"), &none),
        ("GET", "/audits/model/acme-llm".to_owned(), &none),
        ("POST", format!("/audits/{aid}/approve"), &none),
        ("GET", format!("/findings/{aid}"), &none),
        (
            "POST",
            format!("/findings/{fid}/status"),
            &json!({"status": "acknowledged"}),
        ),
        ("GET", format!("/dashboard/model/{mid}"), &none),
        ("GET", format!("/audit-policies/{}", pol["id"]), &none),
        (
            "PUT",
            format!("/audit-policies/{}", pol["id"]),
            &json!({"enabled": false}),
        ),
        ("DELETE", format!("/audit-policies/{}", pol["id"]), &none),
        (
            "GET",
            format!("/v1/projects/{}", p["id"].as_str().unwrap()),
            &none,
        ),
        ("GET", format!("/models/{mid}/versions"), &none),
        (
            "POST",
            format!("/models/{mid}/versions"),
            &json!({"version_tag": "v2"}),
        ),
        ("GET", "/rules?model_id=acme-llm".to_owned(), &none),
        (
            "GET",
            "/compliance/coverage?model_id=acme-llm".to_owned(),
            &none,
        ),
    ];
    for (m, path, body) in &owned {
        let r = bb.call(m, path, body);
        assert_eq!(r.status, 404, "{m} {path} as the other tenant: {}", r.text);
    }
    bb.post(
        "/v1/models",
        &json!({"project_id": p["id"], "name": "intruder"}),
    )
    .detail(404);
    // File evidence: each tenant reads only under `<root>/<tenant_id>/`.
    let (ta_id, tb_id) = (ta["id"].as_str().unwrap(), tb["id"].as_str().unwrap());
    std::fs::create_dir_all(s.evidence.join(ta_id)).unwrap();
    std::fs::create_dir_all(s.evidence.join(tb_id)).unwrap();
    std::fs::write(s.evidence.join(ta_id).join("preds.jsonl"), "{}\n").unwrap();
    std::fs::write(s.evidence.join(tb_id).join("own.jsonl"), "{}\n").unwrap();
    std::fs::write(s.evidence.join("system.jsonl"), "{}\n").unwrap();
    let logs = |id: &str, path: String| {
        model(
            id,
            "ml",
            "logs",
            json!({"type": "logs", "config": {"path": path}}),
        )
    };
    bb.post("/models/register", &logs("g-own", "own.jsonl".into()))
        .ok(201);
    for path in [
        format!("../{ta_id}/preds.jsonl"),
        s.evidence
            .join(ta_id)
            .join("preds.jsonl")
            .to_string_lossy()
            .into_owned(),
        s.evidence
            .join("system.jsonl")
            .to_string_lossy()
            .into_owned(),
    ] {
        let e = bb
            .post("/models/register", &logs("g-spy", path.clone()))
            .detail(422);
        assert!(e.contains("evidence"), "{path}: {e}");
    }
    // Keys and users of the other tenant: not found either, and not creatable there.
    let u = a
        .post(
            "/users",
            &json!({"username": "acme-ops", "password": "acme passphrase 1", "role": "viewer"}),
        )
        .ok(201);
    let k = a
        .post("/api-keys", &json!({"name": "acme ci", "role": "auditor"}))
        .ok(201);
    bb.delete(&format!("/users/{}", u["user_id"].as_str().unwrap()))
        .detail(404);
    bb.delete(&format!("/api-keys/{}", k["key_id"].as_str().unwrap()))
        .detail(404);
    bb.post(
        "/api-keys",
        &json!({"name": "x", "role": "admin", "tenant_id": ta["id"]}),
    )
    .detail(404);
    for list in [
        "/models",
        "/audits?include_running=true",
        "/findings",
        "/audit-policies",
        "/v1/projects",
        "/v1/models",
        "/api-keys",
        "/users",
        "/compliance-log",
        "/compliance/coverage",
    ] {
        let r = bb.get(list).ok(200);
        let text = r.to_string();
        assert!(
            !text.contains(&mid) && !text.contains("acme-llm") && !text.contains(&aid),
            "{list} leaks: {text}"
        );
    }
    let ov = bb.get("/dashboard/overview").ok(200);
    assert_eq!(ov["total_models"], 1, "only its own g-own");
    assert_eq!(ov["total_audits"], 0);
    let ov = a.get("/dashboard/overview").ok(200);
    assert_eq!(ov["total_models"], 2);
    assert!(ov["findings_by_status"]["open"].as_i64().unwrap() > 0);
    // The operator sees both tenants.
    assert!(s.get("/v1/tenants").ok(200).as_array().unwrap().len() >= 3);
    assert_eq!(bb.get("/v1/tenants").ok(200).as_array().unwrap().len(), 1);
    // Each tenant's log holds its own entries, and verifies.
    let la = a.get("/compliance-log?limit=500").ok(200);
    assert!(
        la["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["tenant_id"] == ta["id"])
    );
    let v = bb.get("/compliance-log/verify").ok(200);
    assert_eq!(v["valid"], true);
    assert_eq!(v["chains"].as_array().unwrap().len(), 1);
    bb.get(&format!(
        "/compliance-log?tenant_id={}",
        ta["id"].as_str().unwrap()
    ))
    .detail(404);
}
on_both!(tenants_are_isolated);

/// Every change lands in the log with actor, action and object; the chain verifies; UPDATE
/// and DELETE on the log are refused by the database.
fn compliance_log_records_every_change(b: Backend) {
    let s = Server::start(&b, Options::default());
    let auditor = key(&s, "auditor");
    s.post(
        "/models/register",
        &model("llm", "llm", "api", json!({"type": "sample"})),
    )
    .ok(201);
    s.put("/models/llm", &json!({"owner": "risk@example.com"}))
        .ok(200);
    let pol = s
        .post(
            "/audit-policies",
            &json!({"model_id": "llm", "audit_frequency": "weekly"}),
        )
        .ok(201);
    s.put(
        &format!("/audit-policies/{}", pol["id"]),
        &json!({"enabled": false}),
    )
    .ok(200);
    let (chat, _) = fake_chat::start(fake_chat::comply);
    s.put(
        "/models/llm/active-target",
        &json!({"url": chat, "model": "m", "auth_header": "authorization", "secret": "Bearer TOPSECRET-LOG", "requests_per_minute": 6000, "max_calls": 20}),
    )
    .ok(200);
    crate::active::enable_active(&s, "llm");
    let run = s
        .as_(Some(&auditor))
        .post("/models/llm/audits?audit_type=active", &json!({}))
        .ok(202);
    let aid = run["audit_id"].as_str().unwrap();
    let done = s.wait_audit(aid);
    let fid = done["findings"][0]["id"].as_i64().unwrap();

    // Findings workflow: open → acknowledged → resolved; no skipping back to acknowledged.
    let f = s
        .as_(Some(&auditor))
        .post(
            &format!("/findings/{fid}/status"),
            &json!({"status": "acknowledged", "note": "known issue, ticket SEC-12"}),
        )
        .ok(200);
    assert_eq!(f["status"], "acknowledged");
    assert!(f["status_actor"].as_str().unwrap().starts_with("key:key_"));
    s.as_(Some(&auditor))
        .post(
            &format!("/findings/{fid}/status"),
            &json!({"status": "resolved"}),
        )
        .ok(200);
    s.as_(Some(&auditor))
        .post(
            &format!("/findings/{fid}/status"),
            &json!({"status": "acknowledged"}),
        )
        .detail(409);
    s.post(
        &format!("/findings/{fid}/status"),
        &json!({"status": "done"}),
    )
    .detail(422);
    let resolved = s.get("/findings?status=resolved").ok(200);
    assert_eq!(resolved["total"], 1);
    assert_eq!(resolved["findings"][0]["id"], fid);
    s.get("/findings?status=closed").detail(400);
    let ov = s.get("/dashboard/overview").ok(200);
    assert_eq!(ov["findings_by_status"]["resolved"], 1);
    let total: i64 = ov["findings_by_severity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(ov["findings_by_status"]["open"], total - 1);

    // Model versions: history, metrics, the current version moves.
    s.post(
        "/models/llm/versions",
        &json!({"version_tag": "2.0.0", "artifact_location": "s3://models/llm/2.0.0",
                "notes": "retrained", "metrics": {"accuracy": 0.91, "f1": 0.88, "auc": 0.95, "dir.gender": 0.86}}),
    )
    .ok(201);
    s.post("/models/llm/versions", &json!({"version_tag": "2.0.0"}))
        .detail(409);
    s.post(
        "/models/llm/versions",
        &json!({"version_tag": "2.1.0", "metrics": {"accuracy": "high"}}),
    )
    .detail(422);
    let v = s
        .put(
            "/models/llm/versions/2.0.0/metrics",
            &json!({"brier": 0.07}),
        )
        .ok(200);
    assert_eq!(v["metrics"]["brier"], 0.07);
    assert_eq!(v["metrics"]["accuracy"], 0.91);
    assert_eq!(v["current"], true);
    assert_eq!(s.get("/models/llm").ok(200)["version"], "2.0.0");
    // The version given at registration is in the history too, no longer current.
    let history = s.get("/models/llm/versions").ok(200);
    let tags: Vec<(&str, bool)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version_tag"].as_str().unwrap(), v["current"] == true))
        .collect();
    assert_eq!(tags, [("1.0.0", false), ("2.0.0", true)], "{history}");
    assert_eq!(history[0]["created_by"], history[1]["created_by"]);
    s.get("/models/llm/versions/9.9").detail(404);

    let log = s.get("/compliance-log?limit=500").ok(200);
    let entries = log["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for want in [
        "key.create",
        "model.create",
        "model.update",
        "policy.create",
        "policy.update",
        "target.set",
        "audit.start",
        "audit.finish",
        "finding.acknowledged",
        "finding.resolved",
        "version.create",
        "version.metrics",
    ] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
    let start = entries
        .iter()
        .find(|e| e["action"] == "audit.start")
        .unwrap();
    assert!(start["actor"].as_str().unwrap().starts_with("key:"));
    assert_eq!(start["object_id"], aid);
    let text = log.to_string();
    assert!(
        !text.contains("TOPSECRET"),
        "the log holds digests, not secrets"
    );
    // Chained: each entry names its predecessor's hash.
    for w in entries.windows(2) {
        assert_eq!(w[1]["prev_hash"], w[0]["hash"]);
    }
    let filtered = s.get("/compliance-log?object_type=finding").ok(200);
    assert_eq!(filtered["total"], 2);
    let export = s
        .client()
        .get(s.url("/compliance-log/export"))
        .send()
        .unwrap();
    assert_eq!(
        export.headers()["content-type"].to_str().unwrap(),
        "application/x-ndjson"
    );
    let lines = export.text().unwrap();
    let entries = lines
        .lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["type"] == "entry")
        .count();
    assert_eq!(entries as u64, log["total"].as_u64().unwrap());
    let v = s.get("/compliance-log/verify").ok(200);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["entries_checked"], log["total"]);

    // Verification while others write: appends past the head it read are not "tampering".
    std::thread::scope(|sc| {
        for t in 0..2 {
            let s = &s;
            sc.spawn(move || {
                for i in 0..12 {
                    s.post(
                        "/models/register",
                        &model(
                            &format!("w{t}-{i}"),
                            "ml",
                            "sample",
                            json!({"type": "sample"}),
                        ),
                    )
                    .ok(201);
                }
            });
        }
        for _ in 0..25 {
            let v = s.get("/compliance-log/verify").ok(200);
            assert_eq!(v["valid"], true, "false alarm under concurrent writes: {v}");
        }
    });
    assert_eq!(s.get("/compliance-log/verify").ok(200)["valid"], true);

    // The database refuses edits of the log.
    let sql = [
        "UPDATE compliance_log SET actor = 'mallory'",
        "DELETE FROM compliance_log",
    ];
    match &b {
        Backend::Sqlite => {
            use diesel::{Connection, RunQueryDsl, sqlite::SqliteConnection};
            let mut c =
                SqliteConnection::establish(&s.db_file.clone().unwrap().to_string_lossy()).unwrap();
            for q in sql {
                let e = diesel::sql_query(q)
                    .execute(&mut c)
                    .unwrap_err()
                    .to_string();
                assert!(e.contains("append-only"), "{q}: {e}");
            }
        }
        Backend::Postgres(_) => {
            use diesel::{Connection, PgConnection, RunQueryDsl};
            let mut c = PgConnection::establish(&s.db_url).unwrap();
            for q in sql
                .into_iter()
                .chain(["TRUNCATE compliance_log", "TRUNCATE log_heads"])
            {
                let e = diesel::sql_query(q)
                    .execute(&mut c)
                    .unwrap_err()
                    .to_string();
                assert!(e.contains("append-only"), "{q}: {e}");
            }
        }
    }
}
on_both!(compliance_log_records_every_change);

/// An attacker with the database file drops the triggers and edits, deletes, reorders or
/// truncates log rows: verify notices each, and names the first broken entry.
#[test]
fn tampering_is_detected() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, sqlite::SqliteConnection};
    let cases = [
        // (what, SQL, Ok(first broken position) or Err(words of the reason))
        (
            "edit",
            "UPDATE compliance_log SET actor = 'mallory' WHERE tenant_seq = 3",
            Ok(3),
        ),
        (
            "edit digest",
            "UPDATE compliance_log SET digest = 'x' || substr(digest, 2) WHERE tenant_seq = 5",
            Ok(5),
        ),
        (
            "delete",
            "DELETE FROM compliance_log WHERE tenant_seq = 4",
            Ok(4),
        ),
        (
            "reorder",
            "UPDATE compliance_log SET tenant_seq = -2 WHERE tenant_seq = 2; \
             UPDATE compliance_log SET tenant_seq = 2 WHERE tenant_seq = 3; \
             UPDATE compliance_log SET tenant_seq = 3 WHERE tenant_seq = -2",
            Ok(2),
        ),
        (
            "delete last",
            "DELETE FROM compliance_log WHERE seq = (SELECT MAX(seq) FROM compliance_log)",
            Err("removed from its end"),
        ),
        (
            "remove the head",
            "DROP TRIGGER log_heads_no_delete; DELETE FROM log_heads",
            Err("head record is missing"),
        ),
    ];
    for (what, sql, broken) in cases {
        let s = Server::start(&Backend::Sqlite, Options::default());
        for i in 0..6 {
            s.post(
                "/models/register",
                &model(&format!("m{i}"), "ml", "sample", json!({"type": "sample"})),
            )
            .ok(201);
        }
        assert_eq!(s.get("/compliance-log/verify").ok(200)["valid"], true);
        let db = s.db_file.clone().unwrap();
        {
            let mut c = SqliteConnection::establish(&db.to_string_lossy()).unwrap();
            c.batch_execute(
                "DROP TRIGGER compliance_log_no_update; DROP TRIGGER compliance_log_no_delete;",
            )
            .unwrap();
            c.batch_execute(sql).unwrap();
        }
        let v = s.get("/compliance-log/verify").ok(200);
        assert_eq!(v["valid"], false, "{what} went unnoticed: {v}");
        let chain = &v["chains"][0];
        match broken {
            Ok(pos) => {
                assert_eq!(chain["first_broken_position"], pos, "{what}: {v}");
                assert!(v["first_broken_seq"].is_i64(), "{what}: {v}");
            }
            Err(words) => assert!(
                chain["reason"].as_str().unwrap().contains(words),
                "{what}: {v}"
            ),
        }
    }
}

/// The `model_version` baseline strategy follows the version history: a new current version
/// gets its own baseline, and its audits record it.
#[test]
fn versions_drive_the_model_version_baseline() {
    use crate::harness::spec;
    let s = Server::start(&Backend::Sqlite, Options::default());
    let mut m = model("vm", "ml", "sample", json!({"type": "sample"}));
    m["policy"] = json!({"audit_frequency": "daily", "baseline_strategy": "model_version"});
    s.post("/models/register", &m).ok(201);
    let upload_and_run = |seed: u64| {
        let mut text = Vec::new();
        auditor::synth::write_text(
            auditor::synth::Generator::new(spec(
                500,
                seed,
                chrono::Utc::now() - chrono::Duration::hours(1),
                3_000_000,
            )),
            auditor::synth::OutFormat::Jsonl,
            &mut text,
        )
        .unwrap();
        s.post_raw("/models/vm/samples", "application/x-ndjson", text)
            .ok(201);
        let r = s.post("/models/vm/audits", &json!({})).ok(202);
        s.wait_audit(r["audit_id"].as_str().unwrap())
    };
    let first = upload_and_run(1);
    assert_eq!(first["audit_result"], "BASELINE_CREATED", "{first}");
    assert_eq!(first["model_version"], "1.0.0");
    let second = upload_and_run(2);
    assert_ne!(second["audit_result"], "BASELINE_CREATED", "{second}");
    s.post(
        "/models/vm/versions",
        &json!({"version_tag": "2.0.0", "metrics": {"accuracy": 0.9}}),
    )
    .ok(201);
    let third = upload_and_run(3);
    assert_eq!(third["model_version"], "2.0.0");
    assert_eq!(
        third["audit_result"], "BASELINE_CREATED",
        "a new version starts from its own baseline: {third}"
    );
}
