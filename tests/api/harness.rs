//! Starts the real `auditor serve` on a random port with a fresh database (a SQLite file, or a
//! fresh PostgreSQL database when `AUDITOR_TEST_POSTGRES_URL` is set) and talks HTTP to it.

use auditor::synth::{GenSpec, Generator, OutFormat, Style, write_text};
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server URL of PostgreSQL; each test gets its own database on it.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when configured; otherwise says why the test is skipped.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("AUDITOR_TEST_POSTGRES_URL") {
            Ok(u) if !u.is_empty() => Some(Backend::Postgres(u)),
            _ => {
                eprintln!(
                    "skipped: AUDITOR_TEST_POSTGRES_URL is not set (PostgreSQL tests need it)"
                );
                None
            }
        }
    }
}

/// Runs a test function on SQLite and, where configured, on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::harness::Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                if let Some(b) = $crate::harness::Backend::postgres() {
                    super::$name(b)
                }
            }
        }
    };
}

pub struct Server {
    pub base: String,
    /// Holds the database file and log until the test ends.
    _dir: tempfile::TempDir,
    pub evidence: PathBuf,
    pub db_url: String,
    pub db_file: Option<PathBuf>,
    /// The seal key file (SQLite: the default beside the database; PostgreSQL: given, in the
    /// first server's directory, so that siblings share it).
    pub seal_key: PathBuf,
    pub log: PathBuf,
    /// The compliance log's signing key file.
    pub signing_key: PathBuf,
    child: Child,
    pg: Option<(String, String)>,
    /// The admin key printed at first start.
    pub admin_key: Option<String>,
    /// The demo's console password, printed at its start.
    pub console_password: Option<String>,
    client: reqwest::blocking::Client,
}

/// The server seen through one credential.
pub struct As<'a> {
    s: &'a Server,
    token: Option<String>,
    client: reqwest::blocking::Client,
}

impl As<'_> {
    fn req(&self, m: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        let r = self.client.request(m, self.s.url(path));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }
    pub fn get(&self, path: &str) -> Resp {
        Resp::of(self.req(reqwest::Method::GET, path).send())
    }
    pub fn post(&self, path: &str, body: &Value) -> Resp {
        Resp::of(self.req(reqwest::Method::POST, path).json(body).send())
    }
    pub fn put(&self, path: &str, body: &Value) -> Resp {
        Resp::of(self.req(reqwest::Method::PUT, path).json(body).send())
    }
    pub fn delete(&self, path: &str) -> Resp {
        Resp::of(self.req(reqwest::Method::DELETE, path).send())
    }
    pub fn call(&self, method: &str, path: &str, body: &Value) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        Resp::of(self.req(m, path).json(body).send())
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub scheduler: bool,
    /// Seconds a scheduled "day" lasts.
    pub day_seconds: f64,
    /// Start without any evidence root.
    pub no_roots: bool,
    pub extra: Vec<String>,
    /// The admin key of an existing database (a sibling server does not print one).
    pub admin_key: Option<String>,
    /// `AUDITOR_OUTBOUND_ALLOW`: the tests' fake endpoints listen on 127.0.0.1, which only an
    /// explicit entry admits; `None` runs with the default policy (every internal address
    /// refused).
    pub outbound_allow: Option<String>,
    /// Extra environment variables of the server.
    pub env: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            scheduler: false,
            day_seconds: 86_400.0,
            no_roots: false,
            extra: Vec::new(),
            admin_key: None,
            outbound_allow: Some("127.0.0.1".into()),
            env: Vec::new(),
        }
    }
}

fn fresh_pg(base: &str) -> (String, String) {
    let name = format!("auditor_t_{}", uuid::Uuid::new_v4().simple());
    let mut c = PgConnection::establish(base).expect("connect to AUDITOR_TEST_POSTGRES_URL");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .expect("create test database");
    let url = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |s| s + 2) => format!("{}/{name}", &base[..i]),
        _ => format!("{base}/{name}"),
    };
    (url, name)
}

