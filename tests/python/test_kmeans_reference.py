"""ml.cluster_embeddings's K-Means against scikit-learn's KMeans: same data, same n_init,
inertia within 0.5% (or better), and the same partition where the answer is clear-cut."""
import json

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, make_blobs
from sklearn.metrics import adjusted_rand_score

from conftest import load_matrix


def ours(conn, table, k, n_init, seed):
    run_id = conn.execute(
        "SELECT ml.cluster_embeddings(%s, params => %s)",
        (table, json.dumps({"n_clusters": k, "n_init": n_init, "random_state": seed})),
    ).fetchone()[0]
    metrics = conn.execute("SELECT metrics FROM ml.analysis_runs WHERE id = %s", (run_id,)).fetchone()[0]
    labels = dict(conn.execute(
        "SELECT item_id::int, cluster FROM ml.cluster_assignments WHERE run_id = %s", (run_id,)).fetchall())
    return metrics["inertia"], labels


def sklearn_inertia(X, k, n_init, seed):
    return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X.astype(np.float32)).inertia_


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inertia_on_generated_blobs(conn, seed):
    X, _ = make_blobs(n_samples=6000, n_features=24, centers=12, cluster_std=4.0, random_state=seed)
    load_matrix(conn, "blobs", X)
    mine, _ = ours(conn, "blobs", 12, 4, seed)
    ref = sklearn_inertia(X, 12, 4, seed)
    assert mine <= ref * 1.005, f"inertia {mine} vs scikit-learn {ref}"


def test_inertia_on_real_digits(conn):
    X = load_digits().data
    load_matrix(conn, "digits_py", X)
    mine, _ = ours(conn, "digits_py", 10, 10, 0)
    ref = sklearn_inertia(X, 10, 10, 0)
    assert mine <= ref * 1.005, f"inertia {mine} vs scikit-learn {ref}"
    # And not suspiciously better either: both should find (nearly) the same optimum.
    assert mine >= ref * 0.98


def test_same_partition_on_separated_clusters(conn):
    X, truth = make_blobs(n_samples=3000, n_features=8, centers=5, cluster_std=0.5, random_state=7)
    load_matrix(conn, "separated", X)
    _, labels = ours(conn, "separated", 5, 1, 3)
    ref = KMeans(n_clusters=5, n_init=1, random_state=3).fit(X).labels_
    mine = np.array([labels[i] for i in range(len(X))])
    assert adjusted_rand_score(mine, ref) == 1.0
    assert adjusted_rand_score(mine, truth) == 1.0
