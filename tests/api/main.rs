//! Integration tests of `auditor serve`: the real server on a random port, a fresh database per
//! test, on SQLite and (with `AUDITOR_TEST_POSTGRES_URL`) on PostgreSQL.

#![allow(clippy::unwrap_used)]

mod harness;

mod active;
mod audits;
mod browser;
mod compliance;
mod concurrency;
mod console;
mod console_browser;
mod dashboards;
mod decisions;
mod errors;
mod events;
mod flood;
mod frontend;
mod frontend_browser;
mod frontend_monitoring;
mod governance;
mod instances;
mod logs;
mod notify;
mod open_access;
mod openapi;
mod outbound;
mod privacy;
mod pruning;
mod registry;
mod report;
mod retention;
mod rules;
mod secrets;
mod tamper;
mod validation;