impl Server {
    pub fn start(backend: &Backend, opts: Options) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut opts = opts;
        if !opts.extra.iter().any(|a| a == "--signing-key-file") {
            opts.extra.push("--signing-key-file".into());
            opts.extra.push(
                dir.path()
                    .join("auditor-signing.key")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        let evidence = dir.path().join("evidence");
        std::fs::create_dir_all(&evidence).expect("evidence dir");
        let (db_url, db_file, pg) = match backend {
            Backend::Sqlite => {
                let f = dir.path().join("auditor.db");
                (f.to_string_lossy().into_owned(), Some(f), None)
            }
            Backend::Postgres(base) => {
                let (url, name) = fresh_pg(base);
                (url, None, Some((base.clone(), name)))
            }
        };
        let seal_key = dir.path().join("auditor.seal.key");
        if pg.is_some() {
            opts.extra.push("--seal-key-file".into());
            opts.extra.push(seal_key.to_string_lossy().into_owned());
        }
        Self::spawn(dir, evidence, db_url, db_file, seal_key, pg, &opts)
    }

    /// A second server on the same database and evidence (another instance).
    pub fn sibling(&self, opts: Options) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut opts = opts;
        opts.admin_key = self.admin_key.clone();
        // Instances of one deployment share the signing key.
        opts.extra.push("--signing-key-file".into());
        opts.extra
            .push(self.signing_key.to_string_lossy().into_owned());
        opts.extra.push("--evidence-roots".into());
        opts.extra
            .push(self.evidence.to_string_lossy().into_owned());
        if !opts.extra.iter().any(|a| a == "--seal-key-file") {
            opts.extra.push("--seal-key-file".into());
            opts.extra
                .push(self.seal_key.to_string_lossy().into_owned());
        }
        Self::spawn(
            dir,
            self.evidence.clone(),
            self.db_url.clone(),
            self.db_file.clone(),
            self.seal_key.clone(),
            None,
            &opts,
        )
    }

