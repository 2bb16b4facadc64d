//! Evidence readers for AI Auditor.
//!
//! Reads JSON Lines, CSV and Parquet files (plain or gzip-compressed), maps their columns to
//! [`audit_domain::Record`]s with a [`FieldMapping`], filters a time window and sends rows to
//! [`RecordSink`]s, one per worker thread. Memory stays constant whatever the file size: files
//! are read in fixed-size blocks that workers parse in parallel. Bad rows are counted by
//! [`audit_domain::InvalidReason`] and skipped; only a file that cannot be opened at all, or
//! whose header lacks a mapped column, is an error, and that error is reported per file.

mod chunker;
mod convert;
mod csvfmt;
mod inputs;
mod jsonl;
mod pipeline;
mod pq;
pub mod prune;
pub mod summary;
mod window;

pub use convert::Plan;
pub use inputs::{Compression, Format, InputFile, expand_inputs};
pub use pipeline::{FileReport, Progress, ReadOptions, ReadOutcome, read_bytes, read_files};
pub use prune::{Pruning, Skipped};
pub use window::{TimeWindow, parse_timestamp};

use audit_domain::{FieldMapping, MappingError, RecordSink};

/// Errors that stop a read before any row is processed.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("evidence path '{0}' does not exist")]
    NotFound(String),
    #[error("evidence pattern '{0}' matches no file")]
    NoMatch(String),
    #[error("evidence pattern '{pattern}' is invalid: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error("evidence directory '{0}' contains no JSONL, CSV or Parquet file")]
    EmptyDirectory(String),
    #[error("cannot read '{path}': {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error("evidence source: {0}")]
    Config(String),
}

/// Parses one JSON Lines line with `mapping` and sends the row to `sink`.
/// The entry point of the fuzz target; also handy for embedders with rows in memory.
pub fn parse_jsonl_line(
    line: &[u8],
    mapping: &FieldMapping,
    window: &TimeWindow,
    sink: &mut dyn RecordSink,
) {
    let plan = Plan::new(mapping.clone(), *window);
    let mut scratch = convert::Slots::new(&plan);
    let mut record = audit_domain::Record::default();
    jsonl::process_line(line, usize::MAX, &plan, &mut scratch, &mut record, sink);
}
