//! The console's sign-in, session cookie, CSRF tokens and security headers, through HTTP as a
//! browser sends it (cookies handled by hand, redirects not followed).

use crate::harness::{Backend, Options, Server};
use reqwest::blocking::{Client, Response};
use serde_json::json;

fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of cookie `name` set by a response, with its attributes.
fn set_cookie(r: &Response, name: &str) -> Option<(String, String)> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let value = v[name.len() + 1..].split(';').next().unwrap().to_owned();
            (value, v.to_owned())
        })
}

fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

fn location(r: &Response) -> &str {
    r.headers()["location"].to_str().unwrap()
}

#[test]
fn sign_in_overview_csrf_and_sign_out() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let pw = "correct horse battery staple";
    s.post(
        "/users",
        &json!({"username": "ann", "password": pw, "role": "auditor"}),
    )
    .ok(201);
    let b = browser();

    // Signed out, the console sends people to the sign-in form.
    let r = b.get(s.url("/")).send().unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login");

    let r = b.get(s.url("/login")).send().unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
            && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    let (csrf_cookie, attrs) = set_cookie(&r, "auditor_csrf").expect("a CSRF cookie");
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Strict"),
        "{attrs}"
    );
    let html = r.text().unwrap();
    assert_eq!(hidden_csrf(&html), csrf_cookie);
    assert!(html.contains("<label for=\"username\">") && html.contains("<label for=\"password\">"));

    let sign_in = |csrf: &str, password: &str| {
        b.post(s.url("/login"))
            .header("cookie", format!("auditor_csrf={csrf_cookie}"))
            .form(&[("username", "ann"), ("password", password), ("csrf", csrf)])
            .send()
            .unwrap()
    };
    // A form without its token, or with another, is refused and opens no session.
    for bad in ["", "0123456789abcdef0123456789abcdef"] {
        let r = sign_in(bad, pw);
        assert_eq!(r.status(), 403);
        assert!(set_cookie(&r, "auditor_session").is_none());
    }
    // A wrong password is shown on the form, next to its fields.
    let r = sign_in(&csrf_cookie, "wrong password");
    assert_eq!(r.status(), 401);
    let html = r.text().unwrap();
    assert!(html.contains("role=\"alert\"") && html.contains("wrong username or password"));
    assert!(html.contains("value=\"ann\""), "the username is kept");

    let r = sign_in(&csrf_cookie, pw);
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/");
    let (session, attrs) = set_cookie(&r, "auditor_session").expect("a session cookie");
    assert!(session.starts_with("ses_"));
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Strict"),
        "{attrs}"
    );
    assert!(!attrs.contains("Secure"), "plain HTTP here: {attrs}");
    let cookie = format!("auditor_session={session}");

    let page = |c: &str| b.get(s.url("/")).header("cookie", c).send().unwrap();
    let r = page(&cookie);
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().unwrap();
    assert!(html.contains("<h1>Overview</h1>"), "{html}");
    assert!(html.contains("user:ann"));
    assert!(html.contains("No model is registered yet"));
    let logout_csrf = hidden_csrf(&html);

    // The API does not take the cookie as a credential: a cross-site request carrying it
    // could not act through the API either.
    let r = b
        .get(s.url("/models"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);

    let sign_out = |csrf: &str| {
        b.post(s.url("/logout"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf)])
            .send()
            .unwrap()
    };
    assert_eq!(sign_out("").status(), 403);
    assert_eq!(
        sign_out(&csrf_cookie).status(),
        403,
        "the sign-in token is not the session's"
    );
    assert_eq!(
        page(&cookie).status(),
        200,
        "a refused sign-out ends nothing"
    );
    let r = sign_out(&logout_csrf);
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login");
    assert!(
        set_cookie(&r, "auditor_session")
            .unwrap()
            .1
            .contains("Max-Age=0")
    );
    let r = page(&cookie);
    assert_eq!(r.status(), 303, "the session ended on the server too");
}

