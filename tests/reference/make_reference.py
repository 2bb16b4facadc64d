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
  * accuracy_p = scipy.stats.fisher_exact on right (tp + tn) and wrong (fp + fn)
    rows of both files; a member of the decisions' family (risk.accuracy).
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


MIN_EXPECTED = 5.0
ALPHA = 0.005  # Thresholds::default().alpha, family-wise
EDGE_TOL = 1e-9


def homogeneity(a, b):
    """Two-sample test of two count vectors, as audit_baseline::hypothesis::homogeneity:
    drop empty columns; pool the smallest column (by combined count, stable order) into the
    next smallest while more than two remain and its expected count min(row)*col/N < 5;
    two columns left: scipy fisher_exact; more: scipy chi2_contingency (no correction)."""
    cols = [(x, y) for x, y in zip(a, b) if x + y > 0]
    ra, rb = sum(c[0] for c in cols), sum(c[1] for c in cols)
    n = ra + rb
    key = lambda c: c[0] + c[1]
    cols = sorted(cols, key=key)
    while len(cols) > 2 and key(cols[0]) * min(ra, rb) / n < MIN_EXPECTED:
        first = cols.pop(0)
        cols[0] = (cols[0][0] + first[0], cols[0][1] + first[1])
        cols = sorted(cols, key=key)
    table = np.array([[c[0] for c in cols], [c[1] for c in cols]], dtype=np.float64)
    chi = stats.chi2_contingency(table, correction=False)
    if len(cols) == 2:
        p = float(stats.fisher_exact(table.astype(np.int64)).pvalue)
        method = "fisher-exact"
    else:
        p = float(chi.pvalue)
        method = "chi-square"
    return float(chi.statistic), p, len(cols) - 1, method


def drift(base_counts, cur_counts, n_base, n_cur):
    """base_counts/cur_counts: aligned lists of counts over the same categories."""
    p = np.array(base_counts, dtype=np.float64) / n_base
    q = np.array(cur_counts, dtype=np.float64) / n_cur
    pf = np.maximum(p, FLOOR)
    qf = np.maximum(q, FLOOR)
    psi = float(np.sum((qf - pf) * np.log(qf / pf)))
    js = float(jensenshannon(p, q, base=2))
    stat, pval, df, method = homogeneity(base_counts, cur_counts)
    return psi, js, stat, pval, df, method


def ratio_below(x_lo, n_lo, x_hi, n_hi, line):
    """One-sided log-ratio (Katz) z-test of H0: (x_lo/n_lo)/(x_hi/n_hi) >= line; 0.5 added to
    every cell when one is empty. Cross-checked with scipy's relative_risk interval."""
    k = 0.5 if 0 in (x_lo, x_hi, n_lo - x_lo, n_hi - x_hi) else 0.0
    a, na, c, nc = x_lo + k, n_lo + 2 * k, x_hi + k, n_hi + 2 * k
    ln_ratio = math.log(a / na) - math.log(c / nc)
    se = math.sqrt(1 / a - 1 / na + 1 / c - 1 / nc)
    z = (ln_ratio - math.log(line)) / se
    p = float(stats.norm.cdf(z))
    if k == 0.0 and 1e-12 < p < 0.5:
        from scipy.stats.contingency import relative_risk
        ci = relative_risk(x_lo, n_lo, x_hi, n_hi).confidence_interval(1 - 2 * p)
        assert abs(ci.high - line) < 1e-9, (ci.high, line)
    return z, p


def ratio_below_selected(lo, hi, line, groups):
    """ratio_below for the data-chosen lowest/highest of `groups` groups: the reverse
    orientation's tail added, times the groups*(groups-1)/2 pairs (Bonferroni)."""
    z, p = ratio_below(lo[0], lo[1], hi[0], hi[1], line)
    k = 0.5 if 0 in (lo[0], hi[0], lo[1] - lo[0], hi[1] - hi[0]) else 0.0
    a, na, c, nc = lo[0] + k, lo[1] + 2 * k, hi[0] + k, hi[1] + 2 * k
    se = math.sqrt(1 / a - 1 / na + 1 / c - 1 / nc)
    reverse = float(stats.norm.cdf(z + 2 * math.log(min(line, 1.0)) / se))
    return z, min(1.0, (p + reverse) * groups * (groups - 1) / 2)


def gap_increase(cur_lo, cur_hi, base, groups):
    """Change of the gap as reported ((hi-lo) now minus (max-min) then over the same groups);
    Agresti-Caffo variances, twice the largest baseline one; times groups*(groups-1)."""
    r = lambda t: t[0] / t[1]

    def v(t):
        n = t[1] + 2.0
        p = (t[0] + 1.0) / n
        return p * (1 - p) / n

    change = (r(cur_hi) - r(cur_lo)) - (max(r(b) for b in base) - min(r(b) for b in base))
    se = math.sqrt(v(cur_lo) + v(cur_hi) + 2 * max(v(b) for b in base))
    z = change / se
    return change, z, min(1.0, float(stats.norm.sf(z)) * groups * (groups - 1))


