"""pg_mlkit on a real Citus cluster (a coordinator and two workers, scripts/citus.sh): every
scale-out path on hash-distributed and reference tables gives the single-node result, runs
where docs/scale-out.md says it does, and keeps the security guarantees."""
import numpy as np
import psycopg
import pytest
from sklearn.datasets import make_blobs

from conftest import WORKERS, conninfo, embedding_rows, error_of, load_pair

CENTRES = "ARRAY[[0, 0, 0, 0], [5, 5, 5, 5], [-5, 5, -5, 5], [9, -9, 9, -9]]::real[]"


def one(conn, sql, params=None):
    return conn.execute(sql, params).fetchone()[0]


def labels(conn, run):
    return dict(conn.execute("SELECT item_id, cluster FROM ml.cluster_assignments WHERE run_id = %s", (run,)).fetchall())


def explain(conn, sql):
    return "\n".join(r[0] for r in conn.execute("EXPLAIN (VERBOSE, COSTS OFF) " + sql).fetchall())


def remote_commands(conn, sql):
    """The commands the coordinator sends to the workers while running `sql` (Citus logs each
    as a NOTICE when citus.log_remote_commands is on)."""
    seen = []
    conn.add_notice_handler(lambda d: seen.append(d.message_primary or ""))
    conn.execute("SET citus.log_remote_commands = on")
    try:
        result = conn.execute(sql).fetchall()
    finally:
        conn.execute("RESET citus.log_remote_commands")
        conn._notice_handlers.clear()
    return result, [m for m in seen if m.startswith("issuing ")]


@pytest.fixture(scope="module")
def blobs():
    """60,000 × 4 float4 rows in four blobs (with a float8 copy and a scalar) as blobs_l / blobs_d."""
    X, _ = make_blobs(n_samples=60000, n_features=4, centers=4, cluster_std=2.0, random_state=3)
    X = X.astype(np.float32)
    rows = [(i, [float(v) for v in r], [float(v) for v in r], float(r[0])) for i, r in enumerate(X)]
    with psycopg.connect(conninfo(), autocommit=True) as c:
        load_pair(c, "blobs", "id int PRIMARY KEY, embedding real[] NOT NULL, e8 double precision[], x float8", rows)
    return X


# ---------------------------------------------------------------------------------------
# 1. The aggregates: pushed down to the shards, combined on the coordinator, same answers

@pytest.mark.parametrize("column", ["embedding", "e8::real[]"])
def test_kmeans_step_is_pushed_down_and_equals_single_node(conn, blobs, column):
    """ml.kmeans_step_real: Citus pushes down only aggregates declared for the call's types."""
    query = f"SELECT ml.kmeans_step_real({column}, {CENTRES}) AS s FROM blobs_%s"
    plan = explain(conn, query % "d")
    assert "worker_partial_agg" in plan and "coord_combine_agg" in plan, plan
    assert "Task Count: 32" in plan
    # With Citus's fallback of pulling rows to the coordinator switched off, the pushed-down
    # plan is the only one: a query it could not push down would fail here.
    conn.execute("SET citus.coordinator_aggregation_strategy = 'disabled'")
    d = conn.execute(f"SELECT ml.kmeans_counts(s), ml.kmeans_inertia(s), ml.kmeans_centroids(s) FROM ({query % 'd'}) q").fetchone()
    conn.execute("RESET citus.coordinator_aggregation_strategy")
    l = conn.execute(f"SELECT ml.kmeans_counts(s), ml.kmeans_inertia(s), ml.kmeans_centroids(s) FROM ({query % 'l'}) q").fetchone()
    # Counts are exact; sums and inertia differ only in the order of float8 additions (32
    # shard partials combined, against one serial sum).
    assert d[0] == l[0]
    assert d[1] == pytest.approx(l[1], rel=1e-12)
    np.testing.assert_allclose(np.array(d[2]), np.array(l[2]), rtol=1e-6)


