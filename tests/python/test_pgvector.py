"""pgvector columns read natively (from their stored bytes, no cast per row): clustering and
reduction of vector, halfvec and sparsevec columns give exactly the rows the real[] path gives
for the same values; NULLs, dimension mismatches and oversized densified rows get the errors
real[] gets; a look-alike type named vector is not decoded as pgvector's.

Runs against the real pgvector, which scripts/bootstrap.sh builds from its vendored source;
skipped only when that source is absent (pg_mlkit never requires pgvector)."""
import json
import os
import pathlib

import numpy as np
import psycopg
import pytest
from sklearn.datasets import load_digits, make_blobs

from conftest import conninfo, fresh_db

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARBALLS = [os.environ.get("PGVECTOR_TARBALL", ""), ROOT.parent / "shared/vendor/pgvector-0.8.6.tar.gz",
            pathlib.Path("/work/shared/vendor/pgvector-0.8.6.tar.gz")]


@pytest.fixture(scope="module")
def vconn():
    db = fresh_db("pg_mlkit_pgvector")
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        have = c.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'").fetchone()[0]
        if not have:
            if any(t and pathlib.Path(t).is_file() for t in TARBALLS):
                pytest.fail("pgvector's source is here but pgvector is not installed: run scripts/bootstrap.sh")
            pytest.skip("pgvector is not installed and its source (pgvector-0.8.6.tar.gz) is absent")
        c.execute("CREATE EXTENSION vector")
        yield c


def load(c, table, X):
    """A table with the same rows as real[], vector, halfvec (its values rounded to half, the
    real[] copy holding the same rounded values) and sparsevec columns."""
    c.execute(f"DROP TABLE IF EXISTS {table}")
    c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, r real[], v vector, h halfvec, hr real[], s sparsevec)")
    with c.cursor().copy(f"COPY {table} (id, r) FROM STDIN") as cp:
        for i, row in enumerate(X):
            cp.write_row((i, [float(v) for v in row]))
    c.execute(f"UPDATE {table} SET v = r::vector, h = r::halfvec, s = r::vector::sparsevec")
    c.execute(f"UPDATE {table} SET hr = h::real[]")


def assignments(c, run_id):
    return c.execute("SELECT item_id, cluster, distance, probability FROM ml.cluster_assignments "
                     "WHERE run_id = %s ORDER BY item_id", (run_id,)).fetchall()


def cluster(c, table, column, algorithm, params):
    return c.execute("SELECT ml.cluster_embeddings(%s, %s, 'id', algorithm => %s, params => %s)",
                     (table, column, algorithm, json.dumps(params))).fetchone()[0]


def sparse_data(seed, n=600, d=40):
    X, _ = make_blobs(n_samples=n, n_features=d, centers=4, cluster_std=0.8, random_state=seed)
    X[np.random.default_rng(seed).random(X.shape) < 0.7] = 0.0  # mostly zeros, as sparse data is
    return X.astype(np.float32)


CASES = [
    ("kmeans", {"n_clusters": 4, "random_state": 3}),
    ("kmeans", {"n_clusters": 4, "random_state": 3, "engine": "scan"}),
    ("dbscan", {"eps": 4.0, "min_samples": 5}),
    ("hdbscan", {"min_cluster_size": 15}),
]


@pytest.mark.parametrize("algorithm,params", CASES)
def test_vector_halfvec_and_sparsevec_cluster_as_real_arrays(vconn, algorithm, params):
    load(vconn, "pv_blobs", sparse_data(7))
    same = [("r", "v"), ("hr", "h"), ("r", "s")]
    for a, b in same:
        ra, rb = cluster(vconn, "pv_blobs", a, algorithm, params), cluster(vconn, "pv_blobs", b, algorithm, params)
        assert assignments(vconn, ra) == assignments(vconn, rb), (algorithm, a, b)
        ma, mb = (vconn.execute("SELECT metrics - 'timings_ms' - 'read_ms' FROM ml.analysis_runs WHERE id = %s",
                                (r,)).fetchone()[0] for r in (ra, rb))
        for k in ("silhouette", "davies_bouldin", "calinski_harabasz", "inertia", "n_clusters"):
            assert ma.get(k) == mb.get(k), (algorithm, a, b, k)


def test_real_digits_as_vectors(vconn):
    X = load_digits().data.astype(np.float32)
    load(vconn, "pv_digits", X)
    ra = cluster(vconn, "pv_digits", "r", "kmeans", {"n_clusters": 10, "random_state": 0})
    rb = cluster(vconn, "pv_digits", "v", "kmeans", {"n_clusters": 10, "random_state": 0})
    assert assignments(vconn, ra) == assignments(vconn, rb)


