"""Generate reference fixtures and expected statistics for the audit engine.

Rerun from the repository root with:

    /work/venv-ref/bin/python tests/reference/make_reference.py

(the venv was made with `python3 -m venv /work/venv-ref` and
`pip install numpy scipy pandas fairlearn`).

Versions used to produce the committed files:
    Python 3.11.7, numpy 2.4.6, scipy 1.17.1, pandas 3.1.1, fairlearn 0.15.0

The script is deterministic (numpy default_rng(20261124), no network) and
writes, under tests/fixtures/reference/:

    baseline.jsonl        2000 rows, January 2026
    current.jsonl         1500 rows, February 2026 (label drift, "escalate",
                          lower confidence, stronger gender bias)
    expected.json         expected statistics (see NORMATIVE DEFINITIONS)
    small_baseline.jsonl  60 rows   (small-sample case, no expected values)
    small_current.jsonl   40 rows

Row keys: ts, prediction, confidence (printed with exactly 6 decimals),
outcome, actual, gender, age_band.

NORMATIVE DEFINITIONS (expected values are computed from the files as read
back with `json`, i.e. exactly what any reader of the files sees):
  * label_distribution = count/n; avg_confidence = mean; confidence_variance =
    population variance (ddof=0); outcome_rate = positives/n.
  * confidence histogram: 10 bins, bin = min(floor(c*10.0), 9) in float64.
  * PSI = sum (q-p) ln(q/p), each proportion floored at 1e-4, no renormalising.
  * JS distance = scipy.spatial.distance.jensenshannon(p, q, base=2) on the
    unfloored proportions.
  * chi-square GOF: expected = floored p renormalised to 1 times n_current,
    observed = current counts, scipy.stats.chisquare; df = k-1.
    Labels / bins are the sorted union of both files (bins: always 10).
  * bias: groups with count >= 30 only; selection rate = outcome positives /
    count; dpd = max-min; dir = min/max (1 if max == 0); eod = max TPR - min
    TPR, TPR = P(outcome | actual) within group; p_value = two-sided pooled
    two-proportion z-test between the min-rate and max-rate scored groups
    (current file).
  * avg_confidence_p = scipy.stats.ttest_ind(cur, base, equal_var=False).
  * outcome_rate_p = two-sided pooled two-proportion z-test (norm.sf).
  * confusion: outcome as prediction vs actual (tp/fp/tn/fn).
"""

import json
import math
import os
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon

try:
    import fairlearn
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        demographic_parity_ratio,
        true_positive_rate,
    )

    FAIRLEARN_VERSION = fairlearn.__version__
except ImportError:  # pragma: no cover - documented fallback
    FAIRLEARN_VERSION = None

try:  # cross-check only if already installed; never installed on purpose
    from statsmodels.stats.proportion import proportions_ztest
except ImportError:
    proportions_ztest = None

SEED = 20261124
MIN_GROUP = 30
FLOOR = 1e-4
NBINS = 10
KEYS = ("ts", "prediction", "confidence", "outcome", "actual", "gender", "age_band")
SPECIAL_CONF = (0.0, 1.0, 0.1, 0.3, 0.5, 0.7, 0.9)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "reference")


# --------------------------------------------------------------------------
# Fixture generation
# --------------------------------------------------------------------------

