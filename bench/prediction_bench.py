#!/usr/bin/env python3
"""ml.predict_cluster with logging under 8 concurrent clients (pgbench, one prediction per
transaction): throughput and latency percentiles, for 64- and 1,536-dimensional models.
Checks that no transaction failed and that every prediction was logged. Writes its section
of docs/benchmarks.md (bench/prediction.sh)."""
import glob
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np
import psycopg

sys.path.insert(0, os.path.dirname(__file__))
from sections import put_section  # noqa: E402

HOST, PORT = os.environ["PG_MLKIT_TMP"], os.environ["PG_MLKIT_PORT"]
BIN = "/usr/lib/postgresql/15/bin"
SECONDS = int(os.environ.get("BENCH_SECONDS", "30"))


def main():
    conn = psycopg.connect(f"host={HOST} port={PORT} user=postgres dbname=postgres", autocommit=True)
    conn.execute("DROP EXTENSION IF EXISTS pg_mlkit CASCADE")
    conn.execute("CREATE EXTENSION pg_mlkit")
    rng = np.random.default_rng(0)
    for dim, k in ((64, 10), (1536, 20)):
        centres = rng.normal(size=(k, dim))
        X = centres[rng.integers(0, k, 5000)] + rng.normal(scale=0.3, size=(5000, dim))
        conn.execute(f"DROP TABLE IF EXISTS train_{dim}, queries_{dim}")
        conn.execute(f"CREATE TABLE train_{dim} (id int PRIMARY KEY, embedding real[])")
        conn.execute(f"CREATE TABLE queries_{dim} (id int PRIMARY KEY, embedding real[])")
        with conn.cursor().copy(f"COPY train_{dim} FROM STDIN") as cp:
            for i, row in enumerate(X):
                cp.write_row((i, [float(v) for v in row]))
        Q = centres[rng.integers(0, k, 1000)] + rng.normal(scale=0.35, size=(1000, dim))
        with conn.cursor().copy(f"COPY queries_{dim} FROM STDIN") as cp:
            for i, row in enumerate(Q):
                cp.write_row((i + 1, [float(v) for v in row]))
        conn.execute(f"SELECT ml.cluster_embeddings('train_{dim}', params => '{{\"n_clusters\": {k}, \"random_state\": 0}}', "
                     f"run => '{{\"model_name\": \"bench_{dim}\"}}')")
    conn.execute("VACUUM ANALYZE")
    rows = []
    for dim in (64, 1536):
        before = conn.execute("SELECT count(*) FROM ml.ml_prediction_log").fetchone()[0]
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o777)
            script = os.path.join(tmp, "predict.sql")
            with open(script, "w") as f:
                f.write("\\set id random(1, 1000)\n"
                        f"SELECT * FROM ml.predict_cluster('bench_{dim}', (SELECT embedding FROM queries_{dim} WHERE id = :id));\n")
            out = subprocess.run([f"{BIN}/pgbench", "-h", HOST, "-p", PORT, "-U", "postgres", "-n", "-c", "8", "-j", "2",
                                  "-T", str(SECONDS), "-f", script, "--log", f"--log-prefix={tmp}/log", "postgres"],
                                 capture_output=True, text=True, check=True).stdout
            lat = np.concatenate([np.loadtxt(p, usecols=2, ndmin=1) for p in glob.glob(f"{tmp}/log*")]) / 1000.0
        tps = float(next(l for l in out.splitlines() if l.startswith("tps")).split("=")[1].split()[0])
        failed = next((l for l in out.splitlines() if "failed" in l), "failed: 0")
        logged = conn.execute("SELECT count(*) FROM ml.ml_prediction_log").fetchone()[0] - before
        p50, p95, p99 = np.percentile(lat, [50, 95, 99])
        ok = "✅" if p95 < 10 else "❌"
        rows.append(f"| {dim} | {len(lat):,} | {tps:,.0f} | {p50:.2f} ms | {p95:.2f} ms {ok} | {p99:.2f} ms | "
                    f"{failed.split(':')[-1].strip()} | {'all' if logged == len(lat) else f'{logged} of {len(lat)}'} |")
        print(out)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    text = "\n".join([
        "## Prediction with logging under load (target: p95 < 10 ms, nothing fails)", "",
        f"`ml.predict_cluster` with logging (one `ml_prediction_log` row per call, alerts for anomalies),",
        f"8 pgbench clients on 2 threads for {SECONDS} s, one prediction per transaction; the embedding is read",
        "from a table of 1,000 queries by a random id. Latency is pgbench's per-transaction time.", "",
        "| dimensions | transactions | per second | p50 | p95 | p99 | failed | logged |",
        "|---|---|---|---|---|---|---|---|", *rows, "",
        f"Machine: {os.cpu_count()} cores ({cpu}), PostgreSQL 15, Python {platform.python_version()}. Release build.", "",
    ])
    put_section("prediction", text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
