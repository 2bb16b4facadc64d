//! The pages' markup (maud escapes every value it interpolates).

use audit_store::repo::dashboard::Overview;
use audit_store::repo::series::RiskyModel;
use maud::{DOCTYPE, Markup, html};

use crate::session::Session;

/// A time as people read it, in UTC (the viewer's own zone needs a script, which the console
/// does not send).
pub(crate) fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The frame of every page: a skip link, the header with who is signed in and the navigation
/// (`section` marks the current entry), the main content.
pub(crate) fn layout(
    title: &str,
    session: Option<&Session>,
    section: &str,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · AI Auditor" }
                link rel="stylesheet" href="/console.css";
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header {
                    span class="brand" { "AI Auditor" }
                    @if let Some(s) = session {
                        nav aria-label="Main" {
                            a href="/" aria-current=[(section == "overview").then_some("page")] { "Overview" }
                            a href="/console/models" aria-current=[(section == "models").then_some("page")] { "Models" }
                            a href="/console/findings" aria-current=[(section == "findings").then_some("page")] { "Findings" }
                            a href="/console/compliance" aria-current=[(section == "compliance").then_some("page")] { "Compliance" }
                            a href="/docs/" { "API" }
                        }
                        form class="signout" method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(s.csrf());
                            span class="who" {
                                (s.caller.actor) " · " (format!("{:?}", s.caller.role).to_lowercase())
                            }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

/// The sign-in form; `error` is shown next to the fields it concerns.
pub(crate) fn login(csrf: &str, username: &str, error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        "",
        html! {
            h1 { "Sign in" }
            form class="card login" method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                @if let Some(e) = error {
                    p class="error" role="alert" id="login-error" { (e) }
                }
                label for="username" { "Username" }
                input id="username" name="username" type="text" autocomplete="username"
                    required value=(username)
                    aria-describedby=[error.map(|_| "login-error")];
                label for="password" { "Password" }
                input id="password" name="password" type="password"
                    autocomplete="current-password" required
                    aria-describedby=[error.map(|_| "login-error")];
                button type="submit" { "Sign in" }
            }
            p class="hint" {
                "Machines use API keys instead: see the " a href="/docs/" { "API documentation" } "."
            }
        },
    )
}

/// One figure of the overview.
fn metric(label: &str, value: String) -> Markup {
    html! {
        div class="metric" {
            dt { (label) }
            dd { (value) }
        }
    }
}

fn counts(caption: &str, rows: &std::collections::BTreeMap<String, i64>) -> Markup {
    html! {
        table {
            caption { (caption) }
            thead { tr { th scope="col" { "Value" } th scope="col" class="num" { "Count" } } }
            tbody {
                @for (k, v) in rows {
                    tr { th scope="row" { (k) } td class="num" { (v) } }
                }
            }
        }
    }
}

/// One line of recent activity, in words.
pub(crate) struct Activity {
    pub text: String,
    pub model_id: String,
    pub time: chrono::DateTime<chrono::Utc>,
}

/// The overview: the nine metrics of the audit contract, the riskiest models, what happened
/// lately, then the breakdowns.
pub(crate) fn overview(
    session: &Session,
    o: &Overview,
    risky: &[RiskyModel],
    recent: &[Activity],
) -> Markup {
    layout(
        "Overview",
        Some(session),
        "overview",
        html! {
            h1 { "Overview" }
            @if o.total_models == 0 {
                p class="empty" {
                    "No model is registered yet. Register one with "
                    code { "POST /models/register" }
                    " (see the " a href="/docs/" { "API documentation" } "); its baseline audit runs at once."
                }
            }
            dl class="metrics" {
                (metric("Models", o.total_models.to_string()))
                (metric("Audits", o.total_audits.to_string()))
                (metric("Passed audits", o.passed_audits.to_string()))
                (metric("Failed audits", o.failed_audits.to_string()))
                (metric("Critical findings", o.critical_findings_count.to_string()))
                (metric("High findings", o.high_findings_count.to_string()))
                (metric("Overall risk (0–100)", format!("{:.1}", o.overall_risk_score)))
                (metric("Drift", format!("{:.1} %", o.drift_score_percentage)))
                (metric("Bias", format!("{:.1} %", o.bias_score_percentage)))
            }
            div class="pair" {
                @if !risky.is_empty() {
                    table {
                        caption { "Riskiest models (latest audit)" }
                        thead { tr { th scope="col" { "Model" } th scope="col" class="num" { "Risk" } th scope="col" { "Result" } } }
                        tbody {
                            @for m in risky {
                                tr {
                                    th scope="row" { a href={ "/console/models/" (m.model_id) } { (m.name) } }
                                    td class="num" { (format!("{:.1}", m.risk_score)) }
                                    td { a href={ "/console/audits/" (m.audit_id) } { (m.audit_result.as_deref().unwrap_or("–")) } }
                                }
                            }
                        }
                    }
                }
                @if !recent.is_empty() {
                    section class="activity" aria-labelledby="recent" {
                        h2 id="recent" { "Recent activity" }
                        ul {
                            @for a in recent {
                                li {
                                    (a.text) " "
                                    span class="hint" { "(" a href={ "/console/models/" (a.model_id) } { (a.model_id) } ", " (time(a.time)) ")" }
                                }
                            }
                        }
                    }
                }
            }
            div class="tables" {
                (counts("Audits by result", &o.audit_status_distribution))
                (counts("Audits by execution status", &o.execution_status_distribution))
                (counts("Findings by severity", &o.findings_by_severity))
                (counts("Findings by status", &o.findings_by_status))
            }
        },
    )
}

/// A page for a refused request (a form without its CSRF token).
pub(crate) fn refused(detail: &str) -> Markup {
    layout(
        "Refused",
        None,
        "",
        html! {
            h1 { "Request refused" }
            p class="error" role="alert" { (detail) }
            p { a href="/" { "Back to the console" } }
        },
    )
}

/// A page for a request the console cannot answer (a model of another tenant is "not found",
/// exactly like a missing one).
pub(crate) fn problem(session: Option<&Session>, title: &str, detail: &str) -> Markup {
    layout(
        title,
        session,
        "",
        html! {
            h1 { (title) }
            p class="error" role="alert" { (detail) }
            p { a href="/console/models" { "All models" } }
        },
    )
}
