//! Open mode (`--open-access TENANT`) for a trusted local network: the existing frontend's
//! set-up wizard, which sends no credential, runs as an admin of the tenant, may run again
//! with the same name, and every change it makes is logged as `anonymous`. Off by default,
//! and refused beyond loopback unless asked twice.

use crate::harness::{Backend, Options, Server};
use crate::on_both;
use serde_json::json;

fn open(b: &Backend) -> Server {
    Server::start(
        b,
        Options {
            extra: vec!["--open-access".into(), "default".into()],
            ..Options::default()
        },
    )
}

fn the_wizard_runs_without_credentials(b: Backend) {
    let s = open(&b);
    assert!(
        s.log_text().contains("OPEN ACCESS IS ON"),
        "{}",
        s.log_text()
    );
    let anon = s.as_(None);
    // Step 1, and again with the same name: the same tenant, no second admin key.
    let t = anon.post("/v1/tenants", &json!({"name": "acme"})).ok(201);
    assert!(t["admin_key"].is_string(), "{t}");
    let again = anon.post("/v1/tenants", &json!({"name": "acme"})).ok(200);
    assert_eq!(again["id"], t["id"]);
    assert!(again.get("admin_key").is_none(), "{again}");
    // Steps 2 and 3.
    let p = anon
        .post(
            "/v1/projects",
            &json!({"tenant_id": t["id"], "name": "credit", "task_type": "classification"}),
        )
        .ok(201);
    let m = anon
        .post(
            "/v1/models",
            &json!({"project_id": p["id"], "name": "scorer", "version": "v1.0"}),
        )
        .ok(201);
    assert_eq!(m["tenant_id"], t["id"]);
    // An admin of the system tenant in everything else too, and logged as anonymous.
    assert_eq!(anon.get("/auth/me").ok(200)["role"], "admin");
    let log = s.get("/compliance-log?actor=anonymous&limit=50").ok(200);
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for want in ["tenant.create", "project.create"] {
        assert!(
            actions.contains(&want),
            "{want} not logged as anonymous: {actions:?}"
        );
    }
    // The document served says so: every operation also takes no credential.
    let doc = anon.get("/openapi.json").ok(200);
    let sec = doc["paths"]["/models/register"]["post"]["security"]
        .as_array()
        .unwrap()
        .clone();
    assert!(sec.contains(&json!({})), "{sec:?}");
    // A wrong credential is still refused: open mode is for requests without one.
    s.as_(Some("aud_0000000000000000_00"))
        .get("/models")
        .detail(401);
}
on_both!(the_wizard_runs_without_credentials);

#[test]
fn without_open_mode_the_wizard_needs_a_credential() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let d = s
        .as_(None)
        .post("/v1/tenants", &json!({"name": "acme"}))
        .detail(401);
    assert!(d.contains("credentials required"), "{d}");
    s.post("/v1/tenants", &json!({"name": "acme"})).ok(201);
    // Outside open mode a name taken is a conflict.
    s.post("/v1/tenants", &json!({"name": "acme"})).detail(409);
}

fn refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auditor"))
        .arg("serve")
        .args(["--database-url", db.to_str().unwrap(), "--no-scheduler"])
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "it started: {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn open_mode_is_refused_beyond_loopback_and_for_an_unknown_tenant() {
    let e = refused(&["--open-access", "default", "--bind", "0.0.0.0:0"]);
    assert!(e.contains("not a loopback address"), "{e}");
    let e = refused(&["--open-access", "nobody", "--bind", "127.0.0.1:0"]);
    assert!(e.contains("no tenant 'nobody'"), "{e}");
}
