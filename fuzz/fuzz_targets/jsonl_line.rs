//! Arbitrary bytes as one JSON Lines line, through `audit_evidence::parse_jsonl_line` with the
//! conventional mapping (unbounded and bounded time window) and a text (LLM) mapping.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    audit_fuzz::check_jsonl_line(data);
});
