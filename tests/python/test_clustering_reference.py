"""ml.cluster_embeddings's DBSCAN, HDBSCAN, K-Means and quality metrics against
scikit-learn, on generated data of varying density and on the real digits data set.

Rows are read in id order, and the tables here use ids 0..n-1 in the order of X, so labels
can be compared position by position."""
import json
import warnings

import numpy as np
import pytest
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.datasets import load_digits, make_blobs
from sklearn.metrics import (adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score, silhouette_samples,
                             silhouette_score)

from conftest import load_matrix

warnings.filterwarnings("ignore", category=FutureWarning)


def cluster(conn, table, algorithm, params):
    run_id = conn.execute(
        "SELECT ml.cluster_embeddings(%s, algorithm => %s, params => %s)",
        (table, algorithm, json.dumps(params)),
    ).fetchone()[0]
    metrics = conn.execute("SELECT metrics FROM ml.analysis_runs WHERE id = %s", (run_id,)).fetchone()[0]
    rows = conn.execute(
        "SELECT item_id::int, cluster, distance, probability FROM ml.cluster_assignments WHERE run_id = %s ORDER BY 1",
        (run_id,)).fetchall()
    labels = np.array([r[1] for r in rows])
    dist = np.array([np.nan if r[2] is None else r[2] for r in rows])
    prob = np.array([np.nan if r[3] is None else r[3] for r in rows])
    return metrics, labels, dist, prob


def varying_density(seed, n=4000, d=5):
    X, _ = make_blobs(n_samples=n, n_features=d, centers=6, cluster_std=[0.3, 0.6, 1.0, 1.6, 0.5, 2.2],
                      random_state=seed)
    noise = np.random.default_rng(seed).uniform(X.min(), X.max(), size=(n // 20, d))
    return np.vstack([X, noise]).astype(np.float32)


def stable_sklearn_hdbscan(X, **kw):
    """scikit-learn's HDBSCAN with its MST sorted stably: where mutual-reachability distances
    tie, NumPy's default sort merges them in an arbitrary order; ours merges them in the order
    Prim's algorithm found them. With the same order the results must be identical."""
    import sklearn.cluster._hdbscan.hdbscan as H
    from sklearn.cluster._hdbscan._linkage import make_single_linkage
    original = H._process_mst
    H._process_mst = lambda mst: make_single_linkage(mst[np.argsort(mst["distance"], kind="stable")])
    try:
        return HDBSCAN(**kw).fit(X.astype(np.float64))
    finally:
        H._process_mst = original


# --- DBSCAN: the same labels as scikit-learn, number for number --------------------------

@pytest.mark.parametrize("seed,d,eps,min_samples", [(0, 5, 0.8, 5), (1, 8, 1.5, 10), (2, 3, 0.4, 4)])
def test_dbscan_tree_path_equals_sklearn(conn, seed, d, eps, min_samples):
    X = varying_density(seed, d=d)
    load_matrix(conn, "dbs", X)
    _, labels, _, _ = cluster(conn, "dbs", "dbscan", {"eps": eps, "min_samples": min_samples})
    ref = DBSCAN(eps=eps, min_samples=min_samples).fit(X.astype(np.float64)).labels_
    assert len(set(ref)) > 2 and (ref == -1).any(), "the case should have clusters and noise"
    np.testing.assert_array_equal(labels, ref)


def test_dbscan_brute_path_equals_sklearn_on_wide_data(conn):
    # 64-dimensional: above the tree's limit, so the blocked brute force runs.
    X = load_digits().data.astype(np.float32)
    load_matrix(conn, "dbs_wide", X)
    metrics, labels, _, _ = cluster(conn, "dbs_wide", "dbscan", {"eps": 21.0, "min_samples": 6})
    ref = DBSCAN(eps=21.0, min_samples=6).fit(X.astype(np.float64)).labels_
    assert metrics["neighbour_search"] == "brute"
    assert len(set(ref)) > 3 and (ref == -1).any()
    np.testing.assert_array_equal(labels, ref)


def test_dbscan_cosine_equals_sklearn(conn):
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(5, 32))
    X = np.vstack([c + rng.normal(scale=0.35, size=(300, 32)) for c in centres]).astype(np.float32)
    load_matrix(conn, "dbs_cos", X)
    _, labels, _, _ = cluster(conn, "dbs_cos", "dbscan", {"eps": 0.05, "min_samples": 5, "metric": "cosine"})
    ref = DBSCAN(eps=0.05, min_samples=5, metric="cosine").fit(X.astype(np.float64)).labels_
    assert len(set(ref)) > 2
    np.testing.assert_array_equal(labels, ref)


# --- HDBSCAN -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed,params", [
    (0, {"min_cluster_size": 10}),
    (1, {"min_cluster_size": 25, "min_samples": 5}),
    (2, {"min_cluster_size": 15, "cluster_selection_method": "leaf"}),
    (3, {"min_cluster_size": 10, "cluster_selection_epsilon": 0.5}),
    (4, {"min_cluster_size": 20, "alpha": 1.3, "allow_single_cluster": True}),
])
def test_hdbscan_equals_sklearn(conn, seed, params):
    X = varying_density(seed, n=3000)
    load_matrix(conn, "hdb", X)
    metrics, labels, _, prob = cluster(conn, "hdb", "hdbscan", params)
    ref = stable_sklearn_hdbscan(X, **params)
    np.testing.assert_array_equal(labels, ref.labels_)
    np.testing.assert_allclose(prob, ref.probabilities_, rtol=1e-6, atol=1e-9)
    assert metrics["n_clusters_found"] == len(set(ref.labels_) - {-1})
    # Against scikit-learn as shipped, ties may merge in another order: still nearly equal.
    assert adjusted_rand_score(labels, HDBSCAN(**params).fit(X.astype(np.float64)).labels_) > 0.95


