//! A small response cache for the read-heavy list and dashboard endpoints. An entry is valid
//! while the store's write generation is unchanged (any write through this process
//! invalidates everything) and for at most `ttl` (so writes by other instances sharing a
//! PostgreSQL database show up within it).
//!
//! Misses are single-flight: when an entry expires under load, one request recomputes it and
//! the others wait for that result instead of all querying the database at once.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Flight = Arc<tokio::sync::Mutex<()>>;

pub struct ResponseCache {
    entries: Mutex<HashMap<String, (u64, Instant, Bytes)>>,
    flights: Mutex<HashMap<String, Flight>>,
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
            flights: Mutex::new(HashMap::new()),
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

    /// The lock that serialises recomputing `key`; `None` when caching is off.
    pub fn flight(&self, key: &str) -> Option<Flight> {
        if self.ttl.is_zero() {
            return None;
        }
        let mut map = self.flights.lock().ok()?;
        if map.len() >= self.max_entries && !map.contains_key(key) {
            // Only locks nobody holds or waits for are dropped.
            map.retain(|_, f| Arc::strong_count(f) > 1);
        }
        Some(Arc::clone(map.entry(key.to_owned()).or_default()))
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
