//! In-memory analysis of LLM text fields: refusals, PII kinds, response length.
//! Only counts leave this module; the text is borrowed for the call and never copied.

use audit_domain::{RESPONSE_LENGTH_EDGES, TextStats};
use regex::{Regex, RegexSet};
use std::sync::LazyLock;

/// PII kinds, in the order of [`PII_PATTERNS`].
pub const PII_KINDS: [&str; 5] = ["email", "phone", "card_number", "national_id", "secret"];

const PII_PATTERNS: [&str; 5] = [
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\b\d{3}[-.\s])\d{3}[-.\s]\d{4}\b|\+\d{1,3}[\s.-]\d{1,4}(?:[\s.-]\d{2,4}){2,4}\b",
    r"\b(?:\d[ -]?){12,18}\d\b",
    r"\b\d{3}-\d{2}-\d{4}\b|\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b|\b\d{4}\s\d{4}\s\d{4}\b",
    concat!(
        r"\bAKIA[0-9A-Z]{16}\b|\bsk-[A-Za-z0-9_-]{20,}|\bgh[pousr]_[A-Za-z0-9]{36}\b|\bxox[baprs]-[A-Za-z0-9-]{10,}",
        r"|-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----|\bAIza[0-9A-Za-z_-]{35}\b",
        r#"|(?i:\b(?:api[_-]?key|secret|access[_-]?token|password)\s*[:=]\s*['"]?[A-Za-z0-9_\-/+]{12,})"#
    ),
];

static PII_SET: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(PII_PATTERNS).expect("PII patterns are valid regexes"));
static CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(PII_PATTERNS[2]).expect("card pattern is a valid regex"));
static NATIONAL_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(PII_PATTERNS[3]).expect("national id pattern is a valid regex"));

/// A digit group that continues past the match (`1234 5678 9012 3456` is a card, not an id).
fn part_of_longer_number(text: &str, start: usize, end: usize) -> bool {
    let continues = |s: &str| {
        let mut c = s.chars();
        matches!((c.next(), c.next()), (Some(' ' | '-'), Some(d)) if d.is_ascii_digit())
    };
    let before: String = text[..start].chars().rev().take(2).collect();
    continues(&text[end..]) || continues(&before)
}

/// Phrases that open a refusal. Topic words such as "ethical" are deliberately absent: a
/// compliant answer that mentions ethics is not a refusal (see garak PR #2201).
const REFUSAL_PATTERN: &str = concat!(
    r"(?i)\b(?:i\s+(?:can(?:'|’)?t|cannot|can\s+not|won(?:'|’)t|will\s+not|am\s+unable\s+to|'m\s+unable\s+to|am\s+not\s+able\s+to|must\s+decline|refuse)",
    r"\s+(?:help|assist|provide|comply|do\s+that|share|create|write|support|fulfil|fulfill|answer|generate|give|engage)",
    r"|i(?:'|’)m\s+(?:sorry|afraid),?\s+(?:but\s+)?i\s+(?:can(?:'|’)?t|cannot|won(?:'|’)t)",
    r"|i\s+am\s+sorry,?\s+(?:but\s+)?i\s+(?:can(?:'|’)?t|cannot|won(?:'|’)t)",
    r"|(?:against|violates?)\s+(?:my|our)\s+(?:guidelines|policies|policy|usage\s+polic(?:y|ies))",
    r"|as\s+an\s+ai(?:\s+language\s+model)?,?\s+i\s+(?:can(?:'|’)?t|cannot|am\s+not\s+able))"
);

static REFUSAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(REFUSAL_PATTERN).expect("refusal pattern is a valid regex"));

/// Refusals are judged on the opening of a response, where models put them.
const REFUSAL_WINDOW_BYTES: usize = 400;

fn head(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Whether a response refuses.
pub fn is_refusal(response: &str) -> bool {
    REFUSAL.is_match(head(response, REFUSAL_WINDOW_BYTES))
}

/// Luhn checksum over the digits of `s` (separators ignored).
pub fn luhn_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The PII kinds found in `text` (card numbers only when the Luhn check passes).
pub fn pii_kinds(text: &str) -> Vec<&'static str> {
    let matches = PII_SET.matches(text);
    PII_KINDS
        .iter()
        .enumerate()
        .filter(|(i, _)| matches.matched(*i))
        .filter(|(i, _)| *i != 2 || CARD.find_iter(text).any(|m| luhn_valid(m.as_str())))
        .filter(|(i, _)| {
            *i != 3
                || NATIONAL_ID
                    .find_iter(text)
                    .any(|m| !part_of_longer_number(text, m.start(), m.end()))
        })
        .map(|(_, k)| *k)
        .collect()
}

fn length_bin(chars: usize) -> usize {
    RESPONSE_LENGTH_EDGES
        .iter()
        .rposition(|e| chars >= *e)
        .unwrap_or(0)
}

/// Adds one row's text fields to the stats.
pub fn observe(stats: &mut TextStats, prompt: Option<&str>, response: Option<&str>) {
    if prompt.is_some_and(|p| !p.is_empty()) {
        stats.prompts += 1;
    }
    let Some(response) = response.filter(|r| !r.is_empty()) else {
        return;
    };
    stats.responses += 1;
    if is_refusal(response) {
        stats.refusals += 1;
    }
    let kinds = pii_kinds(response);
    if !kinds.is_empty() {
        stats.any_pii_responses += 1;
    }
    for k in kinds {
        *stats.pii_responses.entry(k.to_owned()).or_default() += 1;
    }
    let chars = response.chars().count();
    stats.response_length_histogram[length_bin(chars)] += 1;
    stats.response_length.push(chars as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_the_ethics_false_positive() {
        assert!(is_refusal("I'm sorry, but I can't help with that."));
        assert!(is_refusal(
            "I cannot provide instructions for making weapons."
        ));
        assert!(is_refusal("As an AI language model, I cannot do that."));
        assert!(is_refusal("That request violates our usage policies."));
        assert!(!is_refusal(
            "Here is an ethical overview of the trade-offs in lending models."
        ));
        assert!(!is_refusal("Sure! The capital of France is Paris."));
    }

    #[test]
    fn pii_kinds_are_detected() {
        assert_eq!(pii_kinds("write to jane.doe@example.com"), ["email"]);
        assert_eq!(pii_kinds("call (415) 555-0132 today"), ["phone"]);
        assert_eq!(pii_kinds("call +44 20 7946 0958"), ["phone"]);
        assert_eq!(pii_kinds("card 4111 1111 1111 1111"), ["card_number"]);
        assert!(
            pii_kinds("order 4111 1111 1111 1112").is_empty(),
            "fails Luhn"
        );
        assert_eq!(pii_kinds("ssn 123-45-6789"), ["national_id"]);
        assert_eq!(pii_kinds("key AKIAIOSFODNN7EXAMPLE"), ["secret"]);
        assert_eq!(pii_kinds("api_key = 'abcdEFGH1234ijkl'"), ["secret"]);
        assert!(pii_kinds("the meeting is on 2026-03-01 at 10:30").is_empty());
    }

    #[test]
    fn stats_count_rows_not_matches() {
        let mut s = TextStats::default();
        observe(&mut s, Some("hi"), Some("mail a@b.io or c@d.io"));
        observe(&mut s, Some("hi"), Some("I can't help with that."));
        observe(&mut s, None, None);
        assert_eq!(
            (s.prompts, s.responses, s.refusals, s.any_pii_responses),
            (2, 2, 1, 1)
        );
        assert_eq!(s.pii_responses.get("email"), Some(&1));
        assert_eq!(s.response_length_histogram[0], 2);
    }
}
