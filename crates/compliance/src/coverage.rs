//! Coverage by regulation (docs/compliance.md, "Coverage"): which obligations the enabled
//! checks of each model cover, and how the model's latest run judged them.

use audit_domain::Severity;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

use crate::{EnabledRule, Obligation, Status};

/// One model: the rules its policy enables now (empty when compliance is out of scope) and the
/// statuses its latest passive run recorded (`None`: no run evaluated compliance yet).
#[derive(Debug, Clone)]
pub struct ModelInput {
    pub model_id: String,
    pub rules: Vec<EnabledRule>,
    pub latest: Option<BTreeMap<String, Status>>,
}

/// Counts of obligations and what they come to.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tally {
    /// Distinct (model, obligation) pairs cited by enabled rules.
    pub obligations_covered: u32,
    /// No citing rule failed and at least one passed.
    pub passing: u32,
    /// At least one citing rule failed.
    pub failing: u32,
    /// Every citing rule was not evaluated, or no run judged them yet.
    pub not_evaluated: u32,
    /// passing / obligations_covered × 100; `null` when nothing is covered.
    pub score: Option<f64>,
    /// `HIGH` when a failing obligation's worst failed rule is HIGH or CRITICAL; `MEDIUM` when
    /// another obligation fails or the score is below 50; else `LOW`. `null` when nothing is
    /// covered.
    pub exposure: Option<String>,
    /// Failed rules by severity (LOW..CRITICAL).
    pub violations: BTreeMap<String, u32>,
    /// Whether a failing obligation's worst failed rule is HIGH or CRITICAL.
    #[serde(skip)]
    severe_failure: bool,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.obligations_covered += o.obligations_covered;
        self.passing += o.passing;
        self.failing += o.failing;
        self.not_evaluated += o.not_evaluated;
        self.severe_failure |= o.severe_failure;
        for (k, v) in &o.violations {
            *self.violations.entry(k.clone()).or_default() += v;
        }
    }

    fn finish(&mut self) {
        for s in Severity::ALL {
            self.violations.entry(s.as_str().to_owned()).or_default();
        }
        if self.obligations_covered == 0 {
            self.score = None;
            self.exposure = None;
            return;
        }
        let score = f64::from(self.passing) / f64::from(self.obligations_covered) * 100.0;
        self.score = Some((score * 100.0).round() / 100.0);
        // Known violations set the level; less than half demonstrated is a gap in itself.
        let level = if self.severe_failure {
            "HIGH"
        } else if self.failing > 0 || score < 50.0 {
            "MEDIUM"
        } else {
            "LOW"
        };
        self.exposure = Some(level.to_owned());
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegulationCoverage {
    pub regulation: String,
    #[serde(flatten)]
    pub tally: Tally,
    /// Models with a failing obligation of this regulation.
    pub models_at_risk: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelCoverage {
    pub model_id: String,
    #[serde(flatten)]
    pub tally: Tally,
    pub regulations: Vec<RegulationCoverage>,
}

/// `GET /compliance/coverage`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coverage {
    /// Over every model and regulation.
    #[serde(flatten)]
    pub overall: Tally,
    /// Models with at least one failing obligation.
    pub models_at_risk: Vec<String>,
    pub regulations: Vec<RegulationCoverage>,
    pub models: Vec<ModelCoverage>,
}

/// Computes coverage. `regulations` are listed even when nothing covers them (the built-in
/// packs' regulations), followed by any other framework the rules cite.
pub fn coverage(regulations: &[String], models: &[ModelInput]) -> Coverage {
    let mut names: Vec<String> = regulations.to_vec();
    for m in models {
        for r in &m.rules {
            for o in &r.rule.obligations {
                if !names.contains(&o.framework) {
                    names.push(o.framework.clone());
                }
            }
        }
    }
    let mut per_reg: Vec<RegulationCoverage> = names
        .iter()
        .map(|n| RegulationCoverage {
            regulation: n.clone(),
            tally: Tally::default(),
            models_at_risk: Vec::new(),
        })
        .collect();
    let mut out_models = Vec::new();
    let mut overall = Tally::default();
    let mut at_risk = Vec::new();
    for m in models {
        let mut model_regs: Vec<RegulationCoverage> = Vec::new();
        let mut model_tally = Tally::default();
        for (i, name) in names.iter().enumerate() {
            let t = tally_of(m, name);
            if t.obligations_covered == 0 {
                continue;
            }
            if t.failing > 0 {
                per_reg[i].models_at_risk.push(m.model_id.clone());
            }
            per_reg[i].tally.add(&t);
            model_tally.add(&t);
            let mut t = t;
            t.finish();
            model_regs.push(RegulationCoverage {
                regulation: name.clone(),
                models_at_risk: if t.failing > 0 {
                    vec![m.model_id.clone()]
                } else {
                    Vec::new()
                },
                tally: t,
            });
        }
        // Violations are counted per rule, once, not once per regulation the rule cites.
        model_tally.violations = violations(m);
        overall.add(&model_tally);
        if model_tally.failing > 0 {
            at_risk.push(m.model_id.clone());
        }
        model_tally.finish();
        out_models.push(ModelCoverage {
            model_id: m.model_id.clone(),
            tally: model_tally,
            regulations: model_regs,
        });
    }
    for r in &mut per_reg {
        r.tally.finish();
    }
    overall.finish();
    Coverage {
        overall,
        models_at_risk: at_risk,
        regulations: per_reg,
        models: out_models,
    }
}

fn status_of(m: &ModelInput, id: &str) -> Status {
    m.latest
        .as_ref()
        .and_then(|l| l.get(id).copied())
        .unwrap_or(Status::NotEvaluated)
}

fn tally_of(m: &ModelInput, regulation: &str) -> Tally {
    let obligations: BTreeSet<&Obligation> = m
        .rules
        .iter()
        .flat_map(|r| r.rule.obligations.iter())
        .filter(|o| o.framework == regulation)
        .collect();
    let mut t = Tally::default();
    for o in obligations {
        t.obligations_covered += 1;
        let citing = m.rules.iter().filter(|r| r.rule.obligations.contains(o));
        let mut passed = false;
        let mut worst_failed: Option<Severity> = None;
        for r in citing {
            match status_of(m, &r.rule.id) {
                Status::Pass => passed = true,
                Status::Fail => worst_failed = worst_failed.max(Some(r.rule.severity)),
                Status::NotEvaluated => {}
            }
        }
        match worst_failed {
            Some(s) => {
                t.failing += 1;
                t.severe_failure |= s >= Severity::High;
            }
            None if passed => t.passing += 1,
            None => t.not_evaluated += 1,
        }
    }
    t.violations = violations_for(m, |r| {
        r.rule.obligations.iter().any(|o| o.framework == regulation)
    });
    t
}

fn violations(m: &ModelInput) -> BTreeMap<String, u32> {
    violations_for(m, |_| true)
}

fn violations_for(m: &ModelInput, keep: impl Fn(&EnabledRule) -> bool) -> BTreeMap<String, u32> {
    let mut v = BTreeMap::new();
    for r in m.rules.iter().filter(|r| keep(r)) {
        if status_of(m, &r.rule.id) == Status::Fail {
            *v.entry(r.rule.severity.as_str().to_owned()).or_default() += 1;
        }
    }
    v
}
