//! What the dashboards plot over time: scores of judged audits and findings by severity,
//! category and status, per week, month or quarter; the riskiest models; recent activity.
//! Rows are counted per day in SQL (the same text-date grouping on both backends) and the days
//! folded into periods here.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::{AnyConnection, StoreError};

/// The length of one point of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    Week,
    Month,
    Quarter,
}

impl Granularity {
    pub fn parse(s: &str) -> Option<Granularity> {
        match s {
            "day" => Some(Granularity::Day),
            "week" => Some(Granularity::Week),
            "month" => Some(Granularity::Month),
            "quarter" => Some(Granularity::Quarter),
            _ => None,
        }
    }

    /// The first day of the period holding `d` (weeks start on Monday).
    pub fn start_of(self, d: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => d,
            Granularity::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
            Granularity::Month => d.with_day(1).unwrap_or(d),
            Granularity::Quarter => {
                let m = (d.month0() / 3) * 3 + 1;
                NaiveDate::from_ymd_opt(d.year(), m, 1).unwrap_or(d)
            }
        }
    }

    /// The first day of the period before the one starting at `start`.
    fn previous(self, start: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => start - Duration::days(1),
            Granularity::Week => start - Duration::days(7),
            Granularity::Month => self.start_of(start - Duration::days(1)),
            Granularity::Quarter => self.start_of(start - Duration::days(1)),
        }
    }
}

/// One period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesPoint {
    /// First day of the period (UTC).
    pub start: NaiveDate,
    /// Judged passive audits finished in the period.
    pub audits: i64,
    /// Means over those audits (`None` when there were none).
    pub drift_score: Option<f64>,
    pub bias_score: Option<f64>,
    pub risk_score: Option<f64>,
    /// Findings made in the period.
    pub findings: i64,
    pub findings_by_severity: BTreeMap<String, i64>,
    pub findings_by_category: BTreeMap<String, i64>,
    /// By their status now.
    pub findings_by_status: BTreeMap<String, i64>,
}

#[derive(QueryableByName)]
struct ScoreDay {
    #[diesel(sql_type = Text)]
    day: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Double)]
    drift: f64,
    #[diesel(sql_type = Double)]
    bias: f64,
    #[diesel(sql_type = Double)]
    risk: f64,
}

