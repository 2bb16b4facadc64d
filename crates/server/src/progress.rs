//! Progress on a terminal: rows read and rate, refreshed twice a second on stderr.

use audit_core::Progress;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) struct Display {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Display {
    /// Starts the display if stderr is a terminal and `enabled`.
    pub(crate) fn start(label: &'static str, progress: &Arc<Progress>, enabled: bool) -> Display {
        let stop = Arc::new(AtomicBool::new(false));
        if !enabled || !std::io::stderr().is_terminal() {
            return Display { stop, handle: None };
        }
        let (p, s) = (Arc::clone(progress), Arc::clone(&stop));
        let handle = std::thread::spawn(move || {
            let start = Instant::now();
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                let rows = p.rows.load(Ordering::Relaxed);
                let bytes = p.bytes.load(Ordering::Relaxed);
                let secs = start.elapsed().as_secs_f64().max(1e-9);
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\r{label}: {:.2}M rows, {:.1} MB, {:.2}M rows/s   ",
                    rows as f64 / 1e6,
                    bytes as f64 / 1e6,
                    rows as f64 / secs / 1e6
                );
                let _ = err.flush();
            }
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        });
        Display {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
