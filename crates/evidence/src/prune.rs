//! Reading only what a window needs: files that cannot hold a row of the window are skipped
//! before they are opened, so an audit of the last day of a year of daily logs reads one day.
//!
//! A file is skipped when one of these says its rows all lie outside the window:
//! - a Hive-style partition in its path (`dt=2026-11-30/`, `date=`, `ds=`, or
//!   `year=/month=/day=[/hour=]`): the partition's span in UTC;
//! - a date in its file name, found with the source's `file_date_pattern` (`%Y`, `%m`, `%d`,
//!   `%H` and literal text, e.g. `preds-%Y%m%d`): the span of the pattern's smallest unit;
//! - its modification time, more than [`MTIME_SLACK`] before the window starts: an append-only
//!   log is written after the rows it holds happened, so a file last written well before the
//!   window holds none of it (the slack absorbs clocks that disagree and buffered writers). A
//!   file rewritten with an old time (a copy that keeps times, a backfill) or holding rows dated
//!   ahead breaks that assumption: turn it off with `prune_by_mtime: false`.
//!
//! In Parquet, row groups are skipped by the min/max statistics of the timestamp column
//! (`pipeline`). Skipping never changes which rows are profiled: every skipped file or group
//! holds only rows the window filter would have dropped.

use std::collections::BTreeMap;
use std::time::SystemTime;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::inputs::InputFile;
use crate::window::TimeWindow;

/// How long before the window a file's last modification may lie and the file still be read:
/// the writer's and the auditor's clocks may disagree, and a writer may flush late.
pub const MTIME_SLACK: chrono::Duration = chrono::Duration::hours(1);

/// How a source's files are pruned against the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pruning {
    /// Skip files last modified before the window starts (append-only logs). Default on.
    #[serde(default = "yes")]
    pub by_mtime: bool,
    /// Skip files whose Hive-style partition lies outside the window. Default on; off for
    /// partitions by arrival date whose rows may carry earlier event times.
    #[serde(default = "yes")]
    pub by_partition: bool,
    /// A date pattern in file names (`%Y`, `%m`, `%d`, `%H`, literal text).
    #[serde(default)]
    pub file_date_pattern: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for Pruning {
    fn default() -> Self {
        Pruning {
            by_mtime: true,
            by_partition: true,
            file_date_pattern: None,
        }
    }
}

/// What pruning skipped, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub files: u64,
    pub row_groups: u64,
    /// `partition`, `file_date`, `modified_before_window`, `row_group_statistics`.
    pub by_reason: BTreeMap<String, u64>,
}

impl Skipped {
    pub fn add(&mut self, other: &Skipped) {
        self.files += other.files;
        self.row_groups += other.row_groups;
        for (k, v) in &other.by_reason {
            *self.by_reason.entry(k.clone()).or_default() += v;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.files == 0 && self.row_groups == 0
    }
}

/// A time span `[from, to)`.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// The span a calendar date names down to its smallest given unit: a year, a month, a day or
/// an hour (UTC). `None` for a combination that names no span (a day without its month).
fn calendar_span(y: i32, m: Option<u32>, d: Option<u32>, h: Option<u32>) -> Option<Span> {
    let start = |m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| Utc.from_utc_datetime(&t))
    };
    match (m, d, h) {
        (Some(m), Some(d), Some(h)) if h < 24 => {
            let s = start(m, d)? + chrono::Duration::hours(i64::from(h));
            Some((s, s + chrono::Duration::hours(1)))
        }
        (Some(m), Some(d), None) => {
            let s = start(m, d)?;
            Some((s, s + chrono::Duration::days(1)))
        }
        (Some(m), None, None) => {
            let s = start(m, 1)?;
            Some((s, s.checked_add_months(Months::new(1))?))
        }
        (None, None, None) => {
            let s = start(1, 1)?;
            Some((s, s.checked_add_months(Months::new(12))?))
        }
        _ => None,
    }
}

/// The partition span a path's Hive-style components name, if any.
pub fn partition_span(path: &std::path::Path) -> Option<Span> {
    let mut date: Option<NaiveDate> = None;
    let (mut year, mut month, mut dom, mut hour) = (None, None, None, None);
    for part in path.iter().filter_map(|c| c.to_str()) {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        match k.to_ascii_lowercase().as_str() {
            "dt" | "date" | "ds" => {
                date = NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .or_else(|_| NaiveDate::parse_from_str(v, "%Y%m%d"))
                    .ok();
            }
            "year" => year = v.parse::<i32>().ok(),
            "month" => month = v.parse::<u32>().ok(),
            "day" => dom = v.parse::<u32>().ok(),
            "hour" => hour = v.parse::<u32>().ok().filter(|h| *h < 24),
            _ => {}
        }
    }
    match date {
        Some(d) => calendar_span(d.year(), Some(d.month()), Some(d.day()), hour),
        // `year=/day=` without a month names nothing.
        None => calendar_span(year?, month, dom, hour.filter(|_| dom.is_some())),
    }
}

