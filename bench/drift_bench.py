#!/usr/bin/env python3
"""Drift statistics over 1M values per sample: ml.score_drift and the statistic functions in
SQL against the Python pipeline (psycopg binary fetch + SciPy), one run. Writes its section of
docs/benchmarks.md (bench/drift.sh)."""
import os
import platform
import sys
import time

import numpy as np
import psycopg
import scipy
import scipy.stats

sys.path.insert(0, os.path.dirname(__file__))
from sections import put_section  # noqa: E402

HOST, PORT = os.environ["PG_MLKIT_TMP"], os.environ["PG_MLKIT_PORT"]
N = 1_000_000
COLS = ["a", "b", "c"]


def best(f, reps=3):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    conn = psycopg.connect(f"host={HOST} port={PORT} user=postgres dbname=postgres", autocommit=True)
    conn.execute("DROP EXTENSION IF EXISTS pg_mlkit CASCADE")
    conn.execute("CREATE EXTENSION pg_mlkit")
    for t, shift in (("ref", 0.0), ("cur", 0.01)):
        conn.execute(f"DROP TABLE IF EXISTS {t}")
        conn.execute(f"CREATE TABLE {t} AS SELECT random() + {shift} AS a, random() * 10 AS b, "
                     f"(random() + random()) * (1 + {shift}) AS c FROM generate_series(1, {N})")
        conn.execute(f"VACUUM ANALYZE {t}")

    def python(method):
        out = {}
        for col in COLS:
            with conn.cursor(binary=True) as cur:
                r = np.array(cur.execute(f"SELECT {col} FROM ref").fetchall(), dtype=np.float64).ravel()
                c = np.array(cur.execute(f"SELECT {col} FROM cur").fetchall(), dtype=np.float64).ravel()
            if method == "ks":
                out[col] = scipy.stats.ks_2samp(r, c).pvalue
            else:
                out[col] = scipy.stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
        return out

    def sql(method):
        run = conn.execute("SELECT ml.score_drift('ref', 'cur', method => %s)", (method,)).fetchone()[0]
        return dict(conn.execute("SELECT feature_name, (details ->> 'drift_score')::float8 FROM ml.data_drift WHERE run_id = %s", (run,)).fetchall())

    rows = []
    for method in ("ks", "wasserstein"):
        tp, ref = best(lambda: python(method))
        ts, ours = best(lambda: sql(method))
        agree = max(abs(ours[k] - ref[k]) / max(abs(ref[k]), 1e-300) for k in COLS)
        ratio = ts / tp
        rows.append(f"| `ml.score_drift(method => '{method}')`, 3 columns | {tp:.2f} s | {ts:.2f} s | {ratio:.2f}× {'✅' if ratio <= 0.5 else '❌'} | {agree:.1e} |")
        print(rows[-1])
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    text = "\n".join([
        "## Drift statistics over 1M values per sample (target: ≤ 0.5× the Python pipeline)", "",
        f"Two tables of {N:,} rows × 3 float8 columns (a slight shift between them). The Python pipeline",
        "fetches each column of both tables with psycopg (binary) into NumPy and runs SciPy (`ks_2samp`,",
        "`wasserstein_distance` ÷ the reference's std, as Evidently); `ml.score_drift` reads, tests and records",
        "all three columns in the server. Best of 3; agreement is the largest relative difference of the drift scores.", "",
        "| workload | Python pipeline | pg_mlkit | time ratio | agreement |", "|---|---|---|---|---|", *rows, "",
        f"Machine: {os.cpu_count()} cores ({cpu}), PostgreSQL 15, Python {platform.python_version()}, SciPy {scipy.__version__}, "
        f"NumPy {np.__version__}, psycopg {psycopg.__version__}. Release build.", "",
    ])
    put_section("drift", text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
