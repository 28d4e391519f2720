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


# --- Cosine: spherical K-Means, HDBSCAN, and distances as pgvector's <=> gives them ------

def spherical_kmeans_numpy(X, init, max_iter=300):
    """Spherical k-means (Dhillon & Modha) in float64: Lloyd on unit rows, each new centre the
    unit mean of its rows, until no label changes; returns labels, centres, objective
    (sum of 1 - cos to the own centre)."""
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    C = init / np.linalg.norm(init, axis=1, keepdims=True)
    labels = None
    for _ in range(max_iter):
        new = np.argmax(U @ C.T, axis=1)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        for j in range(len(C)):
            if (labels == j).any():
                m = U[labels == j].sum(axis=0)
                C[j] = m / np.linalg.norm(m)
    objective = float((1.0 - np.sum(U * C[labels], axis=1)).sum())
    return labels, C, objective


def cosine_blobs(seed, n=1500, d=24, k=6):
    """Directions with noise, at lengths spread over two orders of magnitude."""
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(k, d))
    X = np.vstack([dirs[i % k] + rng.normal(scale=0.6, size=d) for i in range(n)])
    return (X * rng.uniform(0.05, 5.0, size=(n, 1))).astype(np.float32)


@pytest.mark.parametrize("name", ["generated", "digits"])
def test_cosine_kmeans_equals_numpy_spherical_kmeans_from_the_same_start(vconn, name):
    if name == "digits":
        X, k = load_digits().data.astype(np.float32), 10
    else:
        X, k = cosine_blobs(11), 6
    load(vconn, "pv_cos", X)
    init = X[np.random.default_rng(5).choice(len(X), size=k, replace=False)].astype(np.float64)
    ref_labels, ref_centres, ref_objective = spherical_kmeans_numpy(X.astype(np.float64), init.copy())
    run = vconn.execute(
        "SELECT ml.cluster_embeddings('pv_cos', 'v', 'id', params => %s, run => %s)",
        (json.dumps({"n_clusters": k, "metric": "cosine", "tol": 0, "init": init.tolist(), "silhouette_sample_size": 5000}),
         json.dumps({"model_name": f"pv_cos_{name}"}))).fetchone()[0]
    metrics, params = vconn.execute(
        "SELECT metrics, clustering_params FROM ml.analysis_runs WHERE id = %s", (run,)).fetchone()
    assert params["metric"] == "cosine" and params["init"] == "given"
    rows = vconn.execute("SELECT item_id::int, cluster, distance FROM ml.cluster_assignments "
                         "WHERE run_id = %s ORDER BY item_id::int", (run,)).fetchall()
    labels = np.array([r[1] for r in rows])
    np.testing.assert_array_equal(labels, ref_labels)
    assert abs(metrics["inertia"] - ref_objective) <= 1e-6 * max(1.0, ref_objective), (metrics["inertia"], ref_objective)
    # The silhouette of a cosine run is scikit-learn's with metric='cosine'.
    from sklearn.metrics import silhouette_score
    assert abs(metrics["silhouette"] - silhouette_score(X.astype(np.float64), labels, metric="cosine")) < 1e-6
    # The stored distances are pgvector's <=> to the stored (unit) centroids.
    art = vconn.execute("SELECT artifact FROM ml.model_registry WHERE name = %s", (f"pv_cos_{name}",)).fetchone()[0]
    assert art["metric"] == "cosine"
    np.testing.assert_allclose(np.array(art["centroids"]), ref_centres, atol=1e-5)
    pg = vconn.execute(
        "SELECT a.item_id::int, t.v <=> (%s::jsonb -> a.cluster)::text::vector FROM ml.cluster_assignments a "
        "JOIN pv_cos t ON t.id = a.item_id::int WHERE a.run_id = %s ORDER BY 1",
        (json.dumps(art["centroids"]), run)).fetchall()
    np.testing.assert_allclose([r[2] for r in rows], [p[1] for p in pg], atol=1e-6)
    # And a prediction of a training row is its own cluster at the same distance.
    for i in (0, 7, 100):
        cl, dist = vconn.execute("SELECT cluster, distance FROM ml.predict_cluster(%s, (SELECT v FROM pv_cos WHERE id = %s), log => false)",
                                 (f"pv_cos_{name}", i)).fetchone()
        assert cl == labels[i] and abs(dist - pg[i][1]) < 1e-6


