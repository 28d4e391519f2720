"""The look-alike harness: for every public function of pg_mlkit (pg_proc via pg_depend), every
trigger path (inserts, updates, stage changes, every ON DELETE SET NULL cascade from
pg_constraint, deletes, TRUNCATE), every view and the documented scheduled job
(ml.rollup_monitoring), first plant the look-alikes generated from the extension's own SQL
(lookalikes.py), then exercise, then check that no look-alike ever ran and that every result
equals that of the same workload in a database without look-alikes.

Two runs in each database, the same statements in the same order:
  * an ordinary role (CREATE on public, who planted the public look-alikes, plus its own
    pg_temp ones) with search_path = public, pg_catalog;
  * a superuser with the default search_path, where the public look-alikes exist."""
import datetime
import os
import decimal
import re
import time

import psycopg
import pytest

from conftest import conninfo
from table_rows import ROWS, distinct, foreign_keys, insert_sql, tables

from . import lookalikes as L
from .conftest import CREATE, Session, drop_db, setup_db

CLEAN, PLANTED = "pg_mlkit_lk_clean", "pg_mlkit_lk_planted"
# PG_MLKIT_LK_SELF_CHECK=1 plants nothing but the recorder: the run then checks the harness
# (no hits, no differences between two clean databases).
SELF_CHECK = os.environ.get("PG_MLKIT_LK_SELF_CHECK") == "1"
PNG_1x1 = ("'\\x89504e470d0a1a0a0000000d4948445200000001000000010806000000"
           "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082'::pg_catalog.bytea")

DATA = """
CREATE TABLE public.lk_points AS
  SELECT i AS id, ARRAY[(i % 3) * 10 + (i % 7) / 7.0, (i % 3) * 5 + (i % 5) / 5.0]::real[] AS embedding,
         (i % 3) AS label, i * 1.5 AS x, 'c' || (i % 4) AS cat
    FROM generate_series(1, 60) i;
CREATE TABLE public.lk_hashes AS
  SELECT i AS id, ((i / 4) * 65536 + (i % 4))::bigint AS phash, md5((i / 8)::text) AS sha,
         '2026-03-01'::timestamptz + i * interval '1 second' AS taken
    FROM generate_series(1, 40) i;
CREATE TABLE public.lk_drift_a AS
  SELECT (i % 17) / 17.0 AS x, 'c' || (i % 3) AS cat, ARRAY[i % 5, i % 7]::real[] AS embedding FROM generate_series(1, 200) i;
CREATE TABLE public.lk_drift_b AS
  SELECT (i % 13) / 10.0 AS x, 'c' || (i % 4) AS cat, ARRAY[i % 6, i % 7]::real[] AS embedding FROM generate_series(1, 200) i;
GRANT SELECT ON public.lk_points, public.lk_hashes, public.lk_drift_a, public.lk_drift_b TO PUBLIC;
"""

