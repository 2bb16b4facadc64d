//! Checking one chain: entries streamed in chain order, against the tenant's checkpoints and
//! the chain's recorded head. The first break is reported with its position and a sentence.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Checkpoint, Entry, GENESIS, PURGE_ACTION, entry_hash, sha256_hex};

/// What the database records as a chain's end.
#[derive(Debug, Clone, PartialEq)]
pub enum Head {
    Recorded {
        entries: i64,
        hash: String,
    },
    /// The head row is gone.
    Missing,
    /// Not part of the input (an export without heads).
    Unknown,
}

/// What verification found for one chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainReport {
    pub tenant_id: String,
    pub valid: bool,
    /// Entries checked.
    pub entries: i64,
    /// The global `seq` of the first entry that does not fit; `None` when valid or when the
    /// break is at the chain's end (removed entries, a missing head or checkpoint).
    pub first_broken_seq: Option<i64>,
    /// Position in the tenant's chain where it breaks.
    pub first_broken_position: Option<i64>,
    pub reason: Option<String>,
    /// The chain's last hash as its head records it (GENESIS when there is none).
    pub head_hash: String,
    /// Signed checkpoints checked against the chain.
    pub checkpoints: i64,
    /// Entries covered by the newest checkpoint.
    pub checkpointed_entries: i64,
    /// Entries whose content was purged past the retention period.
    pub purged: i64,
}

/// Streams one chain. `push` the entries in chain order, then `finish`.
#[derive(Debug)]
pub struct ChainVerifier<'k> {
    report: ChainReport,
    key: Option<&'k audit_keys::Verifier>,
    /// Checkpoints by the position whose hash they state.
    at_position: BTreeMap<i64, Vec<Checkpoint>>,
    newest: Option<Checkpoint>,
    every_entries: i64,
    prev: String,
    prev_seq: i64,
    content_seen: bool,
    signed_seen: bool,
    max_purged_at: Option<String>,
    purge_cutoff: Option<String>,
}

impl<'k> ChainVerifier<'k> {
    /// `checkpoints`: the tenant's, in any order (duplicates of one sequence must agree).
    /// `key`: the trusted public key; without it signatures are not checked and missing
    /// checkpoints are not looked for. `every_entries`: the configured checkpoint interval
    /// (0: none expected).
    pub fn new(
        tenant_id: &str,
        checkpoints: Vec<Checkpoint>,
        key: Option<&'k audit_keys::Verifier>,
        every_entries: i64,
    ) -> Self {
        let mut v = ChainVerifier {
            report: ChainReport {
                tenant_id: tenant_id.to_owned(),
                valid: true,
                entries: 0,
                first_broken_seq: None,
                first_broken_position: None,
                reason: None,
                head_hash: GENESIS.to_owned(),
                checkpoints: 0,
                checkpointed_entries: 0,
                purged: 0,
            },
            key,
            at_position: BTreeMap::new(),
            newest: None,
            every_entries,
            prev: GENESIS.to_owned(),
            prev_seq: 0,
            content_seen: false,
            signed_seen: false,
            max_purged_at: None,
            purge_cutoff: None,
        };
        v.take_checkpoints(checkpoints);
        v
    }

    /// As [`ChainVerifier::new`], with the checkpoints of the log (`stored`) and of the copy
    /// kept outside it (`copy`) told apart: the copy receives each checkpoint after the log
    /// has it, so one the copy holds and the log lacks was removed from the log.
    pub fn with_copy(
        tenant_id: &str,
        stored: Vec<Checkpoint>,
        copy: Vec<Checkpoint>,
        key: Option<&'k audit_keys::Verifier>,
        every_entries: i64,
    ) -> Self {
        let have: std::collections::BTreeSet<i64> = stored.iter().map(|c| c.sequence).collect();
        let lost = copy
            .iter()
            .find(|c| !have.contains(&c.sequence))
            .map(|c| (c.sequence, c.entries));
        let mut all = stored;
        all.extend(copy);
        let mut v = Self::new(tenant_id, all, key, every_entries);
        if let Some((seq, entries)) = lost {
            v.broken(None, Some(entries), format!("checkpoint {seq} is in the outside copy but no longer in the log: checkpoints were removed"));
        }
        v
    }

