//! A real browser (headless Chromium) on a page from another origin calls the API the way the
//! frontend does: JSON content type and a bearer token, so every call is preflighted.

use crate::active::fake_chat;
use crate::harness::{Backend, Options, Server};
use crate::registry::model;
use serde_json::json;
use std::io::{Read, Write};
use std::process::Command;

/// The browser binary, if this machine has one (`.ci/run` installs Debian's `chromium`).
pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Serves `page` at every path; returns the origin.
fn static_site(page: String) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming().map_while(Result::ok) {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    origin
}

/// Serves whatever page is put in the holder, at every path of a new origin: the origin is
/// known (for the server's CORS list) before the page, which names the server, is written.
pub fn site() -> (String, std::sync::Arc<std::sync::Mutex<String>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", l.local_addr().unwrap());
    let page = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let p = page.clone();
    std::thread::spawn(move || {
        for s in l.incoming().map_while(Result::ok) {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = p.lock().unwrap().clone();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (origin, page)
}

/// Loads `url` in headless Chromium, lets scripts run, returns the resulting DOM.
pub fn dump_dom(browser: &str, url: &str) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn page(api: &str, key: &str) -> String {
    format!(
        r#"<html><body><pre id="out">waiting</pre><script>
(async () => {{
  const out = document.getElementById('out');
  try {{
    const h = {{'Content-Type': 'application/json', 'Authorization': 'Bearer {key}'}};
    const a = await (await fetch('{api}/api/v1/audits?skip=0&limit=10', {{headers: h}})).json();
    const t = await (await fetch('{api}/v1/tenants', {{method: 'POST', headers: h,
        body: JSON.stringify({{name: 'made-in-a-browser'}})}})).json();
    out.textContent = 'audits=' + a.total + ' first=' + a.audits[0].model_name + ' tenant=' + t.id;
  }} catch (e) {{ out.textContent = 'error ' + e; }}
}})();
</script></body></html>"#
    )
}

#[test]
fn a_page_from_another_origin_calls_the_api() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium on this machine (Debian: apt-get install chromium)");
        return;
    };
    // The page's origin must be known before the server starts (CORS allow-list).
    let (origin, holder) = site();
    let s = Server::start(
        &Backend::Sqlite,
        Options {
            extra: vec!["--cors-origins".into(), origin.clone()],
            ..Options::default()
        },
    );
    let key = s.admin_key.clone().unwrap();
    let mut m = model("bb", "llm", "api", json!({"type": "sample"}));
    m["name"] = json!("Browser Bot");
    s.post("/models/register", &m).ok(201);
    let (chat, _) = fake_chat::start(fake_chat::refuse);
    s.put(
        "/models/bb/active-target",
        &json!({"url": chat, "model": "m", "requests_per_minute": 6000, "max_calls": 6}),
    )
    .ok(200);
    crate::active::enable_active(&s, "bb");
    let run = s
        .post("/models/bb/audits?audit_type=active", &json!({}))
        .ok(202);
    s.wait_audit(run["audit_id"].as_str().unwrap());

    *holder.lock().unwrap() = page(&s.base, &key);
    let dom = dump_dom(browser, &format!("{origin}/"));
    assert!(
        dom.contains("audits=1 first=Browser Bot tenant=tnt_"),
        "the page did not show the API's data: {dom}"
    );
    // The same page from an origin that is not allowed gets nothing.
    let stranger = static_site(page(&s.base, &key));
    let dom = dump_dom(browser, &format!("{stranger}/"));
    assert!(dom.contains("error"), "CORS let a stranger in: {dom}");
    assert!(!dom.contains("audits=1"));
}

/// ReDoc at `/redoc` renders the API's document in Chromium from the binary's own bundle
/// (its CSP allows nothing from elsewhere); Swagger UI stays at `/docs/`.
#[test]
fn redoc_renders_the_document() {
    let s = Server::start(&Backend::Sqlite, Options::default());
    // No credential: the page and its bundle are public, like /docs/.
    let anon = reqwest::blocking::Client::new();
    let r = anon.get(s.url("/redoc")).send().unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("http"),
        "{csp}"
    );
    let html = r.text().unwrap();
    assert!(html.contains(r#"spec-url="/openapi.json""#), "{html}");
    let js = anon
        .get(s.url("/redoc/redoc.standalone.js"))
        .send()
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.text().unwrap().len() > 500_000);
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium on this machine (Debian: apt-get install chromium)");
        return;
    };
    let dom = dump_dom(browser, &s.url("/redoc"));
    // Redoc draws the document's title and its operations' summaries.
    assert!(
        dom.contains("AI Auditor"),
        "{}",
        &dom[..dom.len().min(2000)]
    );
    assert!(
        dom.contains("/models/register"),
        "the operations are listed"
    );
}