def holm(ps):
    m = len(ps)
    order = sorted(range(m), key=lambda i: (ps[i], i))
    adj = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        adj[i] = running
    return adj


def band(value, edges):
    """(medium, high, critical) lower edges, inclusive within EDGE_TOL."""
    for name, e in zip(("CRITICAL", "HIGH", "MEDIUM"), reversed(edges)):
        if value >= e - EDGE_TOL:
            return name
    return None


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
            "tp": sum(1 for r in pos if r["outcome"]),
            "actual_pos": len(pos),
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
    psi_l, js_l, chi_l, chip_l, df_l, m_l = drift(
        [pb["label_counts"].get(l, 0) for l in labels],
        [pc["label_counts"].get(l, 0) for l in labels],
        nb,
        nc,
    )
    psi_c, js_c, chi_c, chip_c, df_c, m_c = drift(
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
        _, _, _, _, _, bgs = bias_metrics(base_rows, attr)
        bias[attr].update(fairness_tests(gs, bgs, gmin, gmax))

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
        "outcome_rate_p": float(
            stats.fisher_exact(
                [[pb["positives"], nb - pb["positives"]], [pc["positives"], nc - pc["positives"]]]
            ).pvalue
        ),
        "accuracy_change": accuracy(pc) - accuracy(pb),
        "accuracy_p": float(
            stats.fisher_exact([[right(pb), wrong(pb)], [right(pc), wrong(pc)]]).pvalue
        ),
        "bias": bias,
        "methods": {"label": m_l, "confidence": m_c},
        "avg_confidence_t": float(t.statistic),
    }


def right(p):
    return p["confusion"]["tp"] + p["confusion"]["tn"]


def wrong(p):
    return p["confusion"]["fp"] + p["confusion"]["fn"]


def accuracy(p):
    return right(p) / (right(p) + wrong(p))


def growth(cur, base, sel):
    """dpd/eod increase over the groups large enough in both windows (sel gives (x, n))."""
    both = sorted(g for g in cur if sel(cur[g])[1] >= MIN_GROUP and g in base and sel(base[g])[1] >= MIN_GROUP)
    r = lambda t: t[0] / t[1]
    lo = min(both, key=lambda g: r(sel(cur[g])))
    hi = max(both, key=lambda g: r(sel(cur[g])))
    change, _, p = gap_increase(sel(cur[lo]), sel(cur[hi]), [sel(base[g]) for g in both], len(both))
    current = r(sel(cur[hi])) - r(sel(cur[lo]))
    return change, p, current, current - change


def fairness_tests(gs, bgs, gmin, gmax):
    lo, hi = gs[gmin], gs[gmax]
    g = sum(1 for s in gs.values() if s["count"] >= MIN_GROUP)
    pair = ((lo["pos"], lo["count"]), (hi["pos"], hi["count"]))
    _, dir_p = ratio_below_selected(*pair, 0.8, g)
    _, dir_p_crit = ratio_below_selected(*pair, 0.6, g)
    dpd_inc, dpd_p, dpd_cur, dpd_base = growth(gs, bgs, lambda g: (g["pos"], g["count"]))
    eod_inc, eod_p, eod_cur, eod_base = growth(gs, bgs, lambda g: (g["tp"], g["actual_pos"]))
    return {
        "dir_p": dir_p,
        "dir_p_critical": dir_p_crit,
        "dpd_increase": dpd_inc,
        "dpd_increase_p": dpd_p,
        "eod_increase": eod_inc,
        "eod_increase_p": eod_p,
    }


