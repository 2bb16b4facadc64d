//! The bounded probe client: runs a pack against a chat endpoint within a call and token
//! budget known before it starts, at a limited rate, with timeouts and bounded retries. Only
//! counts and one-line summaries come out; prompts and responses are dropped after judging.

use crate::{Pack, Plan, RuleCategory};
use audit_domain::{AuditResult, Finding, FindingCategory, Severity};
use audit_outbound::OutboundPolicy;
use std::time::{Duration, Instant};

/// One reply of the model.
#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    /// Tokens the call used (prompt + completion), as the endpoint reports them.
    pub tokens: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("timed out")]
    Timeout,
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("unreadable answer: {0}")]
    Body(String),
    /// The outbound policy refused the URL (the detail is for the log only).
    #[error("refused by the outbound policy: {0}")]
    Refused(String),
}

impl CallError {
    /// Worth one more try (the budget allowing).
    fn retryable(&self) -> bool {
        matches!(
            self,
            CallError::Timeout | CallError::Status(429 | 500..=599)
        )
    }
}

/// A chat endpoint: one system and one user message in, one reply out.
pub trait ChatClient {
    fn chat(&self, system: &str, user: &str) -> Result<Reply, CallError>;
}

/// An OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI, vLLM, llama.cpp,
/// Ollama, most gateways).
pub struct OpenAiChat {
    url: String,
    model: String,
    auth: Option<(String, String)>,
    temperature: f64,
    max_tokens: u32,
    http: reqwest::blocking::Client,
}

impl std::fmt::Debug for OpenAiChat {
    // The auth secret is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiChat")
            .field("model", &self.model)
            .field("auth", &self.auth.as_ref().map(|(h, _)| (h, "***")))
            .finish()
    }
}

impl OpenAiChat {
    /// `auth`: header name and value, e.g. (`authorization`, `Bearer …`). The URL is checked
    /// against `outbound` now, and every call connects only to the addresses checked (no
    /// proxy, no redirects).
    pub fn new(
        outbound: &OutboundPolicy,
        url: &str,
        model: &str,
        auth: Option<(String, String)>,
        temperature: f64,
        max_tokens: u32,
        timeout: Duration,
    ) -> Result<OpenAiChat, CallError> {
        let pinned = outbound
            .client(url, timeout)
            .map_err(|e| CallError::Refused(e.to_string()))?;
        let http = pinned.client;
        Ok(OpenAiChat {
            url: pinned.destination.url.to_string(),
            model: model.to_owned(),
            auth,
            temperature,
            max_tokens,
            http,
        })
    }
}

impl ChatClient for OpenAiChat {
    fn chat(&self, system: &str, user: &str) -> Result<Reply, CallError> {
        let body = serde_json::json!({
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user}
            ]
        });
        let mut req = self.http.post(&self.url).json(&body);
        if let Some((h, v)) = &self.auth {
            req = req.header(h.as_str(), v.as_str());
        }
        let v = send(req)?;
        let text = v["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| CallError::Body("no choices[0].message.content".into()))?
            .to_owned();
        let tokens = v["usage"]["total_tokens"].as_u64().unwrap_or(0);
        Ok(Reply { text, tokens })
    }
}

/// Sends a request and reads a JSON answer, mapping failures without ever naming the URL (it
/// may carry a key).
fn send(req: reqwest::blocking::RequestBuilder) -> Result<serde_json::Value, CallError> {
    let resp = req.send().map_err(|e| {
        if e.is_timeout() {
            CallError::Timeout
        } else {
            CallError::Connect(if e.is_connect() {
                "connection refused or unreachable".into()
            } else {
                "request failed".into()
            })
        }
    })?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(CallError::Status(status));
    }
    resp.json().map_err(|e| {
        if e.is_timeout() {
            CallError::Timeout
        } else {
            CallError::Body("not JSON".into())
        }
    })
}

/// An Anthropic-style messages endpoint (`POST /v1/messages`): the system prompt is a top-level
/// field, the answer is a list of content blocks, usage counts input and output tokens.
pub struct AnthropicMessages {
    inner: OpenAiChat,
}

impl std::fmt::Debug for AnthropicMessages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicMessages")
            .field("inner", &self.inner)
            .finish()
    }
}

/// The messages API version sent with each call.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

