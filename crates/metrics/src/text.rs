//! In-memory analysis of LLM text fields: refusals, PII kinds (in prompts and in responses),
//! response length. Only counts leave this module; the text is borrowed for the call and never
//! kept.

use audit_domain::{RESPONSE_LENGTH_EDGES, TextStats};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// PII kinds, in the order of [`PII_PATTERNS`].
pub const PII_KINDS: [&str; 5] = ["email", "phone", "card_number", "national_id", "secret"];
const EMAIL: usize = 0;
const CARD: usize = 2;
const NATIONAL_ID: usize = 3;
const SECRET: usize = 4;

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

/// The patterns as compiled. Word boundaries are ASCII (`(?-u:\b)`) and digits ASCII
/// (`(?-u:\d)`), for two reasons:
/// - Speed: a Unicode `\b` stops the regex crate's lazy DFA at the first non-ASCII byte and
///   falls back to the PikeVM, about 100× slower on text such as "… 谢谢！🙏" (docs/benchmarks.md).
/// - Detection: the boundary is there to keep a match from being part of a longer ASCII token
///   (`x4111…`, `askAKIA…`). With Unicode boundaries a number glued to CJK or accented text
///   ("番号は(415) 555-0199です") was missed, because `で` counts as a word character. The PII
///   formats themselves are ASCII (Luhn reads ASCII digits), so a non-ASCII letter next to
///   one is a separator, as a space is.
///
/// On ASCII text both forms match the same strings (a test checks this against the originals).
fn ascii_pattern(p: &str) -> String {
    p.replace(r"\b", r"(?-u:\b)").replace(r"\d", r"(?-u:\d)")
}

/// One regex per kind rather than a `RegexSet`: each can stop at its first match, use its own
/// literal prefilter (`@` for email, key prefixes for secrets), and be skipped outright by
/// [`MIN_DIGITS`].
static PII: LazyLock<[Regex; 5]> = LazyLock::new(|| {
    PII_PATTERNS.map(|p| Regex::new(&ascii_pattern(p)).expect("PII patterns are valid regexes"))
});

/// Fewest ASCII digits any match of each kind holds (phone: `+1 2 34 56`; card: 13; national
/// id: a UK NINO's 6). Counting digits is one cheap pass; most text has too few, and then the
/// three digit-shaped regexes need not run at all.
const MIN_DIGITS: [u32; 5] = [0, 6, 13, 6, 0];

/// The PII kinds found in one text: bit `i` is [`PII_KINDS`]`[i]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PiiMask(u8);

impl PiiMask {
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, kind: usize) -> bool {
        self.0 & (1 << kind) != 0
    }

    /// The kinds found, in the order of [`PII_KINDS`].
    pub fn kinds(self) -> impl Iterator<Item = &'static str> {
        PII_KINDS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.contains(*i))
            .map(|(_, k)| *k)
    }
}

/// A digit group that continues past the match (`1234 5678 9012 3456` is a card, not an id).
fn part_of_longer_number(text: &str, start: usize, end: usize) -> bool {
    let continues = |s: &str| {
        let mut c = s.chars();
        matches!((c.next(), c.next()), (Some(' ' | '-'), Some(d)) if d.is_ascii_digit())
    };
    let mut before = text[..start].chars().rev();
    let separator_then_digit = matches!(
        (before.next(), before.next()),
        (Some(' ' | '-'), Some(d)) if d.is_ascii_digit()
    );
    continues(&text[end..]) || separator_then_digit
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

/// The refusal pattern as compiled for the common case: ASCII word boundaries and whitespace
/// (`-u`), and no case-insensitivity at all, because it runs on the response's opening
/// lowercased ([`lowercase_head`]). The pattern's letters are all lowercase (tested), so this
/// matches exactly what the pattern matches with ASCII case-insensitivity (`(?i-u)`), and
/// Unicode `(?i)` adds only `ſ` and the Kelvin sign to these English phrases.
///
/// Why: a Unicode `\b` stops the regex crate's lazy DFA on non-ASCII text, and Unicode `(?i)`
/// or `\s` cost the pattern its literal prefilter. Even ASCII `(?i)` doubles every letter of
/// the literals, so the prefilter can keep only two-byte prefixes (`i `, `as`, `ag`) that
/// ordinary sentences are full of; on lowercased text it keeps whole phrases (`i can`,
/// `as an `, `against `) and seldom stops (176 → 74 ns a response, docs/benchmarks.md).
static REFUSAL_LOWER: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(&REFUSAL_PATTERN.replacen("(?i)", "(?-u)", 1))
        .expect("refusal pattern is a valid regex")
});