def test_kmeans_step_on_the_shards_after_a_failed_step(conn, blobs):
    """Citus calls the transition function without an expression, so the checked centroids
    are kept per backend, in the aggregate's memory: after a step that fails part-way (a row
    of the wrong length, on the workers) and one with other centroids, the next is right."""
    conn.execute("DROP TABLE IF EXISTS odd_d")
    conn.execute("CREATE TABLE odd_d (id int PRIMARY KEY, embedding real[])")
    conn.execute("SELECT create_distributed_table('odd_d', 'id')")
    conn.execute("INSERT INTO odd_d SELECT id, embedding FROM blobs_l WHERE id < 5000")
    conn.execute("INSERT INTO odd_d VALUES (-1, ARRAY[1, 2, 3]::real[])")
    e = error_of(conn, f"SELECT ml.kmeans_step_real(embedding, {CENTRES}) FROM odd_d")
    assert e is not None and e[0] == "2202E" and "4 columns" in e[1], e
    conn.execute("DELETE FROM odd_d WHERE id = -1")
    query = "SELECT ml.kmeans_counts(ml.kmeans_step_real(embedding, {c})) FROM odd_{s}"
    conn.execute("CREATE TEMP TABLE odd_l AS SELECT * FROM blobs_l WHERE id < 5000")
    other = "ARRAY[[1, 1, 1, 1], [-9, 9, -9, 9]]::real[]"
    for c in (other, CENTRES, other):
        assert one(conn, query.format(c=c, s="d")) == one(conn, query.format(c=c, s="l"))


def test_polymorphic_kmeans_step_on_citus_is_refused_by_citus(conn, blobs):
    """The limit docs/scale-out.md states: ml.kmeans_step (anycompatible) is not pushed down;
    Citus refuses it on the shards, and the single-node answer is ml.kmeans_step_real's."""
    e = error_of(conn, f"SELECT ml.kmeans_step(embedding, {CENTRES}) FROM blobs_d")
    assert e is not None and "could not confirm type correctness" in e[1]
    same = f"SELECT ml.kmeans_step(embedding, {CENTRES}) OPERATOR(ml.=) (SELECT ml.kmeans_step_real(embedding, {CENTRES}) FROM blobs_l) FROM blobs_l"
    assert one(conn, same)


def test_hist_agg_is_pushed_down_and_identical(conn, blobs):
    query = "SELECT ml.hist_agg(x, ARRAY[-20, -10, -5, 0, 2.5, 5, 10, 20]) FROM blobs_%s"
    plan = explain(conn, query % "d")
    assert "worker_partial_agg" in plan and "coord_combine_agg" in plan, plan
    assert one(conn, query % "d") == one(conn, query % "l")


def test_quantile_sketch_is_pushed_down_and_within_its_bound(conn, blobs):
    query = "SELECT ml.quantile_sketch_agg(x) AS s FROM blobs_%s"
    plan = explain(conn, query % "d")
    assert "worker_partial_agg" in plan and "coord_combine_agg" in plan, plan
    xs = np.sort(blobs[:, 0].astype(np.float64))
    n = len(xs)
    for side in "dl":
        count, eps = conn.execute(
            f"SELECT ml.sketch_count(s), ml.sketch_rank_error(s) FROM ({query % side}) q").fetchone()
        assert count == n
        for q in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
            v = one(conn, f"SELECT ml.sketch_quantile(s, {q}) FROM ({query % side}) q")
            # The answer's rank among the exact values is within the sketch's reported bound.
            lo, hi = np.searchsorted(xs, v, "left") / n, np.searchsorted(xs, v, "right") / n
            assert lo - eps <= q <= hi + eps, (side, q, v, lo, hi, eps)


# ---------------------------------------------------------------------------------------
# 2. The table functions on distributed tables

