//! Settings: API keys, users, webhooks, probe targets and (for system admins) tenants. Each tab
//! reads and writes through the API's own functions and needs the role of the API route it
//! stands for. A secret made here (a key, a webhook's signing secret, a new tenant's first
//! admin key) is shown once, on the page that answers the form, and never again.

mod hooks;
mod people;
mod targets;

use std::collections::BTreeMap;

use actix_web::{HttpResponse, http::StatusCode};
use audit_http::ApiError;
use maud::{Markup, html};

pub(crate) use hooks::{create_hook, delete_hook, test_hook, webhooks};
pub(crate) use people::{
    create_key, create_tenant, create_user, delete_user, keys, revoke_key, tenants, users,
};
pub(crate) use targets::{delete_target, set_target, targets};

use crate::acting::Route;
use crate::pages::layout;
use crate::session::Session;
use crate::{may, page, pages, see_other};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tab {
    Keys,
    Users,
    Webhooks,
    Targets,
    Tenants,
}

impl Tab {
    const ALL: [Tab; 5] = [
        Tab::Keys,
        Tab::Users,
        Tab::Webhooks,
        Tab::Targets,
        Tab::Tenants,
    ];

    pub(crate) fn path(self) -> &'static str {
        match self {
            Tab::Keys => "/console/settings/keys",
            Tab::Users => "/console/settings/users",
            Tab::Webhooks => "/console/settings/webhooks",
            Tab::Targets => "/console/settings/targets",
            Tab::Tenants => "/console/settings/tenants",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Tab::Keys => "API keys",
            Tab::Users => "Users",
            Tab::Webhooks => "Webhooks",
            Tab::Targets => "Probe targets",
            Tab::Tenants => "Tenants",
        }
    }

    /// The API route that lists what the tab shows: the tab needs its role.
    fn reads(self) -> Route {
        match self {
            Tab::Keys => ("GET", "/api-keys"),
            Tab::Users => ("GET", "/users"),
            Tab::Webhooks => ("GET", "/webhooks"),
            Tab::Targets => ("GET", "/models/{model_id}/active-target"),
            Tab::Tenants => ("GET", "/v1/tenants"),
        }
    }

    pub(crate) fn open_to(self, s: &Session) -> bool {
        // Listing tenants is open to anyone (their own); managing them is for operators only.
        may(s, self.reads()) && (self != Tab::Tenants || s.caller.is_operator())
    }
}

/// What answers a form: errors by field (`form` for the form as a whole), the values to show
/// again, a secret shown this once, and what was done.
#[derive(Default)]
pub(crate) struct Outcome {
    errors: BTreeMap<&'static str, String>,
    values: BTreeMap<&'static str, String>,
    once: Option<(String, String)>,
    done: Option<String>,
}