#[test]
fn the_overview_counts_the_tenants_models_and_a_viewer_signs_in() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let pw = "correct horse battery staple";
    s.post(
        "/users",
        &json!({"username": "vic", "password": pw, "role": "viewer"}),
    )
    .ok(201);
    s.post(
        "/models/register",
        &crate::registry::model("m1", "ml", "sample", json!({"type": "sample"})),
    )
    .ok(201);
    let b = browser();
    let r = b.get(s.url("/login")).send().unwrap();
    let (csrf, _) = set_cookie(&r, "auditor_csrf").unwrap();
    let r = b
        .post(s.url("/login"))
        .header("cookie", format!("auditor_csrf={csrf}"))
        .form(&[
            ("username", "vic"),
            ("password", pw),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let (session, _) = set_cookie(&r, "auditor_session").unwrap();
    let html = b
        .get(s.url("/"))
        .header("cookie", format!("auditor_session={session}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(html.contains("<dt>Models</dt><dd>1</dd>"), "{html}");
    assert!(!html.contains("No model is registered yet"));
    assert!(html.contains("user:vic · viewer"));
    // The stylesheet is this origin's, as the policy requires.
    let css = b.get(s.url("/console.css")).send().unwrap();
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

/// Signs `username` in through the form; returns the session cookie's `name=value`.
fn signed_in(s: &Server, b: &Client, username: &str, password: &str) -> String {
    let r = b.get(s.url("/login")).send().unwrap();
    let (csrf, _) = set_cookie(&r, "auditor_csrf").unwrap();
    let r = b
        .post(s.url("/login"))
        .header("cookie", format!("auditor_csrf={csrf}"))
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    format!(
        "auditor_session={}",
        set_cookie(&r, "auditor_session").unwrap().0
    )
}

#[test]
fn models_a_model_its_audits_and_the_report() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let pw = "correct horse battery staple";
    s.post(
        "/users",
        &json!({"username": "ann", "password": pw, "role": "viewer"}),
    )
    .ok(201);
    let mut m = crate::registry::model("m1", "ml", "sample", json!({"type": "sample"}));
    m["name"] = json!("Scorer <b>one</b>");
    s.post("/models/register", &m).ok(201);
    s.post(
        "/models/register",
        &crate::registry::model("m2", "llm", "sample", json!({"type": "sample"})),
    )
    .ok(201);
    let start = chrono::Utc::now() - chrono::Duration::hours(2);
    let audit =
        crate::harness::audit_generated(&s, "m1", crate::harness::spec(500, 1, start, 3_600_000));
    let audit_id = audit["audit_id"].as_str().unwrap().to_owned();

    let b = browser();
    let cookie = signed_in(&s, &b, "ann", pw);
    let get = |path: &str| b.get(s.url(path)).header("cookie", &cookie).send().unwrap();

    let r = get("/console/models");
    assert_eq!(r.status(), 200);
    let html = r.text().unwrap();
    assert!(html.contains("href=\"/console/models/m1\""), "{html}");
    assert!(
        html.contains("Scorer &lt;b&gt;one&lt;/b&gt;"),
        "names are escaped: {html}"
    );
    assert!(html.contains("2 models"));
    let html = get("/console/models?model_type=llm").text().unwrap();
    assert!(html.contains("/console/models/m2") && !html.contains("/console/models/m1\""));
    assert_eq!(get("/console/models?model_type=cnn").status(), 400);

    let r = get("/console/models/m1");
    assert_eq!(r.status(), 200);
    let html = r.text().unwrap();
    assert!(
        html.contains(&format!("href=\"/console/audits/{audit_id}\"")),
        "{html}"
    );
    assert!(html.contains(audit["audit_result"].as_str().unwrap()));
    assert_eq!(get("/console/models/nope").status(), 404);

    let r = get(&format!("/console/audits/{audit_id}"));
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().unwrap().contains("Audit report"));
    let r = get(&format!("/console/audits/{audit_id}/report.pdf"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.bytes().unwrap().starts_with(b"%PDF-"));

    // The overview names the riskiest models and says in words what happened.
    let html = get("/").text().unwrap();
    assert!(html.contains("Riskiest models"), "{html}");
    assert!(
        html.contains("<a href=\"/console/models/m1\">Scorer &lt;b&gt;one&lt;/b&gt;</a>"),
        "{html}"
    );
    let activity = s.get("/dashboard/activity").ok(200);
    let headline = activity[0]["text"].as_str().unwrap();
    let escaped = headline
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    assert!(
        html.contains("Recent activity") && html.contains(&escaped),
        "{headline}: {html}"
    );

    // Signed out, every page sends people to the sign-in form.
    for path in [
        "/console/models",
        "/console/models/m1",
        &format!("/console/audits/{audit_id}"),
    ] {
        let r = b.get(s.url(path)).send().unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(location(&r), "/login");
    }
}

#[test]
fn another_tenants_model_is_not_found_in_the_console() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let t = s.post("/v1/tenants", &json!({"name": "acme"})).ok(201);
    let tenant = t["id"].as_str().unwrap();
    let pw = "correct horse battery staple";
    s.post(
        "/users",
        &json!({"username": "eve", "password": pw, "role": "admin", "tenant_id": tenant}),
    )
    .ok(201);
    s.post(
        "/models/register",
        &crate::registry::model("secret-model", "ml", "sample", json!({"type": "sample"})),
    )
    .ok(201);
    let b = browser();
    let cookie = signed_in(&s, &b, "eve", pw);
    let r = b
        .get(s.url("/console/models/secret-model"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    let html = b
        .get(s.url("/console/models"))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(!html.contains("secret-model"), "{html}");
}

#[test]
fn findings_are_moved_with_a_note_and_a_viewer_cannot() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let pw = "correct horse battery staple";
    for (user, role) in [("ann", "auditor"), ("vic", "viewer")] {
        s.post(
            "/users",
            &json!({"username": user, "password": pw, "role": role}),
        )
        .ok(201);
    }
    s.post(
        "/models/register",
        &crate::registry::model("m1", "ml", "sample", json!({"type": "sample"})),
    )
    .ok(201);
    let start = chrono::Utc::now() - chrono::Duration::hours(3);
    crate::harness::audit_generated(&s, "m1", crate::harness::spec(3000, 1, start, 3_600_000));
    let mut drifted = crate::harness::spec(3000, 2, start + chrono::Duration::hours(1), 3_600_000);
    drifted.drift = 0.6;
    let audit = crate::harness::audit_generated(&s, "m1", drifted);
    let audit_id = audit["audit_id"].as_str().unwrap();
    let found = s.get(&format!("/findings/{audit_id}")).ok(200);
    let first = found["findings"][0].clone();
    let id = first["id"].as_i64().unwrap();
    assert_eq!(first["status"], "open");

    let b = browser();
    let ann = signed_in(&s, &b, "ann", pw);
    let html = b
        .get(s.url("/console/findings?status=open"))
        .header("cookie", &ann)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let action = format!("action=\"/console/findings/{id}/status\"");
    assert!(html.contains(&action), "{html}");
    assert!(html.contains(&format!("<label for=\"note{id}\">Note</label>")));
    let csrf = hidden_csrf(&html);
    let post = |cookie: &str, csrf: &str| {
        b.post(s.url(&format!("/console/findings/{id}/status")))
            .header("cookie", cookie)
            .form(&[
                ("csrf", csrf),
                ("status", "acknowledged"),
                ("note", "seen; retraining planned"),
            ])
            .send()
            .unwrap()
    };
    assert_eq!(post(&ann, "").status(), 403);
    let status_of = || {
        let f = s.get(&format!("/findings/{audit_id}")).ok(200);
        let f = f["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap()
            .clone();
        (
            f["status"].as_str().unwrap().to_owned(),
            f["status_note"].clone(),
        )
    };
    assert_eq!(
        status_of().0,
        "open",
        "a form without its token changes nothing"
    );

    // A viewer sees the findings but no form, and a move it posts anyway is refused.
    let vic = signed_in(&s, &b, "vic", pw);
    let html = b
        .get(s.url("/console/findings"))
        .header("cookie", &vic)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(html.contains(first["metric_name"].as_str().unwrap()));
    assert!(!html.contains("class=\"move\""), "{html}");
    let vic_csrf = hidden_csrf(&html);
    assert_eq!(post(&vic, &vic_csrf).status(), 403);
    assert_eq!(status_of().0, "open");

    let r = post(&ann, &csrf);
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/console/findings");
    assert_eq!(
        status_of(),
        ("acknowledged".to_owned(), json!("seen; retraining planned"))
    );
    // The move is in the compliance log under the person's name.
    let log = s.get("/compliance-log?limit=50").ok(200).to_string();
    assert!(
        log.contains("finding.acknowledged") && log.contains("user:ann"),
        "{log}"
    );
    // Moving it the same way again is not a move the workflow allows: shown, not applied.
    let r = post(&ann, &csrf);
    assert_eq!(r.status(), 409);
    assert!(r.text().unwrap().contains("cannot move to acknowledged"));
}

#[test]
fn an_auditor_runs_an_audit_and_approves_a_baseline_a_viewer_cannot() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let pw = "correct horse battery staple";
    for (user, role) in [("ann", "auditor"), ("vic", "viewer")] {
        s.post(
            "/users",
            &json!({"username": user, "password": pw, "role": role}),
        )
        .ok(201);
    }
    s.post(
        "/models/register",
        &crate::registry::model("m1", "ml", "sample", json!({"type": "sample"})),
    )
    .ok(201);
    let start = chrono::Utc::now() - chrono::Duration::hours(3);
    crate::harness::audit_generated(&s, "m1", crate::harness::spec(500, 1, start, 3_600_000));
    let b = browser();
    let ann = signed_in(&s, &b, "ann", pw);
    let vic = signed_in(&s, &b, "vic", pw);
    let page = |cookie: &str| {
        b.get(s.url("/console/models/m1"))
            .header("cookie", cookie)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let html = page(&vic);
    assert!(
        !html.contains("Run an audit now") && !html.contains("Approve as baseline"),
        "{html}"
    );
    let vic_csrf = hidden_csrf(&html);
    let post = |path: &str, cookie: &str, csrf: &str| {
        b.post(s.url(path))
            .header("cookie", cookie)
            .form(&[("csrf", csrf)])
            .send()
            .unwrap()
    };
    assert_eq!(
        post("/console/models/m1/run", &vic, &vic_csrf).status(),
        403
    );

    let html = page(&ann);
    assert!(html.contains("action=\"/console/models/m1/run\""), "{html}");
    let csrf = hidden_csrf(&html);
    assert_eq!(post("/console/models/m1/run", &ann, "").status(), 403);
    let audits = || s.get("/audits/model/m1?include_running=true").ok(200);
    let before = audits()["total"].as_i64().unwrap();
    // New evidence for the run to read.
    let mut rows = Vec::new();
    let next = crate::harness::spec(500, 2, start + chrono::Duration::hours(1), 3_600_000);
    auditor::synth::write_text(
        auditor::synth::Generator::new(next),
        auditor::synth::OutFormat::Jsonl,
        &mut rows,
    )
    .unwrap();
    s.post_raw("/models/m1/samples", "application/x-ndjson", rows)
        .ok(201);
    let r = post("/console/models/m1/run", &ann, &csrf);
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/console/models/m1");
    let newest = s.wait_for(30, "the audit started from the console", || {
        let a = audits();
        (a["total"].as_i64().unwrap() > before)
            .then(|| a["audits"][0]["audit_id"].as_str().unwrap().to_owned())
    });
    s.wait_audit(&newest);

    // The first audit is the baseline; approving the new one moves the mark.
    let html = page(&ann);
    let approve = format!("action=\"/console/audits/{newest}/approve\"");
    assert!(html.contains(&approve), "{html}");
    assert_eq!(html.matches("class=\"tag ok\">baseline<").count(), 1);
    let path = format!("/console/audits/{newest}/approve");
    assert_eq!(post(&path, &vic, &vic_csrf).status(), 403);
    let r = post(&path, &ann, &csrf);
    assert_eq!(r.status(), 303);
    assert_eq!(
        s.get("/models/m1").ok(200)["baseline_audit_id"],
        newest.as_str()
    );
    assert!(
        !page(&ann).contains(&approve),
        "the baseline has no approve button"
    );
}

#[test]
fn the_compliance_page_shows_the_log_verified_and_coverage() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let pw = "correct horse battery staple";
    s.post(
        "/users",
        &json!({"username": "vic", "password": pw, "role": "viewer"}),
    )
    .ok(201);
    s.post(
        "/models/register",
        &crate::registry::model("m1", "ml", "sample", json!({"type": "sample"})),
    )
    .ok(201);
    let b = browser();
    let cookie = signed_in(&s, &b, "vic", pw);
    let r = b
        .get(s.url("/console/compliance"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().unwrap();
    let verify = s.get("/compliance-log/verify").ok(200);
    assert_eq!(verify["valid"], true);
    let entries = verify["entries_checked"].as_i64().unwrap();
    assert!(entries > 0);
    assert!(
        html.contains(&format!("Verified: {entries} entries")),
        "the page shows the API's verification: {html}"
    );
    let cov = s.get("/compliance/coverage").ok(200);
    let regulations = cov["regulations"].as_array().unwrap();
    assert!(
        !regulations.is_empty(),
        "the built-in packs' regulations are listed"
    );
    for r in regulations {
        let name = r["regulation"].as_str().unwrap();
        assert!(
            html.contains(&format!("<th scope=\"row\">{name}</th>")),
            "{name}: {html}"
        );
    }
}

/// A sample upload from someone signed out is answered before its body is read: the console
/// buffers an upload form in memory, so only a person who may upload gets that far.
#[test]
fn an_upload_is_refused_before_its_body_when_signed_out() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    let r = browser()
        .post(s.url("/console/models/any/samples"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body(vec![b'a'; 4 << 20])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login");
}