def test_cosine_hdbscan_equals_sklearn_on_a_vector_column(vconn):
    from test_clustering_reference import stable_sklearn_hdbscan
    X = cosine_blobs(3, n=900, d=16, k=5)
    load(vconn, "pv_hcos", X)
    run = cluster(vconn, "pv_hcos", "v", "hdbscan", {"min_cluster_size": 15, "metric": "cosine"})
    labels = [r[1] for r in sorted(assignments(vconn, run), key=lambda r: int(r[0]))]
    ref = stable_sklearn_hdbscan(X, min_cluster_size=15, metric="cosine")
    assert len(set(ref.labels_) - {-1}) >= 3
    np.testing.assert_array_equal(labels, ref.labels_)


def test_cosine_kmeans_refusals(vconn):
    load(vconn, "pv_zero", np.array([[1, 0], [0, 1], [0, 0], [1, 1]], dtype=np.float32))
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="id '2'.*all zeros"):
        cluster(vconn, "pv_zero", "v", "kmeans", {"n_clusters": 2, "metric": "cosine"})
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="scan.*cosine"):
        cluster(vconn, "pv_zero", "v", "kmeans", {"n_clusters": 2, "metric": "cosine", "engine": "scan"})
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="params.init has 1 centre"):
        cluster(vconn, "pv_zero", "v", "kmeans", {"n_clusters": 2, "init": [[1, 0]]})


def test_predict_cluster_takes_pgvector_and_double_arrays(vconn):
    """ml.predict_cluster reads vector and sparsevec arguments natively, bit for bit as real[];
    halfvec as the real[] of its half values; double precision[] and numeric[] in double
    precision; a sparsevec of the wrong dimension is refused before it is densified."""
    X = sparse_data(4, n=300, d=20)
    load(vconn, "pv_pred", X)
    vconn.execute("SELECT ml.cluster_embeddings('pv_pred', 'r', 'id', params => '{\"n_clusters\": 4, \"random_state\": 1}', "
                  "run => '{\"model_name\": \"pv_pred\"}')")
    same = vconn.execute("""
        SELECT count(*) FILTER (WHERE (a.*)::text = (b.*)::text AND (a.*)::text = (s.*)::text),
               count(*) FILTER (WHERE (h.*)::text = (hr.*)::text),
               count(*) FILTER (WHERE (n.*)::text = (nd.*)::text AND d.cluster = a.cluster
                                  AND abs(d.distance - a.distance) < 1e-5 * greatest(1, a.distance)),
               count(*)
          FROM pv_pred t,
               ml.predict_cluster('pv_pred', t.r, log => false) a,
               ml.predict_cluster('pv_pred', t.v, log => false) b,
               ml.predict_cluster('pv_pred', t.s, log => false) s,
               ml.predict_cluster('pv_pred', t.h, log => false) h,
               ml.predict_cluster('pv_pred', t.hr, log => false) hr,
               ml.predict_cluster('pv_pred', t.r::float8[], log => false) d,
               ml.predict_cluster('pv_pred', t.r::numeric[], log => false) n,
               ml.predict_cluster('pv_pred', t.r::numeric[]::float8[], log => false) nd""").fetchone()
    assert same == (300, 300, 300, 300)
    # ml.predict_clusters over the vector and sparsevec columns: the rows of the real[] column.
    runs = {col: vconn.execute("SELECT ml.predict_clusters('pv_pred', 'pv_pred', %s, log => false)", (col,)).fetchone()[0]
            for col in ("r", "v", "s")}
    rows = {col: vconn.execute("SELECT item_id, cluster, distance, outlier_score FROM ml.cluster_assignments "
                               "WHERE run_id = %s ORDER BY item_id", (run,)).fetchall() for col, run in runs.items()}
    assert rows["r"] == rows["v"] == rows["s"] and len(rows["r"]) == 300
    with pytest.raises(psycopg.errors.ArraySubscriptError, match="1000000000 dimensions"):
        vconn.execute("SELECT * FROM ml.predict_cluster('pv_pred', '{1:1}/1000000000'::sparsevec, log => false)")
    with pytest.raises(psycopg.errors.DatatypeMismatch, match="type point"):
        vconn.execute("SELECT * FROM ml.predict_cluster('pv_pred', point(1, 2), log => false)")