@pytest.mark.parametrize("params", [
    '{"n_clusters": 4, "engine": "scan", "random_state": 7}',
    '{"n_clusters": 4, "engine": "scan", "batch_size": 4096, "random_state": 7}',
])
def test_scan_engine_on_a_distributed_table(conn, blobs, params):
    conn.execute("SET citus.coordinator_aggregation_strategy = 'disabled'")
    d = one(conn, "SELECT ml.cluster_embeddings('blobs_d', params => %s)", (params,))
    conn.execute("RESET citus.coordinator_aggregation_strategy")
    l = one(conn, "SELECT ml.cluster_embeddings('blobs_l', params => %s)", (params,))
    ld, ll = labels(conn, d), labels(conn, l)
    assert len(ld) == len(blobs) and ld == ll
    sizes = "SELECT metrics -> 'cluster_sizes' FROM ml.analysis_runs WHERE id = %s"
    assert one(conn, sizes, (d,)) == one(conn, sizes, (l,))
    inertia = "SELECT (metrics ->> 'inertia')::float8 FROM ml.analysis_runs WHERE id = %s"
    assert one(conn, inertia, (d,)) == pytest.approx(one(conn, inertia, (l,)), rel=1e-9)


def test_scan_engine_computes_assignments_on_the_workers(conn, blobs):
    """The final write ships (id, cluster, distance) from each shard, not the embeddings: the
    nearest centroid is computed where the rows are."""
    _, sent = remote_commands(conn, """SELECT ml.cluster_embeddings('blobs_d',
        params => '{"n_clusters": 4, "engine": "scan", "max_iter": 3}')""")
    steps = [c for c in sent if "worker_partial_agg" in c and "kmeans_step" in c]
    assigns = [c for c in sent if "nearest_centroid" in c]
    assert steps, sent[:5]
    assert len(assigns) >= 2 and all("centroid_distance" in c for c in assigns), assigns[:2]
    # One command per shard: the shards are read in parallel, never through one cursor.
    shards = {c.split(" FROM public.")[1].split()[0] for c in assigns}
    assert len(shards) == 32, shards


def test_scan_engine_on_a_pgvector_column(conn, blobs):
    if one(conn, "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") == 0:
        pytest.skip("pgvector is not installed (scripts/bootstrap.sh builds it)")
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")  # Citus creates it on the workers
    for s in "ld":
        conn.execute(f"DROP TABLE IF EXISTS vblobs_{s}")
        conn.execute(f"CREATE TABLE vblobs_{s} (id int PRIMARY KEY, embedding vector(4) NOT NULL)")
    conn.execute("SELECT create_distributed_table('vblobs_d', 'id')")
    for s in "ld":
        conn.execute(f"INSERT INTO vblobs_{s} SELECT id, embedding::vector FROM blobs_l WHERE id < 20000")
    p = '{"n_clusters": 4, "engine": "scan", "random_state": 5}'
    d = one(conn, "SELECT ml.cluster_embeddings('vblobs_d', params => %s)", (p,))
    l = one(conn, "SELECT ml.cluster_embeddings('vblobs_l', params => %s)", (p,))
    assert labels(conn, d) == labels(conn, l) and len(labels(conn, d)) == 20000


@pytest.mark.parametrize("algorithm,params", [
    ("kmeans", '{"n_clusters": 10, "random_state": 1}'),
    ("dbscan", '{"eps": 22, "min_samples": 5}'),
    ("hdbscan", '{"min_cluster_size": 15}'),
])
def test_in_memory_engine_reads_a_distributed_table(conn, digits, algorithm, params):
    d = one(conn, "SELECT ml.cluster_embeddings('digits_d', algorithm => %s, params => %s)", (algorithm, params))
    l = one(conn, "SELECT ml.cluster_embeddings('digits_l', algorithm => %s, params => %s)", (algorithm, params))
    ld, ll = labels(conn, d), labels(conn, l)
    assert len(ld) == len(digits) and ld == ll
    assert len(set(ld.values())) > 2