#[derive(QueryableByName)]
struct FindingDay {
    #[diesel(sql_type = Text)]
    day: String,
    #[diesel(sql_type = Text)]
    severity: String,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn filters(prefix: &str, tenant: Option<&str>, model: Option<&str>) -> Result<String, StoreError> {
    super::dashboard::model_clause(&format!("{prefix}model_id"), tenant, model)
}

/// The last `periods` periods up to `now`, oldest first, every period present.
pub fn series(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    model: Option<&str>,
    g: Granularity,
    periods: u32,
    now: DateTime<Utc>,
) -> Result<Vec<SeriesPoint>, StoreError> {
    let mut points = scores(conn, tenant, model, g, periods, now)?;
    let Some(first) = points.first() else {
        return Ok(points);
    };
    let from = first.start.format("%Y-%m-%d").to_string();
    let found: Vec<FindingDay> = diesel::sql_query(format!(
        "SELECT substr(CAST(created_at AS TEXT), 1, 10) AS day, severity, category, status, \
         CAST(COUNT(*) AS BIGINT) AS n FROM audit_findings WHERE created_at >= '{from}'{} \
         GROUP BY substr(CAST(created_at AS TEXT), 1, 10), severity, category, status",
        filters("", tenant, model)?
    ))
    .load(conn)?;
    let starts: Vec<NaiveDate> = points.iter().map(|p| p.start).collect();
    for f in found {
        if let Some(i) = period_of(g, &starts, &f.day) {
            let p = &mut points[i];
            p.findings += f.n;
            *p.findings_by_severity.entry(f.severity).or_default() += f.n;
            *p.findings_by_category.entry(f.category).or_default() += f.n;
            *p.findings_by_status.entry(f.status).or_default() += f.n;
        }
    }
    Ok(points)
}

/// The period of `starts` a `YYYY-MM-DD` day falls in.
fn period_of(g: Granularity, starts: &[NaiveDate], day: &str) -> Option<usize> {
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    let s = g.start_of(d);
    starts.iter().position(|x| *x == s)
}

/// The points of [`series`] with their audit counts and mean scores only (no finding counts):
/// what a score chart needs, without grouping every finding of the periods (about ten times
/// cheaper on a million findings).
pub fn scores(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    model: Option<&str>,
    g: Granularity,
    periods: u32,
    now: DateTime<Utc>,
) -> Result<Vec<SeriesPoint>, StoreError> {
    let mut starts = vec![g.start_of(now.date_naive())];
    for _ in 1..periods.clamp(1, 120) {
        let prev = g.previous(starts[starts.len() - 1]);
        starts.push(prev);
    }
    starts.reverse();
    let from = starts[0].format("%Y-%m-%d").to_string();
    let rows: Vec<ScoreDay> = diesel::sql_query(format!(
        "SELECT substr(CAST(r.executed_at AS TEXT), 1, 10) AS day, CAST(COUNT(*) AS BIGINT) AS n, \
         CAST(SUM(s.drift_score) AS DOUBLE PRECISION) AS drift, \
         CAST(SUM(s.bias_score) AS DOUBLE PRECISION) AS bias, \
         CAST(SUM(s.risk_score) AS DOUBLE PRECISION) AS risk \
         FROM audit_runs r JOIN audit_summaries s ON s.audit_id = r.audit_id \
         WHERE r.audit_type = 'passive' AND r.executed_at >= '{from}'{} \
         GROUP BY substr(CAST(r.executed_at AS TEXT), 1, 10)",
        filters("r.", tenant, model)?
    ))
    .load(conn)?;
    let mut points: Vec<SeriesPoint> = starts
        .iter()
        .map(|s| SeriesPoint {
            start: *s,
            audits: 0,
            drift_score: None,
            bias_score: None,
            risk_score: None,
            findings: 0,
            findings_by_severity: BTreeMap::new(),
            findings_by_category: BTreeMap::new(),
            findings_by_status: BTreeMap::new(),
        })
        .collect();
    let mut sums = vec![(0.0, 0.0, 0.0); points.len()];
    for r in rows {
        if let Some(i) = period_of(g, &starts, &r.day) {
            points[i].audits += r.n;
            sums[i].0 += r.drift;
            sums[i].1 += r.bias;
            sums[i].2 += r.risk;
        }
    }
    for (p, (d, b, r)) in points.iter_mut().zip(sums) {
        if p.audits > 0 {
            let n = p.audits as f64;
            p.drift_score = Some(d / n);
            p.bias_score = Some(b / n);
            p.risk_score = Some(r / n);
        }
    }
    Ok(points)
}

/// A model by the risk of its latest judged passive audit.
#[derive(Debug, Clone, PartialEq, Serialize, QueryableByName)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskyModel {
    #[diesel(sql_type = Text)]
    pub model_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub audit_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub audit_result: Option<String>,
    #[diesel(sql_type = Double)]
    pub risk_score: f64,
    #[diesel(sql_type = Double)]
    pub drift_score: f64,
    #[diesel(sql_type = Double)]
    pub bias_score: f64,
}

/// The `limit` active models with the highest latest risk (archived ones are not at risk:
/// they no longer run).
pub fn riskiest(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    limit: i64,
) -> Result<Vec<RiskyModel>, StoreError> {
    Ok(diesel::sql_query(format!(
        "SELECT m.model_id, m.name, r.audit_id, r.audit_result, s.risk_score, s.drift_score, \
         s.bias_score FROM ai_models m \
         JOIN audit_runs r ON r.id = (SELECT r2.id FROM audit_runs r2 \
                JOIN audit_summaries s2 ON s2.audit_id = r2.audit_id \
                WHERE r2.model_id = m.model_id AND r2.audit_type = 'passive' \
                ORDER BY r2.id DESC LIMIT 1) \
         JOIN audit_summaries s ON s.audit_id = r.audit_id WHERE m.archived_at IS NULL{} \
         ORDER BY s.risk_score DESC, m.model_id LIMIT {}",
        filters("m.", tenant, None)?,
        limit.clamp(1, 100)
    ))
    .load(conn)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn periods_start_where_people_expect() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(); // a Thursday
        assert_eq!(
            Granularity::Week.start_of(d),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
        assert_eq!(
            Granularity::Month.start_of(d),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        assert_eq!(
            Granularity::Quarter.start_of(d),
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
        );
        let q = Granularity::Quarter.previous(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        assert_eq!(q, NaiveDate::from_ymd_opt(2025, 10, 1).unwrap());
        assert!(filters("", Some("x' OR 1=1 --"), None).is_err());
    }
}