@pytest.mark.parametrize("method,params", [("pca", {"n_components": 2}),
                                           ("tsne", {"perplexity": 10, "random_state": 1, "n_iter": 250}),
                                           ("umap", {"n_neighbors": 10, "random_state": 1})])
def test_reduction_of_vectors_equals_real_arrays(vconn, method, params):
    load(vconn, "pv_red", sparse_data(11, n=300, d=12))
    coords = {}
    for col in ("r", "v", "s"):
        run = vconn.execute("SELECT ml.reduce_embeddings('pv_red', %s, 'id', method => %s, params => %s)",
                            (col, method, json.dumps(params))).fetchone()[0]
        coords[col] = vconn.execute("SELECT item_id, coords FROM ml.embedding_coordinates WHERE run_id = %s "
                                    "ORDER BY item_id", (run,)).fetchall()
    assert coords["r"] == coords["v"] == coords["s"]


def error(c, sql):
    with pytest.raises(psycopg.Error) as e:
        c.execute(sql)
    return e.value.diag.sqlstate, e.value.diag.message_primary


def test_nulls_dimension_mismatches_and_domains(vconn):
    c = vconn
    c.execute("DROP TABLE IF EXISTS pv_bad; DROP DOMAIN IF EXISTS pv_dom")
    c.execute("CREATE DOMAIN pv_dom AS vector(2)")
    c.execute("CREATE TABLE pv_bad (id int, v vector, d pv_dom, h halfvec, s sparsevec)")
    c.execute("INSERT INTO pv_bad SELECT i, ARRAY[i, i % 3]::vector, ARRAY[i, i % 3]::vector, "
              "ARRAY[i, i % 3]::halfvec, ARRAY[i, i % 3]::vector::sparsevec FROM generate_series(1, 20) i")
    # A domain over vector reads as vector.
    run = c.execute("SELECT ml.cluster_embeddings('pv_bad', 'd', 'id', params => '{\"n_clusters\": 2}')").fetchone()[0]
    assert c.execute("SELECT count(*) FROM ml.cluster_assignments WHERE run_id = %s", (run,)).fetchone()[0] == 20
    c.execute("INSERT INTO pv_bad VALUES (21, NULL, NULL, NULL, NULL), (22, '[1,2,3]', NULL, '[1,2,3]', '{1:1}/3')")
    for col in ("v", "h", "s"):
        state, msg = error(c, f"SELECT ml.cluster_embeddings('pv_bad', '{col}', 'id', params => '{{\"n_clusters\": 2}}')")
        assert state == "22004" and "is NULL for id '21'" in msg, (col, msg)
    c.execute("DELETE FROM pv_bad WHERE id = 21")
    for col in ("v", "h", "s"):
        state, msg = error(c, f"SELECT ml.cluster_embeddings('pv_bad', '{col}', 'id', params => '{{\"n_clusters\": 2}}')")
        assert state == "2202E" and "has 3 dimensions, but the first row's has 2" in msg, (col, msg)


def test_a_densified_sparsevec_is_counted_against_max_memory_mb(vconn):
    c = vconn
    c.execute("DROP TABLE IF EXISTS pv_wide")
    c.execute("CREATE TABLE pv_wide AS SELECT i AS id, ('{1:1,' || (i % 5 + 2) || ':1}/50000000')::sparsevec AS s "
              "FROM generate_series(1, 10) i")
    state, msg = error(c, "SELECT ml.cluster_embeddings('pv_wide', 's', 'id', params => '{\"n_clusters\": 2}')")
    assert state == "54000" and "densified" in msg and "50000000 dimensions" in msg, msg


def test_a_look_alike_vector_type_is_not_decoded_as_pgvectors(vconn):
    c = vconn
    c.execute("DROP SCHEMA IF EXISTS fake CASCADE; CREATE SCHEMA fake")
    # A type named vector whose input function is not pgvector's C function: read through its
    # cast to real[] (here: none), never from its bytes.
    c.execute("CREATE TYPE fake.vector AS (x real[])")
    c.execute("CREATE TABLE fake.t (id int, v fake.vector)")
    c.execute("INSERT INTO fake.t VALUES (1, ROW('{1,2}')), (2, ROW('{3,4}'))")
    state, msg = error(c, "SELECT ml.cluster_embeddings('fake.t', 'v', 'id', params => '{\"n_clusters\": 1}')")
    assert state == "42804" and "does not cast to real[]" in msg