/// A file-name date pattern compiled to a matcher: each `%Y` four digits, `%m`, `%d`, `%H` two.
#[derive(Debug, Clone)]
pub struct DatePattern {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Year,
    Month,
    Day,
    Hour,
    Lit(char),
}

impl DatePattern {
    pub fn parse(p: &str) -> Result<DatePattern, String> {
        let mut parts = Vec::new();
        let mut it = p.chars();
        while let Some(c) = it.next() {
            if c != '%' {
                parts.push(Part::Lit(c));
                continue;
            }
            parts.push(match it.next() {
                Some('Y') => Part::Year,
                Some('m') => Part::Month,
                Some('d') => Part::Day,
                Some('H') => Part::Hour,
                Some('%') => Part::Lit('%'),
                other => {
                    return Err(format!(
                        "file_date_pattern '{p}': %{} is not one of %Y %m %d %H %%",
                        other.map(String::from).unwrap_or_default()
                    ));
                }
            });
        }
        if !parts.contains(&Part::Year) {
            return Err(format!("file_date_pattern '{p}' has no %Y"));
        }
        Ok(DatePattern { parts })
    }

    /// Matches the pattern at `at` of `s`: (year, month, day, hour) as far as given.
    fn match_at(&self, s: &[char], at: usize) -> Option<[Option<u32>; 4]> {
        let mut got = [None; 4];
        let mut i = at;
        let digits = |i: usize, n: usize| -> Option<u32> {
            let t: String = s.get(i..i + n)?.iter().collect();
            t.chars()
                .all(|c| c.is_ascii_digit())
                .then(|| t.parse().ok())?
        };
        for p in &self.parts {
            match p {
                Part::Lit(c) => {
                    if s.get(i) != Some(c) {
                        return None;
                    }
                    i += 1;
                }
                Part::Year => {
                    got[0] = Some(digits(i, 4)?);
                    i += 4;
                }
                Part::Month => {
                    got[1] = Some(digits(i, 2)?);
                    i += 2;
                }
                Part::Day => {
                    got[2] = Some(digits(i, 2)?);
                    i += 2;
                }
                Part::Hour => {
                    got[3] = Some(digits(i, 2)?);
                    i += 2;
                }
            }
        }
        Some(got)
    }

    /// The span of the first date the pattern finds in `name`.
    pub fn span(&self, name: &str) -> Option<Span> {
        let chars: Vec<char> = name.chars().collect();
        let [y, m, d, h] = (0..chars.len()).find_map(|at| self.match_at(&chars, at))?;
        calendar_span(i32::try_from(y?).ok()?, m, d, h)
    }
}

/// Why `f` holds no row of `w`, if something says so.
fn reason(
    f: &InputFile,
    w: TimeWindow,
    p: &Pruning,
    pattern: Option<&DatePattern>,
) -> Option<&'static str> {
    if p.by_partition
        && let Some(span) = partition_span(&f.path)
        && !w.overlaps(span.0, span.1)
    {
        return Some("partition");
    }
    if let (Some(pat), Some(name)) = (pattern, f.path.file_name().and_then(|n| n.to_str()))
        && let Some(span) = pat.span(name)
        && !w.overlaps(span.0, span.1)
    {
        return Some("file_date");
    }
    if p.by_mtime
        && let Some(from) = w.from
        && let Some(modified) = std::fs::metadata(&f.path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .and_then(|d| DateTime::<Utc>::from_timestamp(d.as_secs() as i64, d.subsec_nanos()))
        && modified < from - MTIME_SLACK
    {
        return Some("modified_before_window");
    }
    None
}

