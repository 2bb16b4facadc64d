//! A small response cache for the read-heavy list and dashboard endpoints. An entry is valid
//! while the store's write generation is unchanged (any write through this process
//! invalidates everything) and for at most `ttl` (so writes by other instances sharing a
//! PostgreSQL database show up within it).

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct ResponseCache {
    entries: Mutex<HashMap<String, (u64, Instant, Bytes)>>,
    ttl: Duration,
    max_entries: usize,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl ResponseCache {
    pub fn new(ttl: Duration, max_entries: usize) -> ResponseCache {
        ResponseCache {
            entries: Mutex::new(HashMap::new()),
            ttl,
            max_entries,
        }
    }

    pub fn get(&self, key: &str, generation: u64) -> Option<Bytes> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.entries.lock().ok()?;
        match map.get(key) {
            Some((g, at, body)) if *g == generation && at.elapsed() < self.ttl => {
                Some(body.clone())
            }
            _ => None,
        }
    }

    pub fn put(&self, key: String, generation: u64, body: Bytes) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= self.max_entries {
                map.retain(|_, (g, at, _)| *g == generation && at.elapsed() < self.ttl);
                if map.len() >= self.max_entries {
                    map.clear();
                }
            }
            map.insert(key, (generation, Instant::now(), body));
        }
    }
}
