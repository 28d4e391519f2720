"""Scale-out: the aggregates split by parallel workers and by partitions give the
answers of a serial scan; their states survive text and binary round trips; the catalog says
what Citus and the planner need; the scan engine of ml.cluster_embeddings matches the
in-memory engine and clusters a table larger than pg_mlkit.max_memory_mb."""
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from conftest import load_matrix

PARALLEL = [
    "SET max_parallel_workers_per_gather = 2",
    "SET parallel_setup_cost = 0",
    "SET parallel_tuple_cost = 0",
    "SET min_parallel_table_scan_size = 0",
]
CENTRES = "ARRAY[[0, 0, 0, 0], [5, 5, 5, 5], [-5, 5, -5, 5], [9, -9, 9, -9]]::real[]"


def parallel(conn, on=True):
    for s in PARALLEL:
        conn.execute(s)
    if not on:
        conn.execute("SET max_parallel_workers_per_gather = 0")


@pytest.fixture(scope="module")
def blobs(db):
    import psycopg
    from conftest import conninfo
    X, y = make_blobs(n_samples=60000, n_features=4, centers=4, cluster_std=2.0, random_state=3)
    X = X.astype(np.float32)
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        load_matrix(c, "so_blobs", X)
        c.execute("ALTER TABLE so_blobs ADD COLUMN x float8")
        c.execute("UPDATE so_blobs SET x = embedding[1]")
        # The same rows in four hash partitions: shards on one machine.
        c.execute("DROP TABLE IF EXISTS so_parts")
        c.execute("CREATE TABLE so_parts (id int, embedding real[], x float8) PARTITION BY HASH (id)")
        for r in range(4):
            c.execute(f"CREATE TABLE so_parts_{r} PARTITION OF so_parts FOR VALUES WITH (MODULUS 4, REMAINDER {r})")
        c.execute("INSERT INTO so_parts SELECT id, embedding, x FROM so_blobs")
        c.execute("VACUUM ANALYZE so_blobs")
        c.execute("VACUUM ANALYZE so_parts")
    return X, y


def plan(conn, query):
    return "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + query).fetchall())


@pytest.mark.parametrize("query", [
    f"SELECT ml.kmeans_step(embedding, {CENTRES}) FROM so_blobs",
    "SELECT ml.hist_agg(x, ARRAY[-20, -5, 0, 5, 20]) FROM so_blobs",
])
def test_aggregates_run_in_parallel_workers(conn, blobs, query):
    parallel(conn)
    p = plan(conn, query)
    shape = ["Finalize Aggregate", "Gather", "Partial Aggregate", "Parallel Seq Scan"]
    positions = [p.find(s) for s in shape]
    assert all(i >= 0 for i in positions) and positions == sorted(positions), p
    launched = int(p.split("Workers Launched: ")[1].split()[0])
    assert launched > 0, p


def step(conn, table):
    return conn.execute(
        f"SELECT ml.kmeans_counts(s), ml.kmeans_sums(s), ml.kmeans_inertia(s) "
        f"FROM (SELECT ml.kmeans_step(embedding, {CENTRES}) AS s FROM {table}) q").fetchone()


def test_serial_parallel_and_partitioned_agree_with_numpy(conn, blobs):
    X, _ = blobs
    C = np.array([[0, 0, 0, 0], [5, 5, 5, 5], [-5, 5, -5, 5], [9, -9, 9, -9]], dtype=np.float32)
    d2 = ((X[:, None, :].astype(np.float64) - C[None, :, :]) ** 2).sum(-1)
    labels = d2.argmin(1)
    want_counts = np.bincount(labels, minlength=4)
    want_sums = np.array([X[labels == j].astype(np.float64).sum(0) for j in range(4)]).ravel()
    want_inertia = d2.min(1).sum()

    parallel(conn, on=False)
    serial = step(conn, "so_blobs")
    parallel(conn)
    par = step(conn, "so_blobs")
    conn.execute("SET enable_partitionwise_aggregate = on")
    parts_plan = plan(conn, f"SELECT ml.kmeans_step(embedding, {CENTRES}) FROM so_parts")
    assert parts_plan.count("Partial Aggregate") >= 4, parts_plan
    parts = step(conn, "so_parts")
    for counts, sums, inertia in (serial, par, parts):
        # Counts exactly; sums and inertia up to the order of f64 additions (relative 1e-9).
        assert counts == list(want_counts)
        np.testing.assert_allclose(sums, want_sums, rtol=1e-9, atol=1e-6)
        assert inertia == pytest.approx(want_inertia, rel=1e-6)
    assert serial[0] == par[0] == parts[0]
    np.testing.assert_allclose(par[1], serial[1], rtol=1e-12, atol=1e-9)

    # Assignments row by row, serial and parallel, equal numpy's argmin.
    for on in (False, True):
        parallel(conn, on)
        got = conn.execute(f"SELECT ml.nearest_centroid(embedding, {CENTRES}) FROM so_blobs ORDER BY id").fetchall()
        assert [g[0] for g in got] == list(labels)


