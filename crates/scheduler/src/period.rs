//! When a policy runs next: daily, weekly, monthly (same day next month, clamped to its
//! length), optionally compressed for demos. After downtime an overdue policy runs once, not
//! once per missed slot.

use audit_domain::AuditFrequency;
use chrono::{DateTime, Duration, Months, Utc};

/// How much faster than real time the schedule runs (1 = real time). A scale of 1440 makes a
/// day last one minute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(pub f64);

impl Default for TimeScale {
    fn default() -> Self {
        TimeScale(1.0)
    }
}

impl TimeScale {
    pub fn is_real_time(self) -> bool {
        self.0 == 1.0
    }
}

/// The slot after `slot`.
pub fn next_slot(slot: DateTime<Utc>, freq: AuditFrequency, scale: TimeScale) -> DateTime<Utc> {
    if !scale.is_real_time() {
        let days = match freq {
            AuditFrequency::Daily => 1.0,
            AuditFrequency::Weekly => 7.0,
            AuditFrequency::Monthly => 30.0,
        };
        let ms = (days * 86_400_000.0 / scale.0.max(1e-9)).max(1000.0);
        return slot + Duration::milliseconds(ms as i64);
    }
    match freq {
        AuditFrequency::Daily => slot + Duration::days(1),
        AuditFrequency::Weekly => slot + Duration::days(7),
        // chrono clamps to the last day of a shorter month (Jan 31 → Feb 28/29).
        AuditFrequency::Monthly => slot
            .checked_add_months(Months::new(1))
            .unwrap_or(slot + Duration::days(30)),
    }
}

/// The first slot after `now` in the series that starts at `slot`. For monthly series the day
/// of month of the original slot is kept where the month allows it.
pub fn next_after(
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
    freq: AuditFrequency,
    scale: TimeScale,
) -> DateTime<Utc> {
    let mut next = next_slot(slot, freq, scale);
    if next > now {
        return next;
    }
    // Skip whole periods at once rather than looping over a long downtime.
    if freq != AuditFrequency::Monthly || !scale.is_real_time() {
        let period = next - slot;
        let behind = now - next;
        let skip = behind.num_milliseconds() / period.num_milliseconds().max(1) + 1;
        next += period * skip as i32;
        return next;
    }
    let mut months = 1u32;
    while next <= now {
        months += 1;
        next = slot
            .checked_add_months(Months::new(months))
            .unwrap_or(now + Duration::days(30));
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn periods() {
        let s = t(2026, 1, 31, 9);
        let real = TimeScale::default();
        assert_eq!(next_slot(s, AuditFrequency::Daily, real), t(2026, 2, 1, 9));
        assert_eq!(next_slot(s, AuditFrequency::Weekly, real), t(2026, 2, 7, 9));
        assert_eq!(
            next_slot(s, AuditFrequency::Monthly, real),
            t(2026, 2, 28, 9)
        );
        assert_eq!(
            next_slot(t(2028, 1, 31, 9), AuditFrequency::Monthly, real),
            t(2028, 2, 29, 9)
        );
    }

    #[test]
    fn downtime_gives_one_catch_up_then_the_next_future_slot() {
        let real = TimeScale::default();
        let slot = t(2026, 3, 1, 0);
        let now = t(2026, 3, 10, 12);
        assert_eq!(
            next_after(slot, now, AuditFrequency::Daily, real),
            t(2026, 3, 11, 0)
        );
        assert_eq!(
            next_after(slot, now, AuditFrequency::Weekly, real),
            t(2026, 3, 15, 0)
        );
        let now = t(2026, 7, 2, 0);
        assert_eq!(
            next_after(t(2026, 1, 31, 0), now, AuditFrequency::Monthly, real),
            t(2026, 7, 31, 0)
        );
        // Not overdue: simply the next slot.
        assert_eq!(
            next_after(slot, t(2026, 3, 1, 5), AuditFrequency::Daily, real),
            t(2026, 3, 2, 0)
        );
    }

    #[test]
    fn compressed_time() {
        let fast = TimeScale(1440.0);
        let s = t(2026, 3, 1, 0);
        assert_eq!(
            next_slot(s, AuditFrequency::Daily, fast) - s,
            Duration::seconds(60)
        );
        assert_eq!(
            next_slot(s, AuditFrequency::Weekly, fast) - s,
            Duration::seconds(420)
        );
        let now = s + Duration::seconds(150);
        assert_eq!(
            next_after(s, now, AuditFrequency::Daily, fast),
            s + Duration::seconds(180)
        );
    }
}