    fn take_checkpoints(&mut self, mut cps: Vec<Checkpoint>) {
        cps.sort_by_key(|c| c.sequence);
        let mut by_seq: BTreeMap<i64, Checkpoint> = BTreeMap::new();
        for c in cps {
            if c.tenant_id != self.report.tenant_id {
                return self.broken(
                    None,
                    None,
                    format!(
                        "checkpoint {} names tenant {:?}: it was moved from another chain",
                        c.sequence, c.tenant_id
                    ),
                );
            }
            if let Some(k) = self.key
                && !c.signature_valid(k)
            {
                return self.broken(None, Some(c.entries), format!("checkpoint {} does not carry a valid signature of the server's key: it was forged or altered", c.sequence));
            }
            match by_seq.get(&c.sequence) {
                Some(known) if *known != c => {
                    return self.broken(None, Some(c.entries), format!("two different checkpoints carry number {} (the database's and the outside copy's disagree)", c.sequence));
                }
                Some(_) => {}
                None => {
                    by_seq.insert(c.sequence, c);
                }
            }
        }
        let mut covered = 0;
        for (expected, c) in (1..).zip(by_seq.values()) {
            if c.sequence != expected {
                return self.broken(
                    None,
                    Some(c.entries),
                    format!(
                        "checkpoint {expected} is missing: the series jumps to {}",
                        c.sequence
                    ),
                );
            }
            if c.entries < covered {
                return self.broken(
                    None,
                    Some(c.entries),
                    format!(
                        "checkpoint {} covers fewer entries than the one before it",
                        c.sequence
                    ),
                );
            }
            covered = c.entries;
            if c.entries == 0 && c.head_hash != GENESIS {
                return self.broken(
                    None,
                    Some(0),
                    format!(
                        "checkpoint {} states an empty chain with a head hash",
                        c.sequence
                    ),
                );
            }
            self.at_position
                .entry(c.entries)
                .or_default()
                .push(c.clone());
        }
        self.report.checkpoints = by_seq.len() as i64;
        self.newest = by_seq.into_values().next_back();
        self.report.checkpointed_entries = self.newest.as_ref().map_or(0, |c| c.entries);
    }

    fn broken(&mut self, seq: Option<i64>, pos: Option<i64>, why: String) {
        if self.report.valid {
            self.report.valid = false;
            self.report.first_broken_seq = seq;
            self.report.first_broken_position = pos;
            self.report.reason = Some(why);
        }
    }

    /// Whether the chain is still intact (callers may stop reading when it is not).
    pub fn is_valid(&self) -> bool {
        self.report.valid
    }

    /// The next entry of the chain.
    pub fn push(&mut self, e: &Entry) {
        if !self.report.valid {
            return;
        }
        let pos = self.report.entries + 1;
        let at = |why: String| (Some(e.seq), Some(pos), why);
        let fault = if e.tenant_seq != pos {
            Some(at(format!(
                "entry {} holds position {} where {pos} was expected (removed, inserted or reordered entries)",
                e.seq, e.tenant_seq
            )))
        } else if e.seq <= self.prev_seq {
            Some(at(format!(
                "entry {} comes before its predecessor {} in the log's order (reordered entries)",
                e.seq, self.prev_seq
            )))
        } else if e.prev_hash != self.prev {
            Some(at(format!(
                "entry {} does not follow its predecessor's hash",
                e.seq
            )))
        } else if e.tenant_id != self.report.tenant_id || entry_hash(e) != e.hash {
            Some(at(format!(
                "entry {} was altered: its hash does not match its fields",
                e.seq
            )))
        } else if let Some(why) = self.signature_fault(e) {
            Some(at(why))
        } else {
            self.content_fault(e).map(at)
        };
        if let Some((seq, p, why)) = fault {
            return self.broken(seq, p, why);
        }
        if let Some(cps) = self.at_position.get(&pos)
            && let Some(c) = cps.iter().find(|c| c.head_hash != e.hash)
        {
            let why = format!(
                "entry {} is not the entry signed at position {pos} by checkpoint {}: the chain was rewritten",
                e.seq, c.sequence
            );
            return self.broken(Some(e.seq), Some(pos), why);
        }
        self.prev.clone_from(&e.hash);
        self.prev_seq = e.seq;
        self.report.entries = pos;
    }

    /// Every entry since the first signed one carries the trusted key's signature of its hash.
    fn signature_fault(&mut self, e: &Entry) -> Option<String> {
        let key = self.key?;
        match &e.signature {
            Some(sig) if key.verify_hex(&crate::entry_message(&e.hash), sig) => {
                self.signed_seen = true;
                None
            }
            Some(_) => Some(format!(
                "entry {} does not carry the server's signature: it was forged or altered",
                e.seq
            )),
            None if self.signed_seen => Some(format!(
                "entry {} is unsigned where every entry is signed: it was added outside the server",
                e.seq
            )),
            None => None,
        }
    }

