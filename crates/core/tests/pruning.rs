//! Reading only what the window needs changes nothing but the cost: the profile of a window
//! read with files and Parquet row groups skipped equals the profile of the same rows read
//! from a file that holds only them.

#![allow(clippy::unwrap_used)]

use audit_core::{EvidenceReadOptions, Pruning, TimeWindow, collect};
use audit_domain::FieldMapping;
use chrono::{DateTime, Duration, Utc};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

const ROWS: i64 = 500;

fn day0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Row `i` of day `d`: a time inside the day, a label, a confidence.
fn row(d: i64, i: i64) -> (DateTime<Utc>, &'static str, f64) {
    let t = day0() + Duration::days(d) + Duration::seconds(i * 86_400 / ROWS);
    let label = ["approve", "deny", "review"][((i * 7 + d) % 3) as usize];
    (t, label, ((i * 13 + d) % 100) as f64 / 100.0)
}

fn mapping() -> FieldMapping {
    FieldMapping {
        confidence: Some("confidence".into()),
        timestamp: Some("ts".into()),
        ..FieldMapping::new("prediction")
    }
}

/// Three days in one Parquet file, one row group per day, `ts` a typed timestamp.
fn write_parquet(path: &Path) {
    let schema = Arc::new(
        parse_message_type(
            "message e { REQUIRED INT64 ts (TIMESTAMP(MILLIS,true)); REQUIRED BYTE_ARRAY prediction (UTF8); REQUIRED DOUBLE confidence; }",
        )
        .unwrap(),
    );
    let props = Arc::new(WriterProperties::builder().build());
    let mut w =
        SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema, props).unwrap();
    for d in 0..3 {
        let rows: Vec<_> = (0..ROWS).map(|i| row(d, i)).collect();
        let mut rg = w.next_row_group().unwrap();
        let mut col = 0;
        while let Some(mut c) = rg.next_column().unwrap() {
            match col {
                0 => {
                    let v: Vec<i64> = rows.iter().map(|r| r.0.timestamp_millis()).collect();
                    c.typed::<Int64Type>().write_batch(&v, None, None).unwrap();
                }
                1 => {
                    let v: Vec<ByteArray> = rows.iter().map(|r| ByteArray::from(r.1)).collect();
                    c.typed::<ByteArrayType>()
                        .write_batch(&v, None, None)
                        .unwrap();
                }
                _ => {
                    let v: Vec<f64> = rows.iter().map(|r| r.2).collect();
                    c.typed::<DoubleType>().write_batch(&v, None, None).unwrap();
                }
            }
            c.close().unwrap();
            col += 1;
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
}

fn write_jsonl(path: &Path, days: std::ops::Range<i64>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::fs::File::create(path).unwrap();
    for d in days {
        for i in 0..ROWS {
            let (t, label, c) = row(d, i);
            writeln!(
                f,
                r#"{{"ts":"{}","prediction":"{label}","confidence":{c}}}"#,
                t.to_rfc3339()
            )
            .unwrap();
        }
    }
}

fn window_of(day: i64) -> TimeWindow {
    TimeWindow {
        from: Some(day0() + Duration::days(day)),
        to: Some(day0() + Duration::days(day + 1)),
    }
}

fn read(inputs: &[String], window: TimeWindow, pruning: Pruning) -> audit_core::Collected {
    let opts = EvidenceReadOptions {
        window,
        pruning,
        threads: 2,
        ..EvidenceReadOptions::default()
    };
    collect(inputs, &mapping(), &opts).unwrap()
}

fn profile_json(c: &audit_core::Collected) -> serde_json::Value {
    serde_json::to_value(&c.profile).unwrap()
}

#[test]
fn skipped_row_groups_and_files_change_nothing_but_the_cost() {
    let dir = tempfile::tempdir().unwrap();
    // The reference: day 1's rows alone, read without a window.
    let only = dir.path().join("only/day1.jsonl");
    write_jsonl(&only, 1..2);
    let want = read(
        &[only.display().to_string()],
        TimeWindow::default(),
        Pruning::default(),
    );
    assert_eq!(want.profile.n, ROWS as u64);

    // Parquet: two of three row groups skipped by their statistics.
    let pq = dir.path().join("three.parquet");
    write_parquet(&pq);
    let got = read(
        &[pq.display().to_string()],
        window_of(1),
        Pruning::default(),
    );
    assert_eq!(got.pruned.row_groups, 2, "{:?}", got.pruned);
    assert_eq!(got.pruned.by_reason["row_group_statistics"], 2);
    assert_eq!(got.profile.out_of_window, 0);
    assert_eq!(profile_json(&got), profile_json(&want));

    // Hive partitions: two of three files skipped unopened.
    for d in 0..3 {
        let day = (day0() + Duration::days(d)).format("%Y-%m-%d");
        write_jsonl(
            &dir.path().join(format!("hive/dt={day}/part.jsonl")),
            d..d + 1,
        );
    }
    let hive = dir.path().join("hive").display().to_string();
    let got = read(
        std::slice::from_ref(&hive),
        window_of(1),
        Pruning::default(),
    );
    assert_eq!(
        (got.pruned.files, got.files.len()),
        (2, 1),
        "{:?}",
        got.pruned
    );
    assert_eq!(profile_json(&got), profile_json(&want));

    // Without pruning the same rows are profiled; the others are read and counted outside.
    let off = Pruning {
        by_partition: false,
        by_mtime: false,
        file_date_pattern: None,
    };
    let all = read(std::slice::from_ref(&hive), window_of(1), off);
    assert_eq!(all.pruned.files, 0);
    assert_eq!(all.profile.out_of_window, 2 * ROWS as u64);
    assert_eq!(all.profile.n, want.profile.n);
    assert_eq!(
        serde_json::to_value(&all.profile.labels).unwrap(),
        serde_json::to_value(&want.profile.labels).unwrap()
    );

    // Dated file names, with the source's pattern.
    for d in 0..3 {
        let day = (day0() + Duration::days(d)).format("%Y%m%d");
        write_jsonl(
            &dir.path().join(format!("named/preds-{day}.jsonl")),
            d..d + 1,
        );
    }
    let named = format!("{}/named/*.jsonl", dir.path().display());
    let dated = Pruning {
        file_date_pattern: Some("preds-%Y%m%d".into()),
        ..Pruning::default()
    };
    let got = read(std::slice::from_ref(&named), window_of(1), dated);
    assert_eq!(got.pruned.by_reason["file_date"], 2, "{:?}", got.pruned);
    assert_eq!(profile_json(&got), profile_json(&want));
}
