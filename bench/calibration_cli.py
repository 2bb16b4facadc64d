"""End-to-end replay of the issue's false-alarm measurement through the released CLI.

Baseline and current windows drawn from the very same population (3 labels 50/30/20 %,
Beta(5,2) confidence, outcome independent of two equal groups), written as JSON Lines, each pair
judged by `auditor audit --format json`; prints the share of audits with a MEDIUM-or-worse
finding per window size. Complements `bench/calibration.sh`, which runs the same judgement
in-process over many more shapes and trials.

Usage: python3 bench/calibration_cli.py AUDITOR [TRIALS] [SIZES...]
    e.g. python3 bench/calibration_cli.py target/release/auditor 300 100 300 1000
Needs only the Python standard library.
"""
import json
import os
import random
import subprocess
import sys
import tempfile


def write(path, n, rng):
    with open(path, "w") as f:
        for _ in range(n):
            u = rng.random()
            label = "approve" if u < 0.5 else ("review" if u < 0.8 else "deny")
            row = {
                "prediction": label,
                "confidence": round(rng.betavariate(5, 2), 6),
                "outcome": rng.random() < 0.5,
                "gender": "female" if rng.random() < 0.5 else "male",
            }
            f.write(json.dumps(row) + "\n")


def main():
    auditor = sys.argv[1]
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    sizes = [int(x) for x in sys.argv[3:]] or [100, 300, 1000]
    mapping = 'prediction = "prediction"\nconfidence = "confidence"\noutcome = "outcome"\nprotected = ["gender"]\n'
    with tempfile.TemporaryDirectory() as d:
        m = os.path.join(d, "mapping.toml")
        with open(m, "w") as f:
            f.write(mapping)
        print("| n | trials | audits with any MEDIUM+ |")
        print("|---:|---:|---:|")
        for n in sizes:
            alarms = 0
            for t in range(trials):
                rng = random.Random(n * 100003 + t)
                b, c = os.path.join(d, "b.jsonl"), os.path.join(d, "c.jsonl")
                write(b, n, rng)
                write(c, n, rng)
                out = subprocess.run(
                    [auditor, "audit", "-m", m, "--baseline", b, "--current", c, "--format", "json"],
                    capture_output=True, text=True,
                )
                o = json.loads(out.stdout)
                if any(f["severity"] in ("MEDIUM", "HIGH", "CRITICAL") for f in o["findings"]):
                    alarms += 1
            print("| %d | %d | %.1f %% |" % (n, trials, 100.0 * alarms / trials), flush=True)


if __name__ == "__main__":
    main()