KM = "'{\"n_clusters\": 3, \"random_state\": 0}'"
# Calls of the functions that need meaningful arguments; every other public function gets one
# call built from its argument types (TYPE_VALUE). Every literal is typed by the parameter it
# fills or cast to a pg_catalog type: the workload itself names nothing through search_path.
CALLS = {
    "cluster_embeddings": [
        f"SELECT ml.cluster_embeddings('public.lk_points', params => {KM}, run => '{{\"model_name\": \"lk_model_{{tag}}\"}}')",
        "SELECT ml.cluster_embeddings('public.lk_points', params => '{\"n_clusters\": 3, \"engine\": \"scan\", \"random_state\": 0}')",
        "SELECT ml.cluster_embeddings('public.lk_points', algorithm => 'dbscan', params => '{\"eps\": 2, \"min_samples\": 3}')",
        "SELECT ml.cluster_embeddings('public.lk_points', algorithm => 'hdbscan', params => '{\"min_cluster_size\": 5}')",
        f"SELECT ml.cluster_embeddings('public.lk_points', params => {KM}, reduction => 'pca')",
    ],
    "reduce_embeddings": ["SELECT ml.reduce_embeddings('public.lk_points')",
                          "SELECT ml.reduce_embeddings('public.lk_points', method => 'tsne', params => '{\"perplexity\": 5, \"random_state\": 0}')"],
    "plot_run": ["SELECT ml.plot_run((SELECT pg_catalog.max(r.id) FROM ml.analysis_runs r))",
                 "SELECT ml.plot_run((SELECT pg_catalog.min(r.id) FROM ml.analysis_runs r WHERE r.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()))"],
    "predict_cluster": ["SELECT * FROM ml.predict_cluster('lk_model_{tag}', '{1,2}')",
                        "SELECT * FROM ml.predict_cluster('lk_model_{tag}', '{25,5}', log => false)"],
    "predict_clusters": ["SELECT * FROM ml.predict_clusters('lk_model_{tag}', 'public.lk_points')"],
    "group_near_duplicates": ["SELECT ml.group_near_duplicates('public.lk_hashes', sha256_column => 'sha', taken_at_column => 'taken', params => '{\"radius\": 2}')"],
    "score_drift": ["SELECT ml.score_drift('public.lk_drift_a', 'public.lk_drift_b')",
                    "SELECT ml.score_drift('public.lk_drift_a', 'public.lk_drift_b', params => '{\"engine\": \"sketch\"}')"],
    "load_analysis_run": ["SELECT ml.load_analysis_run('drift', model_name => 'lk_model_{tag}', metrics => '{\"drift_share\": 0.9}')",
                          "SELECT ml.load_analysis_run('clustering', run_timestamp => '2026-03-01 10:00+00')"],
    "log_prediction": ["SELECT ml.log_prediction('lk_model_{tag}', 1.5, anomaly_score => 0.995, is_anomaly => true, "
                       "response_time_ms => 12, created_at => '2026-03-01 12:00+00')"],
    "rollup_monitoring": ["SELECT ml.rollup_monitoring('2026-03-01')", "SELECT ml.rollup_monitoring()"],
    "kmeans_step": ["SELECT ml.kmeans_centroids(ml.kmeans_step(p.embedding, '{0,0,10,5}')) FROM public.lk_points p"],
    "hist_agg": ["SELECT ml.hist_agg(d.x, '{0,0.5,1}') FROM public.lk_drift_a d"],
    "quantile_sketch_agg": ["SELECT ml.sketch_quantile(ml.quantile_sketch_agg(d.x), 0.5) FROM public.lk_drift_a d",
                            "SELECT ml.sketch_count(ml.quantile_sketch_agg(d.x, 16)) FROM public.lk_drift_a d"],
    "phash": [f"SELECT ml.phash({PNG_1x1})"], "dhash": [f"SELECT ml.dhash({PNG_1x1})"], "ahash": [f"SELECT ml.ahash({PNG_1x1})"],
}
SKETCH = "(SELECT ml.quantile_sketch_agg(d.x) FROM public.lk_drift_a d)"
TYPE_VALUE = {
    "double precision": "0.5", "real": "0.5", "integer": "2", "bigint": "3", "text": "'ks'::pg_catalog.text",
    "name": "'id'::pg_catalog.name", "regclass": "'public.lk_points'::pg_catalog.regclass", "jsonb": "'{}'::pg_catalog.jsonb",
    "real[]": "'{1,2,3,4}'::real[]", "double precision[]": "'{0.1,0.4,0.35,0.8}'::double precision[]",
    "text[]": "'{a,b,a,c}'::pg_catalog.text[]", "integer[]": "'{0,1}'::integer[]", "bigint[]": "'{0,1,2}'::bigint[]",
    "bytea": PNG_1x1, "bit varying": "B'1010'::bit varying", "boolean": "true",
    "timestamp with time zone": "'2026-03-01 12:00+00'::timestamp with time zone", "date": "'2026-03-01'::pg_catalog.date",
    "ml.kmeans_state": "(SELECT ml.kmeans_step(p.embedding, '{0,0,10,5}') FROM public.lk_points p)",
    "ml.quantile_sketch": SKETCH, "cstring": None, "internal": None,
}
SPECIAL_ARGS = {("hamming_distance", "bit varying"): "B'1011'::bit varying", ("sample_hash", "text"): "'item'::pg_catalog.text"}


def public_functions(c):
    """(name, [argument types], kind) of every function of the extension SQL can call."""
    return c.execute("""
        SELECT p.proname::pg_catalog.text, ARRAY(SELECT pg_catalog.format_type(t, NULL) FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) t),
               p.prokind::pg_catalog.text, p.proretset
          FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                                     AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
          JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid AND e.extname OPERATOR(pg_catalog.=) 'pg_mlkit'
         WHERE p.prorettype OPERATOR(pg_catalog.<>) 'pg_catalog.trigger'::pg_catalog.regtype
         ORDER BY 1, 2""").fetchall()


