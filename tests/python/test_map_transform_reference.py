"""Stored t-SNE and UMAP maps place new points as the references' `transform` does.

The references are given our stored map (the training points and their coordinates, read
back from the model's artifact), so that both place the same new points in the same map:

- t-SNE: openTSNE's `TSNEEmbedding.transform` (exact neighbours, Barnes-Hut) is deterministic,
  and ours follows the same steps: the coordinates agree closely.
- UMAP: umap-learn's `transform` samples at random, so ours cannot equal it; ours must be as
  close to it as umap-learn with another `transform_seed` is, and place the new points among
  their own class as well as it does.

On the real digits (fit on 1,200, place the other 597) and on generated blobs."""
import json
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs
from sklearn.neighbors import KNeighborsClassifier

from conftest import load_matrix

warnings.filterwarnings("ignore")


def data(kind):
    if kind == "digits":
        d = load_digits()
        return d.data.astype(np.float32), d.target
    X, y = make_blobs(900, n_features=12, centers=6, cluster_std=2.5, random_state=4)
    return X.astype(np.float32), y


def fit_map(conn, kind, method, params):
    X, y = data(kind)
    split = 1200 if kind == "digits" else 600
    load_matrix(conn, f"map_{kind}_train", X[:split])
    load_matrix(conn, f"map_{kind}_new", X[split:], ids=list(range(split, len(X))))
    name = f"map_{kind}_{method}"
    conn.execute("DELETE FROM ml.model_registry WHERE name = %s", (name,))
    conn.execute(
        "SELECT ml.reduce_embeddings(%s, method => %s, params => %s, run => %s)",
        (f"map_{kind}_train", method, json.dumps(params), json.dumps({"model_name": name})),
    )
    artifact = conn.execute("SELECT artifact FROM ml.model_registry WHERE name = %s", (name,)).fetchone()[0]
    points = np.array(artifact["points"], dtype=np.float32)
    assert np.array_equal(points, X[:split])
    return name, X[:split], y[:split], X[split:], y[split:], np.array(artifact["embedding"]), artifact


def ours(conn, name, kind, split):
    rows = conn.execute(
        "SELECT item_id::int, coordinates FROM ml.transform_table(%s, %s) ORDER BY 1", (name, f"map_{kind}_new")
    ).fetchall()
    assert [r[0] for r in rows] == list(range(split, split + len(rows)))
    return np.array([r[1] for r in rows], dtype=np.float64)


@pytest.mark.parametrize("kind", ["digits", "blobs"])
def test_tsne_transform_equals_opentsne(conn, kind):
    from openTSNE import TSNEEmbedding, affinity

    name, train, _, new, _, Y, artifact = fit_map(conn, kind, "tsne", {"random_state": 2})
    got = ours(conn, name, kind, len(train))
    aff = affinity.PerplexityBasedNN(train.astype(np.float64), perplexity=30, method="exact", n_jobs=1, verbose=False)
    ref_map = TSNEEmbedding(Y.copy(), aff)
    shift = (Y.max(axis=0) + Y.min(axis=0)) / 2  # openTSNE answers in the re-centred frame
    want = np.asarray(ref_map.transform(new.astype(np.float64))) + shift
    span = np.ptp(Y, axis=0).max()
    err = np.abs(got - want).max(axis=1) / span
    # Same steps, the sums in another order: half the points equal to 1e-6 of the map's span
    # (measured: 1e-8 on the digits), 99 % to 1e-4, none off by more than 0.1 %.
    assert np.median(err) < 1e-6, np.median(err)
    assert np.quantile(err, 0.99) < 1e-4, np.quantile(err, 0.99)
    assert err.max() < 1e-3, err.max()
    # One at a time, as ml.transform: the same place as in the batch.
    for i in [0, 7, len(new) - 1]:
        one = conn.execute("SELECT ml.transform(%s, %s::float8[])", (name, [float(v) for v in new[i]])).fetchone()[0]
        assert np.allclose(one, got[i], rtol=1e-6, atol=1e-4 * span)
    assert artifact["transform"]["perplexity"] == 5


@pytest.mark.parametrize("kind", ["digits", "blobs"])
def test_umap_transform_as_close_to_umap_learn_as_its_own_seeds(conn, kind):
    import umap

    name, train, ytrain, new, ynew, Y, artifact = fit_map(conn, kind, "umap", {"random_state": 2})
    got = ours(conn, name, kind, len(train))

    def learn(seed):
        r = umap.UMAP(n_neighbors=15, random_state=2, transform_seed=seed, n_epochs=None)
        r.fit(train)
        r.embedding_ = Y.astype(np.float32)
        assert r._small_data  # exact neighbours, as ours
        return np.asarray(r.transform(new), dtype=np.float64)

    a, b = learn(42), learn(7)
    span = np.ptp(Y, axis=0).max()
    spread = np.median(np.linalg.norm(a - b, axis=1)) / span
    ours_to_ref = np.median(np.linalg.norm(got - a, axis=1)) / span
    assert ours_to_ref < max(2.0 * spread, 0.01), (ours_to_ref, spread)
    # Placed among their class as often as umap-learn places them.
    knn = KNeighborsClassifier(10).fit(Y, ytrain)
    acc_ours, acc_ref = (knn.predict(got) == ynew).mean(), (knn.predict(a) == ynew).mean()
    assert acc_ours > acc_ref - 0.02, (acc_ours, acc_ref)
    assert artifact["a"] == pytest.approx(umap.umap_.find_ab_params(1.0, 0.1)[0], rel=1e-4)


def test_pipeline_of_a_map_and_a_density_model_predicts(conn):
    # UMAP then HDBSCAN, stored as one model: a training point predicted through the pipeline
    # lands in the cluster it was given.
    X, _ = data("blobs")
    load_matrix(conn, "map_pipe", X[:600])
    conn.execute("DELETE FROM ml.model_registry WHERE name = 'map_pipe_model'")
    run_id = conn.execute(
        "SELECT ml.cluster_embeddings('map_pipe', algorithm => 'hdbscan', reduction => 'umap', "
        "reduction_params => '{\"random_state\": 1}', run => '{\"model_name\": \"map_pipe_model\"}')"
    ).fetchone()[0]
    labels = dict(conn.execute("SELECT item_id::int, cluster FROM ml.cluster_assignments WHERE run_id = %s", (run_id,)).fetchall())
    agree = 0
    for i in range(0, 600, 20):
        got = conn.execute("SELECT cluster FROM ml.predict_cluster('map_pipe_model', %s::real[], log => false)",
                           ([float(v) for v in X[i]],)).fetchone()[0]
        agree += got == labels[i]
    assert agree >= 27, agree