def generate(rng, n, start, step_minutes, n_nonbinary, current, female_penalty):
    """Return a list of row dicts (confidence already rounded to 6 decimals)."""
    rows = []
    nb_idx = set(rng.choice(n, size=n_nonbinary, replace=False).tolist())
    t = start
    for i in range(n):
        # strictly increasing timestamps, whole seconds
        t = t + timedelta(minutes=step_minutes - 5, seconds=int(rng.integers(0, 300)) + 1)
        if i in nb_idx:
            gender = "nonbinary"
        else:
            gender = "female" if rng.random() < 0.5 else "male"
        age_band = ["18-30", "31-50", "51+"][int(rng.choice(3, p=[0.3, 0.45, 0.25]))]
        actual = bool(rng.random() < 0.55)

        a = 0.72 if actual else 0.25
        if current:
            a -= 0.08  # overall more denials
        if gender == "female":
            a -= female_penalty
        a = min(max(a, 0.02), 0.98)
        rest = 1.0 - a
        if current:
            probs = {"approve": a, "escalate": 0.02, "review": 0.22 * (rest - 0.02)}
            probs["deny"] = 1.0 - probs["approve"] - probs["escalate"] - probs["review"]
        else:
            probs = {"approve": a, "review": 0.35 * rest}
            probs["deny"] = 1.0 - probs["approve"] - probs["review"]
        labels = sorted(probs)
        prediction = labels[int(rng.choice(len(labels), p=[probs[l] for l in labels]))]

        outcome = prediction == "approve" or (prediction == "review" and rng.random() < 0.3)

        if prediction in ("approve", "deny"):
            c = rng.beta(6.0, 2.0)
        else:
            c = rng.beta(3.0, 3.0)
        if current:
            c -= 0.06
        c = min(max(c, 0.0), 1.0)
        if rng.random() < 0.04:
            c = SPECIAL_CONF[int(rng.integers(0, len(SPECIAL_CONF)))]
        c = round(float(c), 6)

        rows.append(
            {
                "ts": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "prediction": prediction,
                "confidence": c,
                "outcome": outcome,
                "actual": actual,
                "gender": gender,
                "age_band": age_band,
            }
        )
    return rows


def ensure_specials(rows, rng):
    """Guarantee every special confidence value appears at least twice."""
    for k, v in enumerate(SPECIAL_CONF):
        have = sum(1 for r in rows if r["confidence"] == v)
        j = 7 * k + 3
        while have < 2:
            if rows[j]["confidence"] not in SPECIAL_CONF:
                rows[j]["confidence"] = v
                have += 1
            j += 11


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            parts = []
            for k in KEYS:
                v = r[k]
                if k == "confidence":
                    s = "%.6f" % v
                else:
                    s = json.dumps(v)
                parts.append("%s: %s" % (json.dumps(k), s))
            f.write("{" + ", ".join(parts) + "}\n")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------

def conf_bin(c):
    return min(math.floor(c * 10.0), NBINS - 1)


def profile(rows):
    n = len(rows)
    conf = np.array([r["confidence"] for r in rows], dtype=np.float64)
    label_counts = {}
    for r in rows:
        label_counts[r["prediction"]] = label_counts.get(r["prediction"], 0) + 1
    label_counts = dict(sorted(label_counts.items()))
    hist = [0] * NBINS
    for c in conf:
        hist[conf_bin(float(c))] += 1
    positives = sum(1 for r in rows if r["outcome"] is True)
    pgo = {}
    for attr in ("gender", "age_band"):
        groups = sorted({r[attr] for r in rows})
        pgo[attr] = {}
        for g in groups:
            sub = [r for r in rows if r[attr] == g]
            pgo[attr][g] = {
                "count": len(sub),
                "positive_rate": sum(1 for r in sub if r["outcome"]) / len(sub),
                "avg_confidence": float(np.mean([r["confidence"] for r in sub])),
            }
    tp = sum(1 for r in rows if r["outcome"] and r["actual"])
    fp = sum(1 for r in rows if r["outcome"] and not r["actual"])
    tn = sum(1 for r in rows if not r["outcome"] and not r["actual"])
    fn = sum(1 for r in rows if not r["outcome"] and r["actual"])
    assert tp + fp + tn + fn == n
    return {
        "n": n,
        "label_counts": label_counts,
        "label_distribution": {k: v / n for k, v in label_counts.items()},
        "avg_confidence": float(np.mean(conf)),
        "confidence_variance": float(np.var(conf, ddof=0)),
        "confidence_histogram": hist,
        "outcome_rate": positives / n,
        "positives": positives,
        "protected_group_outcomes": pgo,
        "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
    }


