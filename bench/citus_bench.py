#!/usr/bin/env python3
"""Citus scaling (bench/citus.sh). For 1, 2 and 4 workers, a fresh cluster (scripts/citus.sh)
with the same rows in a hash-distributed table (32 shards) and in a local table on the
coordinator: K-Means's scan engine (ml.cluster_embeddings, "engine": "scan") and the drift
sketch engine (ml.score_drift, "engine": "sketch") on each. The local table is read by
PostgreSQL alone, as on a single-node server, with 0 and 2 parallel workers. Every node shares
this machine's cores, so the figures measure Citus's overhead and plan shapes, not added
hardware. Writes its section of docs/benchmarks.md."""
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import psycopg

sys.path.insert(0, os.path.dirname(__file__))
from copy_rows import binary_rows  # noqa: E402
from sections import put_section  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
HOST, PORT = os.environ["PG_MLKIT_CITUS_TMP"], os.environ["PG_MLKIT_CITUS_PORT"]
QUICK = "--quick" in sys.argv
N, D, K = (100_000 if QUICK else 1_000_000), 64, 16
DRIFT_ROWS = 200_000 if QUICK else 2_000_000


def connect():
    return psycopg.connect(f"host={HOST} port={PORT} user=postgres dbname=postgres", autocommit=True)


def cluster(action, *args):
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "citus.sh"), action, *map(str, args)], check=True,
                   stdout=subprocess.DEVNULL)


def load(c):
    c.execute("CREATE TABLE items_l (id int PRIMARY KEY, embedding real[] NOT NULL)")
    rng = np.random.RandomState(0)
    centres = rng.uniform(-100, 100, (K, D)).astype(np.float32)
    with c.cursor().copy("COPY items_l FROM STDIN (FORMAT BINARY)") as cp:
        cp.write(b"PGCOPY\n\xff\r\n\0" + b"\0\0\0\0" + b"\0\0\0\0")
        for start in range(0, N, 100_000):
            m = min(100_000, N - start)
            X = centres[rng.randint(0, K, m)] + rng.normal(0, 30.0, (m, D)).astype(np.float32)
            cp.write(binary_rows(np.arange(start, start + m), X))
        cp.write(b"\xff\xff")
    c.execute("CREATE TABLE items_d (LIKE items_l INCLUDING ALL)")
    c.execute("SELECT create_distributed_table('items_d', 'id')")
    c.execute("INSERT INTO items_d SELECT * FROM items_l")
    for side in "ld":
        for t, shift, stretch in [("ref", 0.0, 1.0), ("cur", 0.3, 1.08)]:
            c.execute(f"CREATE TABLE {t}_{side} (id int PRIMARY KEY, x float8)")
            if side == "d":
                colocate = "" if t == "ref" else ", colocate_with => 'ref_d'"
                c.execute(f"SELECT create_distributed_table('{t}_d', 'id'{colocate})")
            c.execute(f"""INSERT INTO {t}_{side} SELECT i, {stretch} * (CASE WHEN i % 3 = 0 THEN 5 + (hashint4(i) % 1000) / 250.0
                                            ELSE ln(1 + (hashint4(i * 7) & 2147483647) / 1e6) END) + {shift}
                          FROM generate_series(1, {DRIFT_ROWS}) i""")
    for t in ["items_l", "items_d", "ref_l", "cur_l", "ref_d", "cur_d"]:
        c.execute(f"VACUUM ANALYZE {t}")


def kmeans(table, parallel):
    with connect() as c:
        c.execute(f"SET max_parallel_workers_per_gather = {parallel}")
        c.execute("SET citus.coordinator_aggregation_strategy = 'disabled'")
        t = time.perf_counter()
        rid = c.execute("SELECT ml.cluster_embeddings(%s, params => %s)",
                        (table, json.dumps({"n_clusters": K, "random_state": 0, "engine": "scan"}))).fetchone()[0]
        dt = time.perf_counter() - t
        m = c.execute("SELECT metrics FROM ml.analysis_runs WHERE id = %s", (rid,)).fetchone()[0]
        c.execute("DELETE FROM ml.analysis_runs WHERE id = %s", (rid,))
    steps = m["timings_ms"].get("steps") or [float("nan")]
    return {"seconds": dt, "inertia": m["inertia"], "n_iter": m["n_iter"], "step_s": float(np.median(steps)) / 1000,
            "write_s": m["timings_ms"].get("write", float("nan")) / 1000}


