#!/usr/bin/env python3
"""Reference values of the classification metrics (issue 18) from scikit-learn.

Writes tests/fixtures/reference/classification.json — (y_true, y_pred) pairs, deterministic —
and prints scikit-learn's accuracy, binary and macro precision, recall and F1 on them, the
values committed in crates/baseline/tests/performance.rs. Only needed to regenerate them; the
Rust tests do not run Python.
"""
import json
import pathlib
import random

from sklearn.metrics import accuracy_score, precision_recall_fscore_support

rng = random.Random(18)
y_true, y_pred = [], []
for _ in range(997):
    t = 1 if rng.random() < 0.31 else 0
    # Recall 0.72 on positives, 0.86 specificity on negatives: imbalanced and imperfect.
    p = t if rng.random() < (0.72 if t else 0.86) else 1 - t
    y_true.append(t)
    y_pred.append(p)

out = pathlib.Path(__file__).resolve().parents[1] / "fixtures/reference/classification.json"
out.write_text(json.dumps({"y_true": y_true, "y_pred": y_pred}) + "\n")

print(f"accuracy        {accuracy_score(y_true, y_pred)!r}")
for avg in ("binary", "macro"):
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=avg)
    print(f"{avg:<8} precision {p!r} recall {r!r} f1 {f!r}")
