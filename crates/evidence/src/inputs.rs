use crate::EvidenceError;
use std::path::{Path, PathBuf};

/// File format of an evidence file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv { delimiter: u8 },
    Parquet,
}

impl Format {
    pub fn name(&self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv { delimiter: b'\t' } => "tsv",
            Format::Csv { .. } => "csv",
            Format::Parquet => "parquet",
        }
    }

    /// `jsonl`, `csv`, `tsv` or `parquet`.
    pub fn parse(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv { delimiter: b',' }),
            "tsv" => Some(Format::Csv { delimiter: b'\t' }),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
}

/// One file to read, with the format and compression inferred from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    pub format: Format,
    pub compression: Compression,
}

impl InputFile {
    /// Infers format and compression from the extension (`.jsonl`, `.ndjson`, `.json`, `.log`,
    /// `.csv`, `.tsv`, `.parquet`, `.pq`, each optionally followed by `.gz`). Unknown: JSON Lines.
    pub fn from_path(path: impl Into<PathBuf>) -> InputFile {
        let path = path.into();
        let (format, compression) = infer(&path).unwrap_or((Format::Jsonl, Compression::None));
        InputFile {
            path,
            format,
            compression,
        }
    }
}

fn infer(path: &Path) -> Option<(Format, Compression)> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let (stem, compression) = match name.strip_suffix(".gz") {
        Some(stem) => (stem.to_owned(), Compression::Gzip),
        None => (name, Compression::None),
    };
    let ext = stem.rsplit_once('.')?.1;
    let format = match ext {
        "log" => Format::Jsonl,
        other => Format::parse(other)?,
    };
    Some((format, compression))
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands files, directories (their evidence files, recursively, sorted) and glob patterns.
pub fn expand_inputs<S: AsRef<str>>(inputs: &[S]) -> Result<Vec<InputFile>, EvidenceError> {
    let mut out = Vec::new();
    for input in inputs {
        let input = input.as_ref();
        if is_glob(input) && !Path::new(input).exists() {
            let options = glob::MatchOptions {
                require_literal_leading_dot: true,
                ..Default::default()
            };
            let paths = glob::glob_with(input, options).map_err(|e| EvidenceError::BadPattern {
                pattern: input.to_owned(),
                reason: e.to_string(),
            })?;
            let mut found: Vec<PathBuf> = paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            if found.is_empty() {
                return Err(EvidenceError::NoMatch(input.to_owned()));
            }
            found.sort();
            out.extend(found.into_iter().map(InputFile::from_path));
            continue;
        }
        let path = Path::new(input);
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => EvidenceError::NotFound(input.to_owned()),
            _ => EvidenceError::Io {
                path: input.to_owned(),
                source: e,
            },
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found).map_err(|e| EvidenceError::Io {
                path: input.to_owned(),
                source: e,
            })?;
            if found.is_empty() {
                return Err(EvidenceError::EmptyDirectory(input.to_owned()));
            }
            found.sort();
            out.extend(found.into_iter().map(InputFile::from_path));
        } else {
            out.push(InputFile::from_path(path));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else if infer(&path).is_some() {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_extensions() {
        let f = InputFile::from_path("a/b/preds.csv.gz");
        assert_eq!(
            (f.format, f.compression),
            (Format::Csv { delimiter: b',' }, Compression::Gzip)
        );
        assert_eq!(InputFile::from_path("x.PARQUET").format, Format::Parquet);
        assert_eq!(
            InputFile::from_path("x.tsv").format,
            Format::Csv { delimiter: b'\t' }
        );
        assert_eq!(InputFile::from_path("noext").format, Format::Jsonl);
    }

    #[test]
    fn directories_and_globs_expand_sorted() {
        let dir = tempfile::tempdir().expect("tmp");
        for n in ["b.jsonl", "a.csv", "notes.txt", ".hidden.jsonl"] {
            std::fs::write(dir.path().join(n), "").expect("write");
        }
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/c.jsonl.gz"), "").expect("write");
        let d = dir.path().to_string_lossy().to_string();
        let files = expand_inputs(std::slice::from_ref(&d)).expect("dir");
        let names: Vec<_> = files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(dir.path())
                    .expect("prefix")
                    .to_string_lossy()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["a.csv", "b.jsonl", "sub/c.jsonl.gz"]);
        let g = expand_inputs(&[format!("{d}/*.jsonl")]).expect("glob");
        assert_eq!(g.len(), 1);
        assert!(matches!(
            expand_inputs(&[format!("{d}/*.parquet")]),
            Err(EvidenceError::NoMatch(_))
        ));
        assert!(matches!(
            expand_inputs(&[format!("{d}/missing.jsonl")]),
            Err(EvidenceError::NotFound(_))
        ));
    }
}
