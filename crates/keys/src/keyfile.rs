//! 32-byte keys kept as one line of hex in a file. The server creates the file at first start
//! with mode 0600 (owner-only) and refuses to use a file that group or others can read: a key
//! anyone on the machine can read protects nothing.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("key file {0} is readable by group or others (mode {1:o}); run `chmod 600` on it")]
    TooOpen(PathBuf, u32),
    #[error("{0} does not hold a key: expected 64 hex digits")]
    Malformed(String),
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// A key and where it came from.
#[derive(Clone)]
pub struct KeyFile {
    pub key: [u8; 32],
    /// The file it was read from or written to; `None` when it came from the environment.
    pub path: Option<PathBuf>,
    /// Whether this start created it.
    pub created: bool,
}

impl std::fmt::Debug for KeyFile {
    // Never print the key itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("path", &self.path)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// Parses 64 hex digits (surrounding whitespace allowed); `what` names the source in errors.
pub fn parse(text: &str, what: &str) -> Result<[u8; 32], KeyError> {
    crate::unhex(text)
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| KeyError::Malformed(what.to_owned()))
}

/// 32 fresh random bytes.
pub fn random_key() -> Result<[u8; 32], KeyError> {
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(k)
}

/// Reads the key at `path`, or creates it (and its directory) when the file does not exist.
/// Creation is exclusive, so two instances starting at once agree on one key.
pub fn load_or_create(path: &Path) -> Result<KeyFile, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    match fs::metadata(path) {
        Ok(_) => load(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir).map_err(io)?;
            }
            let key = random_key()?;
            let mut opts = OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            match opts.open(path) {
                Ok(mut f) => {
                    f.write_all(format!("{}\n", crate::hex(&key)).as_bytes())
                        .and_then(|()| f.sync_all())
                        .map_err(io)?;
                    Ok(KeyFile {
                        key,
                        path: Some(path.to_owned()),
                        created: true,
                    })
                }
                // Another process created it between the check and the open: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load(path),
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
    }
}

/// Reads an existing key file, refusing one that group or others can read.
pub fn load(path: &Path) -> Result<KeyFile, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen(path.to_owned(), mode));
        }
    }
    let text = fs::read_to_string(path).map_err(io)?;
    Ok(KeyFile {
        key: parse(&text, &path.display().to_string())?,
        path: Some(path.to_owned()),
        created: false,
    })
}

/// The key from environment variable `var` when it is set (hex), else from the file.
pub fn from_env_or_file(var: &str, path: &Path) -> Result<KeyFile, KeyError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(KeyFile {
            key: parse(&v, var)?,
            path: None,
            created: false,
        }),
        _ => load_or_create(path),
    }
}

/// Writes `key` to `path`, owner-only, replacing any file there. Written to a temporary file
/// that is synced and renamed into place, then the directory is synced: after a crash the
/// file at `path` is either the old one, absent, or the whole new key, never half of it.
pub fn write(path: &Path, key: &[u8; 32]) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    // A leftover from an interrupted write holds no key anything relies on.
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(format!("{}\n", crate::hex(key)).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io)?;
    drop(f);
    rename(&tmp, path)
}

/// Renames `from` to `to` (replacing it atomically) and syncs the directory, so the rename
/// survives a crash.
pub fn rename(from: &Path, to: &Path) -> Result<(), KeyError> {
    fs::rename(from, to).map_err(|source| KeyError::Io {
        path: to.to_owned(),
        source,
    })?;
    sync_dir(to)
}

fn sync_dir(path: &Path) -> Result<(), KeyError> {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| KeyError::Io {
                path: dir.to_owned(),
                source,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn creates_owner_only_then_reads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/signing.key");
        let a = load_or_create(&path).unwrap();
        assert!(a.created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let b = load_or_create(&path).unwrap();
        assert!(!b.created);
        assert_eq!(a.key, b.key);
        assert!(!format!("{a:?}").contains(&crate::hex(&a.key)));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_file_others_can_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        fs::write(&path, crate::hex(&[7u8; 32])).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(load(&path), Err(KeyError::TooOpen(_, 0o644))));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(load(&path).unwrap().key, [7u8; 32]);
    }

    #[test]
    fn written_keys_replace_the_old_one_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seal.key");
        let first = load_or_create(&path).unwrap();
        write(&path, &[3u8; 32]).unwrap();
        let again = load(&path).unwrap();
        assert_eq!(again.key, [3u8; 32]);
        assert_ne!(again.key, first.key);
        assert!(!dir.path().join("seal.key.tmp").exists());
        let moved = dir.path().join("moved.key");
        rename(&path, &moved).unwrap();
        assert!(!path.exists());
        assert_eq!(load(&moved).unwrap().key, [3u8; 32]);
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(parse("abcd", "x").is_err());
        assert!(parse(&"g".repeat(64), "x").is_err());
        assert_eq!(
            parse(&format!(" {} \n", "01".repeat(32)), "x").unwrap(),
            [1u8; 32]
        );
    }
}
