use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A half-open time window `[from, to)`; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl TimeWindow {
    pub fn is_unbounded(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t < e)
    }

    /// Whether the window and the span `[start, end)` share an instant.
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.to.is_none_or(|to| start < to) && self.from.is_none_or(|from| end > from)
    }
}

/// Parses a timestamp string: RFC 3339, `YYYY-MM-DD[ T]HH:MM:SS[.fff]` (UTC), `YYYY-MM-DD`,
/// or a number of Unix seconds (milliseconds when above 10^11).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| Utc.from_utc_datetime(&t));
    }
    s.parse::<f64>().ok().and_then(epoch_to_time)
}

/// Unix seconds, or milliseconds when the value is too large to be seconds.
pub(crate) fn epoch_to_time(x: f64) -> Option<DateTime<Utc>> {
    if !x.is_finite() {
        return None;
    }
    let millis = if x.abs() > 1e11 { x } else { x * 1000.0 };
    if millis.abs() > 8.2e15 {
        return None;
    }
    DateTime::from_timestamp_millis(millis.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        let t = parse_timestamp("2026-03-01T12:00:00Z").expect("rfc3339");
        assert_eq!(parse_timestamp("2026-03-01T13:00:00+01:00"), Some(t));
        assert_eq!(parse_timestamp("2026-03-01 12:00:00"), Some(t));
        assert_eq!(parse_timestamp("1772366400"), Some(t));
        assert_eq!(parse_timestamp("1772366400000"), Some(t));
        assert!(parse_timestamp("2026-03-01").is_some());
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("NaN"), None);
    }

    #[test]
    fn window_is_half_open() {
        let a = parse_timestamp("2026-03-01T00:00:00Z");
        let b = parse_timestamp("2026-03-02T00:00:00Z");
        let w = TimeWindow { from: a, to: b };
        assert!(w.contains(a.expect("a")));
        assert!(!w.contains(b.expect("b")));
    }
}
