//! Fair admission to the worker pool.
//!
//! Scheduled runs and runs asked for with run-now (`POST /models/{model_id}/audits`,
//! `POST /api/v1/audit`) have separate room, so run-now can never crowd out a scheduled slot:
//! the scanner claims only as many due policies as the scheduled room holds (the rest stay due
//! and are claimed at a later tick, never failed), and the queue itself is unbounded, so a
//! claimed run is always queued. Run-now is limited per model (one queued or running at a
//! time), per tenant and overall, and is refused with 429 beyond that.
//!
//! Each admitted run holds a [`Ticket`]; dropping it (when the worker is done, or when a claim
//! does not happen) gives the room back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How much room each kind of run has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Scheduled runs queued or running at once (the scanner claims only this many).
    pub scheduled: usize,
    /// Run-now runs queued or running at once, all tenants together.
    pub manual: usize,
    /// Run-now runs queued or running at once per tenant.
    pub manual_per_tenant: usize,
}

/// Why run-now was refused; each is a 429 for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(
        "an audit of model '{0}' asked for on demand is already queued or running; wait for it to finish"
    )]
    Model(String),
    #[error(
        "this tenant already has {0} audits asked for on demand queued or running; try again when one has finished"
    )]
    Tenant(usize),
    #[error("the audit queue is full; try again shortly")]
    Full,
}

#[derive(Debug, Default)]
struct Counts {
    scheduled: usize,
    manual: usize,
    models: HashMap<String, usize>,
    tenants: HashMap<String, usize>,
}

/// The counters behind admission.
#[derive(Debug)]
pub struct Slots {
    limits: Limits,
    counts: Mutex<Counts>,
}

#[derive(Debug)]
enum Kind {
    Scheduled,
    Manual { model: String, tenant: String },
}

/// Room held by one queued or running run; released on drop.
#[derive(Debug)]
pub struct Ticket {
    slots: Arc<Slots>,
    kind: Kind,
}

fn dec(map: &mut HashMap<String, usize>, key: &str) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let Ok(mut c) = self.slots.counts.lock() else {
            return;
        };
        match &self.kind {
            Kind::Scheduled => c.scheduled = c.scheduled.saturating_sub(1),
            Kind::Manual { model, tenant } => {
                c.manual = c.manual.saturating_sub(1);
                dec(&mut c.models, model);
                dec(&mut c.tenants, tenant);
            }
        }
    }
}

impl Slots {
    pub fn new(limits: Limits) -> Arc<Slots> {
        Arc::new(Slots {
            limits: Limits {
                scheduled: limits.scheduled.max(1),
                manual: limits.manual.max(1),
                manual_per_tenant: limits.manual_per_tenant.max(1),
            },
            counts: Mutex::default(),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// How many more scheduled runs may be claimed now.
    pub fn scheduled_room(&self) -> usize {
        self.counts
            .lock()
            .map_or(0, |c| self.limits.scheduled.saturating_sub(c.scheduled))
    }

    /// (scheduled, run-now) runs queued or running.
    pub fn in_flight(&self) -> (usize, usize) {
        self.counts
            .lock()
            .map_or((0, 0), |c| (c.scheduled, c.manual))
    }

    /// Room for a claimed scheduled run. Always granted: the scanner claims only within
    /// [`Slots::scheduled_room`], and a claimed slot must run rather than fail.
    pub fn scheduled(self: &Arc<Self>) -> Ticket {
        if let Ok(mut c) = self.counts.lock() {
            c.scheduled += 1;
        }
        Ticket {
            slots: Arc::clone(self),
            kind: Kind::Scheduled,
        }
    }

    /// Room for a run-now run of `model` (of `tenant`), or why not.
    pub fn manual(self: &Arc<Self>, model: &str, tenant: &str) -> Result<Ticket, Refused> {
        let mut c = self.counts.lock().map_err(|_| Refused::Full)?;
        if c.models.get(model).copied().unwrap_or(0) > 0 {
            return Err(Refused::Model(model.to_owned()));
        }
        if c.tenants.get(tenant).copied().unwrap_or(0) >= self.limits.manual_per_tenant {
            return Err(Refused::Tenant(self.limits.manual_per_tenant));
        }
        if c.manual >= self.limits.manual {
            return Err(Refused::Full);
        }
        c.manual += 1;
        *c.models.entry(model.to_owned()).or_default() += 1;
        *c.tenants.entry(tenant.to_owned()).or_default() += 1;
        Ok(Ticket {
            slots: Arc::clone(self),
            kind: Kind::Manual {
                model: model.to_owned(),
                tenant: tenant.to_owned(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn slots() -> Arc<Slots> {
        Slots::new(Limits {
            scheduled: 2,
            manual: 3,
            manual_per_tenant: 2,
        })
    }

    #[test]
    fn one_run_now_per_model() {
        let s = slots();
        let t = s.manual("m", "a").unwrap();
        assert_eq!(s.manual("m", "a").unwrap_err(), Refused::Model("m".into()));
        drop(t);
        assert!(s.manual("m", "a").is_ok());
    }

    #[test]
    fn per_tenant_and_overall_bounds() {
        let s = slots();
        let a1 = s.manual("m1", "a").unwrap();
        let _a2 = s.manual("m2", "a").unwrap();
        assert_eq!(s.manual("m3", "a").unwrap_err(), Refused::Tenant(2));
        let _b1 = s.manual("m4", "b").unwrap();
        assert_eq!(s.manual("m5", "c").unwrap_err(), Refused::Full);
        drop(a1);
        let _c1 = s.manual("m5", "c").unwrap();
        assert_eq!(s.in_flight(), (0, 3));
    }

    #[test]
    fn run_now_never_takes_scheduled_room() {
        let s = slots();
        let _held: Vec<_> = ["m1", "m2", "m3"]
            .iter()
            .enumerate()
            .map(|(i, m)| s.manual(m, &format!("t{i}")).unwrap())
            .collect();
        assert!(s.manual("m9", "t9").is_err());
        assert_eq!(s.scheduled_room(), 2);
        let t1 = s.scheduled();
        let _t2 = s.scheduled();
        assert_eq!(s.scheduled_room(), 0);
        drop(t1);
        assert_eq!(s.scheduled_room(), 1);
        assert_eq!(s.in_flight(), (1, 3));
    }
}
