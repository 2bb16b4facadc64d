//! Repositories: one module per aggregate. Every function takes a connection, so callers choose
//! the transaction (`Store::write`) or a plain read (`Store::read`).

pub mod access;
pub mod audits;
pub mod baselines;
pub mod dashboard;
pub mod events;
pub mod finding_stats;
pub mod findings;
pub mod log;
pub mod models;
pub mod policies;
pub mod purge;
pub mod retention;
pub mod samples;
pub mod series;
pub mod targets;
pub mod tenants;
pub mod versions;
pub mod webhooks;

/// Largest page a list returns.
pub const MAX_LIMIT: i64 = 500;

pub(crate) fn clamp(p: crate::Paging) -> (i64, i64) {
    (p.skip.max(0), p.limit.clamp(1, MAX_LIMIT))
}

/// Runs one SQL statement as given (bulk loads such as `auditor bench-db`). Never pass it text
/// that came from a request.
pub fn execute_raw(conn: &mut crate::AnyConnection, sql: &str) -> Result<usize, crate::StoreError> {
    use diesel::RunQueryDsl;
    Ok(diesel::sql_query(sql).execute(conn)?)
}
