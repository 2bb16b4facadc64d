//! The pages' markup (maud escapes every value it interpolates).

use audit_store::repo::dashboard::Overview;
use audit_store::repo::series::{RiskyModel, SeriesPoint};
use maud::{DOCTYPE, Markup, html};

use crate::session::Session;

/// A time as people read it: in UTC in the page, turned into the viewer's own zone by the
/// console's script where it runs.
pub(crate) fn time(t: chrono::DateTime<chrono::Utc>) -> Markup {
    html! {
        time datetime=(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
            (t.format("%Y-%m-%d %H:%M UTC"))
        }
    }
}

/// A time that may be missing (a dash then).
pub(crate) fn maybe_time(t: Option<chrono::DateTime<chrono::Utc>>) -> Markup {
    match t {
        Some(t) => time(t),
        None => html! { "–" },
    }
}

/// The frame of every page: a skip link, the header with who is signed in and the navigation
/// (`section` marks the current entry), the main content.
pub(crate) fn layout(
    title: &str,
    session: Option<&Session>,
    section: &str,
    body: Markup,
) -> Markup {
    live_layout(title, session, section, None, body)
}

/// What a live page follows: one model's events (`scope` its id) or every model's (`all`),
/// from the last event that was in the database when the page was read, so that nothing that
/// happens between the reading and the script's connection is missed.
pub(crate) struct Live<'a> {
    pub scope: &'a str,
    pub after: i64,
}

/// The frame of a page that redraws itself on live events.
pub(crate) fn live_layout(
    title: &str,
    session: Option<&Session>,
    section: &str,
    live: Option<Live<'_>>,
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
                script src="/console.js" defer {}
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
                            @if crate::settings::offered(s) {
                                a href="/console/settings" aria-current=[(section == "settings").then_some("page")] { "Settings" }
                            }
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
                main id="main" data-live=[live.as_ref().map(|l| l.scope)]
                    data-after=[live.as_ref().map(|l| l.after)] { (body) }
                p id="live-status" class="visually-hidden" role="status" aria-live="polite" {}
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
/// The overview page around its content (which depends on the tenant only, so it is cached).
pub(crate) fn overview(session: &Session, content: &str, after: i64) -> Markup {
    live_layout(
        "Overview",
        Some(session),
        "overview",
        Some(Live {
            scope: "all",
            after,
        }),
        maud::PreEscaped(content.to_owned()),
    )
}

/// The overview's content.
pub(crate) fn overview_content(
    o: &Overview,
    risky: &[RiskyModel],
    recent: &[Activity],
    chart: &Markup,
) -> Markup {
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
        (chart)
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
    }
}

/// Mean drift, bias and risk of the judged audits per period, with links to the other periods.
pub(crate) fn series_chart(by: &str, points: &[SeriesPoint]) -> Markup {
    let shown: Vec<audit_report::HistoryPoint> = points
        .iter()
        .filter(|p| p.audits > 0)
        .map(|p| audit_report::HistoryPoint {
            audit_id: format!("{} audits", p.audits),
            label: p.start.format("%Y-%m-%d").to_string(),
            drift: p.drift_score.unwrap_or(0.0),
            bias: p.bias_score.unwrap_or(0.0),
            risk: p.risk_score.unwrap_or(0.0),
        })
        .collect();
    let title = format!("Mean scores of judged audits by {by}");
    html! {
        section class="card series" aria-labelledby="series-title" {
            h2 id="series-title" { "Scores over time" }
            nav class="periods" aria-label="Period" {
                @for g in ["day", "week", "month", "quarter"] {
                    a href={ "/?by=" (g) } aria-current=[(g == by).then_some("true")] { "By " (g) }
                }
            }
            @if shown.is_empty() {
                p class="empty" { "No judged audit in these periods yet: scores appear once a model's second audit compares with its baseline." }
            } @else {
                figure class="chart" { (maud::PreEscaped(audit_report::chart::scores(&title, &shown))) }
            }
        }
    }
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
