//! Arbitrary bytes as an in-memory evidence file, through `audit_evidence::read_bytes` as
//! JSON Lines, CSV and TSV (and, when the bytes start with the gzip magic, decompressed first).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    audit_fuzz::check_evidence_bytes(data);
});