/// The opening of a response, lowercased into `buf` (ASCII letters only: every other byte,
/// and so every UTF-8 sequence, is left as it is, at the same offset).
fn lowercase_head<'b>(head: &str, buf: &'b mut [u8; REFUSAL_WINDOW_BYTES]) -> &'b [u8] {
    let lower = &mut buf[..head.len()];
    for (l, b) in lower.iter_mut().zip(head.as_bytes()) {
        *l = b.to_ascii_lowercase();
    }
    lower
}

/// The same with Unicode whitespace, for the rare response whose opening holds a non-ASCII
/// space (a no-break space between "I can't" and "help" is still a refusal).
static REFUSAL_UNICODE_SPACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        &REFUSAL_PATTERN
            .replacen("(?i)", "(?i-u)", 1)
            .replace(r"\s", r"(?u:\s)"),
    )
    .expect("refusal pattern is a valid regex")
});

/// Whether `s` holds a non-ASCII White_Space character (what Unicode `\s` adds to ASCII's):
/// U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
fn has_non_ascii_space(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_ascii() {
        return false;
    }
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let space_at = |i: usize| {
        matches!(
            (at(i), at(i + 1), at(i + 2)),
            (0xC2, 0x85 | 0xA0, _)
                | (0xE1, 0x9A, 0x80)
                | (0xE2, 0x80, 0x80..=0x8A | 0xA8 | 0xA9 | 0xAF)
                | (0xE2, 0x81, 0x9F)
                | (0xE3, 0x80, 0x80)
        )
    };
    memchr::memchr3_iter(0xC2, 0xE2, 0xE3, b).any(space_at)
        || memchr::memchr_iter(0xE1, b).any(space_at)
}

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
    let head = head(response, REFUSAL_WINDOW_BYTES);
    let mut buf = [0u8; REFUSAL_WINDOW_BYTES];
    REFUSAL_LOWER.is_match(lowercase_head(head, &mut buf))
        || (has_non_ascii_space(head) && REFUSAL_UNICODE_SPACE.is_match(head))
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

/// What one pass over a text's bytes tells the PII scan: which kinds could match at all.
#[derive(Debug, Default, PartialEq, Eq)]
struct Gates {
    /// ASCII digits, against [`MIN_DIGITS`].
    digits: u32,
    /// An `@`: every email holds one.
    at: bool,
    /// A `:` or `=`, which a `key: value` secret holds, or a `-` or `_`, which the prefixed
    /// tokens other than `AKIA…` and `AIza…` hold (`sk-`, `gh?_`, `xox?-`, `-----BEGIN`).
    secret_punctuation: bool,
}

/// One pass, in 255-byte chunks so that the digit count fits a byte: written as sums and
/// ORs of 0/1 so that it compiles to vector code (`filter().count()` and `any()` do not), a
/// third of the time of a `u32` sum alone.
fn gates(text: &[u8]) -> Gates {
    let (mut digits, mut at, mut punctuation) = (0u32, 0u8, 0u8);
    for chunk in text.chunks(255) {
        let mut d = 0u8;
        for &b in chunk {
            d += u8::from(b.wrapping_sub(b'0') < 10);
            at |= u8::from(b == b'@');
            punctuation |= u8::from(b == b':')
                | u8::from(b == b'=')
                | u8::from(b == b'-')
                | u8::from(b == b'_');
        }
        digits += u32::from(d);
    }
    Gates {
        digits,
        at: at != 0,
        secret_punctuation: punctuation != 0,
    }
}

