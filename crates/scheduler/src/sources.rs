//! Evidence sources: checking their configuration at registration and reading them at audit
//! time. File sources (`logs`, `batch`, `container`) stay inside the configured evidence roots;
//! `api` sources are fetched only from the URL the user configured, with a timeout and a size
//! cap; `sample` sources are the profiles of uploaded samples.

use audit_core::{Collected, EvidenceReadOptions, FileSummary, Pruning};
use audit_domain::{ConnectionType, FieldMapping, Profile};
use audit_evidence::summary::InferenceSummary;
use audit_evidence::{Format, TimeWindow, expand_inputs};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use audit_outbound::OutboundPolicy;

/// Configuration of a file source (`logs`, `batch`, `container`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// A file, a directory or a glob pattern, inside an evidence root. Relative paths are taken
    /// from the first root.
    pub path: String,
    /// Which columns hold what; the conventional mapping when absent.
    #[serde(default)]
    pub mapping: Option<FieldMapping>,
    /// `jsonl`, `csv`, `tsv` or `parquet`; inferred from file names when absent.
    #[serde(default)]
    pub format: Option<String>,
    /// Skip files last modified before the window starts (append-only logs; default true).
    #[serde(default = "default_true")]
    pub prune_by_mtime: bool,
    /// Skip files whose Hive-style partition path (`dt=2026-11-30/`, `year=/month=/day=`)
    /// lies outside the window (default true).
    #[serde(default = "default_true")]
    pub prune_by_partition: bool,
    /// A date in file names (`%Y`, `%m`, `%d`, `%H`, literal text, e.g. `preds-%Y%m%d`):
    /// files whose date lies outside the window are skipped.
    #[serde(default)]
    pub file_date_pattern: Option<String>,
}

fn default_true() -> bool {
    true
}

/// Configuration of an `api` source: an inference-summary endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSourceConfig {
    pub url: String,
    /// Extra request headers (e.g. an API key). Stored, never returned by the API or logged.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// Configuration of a `sample` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSourceConfig {
    /// The mapping uploads are read with; the conventional mapping when absent.
    #[serde(default)]
    pub mapping: Option<FieldMapping>,
}

/// Where file evidence may be read from, and how `api` sources are fetched.
#[derive(Debug, Clone)]
pub struct SourcePolicy {
    /// Canonical evidence roots.
    roots: Vec<PathBuf>,
    /// Set when these are one tenant's directories under the configured roots.
    tenant: Option<String>,
    pub api_timeout: Duration,
    pub api_max_bytes: u64,
    /// Worker threads per evidence read (0: one per core).
    pub read_threads: usize,
    /// Which URLs `api` sources (and the server's other outbound calls) may reach.
    pub outbound: Arc<OutboundPolicy>,
}

