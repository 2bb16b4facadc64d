//! The existing frontend end to end, in headless Chromium: a page from the frontend's origin
//! calls the server exactly as its `src/lib/api-client.ts` does (no credential,
//! `Content-Type: application/json` on every call, so every call is preflighted), runs the
//! set-up wizard's three steps against a server in open mode, then each of the seven
//! monitoring calls. A counting proxy in front of the server sees the preflights.

use crate::browser::{chromium, dump_dom, site};
use crate::harness::{Backend, Options, Server};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// The frontend's `apiRequest` and the ten api-client functions the test calls, as written
/// there (`API_BASE_URL` is what `NEXT_PUBLIC_API_BASE_URL` would be at build time).
const CLIENT: &str = r#"
async function apiRequest(endpoint, options = {}) {
  const url = `${API_BASE_URL}${endpoint}`;
  const response = await fetch(url, {
    ...options,
    headers: { 'Content-Type': 'application/json', ...options.headers },
  });
  if (!response.ok) {
    const errorData = await response.json().catch(() => ({}));
    throw new Error(errorData.detail || `API request failed: ${response.status} ${response.statusText}`);
  }
  return response.json();
}
const createTenant = (data) => apiRequest('/v1/tenants', { method: 'POST', body: JSON.stringify(data) });
const createProject = (data) => apiRequest('/v1/projects', { method: 'POST', body: JSON.stringify(data) });
const createModel = (data) => apiRequest('/v1/models', { method: 'POST', body: JSON.stringify(data) });
const ingestEvents = (events) => apiRequest('/v1/events', { method: 'POST', body: JSON.stringify(events) });
const ingestLabels = (labels) => apiRequest('/v1/labels', { method: 'POST', body: JSON.stringify(labels) });
const ingestFeedback = (feedback) => apiRequest('/v1/feedback', { method: 'POST', body: JSON.stringify(feedback) });
const getEvent = (requestId) => apiRequest(`/v1/events/${requestId}`);
const createBaseline = (data) => apiRequest('/v1/baselines', { method: 'POST', body: JSON.stringify(data) });
const getBaseline = (baselineId) => apiRequest(`/v1/baselines/${baselineId}`);
const listBaselines = (projectId, modelId) => {
  const params = new URLSearchParams({ project_id: projectId });
  if (modelId) params.append('model_id', modelId);
  return apiRequest(`/v1/baselines?${params.toString()}`);
};
"#;

/// What the page does: the wizard (twice, as a user re-running it would), then every call.
const SCRIPT: &str = r#"
(async () => {
  const out = document.getElementById('out');
  const r = {};
  try {
    // The wizard: tenant, project, model; the page reads `.id` of each.
    const tenant = await createTenant({ name: 'browser-acme' });
    const again = await createTenant({ name: 'browser-acme' });
    r.tenant_again_same = again.id === tenant.id;
    const project = await createProject({ tenant_id: tenant.id, name: 'credit', task_type: 'classification' });
    const model = await createModel({ project_id: project.id, name: 'scorer', version: 'v1.0' });
    r.model = model.id;
    const events = [], labels = [], feedback = [];
    for (let i = 0; i < 120; i++) {
      const rid = `browser-${i}`;
      const ev = { model_id: model.id, request_id: rid, prediction: i % 3 ? 'deny' : 'approve',
                   confidence: (i % 100) / 100, outcome: i % 3 === 0, gender: i % 2 ? 'm' : 'f',
                   ts: new Date().toISOString() };
      events.push(ev);
      labels.push({ ...ev }, { model_id: model.id, request_id: rid, label: i % 4 ? 'deny' : 'approve' });
      const { outcome, ...withoutOutcome } = ev;
      feedback.push(withoutOutcome, { model_id: model.id, request_id: rid, feedback: i % 2 === 0 });
    }
    r.events = (await ingestEvents(events)).models[0].receipt.rows_valid;
    r.labels = (await ingestLabels(labels)).models[0].joined;
    r.feedback = (await ingestFeedback(feedback)).models[0].joined;
    try { await getEvent('browser-1'); r.event = 'found'; } catch (e) { r.event = e.message; }
    const b = await createBaseline({ project_id: project.id, model_id: model.id, name: 'launch', source_type: 'events' });
    let got = await getBaseline(b.id);
    for (let i = 0; i < 100 && got.status === 'building'; i++) {
      await new Promise((ok) => setTimeout(ok, 100));
      got = await getBaseline(b.id);
    }
    r.baseline = got.status;
    r.baseline_reason = got.reason;
    r.baseline_rows = got.rows_read;
    const list = await listBaselines(project.id, model.id);
    r.listed = list.baselines.map((x) => x.name).join(',');
  } catch (e) {
    r.error = e.message;
  }
  out.textContent = 'RESULT' + JSON.stringify(r) + 'END';
})();
"#;

