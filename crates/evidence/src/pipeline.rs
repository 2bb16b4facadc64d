//! The parallel read: one reader (this thread) cuts files into numbered jobs, workers parse
//! each job into a fresh sink, and a merger folds those sinks together in job order. The job
//! queue is bounded, so memory stays at a few blocks per worker; merging in order makes the
//! result (floating-point sums included) the same whatever the thread count or scheduling.

use crate::chunker::Chunker;
use crate::convert::Plan;
use crate::csvfmt::{self, CsvLayout};
use crate::inputs::{Compression, Format, InputFile};
use crate::prune::{Pruning, Skipped, prune};
use crate::window::TimeWindow;
use crate::{EvidenceError, jsonl, pq};
use audit_domain::{FieldMapping, InvalidReason, RecordSink};
use parquet::file::reader::SerializedFileReader;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

/// How to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub window: TimeWindow,
    /// Longer lines (records) are skipped and counted as `line_too_long`.
    pub max_line_bytes: usize,
    /// Size of the blocks handed to workers.
    pub chunk_bytes: usize,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Overrides the format inferred from file names.
    pub format: Option<Format>,
    /// Live counters for progress display.
    pub progress: Option<Arc<Progress>>,
    /// Which files and row groups are skipped as outside the window ([`crate::prune`]).
    pub pruning: Pruning,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            window: TimeWindow::default(),
            max_line_bytes: 1 << 20,
            chunk_bytes: 1 << 20,
            threads: 0,
            format: None,
            progress: None,
            pruning: Pruning::default(),
        }
    }
}

/// Counters updated while reading (bytes from disk, before decompression; rows parsed).
#[derive(Debug, Default)]
pub struct Progress {
    pub bytes: AtomicU64,
    pub rows: AtomicU64,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    pub path: String,
    pub format: &'static str,
    /// Bytes read (decompressed).
    pub bytes: u64,
    /// Rows (lines or records) seen, valid or not.
    pub rows: u64,
    /// Why the file could not be read, or was read only in part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub struct ReadOutcome<S> {
    /// Every job's sink, merged in the order the jobs were cut.
    pub sink: S,
    pub files: Vec<FileReport>,
    /// Files and row groups skipped as outside the window, never opened or decoded.
    pub skipped: Skipped,
}

enum Job {
    Lines {
        file: usize,
        data: Vec<u8>,
    },
    Csv {
        file: usize,
        data: Vec<u8>,
        layout: Arc<CsvLayout>,
    },
    Parquet {
        file: usize,
        path: PathBuf,
        row_group: usize,
        projection: Arc<parquet::schema::types::Type>,
    },
    Invalid {
        file: usize,
        reason: InvalidReason,
        count: u64,
    },
}

/// A job and its place in the read order.
type Numbered = (u64, Job);

struct Shared {
    rows: Vec<AtomicU64>,
    errors: Vec<Mutex<Option<String>>>,
}

impl Shared {
    fn fail(&self, file: usize, message: String) {
        if let Some(slot) = self.errors.get(file)
            && let Ok(mut e) = slot.lock()
        {
            e.get_or_insert(message);
        }
    }
}

fn worker<S: RecordSink>(
    rx: &Mutex<Receiver<Numbered>>,
    plan: &Plan,
    opts: &ReadOptions,
    shared: &Shared,
    make_sink: &(dyn Fn() -> S + Sync),
    done: &Sender<(u64, S)>,
) {
    loop {
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok((seq, job)) = job else { return };
        let mut fresh = make_sink();
        let sink = &mut fresh;
        let (file, rows) = match job {
            Job::Lines { file, data } => (
                file,
                jsonl::process_chunk(&data, opts.max_line_bytes, plan, sink),
            ),
            Job::Csv { file, data, layout } => (
                file,
                csvfmt::process_chunk(&data, &layout, opts.max_line_bytes, plan, sink),
            ),
            Job::Parquet {
                file,
                path,
                row_group,
                projection,
            } => {
                let result = std::fs::File::open(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|f| SerializedFileReader::new(f).map_err(|e| e.to_string()))
                    .and_then(|r| pq::process_row_group(&r, row_group, &projection, plan, sink));
                match result {
                    Ok(n) => (file, n),
                    Err(e) => {
                        shared.fail(file, e);
                        (file, 0)
                    }
                }
            }
            Job::Invalid {
                file,
                reason,
                count,
            } => {
                for _ in 0..count {
                    sink.invalid(reason);
                }
                (file, count)
            }
        };
        if let Some(c) = shared.rows.get(file) {
            c.fetch_add(rows, Ordering::Relaxed);
        }
        if let Some(p) = &opts.progress {
            p.rows.fetch_add(rows, Ordering::Relaxed);
        }
        if done.send((seq, fresh)).is_err() {
            return;
        }
    }
}

