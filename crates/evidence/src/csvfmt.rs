//! CSV / TSV with a header row. Cells are strings; empty cells are missing values.

use crate::convert::{Plan, Role, Scalar, Slots, emit, recycle};
use audit_domain::{InvalidReason, Record, RecordSink};
use std::borrow::Cow;

/// Column positions of the mapped fields, from the header.
#[derive(Debug, Clone)]
pub(crate) struct CsvLayout {
    pub(crate) delimiter: u8,
    pub(crate) width: usize,
    columns: Vec<(usize, Role)>,
}

impl CsvLayout {
    /// Reads the header line; every mapped column must be present.
    pub(crate) fn from_header(
        header: &[u8],
        delimiter: u8,
        plan: &Plan,
    ) -> Result<CsvLayout, String> {
        let header = header.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(header);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .from_reader(header);
        let mut rec = csv::StringRecord::new();
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => return Err("the file is empty (no header row)".into()),
            Err(e) => return Err(format!("the header row is not valid CSV: {e}")),
        }
        let names: Vec<&str> = rec.iter().map(str::trim).collect();
        let mut columns = Vec::new();
        let mut missing = Vec::new();
        for (name, role) in plan.columns() {
            match names.iter().position(|n| n == name) {
                Some(i) => columns.push((i, *role)),
                None => missing.push(name.as_str()),
            }
        }
        if !missing.is_empty() {
            let mut shown: Vec<&str> = names.iter().take(20).copied().collect();
            if names.len() > 20 {
                shown.push("…");
            }
            return Err(format!(
                "mapped column(s) {} not in the header (columns: {})",
                missing
                    .iter()
                    .map(|m| format!("'{m}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                shown.join(", ")
            ));
        }
        Ok(CsvLayout {
            delimiter,
            width: names.len(),
            columns,
        })
    }
}

/// Parses a chunk of whole records (no header).
pub(crate) fn process_chunk(
    chunk: &[u8],
    layout: &CsvLayout,
    max_line_bytes: usize,
    plan: &Plan,
    sink: &mut dyn RecordSink,
) -> u64 {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(layout.delimiter)
        .from_reader(chunk);
    let mut rec = csv::ByteRecord::new();
    // Per-row slots borrow the record buffer, so their allocations are recycled between rows.
    let mut slot_store: Vec<Option<Scalar<'static>>> = Vec::new();
    let mut group_store: Vec<Cow<'static, str>> = Vec::new();
    let mut numeric_store: Vec<audit_domain::FeatureValue> = Vec::new();
    let mut category_store: Vec<Cow<'static, str>> = Vec::new();
    let mut rows = 0;
    loop {
        let start = rdr.position().byte();
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                rows += 1;
                sink.invalid(InvalidReason::ParseError);
                continue;
            }
        }
        // A blank line reads as one empty field.
        if rec.len() == 1
            && rec
                .get(0)
                .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            continue;
        }
        rows += 1;
        let len = rdr.position().byte().saturating_sub(start) as usize;
        if len > max_line_bytes {
            sink.invalid(InvalidReason::LineTooLong);
            continue;
        }
        if rec.len() != layout.width {
            sink.invalid(InvalidReason::ParseError);
            continue;
        }
        let mut slots = Slots::with_storage(plan, recycle(std::mem::take(&mut slot_store)));
        let mut record = Record {
            groups: recycle(std::mem::take(&mut group_store)),
            numeric: std::mem::take(&mut numeric_store),
            categorical: recycle(std::mem::take(&mut category_store)),
            ..Record::default()
        };
        for (i, role) in &layout.columns {
            let cell = rec.get(*i).unwrap_or_default();
            let value = match std::str::from_utf8(cell) {
                Ok("") => Scalar::Null,
                Ok(s) => Scalar::Str(Cow::Borrowed(s)),
                Err(_) => Scalar::BadText,
            };
            slots.set(*role, value);
        }
        emit(plan, &mut slots, &mut record, sink);
        slot_store = recycle(slots.into_storage());
        group_store = recycle(record.groups);
        numeric_store = record.numeric;
        category_store = recycle(record.categorical);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::TimeWindow;
    use audit_domain::FieldMapping;

    #[derive(Default)]
    struct Count {
        ok: Vec<(String, Option<f64>, Vec<String>)>,
        bad: Vec<InvalidReason>,
    }
    impl RecordSink for Count {
        fn observe(&mut self, r: &Record<'_>) {
            self.ok.push((
                r.prediction.to_string(),
                r.confidence,
                r.groups.iter().map(|g| g.to_string()).collect(),
            ));
        }
        fn invalid(&mut self, reason: InvalidReason) {
            self.bad.push(reason);
        }
        fn out_of_window(&mut self) {}
    }

    #[test]
    fn header_must_hold_every_mapped_column() {
        let plan = Plan::new(FieldMapping::conventional(), TimeWindow::default());
        let err = CsvLayout::from_header(b"prediction,confidence,outcome\n", b',', &plan)
            .expect_err("missing");
        assert!(
            err.contains("'actual'") && err.contains("'gender'"),
            "{err}"
        );
    }

    #[test]
    fn rows_quotes_and_bad_cells() {
        let mut m = FieldMapping::new("label");
        m.confidence = Some("conf".into());
        m.protected = vec!["g".into()];
        let plan = Plan::new(m, TimeWindow::default());
        let layout =
            CsvLayout::from_header(b"\xEF\xBB\xBFid,label,conf,g\n", b',', &plan).expect("layout");
        let body = b"1,\"a,b\",0.5,x\n2,c,,y\n3,d,0.2\n\n4,e,0.3,\"multi\nline\"\n5,\xff,0.1,z\n";
        let mut c = Count::default();
        let rows = process_chunk(body, &layout, 1 << 20, &plan, &mut c);
        assert_eq!(rows, 5);
        assert_eq!(
            c.ok,
            vec![
                ("a,b".into(), Some(0.5), vec!["x".into()]),
                ("e".into(), Some(0.3), vec!["multi\nline".into()])
            ]
        );
        assert_eq!(
            c.bad,
            vec![
                InvalidReason::MissingField,
                InvalidReason::ParseError,
                InvalidReason::BadEncoding
            ]
        );
    }
}