def test_hist_agg_equals_numpy_histogram(conn, blobs):
    X, _ = blobs
    rng = np.random.RandomState(5)
    edges = np.sort(rng.uniform(-15, 15, 9))
    want, _ = np.histogram(X[:, 0].astype(np.float64)[(X[:, 0] >= edges[0]) & (X[:, 0] <= edges[-1])], bins=edges)
    lit = "ARRAY[" + ",".join(repr(float(e)) for e in edges) + "]::float8[]"
    for on in (False, True):
        parallel(conn, on)
        got = conn.execute(f"SELECT ml.hist_agg(x, {lit}) FROM so_blobs").fetchone()[0]
        assert got == list(want)
    conn.execute("SET enable_partitionwise_aggregate = on")
    assert conn.execute(f"SELECT ml.hist_agg(x, {lit}) FROM so_parts").fetchone()[0] == list(want)


def test_state_survives_text_and_binary_round_trips(conn, blobs):
    conn.execute("DROP TABLE IF EXISTS so_states")
    conn.execute("CREATE TABLE so_states (s ml.kmeans_state)")
    conn.execute(f"INSERT INTO so_states SELECT ml.kmeans_step(embedding, {CENTRES}) FROM so_blobs")
    assert conn.execute("SELECT s::text::ml.kmeans_state OPERATOR(ml.=) s FROM so_states").fetchone()[0]
    # Binary: COPY out and in goes through the type's send and receive functions.
    with conn.cursor().copy("COPY so_states TO STDOUT (FORMAT BINARY)") as cp:
        data = b"".join(bytes(b) for b in cp)
    conn.execute("CREATE TEMP TABLE so_states_back (s ml.kmeans_state)")
    with conn.cursor().copy("COPY so_states_back FROM STDIN (FORMAT BINARY)") as cp:
        cp.write(data)
    assert conn.execute("SELECT a.s OPERATOR(ml.=) b.s FROM so_states a, so_states_back b").fetchone()[0]
    # A damaged value (k set to 2^32 - 1; the file's framing intact: a 19-byte header, then
    # the field count and length) is an error with SQLSTATE 22P03, not a crash.
    damaged = data[:25] + b"\xff\xff\xff\xff" + data[29:]
    with pytest.raises(Exception) as e:
        with conn.cursor().copy("COPY so_states_back FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(damaged)
    assert e.value.sqlstate == "22P03" and "ml.kmeans_state" in str(e.value)


def test_catalog_says_combinable_flat_and_parallel_safe(conn):
    rows = conn.execute("""
        SELECT p.proname, a.aggcombinefn <> 0, a.aggtranstype::regtype::text, p.proparallel
          FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
         WHERE p.pronamespace = 'ml'::regnamespace ORDER BY 1""").fetchall()
    assert {r[0] for r in rows} >= {"kmeans_step", "kmeans_step_real", "hist_agg"}
    for name, combine, stype, parallel_ in rows:
        assert combine, name
        assert stype != "internal", (name, stype)
        assert parallel_ == "s", name
    helpers = conn.execute("""
        SELECT proname, proparallel, provolatile FROM pg_proc
         WHERE pronamespace::regnamespace::text IN ('ml', 'ml_internal')
           AND proname IN ('nearest_centroid', 'centroid_distance', 'sample_hash', 'kmeans_centroids',
                           'kmeans_counts', 'kmeans_sums', 'kmeans_inertia', 'kmeans_step_transition', 'kmeans_step_combine')""").fetchall()
    # kmeans_step_transition twice: for ml.kmeans_step (anycompatible) and ml.kmeans_step_real.
    assert len(helpers) == 10
    assert all(p == "s" and v == "i" for _, p, v in helpers), helpers


def test_scan_engine_matches_in_memory_and_scikit_learn(conn, blobs):
    X, y = blobs
    runs = {}
    for name, params in [("memory", '{"n_clusters": 4, "random_state": 1}'),
                         ("scan", '{"n_clusters": 4, "random_state": 1, "engine": "scan"}')]:
        run = conn.execute("SELECT ml.cluster_embeddings('so_blobs', params => %s)", (params,)).fetchone()[0]
        inertia = float(conn.execute("SELECT metrics->>'inertia' FROM ml.analysis_runs WHERE id = %s", (run,)).fetchone()[0])
        labels = np.array([r[0] for r in conn.execute(
            "SELECT cluster FROM ml.cluster_assignments WHERE run_id = %s ORDER BY item_id::int", (run,)).fetchall()])
        runs[name] = (run, inertia, labels)
    ref = KMeans(4, n_init=1, random_state=0).fit(X)
    _, mem_inertia, mem_labels = runs["memory"]
    _, scan_inertia, scan_labels = runs["scan"]
    assert len(scan_labels) == len(X)
    assert scan_inertia <= 1.01 * mem_inertia and scan_inertia <= 1.01 * ref.inertia_
    assert adjusted_rand_score(mem_labels, scan_labels) > 0.99
    assert adjusted_rand_score(y, scan_labels) > 0.9
    # The recorded distances are the distances to the recorded centroids' nearest.
    d = conn.execute("SELECT sum(distance ^ 2) FROM ml.cluster_assignments WHERE run_id = %s", (runs["scan"][0],)).fetchone()[0]
    assert d == pytest.approx(scan_inertia, rel=1e-4)


def test_scan_engine_gives_the_same_run_serial_and_parallel(conn, blobs):
    out = []
    for on in (False, True):
        parallel(conn, on)
        run = conn.execute("SELECT ml.cluster_embeddings('so_blobs', params => '{\"n_clusters\": 6, \"random_state\": 4, \"engine\": \"scan\"}')").fetchone()[0]
        out.append(conn.execute("SELECT array_agg(cluster ORDER BY item_id::int) FROM ml.cluster_assignments WHERE run_id = %s", (run,)).fetchone()[0])
    assert out[0] == out[1]


def test_a_table_larger_than_the_memory_limit_clusters_by_scan(conn):
    rng = np.random.RandomState(9)
    X = (rng.randn(40000, 96) + rng.randint(0, 5, (40000, 1)) * 3).astype(np.float32)
    load_matrix(conn, "so_wide", X)
    conn.execute("SET pg_mlkit.max_memory_mb = 4")  # the matrix alone is 15 MB
    with pytest.raises(Exception) as e:
        conn.execute("SELECT ml.cluster_embeddings('so_wide', params => '{\"n_clusters\": 5}')")
    assert e.value.sqlstate == "54000"
    run = conn.execute("SELECT ml.cluster_embeddings('so_wide', params => '{\"n_clusters\": 5, \"engine\": \"scan\", \"random_state\": 2}')").fetchone()[0]
    assert conn.execute("SELECT count(*) FROM ml.cluster_assignments WHERE run_id = %s", (run,)).fetchone()[0] == 40000
    conn.execute("RESET pg_mlkit.max_memory_mb")


@pytest.mark.parametrize("k", [64, 1024])
def test_quantile_sketch_stays_within_its_bound_split_any_way(conn, blobs, k):
    """KS and Wasserstein from sketches against SciPy on all the rows, the sketch built
    serially, by parallel workers and per partition: each within the bound it reports."""
    from scipy.stats import ks_2samp, wasserstein_distance
    X, _ = blobs
    x = X[:, 0].astype(np.float64)
    conn.execute("DROP TABLE IF EXISTS so_shift")
    conn.execute("CREATE TABLE so_shift AS SELECT id, x * 1.1 + 0.3 AS x FROM so_blobs")
    y = np.array([r[0] for r in conn.execute("SELECT x FROM so_shift ORDER BY id").fetchall()])
    exact_ks, exact_w = ks_2samp(x, y).statistic, wasserstein_distance(x, y)
    sorted_x = np.sort(x)
    results = []
    for label, on, table in [("serial", False, "so_blobs"), ("parallel", True, "so_blobs"), ("partitioned", True, "so_parts")]:
        parallel(conn, on)
        conn.execute("SET enable_partitionwise_aggregate = on")
        if on and table == "so_blobs":
            p = plan(conn, f"SELECT ml.quantile_sketch_agg(x, {k}) FROM {table}")
            assert "Partial Aggregate" in p and "Workers Launched" in p, p
        ks, ks_bound, w, w_bound, eps, med, n = conn.execute(f"""
            SELECT k.statistic, k.error_bound, w.distance, w.error_bound, ml.sketch_rank_error(a),
                   ml.sketch_quantile(a, 0.5), ml.sketch_count(a)
              FROM (SELECT (SELECT ml.quantile_sketch_agg(x, {k}) FROM {table}) AS a,
                           (SELECT ml.quantile_sketch_agg(x, {k}) FROM so_shift) AS b) q,
                   ml.sketch_ks(a, b) k, ml.sketch_wasserstein(a, b) w""").fetchone()
        assert n == len(x)
        assert abs(ks - exact_ks) <= ks_bound + 1e-12, (label, ks, exact_ks, ks_bound)
        assert abs(w - exact_w) <= w_bound + 1e-9, (label, w, exact_w, w_bound)
        rank = np.searchsorted(sorted_x, med, side="right") / len(x)
        assert abs(rank - 0.5) <= eps + 1.0 / len(x), (label, rank, eps)
        results.append((label, ks_bound))
    # The bound is small with the default-sized k: (log2(n/k) + 1) / k at worst.
    if k == 1024:
        assert all(b < 0.02 for _, b in results), results


def test_quantile_sketch_binary_round_trip(conn, blobs):
    conn.execute("DROP TABLE IF EXISTS so_sketches")
    conn.execute("CREATE TABLE so_sketches AS SELECT ml.quantile_sketch_agg(x, 32) AS s FROM so_blobs")
    with conn.cursor().copy("COPY so_sketches TO STDOUT (FORMAT BINARY)") as cp:
        data = b"".join(bytes(b) for b in cp)
    conn.execute("CREATE TEMP TABLE so_sketches_back (s ml.quantile_sketch)")
    with conn.cursor().copy("COPY so_sketches_back FROM STDIN (FORMAT BINARY)") as cp:
        cp.write(data)
    assert conn.execute("SELECT a.s::text = b.s::text FROM so_sketches a, so_sketches_back b").fetchone()[0]


@pytest.mark.parametrize("method", ["wasserstein", "ks", "psi", "jensenshannon"])
def test_score_drift_sketch_engine_matches_the_exact_engine_within_its_bound(conn, blobs, method):
    """The sketch engine (with parallel workers) against the exact engine on 60,000 rows a side:
    the same method, the statistic within the error bound it records (exact for the binned
    methods), the same verdict away from the threshold."""
    conn.execute("DROP TABLE IF EXISTS so_cur")
    conn.execute("CREATE TABLE so_cur AS SELECT id, x * 1.05 + 0.2 AS x FROM so_blobs")
    conn.execute("CREATE OR REPLACE VIEW so_ref AS SELECT id, x FROM so_blobs")
    parallel(conn)
    runs = {}
    for engine in ("exact", "sketch"):
        run = conn.execute("SELECT ml.score_drift('so_ref', 'so_cur', ARRAY['x'], method => %s, params => %s)",
                           (method, '{"engine": "%s"}' % engine)).fetchone()[0]
        runs[engine] = conn.execute("SELECT method, statistic, p_value, details FROM ml.data_drift WHERE run_id = %s", (run,)).fetchone()
    exact, sk = runs["exact"], runs["sketch"]
    assert exact[0] == sk[0] == method
    bound = sk[3]["error_bound"]
    assert sk[3]["engine"] == "sketch" and bound >= 0
    assert abs(sk[1] - exact[1]) <= bound + 1e-9 * abs(exact[1]), (sk[1], exact[1], bound)
    if method in ("psi", "jensenshannon"):
        assert bound == 0 and sk[1] == pytest.approx(exact[1], rel=1e-12)


def test_mini_batch_scan_engine_lands_near_lloyd(conn, blobs):
    X, y = blobs
    out = {}
    for name, extra in [("lloyd", ""), ("minibatch", ', "batch_size": 2048')]:
        run = conn.execute("SELECT ml.cluster_embeddings('so_blobs', params => %s)",
                           ('{"n_clusters": 4, "random_state": 5, "engine": "scan"%s}' % extra,)).fetchone()[0]
        params, metrics = conn.execute("SELECT clustering_params, metrics FROM ml.analysis_runs WHERE id = %s", (run,)).fetchone()
        labels = np.array([r[0] for r in conn.execute(
            "SELECT cluster FROM ml.cluster_assignments WHERE run_id = %s ORDER BY item_id::int", (run,)).fetchall()])
        out[name] = (params, metrics["inertia"], labels)
    assert out["minibatch"][0]["algorithm"] == "minibatch" and out["minibatch"][0]["batch_size"] == 2048
    assert out["minibatch"][1] <= 1.02 * out["lloyd"][1]
    assert adjusted_rand_score(y, out["minibatch"][2]) > 0.9


@pytest.mark.parametrize("method", ["jensenshannon", "psi"])
def test_score_drift_sketch_engine_counts_categories_exactly(conn, method):
    conn.execute("DROP TABLE IF EXISTS so_cref, so_ccur")
    conn.execute("CREATE TABLE so_cref AS SELECT i AS id, (ARRAY['a','b','c','d'])[1 + i % 4] AS cat, (i % 2 = 0) AS flag FROM generate_series(1, 5000) i")
    conn.execute("CREATE TABLE so_ccur AS SELECT i AS id, (ARRAY['a','b','c','e'])[1 + (i * 7) % 4] AS cat, (i % 3 = 0) AS flag FROM generate_series(1, 4000) i")
    got = {}
    for engine in ("exact", "sketch"):
        run = conn.execute("SELECT ml.score_drift('so_cref', 'so_ccur', ARRAY['cat', 'flag'], method => %s, params => %s)",
                           (method, '{"engine": "%s"}' % engine)).fetchone()[0]
        got[engine] = conn.execute("SELECT feature_name, method, statistic, is_drifted, reference_size, current_size FROM ml.data_drift "
                                   "WHERE run_id = %s ORDER BY feature_name", (run,)).fetchall()
    assert [r[:2] + r[3:] for r in got["exact"]] == [r[:2] + r[3:] for r in got["sketch"]]
    for e, s in zip(got["exact"], got["sketch"]):
        assert s[2] == pytest.approx(e[2], rel=1e-12)


def test_scan_engine_stores_a_model_like_the_in_memory_engine(conn, blobs):
    """A scan run with run.model_name registers centroids and per-cluster distance summaries
    equal to numpy's over the run's own assignments; ml.predict_cluster uses it."""
    run = conn.execute("SELECT ml.cluster_embeddings('so_blobs', params => '{\"n_clusters\": 4, \"random_state\": 2, \"engine\": \"scan\"}', "
                       "run => '{\"model_name\": \"so_scan_model\"}')").fetchone()[0]
    art = conn.execute("SELECT artifact FROM ml.model_registry WHERE source_run_id = %s", (run,)).fetchone()[0]
    assert art["format"] == "pg_mlkit.kmeans.v1" and art["n_clusters"] == 4 and art["n_features"] == 4
    rows = conn.execute("SELECT cluster, distance FROM ml.cluster_assignments WHERE run_id = %s", (run,)).fetchall()
    labels, dist = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    for j, summary in enumerate(art["distances"]):
        d = np.sort(dist[labels == j])
        assert summary["count"] == len(d)
        assert summary["mean"] == pytest.approx(d.mean(), rel=1e-9)
        assert summary["std"] == pytest.approx(d.std(), rel=1e-6)
        np.testing.assert_allclose(summary["quantiles"], np.quantile(d, np.linspace(0, 1, len(summary["quantiles"]))), rtol=1e-9)
    got = conn.execute("SELECT (ml.predict_cluster('so_scan_model', embedding, log => false)).cluster FROM so_blobs ORDER BY id LIMIT 50").fetchall()
    want = conn.execute("SELECT cluster FROM ml.cluster_assignments WHERE run_id = %s ORDER BY item_id::int LIMIT 50", (run,)).fetchall()
    assert got == want
