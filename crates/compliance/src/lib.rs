//! Compliance checks as data.
//!
//! A compliance rule bounds one named statistic of an audit (`dir.min`, `pii_leak_rate.email`,
//! `invalid_row_ratio`, `audit_interval_ratio`, … see [`facts::METRICS`]) or requires protected
//! attributes in the evidence, has a severity and a description, and cites the obligations it
//! evidences (framework and clause). Rules come in versioned packs: the built-in ones under
//! `rules/compliance/` (EU AI Act, GDPR, ISO/IEC 42001, NIST AI RMF, DPDP) and a policy's own,
//! written in the `[compliance]` section of its `policy_reference`:
//!
//! ```toml
//! [compliance]
//! packs = ["eu-ai-act", "gdpr"]            # built-in packs to run
//! disable = ["eu-ai-act.art12.evidence-fresh"]
//!
//! [[compliance.rule]]
//! id = "acme.gender-dir"
//! severity = "HIGH"
//! description = "Selection rate by gender within the four-fifths rule"
//! obligations = [{ framework = "EU AI Act", clause = "Art. 10(2)(f)" }]
//! check = { kind = "metric", metric = "dir.gender", min = 0.8 }
//! ```
//!
//! Evaluation ([`evaluate`]) is pure: the caller gathers the [`Facts`] (profile and comparison
//! statistics, and process facts from the run history), so this crate knows no database.

pub mod coverage;
pub mod facts;

use audit_domain::{Finding, FindingCategory, Severity};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub use coverage::{Coverage, ModelCoverage, ModelInput, RegulationCoverage, coverage};
pub use facts::{Facts, ProcessFacts};

/// A rule set that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComplianceError {
    #[error("built-in pack '{0}': {1}")]
    Builtin(String, String),
    #[error("{0}")]
    Invalid(String),
}

/// An obligation a rule evidences: `EU AI Act` + `Art. 15(1)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Obligation {
    pub framework: String,
    pub clause: String,
}

impl std::fmt::Display for Obligation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.framework, self.clause)
    }
}

/// A named statistic, checked against [`facts::is_known`] while the document is parsed, so an
/// unknown name is reported with the document's line (TOML) or field path (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricName(String);

impl MetricName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for MetricName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if facts::is_known(&s) {
            Ok(MetricName(s))
        } else {
            Err(serde::de::Error::custom(format!(
                "unknown metric '{s}'; known: {}",
                facts::known_list()
            )))
        }
    }
}

/// What a rule checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// `min ≤ value ≤ max` (either bound optional, not both); `abs` compares |value|.
    Metric {
        metric: MetricName,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
        #[serde(default)]
        abs: bool,
    },
    /// The evidence carries protected attributes: at least `min` of them, and every one
    /// named in `required`.
    Attributes {
        #[serde(default)]
        min: usize,
        #[serde(default)]
        required: Vec<String>,
    },
}

impl Check {
    /// The statistic judged, as stored in a finding's `metric_name`.
    pub fn metric_name(&self) -> &str {
        match self {
            Check::Metric { metric, .. } => metric.as_str(),
            Check::Attributes { .. } => "protected_attributes",
        }
    }

    /// The bound in words, e.g. `≤ 0.05` or `|value| ≤ 0.1`.
    pub fn bound(&self) -> String {
        match self {
            Check::Metric { min, max, abs, .. } => {
                let v = if *abs { "|value|" } else { "value" };
                match (min, max) {
                    (Some(lo), Some(hi)) => format!("{lo} ≤ {v} ≤ {hi}"),
                    (Some(lo), None) => format!("{v} ≥ {lo}"),
                    (None, Some(hi)) => format!("{v} ≤ {hi}"),
                    (None, None) => "none".into(),
                }
            }
            Check::Attributes { min, required } => {
                let mut parts = Vec::new();
                if *min > 0 {
                    parts.push(format!("at least {min} protected attribute(s)"));
                }
                if !required.is_empty() {
                    parts.push(format!("attributes {}", required.join(", ")));
                }
                parts.join(" and ")
            }
        }
    }

    fn validate(&self) -> Result<(), String> {
        match self {
            Check::Metric { min, max, .. } => {
                if min.is_none() && max.is_none() {
                    return Err("a metric check needs min, max or both".into());
                }
                if min.is_some_and(|v| !v.is_finite()) || max.is_some_and(|v| !v.is_finite()) {
                    return Err("bounds must be finite numbers".into());
                }
                if let (Some(lo), Some(hi)) = (min, max)
                    && lo > hi
                {
                    return Err(format!("min {lo} is above max {hi}"));
                }
            }
            Check::Attributes { min, required } => {
                if *min == 0 && required.is_empty() {
                    return Err("an attributes check needs min ≥ 1 or required attributes".into());
                }
                if required.iter().any(|a| a.trim().is_empty()) {
                    return Err("required attributes must be non-empty names".into());
                }
            }
        }
        Ok(())
    }
}

/// One compliance rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub severity: Severity,
    pub description: String,
    pub obligations: Vec<Obligation>,
    pub check: Check,
}