def test_reference_table_is_clustered_like_a_local_one(conn, blobs):
    X = blobs[:5000]
    load_pair(conn, "ref", "id int PRIMARY KEY, embedding real[] NOT NULL", embedding_rows(X), kind="reference")
    for engine in ("memory", "scan"):
        p = f'{{"n_clusters": 4, "engine": "{engine}", "random_state": 2}}'
        d = one(conn, "SELECT ml.cluster_embeddings('ref_d', params => %s)", (p,))
        l = one(conn, "SELECT ml.cluster_embeddings('ref_l', params => %s)", (p,))
        assert labels(conn, d) == labels(conn, l)


SAMPLE_THEN_ASSIGN = """
    SELECT i.id, ml.nearest_exemplar(i.embedding, e.points, e.clusters, 25) AS cluster
      FROM digits_{s} i,
           (SELECT array_agg(x.embedding ORDER BY a.item_id) AS points, array_agg(a.cluster ORDER BY a.item_id) AS clusters
              FROM ml.cluster_assignments a JOIN digits_l x ON x.id::text = a.item_id
             WHERE a.run_id = {run} AND a.cluster >= 0) e
     ORDER BY i.id"""


def test_sample_then_assign_through_nearest_exemplar(conn, digits):
    """The DBSCAN/HDBSCAN path for large tables (docs/scale-out.md): cluster a sample, then
    give every row of the distributed table its nearest exemplar's cluster."""
    for s in "ld":
        conn.execute(f"CREATE OR REPLACE VIEW digits_sample_{s} AS SELECT * FROM digits_{s} WHERE ml.sample_hash(id::text, 7) < 0.3")
    d = one(conn, "SELECT ml.cluster_embeddings('digits_sample_d', algorithm => 'hdbscan', params => '{\"min_cluster_size\": 10}')")
    l = one(conn, "SELECT ml.cluster_embeddings('digits_sample_l', algorithm => 'hdbscan', params => '{\"min_cluster_size\": 10}')")
    assert labels(conn, d) == labels(conn, l)
    # The exemplars come from the coordinator's tables; Citus plans the join by sending them
    # to the shards (a subquery pushed as an intermediate result), where each row is assigned.
    got_d = conn.execute(SAMPLE_THEN_ASSIGN.format(s="d", run=d)).fetchall()
    got_l = conn.execute(SAMPLE_THEN_ASSIGN.format(s="l", run=l)).fetchall()
    assert got_d == got_l and len(got_d) == len(digits)
    assert len({c for _, c in got_d if c >= 0}) >= 5


@pytest.mark.parametrize("method,params", [
    ("pca", '{"n_components": 2}'),
    ("tsne", '{"perplexity": 20, "random_state": 3}'),
])
def test_reduce_embeddings_on_a_distributed_table(conn, digits, method, params):
    runs = [one(conn, f"SELECT ml.reduce_embeddings('digits_{s}', method => %s, params => %s)", (method, params)) for s in "dl"]
    coords = [dict(conn.execute("SELECT item_id, coords FROM ml.embedding_coordinates WHERE run_id = %s", (r,)).fetchall())
              for r in runs]
    assert coords[0].keys() == coords[1].keys() and len(coords[0]) == len(digits)
    keys = sorted(coords[0])
    np.testing.assert_array_equal(np.array([coords[0][k] for k in keys]), np.array([coords[1][k] for k in keys]))


def test_predict_clusters_on_a_distributed_table(conn, digits):
    one(conn, """SELECT ml.cluster_embeddings('digits_l', params => '{"n_clusters": 10, "random_state": 4}',
                                              run => '{"model_name": "citus_digits_km"}')""")
    d = one(conn, "SELECT ml.predict_clusters('citus_digits_km', 'digits_d', log => false)")
    l = one(conn, "SELECT ml.predict_clusters('citus_digits_km', 'digits_l', log => false)")
    rows = "SELECT item_id, cluster, distance FROM ml.cluster_assignments WHERE run_id = %s ORDER BY item_id"
    assert conn.execute(rows, (d,)).fetchall() == conn.execute(rows, (l,)).fetchall()
    anomalies = "SELECT metrics -> 'anomalies' FROM ml.analysis_runs WHERE id = %s"
    assert one(conn, anomalies, (d,)) == one(conn, anomalies, (l,))