/// Folds job sinks into `acc` strictly in job order, holding early arrivals until their turn.
fn merge_in_order<S>(acc: &mut S, rx: Receiver<(u64, S)>, merge: &mut dyn FnMut(&mut S, S)) {
    let mut pending = BTreeMap::new();
    let mut next = 0u64;
    for (seq, sink) in rx {
        pending.insert(seq, sink);
        while let Some(s) = pending.remove(&next) {
            merge(acc, s);
            next += 1;
        }
    }
    // Only reachable if a worker died mid-read; keep what arrived, still in order.
    for (_, s) in pending {
        merge(acc, s);
    }
}

/// Hands out job numbers in the order jobs are cut.
struct Feed<'a> {
    tx: &'a SyncSender<Numbered>,
    seq: u64,
}

impl Feed<'_> {
    fn send(&mut self, job: Job) -> Result<(), String> {
        let seq = self.seq;
        self.seq += 1;
        self.tx
            .send((seq, job))
            .map_err(|_| "workers stopped".to_owned())
    }
}

fn open(input: &InputFile) -> std::io::Result<Box<dyn Read + Send>> {
    let f = std::fs::File::open(&input.path)?;
    let buffered = std::io::BufReader::with_capacity(256 * 1024, f);
    Ok(match input.compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
    })
}

/// Progress-counting reader wrapper.
struct Counted<R> {
    inner: R,
    progress: Option<Arc<Progress>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            p.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Cuts one text file into jobs. Returns bytes read; errors are the file's error.
fn feed_text(
    file: usize,
    input: &InputFile,
    format: Format,
    plan: &Plan,
    opts: &ReadOptions,
    tx: &mut Feed<'_>,
) -> Result<u64, String> {
    let reader = open(input).map_err(|e| e.to_string())?;
    let reader = Counted {
        inner: reader,
        progress: opts.progress.clone(),
    };
    let quote_aware = matches!(format, Format::Csv { .. });
    let mut chunker = Chunker::new(reader, opts.chunk_bytes, opts.max_line_bytes, quote_aware);
    let mut layout: Option<Arc<CsvLayout>> = None;
    let result = (|| {
        while let Some(mut data) = chunker
            .next_chunk()
            .map_err(|e| format!("read failed: {e}"))?
        {
            let job = match format {
                Format::Jsonl => Job::Lines { file, data },
                Format::Csv { delimiter } => {
                    let layout = match &layout {
                        Some(l) => Arc::clone(l),
                        None => {
                            let end = header_end(&data);
                            let l =
                                Arc::new(CsvLayout::from_header(&data[..end], delimiter, plan)?);
                            data.drain(..end);
                            layout = Some(Arc::clone(&l));
                            l
                        }
                    };
                    Job::Csv { file, data, layout }
                }
                Format::Parquet => return Err("internal: parquet is not a text format".to_owned()),
            };
            tx.send(job)?;
        }
        if matches!(format, Format::Csv { .. }) && layout.is_none() {
            return Err("the file is empty (no header row)".to_owned());
        }
        Ok(())
    })();
    if chunker.too_long > 0 {
        let _sent = tx.send(Job::Invalid {
            file,
            reason: InvalidReason::LineTooLong,
            count: chunker.too_long,
        });
    }
    result.map(|()| chunker.bytes_read)
}

/// End of the first CSV record (quote-aware), including its newline.
fn header_end(data: &[u8]) -> usize {
    let mut in_quotes = false;
    for (i, b) in data.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => return i + 1,
            _ => {}
        }
    }
    data.len()
}

fn feed_parquet(
    file: usize,
    input: &InputFile,
    plan: &Plan,
    tx: &mut Feed<'_>,
    skipped_groups: &mut u64,
) -> Result<u64, String> {
    let f = std::fs::File::open(&input.path).map_err(|e| e.to_string())?;
    let bytes = f.metadata().map(|m| m.len()).unwrap_or(0);
    let reader =
        SerializedFileReader::new(f).map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let projection = Arc::new(pq::projection(&reader, plan)?);
    let ts_column = plan
        .mapping()
        .timestamp
        .as_deref()
        .filter(|_| !plan.window.is_unbounded());
    for row_group in 0..pq::row_groups(&reader) {
        // A group whose statistics put every row outside the window is not decoded: its rows
        // all lie in [lo, hi], the span [lo, hi + 1 ns).
        if let Some(col) = ts_column
            && let Some((lo, hi)) = pq::row_group_span(&reader, row_group, col)
            && !plan
                .window
                .overlaps(lo, hi + chrono::Duration::nanoseconds(1))
        {
            *skipped_groups += 1;
            continue;
        }
        let job = Job::Parquet {
            file,
            path: input.path.clone(),
            row_group,
            projection: Arc::clone(&projection),
        };
        tx.send(job)?;
    }
    Ok(bytes)
}

