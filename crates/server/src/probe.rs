//! `auditor probe`: runs rule packs against a chat endpoint (OpenAI-compatible or
//! Anthropic-style) within a budget and prints the outcome. Exit code as for `auditor audit`: 0 pass or warn, 1 fail, 2 error.

use anyhow::{Context, bail};
use audit_rules::probe::{ApiStyle, Budget, Endpoint, run_plan};
use audit_rules::{Pack, Plan};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Endpoint URL, e.g. http://localhost:11434/v1/chat/completions.
    #[arg(long)]
    pub url: String,
    /// Wire format: openai_chat (chat completions) or anthropic_messages (/v1/messages; use
    /// --auth-header x-api-key).
    #[arg(long, default_value = "openai_chat", value_parser = parse_style)]
    pub api_style: ApiStyle,
    /// Model name sent in each request.
    #[arg(long)]
    pub model: String,
    /// Header that carries the credential (e.g. authorization, api-key).
    #[arg(long, default_value = "authorization")]
    pub auth_header: String,
    /// Name of the environment variable holding the header's value (never on the command line,
    /// where other users could read it).
    #[arg(long)]
    pub secret_env: Option<String>,
    /// A rule pack (TOML), repeatable; default: the built-in core pack.
    #[arg(long)]
    pub pack: Vec<PathBuf>,
    /// Attempts per prompt for every rule (1-20), overriding the packs' own.
    #[arg(long)]
    pub attempts: Option<u32>,
    /// Most calls the run may make.
    #[arg(long, default_value_t = 200)]
    pub max_calls: u64,
    /// Most tokens the run may use (as the endpoint reports them).
    #[arg(long, default_value_t = 200_000)]
    pub max_tokens: u64,
    #[arg(long, default_value_t = 60)]
    pub requests_per_minute: u32,
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Largest answer requested per call.
    #[arg(long, default_value_t = 256)]
    pub answer_tokens: u32,
    /// Only print how many calls the pack would make.
    #[arg(long)]
    pub plan: bool,
}

fn parse_style(s: &str) -> Result<ApiStyle, String> {
    ApiStyle::parse(s).ok_or_else(|| format!("'{s}' is not one of openai_chat, anthropic_messages"))
}

fn canary() -> String {
    // Unpredictable per run, so a model cannot have memorised it.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut rng = crate::synth::Rng::new((nanos as u64) ^ u64::from(std::process::id()));
    format!("CNRY-{:012x}", rng.next_u64() & 0xffff_ffff_ffff)
}

pub fn run(a: &ProbeArgs) -> anyhow::Result<ExitCode> {
    let packs = if a.pack.is_empty() {
        vec![audit_rules::core_pack()?]
    } else {
        a.pack
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read '{}'", p.display()))?;
                Pack::parse(&text).with_context(|| format!("'{}'", p.display()))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let plan = Plan {
        packs,
        attempts: a.attempts,
    };
    plan.validate()?;
    let planned = plan.planned_calls();
    let pack_refs: Vec<_> = plan
        .packs
        .iter()
        .map(|p| serde_json::json!({"name": p.name, "version": p.version}))
        .collect();
    let mut out = std::io::stdout().lock();
    if a.plan {
        writeln!(
            out,
            "{}",
            serde_json::json!({"packs": pack_refs, "rules": plan.rules().count(), "planned_calls": planned, "max_calls": a.max_calls})
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if !(a.url.starts_with("http://") || a.url.starts_with("https://")) {
        bail!("--url must be an http(s) URL");
    }
    let auth = match &a.secret_env {
        Some(var) => Some((
            a.auth_header.clone(),
            std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?,
        )),
        None => None,
    };
    let client = Endpoint {
        style: a.api_style,
        url: a.url.clone(),
        model: a.model.clone(),
        auth,
        temperature: a.temperature,
        max_tokens: a.answer_tokens,
        timeout: Duration::from_secs(a.timeout_secs),
    }
    // The operator's own command: any address they name, still pinned to what it resolved to.
    .client(&audit_outbound::OutboundPolicy::unrestricted())?;
    let report = run_plan(
        &plan,
        client.as_ref(),
        Budget {
            max_calls: a.max_calls,
            max_tokens: a.max_tokens,
            requests_per_minute: a.requests_per_minute,
            max_retries: 1,
        },
        &canary(),
    );
    let verdict = report.verdict().map_or("FAILED", |v| v.as_str());
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "audit_type": "active",
            "audit_result": verdict,
            "packs": pack_refs,
            "planned_calls": planned,
            "calls": report.calls,
            "tokens": report.tokens,
            "stopped": report.stopped,
            "total_findings": report.findings.len(),
            "findings": report.findings,
            "rules": report.rules,
        }))?
    )?;
    Ok(match verdict {
        "AUDIT_FAIL" => ExitCode::from(1),
        "FAILED" => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    })
}
