//! Micro timing of the LLM text analysis, per call, on ASCII and non-ASCII support-chat text
//! like `auditor gen-evidence --style llm [--non-ascii]` writes. Not a test: speed is
//! measured, not asserted. Run with
//! `cargo run --release -p audit-metrics --example text_speed [ITERATIONS]`, or under
//! `valgrind --tool=callgrind` for instruction counts that do not depend on the machine:
//! `text_speed N CASE` runs one case (e.g. `pii_kinds-non-ascii`), and the difference of the
//! counts at two N, divided by the difference of the N, is the cost of one call.

#![allow(clippy::print_stdout)] // a bench prints its figures

use audit_domain::TextStats;
use audit_metrics::text::{is_refusal, observe, pii_kinds};
use std::hint::black_box;
use std::time::Instant;

const ASCII: [&str; 4] = [
    "Hi, I have a question about delivery status on my account.",
    "Thanks for reaching out! Your delivery status request is done; you will get a confirmation shortly.",
    "I have passed your refund question to a specialist who will reply within a day.",
    "I found the account: owner jane.doe42@example.com, phone (415) 555-0117. Your refund request is noted.",
];
const NON_ASCII: [&str; 4] = [
    "Hi, I have a question about billing on my account. 请尽快处理，我已经等了三天了。谢谢！🙏 Danke schön für Ihre Geduld, Grüße aus München.",
    "Thanks for reaching out! Your billing request is done; you will get a confirmation shortly. Désolé pour l'attente ; nous avons bien reçu votre demande. 👍",
    "I have passed your refund question to a specialist who will reply within a day. ご連絡ありがとうございます。担当者より折り返しご連絡いたします。🙇",
    "Hi, I have a question about refund on my account. Merci d'avance, c'est très urgent pour moi — je réessaierai demain matin à l'hôtel.",
];

fn time(name: &str, iterations: u32, texts: &[&str], f: impl Fn(&str) -> usize) {
    let only = std::env::args().nth(2);
    if only.is_some_and(|o| o != name.replace(' ', "-")) {
        return;
    }
    let start = Instant::now();
    let mut hits = 0;
    for i in 0..iterations {
        hits += f(black_box(texts[i as usize % texts.len()]));
    }
    let per_call = start.elapsed().as_secs_f64() / f64::from(iterations);
    println!("{name:<28} {:>9.0} ns/call  ({hits} hits)", per_call * 1e9);
}

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    for (label, texts) in [("ascii", &ASCII), ("non-ascii", &NON_ASCII)] {
        time(&format!("is_refusal {label}"), iterations, texts, |t| {
            usize::from(is_refusal(t))
        });
        time(&format!("pii_kinds {label}"), iterations, texts, |t| {
            pii_kinds(t).len()
        });
        time(&format!("observe {label}"), iterations, texts, |t| {
            let mut s = TextStats::default();
            observe(&mut s, Some(t), Some(t));
            s.refusals as usize
        });
    }
}
