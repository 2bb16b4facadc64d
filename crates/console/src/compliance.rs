//! The compliance page: whether the compliance log verifies, and the coverage of each
//! regulation's obligations by the enabled checks, overall and per model.

use actix_web::{HttpResponse, http::StatusCode, web};
use audit_http::api::compliance::coverage_of;
use audit_http::api::governance::{Verification, verification};
use audit_http::{ApiError, AppState};
use maud::{Markup, html};

use crate::log_entries::{self, LogQuery};
use crate::page;
use crate::pages::layout;
use crate::session::Session;

pub(crate) async fn show(
    state: web::Data<AppState>,
    s: Session,
    q: web::Query<LogQuery>,
) -> Result<HttpResponse, ApiError> {
    let v = verification(&state, &s.caller).await?;
    let (number, total, entries) = log_entries::newest(&state, &s, &q).await?;
    let cov = coverage_of(&state, s.caller.clone(), None).await?;
    let body = html! {
        h1 { "Compliance" }
        (log_state(&v))
        h2 { "Coverage by regulation" }
        @if cov.overall.obligations_covered == 0 {
            p class="empty" {
                "No enabled compliance check covers an obligation yet. A policy's "
                code { "[compliance]" } " section enables the built-in packs (docs/compliance.md)."
            }
        }
        p class="hint" {
            "Overall: " (cov.overall.passing) " of " (cov.overall.obligations_covered)
            " obligations passing, " (cov.overall.failing) " failing, " (cov.overall.not_evaluated)
            " not evaluated" @if let Some(sc) = cov.overall.score { "; score " (format!("{sc:.0}")) }
            @if !cov.models_at_risk.is_empty() { "; models at risk: " (cov.models_at_risk.join(", ")) }
        }
        (tally_table("Regulation", cov.regulations.iter().map(|r| (r.regulation.clone(), &r.tally))))
        h2 { "Coverage by model" }
        (tally_table("Model", cov.models.iter().map(|m| (m.model_id.clone(), &m.tally))))
        (log_entries::section(&q, s.caller.scope().is_none(), (number, total), &entries))
    };
    Ok(page(
        StatusCode::OK,
        layout("Compliance", Some(&s), "compliance", body),
    ))
}

fn log_state(v: &Verification) -> Markup {
    html! {
        section class="card" aria-labelledby="log" {
            h2 id="log" { "Compliance log" }
            @if v.valid {
                p class="ok" { "Verified: " (v.entries_checked) " entries, every hash chain intact"
                    @if v.outside_copy { ", and matching the checkpoint copy kept outside the database" } "." }
            } @else {
                p class="error" role="alert" {
                    "Verification failed"
                    @if let Some(seq) = v.first_broken_seq { " at entry " (seq) }
                    ": the log was changed outside the server. Export it and check it offline with "
                    code { "auditor log verify" } "."
                }
            }
        }
    }
}

fn tally_table<'a>(
    what: &str,
    rows: impl Iterator<Item = (String, &'a audit_compliance::coverage::Tally)>,
) -> Markup {
    let rows: Vec<_> = rows.collect();
    html! {
        @if !rows.is_empty() {
            div class="scroll" tabindex="0" role="region" aria-label={ "Coverage by " (what.to_lowercase()) } {
                table {
                    thead { tr {
                        th scope="col" { (what) } th scope="col" class="num" { "Covered" }
                        th scope="col" class="num" { "Passing" } th scope="col" class="num" { "Failing" }
                        th scope="col" class="num" { "Not evaluated" } th scope="col" class="num" { "Score" }
                        th scope="col" { "Exposure" }
                    } }
                    tbody {
                        @for (name, t) in &rows {
                            tr {
                                th scope="row" { (name) }
                                td class="num" { (t.obligations_covered) }
                                td class="num" { (t.passing) }
                                td class="num" { (t.failing) }
                                td class="num" { (t.not_evaluated) }
                                td class="num" { (t.score.map(|s| format!("{s:.0}")).unwrap_or_else(|| "–".into())) }
                                td { (t.exposure.as_deref().unwrap_or("–")) }
                            }
                        }
                    }
                }
            }
        }
    }
}