def test_row_by_row_prediction_on_shards_is_refused_with_the_forms_that_work(conn, digits):
    """ml.predict_cluster in the select list of a query over a distributed table runs on the
    workers, where the models are not: a clear 0A000 (not "model does not exist", and never a
    same-named model of a worker's own tables); the hint's form runs on the shards and agrees
    with ml.predict_clusters."""
    one(conn, """SELECT ml.cluster_embeddings('digits_l', params => '{"n_clusters": 10, "random_state": 4}',
                                              run => '{"model_name": "citus_rows_km"}')""")
    e = error_of(conn, "SELECT ml.predict_cluster('citus_rows_km', embedding, log => false) FROM digits_d")
    assert e is not None and e[0] == "0A000" and "Citus worker" in e[1], e
    # The same call on the local table works, row by row.
    assert one(conn, "SELECT count(*) FROM (SELECT ml.predict_cluster('citus_rows_km', embedding, log => false) FROM digits_l) q") == len(digits)
    on_shards = dict(conn.execute("""
        SELECT id::text, ml.nearest_centroid(embedding, (SELECT array_agg(centroid ORDER BY cluster) FROM ml.centroids('citus_rows_km')))
          FROM digits_d""").fetchall())
    run = one(conn, "SELECT ml.predict_clusters('citus_rows_km', 'digits_d', log => false)")
    assert on_shards == labels(conn, run)


@pytest.fixture(scope="module")
def periods():
    rng = np.random.default_rng(11)
    def rows(n, shift):
        x = rng.normal(shift, 1, n)
        y = np.round(rng.exponential(2, n), 1)  # ties
        cat = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2] if shift == 0 else [0.3, 0.3, 0.4])
        return [(i, float(x[i]), float(y[i]), str(cat[i])) for i in range(n)]
    with psycopg.connect(conninfo(), autocommit=True) as c:
        cols = "id int PRIMARY KEY, x float8, y float8, cat text"
        load_pair(c, "ref_period", cols, rows(20000, 0.0))
        load_pair(c, "cur_period", cols, rows(15000, 0.15), colocate_with="ref_period_d")
        load_pair(c, "refrt_period", cols, rows(5000, 0.0), kind="reference")


def drift_rows(conn, run):
    return conn.execute("""SELECT feature_name, method, statistic, p_value, is_drifted, reference_size, current_size,
                                  (details ->> 'error_bound')::float8
                             FROM ml.data_drift WHERE run_id = %s ORDER BY feature_name""", (run,)).fetchall()


def test_score_drift_exact_on_distributed_tables(conn, periods):
    d = one(conn, "SELECT ml.score_drift('ref_period_d', 'cur_period_d', columns => ARRAY['x', 'y', 'cat'])")
    l = one(conn, "SELECT ml.score_drift('ref_period_l', 'cur_period_l', columns => ARRAY['x', 'y', 'cat'])")
    rd, rl = drift_rows(conn, d), drift_rows(conn, l)
    assert [r[:2] + r[4:7] for r in rd] == [r[:2] + r[4:7] for r in rl]
    for a, b in zip(rd, rl):
        assert a[2] == pytest.approx(b[2], rel=1e-12, abs=1e-15)
        assert (a[3] is None and b[3] is None) or a[3] == pytest.approx(b[3], rel=1e-9, abs=1e-15)
    # A reference table against a distributed one works the same.
    r = one(conn, "SELECT ml.score_drift('refrt_period_d', 'cur_period_d', columns => ARRAY['x'])")
    rl = one(conn, "SELECT ml.score_drift('refrt_period_l', 'cur_period_l', columns => ARRAY['x'])")
    assert drift_rows(conn, r)[0][2] == pytest.approx(drift_rows(conn, rl)[0][2], rel=1e-12)