fn thread_count(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Reads `files` in parallel: each job into a fresh sink from `make_sink`, the job sinks
/// folded into one with `merge` in job order (so the result does not depend on scheduling).
///
/// Per-file problems (unreadable, bad header, corrupt compression) are reported in
/// [`ReadOutcome::files`] and do not stop the other files; bad rows go to the sinks.
pub fn read_files<S, F, M>(
    files: &[InputFile],
    mapping: &FieldMapping,
    opts: &ReadOptions,
    make_sink: F,
    mut merge: M,
) -> Result<ReadOutcome<S>, EvidenceError>
where
    S: RecordSink + Send,
    F: Fn() -> S + Sync,
    M: FnMut(&mut S, S) + Send,
{
    mapping.validate()?;
    let (files, mut skipped) =
        prune(files, opts.window, &opts.pruning).map_err(EvidenceError::Config)?;
    let files = files.as_slice();
    let mut skipped_groups = 0u64;
    let plan = Plan::new(mapping.clone(), opts.window);
    let threads = thread_count(opts.threads);
    let mut acc = make_sink();
    let shared = Shared {
        rows: files.iter().map(|_| AtomicU64::new(0)).collect(),
        errors: files.iter().map(|_| Mutex::new(None)).collect(),
    };
    let (tx, rx) = sync_channel::<Numbered>(threads * 2);
    let rx = Mutex::new(rx);
    let (done_tx, done_rx) = channel::<(u64, S)>();
    let mut bytes = vec![0u64; files.len()];
    std::thread::scope(|scope| {
        let (acc, merge) = (&mut acc, &mut merge);
        scope.spawn(move || merge_in_order(acc, done_rx, merge));
        for _ in 0..threads {
            let (rx, plan, shared, make_sink) = (&rx, &plan, &shared, &make_sink);
            let done = done_tx.clone();
            scope.spawn(move || worker(rx, plan, opts, shared, make_sink, &done));
        }
        drop(done_tx);
        let mut feed = Feed { tx: &tx, seq: 0 };
        for (i, input) in files.iter().enumerate() {
            let format = opts.format.unwrap_or(input.format);
            let result = match format {
                Format::Parquet => feed_parquet(i, input, &plan, &mut feed, &mut skipped_groups),
                text => feed_text(i, input, text, &plan, opts, &mut feed),
            };
            match result {
                Ok(b) => bytes[i] = b,
                Err(e) => {
                    tracing::warn!(file = %input.path.display(), error = %e, "evidence file not fully read");
                    shared.fail(i, e);
                }
            }
        }
        drop(tx);
    });
    let reports = files
        .iter()
        .enumerate()
        .map(|(i, f)| FileReport {
            path: f.path.display().to_string(),
            format: opts.format.unwrap_or(f.format).name(),
            bytes: bytes[i],
            rows: shared.rows[i].load(Ordering::Relaxed),
            error: shared.errors[i].lock().ok().and_then(|e| e.clone()),
        })
        .collect();
    if skipped_groups > 0 {
        skipped.row_groups += skipped_groups;
        skipped
            .by_reason
            .insert("row_group_statistics".into(), skipped_groups);
    }
    Ok(ReadOutcome {
        sink: acc,
        files: reports,
        skipped,
    })
}

/// Reads evidence held in memory (an upload) on the calling thread.
pub fn read_bytes(
    data: &[u8],
    format: Format,
    mapping: &FieldMapping,
    opts: &ReadOptions,
    sink: &mut dyn RecordSink,
) -> Result<FileReport, EvidenceError> {
    mapping.validate()?;
    let plan = Plan::new(mapping.clone(), opts.window);
    let mut report = FileReport {
        path: "<memory>".into(),
        format: format.name(),
        bytes: data.len() as u64,
        rows: 0,
        error: None,
    };
    match format {
        Format::Jsonl => {
            let mut chunker = Chunker::new(data, opts.chunk_bytes, opts.max_line_bytes, false);
            while let Ok(Some(chunk)) = chunker.next_chunk() {
                report.rows += jsonl::process_chunk(&chunk, opts.max_line_bytes, &plan, sink);
            }
            for _ in 0..chunker.too_long {
                sink.invalid(InvalidReason::LineTooLong);
            }
            report.rows += chunker.too_long;
        }
        Format::Csv { delimiter } => {
            let end = header_end(data);
            match CsvLayout::from_header(&data[..end], delimiter, &plan) {
                Ok(layout) => {
                    report.rows = csvfmt::process_chunk(
                        &data[end..],
                        &layout,
                        opts.max_line_bytes,
                        &plan,
                        sink,
                    )
                }
                Err(e) => report.error = Some(e),
            }
        }
        Format::Parquet => {
            let bytes = bytes::Bytes::copy_from_slice(data);
            match SerializedFileReader::new(bytes) {
                Ok(reader) => match pq::projection(&reader, &plan) {
                    Ok(proj) => {
                        for rg in 0..pq::row_groups(&reader) {
                            match pq::process_row_group(&reader, rg, &proj, &plan, sink) {
                                Ok(n) => report.rows += n,
                                Err(e) => {
                                    report.error = Some(e);
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => report.error = Some(e),
                },
                Err(e) => report.error = Some(format!("not a readable Parquet file: {e}")),
            }
        }
    }
    Ok(report)
}