    /// The content rules: content matches the digest; a missing content is either a purge or
    /// an entry older than content; purges are accounted for by a purge entry.
    fn content_fault(&mut self, e: &Entry) -> Option<String> {
        match (&e.content, &e.purged_at) {
            (Some(c), None) => {
                if sha256_hex(c) != e.digest {
                    return Some(format!(
                        "entry {}'s content was altered: it does not match its digest",
                        e.seq
                    ));
                }
                self.content_seen = true;
                if e.action == PURGE_ACTION {
                    let cut = serde_json::from_str::<serde_json::Value>(c)
                        .ok()
                        .and_then(|v| {
                            // Contents are stored shaped as before/after: the cut-off is the
                            // purge's `after.log_before`.
                            let after = v.get("after").unwrap_or(&v);
                            after.get("log_before")?.as_str().map(str::to_owned)
                        })
                        .unwrap_or_else(|| e.at.clone());
                    self.raise_cutoff(cut.min(e.at.clone()));
                }
                None
            }
            (Some(_), Some(_)) => Some(format!(
                "entry {} is marked purged but still holds content",
                e.seq
            )),
            (None, Some(_)) => {
                self.report.purged += 1;
                if self.max_purged_at.as_ref().is_none_or(|m| e.at > *m) {
                    self.max_purged_at = Some(e.at.clone());
                }
                self.content_seen = true;
                if e.action == PURGE_ACTION {
                    self.raise_cutoff(e.at.clone());
                }
                None
            }
            (None, None) if self.content_seen => Some(format!(
                "entry {}'s content was removed without a purge",
                e.seq
            )),
            (None, None) => None,
        }
    }

    fn raise_cutoff(&mut self, cut: String) {
        if self.purge_cutoff.as_ref().is_none_or(|c| cut > *c) {
            self.purge_cutoff = Some(cut);
        }
    }

    /// The end of the chain: compares it with its head, its checkpoints and its purges.
    pub fn finish(mut self, head: Head) -> ChainReport {
        let n = self.report.entries;
        if let Head::Recorded { hash, .. } = &head {
            self.report.head_hash.clone_from(hash);
        }
        if !self.report.valid {
            return self.report;
        }
        if let Some((&p, cps)) = self.at_position.range(n + 1..).next()
            && let Some(c) = cps.first()
        {
            let why = format!(
                "the chain has {n} entries but checkpoint {} covers {p}: entries were removed from its end",
                c.sequence
            );
            self.broken(None, Some(n + 1), why);
        }
        match head {
            Head::Recorded { entries, hash } => {
                if entries < n {
                    let why = format!(
                        "the chain holds {} entries past its recorded head ({entries}): rows were added outside the server",
                        n - entries
                    );
                    self.broken(None, Some(entries + 1), why);
                } else if entries > n {
                    let why = format!(
                        "the chain ends after {n} entries but its head records {entries}: entries were removed from its end"
                    );
                    self.broken(None, Some(n + 1), why);
                } else if hash != self.prev {
                    let why =
                        "the chain's last hash differs from the one its head records".to_owned();
                    self.broken(None, Some(n), why);
                }
            }
            Head::Missing if n > 0 || self.report.checkpoints > 0 => {
                self.broken(
                    None,
                    Some(n),
                    "the chain's head record is missing (log_heads was altered)".into(),
                );
            }
            _ => {}
        }
        self.check_checkpoint_coverage(n);
        if let Some(m) = &self.max_purged_at
            && self.purge_cutoff.as_ref().is_none_or(|c| m >= c)
        {
            let why =
                format!("entries up to {m} are marked purged but no purge entry accounts for them");
            self.broken(None, None, why);
        }
        self.report
    }

    /// A checkpoint is written in the same transaction as every `every_entries`-th entry since
    /// the last one, so more uncovered entries than that mean checkpoints were removed.
    fn check_checkpoint_coverage(&mut self, n: i64) {
        if self.key.is_none() || self.every_entries <= 0 {
            return;
        }
        let covered = self.report.checkpointed_entries;
        let every = self.newest.as_ref().map_or(self.every_entries, |c| {
            c.every_entries.max(self.every_entries)
        });
        if every > 0 && n - covered >= every {
            let why = if self.newest.is_none() {
                format!(
                    "the chain has {n} entries and no signed checkpoint: its checkpoints were removed"
                )
            } else {
                format!(
                    "{} entries follow the newest signed checkpoint (at {covered}), more than its interval of {every}: newer checkpoints were removed",
                    n - covered
                )
            };
            self.broken(None, Some(covered + 1), why);
        }
    }
}