def test_hdbscan_without_ties_equals_sklearn_as_shipped(conn):
    # min_samples = 1: core distances are 0, mutual reachability is the plain distance,
    # so no ties: labels and probabilities equal scikit-learn's unpatched.
    X = varying_density(7, n=2500)
    load_matrix(conn, "hdb1", X)
    _, labels, _, prob = cluster(conn, "hdb1", "hdbscan", {"min_cluster_size": 12, "min_samples": 1})
    ref = HDBSCAN(min_cluster_size=12, min_samples=1).fit(X.astype(np.float64))
    assert adjusted_rand_score(labels, ref.labels_) == 1.0
    np.testing.assert_array_equal(labels, ref.labels_)
    np.testing.assert_allclose(prob, ref.probabilities_, rtol=1e-6, atol=1e-9)


def test_hdbscan_on_real_digits(conn):
    X = load_digits().data.astype(np.float32)
    load_matrix(conn, "hdb_digits", X)
    _, labels, _, prob = cluster(conn, "hdb_digits", "hdbscan", {"min_cluster_size": 8})
    ref = stable_sklearn_hdbscan(X, min_cluster_size=8)
    np.testing.assert_array_equal(labels, ref.labels_)
    np.testing.assert_allclose(prob, ref.probabilities_, rtol=1e-6, atol=1e-9)


# --- Quality metrics -----------------------------------------------------------------------

@pytest.mark.parametrize("algorithm,params", [
    ("kmeans", {"n_clusters": 7, "random_state": 0}),
    ("dbscan", {"eps": 0.8, "min_samples": 5}),
    ("hdbscan", {"min_cluster_size": 10}),
])
def test_metrics_equal_sklearn_on_the_same_labels(conn, algorithm, params):
    # Far from the origin, to catch precision loss in the distance expansion.
    X = varying_density(11, n=2500) + np.float32(1000.0)
    load_matrix(conn, "met", X)
    metrics, labels, _, _ = cluster(conn, "met", algorithm, {**params, "silhouette_sample_size": 5000})
    keep = labels >= 0
    Xk, lk = X[keep].astype(np.float64), labels[keep]
    assert metrics["silhouette_sample_size"] == keep.sum()
    for ours, ref in [(metrics["silhouette"], silhouette_score(Xk, lk)),
                      (metrics["davies_bouldin"], davies_bouldin_score(Xk, lk)),
                      (metrics["calinski_harabasz"], calinski_harabasz_score(Xk, lk))]:
        assert ours == pytest.approx(ref, rel=1e-6)
    if algorithm != "kmeans":
        assert metrics["noise_fraction"] == pytest.approx((~keep).mean())
    # ml.cluster_summaries: per cluster, the size, the mean of silhouette_samples, the centroid
    # (the mean of the items, or K-Means's centroid) and the largest distance to it.
    run_id = conn.execute("SELECT max(id) FROM ml.analysis_runs").fetchone()[0]
    rows = conn.execute("SELECT cluster, size, silhouette, centroid, max_distance FROM ml.cluster_summaries "
                        "WHERE run_id = %s AND cluster >= 0 ORDER BY cluster", (run_id,)).fetchall()
    samples = silhouette_samples(Xk, lk)
    assert [r[0] for r in rows] == sorted(set(lk.tolist()))
    for label, size, sil, centroid, max_distance in rows:
        members = X[labels == label].astype(np.float64)
        assert size == len(members)
        assert sil == pytest.approx(samples[lk == label].mean(), rel=1e-6, abs=1e-9)
        assert np.allclose(centroid, members.mean(axis=0), rtol=1e-4, atol=1e-3)
        far = np.sqrt(((members - np.array(centroid, dtype=np.float64)) ** 2).sum(axis=1)).max()
        # (the stored centroid is single precision: about 6e-5 off at 1000 from the origin)
        assert max_distance == pytest.approx(far, rel=1e-5, abs=3e-4)


