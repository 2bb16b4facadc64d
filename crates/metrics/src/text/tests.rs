//! Tests of the text analysis: detections, the gates and the lowercased refusal pattern
//! against the Unicode patterns, counts.

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
    // The curly apostrophe is a literal of the pattern, left as it is by lowercasing.
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
    // The key names keep Unicode case folding; the gates must not hide these.
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
        // Each refusal alternative, with near misses.
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
        // Secret prefixes and key names, in several cases.
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
/// each alternative, and so each gate that lets it through, is drawn often.
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

    // The gates never hide a match: phrases built to match, or nearly, in filler that
    // seldom opens a gate itself (one there would let the regex run anyway).
    #[test]
    fn gates_keep_every_detection(
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