def drift(base_counts, cur_counts, n_base, n_cur):
    """base_counts/cur_counts: aligned lists of counts over the same categories."""
    p = np.array(base_counts, dtype=np.float64) / n_base
    q = np.array(cur_counts, dtype=np.float64) / n_cur
    pf = np.maximum(p, FLOOR)
    qf = np.maximum(q, FLOOR)
    psi = float(np.sum((qf - pf) * np.log(qf / pf)))
    js = float(jensenshannon(p, q, base=2))
    expected = pf / pf.sum() * n_cur
    chi = stats.chisquare(np.array(cur_counts, dtype=np.float64), expected)
    return psi, js, float(chi.statistic), float(chi.pvalue), len(base_counts) - 1


def two_prop_p(x1, n1, x2, n2):
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if se == 0.0:
        return 1.0
    z = (p1 - p2) / se
    p = float(2.0 * stats.norm.sf(abs(z)))
    if proportions_ztest is not None:
        _, sp = proportions_ztest([x1, x2], [n1, n2])
        assert abs(sp - p) < 1e-12, (sp, p)
    return p


def group_stats(rows, attr):
    out = {}
    for g in sorted({r[attr] for r in rows}):
        sub = [r for r in rows if r[attr] == g]
        pos = [r for r in sub if r["actual"]]
        assert pos, "group without actual positives"
        out[g] = {
            "count": len(sub),
            "pos": sum(1 for r in sub if r["outcome"]),
            "tpr": sum(1 for r in pos if r["outcome"]) / len(pos),
        }
    return out


def bias_metrics(rows, attr):
    gs = group_stats(rows, attr)
    scored = sorted(g for g, s in gs.items() if s["count"] >= MIN_GROUP)
    assert len(scored) >= 2
    rates = {g: gs[g]["pos"] / gs[g]["count"] for g in scored}
    rmax, rmin = max(rates.values()), min(rates.values())
    dpd = rmax - rmin
    dir_ = 1.0 if rmax == 0.0 else rmin / rmax
    tprs = [gs[g]["tpr"] for g in scored]
    eod = max(tprs) - min(tprs)

    if FAIRLEARN_VERSION is not None:
        sub = [r for r in rows if r[attr] in scored]
        y_true = np.array([int(r["actual"]) for r in sub])
        y_pred = np.array([int(r["outcome"]) for r in sub])
        sf = np.array([r[attr] for r in sub])
        f_dpd = demographic_parity_difference(y_true, y_pred, sensitive_features=sf)
        f_dir = demographic_parity_ratio(y_true, y_pred, sensitive_features=sf)
        mf = MetricFrame(
            metrics=true_positive_rate, y_true=y_true, y_pred=y_pred, sensitive_features=sf
        )
        f_eod = mf.difference()
        assert abs(f_dpd - dpd) < 1e-12, (attr, f_dpd, dpd)
        assert abs(f_dir - dir_) < 1e-12, (attr, f_dir, dir_)
        assert abs(f_eod - eod) < 1e-12, (attr, f_eod, eod)
    return dpd, dir_, eod, scored, rates, gs


def comparison(base_rows, cur_rows, pb, pc):
    nb, nc = pb["n"], pc["n"]
    labels = sorted(set(pb["label_counts"]) | set(pc["label_counts"]))
    psi_l, js_l, chi_l, chip_l, df_l = drift(
        [pb["label_counts"].get(l, 0) for l in labels],
        [pc["label_counts"].get(l, 0) for l in labels],
        nb,
        nc,
    )
    psi_c, js_c, chi_c, chip_c, df_c = drift(
        pb["confidence_histogram"], pc["confidence_histogram"], nb, nc
    )
    cb = np.array([r["confidence"] for r in base_rows], dtype=np.float64)
    cc = np.array([r["confidence"] for r in cur_rows], dtype=np.float64)
    t = stats.ttest_ind(cc, cb, equal_var=False)

    bias = {}
    for attr in ("gender", "age_band"):
        dpd, dir_, eod, scored, rates, gs = bias_metrics(cur_rows, attr)
        bdpd, bdir, beod, _, _, _ = bias_metrics(base_rows, attr)
        gmin = min(scored, key=lambda g: rates[g])
        gmax = max(scored, key=lambda g: rates[g])
        # no ties at the extremes, so the choice of groups is unambiguous
        assert sum(1 for g in scored if rates[g] == rates[gmin]) == 1
        assert sum(1 for g in scored if rates[g] == rates[gmax]) == 1
        pval = two_prop_p(gs[gmin]["pos"], gs[gmin]["count"], gs[gmax]["pos"], gs[gmax]["count"])
        bias[attr] = {
            "dpd": dpd,
            "dir": dir_,
            "eod": eod,
            "baseline_dpd": bdpd,
            "baseline_dir": bdir,
            "baseline_eod": beod,
            "groups_scored": scored,
            "p_value": pval,
        }

    return {
        "psi_label": psi_l,
        "js_label": js_l,
        "chi2_label": chi_l,
        "chi2_p_label": chip_l,
        "chi2_df_label": df_l,
        "psi_confidence": psi_c,
        "js_confidence": js_c,
        "chi2_confidence": chi_c,
        "chi2_p_confidence": chip_c,
        "chi2_df_confidence": df_c,
        "avg_confidence_change": pc["avg_confidence"] - pb["avg_confidence"],
        "avg_confidence_p": float(t.pvalue),
        "outcome_rate_change": pc["outcome_rate"] - pb["outcome_rate"],
        "outcome_rate_p": two_prop_p(pc["positives"], nc, pb["positives"], nb),
        "bias": bias,
    }


