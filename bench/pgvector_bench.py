#!/usr/bin/env python3
"""pgvector columns: how fast ml.cluster_embeddings reads 1M x 768 from a vector column, from
a real[] column with the same values, and through the cast path (a view casting the vector
column to real[] per row), in one run; and, for information, K-Means with k = 1,000 on
1M x 128 against the k-means inside pgvector's CREATE INDEX ... USING ivfflat (lists = 1000).
Writes its section of docs/benchmarks.md. Run: bash bench/pgvector.sh
(BENCH_ROWS=100000 for a quick try)."""
import os
import platform
import sys
import time

import psycopg

sys.path.insert(0, os.path.dirname(__file__))
from sections import put_section  # noqa: E402

HOST, PORT = os.environ["PG_MLKIT_TMP"], os.environ["PG_MLKIT_PORT"]
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
DIM = 768


def read_ms(conn, source):
    """ml.cluster_embeddings' own read time (metrics.timings_ms.read) and the call's wall time."""
    t = time.perf_counter()
    run = conn.execute(
        "SELECT ml.cluster_embeddings(%s, params => '{\"n_clusters\": 8, \"max_iter\": 1, \"random_state\": 0, "
        "\"silhouette_sample_size\": 0}')", (source,)).fetchone()[0]
    wall = time.perf_counter() - t
    m = conn.execute("SELECT metrics FROM ml.analysis_runs WHERE id = %s", (run,)).fetchone()[0]
    return m["timings_ms"]["read"], wall


def main():
    conn = psycopg.connect(f"host={HOST} port={PORT} user=postgres dbname=postgres", autocommit=True)
    conn.execute("DROP EXTENSION IF EXISTS pg_mlkit CASCADE")
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    conn.execute("CREATE EXTENSION pg_mlkit")
    conn.execute("SET pg_mlkit.max_memory_mb = 16000")
    conn.execute("SET maintenance_work_mem = '4GB'")
    version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]

    # 1M x 768 random values (incompressible, so TOASTed out of line as real embeddings are).
    t = time.perf_counter()
    conn.execute("DROP TABLE IF EXISTS emb_real, emb_vec, emb_128 CASCADE")
    conn.execute(f"CREATE TABLE emb_real AS SELECT g AS id, ARRAY(SELECT (random() - 0.5)::real FROM generate_series(1, {DIM}) "
                 "WHERE g > 0) AS embedding FROM generate_series(1, %s) g" % ROWS)
    conn.execute(f"CREATE TABLE emb_vec AS SELECT id, embedding::vector({DIM}) AS embedding FROM emb_real")
    conn.execute("CREATE VIEW emb_cast AS SELECT id, embedding::real[] AS embedding FROM emb_vec")
    conn.execute("VACUUM ANALYZE emb_real")
    conn.execute("VACUUM ANALYZE emb_vec")
    gen = time.perf_counter() - t
    sizes = {t: conn.execute(f"SELECT pg_size_pretty(pg_total_relation_size('{t}'))").fetchone()[0] for t in ("emb_real", "emb_vec")}

    results = {}
    for source in ("emb_vec", "emb_real", "emb_cast") * 2:  # twice each, interleaved; the better kept
        r = read_ms(conn, source)
        results[source] = min(results.get(source, r), r)

    # 1M x 128: ml.cluster_embeddings with k = 1000 against ivfflat's k-means.
    conn.execute("CREATE TABLE emb_128 AS SELECT g AS id, ARRAY(SELECT (random() - 0.5)::real FROM generate_series(1, 128) "
                 "WHERE g > 0)::vector(128) AS embedding FROM generate_series(1, %s) g" % ROWS)
    conn.execute("VACUUM ANALYZE emb_128")
    t = time.perf_counter()
    conn.execute("CREATE INDEX emb_128_ivf ON emb_128 USING ivfflat (embedding vector_l2_ops) WITH (lists = 1000)")
    ivf = time.perf_counter() - t
    t = time.perf_counter()
    run = conn.execute("SELECT ml.cluster_embeddings('emb_128', params => '{\"n_clusters\": 1000, \"max_iter\": 10, "
                       "\"random_state\": 0, \"silhouette_sample_size\": 0}')").fetchone()[0]
    ours = time.perf_counter() - t
    m = conn.execute("SELECT metrics FROM ml.analysis_runs WHERE id = %s", (run,)).fetchone()[0]

    cpu = platform.processor() or platform.machine()
    lines = [
        f"## pgvector columns: reading {ROWS:,} × {DIM} (target: vector at least as fast as real[], faster than the cast)",
        "",
        f"`bench/pgvector.sh`, release build, pgvector {version}, {os.cpu_count()} cores ({cpu}). Random values in",
        f"[−0.5, 0.5) (incompressible, so every row is TOASTed out of line, as real embeddings are): `real[]` "
        f"{sizes['emb_real']}, `vector({DIM})` {sizes['emb_vec']}; generating them took {gen:.0f} s.",
        "The read time is `ml.cluster_embeddings`' own (`metrics.timings_ms.read`: the cursor, decoding and",
        "checking every row into the matrix); the call is K-Means with k = 8 and one iteration, whose seeding,
iteration and 1M assignment writes are the same work for all three sources.",
        "Best of two interleaved runs each.",
        "",
        "| source | read | whole call |",
        "|---|---:|---:|",
    ]
    names = {"emb_vec": f"`vector({DIM})` column, read from its bytes", "emb_real": "`real[]` column",
             "emb_cast": "the cast path: a view `SELECT id, embedding::real[] FROM` the vector table"}
    for s in ("emb_vec", "emb_real", "emb_cast"):
        r, w = results[s]
        lines.append(f"| {names[s]} | {r / 1000:.1f} s | {w:.1f} s |")
    lines += [
        "",
        f"### For information: k = 1,000 on {ROWS:,} × 128 against ivfflat's k-means",
        "",
        "pgvector's `CREATE INDEX ... USING ivfflat (embedding vector_l2_ops) WITH (lists = 1000)` runs k-means",
        "on a sample of 50 rows per list (50,000 rows) and then assigns every row to a list; `ml.cluster_embeddings`",
        "fits all the rows (k-means++ seeding, here at most 10 Lloyd iterations, Hamerly's bounds) and writes",
        "every assignment. Not the same job: one builds an index from a sample, the other clusters the table.",
        "",
        "| | time |",
        "|---|---:|",
        f"| `CREATE INDEX ... ivfflat (lists = 1000)` (maintenance_work_mem 4 GB) | {ivf:.1f} s |",
        f"| `ml.cluster_embeddings`, k = 1000, max_iter 10 (inertia {m['inertia']:.4g}, {m.get('n_iter', '?')} iterations) | {ours:.1f} s |",
    ]
    put_section("pgvector", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