/// The files of `files` that may hold rows of `w`, and what was skipped.
pub fn prune(
    files: &[InputFile],
    w: TimeWindow,
    p: &Pruning,
) -> Result<(Vec<InputFile>, Skipped), String> {
    let pattern = p
        .file_date_pattern
        .as_deref()
        .map(DatePattern::parse)
        .transpose()?;
    let mut skipped = Skipped::default();
    if w.is_unbounded() {
        return Ok((files.to_vec(), skipped));
    }
    let mut kept = Vec::with_capacity(files.len());
    for f in files {
        match reason(f, w, p, pattern.as_ref()) {
            Some(why) => {
                skipped.files += 1;
                *skipped.by_reason.entry(why.to_owned()).or_default() += 1;
            }
            None => kept.push(f.clone()),
        }
    }
    Ok((kept, skipped))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::path::Path;

    fn t(s: &str) -> DateTime<Utc> {
        crate::window::parse_timestamp(s).unwrap()
    }

    #[test]
    fn hive_partitions_name_their_span() {
        let d = partition_span(Path::new("/logs/dt=2026-11-30/part-0.jsonl")).unwrap();
        assert_eq!(d, (t("2026-11-30"), t("2026-12-01")));
        let d = partition_span(Path::new("/l/year=2026/month=11/day=30/hour=07/a.csv")).unwrap();
        assert_eq!(d, (t("2026-11-30T07:00:00Z"), t("2026-11-30T08:00:00Z")));
        let d = partition_span(Path::new("/l/year=2026/month=12/a.csv")).unwrap();
        assert_eq!(d, (t("2026-12-01"), t("2027-01-01")));
        let d = partition_span(Path::new("/l/ds=20261130/a.csv")).unwrap();
        assert_eq!(d.0, t("2026-11-30"));
        assert!(partition_span(Path::new("/l/model=a/b.csv")).is_none());
    }

    #[test]
    fn file_name_dates_follow_the_pattern() {
        let p = DatePattern::parse("preds-%Y%m%d").unwrap();
        assert_eq!(
            p.span("preds-20261130.jsonl.gz"),
            Some((t("2026-11-30"), t("2026-12-01")))
        );
        assert_eq!(p.span("other-20261130.jsonl"), None);
        let p = DatePattern::parse("%Y-%m-%dT%H").unwrap();
        assert_eq!(
            p.span("x_2026-11-30T23.csv"),
            Some((t("2026-11-30T23:00:00Z"), t("2026-12-01")))
        );
        assert!(DatePattern::parse("%m%d").is_err());
        assert!(DatePattern::parse("%Y%q").is_err());
    }

    #[test]
    fn only_files_outside_the_window_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for d in ["2026-11-28", "2026-11-29", "2026-11-30"] {
            let p = dir.path().join(format!("dt={d}/a.jsonl"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "{}\n").unwrap();
            files.push(InputFile::from_path(p));
        }
        let w = TimeWindow {
            from: Some(t("2026-11-29T12:00:00Z")),
            to: Some(t("2026-11-30T00:00:00Z")),
        };
        // Written just now, so modification time keeps them all; the partitions decide.
        let (kept, s) = prune(&files, w, &Pruning::default()).unwrap();
        assert_eq!(kept.len(), 1);
        assert!(kept[0].path.to_string_lossy().contains("2026-11-29"));
        assert_eq!(s.files, 2);
        assert_eq!(s.by_reason["partition"], 2);
        // A window that starts well after every file was written: the append-only rule skips
        // all, unless it is turned off; within the slack they are read.
        let soon = TimeWindow {
            from: Some(Utc::now() + MTIME_SLACK - chrono::Duration::minutes(1)),
            to: None,
        };
        let later = TimeWindow {
            from: Some(Utc::now() + MTIME_SLACK + chrono::Duration::minutes(1)),
            to: None,
        };
        let flat: Vec<InputFile> = files
            .iter()
            .map(|f| {
                let p = dir
                    .path()
                    .join(f.path.parent().unwrap().file_name().unwrap());
                let q = p.with_extension("jsonl");
                std::fs::write(&q, "{}\n").unwrap();
                InputFile::from_path(q)
            })
            .collect();
        assert_eq!(prune(&flat, soon, &Pruning::default()).unwrap().0.len(), 3);
        let (kept, s) = prune(&flat, later, &Pruning::default()).unwrap();
        assert!(kept.is_empty());
        assert_eq!(s.by_reason["modified_before_window"], 3);
        let off = Pruning {
            by_mtime: false,
            ..Pruning::default()
        };
        assert_eq!(prune(&flat, later, &off).unwrap().0.len(), 3);
        // No window: nothing is skipped.
        let (kept, s) = prune(&files, TimeWindow::default(), &Pruning::default()).unwrap();
        assert_eq!((kept.len(), s.files), (3, 0));
    }
}