# --------------------------------------------------------------------------

def main():
    rng = np.random.default_rng(SEED)
    os.makedirs(OUT_DIR, exist_ok=True)
    jan = datetime(2026, 1, 1, 0, 0, 0, tzinfo=timezone.utc)
    feb = datetime(2026, 2, 1, 0, 0, 0, tzinfo=timezone.utc)

    base = generate(rng, 2000, jan, 20, 20, current=False, female_penalty=0.04)
    cur = generate(rng, 1500, feb, 25, 15, current=True, female_penalty=0.20)
    ensure_specials(base, rng)
    ensure_specials(cur, rng)
    small_base = generate(rng, 60, jan, 20, 3, current=False, female_penalty=0.04)
    small_cur = generate(rng, 40, feb, 25, 2, current=True, female_penalty=0.20)
    # make the small-sample label shift unmistakable
    for r in small_cur[:12]:
        r["prediction"] = "deny"
        r["outcome"] = False

    paths = {
        "baseline": os.path.join(OUT_DIR, "baseline.jsonl"),
        "current": os.path.join(OUT_DIR, "current.jsonl"),
        "small_baseline": os.path.join(OUT_DIR, "small_baseline.jsonl"),
        "small_current": os.path.join(OUT_DIR, "small_current.jsonl"),
    }
    write_jsonl(paths["baseline"], base)
    write_jsonl(paths["current"], cur)
    write_jsonl(paths["small_baseline"], small_base)
    write_jsonl(paths["small_current"], small_cur)

    # Read back: expected values are computed from exactly what is on disk.
    base_rows = read_jsonl(paths["baseline"])
    cur_rows = read_jsonl(paths["current"])
    for rows, month in ((base_rows, "2026-01"), (cur_rows, "2026-02")):
        ts = [r["ts"] for r in rows]
        assert all(t.startswith(month) for t in ts)
        assert all(a < b for a, b in zip(ts, ts[1:]))
        assert all(0.0 <= r["confidence"] <= 1.0 for r in rows)
        nb = sum(1 for r in rows if r["gender"] == "nonbinary")
        assert 0 < nb < MIN_GROUP

    pb = profile(base_rows)
    pc = profile(cur_rows)
    comp = comparison(base_rows, cur_rows, pb, pc)

    expected = {
        "generated_by": "tests/reference/make_reference.py",
        "scipy": scipy.__version__,
        "fairlearn": FAIRLEARN_VERSION,
        "profiles": {"baseline": pb, "current": pc},
        "comparison": comp,
    }
    with open(os.path.join(OUT_DIR, "expected.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(expected, indent=2, allow_nan=False) + "\n")

    assert comp["psi_label"] > 0.1, comp["psi_label"]
    assert comp["bias"]["gender"]["dpd"] > 0.1, comp["bias"]["gender"]["dpd"]
    print("wrote", OUT_DIR, file=sys.stderr)


if __name__ == "__main__":
    main()