impl Rule {
    pub fn validate(&self) -> Result<(), String> {
        let ok_id = !self.id.is_empty()
            && self.id.len() <= 100
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !ok_id {
            return Err(format!(
                "rule id '{}' must be 1-100 characters of a-z, 0-9, '.', '_' or '-'",
                self.id
            ));
        }
        let fail = |m: String| Err(format!("rule '{}': {m}", self.id));
        if self.description.trim().is_empty() {
            return fail("description is empty".into());
        }
        if self.obligations.is_empty() {
            return fail("cites no obligation (obligations = [{framework, clause}])".into());
        }
        if self
            .obligations
            .iter()
            .any(|o| o.framework.trim().is_empty() || o.clause.trim().is_empty())
        {
            return fail("an obligation has an empty framework or clause".into());
        }
        if let Err(m) = self.check.validate() {
            return fail(m);
        }
        Ok(())
    }

    /// The obligations as one citation, e.g. `EU AI Act Art. 10(2)(f); EU AI Act Art. 10(3)`.
    pub fn citation(&self) -> String {
        self.obligations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A versioned pack of rules for one regulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    pub name: String,
    pub version: String,
    /// The regulation its rules cite, as shown in coverage (`EU AI Act`).
    pub regulation: String,
    /// The text the clauses refer to.
    pub source: String,
    pub description: String,
    #[serde(rename = "rule", alias = "rules")]
    pub rules: Vec<Rule>,
}

impl Pack {
    pub fn parse(text: &str) -> Result<Pack, String> {
        let pack: Pack = toml::from_str(text).map_err(|e| e.to_string())?;
        pack.validate()?;
        Ok(pack)
    }

    fn validate(&self) -> Result<(), String> {
        let mut ids = BTreeSet::new();
        for r in &self.rules {
            r.validate()?;
            if !r.id.starts_with(&format!("{}.", self.name)) {
                return Err(format!("rule '{}' must start with '{}.'", r.id, self.name));
            }
            if !ids.insert(&r.id) {
                return Err(format!("duplicate rule id '{}'", r.id));
            }
        }
        Ok(())
    }
}

/// The built-in packs' sources, compiled in.
pub const BUILTIN_SOURCES: [(&str, &str); 5] = [
    (
        "eu-ai-act",
        include_str!("../../../rules/compliance/eu-ai-act.toml"),
    ),
    ("gdpr", include_str!("../../../rules/compliance/gdpr.toml")),
    (
        "iso-42001",
        include_str!("../../../rules/compliance/iso-42001.toml"),
    ),
    (
        "nist-ai-rmf",
        include_str!("../../../rules/compliance/nist-ai-rmf.toml"),
    ),
    ("dpdp", include_str!("../../../rules/compliance/dpdp.toml")),
];

static BUILTIN: std::sync::LazyLock<Result<Vec<Pack>, ComplianceError>> =
    std::sync::LazyLock::new(|| {
        BUILTIN_SOURCES
            .iter()
            .map(|(name, text)| {
                let p =
                    Pack::parse(text).map_err(|e| ComplianceError::Builtin((*name).into(), e))?;
                if p.name != *name {
                    return Err(ComplianceError::Builtin(
                        (*name).into(),
                        format!("declares name '{}'", p.name),
                    ));
                }
                Ok(p)
            })
            .collect()
    });

/// The built-in packs, parsed once.
pub fn builtin() -> Result<&'static [Pack], ComplianceError> {
    BUILTIN.as_deref().map_err(Clone::clone)
}

/// The `[compliance]` section of a policy document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Built-in packs to run, by name.
    #[serde(default)]
    pub packs: Vec<String>,
    /// Built-in rule ids to skip.
    #[serde(default)]
    pub disable: Vec<String>,
    /// The policy's own rules.
    #[serde(default, rename = "rule", alias = "rules")]
    pub rules: Vec<Rule>,
}

/// A rule enabled for a model, with the pack it came from (`None`: the policy's own).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnabledRule {
    pub pack: Option<String>,
    pub rule: Rule,
}

/// What a policy's compliance checks are: the selected packs and the enabled rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleSet {
    /// (name, version) of each selected built-in pack.
    pub packs: Vec<(String, String)>,
    pub rules: Vec<EnabledRule>,
}