impl Outcome {
    fn keeping(values: impl IntoIterator<Item = (&'static str, String)>) -> Outcome {
        Outcome {
            values: values.into_iter().collect(),
            ..Outcome::default()
        }
    }

    fn done(message: String) -> Outcome {
        Outcome {
            done: Some(message),
            ..Outcome::default()
        }
    }

    fn once(what: String, secret: String) -> Outcome {
        Outcome {
            once: Some((what, secret)),
            ..Outcome::default()
        }
    }

    fn failed(mut self, field: &'static str, message: impl Into<String>) -> Outcome {
        self.errors.insert(field, message.into());
        self
    }

    /// The API's refusal beside the field it names (its details start with the field's name),
    /// else above the form.
    /// (`model_id` takes "model '…' not found" and "… is archived".)
    fn refused(self, e: &ApiError, fields: &[&'static str]) -> Outcome {
        let names_model = e.detail.starts_with("model '") && fields.contains(&"model_id");
        let field = if names_model {
            "model_id"
        } else {
            fields
                .iter()
                .find(|f| e.detail.starts_with(**f))
                .copied()
                .unwrap_or("form")
        };
        self.failed(field, e.detail.clone())
    }

    fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    /// 422 when a field is wrong, else 200.
    fn status(&self) -> StatusCode {
        if self.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

/// What a removal answers: what was done, or the API's refusal above the tab.
fn removed(r: Result<audit_http::api::Deleted, ApiError>) -> Result<Outcome, ApiError> {
    match r {
        Ok(d) => Ok(Outcome::done(d.detail)),
        Err(e) if e.status.is_client_error() => Ok(Outcome::default().refused(&e, &[])),
        Err(e) => Err(e),
    }
}

/// The settings frame: its tabs, what the last form did, then the tab's content.
fn frame(s: &Session, tab: Tab, o: &Outcome, body: Markup) -> HttpResponse {
    let markup = layout(
        &format!("Settings: {}", tab.label()),
        Some(s),
        "settings",
        html! {
            h1 { "Settings" }
            nav class="tabs" aria-label="Settings" {
                @for t in Tab::ALL.into_iter().filter(|t| t.open_to(s)) {
                    a href=(t.path()) aria-current=[(t == tab).then_some("page")] { (t.label()) }
                }
            }
            @if let Some((what, secret)) = &o.once {
                section class="card once" role="status" aria-labelledby="once" {
                    h2 id="once" { (what) }
                    p { "Copy it now: it is shown only this once, and only a hash or a sealed copy is kept." }
                    p { code class="secret" { (secret) } }
                }
            }
            @if let Some(m) = &o.done { p class="ok" role="status" { (m) } }
            @if let Some(e) = o.error("form") { p class="error" role="alert" { (e) } }
            h2 { (tab.label()) }
            (body)
        },
    );
    page(o.status(), markup)
}

/// The refusal a person without the tab's role gets (the navigation does not offer it).
fn closed(s: &Session, tab: Tab) -> Option<HttpResponse> {
    (!tab.open_to(s)).then(|| {
        let detail = format!("{} are managed by admins of this tenant.", tab.label());
        page(
            StatusCode::FORBIDDEN,
            pages::problem(Some(s), "Not allowed", &detail),
        )
    })
}

/// `/console/settings`: the first tab the person may open.
pub(crate) async fn index(s: Session) -> HttpResponse {
    let first = Tab::ALL.into_iter().find(|t| t.open_to(&s));
    see_other(first.unwrap_or(Tab::Targets).path()).finish()
}

/// Whether the header offers Settings to this person.
pub(crate) fn offered(s: &Session) -> bool {
    Tab::ALL.into_iter().any(|t| t.open_to(s))
}

/// An optional whole number from a form (empty: none).
fn number<T: std::str::FromStr>(text: &str) -> Result<Option<T>, String> {
    match text.trim() {
        "" => Ok(None),
        t => t
            .parse()
            .map(Some)
            .map_err(|_| format!("'{t}' is not a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_goes_beside_the_field_it_names() {
        let e = ApiError::invalid("password must be 12 to 1024 characters");
        let o = Outcome::default().refused(&e, &["username", "password"]);
        assert_eq!(o.error("password"), Some(e.detail.as_str()));
        assert_eq!(o.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let e = ApiError::invalid("user 'ann' already exists");
        let o = Outcome::default().refused(&e, &["username", "password"]);
        assert!(o.error("form").is_some() && o.error("username").is_none());
    }

    #[test]
    fn a_missing_model_goes_beside_the_model_id() {
        let e = ApiError::not_found("model 'ghost' not found");
        let o = Outcome::default().refused(&e, &["model_id", "model"]);
        assert!(o.error("model_id").is_some() && o.error("model").is_none());
        let e = ApiError::invalid("model must not be empty");
        let o = Outcome::default().refused(&e, &["model_id", "model"]);
        assert!(o.error("model").is_some());
    }

    #[test]
    fn numbers_are_optional_and_whole() {
        assert_eq!(number::<i64>(" "), Ok(None));
        assert_eq!(number::<i64>("30"), Ok(Some(30)));
        assert!(number::<i64>("3.5").is_err());
    }
}