impl SourcePolicy {
    /// Roots that do not exist are refused: a typo would otherwise reject every source.
    pub fn new(roots: &[PathBuf]) -> Result<SourcePolicy, String> {
        let roots = roots
            .iter()
            .map(|r| {
                r.canonicalize()
                    .map_err(|e| format!("evidence root '{}': {e}", r.display()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SourcePolicy {
            roots,
            tenant: None,
            api_timeout: Duration::from_secs(10),
            api_max_bytes: 1 << 20,
            read_threads: 0,
            outbound: Arc::new(OutboundPolicy::deny_internal()),
        })
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Where one tenant's file evidence and policy documents may come from: every root for the
    /// system tenant (its admins operate the server), `<root>/<tenant_id>` for the others, so
    /// that no tenant can name another's files. Tenant ids are generated (`tnt_` and hex), so
    /// they are safe path segments.
    pub fn for_tenant(&self, tenant: &str) -> SourcePolicy {
        let mut p = self.clone();
        if tenant != audit_store::repo::tenants::SYSTEM_TENANT {
            p.roots = self
                .roots
                .iter()
                .filter_map(|r| {
                    let c = r.join(tenant).canonicalize().ok()?;
                    c.starts_with(r).then_some(c)
                })
                .collect();
            p.tenant = Some(tenant.to_owned());
        }
        p
    }

    fn inside(&self, p: &Path) -> bool {
        self.roots.iter().any(|r| p.starts_with(r))
    }

    /// Resolves a configured path (file, directory or glob) and checks that it stays inside an
    /// evidence root. Returns the path to read.
    pub fn resolve(&self, raw: &str) -> Result<String, String> {
        if self.roots.is_empty() {
            return Err(match &self.tenant {
                Some(t) => format!(
                    "file evidence of tenant '{t}' is read from '<evidence root>/{t}/', and no evidence root has that directory"
                ),
                None => "file evidence is disabled: no evidence root is configured (AUDITOR_EVIDENCE_ROOTS)"
                    .into(),
            });
        }
        let p = Path::new(raw);
        if p.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(format!("evidence path '{raw}' must not contain '..'"));
        }
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.roots[0].join(p)
        };
        // The fixed part before any glob character must resolve inside a root.
        let text = full.to_string_lossy().into_owned();
        let fixed_len = text.find(['*', '?', '[']).unwrap_or(text.len());
        let mut fixed = PathBuf::from(&text[..fixed_len]);
        if fixed_len < text.len() && !text[..fixed_len].ends_with('/') {
            fixed.pop();
        }
        let mut probe = fixed.clone();
        let canonical = loop {
            match probe.canonicalize() {
                Ok(c) => break c,
                Err(_) if probe.pop() => continue,
                Err(e) => return Err(format!("evidence path '{raw}': {e}")),
            }
        };
        if !self.inside(&canonical) {
            return Err(format!(
                "evidence path '{raw}' is outside the configured evidence roots"
            ));
        }
        Ok(text)
    }

    /// Reads one document file (no globs, no directories) inside an evidence root, at most
    /// `max_bytes`; the check follows symlinks.
    pub fn read_document(&self, raw: &str, max_bytes: u64) -> Result<String, String> {
        if raw.contains(['*', '?', '[']) {
            return Err(format!("'{raw}': a document path may not be a glob"));
        }
        let path = self.resolve(raw)?;
        let canonical = Path::new(&path)
            .canonicalize()
            .map_err(|e| format!("'{raw}': {e}"))?;
        if !self.inside(&canonical) {
            return Err(format!(
                "'{raw}' resolves outside the configured evidence roots"
            ));
        }
        let meta = std::fs::metadata(&canonical).map_err(|e| format!("'{raw}': {e}"))?;
        if !meta.is_file() {
            return Err(format!("'{raw}' is not a file"));
        }
        if meta.len() > max_bytes {
            return Err(format!("'{raw}' is larger than {max_bytes} bytes"));
        }
        std::fs::read_to_string(&canonical).map_err(|e| format!("'{raw}': {e}"))
    }

    /// Checks a source's configuration as registration does (a 422 on failure).
    pub fn validate(&self, kind: ConnectionType, config: &serde_json::Value) -> Result<(), String> {
        match kind {
            ConnectionType::Logs | ConnectionType::Batch | ConnectionType::Container => {
                let c: FileSourceConfig = serde_json::from_value(config.clone())
                    .map_err(|e| format!("{kind} source config: {e}"))?;
                if let Some(m) = &c.mapping {
                    m.validate()
                        .map_err(|e| format!("{kind} source mapping: {e}"))?;
                }
                if let Some(p) = &c.file_date_pattern {
                    audit_evidence::prune::DatePattern::parse(p)
                        .map_err(|e| format!("{kind} source: {e}"))?;
                }
                if let Some(f) = &c.format {
                    Format::parse(f).ok_or_else(|| {
                        format!("{kind} source format '{f}': expected jsonl, csv, tsv or parquet")
                    })?;
                }
                self.resolve(&c.path).map(|_| ())
            }
            ConnectionType::Api => {
                let c: ApiSourceConfig = serde_json::from_value(config.clone())
                    .map_err(|e| format!("api source config: {e}"))?;
                if c.url.len() > 2048 {
                    return Err("api source url is longer than 2048 characters".into());
                }
                // Resolves the host: call it off the async workers.
                self.outbound.check(&c.url).map(|_| ()).map_err(|e| {
                    tracing::debug!(host = %audit_outbound::host_of(&c.url), reason = %e, "api source url refused");
                    format!("api source url: {}", e.public_detail())
                })
            }
            ConnectionType::Sample => {
                let c: SampleSourceConfig = serde_json::from_value(config.clone())
                    .map_err(|e| format!("sample source config: {e}"))?;
                if let Some(m) = &c.mapping {
                    m.validate()
                        .map_err(|e| format!("sample source mapping: {e}"))?;
                }
                Ok(())
            }
        }
    }

    /// Reads a file source for `window` into a profile.
    pub fn read_files(
        &self,
        config: &serde_json::Value,
        window: TimeWindow,
    ) -> Result<Collected, String> {
        let c: FileSourceConfig =
            serde_json::from_value(config.clone()).map_err(|e| format!("source config: {e}"))?;
        let path = self.resolve(&c.path)?;
        let mapping = c.mapping.unwrap_or_else(FieldMapping::conventional);
        let files = expand_inputs(&[path.as_str()]).map_err(|e| e.to_string())?;
        // A glob or directory may reach through a symlink: check every file it found.
        for f in &files {
            let canonical = f
                .path
                .canonicalize()
                .map_err(|e| format!("'{}': {e}", f.path.display()))?;
            if !self.inside(&canonical) {
                return Err(format!(
                    "'{}' resolves outside the configured evidence roots",
                    f.path.display()
                ));
            }
        }
        let opts = EvidenceReadOptions {
            window,
            threads: self.read_threads,
            format: c.format.as_deref().and_then(Format::parse),
            pruning: Pruning {
                by_mtime: c.prune_by_mtime,
                by_partition: c.prune_by_partition,
                file_date_pattern: c.file_date_pattern.clone(),
            },
            ..EvidenceReadOptions::default()
        };
        audit_core::collect_files(&files, &mapping, &opts).map_err(|e| e.to_string())
    }

    /// Fetches an `api` source's inference summary. The URL is checked against the outbound
    /// policy again and the client pinned to the checked addresses; no redirects are followed.
    /// Every failure gives the same sentence (naming only the host): whether the host was
    /// refused, unreachable or answered badly stays in the server log, at debug level.
    pub fn fetch_summary(&self, config: &serde_json::Value) -> Result<Collected, String> {
        let c: ApiSourceConfig =
            serde_json::from_value(config.clone()).map_err(|e| format!("source config: {e}"))?;
        let timeout = c
            .timeout_secs
            .map_or(self.api_timeout, Duration::from_secs)
            .min(Duration::from_secs(120));
        // Errors name the host only: the URL may carry a token in its query.
        let host = audit_outbound::host_of(&c.url);
        let (profile, bytes) = self.fetch_profile(&c, timeout).map_err(|why| {
            tracing::debug!(%host, reason = %why, "api source fetch failed");
            format!("api source {host}: {}", audit_outbound::GENERIC_FAILURE)
        })?;
        Ok(Collected {
            profile,
            files: vec![FileSummary {
                path: format!("api:{host}"),
                format: "inference-summary".into(),
                bytes,
                rows: 0,
                error: None,
            }],
            pruned: Default::default(),
        })
    }

    /// The fetch itself; its error is a detail for the log, never for the caller.
    fn fetch_profile(
        &self,
        c: &ApiSourceConfig,
        timeout: Duration,
    ) -> Result<(Profile, u64), String> {
        let pinned = self
            .outbound
            .client(&c.url, timeout)
            .map_err(|e| format!("refused: {e}"))?;
        let mut req = pinned
            .client
            .get(pinned.destination.url.as_str())
            .header("accept", "application/json");
        for (k, v) in &c.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().map_err(|e| without_url(&e))?;
        if !resp.status().is_success() {
            return Err(format!("answered {}", resp.status()));
        }
        let mut body = Vec::new();
        resp.take(self.api_max_bytes + 1)
            .read_to_end(&mut body)
            .map_err(|e| e.to_string())?;
        if body.len() as u64 > self.api_max_bytes {
            return Err(format!("summary larger than {} bytes", self.api_max_bytes));
        }
        let profile = InferenceSummary::from_json(&body)
            .and_then(|s| s.to_profile())
            .map_err(|e| e.to_string())?;
        Ok((profile, body.len() as u64))
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "<url>");
    }
    s
}

/// Merges the profiles of uploaded samples.
pub fn merge_samples(samples: &[(i64, String)]) -> Result<Profile, String> {
    let mut p = Profile::new();
    for (id, json) in samples {
        let s: Profile =
            audit_core::parse_profile(json).map_err(|e| format!("sample {id}: {e}"))?;
        p.merge_from(&s).map_err(|e| format!("sample {id}: {e}"))?;
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_roots() {
        let root = tempfile::tempdir().expect("tmp");
        let other = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(root.path().join("logs")).expect("mkdir");
        std::fs::write(root.path().join("logs/a.jsonl"), "{}\n").expect("write");
        std::os::unix::fs::symlink(other.path(), root.path().join("escape")).expect("symlink");
        let p = SourcePolicy::new(&[root.path().to_path_buf()]).expect("roots");
        let r = root.path().display().to_string();
        assert!(p.resolve(&format!("{r}/logs/a.jsonl")).is_ok());
        assert!(p.resolve(&format!("{r}/logs/*.jsonl")).is_ok());
        assert!(
            p.resolve("logs/a.jsonl").is_ok(),
            "relative to the first root"
        );
        assert!(
            p.resolve(&format!("{r}/logs/not-yet.jsonl")).is_ok(),
            "may appear later"
        );
        for bad in [
            format!("{r}/../x.jsonl"),
            "/etc/passwd".to_owned(),
            format!("{}/x.jsonl", other.path().display()),
            format!("{r}/escape/x.jsonl"),
            format!("{r}/escape/*.jsonl"),
        ] {
            assert!(p.resolve(&bad).is_err(), "accepted {bad}");
        }
        let none = SourcePolicy::new(&[]).expect("no roots");
        assert!(none.resolve(&format!("{r}/logs/a.jsonl")).is_err());
    }
}