impl Section {
    /// Resolves pack names and disabled ids and checks the own rules. Errors name the pack,
    /// rule or id and the reason.
    pub fn rule_set(&self) -> Result<RuleSet, ComplianceError> {
        let builtin = builtin()?;
        let invalid = |m: String| Err(ComplianceError::Invalid(m));
        let mut set = RuleSet::default();
        let mut seen_packs = BTreeSet::new();
        for name in &self.packs {
            let Some(p) = builtin.iter().find(|p| &p.name == name) else {
                let known: Vec<_> = builtin.iter().map(|p| p.name.as_str()).collect();
                return invalid(format!(
                    "compliance.packs: no built-in pack '{name}'; known: {}",
                    known.join(", ")
                ));
            };
            if !seen_packs.insert(name) {
                return invalid(format!("compliance.packs: '{name}' is listed twice"));
            }
            set.packs.push((p.name.clone(), p.version.clone()));
            set.rules.extend(p.rules.iter().map(|r| EnabledRule {
                pack: Some(p.name.clone()),
                rule: r.clone(),
            }));
        }
        for id in &self.disable {
            if !builtin.iter().any(|p| p.rules.iter().any(|r| &r.id == id)) {
                return invalid(format!("compliance.disable: no built-in rule '{id}'"));
            }
            if !set.rules.iter().any(|r| &r.rule.id == id) {
                return invalid(format!(
                    "compliance.disable: rule '{id}' is not in a selected pack"
                ));
            }
        }
        set.rules.retain(|r| !self.disable.contains(&r.rule.id));
        let mut ids: BTreeSet<String> = set.rules.iter().map(|r| r.rule.id.clone()).collect();
        for (i, r) in self.rules.iter().enumerate() {
            if let Err(m) = r.validate() {
                return invalid(format!("compliance.rule[{i}]: {m}"));
            }
            let clashes_builtin = builtin.iter().any(|p| p.rules.iter().any(|b| b.id == r.id));
            if clashes_builtin || !ids.insert(r.id.clone()) {
                return invalid(format!(
                    "compliance.rule[{i}]: rule id '{}' is already used",
                    r.id
                ));
            }
            set.rules.push(EnabledRule {
                pack: None,
                rule: r.clone(),
            });
        }
        Ok(set)
    }
}

/// A rule's outcome in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// The statistic was not available (no baseline yet, no LLM text, no usable evidence).
    NotEvaluated,
}

/// What a run records of each rule (stored on the run's `evidence.compliance.rules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    pub id: String,
    pub pack: Option<String>,
    pub severity: Severity,
    pub status: Status,
    pub metric: String,
    pub value: Option<f64>,
    pub bound: String,
    pub obligations: Vec<Obligation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Judges every rule of `set` on `facts`.
pub fn evaluate(set: &RuleSet, facts: &Facts) -> Vec<RuleResult> {
    set.rules
        .iter()
        .map(|e| {
            let r = &e.rule;
            let (status, value, reason) = judge(&r.check, facts);
            RuleResult {
                id: r.id.clone(),
                pack: e.pack.clone(),
                severity: r.severity,
                status,
                metric: r.check.metric_name().to_owned(),
                value,
                bound: r.check.bound(),
                obligations: r.obligations.clone(),
                reason,
            }
        })
        .collect()
}

fn judge(check: &Check, facts: &Facts) -> (Status, Option<f64>, Option<String>) {
    match check {
        Check::Metric {
            metric,
            min,
            max,
            abs,
        } => {
            let Some(raw) = facts.value(metric.as_str()) else {
                return (
                    Status::NotEvaluated,
                    None,
                    Some(format!("{} is not available", metric.as_str())),
                );
            };
            let v = if *abs { raw.abs() } else { raw };
            let ok = min.is_none_or(|lo| v >= lo) && max.is_none_or(|hi| v <= hi);
            let status = if ok { Status::Pass } else { Status::Fail };
            (status, Some(raw), None)
        }
        Check::Attributes { min, required } => {
            let Some(attrs) = &facts.attributes else {
                return (
                    Status::NotEvaluated,
                    None,
                    Some("no usable evidence to look for protected attributes".into()),
                );
            };
            let missing: Vec<&str> = required
                .iter()
                .filter(|a| !attrs.contains(*a))
                .map(String::as_str)
                .collect();
            let n = attrs.len();
            if n >= *min && missing.is_empty() {
                (Status::Pass, Some(n as f64), None)
            } else {
                let why = if missing.is_empty() {
                    format!("{n} protected attribute(s) in the evidence")
                } else {
                    format!("missing protected attribute(s): {}", missing.join(", "))
                };
                (Status::Fail, Some(n as f64), Some(why))
            }
        }
    }
}

/// One `compliance` finding per failed rule; the description cites the obligations.
pub fn findings(results: &[RuleResult]) -> Vec<Finding> {
    results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| {
            let citation = r
                .obligations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            let observed = match (&r.reason, r.value) {
                (Some(why), _) => why.clone(),
                (None, Some(v)) => format!("{} = {}", r.metric, round(v)),
                (None, None) => format!("{} unavailable", r.metric),
            };
            Finding {
                category: FindingCategory::Compliance,
                rule_id: Some(r.id.clone()),
                severity: r.severity,
                metric_name: r.metric.clone(),
                baseline_value: None,
                current_value: r.value,
                deviation_percentage: None,
                description: format!(
                    "{citation}: {observed}, required {}",
                    r.bound.replace("value", &r.metric)
                ),
            }
        })
        .collect()
}

fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// Results keyed by rule id, as the coverage computation reads them back from a run.
pub fn statuses(results: &[RuleResult]) -> BTreeMap<String, Status> {
    results.iter().map(|r| (r.id.clone(), r.status)).collect()
}

#[cfg(test)]
mod tests;