/// Whether `text` holds `AKIA` or `AIza`, the prefixes of the two secret tokens without
/// punctuation: one `memchr` for the rare `A`, then the next three bytes (a fifth of the time
/// of two substring searches).
fn has_key_prefix(text: &[u8]) -> bool {
    memchr::memchr_iter(b'A', text).any(|i| matches!(text.get(i + 1..i + 4), Some(b"KIA" | b"Iza")))
}

/// Whether kind `i` can match a text with these gates, before any regex runs. The secret
/// regex's own prefilter has to fall back to two-byte case variants (`pa`, `Se`, …) of its
/// case-insensitive key names and so stops on ordinary words; most texts have none of the
/// punctuation and neither prefix, and skip it.
fn may_match(i: usize, g: &Gates, text: &[u8]) -> bool {
    match i {
        EMAIL => g.at,
        SECRET => g.secret_punctuation || has_key_prefix(text),
        _ => g.digits >= MIN_DIGITS[i],
    }
}

/// The PII kinds found in `text` (card numbers only when the Luhn check passes).
pub fn pii_mask(text: &str) -> PiiMask {
    let g = gates(text.as_bytes());
    let mut mask = 0u8;
    for (i, re) in PII.iter().enumerate() {
        if !may_match(i, &g, text.as_bytes()) {
            continue;
        }
        let found = match i {
            CARD => re.find_iter(text).any(|m| luhn_valid(m.as_str())),
            NATIONAL_ID => re
                .find_iter(text)
                .any(|m| !part_of_longer_number(text, m.start(), m.end())),
            _ => re.is_match(text),
        };
        if found {
            mask |= 1 << i;
        }
    }
    PiiMask(mask)
}

/// The names of the PII kinds found in `text`, in the order of [`PII_KINDS`].
pub fn pii_kinds(text: &str) -> Vec<&'static str> {
    pii_mask(text).kinds().collect()
}

/// Adds one text's kinds to per-kind counts and the any-kind count.
fn count_pii(per_kind: &mut BTreeMap<String, u64>, any: &mut u64, mask: PiiMask) {
    if mask.is_empty() {
        return;
    }
    *any += 1;
    for k in mask.kinds() {
        // get_mut first: the key is allocated once per profile, not once per row.
        match per_kind.get_mut(k) {
            Some(n) => *n += 1,
            None => {
                per_kind.insert(k.to_owned(), 1);
            }
        }
    }
}

fn length_bin(chars: usize) -> usize {
    RESPONSE_LENGTH_EDGES
        .iter()
        .rposition(|e| chars >= *e)
        .unwrap_or(0)
}

/// Adds one row's text fields to the stats. PII is counted for prompts and responses apart:
/// a user pasting a card number is not the model leaking one.
pub fn observe(stats: &mut TextStats, prompt: Option<&str>, response: Option<&str>) {
    if let Some(prompt) = prompt.filter(|p| !p.is_empty()) {
        stats.prompts += 1;
        stats.prompts_scanned += 1;
        count_pii(
            &mut stats.pii_prompts,
            &mut stats.any_pii_prompts,
            pii_mask(prompt),
        );
    }
    let Some(response) = response.filter(|r| !r.is_empty()) else {
        return;
    };
    stats.responses += 1;
    if is_refusal(response) {
        stats.refusals += 1;
    }
    count_pii(
        &mut stats.pii_responses,
        &mut stats.any_pii_responses,
        pii_mask(response),
    );
    let chars = response.chars().count();
    stats.response_length_histogram[length_bin(chars)] += 1;
    stats.response_length.push(chars as f64);
}

#[cfg(test)]
mod tests;