def test_embedding_drift_reads_pgvector_columns_as_real_arrays(vconn):
    """ml.score_drift on vector, halfvec and sparsevec columns (read from their bytes) gives
    the verdicts of the real[] columns with the same values."""
    ref = sparse_data(21, n=400, d=16)
    cur = sparse_data(22, n=400, d=16) + 0.3
    load(vconn, "pv_drift_ref", ref)
    load(vconn, "pv_drift_cur", cur.astype(np.float32))

    def verdicts(cols):
        run = vconn.execute("SELECT ml.score_drift('pv_drift_ref', 'pv_drift_cur', columns => %s, "
                            "params => '{\"random_state\": 3}')", (cols,)).fetchone()[0]
        return vconn.execute("SELECT feature_name, method, statistic, p_value, is_drifted FROM ml.data_drift "
                             "WHERE run_id = %s ORDER BY feature_name", (run,)).fetchall()

    real = {r[0]: r[1:] for r in verdicts(["r", "hr"])}
    vec = {r[0]: r[1:] for r in verdicts(["v", "h", "s"])}
    assert real["r"][0] != "" and vec["v"] == real["r"] and vec["s"] == real["r"], (real, vec)
    assert vec["h"] == real["hr"]


def star_groups_reference(codes, radius):
    """The star grouping of mlkit::hash::groups, brute force in NumPy, for items without
    digests or times: identical codes are one point; points by neighbour count (descending,
    then first item), each ungrouped one leads every ungrouped point within the radius.
    Returns {item: (leader item, distance)}."""
    packed = np.packbits(codes, axis=1)
    uniq, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    members = [sorted(np.nonzero(inverse == p)[0].tolist()) for p in range(len(uniq))]
    sizes = np.array([len(m) for m in members])
    bits = np.unpackbits(uniq, axis=1)
    dist = np.array([(bits ^ bits[p]).sum(axis=1) for p in range(len(uniq))])
    near = dist <= radius
    degree = sizes - 1 + (near * sizes[None, :]).sum(axis=1) - sizes
    order = sorted(range(len(uniq)), key=lambda p: (-degree[p], members[p][0]))
    taken = np.zeros(len(uniq), bool)
    out = {}
    for p in order:
        if taken[p]:
            continue
        m = [q for q in np.nonzero(near[p] & ~taken)[0]]
        if sizes[m].sum() < 2:
            taken[p] = True
            continue
        others = [dist[p, q] for q in m if q != p]
        lead_d = 0 if sizes[p] > 1 else min(others)
        for q in m:
            taken[q] = True
            for i in members[q]:
                out[i] = (members[p][0], lead_d if q == p else int(dist[p, q]))
    return out


def test_binary_quantized_embeddings_group_as_the_reference_does(vconn):
    """pgvector's binary_quantize() output (bit(768)) groups directly; the groups equal a
    brute-force NumPy run of the same star grouping."""
    rng = np.random.default_rng(8)
    bases = rng.normal(size=(40, 768))
    X = np.vstack([bases[i % 40] + rng.normal(scale=0.05, size=768) for i in range(1000)]).astype(np.float32)
    X[999] = X[998]  # an identical pair
    load(vconn, "pv_docs", X)
    vconn.execute("ALTER TABLE pv_docs ADD COLUMN b bit(768)")
    vconn.execute("UPDATE pv_docs SET b = binary_quantize(v)")
    codes = np.array([[c == "1" for c in row[0]] for row in
                      vconn.execute("SELECT b::text FROM pv_docs ORDER BY id").fetchall()])
    assert (codes == (X > 0)).all()
    for radius in (60, 120):
        run = vconn.execute("SELECT ml.group_near_duplicates('pv_docs', hash_column => 'b', params => %s)",
                            (json.dumps({"radius": radius}),)).fetchone()[0]
        got = {int(i): (int(g), d) for i, g, d in vconn.execute(
            "SELECT item_id, similar_group_id, hamming_distance FROM ml.duplicate_assignments WHERE run_id = %s "
            "AND similar_group_id IS NOT NULL", (run,)).fetchall()}
        ref = star_groups_reference(codes, radius)
        assert len(set(g for g, _ in ref.values())) >= 20
        assert got == ref, radius


