"""ml.compare_runs against scikit-learn's clustering comparison scores, on real runs of the
digits data (K-Means against DBSCAN and HDBSCAN, noise included) and on generated labellings
of many shapes: one label against many, near-identical, random, items held by one run only."""
import json

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_digits

from conftest import load_matrix

SCORES = ["adjusted_rand", "adjusted_mutual_info", "normalized_mutual_info", "homogeneity", "completeness", "v_measure"]


def reference(a, b):
    h, c, v = skm.homogeneity_completeness_v_measure(a, b)
    return {
        "adjusted_rand": skm.adjusted_rand_score(a, b),
        "adjusted_mutual_info": skm.adjusted_mutual_info_score(a, b),
        "normalized_mutual_info": skm.normalized_mutual_info_score(a, b),
        "homogeneity": h, "completeness": c, "v_measure": v,
    }


def store_run(conn, labels, ids=None):
    """A run with these labels (item ids 0..n-1 unless given), written as any client could."""
    run = conn.execute("INSERT INTO ml.analysis_runs (analysis_type) VALUES ('clustering') RETURNING id").fetchone()[0]
    ids = list(range(len(labels))) if ids is None else ids
    with conn.cursor().copy("COPY ml.cluster_assignments (run_id, item_id, cluster) FROM STDIN") as cp:
        for i, l in zip(ids, labels):
            cp.write_row((run, str(i), int(l)))
    return run


def compare(conn, a, b):
    row = conn.execute("SELECT * FROM ml.compare_runs(%s, %s)", (a, b)).fetchone()
    cols = ["items", "only_in_a", "only_in_b", *SCORES, "contingency"]
    return dict(zip(cols, row))


def assert_equal_to_sklearn(ours, a, b):
    ref = reference(a, b)
    for k in SCORES:
        assert ours[k] == pytest.approx(ref[k], abs=1e-9), (k, ours[k], ref[k])
    t = ours["contingency"]
    np.testing.assert_array_equal(np.array(t["counts"]), skm.cluster.contingency_matrix(a, b))
    assert t["a_clusters"] == sorted(set(int(x) for x in a))
    assert t["b_clusters"] == sorted(set(int(x) for x in b))


def test_real_runs_of_digits_compare_as_sklearn(conn):
    X = load_digits().data.astype(np.float32)
    load_matrix(conn, "cmp_digits", X)
    runs, labels = {}, {}
    for name, algorithm, params in [("km", "kmeans", {"n_clusters": 10, "random_state": 0}),
                                    ("db", "dbscan", {"eps": 22.0, "min_samples": 5}),
                                    ("hdb", "hdbscan", {"min_cluster_size": 8})]:
        runs[name] = conn.execute("SELECT ml.cluster_embeddings('cmp_digits', algorithm => %s, params => %s)",
                                  (algorithm, json.dumps(params))).fetchone()[0]
        rows = conn.execute("SELECT item_id::int, cluster FROM ml.cluster_assignments WHERE run_id = %s ORDER BY 1",
                            (runs[name],)).fetchall()
        labels[name] = np.array([r[1] for r in rows])
    assert (labels["db"] == -1).any() and (labels["hdb"] == -1).any(), "noise is compared as a label"
    for a, b in [("km", "db"), ("db", "hdb"), ("hdb", "km")]:
        ours = compare(conn, runs[a], runs[b])
        assert (ours["items"], ours["only_in_a"], ours["only_in_b"]) == (len(X), 0, 0)
        assert_equal_to_sklearn(ours, labels[a], labels[b])
    # Against the true digit, as a run: how well K-Means recovers the classes.
    truth = store_run(conn, load_digits().target)
    assert_equal_to_sklearn(compare(conn, truth, runs["km"]), load_digits().target, labels["km"])


@pytest.mark.parametrize("seed,n,ka,kb", [(0, 500, 5, 5), (1, 3000, 40, 7), (2, 200, 1, 9), (3, 1000, 2, 2), (4, 60, 30, 30)])
def test_generated_labellings_compare_as_sklearn(conn, seed, n, ka, kb):
    rng = np.random.default_rng(seed)
    a = rng.integers(-1, ka - 1, n) if ka > 1 else np.zeros(n, dtype=int)
    # b: a relabelled, then a share of items moved at random.
    b = (a * 7 + 3) % max(kb, 1)
    move = rng.random(n) < 0.3
    b[move] = rng.integers(0, kb, move.sum())
    assert_equal_to_sklearn(compare(conn, store_run(conn, a), store_run(conn, b)), a, b)


def test_only_common_items_are_compared(conn):
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 4, 300), rng.integers(0, 3, 250)
    ra = store_run(conn, a, ids=range(0, 300))
    rb = store_run(conn, b, ids=range(100, 350))
    ours = compare(conn, ra, rb)
    assert (ours["items"], ours["only_in_a"], ours["only_in_b"]) == (200, 100, 50)
    assert_equal_to_sklearn(ours, a[100:300], b[:200])


def test_identical_and_single_label_runs(conn):
    a = np.array([0, 0, 1, 1, 2, 2, -1])
    ours = compare(conn, store_run(conn, a), store_run(conn, (a + 5) * 3))
    assert all(ours[k] == pytest.approx(1.0, abs=1e-12) for k in SCORES)
    one = np.zeros(50, dtype=int)
    assert_equal_to_sklearn(compare(conn, store_run(conn, one), store_run(conn, one)), one, one)
    assert_equal_to_sklearn(compare(conn, store_run(conn, one), store_run(conn, np.arange(50) % 5)), one, np.arange(50) % 5)
