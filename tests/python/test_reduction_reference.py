"""ml.reduce_embeddings against the references: scikit-learn's PCA (coordinates to 1e-4),
openTSNE (trustworthiness within 0.005) and umap-learn (within 0.01), on the real digits
and on generated blobs; determinism across thread counts; ml.plot_run's SVG parsed and
rendered by a real renderer. Heavier comparisons (5k and 20k points, timings) are in bench/."""
import json
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness

from conftest import load_matrix

warnings.filterwarnings("ignore")


def reduce(conn, table, method, params, run=None):
    run_id = conn.execute(
        "SELECT ml.reduce_embeddings(%s, method => %s, params => %s, run => %s)",
        (table, method, json.dumps(params), json.dumps(run or {})),
    ).fetchone()[0]
    rows = conn.execute(
        "SELECT item_id::int, coords FROM ml.embedding_coordinates WHERE run_id = %s ORDER BY 1", (run_id,)
    ).fetchall()
    metrics = conn.execute("SELECT metrics FROM ml.analysis_runs WHERE id = %s", (run_id,)).fetchone()[0]
    return run_id, np.array([r[1] for r in rows], dtype=np.float64), metrics


def same_up_to_sign(ours, ref):
    signs = np.sign(np.sum(ours * ref, axis=0))
    return np.max(np.abs(ours * signs - ref)) / np.max(np.abs(ref))


@pytest.fixture(scope="module")
def digits():
    return load_digits().data.astype(np.float32)


@pytest.mark.parametrize("n_components,whiten", [(2, False), (10, True), (0.8, False)])
def test_pca_equals_scikit_learn_on_digits(conn, digits, n_components, whiten):
    load_matrix(conn, "pca_digits", digits)
    _, ours, metrics = reduce(conn, "pca_digits", "pca", {"n_components": n_components, "whiten": whiten})
    ref = PCA(n_components, whiten=whiten).fit(digits)
    assert ours.shape[1] == ref.n_components_
    assert same_up_to_sign(ours, ref.transform(digits)) < 1e-4
    assert np.allclose(metrics["explained_variance_ratio"], ref.explained_variance_ratio_, rtol=1e-4)


@pytest.mark.parametrize("n_components,whiten", [(3, False), (8, True)])
def test_stored_pca_transforms_new_rows_as_scikit_learn(conn, digits, n_components, whiten):
    # Fit on the first 1,200 digits, store the model, project the other 597 (never seen).
    train, new = digits[:1200], digits[1200:]
    load_matrix(conn, "pca_train", train)
    name = f"pca_model_{n_components}_{whiten}"
    _, ours_train, _ = reduce(conn, "pca_train", "pca", {"n_components": n_components, "whiten": whiten}, {"model_name": name})
    ref = PCA(n_components, whiten=whiten).fit(train.astype(np.float64))
    signs = np.sign(np.sum(ours_train * ref.transform(train), axis=0))  # the sign each component's fit chose
    got = np.array([conn.execute("SELECT ml.transform(%s, %s::float8[])", (name, [float(v) for v in row])).fetchone()[0]
                    for row in new], dtype=np.float64)
    want = ref.transform(new.astype(np.float64)) * signs
    assert np.max(np.abs(got - want)) / np.max(np.abs(want)) < 1e-4


def test_pca_randomized_on_wide_data(conn):
    # 800 rows × 1,200 features with a decaying spectrum: scikit-learn picks 'randomized', as we do.
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(800, 40)) * (30.0 / (1 + np.arange(40)))
    X = (latent @ rng.normal(size=(40, 1200)) + 0.01 * rng.normal(size=(800, 1200))).astype(np.float32)
    load_matrix(conn, "pca_wide", X)
    run_id, ours, _ = reduce(conn, "pca_wide", "pca", {"n_components": 5, "random_state": 0})
    solver = conn.execute("SELECT dim_reduction_params->>'svd_solver' FROM ml.analysis_runs WHERE id = %s", (run_id,)).fetchone()[0]
    assert solver == "randomized"
    ref = PCA(5, svd_solver="full").fit_transform(X.astype(np.float64))
    assert same_up_to_sign(ours, ref) < 1e-4


@pytest.mark.parametrize("data", ["digits", "blobs"])
def test_tsne_trustworthiness_matches_opentsne(conn, digits, data):
    from openTSNE import TSNE

    X = digits if data == "digits" else make_blobs(3000, n_features=30, centers=12, cluster_std=3.0, random_state=1)[0].astype(np.float32)
    load_matrix(conn, f"tsne_{data}", X)
    _, ours, metrics = reduce(conn, f"tsne_{data}", "tsne", {"random_state": 1})
    ref = np.asarray(TSNE(n_jobs=2, random_state=1).fit(X))
    t_ours, t_ref = trustworthiness(X, ours, n_neighbors=10), trustworthiness(X, ref, n_neighbors=10)
    assert t_ours > t_ref - 0.005, (t_ours, t_ref)
    # The metric we record is scikit-learn's trustworthiness (on all rows up to 2,000).
    if len(X) <= 2000:
        # (computed on the f64 coordinates; the table keeps them as real)
        assert abs(metrics["trustworthiness"] - t_ours) < 1e-4


