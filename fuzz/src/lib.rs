//! Checks shared by the fuzz targets in `fuzz_targets/`.
//!
//! Each check feeds arbitrary bytes to a public entry point of `audit-evidence` and asserts
//! (by panicking, which libFuzzer reports as a crash) that:
//! - nothing panics;
//! - every row handed to the sink obeys the mapping's type rules;
//! - the row counts the API reports agree with what reached the sink;
//! - cutting JSON Lines into blocks of a different size changes nothing.
//!
//! `cargo test` (stable is enough) replays the seed corpus through the same checks.

use audit_domain::{FieldMapping, InvalidReason, Record, RecordSink};
use audit_evidence::{Format, ReadOptions, TimeWindow, parse_timestamp, read_bytes};
use std::io::Read;
use std::sync::LazyLock;

/// A mapping and time window to parse with.
pub struct Case {
    pub name: &'static str,
    pub mapping: FieldMapping,
    pub window: TimeWindow,
}

/// The conventional mapping (unbounded and bounded window) and a text (LLM) mapping.
pub static CASES: LazyLock<Vec<Case>> = LazyLock::new(|| {
    let bounded = TimeWindow {
        from: parse_timestamp("2026-01-01T00:00:00Z"),
        to: parse_timestamp("2026-07-01T00:00:00Z"),
    };
    let mut text = FieldMapping::new("label");
    text.text.prompt = Some("prompt".into());
    text.text.response = Some("response".into());
    text.positive_labels = vec!["approve".into()];
    text.protected = vec!["region".into()];
    text.timestamp = Some("ts".into());
    let cases = vec![
        Case {
            name: "conventional",
            mapping: FieldMapping::conventional(),
            window: TimeWindow::default(),
        },
        Case {
            name: "conventional+window",
            mapping: FieldMapping::conventional(),
            window: bounded,
        },
        Case {
            name: "text",
            mapping: text,
            window: TimeWindow::default(),
        },
    ];
    for c in &cases {
        assert!(c.mapping.validate().is_ok(), "{}: invalid mapping", c.name);
    }
    cases
});

/// What reached a sink: counts by kind and a hash of the event sequence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub valid: u64,
    pub invalid: [u64; InvalidReason::ALL.len()],
    pub out_of_window: u64,
    pub hash: u64,
}

impl Tally {
    pub fn invalid_total(&self) -> u64 {
        self.invalid.iter().sum()
    }

    /// Every row the sink heard about.
    pub fn total(&self) -> u64 {
        self.valid + self.invalid_total() + self.out_of_window
    }

    fn mix(&mut self, bytes: &[u8]) {
        // FNV-1a: order-sensitive and cheap.
        for b in bytes {
            self.hash ^= u64::from(*b);
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.hash ^= 0xff;
        self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
    }
}

/// A sink that checks every valid row against the mapping's rules and tallies the rest.
pub struct CheckingSink<'c> {
    case: &'c Case,
    pub tally: Tally,
}

impl<'c> CheckingSink<'c> {
    pub fn new(case: &'c Case) -> Self {
        CheckingSink {
            case,
            tally: Tally {
                hash: 0xcbf2_9ce4_8422_2325,
                ..Tally::default()
            },
        }
    }
}

impl RecordSink for CheckingSink<'_> {
    fn observe(&mut self, r: &Record<'_>) {
        let m = &self.case.mapping;
        let name = self.case.name;
        assert!(!r.prediction.is_empty(), "{name}: empty prediction: {r:?}");
        match (&m.confidence, r.confidence) {
            (Some(_), Some(c)) => {
                assert!(
                    c.is_finite() && (0.0..=1.0).contains(&c),
                    "{name}: confidence {c}"
                );
            }
            (None, None) => {}
            (col, got) => panic!("{name}: confidence column {col:?} but value {got:?}"),
        }
        assert_eq!(
            r.outcome.is_some(),
            m.has_outcome(),
            "{name}: outcome presence: {r:?}"
        );
        if m.ground_truth.is_none() {
            assert_eq!(r.ground_truth, None, "{name}: unmapped ground truth");
        }
        assert_eq!(r.groups.len(), m.protected.len(), "{name}: groups: {r:?}");
        assert!(
            r.groups.iter().all(|g| !g.is_empty()),
            "{name}: empty group key: {r:?}"
        );
        if let Some(t) = r.timestamp {
            assert!(self.case.window.contains(t), "{name}: {t} outside window");
        } else {
            assert!(
                m.timestamp.is_none() || self.case.window.is_unbounded(),
                "{name}: no timestamp in a bounded window: {r:?}"
            );
        }
        for (col, text) in [(&m.text.prompt, &r.prompt), (&m.text.response, &r.response)] {
            if col.is_none() {
                assert!(text.is_none(), "{name}: unmapped text field: {r:?}");
            }
            if let Some(t) = text {
                assert!(!t.is_empty(), "{name}: empty text field: {r:?}");
            }
        }
        self.tally.valid += 1;
        self.tally.mix(b"V");
        self.tally.mix(r.prediction.as_bytes());
        self.tally
            .mix(&r.confidence.map_or(u64::MAX, f64::to_bits).to_le_bytes());
        self.tally.mix(&[
            u8::from(r.outcome == Some(true)),
            u8::from(r.outcome.is_some()),
        ]);
        for g in &r.groups {
            self.tally.mix(g.as_bytes());
        }
        if let Some(t) = r.timestamp {
            self.tally.mix(&t.timestamp_millis().to_le_bytes());
        }
    }

    fn invalid(&mut self, reason: InvalidReason) {
        let i = InvalidReason::ALL
            .iter()
            .position(|r| *r == reason)
            .expect("a known reason");
        self.tally.invalid[i] += 1;
        self.tally.mix(&[b'I', i as u8]);
    }

    fn out_of_window(&mut self) {
        self.tally.out_of_window += 1;
        self.tally.mix(b"O");
    }
}