# --- K-Means: inertia recomputed from the labels -------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_kmeans_inertia_recomputed_from_labels(conn, seed):
    X, _ = make_blobs(n_samples=5000, n_features=16, centers=10, cluster_std=3.0, random_state=seed)
    X = X.astype(np.float32)
    load_matrix(conn, "km", X)
    metrics, labels, dist, _ = cluster(conn, "km", "kmeans", {"n_clusters": 10, "n_init": 3, "random_state": seed})
    X64 = X.astype(np.float64)
    centroids = np.array([X64[labels == k].mean(axis=0) for k in range(10)])
    inertia = ((X64 - centroids[labels]) ** 2).sum()
    np.testing.assert_allclose(dist, np.sqrt(((X64 - centroids[labels]) ** 2).sum(axis=1)), rtol=1e-3, atol=1e-3)
    ref = KMeans(n_clusters=10, n_init=3, random_state=seed).fit(X).inertia_
    assert ref * 0.98 <= inertia <= ref * 1.005, f"inertia {inertia} vs scikit-learn {ref}"
    assert inertia == pytest.approx(metrics["inertia"], rel=1e-5)


# --- Threads: the parallel path gives the same labels as one thread ------------------------

@pytest.mark.parametrize("algorithm,params", [
    ("kmeans", {"n_clusters": 12, "n_init": 2, "random_state": 3}),
    ("dbscan", {"eps": 2.5, "min_samples": 10, "random_state": 1}),
    ("hdbscan", {"min_cluster_size": 30, "random_state": 1}),
])
def test_thread_count_does_not_change_the_result(conn, algorithm, params):
    # 30,000 rows (12,000 for DBSCAN's brute-force neighbourhoods in 20 dimensions, n² work):
    # many chunks of every pass, so several threads really run.
    X = varying_density(5, n=12000 if algorithm == "dbscan" else 30000, d=6 if algorithm == "hdbscan" else 20)
    load_matrix(conn, "par", X)
    conn.execute("SET pg_mlkit.threads = 1")
    one = cluster(conn, "par", algorithm, params)
    conn.execute("SET pg_mlkit.threads = 4")
    four = cluster(conn, "par", algorithm, params)
    conn.execute("RESET pg_mlkit.threads")
    # Every item was written (30k rows: several write batches), once.
    assert len(one[1]) == len(four[1]) == len(X)
    np.testing.assert_array_equal(one[1], four[1])
    np.testing.assert_array_equal(one[2], four[2])
    np.testing.assert_array_equal(one[3], four[3])
    assert one[0]["silhouette"] == four[0]["silhouette"]
    assert len(set(one[1])) > 2


# --- Choosing eps: the k-distance curve ------------------------------------------------------

def kneedle(sorted_d):
    """The knee as mlkit::cluster::eps defines it: the largest x - y with both scaled to [0, 1]."""
    n = len(sorted_d)
    x = np.arange(n) / (n - 1)
    y = (sorted_d - sorted_d[0]) / (sorted_d[-1] - sorted_d[0])
    gap = x - y
    return int(np.argmax(gap)) if gap.max() > 0 else n - 1


@pytest.mark.parametrize("data,min_samples", [("digits", 5), ("digits", 10), ("density", 4), ("density", 12)])
def test_suggest_eps_reads_the_knee_of_sklearns_k_distances(conn, data, min_samples):
    from sklearn.neighbors import NearestNeighbors
    X = load_digits().data.astype(np.float32) if data == "digits" else varying_density(3, n=3000)
    load_matrix(conn, "eps_src", X)
    eps, ms, quantile, measured = conn.execute("SELECT * FROM ml.suggest_eps('eps_src', min_samples => %s)", (min_samples,)).fetchone()
    kd = np.sort(NearestNeighbors(n_neighbors=min_samples).fit(X.astype(np.float64)).kneighbors(X.astype(np.float64))[0][:, -1])
    at = kneedle(kd)
    assert (ms, measured) == (min_samples, len(X))
    assert eps == pytest.approx(kd[at], rel=1e-6)
    assert quantile == pytest.approx(at / (len(X) - 1))
    # With the suggested eps, DBSCAN makes about that share of the points core points.
    core = (NearestNeighbors(radius=eps).fit(X).radius_neighbors(X, return_distance=False))
    core_share = np.mean([len(c) >= min_samples for c in core])
    assert abs(core_share - quantile) < 0.05