def decisions(comp, n_cur):
    """The family of tests in the engine's order, Holm-adjusted, and every finding's severity
    (docs/metrics.md, "Decisions")."""
    tests = [
        ("drift.label", comp["chi2_p_label"]),
        ("drift.confidence", comp["chi2_p_confidence"]),
        ("risk.avg_confidence", comp["avg_confidence_p"]),
        ("risk.outcome_rate", comp["outcome_rate_p"]),
        ("risk.accuracy", comp["accuracy_p"]),
    ]
    for attr in sorted(comp["bias"]):
        b = comp["bias"][attr]
        tests += [
            ("bias.disparate_impact." + attr, b["dir_p"]),
            ("bias.disparate_impact_critical." + attr, b["dir_p_critical"]),
            ("bias.dpd_increase." + attr, b["dpd_increase_p"]),
            ("bias.eod_increase." + attr, b["eod_increase_p"]),
        ]
    adj = holm([p for _, p in tests])
    sig = {t[0]: a <= ALPHA for t, a in zip(tests, adj)}
    m = len(tests)
    findings = {}

    def judge(key, value_band, test_id):
        if value_band is None:
            return
        findings[key] = value_band if (n_cur >= 100 and sig[test_id]) else "LOW"

    for kind in ("label", "confidence"):
        judge("drift.psi_%s|psi_%s" % (kind, kind), band(comp["psi_" + kind], (0.10, 0.25, 0.50)), "drift." + kind)
        judge("drift.js_%s|js_%s" % (kind, kind), band(comp["js_" + kind], (0.10, 0.20, 0.35)), "drift." + kind)
    judge("risk.avg_confidence_change|avg_confidence", band(abs(comp["avg_confidence_change"]), (0.05, 0.15, 0.30)), "risk.avg_confidence")
    judge("risk.outcome_rate_change|outcome_rate", band(abs(comp["outcome_rate_change"]), (0.05, 0.10, 0.20)), "risk.outcome_rate")
    # A fall of the accuracy only (issue 18): Fisher's exact test of right vs wrong rows.
    judge("risk.accuracy_drop|accuracy", band(-comp["accuracy_change"], (0.05, 0.10, 0.20)), "risk.accuracy")
    for attr in sorted(comp["bias"]):
        b = comp["bias"][attr]
        d = b["dir"]
        dir_band = "CRITICAL" if d < 0.6 - EDGE_TOL else ("HIGH" if d < 0.8 - EDGE_TOL else None)
        tid = "bias.disparate_impact." + attr
        if dir_band is not None:
            sev = dir_band if sig[tid] else "LOW"
            if sev == "CRITICAL":
                sev = "CRITICAL" if sig["bias.disparate_impact_critical." + attr] else "HIGH"
            findings["bias.disparate_impact|dir." + attr] = sev
        judge("bias.dpd_increase|dpd." + attr, band(b["dpd_increase"], (0.05, 0.10, 0.20)), "bias.dpd_increase." + attr)
        judge("bias.eod_increase|eod." + attr, band(b["eod_increase"], (0.05, 0.10, 0.20)), "bias.eod_increase." + attr)
    return {
        "alpha": ALPHA,
        "tests": [{"id": t[0], "p_value": t[1], "adjusted_p": a} for t, a in zip(tests, adj)],
        "findings": findings,
    }


def edge_cases():
    """Standalone cases for the tests, band edges among them (a ratio of exactly 4/5)."""
    fisher = [(8, 2, 1, 5), (0, 10, 10, 0), (30, 70, 45, 55), (1, 999, 5, 995), (480, 520, 600, 400), (3, 0, 0, 3)]
    chi = [([120, 80, 40, 2, 1], [100, 100, 35, 6, 0]), ([500, 300, 200], [480, 330, 190]),
           ([5, 5, 5, 5, 5, 1000], [9, 1, 4, 6, 5, 990])]
    ratio = [(48, 100, 60, 100, 0.8), (200, 500, 300, 500, 0.8), (0, 40, 10, 40, 0.8), (45, 100, 55, 100, 0.8),
             (300, 1000, 500, 1000, 0.6), (12, 45, 30, 45, 0.8)]
    gaps = [((200, 500), (300, 500), [(250, 500), (250, 500)], 2),
            ((450, 1000), (550, 1000), [(450, 1000), (550, 1000)], 2),
            ((350, 1000), (550, 1000), [(550, 1000), (350, 1000)], 2),
            ((40, 250), (90, 250), [(60, 250), (70, 250), (65, 250), (50, 250)], 4),
            ((0, 40), (40, 40), [(0, 40), (0, 40)], 2)]
    selected = [((48, 100), (60, 100), 0.8, 2), ((200, 500), (300, 500), 0.8, 4), ((0, 40), (10, 40), 0.6, 3)]
    return {
        "fisher": [{"table": list(t), "p": float(stats.fisher_exact([[t[0], t[1]], [t[2], t[3]]]).pvalue)} for t in fisher],
        "homogeneity": [dict(zip(("statistic", "p", "df", "method"), homogeneity(a, b)), a=a, b=b) for a, b in chi],
        "ratio": [dict(zip(("z", "p"), ratio_below(*r)), case=list(r)) for r in ratio],
        "gap": [dict(zip(("change", "z", "p"), gap_increase(*g)), case=[list(g[0]), list(g[1]), [list(b) for b in g[2]], g[3]]) for g in gaps],
        "ratio_selected": [dict(zip(("z", "p"), ratio_below_selected(*c)), case=[list(c[0]), list(c[1]), c[2], c[3]]) for c in selected],
        "holm": {"p": [0.01, 0.04, 0.03, 0.5, 0.0004, 0.2], "adjusted": holm([0.01, 0.04, 0.03, 0.5, 0.0004, 0.2])},
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
        "decisions": decisions(comp, pc["n"]),
        "edge_cases": edge_cases(),
    }
    with open(os.path.join(OUT_DIR, "expected.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(expected, indent=2, allow_nan=False) + "\n")

    assert comp["psi_label"] > 0.1, comp["psi_label"]
    assert comp["bias"]["gender"]["dpd"] > 0.1, comp["bias"]["gender"]["dpd"]
    print("wrote", OUT_DIR, file=sys.stderr)


if __name__ == "__main__":
    main()
