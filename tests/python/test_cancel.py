"""A long ml.cluster_embeddings stops promptly on statement_timeout and on a cancel from
another session, and leaves nothing behind."""
import threading
import time

import numpy as np
import psycopg
import pytest

from conftest import conninfo, load_matrix

LONG = '{"n_clusters": 64, "n_init": 1000, "max_iter": 1000, "tol": 0, "random_state": 1}'


@pytest.fixture(scope="module")
def big(db):
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        X = np.random.default_rng(0).normal(size=(60000, 32))
        load_matrix(c, "big", X)
    return "big"


def runs(conn):
    return conn.execute("SELECT count(*) FROM ml.analysis_runs").fetchone()[0]


def test_statement_timeout_stops_within_a_second(conn, big):
    before = runs(conn)
    conn.execute("SET statement_timeout = '1500ms'")
    start = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute(f"SELECT ml.cluster_embeddings('big', params => '{LONG}')")
    elapsed = time.monotonic() - start
    conn.execute("RESET statement_timeout")
    assert elapsed < 1.5 + 1.0, f"took {elapsed:.2f} s to stop after a 1.5 s timeout"
    assert runs(conn) == before


def test_cancel_from_another_session_stops_within_a_second(conn, big, db):
    before = runs(conn)
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
    assert stopped - cancelled_at[0] < 1.0, f"took {stopped - cancelled_at[0]:.2f} s to stop after the cancel"
    assert runs(conn) == before
