#!/usr/bin/env python3
"""Reading results back. (1) A six-point run read (ml.run_points) and plotted (ml.plot_run)
with 1,000,000 assignment rows and 1,000,000 coordinate rows of another run stored: the target
is under 10 ms, whatever the history. (2) ml.compare_runs on two runs of 1,000,000 items (30
clusters each) against the Python pipeline: fetch both runs' labels with psycopg, then
scikit-learn's adjusted_rand_score, adjusted_mutual_info_score, normalized_mutual_info_score
and homogeneity_completeness_v_measure; the scores are checked equal. Writes its section of
docs/benchmarks.md (bench/run_reads.sh)."""
import os
import platform
import statistics
import sys
import time

import numpy as np
import psycopg
from sklearn import metrics as skm

sys.path.insert(0, os.path.dirname(__file__))
from sections import put_section  # noqa: E402

HOST, PORT = os.environ["PG_MLKIT_TMP"], os.environ["PG_MLKIT_PORT"]
N = 1_000_000


def timed(f, repeat):
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def main():
    c = psycopg.connect(f"host={HOST} port={PORT} user=postgres dbname=postgres", autocommit=True)
    c.execute("DROP EXTENSION IF EXISTS pg_mlkit CASCADE")
    c.execute("CREATE EXTENSION pg_mlkit")
    c.execute("DROP TABLE IF EXISTS small")
    c.execute("CREATE TABLE small (id int PRIMARY KEY, embedding real[])")
    c.execute("INSERT INTO small SELECT i, ARRAY[i % 2 * 10 + i, i % 2]::real[] FROM generate_series(1, 6) i")
    big = c.execute("INSERT INTO ml.analysis_runs (analysis_type) VALUES ('clustering') RETURNING id").fetchone()[0]
    c.execute("INSERT INTO ml.cluster_assignments (run_id, item_id, cluster) SELECT %s, i::text, i %% 30 FROM generate_series(1, %s) i", (big, N))
    c.execute("INSERT INTO ml.embedding_coordinates (run_id, item_id, coords) SELECT %s, i::text, ARRAY[i, -i]::real[] FROM generate_series(1, %s) i", (big, N))
    small = c.execute("SELECT ml.cluster_embeddings('small', params => '{\"n_clusters\": 2, \"random_state\": 0}', "
                      "reduction => 'pca', reduction_params => '{\"n_components\": 2}')").fetchone()[0]
    c.execute("VACUUM ANALYZE ml.cluster_assignments")
    c.execute("VACUUM ANALYZE ml.embedding_coordinates")
    read_ms = timed(lambda: c.execute("SELECT * FROM ml.run_points WHERE run_id = %s", (small,)).fetchall(), 50)
    plot_ms = timed(lambda: c.execute("SELECT ml.plot_run(%s)", (small,)).fetchone(), 50)

    other = c.execute("INSERT INTO ml.analysis_runs (analysis_type) VALUES ('clustering') RETURNING id").fetchone()[0]
    c.execute("INSERT INTO ml.cluster_assignments (run_id, item_id, cluster) SELECT %s, i::text, (i / 7 + i %% 3) %% 30 FROM generate_series(1, %s) i", (other, N))
    c.execute("ANALYZE ml.cluster_assignments")
    ours = {}

    def in_db():
        ours["row"] = c.execute("SELECT adjusted_rand, adjusted_mutual_info, normalized_mutual_info, homogeneity, completeness, v_measure "
                                "FROM ml.compare_runs(%s, %s)", (big, other)).fetchone()

    def in_python():
        rows = c.execute("SELECT a.cluster, b.cluster FROM ml.cluster_assignments a JOIN ml.cluster_assignments b USING (item_id) "
                         "WHERE a.run_id = %s AND b.run_id = %s", (big, other)).fetchall()
        a, b = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
        ours["ref"] = (skm.adjusted_rand_score(a, b), skm.adjusted_mutual_info_score(a, b), skm.normalized_mutual_info_score(a, b),
                       *skm.homogeneity_completeness_v_measure(a, b))

    db_ms, py_ms = timed(in_db, 3), timed(in_python, 3)
    assert np.allclose(ours["row"], ours["ref"], atol=1e-9, rtol=0), (ours["row"], ours["ref"])
    put_section("run_reads", f"""## Reading results back (target: one small run in under 10 ms, whatever the history)

`bench/run_reads.sh`, release build, {platform.machine()}, {os.cpu_count()} cores; medians.
A run of 6 points (K-Means after PCA) with {N:,} assignment rows and {N:,} coordinate rows of
another run in the same tables:

| read | median |
|---|---|
| `SELECT * FROM ml.run_points WHERE run_id = …` (6 rows) | {read_ms:.2f} ms |
| `ml.plot_run(…)` (the SVG) | {plot_ms:.2f} ms |

`ml.compare_runs` on two runs of {N:,} items, 30 clusters each, against the Python pipeline
(fetch both runs' labels with psycopg, then scikit-learn's six scores); the scores agree within
1e-9:

| | median of 3 |
|---|---|
| `ml.compare_runs` | {db_ms:,.0f} ms |
| psycopg + scikit-learn | {py_ms:,.0f} ms |
""")
    print(f"run_points {read_ms:.2f} ms, plot_run {plot_ms:.2f} ms, compare_runs {db_ms:.0f} ms vs python {py_ms:.0f} ms")


if __name__ == "__main__":
    main()
