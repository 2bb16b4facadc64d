#!/usr/bin/env python3
"""Run a peer tool (whylogs or Evidently) on the same data as the `ai-auditor` benchmark.

Usage:
    python bench/peers.py --tool whylogs|evidently --reference REF.jsonl --current CUR.jsonl

Input files are JSON Lines (.jsonl/.ndjson/.json) or CSV (.csv), chosen by extension.
Both files are loaded with pandas (timed separately as ``load_s``), reduced to the
tabular columns of an audit record (``prediction, confidence, outcome, actual, gender,
age_band, region``; ``ts``, ``request_id`` and other text columns are dropped), then:

* whylogs: ``why.log(df).profile()`` on the reference and on the current frame
  (``profile_s``), then drift scores between the two profile views with
  ``whylogs.viz.drift.column_drift_algorithms.calculate_drift_scores`` (``drift_s``).
* evidently: ``Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)``
  (``run_s``; Evidently computes drift inside ``run``, so there is no ``drift_s``).

Prints exactly one JSON line on stdout, including ``rss_after_load_mib`` and
``rss_peak_compute_mib`` (RSS sampled every 10 ms from /proc/self/statm while the tool
runs), since the process-wide peak is often the pandas loader's, not the tool's.
Anything the libraries print goes to stderr.
``rows_per_s`` is (rows_reference + rows_current) / ``compute_s``, where ``compute_s``
is profile_s + drift_s for whylogs and run_s for evidently (load time excluded).

Tested with: whylogs 1.6.4, evidently 0.7.23, numpy 1.26.4, pandas 2.3.3 (Python 3.11).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import threading
import time
from typing import Any, Dict, List, Tuple

# Both libraries ship usage telemetry; the benchmark machine has no network to send it to,
# and a background HTTP attempt must not end up in the timings.
os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("ITERATIVE_DO_NOT_TRACK", "1")
os.environ.setdefault("EVIDENTLY_DISABLE_TELEMETRY", "1")

import pandas as pd  # noqa: E402

# The columns of an audit record the peers can work on, with their intended types.
NUMERIC = ["confidence"]
BOOLEAN = ["outcome", "actual"]
CATEGORICAL = ["prediction", "gender", "age_band", "region"]
TABULAR = ["prediction", "confidence", "outcome", "actual", "gender", "age_band", "region"]


class RssSampler:
    """Peak resident set size of this process over a block, sampled from /proc/self/statm.

    /usr/bin/time's "Maximum resident set size" covers the whole process, which is
    usually set by pandas' JSON loader; this isolates the tool's own compute step.
    Linux only; on other systems the values stay None.
    """

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.peak: int | None = None
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def rss(self) -> int | None:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * self._page
        except (OSError, ValueError, IndexError):
            return None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._note()
            self._stop.wait(self.interval_s)

    def _note(self) -> None:
        r = self.rss()
        if r is not None and (self.peak is None or r > self.peak):
            self.peak = r

    def __enter__(self) -> "RssSampler":
        self._note()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self._note()


def mib(n: int | None) -> float | None:
    return None if n is None else round(n / (1024 * 1024), 1)


def load(path: str) -> pd.DataFrame:
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        df = pd.read_csv(path, dtype={c: "string" for c in CATEGORICAL})
    elif ext in (".jsonl", ".ndjson", ".json"):
        # dtype=False / convert_dates=False: keep what JSON says, no guessing by pandas.
        df = pd.read_json(path, lines=True, dtype=False, convert_dates=False)
    else:
        raise SystemExit(f"peers.py: unsupported extension {ext!r} for {path} (want .jsonl or .csv)")
    return tidy(df, path)


def tidy(df: pd.DataFrame, path: str) -> pd.DataFrame:
    missing = [c for c in TABULAR if c not in df.columns]
    if missing:
        raise SystemExit(f"peers.py: {path} lacks columns {missing}")
    # Input-feature columns as `auditor gen-evidence --features N` writes them.
    num = sorted((c for c in df.columns if re.fullmatch(r"num_\d+", str(c))), key=lambda c: int(c[4:]))
    cat = sorted((c for c in df.columns if re.fullmatch(r"cat_\d+", str(c))), key=lambda c: int(c[4:]))
    # Drops ts, request_id and anything else (free text) not in the tabular set.
    df = df[TABULAR + num + cat].copy()
    df.attrs["numeric"] = NUMERIC + num
    df.attrs["categorical"] = CATEGORICAL + cat
    for c in NUMERIC + num:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in BOOLEAN:
        col = df[c]
        if col.dtype != bool:
            col = col.astype(str).str.lower().map({"true": True, "false": False, "1": True, "0": False})
            if col.isna().any():
                raise SystemExit(f"peers.py: {path}: column {c} has non-boolean values")
            col = col.astype(bool)
        df[c] = col
    for c in CATEGORICAL + cat:
        # Plain object strings: the form both libraries treat as categorical.
        df[c] = df[c].astype(object)
    return df


def run_whylogs(ref: pd.DataFrame, cur: pd.DataFrame) -> Dict[str, Any]:
    import whylogs as why

    t0 = time.perf_counter()
    ref_profile = why.log(ref).profile()
    cur_profile = why.log(cur).profile()
    profile_s = time.perf_counter() - t0

    out: Dict[str, Any] = {"version": why.__version__, "profile_s": profile_s}
    try:
        # Imports IPython at module level (it lives under whylogs.viz).
        from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores
    except Exception as e:  # pragma: no cover - depends on the environment
        out["drift_s"] = None
        out["drift_error"] = f"{type(e).__name__}: {e}"
        out["compute_s"] = profile_s
        return out

    t1 = time.perf_counter()
    ref_view = ref_profile.view()
    cur_view = cur_profile.view()
    scores = calculate_drift_scores(target_view=cur_view, reference_view=ref_view, with_thresholds=True)
    drift_s = time.perf_counter() - t1

    out["drift_s"] = drift_s
    out["compute_s"] = profile_s + drift_s
    out["drift"] = {
        col: None
        if s is None
        else {
            "algorithm": s.get("algorithm"),
            "pvalue": s.get("pvalue"),
            "statistic": s.get("statistic"),
            "category": s.get("drift_category"),
        }
        for col, s in scores.items()
    }
    out["drifted"] = sorted(c for c, s in scores.items() if s and s.get("drift_category") == "DRIFT")
    return out


def _evidently_columns(d: Dict[str, Any]) -> Tuple[Dict[str, Any], List[str], Any]:
    per_col: Dict[str, Any] = {}
    drifted: List[str] = []
    count = None
    for m in d.get("metrics", []):
        cfg = m.get("config", {})
        kind = cfg.get("type", "")
        if kind.endswith("DriftedColumnsCount"):
            v = m.get("value") or {}
            count = v.get("count")
        elif kind.endswith("ValueDrift"):
            col, method, thr, score = cfg.get("column"), cfg.get("method"), cfg.get("threshold"), m.get("value")
            per_col[col] = {"method": method, "score": score, "threshold": thr}
            if score is not None and thr is not None:
                # p-value tests drift below the threshold, distances at or above it.
                is_drift = score < thr if "p_value" in (method or "") else score >= thr
                if is_drift:
                    drifted.append(col)
    return per_col, sorted(drifted), count


def run_evidently(ref: pd.DataFrame, cur: pd.DataFrame) -> Dict[str, Any]:
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=ref.attrs.get("numeric", NUMERIC),
        categorical_columns=ref.attrs.get("categorical", CATEGORICAL) + BOOLEAN,
    )
    t0 = time.perf_counter()
    ref_ds = Dataset.from_pandas(ref, data_definition=definition)
    cur_ds = Dataset.from_pandas(cur, data_definition=definition)
    snapshot = Report([DataDriftPreset()]).run(current_data=cur_ds, reference_data=ref_ds)
    run_s = time.perf_counter() - t0

    # Reading the results back is not timed: it is serialisation, not drift work.
    per_col, drifted, count = _evidently_columns(snapshot.dict())
    return {
        "version": evidently.__version__,
        "run_s": run_s,
        "drift_s": None,  # drift is computed inside run(); not separable
        "compute_s": run_s,
        "drift": per_col,
        "drifted": drifted,
        "drifted_count": count,
    }


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tool", required=True, choices=["whylogs", "evidently"])
    ap.add_argument("--reference", required=True, help="reference data, .jsonl or .csv")
    ap.add_argument("--current", required=True, help="current data, .jsonl or .csv")
    ap.add_argument("--brief", action="store_true", help="omit per-column drift details from the JSON line")
    args = ap.parse_args(argv)

    real_stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        t0 = time.perf_counter()
        ref = load(args.reference)
        cur = load(args.current)
        load_s = time.perf_counter() - t0

        sampler = RssSampler()
        rss_after_load = sampler.rss()
        with sampler:
            if args.tool == "whylogs":
                res = run_whylogs(ref, cur)
            else:
                res = run_evidently(ref, cur)

    rows = len(ref) + len(cur)
    compute_s = res.pop("compute_s")
    line: Dict[str, Any] = {
        "tool": args.tool,
        "version": res.pop("version"),
        "rows_reference": len(ref),
        "rows_current": len(cur),
        "load_s": round(load_s, 4),
    }
    for k in ("profile_s", "run_s", "drift_s"):
        if k in res:
            v = res.pop(k)
            line[k] = None if v is None else round(v, 4)
    line["compute_s"] = round(compute_s, 4)
    line["rows_per_s"] = round(rows / compute_s, 1) if compute_s > 0 else None
    # Process RSS once both frames are loaded, and its sampled peak during the tool's work.
    line["rss_after_load_mib"] = mib(rss_after_load)
    line["rss_peak_compute_mib"] = mib(sampler.peak)
    if args.brief:
        res.pop("drift", None)
    line.update(res)
    real_stdout.write(json.dumps(line, default=str) + "\n")
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