/// `parse_jsonl_line`: one line gives exactly one sink event, a blank line none.
pub fn check_jsonl_line(line: &[u8]) {
    let blank = line.iter().all(u8::is_ascii_whitespace);
    for case in CASES.iter() {
        let mut sink = CheckingSink::new(case);
        audit_evidence::parse_jsonl_line(line, &case.mapping, &case.window, &mut sink);
        let expected = u64::from(!blank);
        assert_eq!(
            sink.tally.total(),
            expected,
            "{}: one line must give {expected} event(s): {:?}",
            case.name,
            sink.tally
        );
    }
}

/// Reads `data` in memory and checks the report against what reached the sink.
pub fn read_checked(data: &[u8], format: Format, case: &Case, opts: &ReadOptions) -> Tally {
    let mut sink = CheckingSink::new(case);
    let report = read_bytes(data, format, &case.mapping, opts, &mut sink)
        .unwrap_or_else(|e| panic!("{}: valid mapping refused: {e}", case.name));
    let t = sink.tally;
    let label = format!("{} {} {opts:?}", case.name, format.name());
    assert_eq!(report.bytes, data.len() as u64, "{label}: bytes");
    assert_eq!(
        report.rows,
        t.total(),
        "{label}: reported rows != valid + invalid + out of window ({t:?})"
    );
    if report.error.is_some() {
        assert_eq!(t.total(), 0, "{label}: rows despite a file error");
    }
    t
}

/// Largest decompressed size the gzip path feeds on.
const MAX_INFLATED: u64 = 1 << 20;

/// `read_bytes` for JSON Lines, CSV and TSV (and gzip-compressed input, decompressed here the
/// way `read_files` does for `.gz` files, since `read_bytes` takes plain bytes).
pub fn check_evidence_bytes(data: &[u8]) {
    check_plain(data);
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut inflated = Vec::new();
        let decoder = flate2::read::MultiGzDecoder::new(data);
        // A corrupt stream is a file error for read_files; feed whatever came out before it.
        let _ = decoder.take(MAX_INFLATED).read_to_end(&mut inflated);
        check_plain(&inflated);
    }
}

fn check_plain(data: &[u8]) {
    let defaults = ReadOptions {
        threads: 1,
        ..ReadOptions::default()
    };
    // Small blocks, so that lines cross block boundaries. About 16 blocks per input rather
    // than a fixed tiny size: each block refill costs the same whatever its size.
    let small = (data.len() / 16).clamp(7, 4096);
    let tiny_blocks = ReadOptions {
        chunk_bytes: small,
        ..defaults.clone()
    };
    // Lines over 40 bytes are refused, by the block cutter or by the line parser.
    let short_lines = ReadOptions {
        chunk_bytes: small.min(64),
        max_line_bytes: 40,
        ..defaults.clone()
    };
    for case in CASES.iter() {
        let opts = |o: &ReadOptions| ReadOptions {
            window: case.window,
            ..o.clone()
        };
        let whole = read_checked(data, Format::Jsonl, case, &opts(&defaults));
        let cut = read_checked(data, Format::Jsonl, case, &opts(&tiny_blocks));
        assert_eq!(
            whole, cut,
            "{}: jsonl result depends on block size",
            case.name
        );
        read_checked(data, Format::Jsonl, case, &opts(&short_lines));
        for delimiter in [b',', b'\t'] {
            let format = Format::Csv { delimiter };
            read_checked(data, format, case, &opts(&defaults));
            read_checked(data, format, case, &opts(&short_lines));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn replay(dir: &str, check: fn(&[u8])) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("corpus dir") {
            let path = entry.expect("entry").path();
            let data = std::fs::read(&path).expect("read seed");
            check(&data);
            n += 1;
        }
        assert!(n > 0, "no seed in {}", dir.display());
    }

    #[test]
    fn jsonl_line_seeds_pass() {
        replay("seeds/jsonl_line", check_jsonl_line);
    }

    #[test]
    fn evidence_bytes_seeds_pass() {
        replay("seeds/evidence_bytes", check_evidence_bytes);
    }

    #[test]
    fn seeds_reach_the_sink_as_valid_rows() {
        let data = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/evidence_bytes/conventional.csv"),
        )
        .expect("seed");
        let t = read_checked(
            &data,
            Format::Csv { delimiter: b',' },
            &CASES[0],
            &ReadOptions::default(),
        );
        assert!(t.valid > 0, "{t:?}");
    }
}