def workload(c, tag):
    """The statements of one run (tag tells the runs' rows apart)."""
    q = lambda s: s.replace("{tag}", tag)  # noqa: E731
    stmts = []
    # Trigger paths: a row in every table, then updates of every row (BEFORE/AFTER UPDATE triggers).
    fks = foreign_keys(c)
    for table, row in ROWS.items():
        if row is None:
            stmts.append(f"UPDATE ml.model_registry SET stage = 'staging' WHERE version OPERATOR(pg_catalog.=) '{tag}first'")
            stmts.append(f"UPDATE ml.model_registry SET stage = 'production' WHERE version OPERATOR(pg_catalog.=) '{tag}first'")
            continue
        extra = distinct(table, f"{tag}first")
        if table == "monitoring_daily_rollups":
            extra = {"day": "'2025-01-01'" if tag == "role" else "'2025-01-02'"}
        for n in (1, 2) if table == "model_registry" else (1,):
            if table == "model_registry" and n == 2:
                extra = distinct(table, f"{tag}second")
            sql = insert_sql(table, fks, extra=extra)
            sql = sql.replace("max(id)", "pg_catalog.max(id)").replace("min(id)", "pg_catalog.min(id)")
            sql = sql.replace(" = ml.current_tenant()", " OPERATOR(pg_catalog.=) ml.current_tenant()")
            stmts.append(sql)
    stmts.append("INSERT INTO ml.alert_rules (name, metric, comparison, threshold) "
                 f"VALUES ('{tag}anomaly', 'anomaly_score', '>=', 0.99), ('{tag}drift', 'drift_share', '>', 0.5)")
    # Every public function.
    for name, args, kind, retset in public_functions(c):
        if name in CALLS:
            stmts += [q(s) for s in CALLS[name]]
            continue
        if any(TYPE_VALUE.get(a, "x") is None for a in args) or name.endswith(("_in", "_out", "_recv", "_send", "_transition", "_combine")):
            continue
        vals = [SPECIAL_ARGS.get((name, a), TYPE_VALUE.get(a, "NULL")) for a in args]
        call = f"ml.{name}({', '.join(vals)})"
        stmts.append(f"SELECT * FROM {call}" if retset else f"SELECT {call}")
    # Views.
    for (v,) in c.execute("SELECT r.oid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_class r "
                          "WHERE r.relnamespace OPERATOR(pg_catalog.=) 'ml'::pg_catalog.regnamespace AND r.relkind OPERATOR(pg_catalog.=) 'v' ORDER BY 1"):
        # Its columns but the times (which differ between the two databases' runs).
        cols = [r[0] for r in c.execute(
            "SELECT pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) %s::pg_catalog.regclass "
            "AND a.attnum OPERATOR(pg_catalog.>) 0 AND a.atttypid OPERATOR(pg_catalog.<>) ALL "
            "('{timestamptz,timestamp,date,tstzrange}'::pg_catalog.regtype[]::pg_catalog.oid[]) "
            "AND a.attname::pg_catalog.text NOT LIKE '%%\\_ms' AND a.attname::pg_catalog.text NOT LIKE 'duration%%' ORDER BY a.attnum", (v,))]
        stmts.append(f"SELECT {', '.join(cols)} FROM {v} ORDER BY 1, 2, 3")
    for t in tables(c):
        stmts.append(f"UPDATE ml.{t} SET tenant_id = tenant_id")
    # Every ON DELETE SET NULL cascade, then every delete (CASCADE children), then TRUNCATE.
    for child, col, parent in c.execute("""
            SELECT con.conrelid::pg_catalog.regclass::pg_catalog.text, a.attname::pg_catalog.text, con.confrelid::pg_catalog.regclass::pg_catalog.text
              FROM pg_catalog.pg_constraint con
              JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) con.conrelid AND a.attnum OPERATOR(pg_catalog.=) ANY (con.conkey)
                                            AND a.attname OPERATOR(pg_catalog.<>) 'tenant_id'
             WHERE con.contype OPERATOR(pg_catalog.=) 'f' AND con.confdeltype OPERATOR(pg_catalog.=) 'n'
               AND con.connamespace OPERATOR(pg_catalog.=) 'ml'::pg_catalog.regnamespace ORDER BY 1, 2""").fetchall():
        stmts.append(f"DELETE FROM {parent} WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT x.{col} FROM {child} x "
                     f"WHERE x.tenant_id OPERATOR(pg_catalog.=) ml.current_tenant()))")
    stmts.append("DELETE FROM ml.alert_rules")
    stmts.append("DELETE FROM ml.model_registry")
    stmts.append("TRUNCATE ml.monitoring_alerts")
    return stmts


