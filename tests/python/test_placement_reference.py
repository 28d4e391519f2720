"""Stored DBSCAN and HDBSCAN models placing new points (ml.predict_cluster, ml.predict_clusters)
against the references: HDBSCAN as the `hdbscan` library's approximate_predict (label and
probability), DBSCAN as "the cluster of the nearest core point within eps, else noise",
computed with scikit-learn's DBSCAN and NearestNeighbors. Real data (the digits' principal
components, iris) and generated blobs; the models are fitted on one part and predict the rest."""
import json

import numpy as np
import pytest
from sklearn.cluster import DBSCAN
from sklearn.datasets import load_digits, load_iris, make_blobs
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from conftest import load_matrix

hdbscan = pytest.importorskip("hdbscan")


def data_sets():
    # Real data with continuous features (the digits' pixels are small integers whose many tied
    # distances HDBSCAN fits break in their own orders: their principal components are not).
    digits = PCA(10, random_state=0).fit_transform(load_digits().data)
    iris = load_iris().data + np.random.default_rng(1).uniform(0, 1e-3, (150, 4))  # measured to 0.1 cm: ties
    blobs, _ = make_blobs(n_samples=900, centers=5, cluster_std=[0.4, 0.8, 1.2, 0.6, 2.0], n_features=6, random_state=7)
    noisy = np.vstack([blobs, np.random.default_rng(2).uniform(-15, 15, (120, 6))])
    return [("digits", digits, 15), ("iris", iris, 8), ("blobs", blobs, 15), ("noisy blobs", noisy, 12)]


def split(X, seed=0):
    X = X.astype(np.float32)
    idx = np.random.default_rng(seed).permutation(len(X))
    cut = int(len(X) * 0.8)
    return X[idx[:cut]], X[idx[cut:]]


def place(conn, model, table, ids):
    run = conn.execute("SELECT ml.predict_clusters(%s, %s, log => false)", (model, table)).fetchone()[0]
    rows = dict((int(i), (c, p)) for i, c, p in conn.execute(
        "SELECT item_id, cluster, probability FROM ml.cluster_assignments WHERE run_id = %s", (run,)))
    return np.array([rows[i][0] for i in ids]), np.array([rows[i][1] for i in ids])


@pytest.mark.parametrize("name,X,min_cluster_size", data_sets(), ids=lambda v: v if isinstance(v, str) else "")
def test_hdbscan_places_as_approximate_predict(conn, name, X, min_cluster_size):
    train, new = split(X)
    model = f"place_hdb_{name.replace(' ', '_')}"
    load_matrix(conn, "place_train", train)
    load_matrix(conn, "place_new", new)
    fit = conn.execute("SELECT ml.cluster_embeddings('place_train', algorithm => 'hdbscan', params => %s, run => %s)",
                       (json.dumps({"min_cluster_size": min_cluster_size}), json.dumps({"model_name": model}))).fetchone()[0]
    ours_fit = np.array([c for _, c in sorted((int(i), c) for i, c in conn.execute(
        "SELECT item_id, cluster FROM ml.cluster_assignments WHERE run_id = %s", (fit,)))])
    # The library fits with min_samples + 1 neighbours (its core distances count the point
    # itself and min_samples more) but places with min_samples; scikit-learn's HDBSCAN, and so
    # ours, use min_samples for both. The reference is the library fitted as ours is (its
    # min_samples one lower), placing with the fit's own core distances and min_samples:
    # its approximate_predict on our fit.
    m = min_cluster_size
    T = train.astype(np.float64)
    ref = hdbscan.HDBSCAN(min_cluster_size=m, min_samples=m - 1, approx_min_span_tree=False, prediction_data=True).fit(T)
    ref.prediction_data_.core_distances = NearestNeighbors(n_neighbors=m).fit(T).kneighbors(T)[0][:, -1]
    ref.min_samples = m
    # The same clusters, numbered by node ids that may come in another order: the library's
    # label of each cluster as ours (placing reads the condensed tree and the selected clusters,
    # not the labels, which the library gives a few points at the root otherwise).
    as_ours = {-1: -1}
    for lab in set(ref.labels_) - {-1}:
        values, counts = np.unique(ours_fit[ref.labels_ == lab], return_counts=True)
        as_ours[lab] = values[counts.argmax()]
    assert len(set(as_ours.values())) == len(as_ours), f"{name}: the fits' clusters do not match one to one"
    assert (ours_fit == np.vectorize(as_ours.get)(ref.labels_)).mean() > 0.95, name
    ref_labels, ref_prob = hdbscan.approximate_predict(ref, new.astype(np.float64))
    ref_labels = np.vectorize(as_ours.get)(ref_labels)
    labels, prob = place(conn, model, "place_new", range(len(new)))
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(prob, ref_prob, rtol=1e-6, atol=1e-9)
    # One embedding at a time, as ml.predict_cluster places it, is the same.
    for i in range(0, len(new), max(1, len(new) // 7)):
        c, p = conn.execute("SELECT cluster, probability FROM ml.predict_cluster(%s, %s::real[], log => false)",
                            (model, [float(v) for v in new[i]])).fetchone()
        assert (c, pytest.approx(p, rel=1e-6, abs=1e-9)) == (ref_labels[i], ref_prob[i])
    # The training points themselves land in their own clusters.
    assert (ours_fit >= 0).sum() > len(train) / 4, f"{name}: the case should have clusters to place points in"
    labels, _ = place(conn, model, "place_train", range(len(train)))
    assert (labels[ours_fit >= 0] == ours_fit[ours_fit >= 0]).mean() > 0.95


@pytest.mark.parametrize("name,eps,min_samples", [("digits", 6.0, 5), ("iris", 0.4, 5), ("blobs", 0.9, 5), ("noisy blobs", 1.2, 6)])
def test_dbscan_places_by_the_nearest_core_point_within_eps(conn, name, eps, min_samples):
    X = dict((n, x) for n, x, _ in data_sets())[name]
    train, new = split(X, seed=1)
    model = f"place_db_{name.replace(' ', '_')}"
    load_matrix(conn, "place_train", train)
    load_matrix(conn, "place_new", new)
    conn.execute("SELECT ml.cluster_embeddings('place_train', algorithm => 'dbscan', params => %s, run => %s)",
                 (json.dumps({"eps": eps, "min_samples": min_samples}), json.dumps({"model_name": model})))
    ref = DBSCAN(eps=eps, min_samples=min_samples).fit(train.astype(np.float64))
    core = ref.core_sample_indices_
    dist, nearest = NearestNeighbors(n_neighbors=1).fit(train[core].astype(np.float64)).kneighbors(new.astype(np.float64))
    ref_labels = np.where(dist[:, 0] <= eps, ref.labels_[core][nearest[:, 0]], -1)
    labels, prob = place(conn, model, "place_new", range(len(new)))
    assert 0 < (ref_labels >= 0).sum() < len(new), "the case should place some points and leave others noise"
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_array_equal(prob, (ref_labels >= 0).astype(float))