def drift(side, parallel, engine="sketch"):
    with connect() as c:
        c.execute(f"SET max_parallel_workers_per_gather = {parallel}")
        c.execute("SET citus.coordinator_aggregation_strategy = 'disabled'")
        c.execute("SET pg_mlkit.max_memory_mb = 8192")
        t = time.perf_counter()
        run = c.execute(f"SELECT ml.score_drift('ref_{side}', 'cur_{side}', ARRAY['x'], method => 'ks', params => %s)",
                        (json.dumps({"engine": engine}),)).fetchone()[0]
        dt = time.perf_counter() - t
        stat, details = c.execute("SELECT statistic, details FROM ml.data_drift WHERE run_id = %s", (run,)).fetchone()
        c.execute("DELETE FROM ml.analysis_runs WHERE id = %s", (run,))
    return {"seconds": dt, "statistic": stat, "bound": details.get("error_bound")}


def main():
    rows = []
    for workers in (1, 2, 4):
        cluster("stop")
        cluster("start", workers)
        with connect() as c:
            t = time.perf_counter()
            load(c)
            print(f"{workers} workers: loaded in {time.perf_counter() - t:.0f} s", flush=True)
        if workers == 1:
            # One node: the local table, with PostgreSQL's own parallel workers.
            for p in (0, 2):
                r = {"where": f"one node, {p} parallel workers", "kmeans": kmeans("items_l", p), "drift": drift("l", p)}
                if p == 2:
                    r["exact"] = drift("l", p, "exact")
                print(r, flush=True)
                rows.append(r)
        r = {"where": f"Citus, {workers} worker{'s' if workers > 1 else ''} (32 shards)",
             "kmeans": kmeans("items_d", 0), "drift": drift("d", 0)}
        print(r, flush=True)
        rows.append(r)
    cluster("stop")
    base = rows[0]["kmeans"]["inertia"]
    lines = [
        "## Citus: the scan engine and the drift sketches on 1, 2 and 4 workers",
        "",
        f"`bash bench/citus.sh`, one run on {os.cpu_count()} cores ({platform.machine()}), every node a server on this "
        f"machine (`scripts/citus.sh`): the coordinator and its workers share the same {os.cpu_count()} cores, so "
        "this measures what Citus adds and how its plans split the work, not what more machines would give. "
        f"K-Means: `ml.cluster_embeddings(..., params => '{{\"engine\": \"scan\", \"n_clusters\": {K}}}')` on {N:,} × {D} "
        f"blobs ({K} centres, std 30), `random_state` 0; drift: `ml.score_drift(..., method => 'ks', params => "
        f"'{{\"engine\": \"sketch\"}}')` on two periods of {DRIFT_ROWS:,} rows. The distributed tables have 32 shards "
        "(Citus's default); the one-node rows read a plain table on the coordinator. "
        "`citus.coordinator_aggregation_strategy = 'disabled'`, so every aggregate ran pushed down.",
        "",
        "| where | K-Means total s | Lloyd steps | median step s | writing s | inertia / one node | drift (sketch) s | KS statistic |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        k, d = r["kmeans"], r["drift"]
        lines.append(f"| {r['where']} | {k['seconds']:.1f} | {k['n_iter']} | {k['step_s']:.2f} | {k['write_s']:.1f} | "
                     f"{k['inertia'] / base:.6f} | {d['seconds']:.2f} | {d['statistic']:.5f} |")
    exact = next(r["exact"] for r in rows if "exact" in r)
    lines += [
        "",
        f"The exact engine on one node (2 parallel workers) took {exact['seconds']:.1f} s for the same KS statistic "
        f"({exact['statistic']:.5f}; every sketch row is within its recorded bound of it, "
        f"{rows[-1]['drift']['bound']:.1e} on 4 workers). A Lloyd step on Citus is one "
        "`worker_partial_agg` query per shard and one `coord_combine_agg` on the coordinator; the assignments are "
        "computed on the shards and only `(id, cluster, distance)` travels to the coordinator's `ml.cluster_assignments`."
        f" Most of a run is writing the {N:,} assignment rows into `ml.cluster_assignments` (a foreign-key check "
        "each), on one node as on Citus; a Citus step pays 32 shard queries and Citus's per-row call of the "
        "transition function (`worker_partial_agg`), against PostgreSQL's own parallel plan on one node.",
    ]
    put_section("citus", "\n".join(lines))


if __name__ == "__main__":
    main()
