#!/usr/bin/env python3
"""DBSCAN and HDBSCAN in SQL against the Python pipeline (psycopg binary fetch, scikit-learn,
binary COPY of the assignments back), same data, one run; and K-Means on 1M × 128. Appends
its tables to docs/benchmarks.md (run after bench/kmeans_bench.py, as bench/kmeans.sh does).
`--quick` runs one repetition of each workload."""
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.datasets import make_blobs

sys.path.insert(0, os.path.dirname(__file__))
from kmeans_bench import conn, load, setup  # noqa: E402

warnings.filterwarnings("ignore", category=FutureWarning)
REPS = 1 if "--quick" in sys.argv else 3


def fetch(c, table):
    with c.cursor(binary=True) as cur:
        cur.execute(f"SELECT id, embedding FROM {table} ORDER BY id")
        rows = cur.fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, np.array([r[1] for r in rows], dtype=np.float32)


def write_back(c, name, params, ids, labels, prob=None, dist=None):
    with c.transaction():
        run_id = c.execute(
            "INSERT INTO ml.analysis_runs (analysis_type, row_count, clustering_name, clustering_params) "
            "VALUES ('clustering', %s, %s, %s) RETURNING id", (len(ids), name, json.dumps(params))).fetchone()[0]
        with c.cursor().copy("COPY ml.cluster_assignments (run_id, item_id, cluster, distance, probability) "
                             "FROM STDIN (FORMAT binary)") as cp:
            cp.set_types(["int8", "text", "int4", "float8", "float8"])
            for i in range(len(ids)):
                cp.write_row((run_id, str(ids[i]), int(labels[i]),
                              None if dist is None else float(dist[i]), None if prob is None else float(prob[i])))


def python_pipeline(table, algorithm, params):
    t0 = time.perf_counter()
    with conn() as c:
        ids, X = fetch(c, table)
        if algorithm == "dbscan":
            m = DBSCAN(**params, n_jobs=-1).fit(X.astype(np.float64))
            write_back(c, "DBSCAN", params, ids, m.labels_)
        elif algorithm == "hdbscan":
            m = HDBSCAN(**params, n_jobs=-1).fit(X.astype(np.float64))
            write_back(c, "HDBSCAN", params, ids, m.labels_, prob=m.probabilities_)
        else:
            m = KMeans(**params).fit(X)
            dist = np.sqrt(((X - m.cluster_centers_[m.labels_]) ** 2).sum(axis=1))
            write_back(c, "K-Means", params, ids, m.labels_, dist=dist)
    return time.perf_counter() - t0, m.labels_


def sql_pipeline(table, algorithm, params):
    t0 = time.perf_counter()
    with conn() as c:
        run_id = c.execute("SELECT ml.cluster_embeddings(%s, algorithm => %s, params => %s)",
                           (table, algorithm, json.dumps({**params, "silhouette_sample_size": 1000,
                                                          "random_state": 0}))).fetchone()[0]
    elapsed = time.perf_counter() - t0
    with conn() as c:
        m = c.execute("SELECT metrics FROM ml.analysis_runs WHERE id = %s", (run_id,)).fetchone()[0]
        labels = np.array([r[0] for r in c.execute(
            "SELECT cluster FROM ml.cluster_assignments WHERE run_id = %s ORDER BY item_id::bigint", (run_id,))])
        c.execute("DELETE FROM ml.analysis_runs")
    return elapsed, labels, m["timings_ms"]


LINFA_TIMEOUT = 300
LINFA = os.path.join(os.path.dirname(__file__), "linfa", "target", "release", "linfa-bench")


def linfa(X, algorithm, params):
    """linfa on the same rows (in-process, from a file: no fetch, no write): seconds, labels."""
    if algorithm == "hdbscan" or not os.path.exists(LINFA):
        return None, None
    path = "/tmp/pg_mlkit_linfa.f32"
    X.astype(np.float32).tofile(path)
    args = ([str(params["eps"]), str(params["min_samples"])] if algorithm == "dbscan"
            else [str(params["n_clusters"]), "0"])
    try:
        out = subprocess.run([LINFA, path, str(len(X)), str(X.shape[1]), algorithm, *args],
                             capture_output=True, text=True, check=True, timeout=LINFA_TIMEOUT).stdout.split()
    except subprocess.TimeoutExpired:
        return float("inf"), None
    return float(out[0]), np.array(out[1:], dtype=int)


def same_partition(a, b):
    from sklearn.metrics import adjusted_rand_score
    return adjusted_rand_score(a, b)