/// Forwards every connection to `upstream`, keeping each request line the browser sent.
fn counting_proxy(upstream: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for client in l.incoming().map_while(Result::ok) {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_read, mut c_write) = (server, client);
            let kept = kept.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let mut text = String::new();
                while let Ok(n) = c_read.read(&mut buf) {
                    if n == 0 || s_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                    // Request lines: "<METHOD> <path> HTTP/1.1" (a JSON body never holds one).
                    while let Some(end) = text.find(" HTTP/1.1\r\n") {
                        // After the previous request's headers or its body (no newline).
                        let start = ["OPTIONS ", "GET ", "POST ", "PUT ", "DELETE "]
                            .iter()
                            .filter_map(|m| text[..end].rfind(m))
                            .max()
                            .unwrap_or(0);
                        kept.lock().unwrap().push(text[start..end].to_owned());
                        text.drain(..end + 11);
                    }
                }
                let _ = s_write.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_read, &mut c_write);
                let _ = c_write.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (addr, seen)
}

#[test]
fn the_frontend_runs_its_wizard_and_every_monitoring_call() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium on this machine (Debian: apt-get install chromium)");
        return;
    };
    let (origin, page) = site();
    let s = Server::start(
        &Backend::Sqlite,
        Options {
            extra: vec![
                "--open-access".into(),
                "default".into(),
                "--cors-origins".into(),
                origin.clone(),
            ],
            ..Options::default()
        },
    );
    let upstream = s.base.trim_start_matches("http://").to_owned();
    let (api, seen) = counting_proxy(upstream);
    *page.lock().unwrap() = format!(
        "<html><body><pre id=\"out\">waiting</pre><script>const API_BASE_URL = '{api}';{CLIENT}{SCRIPT}</script></body></html>"
    );
    let dom = dump_dom(browser, &format!("{origin}/setup"));
    let json = dom
        .split("RESULT")
        .nth(1)
        .and_then(|t| t.split("END").next())
        .unwrap_or_else(|| panic!("the page did not finish: {dom}\n{}", s.log_text()));
    let r: Value = serde_json::from_str(&json.replace("&amp;", "&")).unwrap();
    assert!(r.get("error").is_none(), "{r}\n{}", s.log_text());
    assert_eq!(r["tenant_again_same"], true, "{r}");
    assert_eq!(r["events"], 120, "{r}");
    assert_eq!(r["labels"], 120, "{r}");
    assert_eq!(r["feedback"], 120, "{r}");
    assert!(r["event"].as_str().unwrap().contains("not stored"), "{r}");
    assert_eq!(r["baseline"], "ready", "{r}");
    assert_eq!(r["baseline_rows"], 360, "{r}");
    assert_eq!(r["listed"], "launch", "{r}");
    // Every call the page made was preflighted: one OPTIONS before each GET or POST.
    let seen = seen.lock().unwrap().clone();
    let calls: Vec<&String> = seen.iter().filter(|l| !l.starts_with("OPTIONS ")).collect();
    let preflights = seen.len() - calls.len();
    assert!(calls.len() >= 11, "{seen:#?}");
    for c in &calls {
        let path = c.split(' ').nth(1).unwrap();
        assert!(
            seen.iter().any(|l| *l == format!("OPTIONS {path}")),
            "no preflight for {c}: {seen:#?}"
        );
    }
    assert!(preflights >= 8, "{seen:#?}");
    // The wizard's model is the system tenant's, made by `anonymous`.
    let m = s
        .get(&format!("/models/{}", r["model"].as_str().unwrap()))
        .ok(200);
    assert_eq!(m["model_name"], "scorer", "{m}");
}