def test_score_drift_sketch_engine_on_distributed_tables(conn, periods):
    params = '{"engine": "sketch", "columns": {"x": {"method": "ks"}, "y": {"method": "wasserstein"}}}'
    conn.execute("SET citus.coordinator_aggregation_strategy = 'disabled'")
    d = one(conn, "SELECT ml.score_drift('ref_period_d', 'cur_period_d', columns => ARRAY['x', 'y', 'cat'], params => %s)", (params,))
    conn.execute("RESET citus.coordinator_aggregation_strategy")
    exact = one(conn, """SELECT ml.score_drift('ref_period_l', 'cur_period_l', columns => ARRAY['x', 'y', 'cat'],
                                               params => '{"columns": {"x": {"method": "ks"}, "y": {"method": "wasserstein"}}}')""")
    rd, re_ = drift_rows(conn, d), drift_rows(conn, exact)
    assert [r[0:2] for r in rd] == [r[0:2] for r in re_]
    for a, b in zip(rd, re_):
        assert a[5:7] == b[5:7]
        bound = a[7] or 0.0
        assert abs(a[2] - b[2]) <= bound + 1e-12, (a, b)


def test_group_near_duplicates_on_a_distributed_table(conn):
    rng = np.random.default_rng(5)
    base = rng.integers(0, 2**63, 400, dtype=np.int64)
    rows, i = [], 0
    for b in base:
        for _ in range(rng.integers(1, 5)):
            flips = rng.choice(64, rng.integers(0, 4), replace=False)
            h = int(b)
            for f in flips:
                h ^= 1 << int(f)
            h = (h + 2**63) % 2**64 - 2**63
            rows.append((i, h))
            i += 1
    load_pair(conn, "hashes", "id int PRIMARY KEY, phash bigint", rows)
    runs = [one(conn, f"SELECT ml.group_near_duplicates('hashes_{s}', params => '{{\"radius\": 6}}')") for s in "dl"]
    q = """SELECT item_id, similar_group_id, similar_group_type, hamming_distance
             FROM ml.duplicate_assignments WHERE run_id = %s ORDER BY item_id"""
    got = [conn.execute(q, (r,)).fetchall() for r in runs]
    assert got[0] == got[1] and len(got[0]) > 0


# ---------------------------------------------------------------------------------------
# 3. Where pg_mlkit's tables live

def test_ml_tables_stay_on_the_coordinator(conn, digits):
    assert one(conn, "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::regclass::text LIKE 'ml.%'") == 0
    run = one(conn, "SELECT ml.cluster_embeddings('digits_d', params => '{\"n_clusters\": 3}')")
    assert one(conn, "SELECT count(*) FROM ml.cluster_assignments WHERE run_id = %s", (run,)) == len(digits)
    for port in WORKERS:
        with psycopg.connect(conninfo(port), autocommit=True) as w:
            # The extension is on every worker (Citus created it), its tables unused there.
            assert one(w, "SELECT extversion FROM pg_extension WHERE extname = 'pg_mlkit'") == \
                one(conn, "SELECT extversion FROM pg_extension WHERE extname = 'pg_mlkit'")
            assert one(w, "SELECT count(*) FROM ml.analysis_runs") == 0
            assert one(w, "SELECT count(*) FROM ml.cluster_assignments") == 0


# ---------------------------------------------------------------------------------------
# 4. Tenancy and privileges on the cluster

