"""A long ml.cluster_embeddings stops promptly on statement_timeout and on a cancel from
another session, and leaves nothing behind."""
import json
import threading
import time

import numpy as np
import psycopg
import pytest

from conftest import conninfo, load_matrix

# How long a call may take to stop once cancelled: interrupts are checked many times a second,
# and the margin is for a loaded 2-core machine (CI runs builds beside it). Every call below
# would run for tens of seconds without those checks, so the bound still tells them apart.
SLACK = 3.0

LONG = '{"n_clusters": 64, "n_init": 1000, "max_iter": 1000, "tol": 0, "random_state": 1}'
# Calls that would run for tens of seconds on the 60,000 × 32 table, one per algorithm and
# per long phase: K-Means restarts, its seeding with many centres, its centre-to-centre step
# with thousands of centres, DBSCAN's neighbourhoods, HDBSCAN's spanning tree, and a
# silhouette on every point.
LONG_CALLS = {
    "kmeans": ("kmeans", LONG),
    "kmeans seeding": ("kmeans", '{"n_clusters": 20000, "max_iter": 1, "random_state": 1}'),
    "dbscan": ("dbscan", '{"eps": 0.2, "min_samples": 5}'),
    "hdbscan": ("hdbscan", '{"min_cluster_size": 20}'),
    "silhouette": ("kmeans", '{"n_clusters": 2, "max_iter": 2, "silhouette_sample_size": 100000, "random_state": 1}'),
}


@pytest.fixture(scope="module")
def big(db):
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        X = np.random.default_rng(0).normal(size=(60000, 32))
        load_matrix(c, "big", X)
    return "big"


def runs(conn):
    return conn.execute("SELECT count(*) FROM ml.analysis_runs").fetchone()[0]


def test_statement_timeout_stops_within_a_second_and_progress_is_reported(conn, big):
    before = runs(conn)
    notices = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    conn.execute("SET statement_timeout = '2500ms'")
    conn.execute("SET pg_mlkit.progress_interval = '1s'")
    start = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute(f"SELECT ml.cluster_embeddings('big', params => '{LONG}')")
    elapsed = time.monotonic() - start
    conn.execute("RESET statement_timeout")
    conn.execute("RESET pg_mlkit.progress_interval")
    assert elapsed < 2.5 + SLACK, f"took {elapsed:.2f} s to stop after a 2.5 s timeout"
    assert runs(conn) == before
    # A call longer than pg_mlkit.progress_interval says how far it is.
    progress = [n for n in notices if n.startswith("ml.cluster_embeddings(public.big)")]
    assert progress, f"no progress NOTICE in {notices}"
    assert any("iteration" in n or "seeding" in n for n in progress), progress


@pytest.fixture(scope="module")
def wide(db):
    """250,000 uniform points in 20 dimensions, made in the server: DBSCAN's brute force
    compares 3·10¹⁰ pairs here, tens of seconds of work."""
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS wide")
        c.execute("CREATE TABLE wide AS SELECT g AS id, ARRAY(SELECT random() FROM generate_series(1, 20) "
                  "WHERE g > 0)::real[] AS embedding FROM generate_series(1, 250000) g")
    return "wide"


@pytest.mark.parametrize("case", list(LONG_CALLS))
def test_every_algorithm_stops_on_statement_timeout(conn, big, wide, case):
    algorithm, params = LONG_CALLS[case]
    table = wide if algorithm == "dbscan" else big
    before = runs(conn)
    conn.execute("SET statement_timeout = '1500ms'")
    start = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute("SELECT ml.cluster_embeddings(%s, algorithm => %s, params => %s)", (table, algorithm, params))
    elapsed = time.monotonic() - start
    conn.execute("RESET statement_timeout")
    assert elapsed < 1.5 + SLACK, f"{case}: took {elapsed:.2f} s to stop after a 1.5 s timeout"
    assert runs(conn) == before


def test_cancel_from_another_session_stops_within_a_second(conn, big, db):
    before = runs(conn)
    # A safety net: if cancelling failed, the test fails after a minute instead of hanging.
    conn.execute("SET statement_timeout = '60s'")
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    cancelled_at = []

    def cancel():
        time.sleep(1.5)
        with psycopg.connect(conninfo(db), autocommit=True) as other:
            cancelled_at.append(time.monotonic())
            other.execute("SELECT pg_cancel_backend(%s)", (pid,))

    t = threading.Thread(target=cancel)
    t.start()
    with pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute(f"SELECT ml.cluster_embeddings('big', params => '{LONG}')")
    stopped = time.monotonic()
    t.join()
    conn.execute("RESET statement_timeout")
    assert stopped - cancelled_at[0] < SLACK, f"took {stopped - cancelled_at[0]:.2f} s to stop after the cancel"
    assert runs(conn) == before


@pytest.mark.parametrize("table,radius", [
    # 600,000 random 64-bit hashes at radius 14: counting neighbours takes tens of seconds.
    ("SELECT g AS id, ('x' || substr(md5(g::text), 1, 16))::bit(64)::bigint AS phash FROM generate_series(1, 600000) g", 14),
    # 1,000 bit strings of 16,384 bits at the largest radius: every search probes about
    # 140,000 keys, so interrupts are checked every few searches.
    ("SELECT g.i AS id, (SELECT string_agg(CASE WHEN random() < 0.02 * (g.i % 3) + 0 * s THEN '1' ELSE '0' END, '')::varbit "
     "FROM generate_series(1, 16384) s) AS phash FROM generate_series(1, 1000) g(i)", 3071),
], ids=["64-bit", "16384-bit"])
def test_near_duplicate_grouping_stops_on_statement_timeout(conn, table, radius):
    conn.execute("DROP TABLE IF EXISTS many_hashes")
    conn.execute(f"CREATE TABLE many_hashes AS {table}")
    before = runs(conn)
    conn.execute("SET statement_timeout = '1500ms'")
    start = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute("SELECT ml.group_near_duplicates('many_hashes', params => %s)", (json.dumps({"radius": radius}),))
    elapsed = time.monotonic() - start
    conn.execute("RESET statement_timeout")
    conn.execute("DROP TABLE many_hashes")
    assert elapsed < 1.5 + SLACK, f"took {elapsed:.2f} s to stop after a 1.5 s timeout"
    assert runs(conn) == before


@pytest.mark.parametrize("method,params", [
    ("tsne", '{"random_state": 1}'),
    ("umap", '{"random_state": 1, "n_epochs": 5000}'),
])
def test_reductions_stop_on_statement_timeout_and_report_progress(conn, big, method, params):
    before = runs(conn)
    notices = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    conn.execute("SET pg_mlkit.progress_interval = '1s'")
    conn.execute("SET statement_timeout = '4s'")
    start = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute("SELECT ml.reduce_embeddings(%s, method => %s, params => %s)", (big, method, params))
    elapsed = time.monotonic() - start
    conn.execute("RESET statement_timeout")
    conn.execute("RESET pg_mlkit.progress_interval")
    assert elapsed < 4 + SLACK, f"{method}: took {elapsed:.2f} s to stop after a 4 s timeout"
    assert runs(conn) == before
    progress = [n for n in notices if n.startswith("ml.reduce_embeddings(public.big)")]
    assert progress, f"no progress NOTICE in {notices}"