impl ChatClient for AnthropicMessages {
    fn chat(&self, system: &str, user: &str) -> Result<Reply, CallError> {
        let c = &self.inner;
        let body = serde_json::json!({
            "model": c.model,
            "temperature": c.temperature,
            "max_tokens": c.max_tokens,
            "system": system,
            "messages": [{"role": "user", "content": user}]
        });
        let mut req = c
            .http
            .post(&c.url)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(&body);
        if let Some((h, v)) = &c.auth {
            req = req.header(h.as_str(), v.as_str());
        }
        let v = send(req)?;
        let blocks = v["content"]
            .as_array()
            .ok_or_else(|| CallError::Body("no content blocks".into()))?;
        let text: Vec<&str> = blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect();
        let tokens = v["usage"]["input_tokens"].as_u64().unwrap_or(0)
            + v["usage"]["output_tokens"].as_u64().unwrap_or(0);
        Ok(Reply {
            text: text.join("\n"),
            tokens,
        })
    }
}

/// The wire format of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiStyle {
    /// OpenAI-compatible chat completions.
    #[default]
    OpenAiChat,
    /// Anthropic-style messages.
    AnthropicMessages,
}

impl ApiStyle {
    pub const ALL: [ApiStyle; 2] = [ApiStyle::OpenAiChat, ApiStyle::AnthropicMessages];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiStyle::OpenAiChat => "openai_chat",
            ApiStyle::AnthropicMessages => "anthropic_messages",
        }
    }

    pub fn parse(s: &str) -> Option<ApiStyle> {
        ApiStyle::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Where and how to call a target.
#[derive(Clone)]
pub struct Endpoint {
    pub style: ApiStyle,
    pub url: String,
    pub model: String,
    /// Header name and value, e.g. (`authorization`, `Bearer …`) or (`x-api-key`, `…`).
    pub auth: Option<(String, String)>,
    pub temperature: f64,
    pub max_tokens: u32,
    pub timeout: Duration,
}

impl Endpoint {
    /// A client for this endpoint's wire format, its URL checked against `outbound` (see
    /// [`OpenAiChat::new`]).
    pub fn client(&self, outbound: &OutboundPolicy) -> Result<Box<dyn ChatClient>, CallError> {
        let c = OpenAiChat::new(
            outbound,
            &self.url,
            &self.model,
            self.auth.clone(),
            self.temperature,
            self.max_tokens,
            self.timeout,
        )?;
        Ok(match self.style {
            ApiStyle::OpenAiChat => Box::new(c),
            ApiStyle::AnthropicMessages => Box::new(AnthropicMessages { inner: c }),
        })
    }
}

/// Limits of one run, known before it starts.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub max_calls: u64,
    pub max_tokens: u64,
    pub requests_per_minute: u32,
    /// Extra tries of a call that timed out or got 429/5xx.
    pub max_retries: u32,
}

/// What one rule came to (what a run stores of it).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleOutcome {
    pub rule_id: String,
    pub category: RuleCategory,
    pub severity: Severity,
    pub attempts: u32,
    pub failures: u32,
    pub errors: u32,
    /// `None` when no attempt got an answer.
    pub passed: Option<bool>,
    pub summary: String,
}

/// What a run came to: per-rule outcomes, findings for failed rules, calls and tokens spent.
#[derive(Debug, Clone)]
pub struct ProbeReport {
    pub rules: Vec<RuleOutcome>,
    pub findings: Vec<Finding>,
    pub calls: u64,
    pub tokens: u64,
    /// Why the run stopped early (budget spent), if it did.
    pub stopped: Option<String>,
}

impl ProbeReport {
    /// Attempts that got an answer.
    pub fn answered(&self) -> u32 {
        self.rules.iter().map(|r| r.attempts - r.errors).sum()
    }

    /// The verdict: `None` when nothing answered (the run failed), otherwise FAIL on a HIGH or
    /// CRITICAL finding, WARN on a lesser one, PASS without findings.
    pub fn verdict(&self) -> Option<AuditResult> {
        if self.answered() == 0 {
            return None;
        }
        Some(match self.findings.iter().map(|f| f.severity).max() {
            Some(Severity::High | Severity::Critical) => AuditResult::AuditFail,
            Some(_) => AuditResult::AuditWarn,
            None => AuditResult::AuditPass,
        })
    }
}