def test_bit_hashes_of_64_bits_group_as_bigint_hashes(vconn):
    rng = np.random.default_rng(2)
    centres = rng.integers(0, 2**63, 50, dtype=np.int64)
    hashes = [int(centres[i % 50]) ^ (1 << int(rng.integers(63))) * int(rng.integers(0, 2)) for i in range(600)]
    vconn.execute("DROP TABLE IF EXISTS pv_h64")
    vconn.execute("CREATE TABLE pv_h64 (id int PRIMARY KEY, h bigint, b bit(64), vb bit varying)")
    with vconn.cursor().copy("COPY pv_h64 (id, h) FROM STDIN") as cp:
        for i, h in enumerate(hashes):
            cp.write_row((i, h))
    vconn.execute("UPDATE pv_h64 SET b = h::bit(64), vb = h::bit(64)::varbit")

    def rows(col):
        run = vconn.execute("SELECT ml.group_near_duplicates('pv_h64', hash_column => %s, params => '{\"radius\": 6}')",
                            (col,)).fetchone()[0]
        return vconn.execute("SELECT item_id, similar_group_id, similar_group_confidence, similar_group_type, hamming_distance "
                             "FROM ml.duplicate_assignments WHERE run_id = %s ORDER BY item_id", (run,)).fetchall()
    assert rows("h") == rows("b") == rows("vb") and len(rows("h")) > 100
    vconn.execute("INSERT INTO pv_h64 (id, h, b, vb) VALUES (1000, 0, NULL, B'101')")
    with pytest.raises(psycopg.errors.StringDataLengthMismatch, match="3 bits for id '1000', but 64"):
        rows("vb")


def test_radius_index_on_binary_quantized_embeddings_equals_a_full_scan(vconn):
    """ml.hash_bands / ml.hash_probe on bit(768) (binary_quantize): the GIN index finds exactly
    the rows a full scan by Hamming distance finds, and the plan uses the index."""
    rng = np.random.default_rng(12)
    bases = rng.normal(size=(300, 768))
    X = np.vstack([bases[i % 300] + rng.normal(scale=0.08, size=768) for i in range(6000)]).astype(np.float32)
    vconn.execute("DROP TABLE IF EXISTS pv_bq")
    vconn.execute("CREATE TABLE pv_bq (id int PRIMARY KEY, v vector(768))")
    with vconn.cursor().copy("COPY pv_bq (id, v) FROM STDIN") as cp:
        for i, row in enumerate(X):
            cp.write_row((i, "[" + ",".join(f"{x:.6g}" for x in row) + "]"))
    vconn.execute("ALTER TABLE pv_bq ADD COLUMN b bit(768)")
    vconn.execute("UPDATE pv_bq SET b = binary_quantize(v)")
    vconn.execute("CREATE INDEX ON pv_bq USING gin (ml.hash_bands(b))")
    vconn.execute("ANALYZE pv_bq")
    codes = np.packbits(X > 0, axis=1)
    for r in (0, 20, 60, 140):
        for q in (0, 17, 4242):
            got = [row[0] for row in vconn.execute(
                "SELECT id FROM pv_bq WHERE ml.hash_bands(b) && ml.hash_probe((SELECT b FROM pv_bq WHERE id = %(q)s), %(r)s) "
                "AND ml.hamming_distance(b, (SELECT b FROM pv_bq WHERE id = %(q)s)) <= %(r)s ORDER BY id", {"q": q, "r": r})]
            dist = np.unpackbits(codes ^ codes[q], axis=1).sum(axis=1)
            assert got == list(np.nonzero(dist <= r)[0]), (q, r)
    assert len(got) > 5
    plan = "\n".join(row[0] for row in vconn.execute(
        "EXPLAIN (COSTS OFF) SELECT id FROM pv_bq WHERE ml.hash_bands(b) && ml.hash_probe((SELECT b FROM pv_bq WHERE id = 1), 20)"))
    assert "Bitmap Index Scan" in plan, plan


