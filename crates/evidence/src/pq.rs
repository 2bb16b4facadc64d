//! Parquet through the row API (no Arrow), one row group per job, mapped columns only.

use crate::convert::{Plan, Scalar, Slots, emit};
use crate::window::epoch_to_time;
use audit_domain::{Record, RecordSink};
use chrono::{DateTime, Utc};
use parquet::file::reader::{ChunkReader, FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type;
use std::borrow::Cow;
use std::sync::Arc;

/// The projection of the mapped columns; every mapped column must exist at the top level.
pub(crate) fn projection<R: ChunkReader + 'static>(
    reader: &SerializedFileReader<R>,
    plan: &Plan,
) -> Result<Type, String> {
    let schema = reader.metadata().file_metadata().schema();
    let fields = schema.get_fields();
    let mut selected = Vec::new();
    let mut missing = Vec::new();
    for (name, _) in plan.columns() {
        match fields.iter().find(|f| f.name() == name) {
            Some(f) => selected.push(Arc::clone(f)),
            None => missing.push(format!("'{name}'")),
        }
    }
    if !missing.is_empty() {
        let names: Vec<&str> = fields.iter().map(|f| f.name()).take(20).collect();
        return Err(format!(
            "mapped column(s) {} not in the Parquet schema (columns: {})",
            missing.join(", "),
            names.join(", ")
        ));
    }
    Type::group_type_builder(schema.name())
        .with_fields(selected)
        .build()
        .map_err(|e| format!("cannot project the Parquet schema: {e}"))
}

fn scalar(field: &Field) -> Scalar<'_> {
    match field {
        Field::Null => Scalar::Null,
        Field::Bool(b) => Scalar::Bool(*b),
        Field::Byte(x) => Scalar::Num(f64::from(*x)),
        Field::Short(x) => Scalar::Num(f64::from(*x)),
        Field::Int(x) => Scalar::Num(f64::from(*x)),
        Field::Long(x) => Scalar::Num(*x as f64),
        Field::UByte(x) => Scalar::Num(f64::from(*x)),
        Field::UShort(x) => Scalar::Num(f64::from(*x)),
        Field::UInt(x) => Scalar::Num(f64::from(*x)),
        Field::ULong(x) => Scalar::Num(*x as f64),
        Field::Float(x) => Scalar::Num(f64::from(*x)),
        Field::Double(x) => Scalar::Num(*x),
        Field::Str(s) => Scalar::Str(Cow::Borrowed(s.as_str())),
        Field::Bytes(b) => match std::str::from_utf8(b.data()) {
            Ok(s) => Scalar::Str(Cow::Borrowed(s)),
            Err(_) => Scalar::BadText,
        },
        Field::TimestampMillis(ms) => {
            DateTime::from_timestamp_millis(*ms).map_or(Scalar::Null, Scalar::Time)
        }
        Field::TimestampMicros(us) => {
            DateTime::from_timestamp_micros(*us).map_or(Scalar::Null, Scalar::Time)
        }
        Field::Date(days) => DateTime::from_timestamp(i64::from(*days) * 86_400, 0)
            .map_or(Scalar::Null, Scalar::Time),
        _ => Scalar::Nested,
    }
}

/// Reads one row group into the sink; returns the rows read.
pub(crate) fn process_row_group<R: ChunkReader + 'static>(
    reader: &SerializedFileReader<R>,
    row_group: usize,
    projection: &Type,
    plan: &Plan,
    sink: &mut dyn RecordSink,
) -> Result<u64, String> {
    let rg = reader
        .get_row_group(row_group)
        .map_err(|e| format!("row group {row_group}: {e}"))?;
    let rows = rg
        .get_row_iter(Some(projection.clone()))
        .map_err(|e| format!("row group {row_group}: {e}"))?;
    let mut n = 0;
    for row in rows {
        let row = row.map_err(|e| format!("row group {row_group}, row {n}: {e}"))?;
        n += 1;
        let mut slots = Slots::new(plan);
        let mut record = Record::default();
        for (name, field) in row.get_column_iter() {
            if let Some(role) = plan.role_of(name) {
                slots.set(role, scalar(field));
            }
        }
        emit(plan, &mut slots, &mut record, sink);
    }
    Ok(n)
}

pub(crate) fn row_groups<R: ChunkReader + 'static>(reader: &SerializedFileReader<R>) -> usize {
    reader.metadata().num_row_groups()
}

/// The times a row group's statistics bound for the timestamp `column`, when they bound all
/// of its rows: min and max present and no null (a row without a time is counted, not
/// skipped). Strings are never trusted: their order is not time order across formats.
pub(crate) fn row_group_span<R: ChunkReader + 'static>(
    reader: &SerializedFileReader<R>,
    row_group: usize,
    column: &str,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    use parquet::basic::{ConvertedType, LogicalType, TimeUnit};
    use parquet::file::statistics::Statistics;
    let md = reader.metadata().row_group(row_group);
    let col = md
        .columns()
        .iter()
        .find(|c| c.column_path().string() == column)?;
    let stats = col.statistics()?;
    if stats.null_count_opt() != Some(0) {
        return None;
    }
    let descr = col.column_descr();
    let unit = match descr.logical_type_ref() {
        Some(LogicalType::Timestamp(t)) => Some(t.unit),
        _ => None,
    };
    let both = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| a.zip(b);
    match stats {
        Statistics::Int64(s) => {
            let (a, b) = (*s.min_opt()?, *s.max_opt()?);
            match (descr.converted_type(), unit) {
                (ConvertedType::TIMESTAMP_MILLIS, _) | (_, Some(TimeUnit::MILLIS)) => both(
                    DateTime::from_timestamp_millis(a),
                    DateTime::from_timestamp_millis(b),
                ),
                (ConvertedType::TIMESTAMP_MICROS, _) | (_, Some(TimeUnit::MICROS)) => both(
                    DateTime::from_timestamp_micros(a),
                    DateTime::from_timestamp_micros(b),
                ),
                (_, Some(TimeUnit::NANOS)) => Some((
                    DateTime::from_timestamp_nanos(a),
                    DateTime::from_timestamp_nanos(b),
                )),
                (ConvertedType::NONE, None) => epoch_span(a as f64, b as f64),
                _ => None,
            }
        }
        Statistics::Int32(s) => {
            let (a, b) = (*s.min_opt()?, *s.max_opt()?);
            match descr.converted_type() {
                ConvertedType::DATE => both(
                    DateTime::from_timestamp(i64::from(a) * 86_400, 0),
                    // The whole last day.
                    DateTime::from_timestamp(i64::from(b) * 86_400 + 86_399, 0),
                ),
                ConvertedType::NONE => epoch_span(f64::from(a), f64::from(b)),
                _ => None,
            }
        }
        Statistics::Double(s) => epoch_span(*s.min_opt()?, *s.max_opt()?),
        _ => None,
    }
}

/// Unix seconds or milliseconds as the row reader reads them ([`epoch_to_time`]); only when
/// both ends are read in the same unit, since the unit is guessed from the size.
fn epoch_span(a: f64, b: f64) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if (a.abs() > 1e11) != (b.abs() > 1e11) {
        return None;
    }
    epoch_to_time(a).zip(epoch_to_time(b))
}