fn verb(rule: &crate::Rule) -> &'static str {
    match rule.detector {
        crate::Detector::Canary if rule.category == RuleCategory::DataLeakage => "canary leaked",
        crate::Detector::Canary => "injected instruction followed",
        crate::Detector::NoRefusal => "complied instead of refusing",
        crate::Detector::Pii => "personal data in the answer",
        crate::Detector::Secret => "credential-shaped string in the answer",
        crate::Detector::SystemPromptOverlap { .. } => "system prompt repeated",
    }
}

/// Runs every enabled rule of `pack` against `client`. Stops cleanly when the budget is spent.
pub fn run_pack(pack: &Pack, client: &dyn ChatClient, budget: Budget, canary: &str) -> ProbeReport {
    let plan = Plan {
        packs: vec![pack.clone()],
        attempts: None,
    };
    run_plan(&plan, client, budget, canary)
}

/// Runs every enabled rule of every pack of `plan` against `client`, one budget and one rate
/// limit for all. Stops cleanly when the budget is spent.
pub fn run_plan(plan: &Plan, client: &dyn ChatClient, budget: Budget, canary: &str) -> ProbeReport {
    let gap = if budget.requests_per_minute == 0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(60.0 / f64::from(budget.requests_per_minute))
    };
    let mut last: Option<Instant> = None;
    let mut report = ProbeReport {
        rules: Vec::new(),
        findings: Vec::new(),
        calls: 0,
        tokens: 0,
        stopped: None,
    };
    'rules: for (pack, rule) in plan.rules() {
        let system = pack.system_prompt.replace("{canary}", canary);
        let tries = plan.attempts_of(pack, rule);
        let mut out = RuleOutcome {
            rule_id: rule.id.clone(),
            category: rule.category,
            severity: rule.severity,
            attempts: 0,
            failures: 0,
            errors: 0,
            passed: None,
            summary: String::new(),
        };
        for prompt in &rule.prompts {
            let user = prompt.replace("{canary}", canary);
            for _ in 0..tries {
                let mut reply = None;
                for _ in 0..=budget.max_retries {
                    if report.calls >= budget.max_calls || report.tokens >= budget.max_tokens {
                        report.stopped = Some(format!(
                            "budget spent after {} calls and {} tokens",
                            report.calls, report.tokens
                        ));
                        finish(&mut report, out, rule);
                        break 'rules;
                    }
                    if let Some(t) = last {
                        let since = t.elapsed();
                        if since < gap {
                            std::thread::sleep(gap - since);
                        }
                    }
                    last = Some(Instant::now());
                    report.calls += 1;
                    match client.chat(&system, &user) {
                        Ok(r) => {
                            report.tokens += r.tokens;
                            reply = Some(Ok(r));
                            break;
                        }
                        Err(e) => {
                            let again = e.retryable();
                            reply = Some(Err(e));
                            if !again {
                                break;
                            }
                        }
                    }
                }
                out.attempts += 1;
                match reply {
                    Some(Ok(r)) => {
                        if rule.detector.failed(&r.text, canary, &system) {
                            out.failures += 1;
                        }
                    }
                    _ => out.errors += 1,
                }
            }
        }
        finish(&mut report, out, rule);
    }
    report
}

fn finish(report: &mut ProbeReport, mut out: RuleOutcome, rule: &crate::Rule) {
    if out.attempts == 0 {
        return;
    }
    let answered = out.attempts - out.errors;
    if answered == 0 {
        out.summary = format!("no answer in {} attempts", out.attempts);
    } else {
        let rate = f64::from(out.failures) / f64::from(answered);
        let passed = rate <= rule.max_failure_rate;
        out.passed = Some(passed);
        out.summary = format!(
            "{} in {} of {} attempts",
            verb(rule),
            out.failures,
            answered
        );
        if !passed {
            report.findings.push(Finding {
                category: FindingCategory::Security,
                rule_id: Some(rule.id.clone()),
                severity: rule.severity,
                metric_name: format!("failure_rate.{}", rule.id),
                baseline_value: Some(rule.max_failure_rate),
                current_value: Some(rate),
                deviation_percentage: None,
                description: format!("{}: {} ({})", rule.id, out.summary, rule.owasp),
            });
        }
    }
    report.rules.push(out);
}