WORKLOADS = [  # title, rows, dims, centres, std, algorithm, params, target
    ("DBSCAN 50k × 8", 50_000, 8, 10, 1.0, "dbscan", {"eps": 2.0, "min_samples": 5}, 0.5),
    ("DBSCAN 20k × 384", 20_000, 384, 10, 1.0, "dbscan", {"eps": 24.0, "min_samples": 5}, 0.5),
    ("HDBSCAN 50k × 8", 50_000, 8, 10, 1.0, "hdbscan", {"min_cluster_size": 25}, 0.5),
    ("HDBSCAN 20k × 5", 20_000, 5, 10, 1.0, "hdbscan", {"min_cluster_size": 15}, 0.5),
    ("K-Means 1M × 128, k = 16", 1_000_000, 128, 16, 10.0, "kmeans", {"n_clusters": 16, "n_init": 1}, 0.3),
]


EXTRA = ['K-Means 1M × 128: writing the million `ml.cluster_assignments` rows (batches of 10,000,', 'one run check per batch) is no longer the larger part of the run; it took 10.5 s of 16 s', "in 0.1.0, when every row paid the foreign key's check. The rest of the write is", "PostgreSQL's own per-row cost (heap, primary-key index, WAL): inserting the same rows with", 'plain SQL takes about as long.']


def main():
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    setup()
    rows = []
    for title, n, d, centres, std, algorithm, params, target in WORKLOADS:
        if only and not any(o.lower() in title.lower() for o in only):
            continue
        X, _ = make_blobs(n_samples=n, n_features=d, centers=centres, cluster_std=std, random_state=42)
        table = f"{algorithm}_{n}_{d}"
        load(table, X.astype(np.float32))
        py, sq, agree = [], [], []
        lt, ll = linfa(X, algorithm, params)
        for _ in range(REPS):
            t, ref = python_pipeline(table, algorithm, params if algorithm != "kmeans" else {**params, "random_state": 0})
            py.append(t)
            t, labels, timings = sql_pipeline(table, algorithm, params)
            sq.append(t)
            agree.append(same_partition(labels, ref))
            print(f"{title}: python {py[-1]:.2f} s, sql {sq[-1]:.2f} s {timings}, ARI {agree[-1]:.4f}", flush=True)
        ratio = statistics.median(sq) / statistics.median(py)
        linfa_cell = ("—" if lt is None else f"> {LINFA_TIMEOUT} s (stopped)" if ll is None
                      else f"{lt:.2f} s (ARI {same_partition(ll, ref):.4f})")
        rows.append(f"| {title} | {statistics.median(py):.2f} s | {statistics.median(sq):.2f} s | "
                    f"{ratio:.2f}× {'✅' if ratio <= target else '❌'} (target {target}×) | {min(agree):.4f} | {linfa_cell} | "
                    f"{timings.get('read', 0) / 1e3:.2f} / {timings.get('cluster', 0) / 1e3:.2f} / "
                    f"{timings.get('quality', 0) / 1e3:.2f} / {timings.get('write', 0) / 1e3:.2f} s |")
    lines = [
        "", "## DBSCAN, HDBSCAN and K-Means at 1M rows, end to end", "",
        "Written by `bash bench/kmeans.sh` (`bench/density_bench.py`). The Python pipeline: psycopg",
        "binary fetch, scikit-learn (`n_jobs=-1`) on float64, binary COPY of the assignments (and",
        "HDBSCAN's probabilities, K-Means' distances) into `ml.cluster_assignments`. pg_mlkit's time",
        "includes its quality metrics (silhouette on 1,000 points, Davies–Bouldin,",
        f"Calinski–Harabasz), which the Python side does not compute. Median of {REPS} run(s).",
        "Agreement is the adjusted Rand index of the two labellings (DBSCAN: equal labels give",
        "1.0; HDBSCAN: ties in mutual reachability may merge in another order, see",
        "docs/functions/cluster_embeddings.md; K-Means: different seeds on each side).", "",
        "linfa 0.8 (`bench/linfa`, release build, float64) is timed on the algorithm alone, reading the",
        "same rows from a file, so its column has no fetch or write; its ARI is against",
        "scikit-learn's labels. linfa has no HDBSCAN.", "",
        "| workload | Python pipeline | pg_mlkit | time ratio | agreement (ARI) | linfa (algorithm only) | pg_mlkit read / cluster / quality / write |",
        "|---|---|---|---|---|---|---|", *rows, "",
        *EXTRA, "",
    ]
    path = os.path.join(os.path.dirname(__file__), "..", "docs", "benchmarks.md")
    old = open(path).read()
    at = old.find("<!-- section: ")  # before the other benchmarks' sections
    at = len(old) if at < 0 else at
    with open(path, "w") as f:
        f.write(old[:at] + "\n".join(lines) + "\n" + old[at:])
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
