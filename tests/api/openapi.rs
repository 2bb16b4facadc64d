//! The OpenAPI document: every route and schema, kept reviewed by a snapshot.

use crate::harness::{Backend, Options, Server};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

/// `UPDATE_SNAPSHOTS=1 cargo test -p auditor --test api openapi` rewrites docs/openapi.json.
#[test]
fn openapi_snapshot() {
    let doc = audit_http::openapi();
    let text = format!("{}\n", serde_json::to_string_pretty(&doc).unwrap());
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(SNAPSHOT, &text).unwrap();
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        committed == text,
        "docs/openapi.json is out of date: review the API change and run UPDATE_SNAPSHOTS=1 cargo test -p auditor --test api openapi"
    );
}

#[test]
fn served_document_covers_the_seed_routes() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let doc = s.get("/openapi.json").ok(200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in [
        ("post", "/models/register"),
        ("get", "/models"),
        ("get", "/models/{model_id}"),
        ("put", "/models/{model_id}"),
        ("delete", "/models/{model_id}"),
        ("post", "/models/{model_id}/samples"),
        ("post", "/models/{model_id}/audits"),
        ("post", "/audit-policies"),
        ("get", "/audit-policies"),
        ("get", "/audit-policies/{id}"),
        ("put", "/audit-policies/{id}"),
        ("delete", "/audit-policies/{id}"),
        ("get", "/audits"),
        ("get", "/audits/{audit_id}"),
        ("get", "/audits/model/{model_id}"),
        ("post", "/audits/{audit_id}/approve"),
        ("get", "/findings"),
        ("get", "/findings/{audit_id}"),
        ("get", "/dashboard/overview"),
        ("get", "/dashboard/model/{model_id}"),
        ("get", "/health"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(
        schemas.len() >= 20,
        "{:?}",
        schemas.keys().collect::<Vec<_>>()
    );
    // Swagger UI.
    let r = s.client().get(s.url("/docs/")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("swagger"));
}