def test_edge_cases_found_in_review(vconn):
    """What an attacker's review of this work found, each now refused or right."""
    # Two opposite rows in one cosine cluster: the centroid stays a unit vector.
    vconn.execute("DROP TABLE IF EXISTS pv_anti")
    vconn.execute("CREATE TABLE pv_anti (id int, e real[])")
    vconn.execute("INSERT INTO pv_anti VALUES (1, '{1,0}'), (2, '{-1,0}')")
    vconn.execute("SELECT ml.cluster_embeddings('pv_anti', 'e', 'id', params => '{\"n_clusters\": 1, \"metric\": \"cosine\"}', "
                  "run => '{\"model_name\": \"pv_anti\"}')")
    (c,) = vconn.execute("SELECT centroid FROM ml.centroids('pv_anti')").fetchone()
    assert abs(np.linalg.norm(c) - 1) < 1e-6
    d = vconn.execute("SELECT distance FROM ml.predict_cluster('pv_anti', '{0,1}', log => false)").fetchone()[0]
    assert d == pytest.approx(1.0)
    # Tiny values are a direction, not a zero vector; values beyond real are refused.
    d = vconn.execute("SELECT distance FROM ml.predict_cluster('pv_anti', '{1e-200,0}'::float8[], log => false)").fetchone()[0]
    assert d in (0.0, pytest.approx(0.0, abs=1e-12), pytest.approx(2.0))
    with pytest.raises(psycopg.errors.NumericValueOutOfRange, match="position 1, beyond the range of real"):
        vconn.execute("SELECT * FROM ml.predict_cluster('pv_anti', '{1e200,1}'::float8[], log => false)")
    with pytest.raises(psycopg.errors.ArraySubscriptError, match="2 dimensions, not 1"):
        vconn.execute("SELECT * FROM ml.predict_cluster('pv_anti', '{{1},{2}}'::real[], log => false)")
    with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="pgvector's text form"):
        vconn.execute("SELECT * FROM ml.predict_cluster('pv_anti', '[1,2]', log => false)")
    assert vconn.execute("SELECT cluster FROM ml.predict_cluster('pv_anti', ARRAY[1,2]::int2[], log => false)").fetchone() == (0,)
    # A huge array's length is checked before its elements are converted.
    with pytest.raises(psycopg.errors.ArraySubscriptError, match="2000000 dimensions"):
        vconn.execute("SELECT * FROM ml.predict_cluster('pv_anti', (SELECT array_agg(1::numeric) FROM generate_series(1, 2000000)), log => false)")
    # Bit-string distances beyond 64 are stored; a default radius fits short strings.
    vconn.execute("DROP TABLE IF EXISTS pv_far, pv_b3")
    vconn.execute("CREATE TABLE pv_far (id int, phash bit(768))")
    vconn.execute("INSERT INTO pv_far VALUES (1, repeat('0', 768)::bit(768)), (2, (repeat('1', 70) || repeat('0', 698))::bit(768))")
    run = vconn.execute("SELECT ml.group_near_duplicates('pv_far', params => '{\"radius\": 100}')").fetchone()[0]
    assert vconn.execute("SELECT max(hamming_distance) FROM ml.duplicate_assignments WHERE run_id = %s", (run,)).fetchone() == (70,)
    vconn.execute("CREATE TABLE pv_b3 (id int, phash bit(3))")
    vconn.execute("INSERT INTO pv_b3 VALUES (1, B'101'), (2, B'100')")
    run = vconn.execute("SELECT ml.group_near_duplicates('pv_b3')").fetchone()[0]
    assert vconn.execute("SELECT count(*) FROM ml.duplicate_assignments WHERE run_id = %s", (run,)).fetchone() == (2,)