def norm(v):
    """Results compared across databases: timestamps and timings masked, floats rounded."""
    if isinstance(v, (datetime.datetime, datetime.date, datetime.timedelta)):
        return "<time>"
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, decimal.Decimal):
        return round(float(v), 6)
    if isinstance(v, str):
        v = re.sub(r"\b[0-9a-f]{32}\b", "<hex>", v)  # random salts (ab_experiments)
        return re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d(:\d\d)?)?", "<time>", v)
    if isinstance(v, dict):
        return {k: ("<ms>" if k.endswith("_ms") or "time" in k or k == "random_state" or k.endswith("_at") else norm(x)) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    return v


def run_workload(s, stmts):
    """(sqlstate or 'ok', normalized rows) per statement, and the look-alike hits per statement."""
    results, hits = [], {}
    for sql in stmts:
        s.notices.clear()
        try:
            cur = s.execute(sql)
            results.append(("ok", norm(cur.fetchall()) if cur.description else None))
        except psycopg.OperationalError as e:
            results.append(("crash", str(e)))
            raise
        except psycopg.Error as e:
            results.append((e.sqlstate, None))
        if s.hits():
            hits[sql[:200]] = s.hits()
    return results, hits


def table_dump(db):
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        c.execute("SET search_path = pg_catalog")
        out = {}
        for t in tables(c):
            cols = [r[0] for r in c.execute(
                "SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) %s::pg_catalog.regclass "
                "AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped AND a.atttypid OPERATOR(pg_catalog.<>) ALL "
                "('{timestamptz,timestamp,date,tstzrange}'::pg_catalog.regtype[]::pg_catalog.oid[]) "
                "AND a.attname::pg_catalog.text NOT LIKE '%%\\_ms' AND a.attname::pg_catalog.text NOT LIKE 'duration%%' ORDER BY a.attnum", (f"ml.{t}",))]
            out[t] = norm(c.execute(f"SELECT {', '.join(cols)} FROM ml.{t} ORDER BY 1, 2").fetchall())
        return out


@pytest.fixture(scope="module")
def harness():
    started = time.time()
    for db in (CLEAN, PLANTED):
        setup_db(db, DATA)
    with psycopg.connect(conninfo(PLANTED), autocommit=True) as c:
        c.execute("SET search_path = pg_catalog")
        found = L.names(c)
        public, info = L.public_sql(c, found)
        temp = L.temp_sql(c, found)
        stmts_role, stmts_owner = workload(c, "role"), workload(c, "owner")
    if SELF_CHECK:  # both databases clean: the comparison itself must find nothing
        public, temp = public[:1], temp[:1]
    with Session(PLANTED, CREATE) as a:  # the attacker plants once, in public
        failed = L.execute_all(a.conn, public)
    info.update(planted=len(public) - len(failed), not_planted=failed, temp=temp, setup_s=time.time() - started)
    yield {"info": info, "role": stmts_role, "owner": stmts_owner}
    for db in (CLEAN, PLANTED):
        drop_db(db)


def attacker_session(db, temp):
    s = Session(db, CREATE, "public, pg_catalog")
    if temp:
        failed = L.execute_all(s.conn, temp)
        assert len(failed) <= len(temp) / 4, failed[:5]
    return s


def test_lookalikes_are_generated_from_the_extension(harness):
    info = harness["info"]
    if SELF_CHECK:
        pytest.skip("self-check: nothing planted")
    assert info["functions"] > 50 and "text" in info["types"] and "pg_class" in info["relations"], info
    assert info["planted"] > 300, info["not_planted"][:10]


def test_no_lookalike_runs_for_an_ordinary_role(harness):
    info = harness["info"]
    with attacker_session(CLEAN, None) as s:
        s.execute("SET search_path = public, pg_catalog")
        clean, _ = run_workload(s, harness["role"])
    with attacker_session(PLANTED, info["temp"]) as s:
        got, hits = run_workload(s, harness["role"])
    assert not hits, f"{len(hits)} statements ran look-alikes, e.g. {list(hits.items())[:8]}"
    diff = [(sql[:150], c, g) for sql, c, g in zip(harness["role"], clean, got) if c != g]
    assert not diff, diff[:5]
    assert not [r for r in got if r[0].startswith("XX")]


def test_no_lookalike_runs_for_a_superuser(harness):
    with Session(CLEAN, "postgres") as s:
        clean, _ = run_workload(s, harness["owner"])
    with Session(PLANTED, "postgres") as s:  # the default search_path
        got, hits = run_workload(s, harness["owner"])
    assert not hits, f"{len(hits)} statements ran look-alikes, e.g. {list(hits.items())[:8]}"
    diff = [(sql[:150], c, g) for sql, c, g in zip(harness["owner"], clean, got) if c != g]
    assert not diff, diff[:5]


def test_results_equal_a_clean_run(harness):
    """After both runs (the tests above), every ml table holds the same rows in both databases."""
    clean, planted = table_dump(CLEAN), table_dump(PLANTED)
    diff = {t: [(c, p) for c, p in zip(clean[t], planted[t]) if c != p][:3] or (len(clean[t]), len(planted[t]))
            for t in clean if clean[t] != planted[t]}
    assert not diff, repr(diff)[:3000]
    assert harness["info"]["setup_s"] < 60