def test_tsne_fft_and_cosine(conn):
    from openTSNE import TSNE

    X = make_blobs(2500, n_features=20, centers=8, cluster_std=2.0, random_state=3)[0].astype(np.float32)
    load_matrix(conn, "tsne_fft", X)
    _, ours, _ = reduce(conn, "tsne_fft", "tsne", {"random_state": 2, "negative_gradient_method": "fft", "metric": "cosine"})
    ref = np.asarray(TSNE(n_jobs=2, random_state=2, negative_gradient_method="fft", metric="cosine").fit(X))
    t_ours = trustworthiness(X, ours, n_neighbors=10, metric="cosine")
    t_ref = trustworthiness(X, ref, n_neighbors=10, metric="cosine")
    assert t_ours > t_ref - 0.005, (t_ours, t_ref)


@pytest.mark.parametrize("data", ["digits", "blobs"])
def test_umap_trustworthiness_matches_umap_learn(conn, digits, data):
    import umap

    X = digits if data == "digits" else make_blobs(2000, n_features=16, centers=6, cluster_std=2.0, random_state=2)[0].astype(np.float32)
    load_matrix(conn, f"umap_{data}", X)
    _, ours, _ = reduce(conn, f"umap_{data}", "umap", {"random_state": 3})
    ref = umap.UMAP(random_state=3).fit_transform(X)
    t_ours, t_ref = trustworthiness(X, ours, n_neighbors=10), trustworthiness(X, ref, n_neighbors=10)
    assert t_ours > t_ref - 0.01, (t_ours, t_ref)


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_same_seed_same_coordinates_whatever_the_threads(conn, digits, method):
    load_matrix(conn, "seeded", digits[:600])
    conn.execute("SET pg_mlkit.threads = 1")
    _, one, _ = reduce(conn, "seeded", method, {"random_state": 5})
    conn.execute("SET pg_mlkit.threads = 2")
    _, two, _ = reduce(conn, "seeded", method, {"random_state": 5})
    assert np.array_equal(one, two)


def test_plot_is_svg_with_a_mark_per_point_and_renders(conn, digits, tmp_path):
    load_matrix(conn, "plotted", digits)
    run_id = conn.execute(
        "SELECT ml.cluster_embeddings('plotted', params => '{\"n_clusters\": 10, \"random_state\": 0}', reduction => 'tsne', reduction_params => '{\"random_state\": 0}')"
    ).fetchone()[0]
    svg = conn.execute("SELECT ml.plot_run(%s, 640, 480)", (run_id,)).fetchone()[0]
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    marks = root.findall(".//s:g[@class='points']/s:circle", ns)
    assert len(marks) == len(digits)
    assert root.get("width") == "640" and root.find("s:title", ns).text.startswith(f"Run {run_id}: clustering")
    legend = [t.text for t in root.findall(".//s:g[@class='legend']/s:text", ns)]
    assert sum(int(t.split("(")[1].rstrip(")")) for t in legend) == len(digits)
    # Rendered by a real SVG renderer (librsvg) to a PNG of the asked size.
    renderer = shutil.which("rsvg-convert")
    if renderer is None:
        pytest.skip("rsvg-convert is not installed (scripts/bootstrap.sh --python installs librsvg2-bin)")
    (tmp_path / "run.svg").write_text(svg)
    subprocess.run([renderer, str(tmp_path / "run.svg"), "-o", str(tmp_path / "run.png")], check=True)
    png = (tmp_path / "run.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == 640 and int.from_bytes(png[20:24], "big") == 480


def test_pca_variance_share_on_wide_data(conn):
    # 3,000 × 400 (over 200 features: the leading eigenpairs by subspace iteration, 32 at a time).
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(3000, 60)) * (30.0 / (1 + np.arange(60)))
    X = (latent @ rng.normal(size=(60, 400)) + 0.05 * rng.normal(size=(3000, 400))).astype(np.float32)
    load_matrix(conn, "pca_share", X)
    for share in (0.9, 0.995):
        _, ours, metrics = reduce(conn, "pca_share", "pca", {"n_components": share})
        ref = PCA(share).fit(X.astype(np.float64))
        assert ours.shape[1] == ref.n_components_, (share, ours.shape, ref.n_components_)
        assert same_up_to_sign(ours, ref.transform(X.astype(np.float64))) < 1e-4


def test_umap_cosine_matches_umap_learn(conn, digits):
    import umap

    load_matrix(conn, "umap_cos", digits)
    _, ours, _ = reduce(conn, "umap_cos", "umap", {"random_state": 3, "metric": "cosine"})
    ref = umap.UMAP(random_state=3, metric="cosine").fit_transform(digits)
    t_ours = trustworthiness(digits, ours, n_neighbors=10, metric="cosine")
    t_ref = trustworthiness(digits, ref, n_neighbors=10, metric="cosine")
    assert t_ours > t_ref - 0.01, (t_ours, t_ref)