def test_scale_out_functions_read_pgvector_values_as_real_arrays(vconn):
    """ml.kmeans_step, ml.nearest_centroid, ml.centroid_distance and ml.nearest_exemplar take
    vector, halfvec and sparsevec as they are (a sparsevec has no cast to real[]: only a native
    read takes it), with the results of the real[] column holding the same values, serially
    and in parallel workers; double precision[], numeric[] and quoted literals too."""
    X = sparse_data(31, n=2000, d=16)
    load(vconn, "pv_so", X)
    C = "ARRAY[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]," \
        "[-1,2,-1,2,-1,2,-1,2,-1,2,-1,2,-1,2,-1,2],[3,0,3,0,3,0,3,0,3,0,3,0,3,0,3,0]]::real[]"

    def per_column(col, parallel):
        vconn.execute("SET max_parallel_workers_per_gather = %s" % (2 if parallel else 0))
        vconn.execute("SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0")
        state = vconn.execute(f"SELECT ml.kmeans_counts(s), ml.kmeans_sums(s), ml.kmeans_inertia(s) "
                              f"FROM (SELECT ml.kmeans_step({col}, {C}) AS s FROM pv_so) q").fetchone()
        rows = vconn.execute(f"SELECT id, ml.nearest_centroid({col}, {C}), ml.centroid_distance({col}, {C}), "
                             f"ml.nearest_exemplar({col}, {C}, ARRAY[10, 11, 12, 13], 3.5) FROM pv_so ORDER BY id").fetchall()
        return state, rows

    try:
        for parallel in (False, True):
            base = per_column("r", parallel)
            assert len(base[1]) == 2000 and sum(base[0][0]) == 2000
            # real → numeric keeps 6 digits (PostgreSQL's cast): numeric[] is compared with
            # the real[] its own cast gives.
            for col, ref in (("v", "r"), ("s", "r"), ("r::float8[]", "r"), ("r::text", "r"),
                             ("r::numeric[]", "r::numeric[]::real[]")):
                real = base if ref == "r" else per_column(ref, parallel)
                got = per_column(col, parallel)
                # Sums are f64 additions in the rows' order, which parallel workers change.
                if parallel:
                    assert got[0][0] == real[0][0], col
                    np.testing.assert_allclose(got[0][1], real[0][1], rtol=1e-12, atol=1e-9)
                    assert got[1] == real[1], col
                else:
                    assert got == real, col
            assert per_column("h", parallel)[1] == per_column("hr", parallel)[1]
        plan = "\n".join(r[0] for r in vconn.execute(
            f"EXPLAIN (VERBOSE, COSTS OFF) SELECT ml.kmeans_step(s, {C}) FROM pv_so"))
        assert "Partial Aggregate" in plan and "s)::" not in plan, plan
    finally:
        vconn.execute("RESET max_parallel_workers_per_gather; RESET parallel_setup_cost; "
                      "RESET parallel_tuple_cost; RESET min_parallel_table_scan_size")
    # NULLs are skipped by the aggregate and give NULL from the scalar functions.
    assert vconn.execute(f"SELECT ml.kmeans_counts(ml.kmeans_step(e, {C})) FROM "
                         "(VALUES (NULL::vector), (array_fill(1, ARRAY[16])::vector)) t(e)").fetchone() == ([0, 1, 0, 0],)
    assert vconn.execute(f"SELECT ml.nearest_centroid(NULL::halfvec, {C}), ml.centroid_distance(NULL, {C})").fetchone() == (None, None)
    # The errors of real[]: a dimension mismatch, before a huge sparsevec is densified; a NaN;
    # a type that is no embedding.
    for value in ("'[1,2,3]'::vector", "'[1,2,3]'::halfvec", "'{1:1}/1000000000'::sparsevec", "'{1,2,3}'"):
        with pytest.raises(psycopg.errors.ArraySubscriptError, match=r"ml.nearest_centroid: an embedding has \d+ values .* 16 columns"):
            vconn.execute(f"SELECT ml.nearest_centroid({value}, {C})")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="ml.kmeans_step: an embedding has NaN at position 2"):
        vconn.execute(f"SELECT ml.kmeans_step(('{{1,NaN' || repeat(',0', 14) || '}}')::float8[], {C})")
    with pytest.raises(psycopg.errors.DatatypeMismatch, match="ml.centroid_distance: an embedding has type point"):
        vconn.execute(f"SELECT ml.centroid_distance(point(1, 2), {C})")
    with pytest.raises(psycopg.errors.NullValueNotAllowed, match="an embedding contains a NULL"):
        vconn.execute(f"SELECT ml.nearest_centroid(array_fill(NULL::float8, ARRAY[16]), {C})")
