//! Performance aggregates (issue 18): the reliability table — per confidence bin, how many
//! labelled rows were right — and the classification metrics derived from it and from the
//! confusion counts. Everything here is counts and sums, so it merges exactly like the rest of
//! the profile; the baseline's table is the calibration map of the estimated accuracy of a
//! window without ground truth (`audit_baseline::performance`).

use crate::profile::{CONFIDENCE_BINS, Confusion};
use serde::{Deserialize, Serialize};

/// One confidence bin of the reliability table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Rows in the bin whose predicted outcome and ground truth are both known.
    pub labelled: u64,
    /// Of those, rows whose predicted outcome equals the ground truth (the confusion's
    /// tp + tn).
    pub correct: u64,
    /// Sum of the confidences of the labelled rows: their mean is the bin's confidence in the
    /// expected calibration error.
    pub labelled_confidence_sum: f64,
    /// Sum of the confidences of every row in the bin, labelled or not (the row count is the
    /// profile's `confidence_histogram`): the bin's mean confidence, which stands in for the
    /// accuracy of a bin the baseline has no labels for.
    pub confidence_sum: f64,
}

/// Accuracy per confidence bin, bins as `confidence_histogram`'s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    pub bins: [ReliabilityBin; CONFIDENCE_BINS],
}

impl ReliabilityBin {
    pub fn accuracy(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.correct as f64 / self.labelled as f64)
    }

    /// Mean confidence of the labelled rows.
    pub fn labelled_confidence(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.labelled_confidence_sum / self.labelled as f64)
    }
}

impl Reliability {
    /// Adds one row of bin `bin`; `correct` is `None` when the row has no ground truth or no
    /// predicted outcome.
    pub fn push(&mut self, bin: usize, confidence: f64, correct: Option<bool>) {
        let Some(b) = self.bins.get_mut(bin) else {
            return;
        };
        b.confidence_sum += confidence;
        if let Some(ok) = correct {
            b.labelled += 1;
            b.correct += u64::from(ok);
            b.labelled_confidence_sum += confidence;
        }
    }

    pub fn merge_from(&mut self, o: &Reliability) {
        for (a, b) in self.bins.iter_mut().zip(&o.bins) {
            a.labelled += b.labelled;
            a.correct += b.correct;
            a.labelled_confidence_sum += b.labelled_confidence_sum;
            a.confidence_sum += b.confidence_sum;
        }
    }

    /// No row with a confidence was seen (profiles without a confidence column).
    pub fn is_empty(&self) -> bool {
        self.bins
            .iter()
            .all(|b| b.labelled == 0 && b.confidence_sum == 0.0)
    }

    /// Labelled rows over every bin.
    pub fn labelled(&self) -> u64 {
        self.bins.iter().map(|b| b.labelled).sum()
    }

    pub fn correct(&self) -> u64 {
        self.bins.iter().map(|b| b.correct).sum()
    }

    /// Expected calibration error Σ_b (n_b / n) · |accuracy_b − confidence_b| over the labelled
    /// rows (10 equal-width bins); `None` without labelled rows.
    pub fn ece(&self) -> Option<f64> {
        let n = self.labelled();
        if n == 0 {
            return None;
        }
        let sum: f64 = self
            .bins
            .iter()
            .filter(|b| b.labelled > 0)
            .map(|b| {
                let gap = b.correct as f64 - b.labelled_confidence_sum;
                gap.abs()
            })
            .sum();
        // Σ (n_b/n)·|c_b/n_b − s_b/n_b| = Σ |c_b − s_b| / n.
        Some(sum / n as f64)
    }
}

/// The classification metrics of rows with ground truth: the positive class's (binary) and the
/// mean over the positive and negative classes (macro), as scikit-learn's
/// `precision_recall_fscore_support(average="binary" | "macro")`. A metric whose denominator is
/// zero (no predicted positives, say) is `None`, where scikit-learn would report 0 and warn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassificationMetrics {
    /// Rows with both predicted outcome and ground truth.
    pub labelled: u64,
    pub accuracy: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub macro_precision: Option<f64>,
    pub macro_recall: Option<f64>,
    pub macro_f1: Option<f64>,
    /// Expected calibration error of the confidences (needs a confidence column).
    pub ece: Option<f64>,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn mean2(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some((a? + b?) / 2.0)
}

impl Confusion {
    /// Precision of the positive class, TP / (TP + FP).
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// Recall of the positive class, TP / (TP + FN) (the true-positive rate).
    pub fn recall(&self) -> Option<f64> {
        self.tpr()
    }

    /// F1 of the positive class, 2·TP / (2·TP + FP + FN): the harmonic mean of precision and
    /// recall, in the form scikit-learn computes.
    pub fn f1(&self) -> Option<f64> {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// The same counts with the negative class as the positive one.
    pub fn negated(&self) -> Confusion {
        Confusion {
            tp: self.tn,
            fp: self.fn_,
            tn: self.tp,
            fn_: self.fp,
        }
    }

    /// Binary and macro metrics; `ece` comes from the reliability table.
    pub fn classification(&self, ece: Option<f64>) -> Option<ClassificationMetrics> {
        let labelled = self.total();
        if labelled == 0 {
            return None;
        }
        let neg = self.negated();
        Some(ClassificationMetrics {
            labelled,
            accuracy: self.accuracy(),
            precision: self.precision(),
            recall: self.recall(),
            f1: self.f1(),
            macro_precision: mean2(self.precision(), neg.precision()),
            macro_recall: mean2(self.recall(), neg.recall()),
            macro_f1: mean2(self.f1(), neg.f1()),
            ece,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ece_of_a_hand_table() {
        let mut r = Reliability::default();
        // Bin 9: three rows at 0.95, two right. Bin 5: one row at 0.55, wrong. Unlabelled rows
        // count in the bin's confidence only.
        for ok in [true, true, false] {
            r.push(9, 0.95, Some(ok));
        }
        r.push(5, 0.55, Some(false));
        r.push(5, 0.5, None);
        // (3/4)·|2/3 − 0.95| + (1/4)·|0 − 0.55|
        let want = 0.75 * (2.0 / 3.0 - 0.95f64).abs() + 0.25 * 0.55;
        assert!((r.ece().unwrap_or(f64::NAN) - want).abs() < 1e-12);
        assert_eq!((r.labelled(), r.correct()), (4, 2));
        assert!((r.bins[5].confidence_sum - 1.05).abs() < 1e-12);
        assert_eq!(Reliability::default().ece(), None);
    }

    #[test]
    fn profiles_written_before_the_table_still_load() {
        let mut p = crate::Profile::new();
        p.reliability.push(9, 0.9, Some(true));
        let mut v = serde_json::to_value(&p).unwrap_or_default();
        assert!(v.get("reliability").is_some());
        if let Some(o) = v.as_object_mut() {
            o.remove("reliability");
        }
        let old: crate::Profile = serde_json::from_value(v).expect("old profile loads");
        assert_eq!(old.reliability, Reliability::default());
        assert_eq!(old.metrics().performance, None);
    }

    #[test]
    fn undefined_metrics_are_none_not_zero() {
        // Nothing predicted positive: precision undefined; recall 0.
        let c = Confusion {
            tp: 0,
            fp: 0,
            tn: 5,
            fn_: 3,
        };
        let m = c.classification(None).unwrap_or_else(|| unreachable!());
        assert_eq!(m.precision, None);
        assert_eq!(m.recall, Some(0.0));
        assert_eq!(m.f1, Some(0.0));
        assert_eq!(m.macro_precision, None);
        assert_eq!(Confusion::default().classification(None), None);
    }
}
