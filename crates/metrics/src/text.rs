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
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use regex::RegexSet;

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
        // The fewest digits a phone match holds (MIN_DIGITS).
        assert_eq!(pii_kinds("call +1 2 34 56"), ["phone"]);
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

    #[test]
    fn pii_next_to_non_ascii_text_is_found() {
        let cases: [(&str, &[&str]); 16] = [
            ("请联系jane.doe@example.com谢谢", &["email"]),
            ("Écrivez à josé.garcía@example.com, merci 🙏", &["email"]),
            ("私の電話番号は(415) 555-0132です", &["phone"]),
            ("Tél : +44 20 7946 0958 — merci", &["phone"]),
            ("カード番号4111 1111 1111 1111で支払い", &["card_number"]),
            ("Karte: 4111-1111-1111-1111 ✓ danke schön", &["card_number"]),
            (
                "社会保障番号123-45-6789を確認してください",
                &["national_id"],
            ),
            ("N° AB 12 34 56 C, très bien", &["national_id"]),
            ("Aadhaar: 1234 5678 9012 ✅", &["national_id"]),
            ("鍵はAKIAIOSFODNN7EXAMPLEです", &["secret"]),
            ("🔑sk-abcdefghijklmnopqrstuvwx", &["secret"]),
            ("mot de passe — password: 'abcdEFGH1234ijkl' ✓", &["secret"]),
            ("注文番号は4111 1111 1111 1112です", &[]),
            ("Le rendez-vous est le 2026-03-01 à 10h30 😊", &[]),
            ("Спасибо! Ваш заказ №12345 отправлен.", &[]),
            ("カード 1234 5678 9012 3456 7890 は無効", &[]),
        ];
        for (text, kinds) in cases {
            assert_eq!(pii_kinds(text), kinds, "{text}");
        }
    }

    #[test]
    fn refusals_next_to_non_ascii_text() {
        assert!(is_refusal(
            "申し訳ありません。I'm sorry, but I can’t help with that."
        ));
        assert!(is_refusal("Désolé — I cannot\u{a0}provide that."));
        assert!(is_refusal("I\u{3000}can't help with that."));
        assert!(is_refusal("I can't\u{2009}help — désolé."));
        assert!(!is_refusal("Claro, aquí está: I can help with that. 😊"));
        // The curly apostrophe is one of the hints' literals.
        assert!(is_refusal("Lo siento. I can’t assist with that."));
        assert!(is_refusal("I won’t help with that, désolé."));
        assert!(is_refusal("申し訳ありません、I am unable to provide that."));
    }

    /// The patterns as they were before word boundaries and digits became ASCII: the
    /// reference the compiled patterns must agree with on ASCII text.
    fn unicode_pii_kinds(text: &str) -> Vec<&'static str> {
        static SET: LazyLock<RegexSet> = LazyLock::new(|| RegexSet::new(PII_PATTERNS).unwrap());
        static CARD: LazyLock<Regex> = LazyLock::new(|| Regex::new(PII_PATTERNS[2]).unwrap());
        static ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(PII_PATTERNS[3]).unwrap());
        let m = SET.matches(text);
        PII_KINDS
            .iter()
            .enumerate()
            .filter(|(i, _)| m.matched(*i))
            .filter(|(i, _)| *i != 2 || CARD.find_iter(text).any(|m| luhn_valid(m.as_str())))
            .filter(|(i, _)| {
                *i != 3
                    || ID
                        .find_iter(text)
                        .any(|m| !part_of_longer_number(text, m.start(), m.end()))
            })
            .map(|(_, k)| *k)
            .collect()
    }

    #[test]
    fn refusal_pattern_letters_are_lowercase() {
        // REFUSAL_LOWER runs the pattern case-sensitively on lowercased text: exact only
        // while the pattern holds no uppercase letter.
        assert!(!REFUSAL_PATTERN.bytes().any(|b| b.is_ascii_uppercase()));
    }

    #[test]
    fn gates_count_past_a_chunk() {
        let text = format!("{}@{}x=y", "7".repeat(600), "é".repeat(200));
        let g = gates(text.as_bytes());
        assert_eq!((g.digits, g.at, g.secret_punctuation), (600, true, true));
        assert_eq!(
            gates("no gates here, 12345 é".as_bytes()),
            Gates {
                digits: 5,
                ..Gates::default()
            }
        );
        for p in [":", "=", "-", "_"] {
            assert!(gates(p.as_bytes()).secret_punctuation, "{p}");
        }
        assert!(has_key_prefix(b"xAKIA") && has_key_prefix(b"An AIza"));
        assert!(!has_key_prefix(b"AKI A AIz") && !has_key_prefix(b"A"));
    }

    #[test]
    fn key_names_with_unicode_case_folds_are_secrets() {
        // The key names keep Unicode case folding, so the hints must not hide these.
        assert_eq!(pii_kinds("paſſword: abcdefghijkl12"), ["secret"]);
        assert_eq!(pii_kinds("my api_\u{212A}ey = abcdefghijkl12"), ["secret"]);
        assert_eq!(pii_kinds("xſecret: abcdefghijkl12"), ["secret"]);
    }

    #[test]
    fn non_ascii_spaces_are_found() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let s = format!("é{c}—");
            let expected = !c.is_ascii() && c.is_whitespace();
            assert_eq!(has_non_ascii_space(&s), expected, "U+{:04X}", c as u32);
        }
    }

    fn unicode_refusal(text: &str) -> bool {
        static RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(REFUSAL_PATTERN).unwrap());
        RE.is_match(head(text, REFUSAL_WINDOW_BYTES))
    }

    /// ASCII text made of pieces of PII and refusals, so that near misses are common.
    fn ascii_text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "4111",
            "1111",
            "1234",
            "5678",
            "0",
            "9",
            " ",
            "-",
            ".",
            "(415)",
            "555",
            "0132",
            "+44",
            "20",
            "7946",
            "0958",
            "123",
            "45",
            "6789",
            "AB",
            "12",
            "34",
            "56",
            "C",
            "x",
            "_",
            "jane.doe",
            "@",
            "example",
            ".com",
            "AKIA",
            "IOSFODNN7EXAMPLE",
            "sk-",
            "abcdefghijklmnopqrstuv",
            "ghp_",
            "xoxb-",
            "AIza",
            "api_key",
            "Password",
            "=",
            ": ",
            "'",
            "I",
            "i",
            "can't",
            "won't",
            "cannot",
            " help",
            " provide",
            "I'm sorry, ",
            "but ",
            "against our policies",
            "As an AI, ",
            // Each refusal alternative and the hints that gate it, with near misses.
            "can not",
            "can",
            "not",
            "will not",
            "will",
            " am unable to",
            "'m unable to",
            " am not able to",
            " must decline",
            " refuse",
            " sorry, ",
            " afraid ",
            " assist",
            " do that",
            "violates my guidelines",
            "our usage policy",
            "usage polic",
            "\x0b",
            "\x0c",
            "\r",
            "  ",
            // Secret prefixes and key names, in the cases the regex and the hints see.
            "secret",
            "SECRET",
            "PassWord",
            "access_token",
            "access-Token",
            "apikey",
            "API-KEY",
            "ghs_",
            "xoxp-",
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----begin ec private key-----",
            "AIzaSyA1234567890abcdefghijklmnopqrstu",
            "abcdefghijklmnopqrstuvwxyz0123456789",
            "\n",
            "\t",
        ]);
        let piece = prop_oneof![
            4 => pieces.prop_map(str::to_owned),
            1 => "[ -~]{1,4}",
        ];
        prop::collection::vec(piece, 0..32).prop_map(|v| v.concat())
    }

    /// Refusals and secrets as the patterns spell them, with near misses (too few whitespace
    /// or key characters, a verb the pattern lacks) and every whitespace byte `\s` allows:
    /// each alternative, and so each hint literal that gates it, is drawn often.
    fn phrase() -> impl Strategy<Value = String> {
        let refusal = concat!(
            r"(?i-u:(i|i'm sorry,? (but )?i|i’m afraid i|i am sorry,? i|as an ai( language model)?,? i|xi)",
            r"[ \t\n\r\x0b\x0c]{0,2}",
            r"(can'?t|can’t|cannot|can[ \t\x0b]{1,2}not|won'?t|won’t|will[ \n\x0c]{1,2}not|am unable to",
            r"|'m unable to|am not able to|am\rnot able|must decline|refuse|can|will|am able to)",
            r"[ \t\r]{0,2}(help|assist|provide|comply|do that|share|create|write|support|fulfill?",
            r"|answer|generate|give|engage|go)",
            r"|(against|violates?|violation)[ \n]{1,2}(my|our|your) (guidelines|policies|policy",
            r"|usage polic(y|ies)|rules))",
        );
        let secret = concat!(
            r"(?i-u:api[_-]?key|secret|access[_-]?token|password)[ \t]{0,2}[:=] {0,2}['\x22]?",
            r"[A-Za-z0-9_/+-]{10,14}|AKIA[0-9A-Z]{15,16}|sk-[A-Za-z0-9_-]{18,22}",
            r"|gh[pousr]_[A-Za-z0-9]{35,36}|xox[baprs]-[A-Za-z0-9-]{9,11}",
            r"|-----BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----|AIza[0-9A-Za-z_-]{34,35}",
        );
        prop_oneof![
            prop::string::string_regex(refusal).unwrap(),
            prop::string::string_regex(secret).unwrap(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        // Same detections as the Unicode patterns wherever the two can be compared.
        #[test]
        fn ascii_text_gets_the_unicode_patterns_detections(text in ascii_text()) {
            prop_assert_eq!(pii_kinds(&text), unicode_pii_kinds(&text));
            prop_assert_eq!(is_refusal(&text), unicode_refusal(&text));
        }

        // The hint literals never hide a match: phrases built to match, or nearly, in filler
        // that seldom holds a hint itself (one there would let the regex run anyway).
        #[test]
        fn hints_keep_every_detection(
            (before, phrase, after) in ("[A-Za-z0-9 .,]{0,12}", phrase(), "[A-Za-z0-9 .,]{0,12}")
        ) {
            let text = format!("{before}{phrase}{after}");
            prop_assert_eq!(pii_kinds(&text), unicode_pii_kinds(&text));
            prop_assert_eq!(is_refusal(&text), unicode_refusal(&text));
        }
    }

    #[test]
    fn prompts_and_responses_are_counted_apart() {
        let mut s = TextStats::default();
        observe(
            &mut s,
            Some("my card is 4111 1111 1111 1111, mail me at a@b.io"),
            Some("Thanks, noted."),
        );
        observe(&mut s, Some("hi"), Some("Sure: jane@example.com"));
        observe(&mut s, Some("hi"), None);
        assert_eq!((s.prompts, s.prompts_scanned, s.any_pii_prompts), (3, 3, 1));
        assert_eq!(s.pii_prompts.get("card_number"), Some(&1));
        assert_eq!(s.pii_prompts.get("email"), Some(&1));
        assert_eq!((s.responses, s.any_pii_responses), (2, 1));
        assert_eq!(
            s.pii_responses.get("card_number"),
            None,
            "the user's card is no leak"
        );
        assert_eq!(s.pii_responses.get("email"), Some(&1));
        assert_eq!(s.pii_leak_rate().get("email"), Some(&0.5));
        assert_eq!(s.prompt_pii_rate().get("card_number"), Some(&(1.0 / 3.0)));
    }
}
