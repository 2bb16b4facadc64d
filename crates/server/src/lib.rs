//! The `auditor` command: the engine's CLI (`profile`, `audit`, `gen-evidence`) and, from the
//! service issue on, the server. Kept as a library so integration tests drive it in-process.

pub mod benchdb;
pub mod cli;
pub mod demo;
pub mod ledger;
pub mod maint;
pub mod output;
pub mod probe;
mod progress;
pub mod sealkey;
pub mod serve;
pub mod synth;
