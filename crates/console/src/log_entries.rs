//! The compliance log's entries on the compliance page, newest first, each with its change
//! (the fields before and after, secrets as the fingerprints the log keeps).

use audit_http::api::read;
use audit_http::{ApiError, AppState};
use audit_store::Paging;
use audit_store::repo::log::{self, LogEntry, LogFilter};
use maud::{Markup, html};
use serde::Deserialize;

use crate::session::Session;

/// Entries a page.
const PAGE: i64 = 25;

#[derive(Deserialize, Default)]
pub(crate) struct LogQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    page: String,
}

fn some(v: &str) -> Option<String> {
    Some(v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The `number`th page of the newest entries matching `q`, and how many match.
pub(crate) async fn newest(
    state: &actix_web::web::Data<AppState>,
    s: &Session,
    q: &LogQuery,
) -> Result<(i64, i64, Vec<LogEntry>), ApiError> {
    let number = q.page.parse::<i64>().unwrap_or(1).max(1);
    let f = LogFilter {
        tenant_id: s.caller.scope(),
        actor: some(&q.actor),
        action: some(&q.action),
        object_id: some(&q.object),
        ..LogFilter::default()
    };
    read(state, move |c| {
        // The log lists in chain order; the newest page is its last.
        let total = log::list(c, &f, Paging { skip: 0, limit: 1 })?.total;
        let end = total - (number - 1) * PAGE;
        let skip = (end - PAGE).max(0);
        let limit = (end - skip).max(0);
        let mut items = if limit == 0 {
            Vec::new()
        } else {
            log::list(c, &f, Paging { skip, limit })?.items
        };
        items.reverse();
        Ok((number, total, items))
    })
    .await
}

/// One value as the page shows it: JSON, cut to a readable length.
fn shown(v: Option<&serde_json::Value>) -> String {
    let text = match v {
        None | Some(serde_json::Value::Null) => "–".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(119).collect::<String>())
    } else {
        text
    }
}

/// The change of an entry: each field with its value before and after.
fn change(e: &LogEntry) -> Markup {
    let parsed = e
        .content
        .as_deref()
        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
    let Some(v) = parsed else {
        return html! {
            @if let Some(p) = &e.purged_at { span class="hint" { "content purged " (p) } }
            @else { "–" }
        };
    };
    let before = v.get("before").and_then(|b| b.as_object());
    let after = v.get("after").and_then(|a| a.as_object());
    let mut keys: Vec<&String> = before
        .iter()
        .chain(after.iter())
        .flat_map(|m| m.keys())
        .collect();
    keys.sort();
    keys.dedup();
    html! {
        @if keys.is_empty() {
            code { (shown(Some(&v))) }
        } @else {
            ul {
                @for k in keys {
                    li {
                        strong { (k) } ": "
                        @if before.is_some() { del { (shown(before.and_then(|b| b.get(k)))) } " → " }
                        ins { (shown(after.and_then(|a| a.get(k)))) }
                    }
                }
            }
        }
    }
}

fn page_link(q: &LogQuery, number: i64) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("action", &q.action),
        ("actor", &q.actor),
        ("object", &q.object),
    ] {
        if !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    out.append_pair("page", &number.to_string());
    format!("/console/compliance?{}#entries", out.finish())
}

/// The entries section; `operator`: entries of every tenant, so each names its tenant (`#` is
/// the position in that tenant's chain).
pub(crate) fn section(
    q: &LogQuery,
    operator: bool,
    (number, total): (i64, i64),
    entries: &[LogEntry],
) -> Markup {
    let last = (total + PAGE - 1) / PAGE;
    html! {
        h2 id="entries" { "Log entries" }
        form class="filters" method="get" action="/console/compliance#entries" aria-label="Filter the log" {
            label for="log-action" { "Action" }
            input id="log-action" name="action" type="text" value=(q.action) placeholder="e.g. model.update";
            label for="log-actor" { "Who" }
            input id="log-actor" name="actor" type="text" value=(q.actor) placeholder="e.g. user:ann";
            label for="log-object" { "Object ID" }
            input id="log-object" name="object" type="text" value=(q.object);
            button type="submit" { "Filter" }
        }
        @if entries.is_empty() {
            p class="empty" { "No entry matches. Every change to models, policies, keys, users and findings is logged here as it happens." }
        } @else {
            p class="hint" { (total) " entries, newest first." }
            div class="scroll" tabindex="0" role="region" aria-label="Log entries" { table class="log" {
                thead { tr {
                    th scope="col" class="num" { "#" } th scope="col" { "When" } th scope="col" { "Who" }
                    th scope="col" { "Action" } th scope="col" { "Object" }
                    @if operator { th scope="col" { "Tenant" } }
                } }
                // Each entry's change on a row of its own below it, the width of the table.
                @for e in entries { tbody class="entry" {
                    tr {
                        th scope="row" class="num" { (e.tenant_seq) }
                        td { @match chrono::DateTime::parse_from_rfc3339(&e.at) {
                            Ok(t) => (crate::pages::time(t.with_timezone(&chrono::Utc))),
                            Err(_) => (e.at),
                        } }
                        td { (e.actor) } td { code { (e.action) } }
                        td { (e.object_type) " " code { (e.object_id) } }
                        @if operator { td { code { (e.tenant_id) } } }
                    }
                    tr class="change" { td colspan=(if operator { 6 } else { 5 }) { (change(e)) } }
                } }
            } }
            @if last > 1 {
                nav class="pages" aria-label="Log pages" {
                    @if number > 1 { a href=(page_link(q, number - 1)) { "Newer" } }
                    span { "Page " (number) " of " (last) }
                    @if number < last { a href=(page_link(q, number + 1)) { "Older" } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(content: Option<&str>) -> LogEntry {
        LogEntry {
            seq: 1,
            tenant_id: "t".into(),
            tenant_seq: 1,
            at: "2026-12-03T10:00:00.000000Z".into(),
            actor: "user:ann".into(),
            action: "model.update".into(),
            object_type: "model".into(),
            object_id: "m".into(),
            digest: String::new(),
            prev_hash: String::new(),
            hash: String::new(),
            content: content.map(str::to_owned),
            purged_at: None,
            signature: None,
        }
    }

    #[test]
    fn a_change_shows_each_field_before_and_after() {
        let e = entry(Some(
            r#"{"before":{"owner":"a"},"after":{"owner":"b<i>","name":"n"}}"#,
        ));
        let html = change(&e).into_string();
        assert!(
            html.contains("<strong>name</strong>: <del>–</del> → <ins>n</ins>"),
            "{html}"
        );
        assert!(
            html.contains("<del>a</del> → <ins>b&lt;i&gt;</ins>"),
            "{html}"
        );
        assert_eq!(change(&entry(None)).into_string(), "–");
    }
}