    fn spawn(
        dir: tempfile::TempDir,
        evidence: PathBuf,
        db_url: String,
        db_file: Option<PathBuf>,
        seal_key: PathBuf,
        pg: Option<(String, String)>,
        opts: &Options,
    ) -> Server {
        let log = dir
            .path()
            .join(format!("server-{}.log", uuid::Uuid::new_v4().simple()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_auditor"));
        cmd.arg("serve")
            .args(["--bind", "127.0.0.1:0", "--database-url", &db_url])
            .args(["--time-scale", &format!("{}", 86_400.0 / opts.day_seconds)])
            .args([
                "--tick-seconds",
                "1",
                "--cache-ttl-ms",
                "0",
                "--http-workers",
                "2",
            ])
            .env_remove("AUDITOR_CONFIG")
            .env_remove("AUDITOR_EVIDENCE_ROOTS")
            .env_remove("AUDITOR_OUTBOUND_ALLOW")
            .env_remove("AUDITOR_SEAL_KEY")
            .env_remove("AUDITOR_SEAL_OLD_KEYS")
            .env_remove("AUDITOR_SEAL_KEY_FILE")
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "info")
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"));
        if !opts.no_roots && !opts.extra.iter().any(|a| a == "--evidence-roots") {
            cmd.args(["--evidence-roots", &evidence.to_string_lossy()]);
        }
        if !opts.scheduler {
            cmd.arg("--no-scheduler");
        }
        if let Some(allow) = &opts.outbound_allow {
            cmd.args(["--outbound-allow", allow]);
        }
        cmd.args(&opts.extra);
        let mut child = cmd.spawn().expect("start auditor serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let (mut key, mut console) = (None, None);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("admin API key") {
                    key = line.rsplit(' ').next().map(str::to_owned);
                }
                if line.starts_with("console: sign in") {
                    console = line.split('\'').nth(3).map(str::to_owned);
                }
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send((addr.to_owned(), key.take(), console.take()));
                }
            }
        });
        let (base, printed_key, console_password) = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "server did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        let admin_key = printed_key.or_else(|| opts.admin_key.clone());
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(k) = &admin_key {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {k}").parse().expect("header"),
            );
        }
        let signing_key = opts
            .extra
            .iter()
            .position(|a| a == "--signing-key-file")
            .and_then(|i| opts.extra.get(i + 1))
            .map_or_else(|| dir.path().join("auditor-signing.key"), PathBuf::from);
        Server {
            signing_key,
            base,
            _dir: dir,
            evidence,
            db_url,
            db_file,
            seal_key,
            log,
            child,
            pg,
            admin_key,
            console_password,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .default_headers(headers)
                .build()
                .expect("client"),
        }
    }

    /// Requests made with another credential (`None`: no credential at all).
    pub fn as_(&self, token: Option<&str>) -> As<'_> {
        As {
            s: self,
            token: token.map(str::to_owned),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }

    pub fn get(&self, path: &str) -> Resp {
        Resp::of(self.client.get(self.url(path)).send())
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        Resp::of(self.client.post(self.url(path)).json(body).send())
    }

    pub fn post_raw(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Resp {
        Resp::of(
            self.client
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body.into())
                .send(),
        )
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        Resp::of(self.client.put(self.url(path)).json(body).send())
    }

    pub fn delete(&self, path: &str) -> Resp {
        Resp::of(self.client.delete(self.url(path)).send())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `f` until it returns `Some`, or panics after `secs`.
    pub fn wait_for<T>(&self, secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f() {
                return v;
            }
            if Instant::now() > end {
                panic!(
                    "timed out waiting for {what}\n--- server log ---\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the audit has finished and returns its detail.
    pub fn wait_audit(&self, audit_id: &str) -> Value {
        self.wait_for(60, &format!("audit {audit_id}"), || {
            let r = self.get(&format!("/audits/{audit_id}"));
            (r.status == 200 && r.body["run_state"] == "finished").then_some(r.body)
        })
    }

    /// Stops the server (as a crash would: no clean shutdown).
    /// The server process's id (for `kill -9` while requests are in flight).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if let Some((base, name)) = &self.pg
            && let Ok(mut c) = PgConnection::establish(base)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c);
        }
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Resp {
    fn of(r: reqwest::Result<reqwest::blocking::Response>) -> Resp {
        let r = r.expect("request");
        let status = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, body, text }
    }

    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn ok(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self.body
    }

    /// Asserts an error status with a `{"detail": "..."}` body; returns the detail.
    #[track_caller]
    pub fn detail(self, status: u16) -> String {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        let obj = self
            .body
            .as_object()
            .unwrap_or_else(|| panic!("not JSON: {}", self.text));
        assert_eq!(
            obj.len(),
            1,
            "error body must hold only detail: {}",
            self.text
        );
        let d = obj["detail"]
            .as_str()
            .expect("detail is a string")
            .to_owned();
        assert!(!d.is_empty());
        d
    }
}

/// Writes a JSON Lines evidence file with the generator of `auditor gen-evidence`.
pub fn write_evidence(path: &Path, spec: GenSpec) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("evidence dir");
    }
    // Renamed into place so that a running audit never sees half a file.
    let tmp = std::env::temp_dir().join(format!(
        "auditor-evidence-{}.part",
        uuid::Uuid::new_v4().simple()
    ));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).expect("create evidence"));
    write_text(Generator::new(spec), OutFormat::Jsonl, &mut f).expect("write evidence");
    std::io::Write::flush(&mut f).expect("flush");
    drop(f);
    std::fs::rename(&tmp, path).expect("rename evidence");
}

/// `rows` rows spread over `[start, start + span_ms)`.
/// Uploads the rows `g` generates as a sample of model `id`, runs an audit now and waits for it.
pub fn audit_generated(s: &Server, id: &str, g: GenSpec) -> Value {
    let mut text = Vec::new();
    write_text(Generator::new(g), OutFormat::Jsonl, &mut text).expect("generate");
    s.post_raw(
        &format!("/models/{id}/samples"),
        "application/x-ndjson",
        text,
    )
    .ok(201);
    let r = s
        .post(&format!("/models/{id}/audits"), &serde_json::json!({}))
        .ok(202);
    s.wait_audit(r["audit_id"].as_str().expect("audit id"))
}

pub fn spec(rows: u64, seed: u64, start: DateTime<Utc>, span_ms: i64) -> GenSpec {
    GenSpec {
        rows,
        seed,
        start,
        interval_ms: (span_ms / rows as i64).max(1),
        style: Style::Ml,
        ..GenSpec::default()
    }
}

pub fn ts(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("timestamp string"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}