@pytest.fixture
def roles(conn, digits):
    for r in ("citus_alice", "citus_bob"):
        conn.execute(f"DROP OWNED BY {r}") if one(conn, "SELECT count(*) FROM pg_roles WHERE rolname = %s", (r,)) else None
        conn.execute(f"DROP ROLE IF EXISTS {r}")
        conn.execute(f"CREATE ROLE {r} LOGIN")
    conn.execute("SELECT ml.grant_tenant('citus_alice', 'acme')")
    conn.execute("SELECT ml.grant_tenant('citus_bob', 'globex')")
    # As docs/tenancy.md sets up an application role; Citus sends the grants to every node.
    conn.execute("GRANT USAGE ON SCHEMA ml TO citus_alice, citus_bob")
    conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ml TO citus_alice, citus_bob")
    conn.execute("GRANT SELECT ON digits_d TO citus_alice")
    yield
    for r in ("citus_alice", "citus_bob"):
        conn.execute(f"DROP OWNED BY {r}")
        conn.execute(f"DROP ROLE {r}")


def test_roles_and_grants_reach_every_node(conn, roles):
    for port in WORKERS:
        with psycopg.connect(conninfo(port), autocommit=True) as w:
            w.execute("SET citus.show_shards_for_app_name_prefixes = '*'")  # Citus hides shards from pg_class
            assert one(w, "SELECT count(*) FROM pg_roles WHERE rolname IN ('citus_alice', 'citus_bob')") == 2
            shard = one(w, "SELECT relname FROM pg_class WHERE relname LIKE 'digits_d_%' AND relkind = 'r' LIMIT 1")
            assert one(w, f"SELECT has_table_privilege('citus_alice', '{shard}', 'SELECT')")
            assert not one(w, f"SELECT has_table_privilege('citus_bob', '{shard}', 'SELECT')")
            # Row-level security on pg_mlkit's tables on the workers too.
            assert one(w, """SELECT bool_and(relrowsecurity) FROM pg_class
                              WHERE relnamespace = 'ml'::regnamespace AND relkind IN ('r', 'p')""")


def test_tenants_and_privileges_hold_on_distributed_tables(conn, roles):
    before = one(conn, "SELECT count(*) FROM ml.analysis_runs")
    with psycopg.connect(conninfo(), autocommit=True) as c:
        c.execute("SET ROLE citus_bob")
        c.execute("SET app.tenant = 'globex'")
        # Bob may not read the distributed table: refused, nothing written.
        e = error_of(c, "SELECT ml.cluster_embeddings('digits_d', params => '{\"n_clusters\": 3, \"engine\": \"scan\"}')")
        assert e is not None and e[0] == "42501", e
        e = error_of(c, "SELECT ml.cluster_embeddings('digits_d', params => '{\"n_clusters\": 3}')")
        assert e is not None and e[0] == "42501", e
        # Nor enter alice's tenant.
        assert error_of(c, "SET app.tenant = 'acme'; SELECT count(*) FROM ml.analysis_runs")[0] == "42501"
    assert one(conn, "SELECT count(*) FROM ml.analysis_runs") == before
    with psycopg.connect(conninfo(), autocommit=True) as c:
        c.execute("SET ROLE citus_alice")
        c.execute("SET app.tenant = 'acme'")
        run = one(c, "SELECT ml.cluster_embeddings('digits_d', params => '{\"n_clusters\": 3, \"engine\": \"scan\"}')")
        assert one(c, "SELECT count(*) FROM ml.cluster_assignments WHERE run_id = %s", (run,)) == 1797
        assert one(c, "SELECT count(*) FROM ml.analysis_runs WHERE tenant_id <> 'acme'") == 0
    assert one(conn, "SELECT tenant_id FROM ml.analysis_runs WHERE id = %s", (run,)) == "acme"
    with psycopg.connect(conninfo(), autocommit=True) as c:
        c.execute("SET ROLE citus_bob")
        c.execute("SET app.tenant = 'globex'")
        assert one(c, "SELECT count(*) FROM ml.analysis_runs WHERE id = %s", (run,)) == 0
        assert one(c, "SELECT count(*) FROM ml.cluster_assignments WHERE run_id = %s", (run,)) == 0
