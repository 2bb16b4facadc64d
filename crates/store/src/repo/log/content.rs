//! What an entry's content may hold: the change as fields before and after, and never a
//! secret. Every content passes through [`prepare`] inside `append`, whatever its caller
//! built, so a handler that forgets a header value or a URL token cannot put it in the log.

use serde_json::{Map, Value};

/// Keys whose values are secrets wherever they appear.
const SECRET_KEYS: &[&str] = &[
    "secret",
    "password",
    "password_hash",
    "token",
    "api_key",
    "key_hash",
    "authorization",
];

/// `{"before": …, "after": …}` as given, anything else as the `after` of a creation; then
/// secrets replaced by fingerprints.
pub(super) fn prepare(change: &Value) -> Value {
    let shaped = match change.as_object() {
        Some(o) if !o.is_empty() && o.keys().all(|k| k == "before" || k == "after") => {
            change.clone()
        }
        _ => serde_json::json!({ "after": change }),
    };
    scrub(&shaped, false)
}

/// Replaces secret values with fingerprints: values under secret keys, every value of a
/// `headers` object, and the user-info and query values of URLs.
fn scrub(v: &Value, secret: bool) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let lower = k.to_ascii_lowercase();
                    let s = secret || lower == "headers" || SECRET_KEYS.contains(&lower.as_str());
                    (k.clone(), scrub(x, s))
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| scrub(x, secret)).collect()),
        Value::String(s) if secret => Value::String(super::fingerprint(s)),
        Value::String(s) => Value::String(mask_url(s)),
        Value::Null | Value::Bool(_) | Value::Number(_) if secret => v.clone(),
        other => other.clone(),
    }
}

/// A URL with its user-info and query values replaced by fingerprints (keys kept); other text
/// unchanged.
pub fn mask_url(s: &str) -> String {
    let Some(scheme_end) = s.find("://") else {
        return s.to_owned();
    };
    if !s[..scheme_end]
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return s.to_owned();
    }
    let rest = &s[scheme_end + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..scheme_end + 3]);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(&super::fingerprint(&authority[..at]));
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let (before_frag, frag) = tail.split_at(tail.find('#').unwrap_or(tail.len()));
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    let (path, query) = match before_frag.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_frag, None),
    };
    out.push_str(&secret_path(host, path));
    if let Some(query) = query {
        out.push('?');
        let parts: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) if !v.is_empty() => format!("{k}={}", super::fingerprint(v)),
                _ => kv.to_owned(),
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out.push_str(frag);
    out
}

/// A path whose tail is a credential (a Slack or Teams webhook, [`secret_path_start`]) with
/// that tail as one fingerprint; any other path unchanged.
fn secret_path(host: &str, path: &str) -> String {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match crate::secrets::secret_path_start(host, segs.iter().copied()) {
        Some(i) => format!(
            "/{}/{}",
            segs[..i].join("/"),
            super::fingerprint(&segs[i..].join("/"))
        ),
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_become_fingerprints_everywhere() {
        let v = prepare(&json!({
            "name": "m",
            "evidence_sources": [{"config": {
                "url": "https://bob:pw1@api.example.com/s?token=tok1&x=",
                "headers": {"X-Api-Key": "hdr1"}
            }}],
            "secret": "sek1",
            "nested": {"Password": "pw2"}
        }));
        let text = v.to_string();
        for s in ["pw1", "tok1", "hdr1", "sek1", "pw2", "bob"] {
            assert!(!text.contains(s), "{s} leaked: {text}");
        }
        assert!(text.contains("api.example.com/s?token=fp:"), "{text}");
        assert!(text.contains("\"X-Api-Key\":\"fp:"), "{text}");
        assert_eq!(v["after"]["name"], "m");
    }

    #[test]
    fn webhook_paths_that_are_credentials_become_one_fingerprint() {
        let slack = mask_url("https://hooks.slack.com/services/T0001/B0002/SlackTok3n");
        assert!(
            slack.starts_with("https://hooks.slack.com/services/fp:"),
            "{slack}"
        );
        assert!(
            !slack.contains("SlackTok3n") && !slack.contains("B0002"),
            "{slack}"
        );
        let teams =
            mask_url("https://acme.webhook.office.com/webhookb2/g1@g2/IncomingWebhook/abc/g3");
        assert!(
            teams.starts_with("https://acme.webhook.office.com/webhookb2/fp:"),
            "{teams}"
        );
        assert!(!teams.contains("IncomingWebhook"), "{teams}");
        let plain = "https://example.com/services/a/b";
        assert_eq!(
            mask_url(plain),
            plain,
            "only the services that put tokens in paths"
        );
        assert_ne!(
            mask_url("https://hooks.slack.com/services/T/B/one"),
            mask_url("https://hooks.slack.com/services/T/B/two"),
            "a changed token shows as a changed fingerprint"
        );
    }

    #[test]
    fn shapes_are_kept_or_made() {
        assert_eq!(
            prepare(&json!({"before": {"a": 1}})),
            json!({"before": {"a": 1}})
        );
        assert_eq!(prepare(&json!({"a": 1})), json!({"after": {"a": 1}}));
        assert_eq!(mask_url("plain text"), "plain text");
        assert_eq!(mask_url("https://host/p#frag"), "https://host/p#frag");
    }
}
