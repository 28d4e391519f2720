"""Fuzzing: every public function of schema ml, called many thousands of times with
generated bad and hostile input — NULL in each position, empty and huge arrays, NaN and
±Infinity, wrong types, identifiers with quotes, spaces and unicode, relations that do not
exist or may not be read, other tenants' ids, very large parameters — as an ordinary role of
its own tenant. Nothing may crash the backend, no error may be internal (SQLSTATE class XX,
or a Rust panic's text), and a call that fails may not leave a row behind. The counts are
printed (run pytest with -s, or see the summary line).

PG_MLKIT_FUZZ_SEED and PG_MLKIT_FUZZ_CALLS (per function) change the sweep."""
import os
import random
import re
import time
from collections import Counter

import psycopg
import pytest

from conftest import conninfo, fresh_db

SEED = int(os.environ.get("PG_MLKIT_FUZZ_SEED", "20261122"))
CALLS = int(os.environ.get("PG_MLKIT_FUZZ_CALLS", "150"))
ROLE, TENANT, VICTIM = "mlkit_fuzzer", "fuzz", "victim"

PNG_1x1 = "'\\x89504e470d0a1a0a0000000d4948445200000001000000010806000000" \
          "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082'::bytea"
PNG_BOMB = "'\\x89504e470d0a1a0a0000000d49484452000186a0000186a00806000000" \
           "00000000'::bytea"  # declares 100000 x 100000 pixels

FLOAT = ["NULL", "'NaN'::float8", "'Infinity'::float8", "'-Infinity'::float8", "0", "-1", "0.5", "1", "2", "1e308", "-1e-308"]
INT = ["NULL", "0", "-1", "1", "2", "3", "64", "65", "1000000", "2147483647", "-2147483648"]
BIGINT = INT + ["9223372036854775807", "-9223372036854775808", "(SELECT max(id) FROM ml.analysis_runs)",
                "{victim_run}", "{victim_run} + 1"]
TEXT = ["NULL", "''", "' '", "'x'", "'kmeans'", "'dbscan'", "'hdbscan'", "'pca'", "'tsne'", "'umap'", "'ks'", "'psi'",
        "'wasserstein'", "'jensenshannon'", "'chisquare'", "'z'", "'two-sided'", "'less'", "'greater'", "'exact'",
        "'asymp'", "'auto'", "'production'", "'normal'", "'critical'", "'fz_model'", "'victim_model'", "'1'",
        "'a''b\"c;--'", "'ünï©ødé 🚀'", "repeat('x', 1000000)", "'%s%n%x'", "chr(1)", "'0123456789abcdef'",
        "'ffffffffffffffff'", "'g'"]
NAME = ["NULL", "'embedding'", "'id'", "'label'", "'x'", "'cat'", "'nope'", "'Weird \"Col\" ü'", "''", "'hash'",
        "'sha'", "'taken'", "'emb_text'"]
REL = ["NULL", "'fz_points'", "'fz_points'", "'fz_empty'", "'fz_nan'", "'fz_ragged'", "'fz_nullemb'", "'fz_dupid'",
       "'\"Fz Weird \"\"Tbl\"\" ü\"'", "'fz_view'", "'pg_class'", "'ml.analysis_runs'", "'fz_hashes'", "'fz_drift_a'",
       "'fz_drift_b'", "'fz_private'", "'no_such_table'", "'fz_points; DROP TABLE fz_points'", "'fz_wide'"]
JSONB = ["NULL", "'{}'", "'[]'", "'null'", "'1'", "'\"x\"'", """'{"n_clusters": 3}'""", """'{"n_clusters": -1}'""",
         """'{"n_clusters": 0}'""", """'{"n_clusters": 1e308}'""", """'{"n_clusters": "3"}'""",
         """'{"n_clusters": 100000000}'""", """'{"n_clusters": 2, "random_state": -1}'""", """'{"eps": -1}'""",
         """'{"eps": 1e308}'""", """'{"min_samples": 0}'""", """'{"min_cluster_size": 1}'""", """'{"n_components": 0}'""",
         """'{"n_components": 100000}'""", """'{"perplexity": 0}'""", """'{"perplexity": 1e9}'""",
         """'{"n_neighbors": 1}'""", """'{"n_neighbors": 1000000}'""", """'{"engine": "scan"}'""",
         """'{"engine": "scan", "batch_size": 0}'""", """'{"engine": "bogus"}'""", """'{"engine": "sketch"}'""",
         """'{"columns": {"x": {"method": "bogus"}}}'""", """'{"n_clusters": [2, 5]}'""",
         """'{"n_clusters": {"min": 2, "max": 1000000}}'""", """'{"model_name": "fz''\\"x ü"}'""",
         """'{"model_name": "victim_model", "model_version": "1"}'""", """'{"max_iter": 0}'""",
         """'{"max_iter": 2147483648}'""", """'{"tol": -1}'""", """'{"silhouette_sample_size": 1e12}'""",
         """'{"threshold": "NaN"}'""", """'{"bins": 0}'""", """'{"radius": 64}'""", """'{"radius": -1}'""",
         """'{"n_clusters": 2, "n_init": 1000000}'""", """'{"unknown_key": 1}'""",
         "(SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 10000) i)",
         "(repeat('[', 2000) || repeat(']', 2000))::jsonb"]
REAL_ARR = ["NULL", "'{}'", "'{NaN}'", "'{Infinity,-Infinity}'", "'{1,2}'", "'{1,2,3,4}'", "'{{1,2},{3,4}}'",
            "'{NULL,1}'", "array_fill(1::real, ARRAY[100000])", "array_fill(3e38::real, ARRAY[4])", "'{0,0}'",
            "'{-1,1e-30}'", "'{1,2,3}'", "'[5:6]={1,2}'"]
FLOAT_ARR = REAL_ARR + ["'{1e308,-1e308}'", "(SELECT array_agg(random()) FROM generate_series(1, 1000))",
                        "'{1,1,1,1}'", "'{0,1,2,3,4,5,6,7,8,9}'"]
TEXT_ARR = ["NULL", "'{}'", "'{a,b,a}'", "'{NULL}'", "array_fill('x'::text, ARRAY[100000])", "'{\"\"}'",
            "'{x,\"a b\",ü}'", "'{{a},{b}}'"]
BIGINT_ARR = ["NULL", "'{}'", "'{0,1,2}'", "'{-1}'", "'{NULL}'", "'{9223372036854775807,1}'", "array_fill(0::bigint, ARRAY[100000])"]
INT_ARR = ["NULL", "'{}'", "'{0,1}'", "'{-1}'", "'{NULL}'", "'{0,0}'", "array_fill(0, ARRAY[100000])"]
BYTEA = ["NULL", "''::bytea", "'\\x00'::bytea", "decode(repeat('ff', 100), 'hex')", "'\\x89504e47'::bytea",
         PNG_1x1, PNG_BOMB, "decode(md5('x') || md5('y'), 'hex')", "decode('0011223344556677', 'hex')",
         "'GIF89a'::bytea", "decode(repeat('00', 8), 'hex')"]
BITS = ["NULL", "B''", "B'1'", "B'1010'", "B'1011'", "repeat('1', 64)::varbit", "repeat('1', 10000)::varbit"]
BOOL = ["NULL", "true", "false"]
TSTZ = ["NULL", "'infinity'::timestamptz", "'-infinity'::timestamptz", "now()", "'4713-01-01 BC'::timestamptz",
        "'294276-12-31'::timestamptz"]
DATE = ["NULL", "'infinity'::date", "'-infinity'::date", "'2026-01-01'", "'5874897-12-31'::date", "current_date"]
OID = ["NULL", "0", "'ml.analysis_runs'::regclass::oid", "4294967295"]
CSTRING = ["NULL", "''", "'garbage'", "'{}'", """'{"k": 1, "d": 1000000000}'""", "'[1,2,3]'", "repeat('9', 100000)",
           """'{"k":1,"d":1,"inertia":0,"counts":[1],"sums":[1]}'"""]
STATE = ["NULL", "(SELECT ml.kmeans_step(embedding, '{0,0,1,1}') FROM fz_points)",
         "(SELECT ml.kmeans_step(embedding, '{0,0}') FROM fz_points)", "(SELECT ml.kmeans_step(embedding, '{0,0}') FROM fz_empty)"]
SKETCH = ["NULL", "(SELECT ml.quantile_sketch_agg(x) FROM generate_series(1, 100) x)",
          "(SELECT ml.quantile_sketch_agg(x, 8) FROM generate_series(1, 10000) x)",
          "(SELECT ml.quantile_sketch_agg(x) FROM generate_series(1, 0) x)",
          "(SELECT ml.quantile_sketch_agg('NaN'::float8))"]

POOLS = {
    "double precision": FLOAT, "real": FLOAT, "integer": INT, "bigint": BIGINT, "text": TEXT, "name": NAME,
    "regclass": REL, "jsonb": JSONB, "real[]": REAL_ARR, "double precision[]": FLOAT_ARR, "text[]": TEXT_ARR,
    "integer[]": INT_ARR, "bigint[]": BIGINT_ARR, "bytea": BYTEA, "bit varying": BITS, "boolean": BOOL,
    "timestamp with time zone": TSTZ, "date": DATE, "oid": OID, "cstring": CSTRING,
    "ml.kmeans_state": STATE, "ml.quantile_sketch": SKETCH,
}
# A value of the wrong type, untyped or typed, for any position now and then.
WRONG = ["'not a number'", "'{1,2}'::text", "42::bigint", "'{}'::jsonb", "true", "'x'::bytea", "ARRAY['a']"]

FIXTURES = """
CREATE TABLE fz_points (id int PRIMARY KEY, embedding real[] NOT NULL, label int, x float8, cat text);
INSERT INTO fz_points SELECT i, ARRAY[(i % 3) * 10 + random(), (i % 3) * 5 + random()]::real[], i % 3, i * 1.5, 'c' || (i % 4)
  FROM generate_series(1, 60) i;
CREATE TABLE fz_empty (LIKE fz_points);
CREATE TABLE fz_nan (id int, embedding real[]);
INSERT INTO fz_nan VALUES (1, '{1,2}'), (2, '{NaN,1}'), (3, '{Infinity,1}');
CREATE TABLE fz_ragged (id int, embedding real[]);
INSERT INTO fz_ragged VALUES (1, '{1,2}'), (2, '{1,2,3}'), (3, '{}'), (4, '{{1,2},{3,4}}');
CREATE TABLE fz_nullemb (id int, embedding real[]);
INSERT INTO fz_nullemb VALUES (1, '{1,2}'), (2, NULL), (NULL, '{3,4}');
CREATE TABLE fz_dupid (id int, embedding real[]);
INSERT INTO fz_dupid VALUES (1, '{1,2}'), (1, '{3,4}'), (2, '{5,6}');
CREATE TABLE "Fz Weird ""Tbl"" ü" ("Weird ""Col"" ü" real[], id text, embedding real[]);
INSERT INTO "Fz Weird ""Tbl"" ü" SELECT ARRAY[i, i * 2]::real[], 'ü ''' || i, ARRAY[i, -i]::real[] FROM generate_series(1, 20) i;
CREATE VIEW fz_view AS SELECT id, embedding, label FROM fz_points WHERE id > 10;
CREATE TABLE fz_hashes (id int, hash bigint, sha text, taken timestamptz, embedding real[]);
INSERT INTO fz_hashes SELECT i, (i % 5) * 1234567, md5((i % 7)::text), now() + i * interval '1 second', '{1,1}' FROM generate_series(1, 40) i;
CREATE TABLE fz_drift_a (x float8, cat text, label int, embedding real[]);
INSERT INTO fz_drift_a SELECT random(), 'c' || (i % 3), i % 2, ARRAY[random(), random()] FROM generate_series(1, 200) i;
CREATE TABLE fz_drift_b (x float8, cat text, label int, embedding real[]);
INSERT INTO fz_drift_b SELECT random() + 0.5, 'c' || (i % 4), i % 2, ARRAY[random(), random()] FROM generate_series(1, 200) i;
CREATE TABLE fz_wide (id int, embedding real[]);
INSERT INTO fz_wide SELECT i, array_fill(i::real, ARRAY[2000]) FROM generate_series(1, 30) i;
CREATE TABLE fz_private (id int, embedding real[]);
INSERT INTO fz_private VALUES (1, '{1,2}');
"""


def signatures(c):
    """(name, kind, volatile, returns a set or table, [argument types]) of every function of
    schema ml a role can call with SQL values: trigger functions and functions taking
    `internal` are left out (SQL cannot call them)."""
    return c.execute("""
        SELECT p.proname, p.prokind, p.provolatile = 'v', p.proretset,
               array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t)
          FROM pg_proc p
         WHERE p.pronamespace = 'ml'::regnamespace AND p.prorettype <> 'trigger'::regtype
           AND NOT 'internal'::regtype = ANY (p.proargtypes::oid[])
         ORDER BY 1, 5""").fetchall()


@pytest.fixture(scope="module")
def fuzz_db():
    name = fresh_db("pg_mlkit_fuzz")
    with psycopg.connect(conninfo(name), autocommit=True) as c:
        c.execute(FIXTURES)
        c.execute(f"DROP ROLE IF EXISTS {ROLE}")
        c.execute(f"CREATE ROLE {ROLE}")
        c.execute(f"GRANT USAGE ON SCHEMA ml TO {ROLE}")
        c.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ml TO {ROLE}")
        c.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ROLE}")
        c.execute(f"REVOKE SELECT ON fz_private FROM {ROLE}")
        c.execute(f"SELECT ml.grant_tenant('{ROLE}', '{TENANT}')")
        # Another tenant's run and model, whose ids and names the fuzzer tries.
        c.execute(f"SET app.tenant = '{VICTIM}'")
        c.execute("""SELECT ml.cluster_embeddings('fz_points', params => '{"n_clusters": 3, "random_state": 1}',
                                                 run => '{"model_name": "victim_model"}')""")
        victim_run = c.execute("SELECT max(id) FROM ml.analysis_runs").fetchone()[0]
    yield name, victim_run
    with psycopg.connect(conninfo("postgres"), autocommit=True) as c:
        c.execute(f"DROP DATABASE {name} WITH (FORCE)")
        c.execute(f"DROP ROLE IF EXISTS {ROLE}")


def all_rows(monitor):
    tables = [r[0] for r in monitor.execute(
        "SELECT oid::regclass::text FROM pg_class WHERE relnamespace = 'ml'::regnamespace AND relkind = 'r'")]
    return monitor.execute("SELECT " + " + ".join(f"(SELECT count(*) FROM {t})" for t in tables)).fetchone()[0]


def connect_fuzzer(db):
    c = psycopg.connect(conninfo(db), autocommit=True)
    c.execute(f"SET ROLE {ROLE}")
    c.execute(f"SET app.tenant = '{TENANT}'")
    c.execute("SET statement_timeout = '3s'")
    return c


def calls_for(sig, rng, victim_run, calls=CALLS):
    name, kind, _, retset, types = sig
    pools = [POOLS.get(t, ["NULL"]) for t in types]
    out = []
    # NULL in each position, the others plausible.
    for i in range(len(types)):
        out.append([("NULL" if j == i else p[min(1, len(p) - 1)]) for j, p in enumerate(pools)])
    for _ in range(calls):
        args = [rng.choice(p) for p in pools]
        if args and rng.random() < 0.08:
            args[rng.randrange(len(args))] = rng.choice(WRONG)
        out.append(args)
    if rng.random() < 0.5 and types:  # wrong arity
        out.append([pools[0][-1]] * (len(types) + 1))
    sqls = []
    for args in out:
        args = [a.replace("{victim_run}", str(victim_run)) for a in args]
        call = f"ml.{name}({', '.join(args)})"
        if kind == "a":
            sqls.append(f"SELECT {call} FROM generate_series(1, 3)")
        elif retset:
            sqls.append(f"SELECT * FROM {call}")
        else:
            sqls.append(f"SELECT {call}")
    return sqls


def sweep(db, victim_run, connect, calls, qualify=lambda sql: sql):
    """Calls every function `calls` times (plus the NULL and arity cases) through sessions made
    by `connect(db)`; returns the statistics and every problem found."""
    rng = random.Random(SEED)
    monitor = psycopg.connect(conninfo(db), autocommit=True)
    fuzzer = connect(db)
    sigs = signatures(monitor)
    stats = Counter()
    states = Counter()
    internal, crashes, leaks, hits = [], [], [], []
    started = time.time()
    for sig in sigs:
        volatile = sig[2]
        for sql in calls_for(sig, rng, victim_run, calls):
            sql = qualify(sql)
            before = all_rows(monitor) if volatile else None
            stats["calls"] += 1
            seen = len(getattr(fuzzer, "lookalike_hits", []))
            try:
                fuzzer.execute(sql).fetchall()
                stats["succeeded"] += 1
            except psycopg.OperationalError as e:
                crashes.append((sql[:300], str(e)[:300]))
                fuzzer = connect(db)
                stats["crashes"] += 1
            except psycopg.Error as e:
                stats["failed"] += 1
                code = e.sqlstate or "?????"
                states[code] += 1
                msg = e.diag.message_primary or ""
                if code.startswith("XX") or "panicked" in msg or "unwrap()" in msg:
                    internal.append((sql[:300], code, msg[:300]))
                if volatile and all_rows(monitor) != before:
                    leaks.append(sql[:300])
            new_hits = getattr(fuzzer, "lookalike_hits", [])[seen:]
            if new_hits:
                hits.append((sql[:300], new_hits[:5]))
                fuzzer.lookalike_hits.clear()
                fuzzer.execute("RESET lookalike.hits")
        # Every backend crash also ends the monitor's session: a live monitor means none.
        monitor.execute("SELECT 1")
    elapsed = time.time() - started
    monitor.close()
    fuzzer.close()
    return dict(sigs=len(sigs), stats=stats, states=states, internal=internal, crashes=crashes, leaks=leaks,
                hits=hits, elapsed=elapsed)


def report(r, capsys, what="fuzz sweep"):
    stats = r["stats"]
    with capsys.disabled():
        print(f"\n{what} (seed {SEED}): {r['sigs']} functions, {stats['calls']} calls in {r['elapsed']:.0f} s: "
              f"{stats['succeeded']} succeeded, {stats['failed']} failed with an error, "
              f"{len(r['crashes'])} backend crashes, {len(r['internal'])} internal errors (XX000 or a panic), "
              f"{len(r['leaks'])} failed calls that left rows, {len(r['hits'])} calls that ran a look-alike")
        print("  errors by SQLSTATE: " + ", ".join(f"{k} {v}" for k, v in sorted(r["states"].items())))
        for row in (r["crashes"] + r["internal"] + r["hits"])[:20]:
            print("  ", row)
        for row in r["leaks"][:20]:
            print("   rows left by:", row)
        ran = {}
        for sql, found in r["hits"]:
            fn = re.search(r"ml\.(\w+)\(", sql)
            ran.setdefault(fn.group(1) if fn else sql[:40], set()).update(h.split(" user=")[0].replace("LOOKALIKE-HIT ", "") for h in found)
        for fn, markers in sorted(ran.items()):
            print(f"   look-alikes reached through ml.{fn}: {', '.join(sorted(markers))}")


def test_fuzz_every_function(fuzz_db, capsys):
    db, victim_run = fuzz_db
    r = sweep(db, victim_run, connect_fuzzer, CALLS)
    report(r, capsys)
    assert r["stats"]["calls"] >= 5000
    assert not r["crashes"]
    assert not r["internal"]
    assert not r["leaks"]


# Look-alikes: the same sweep as an ordinary role that planted look-alikes of every name the
# extension's SQL uses (tests/python/security/lookalikes.py) in public and in its pg_temp, with
# search_path = public, pg_catalog. The sweep's own SQL is qualified (qualify_own_sql), so any
# look-alike that runs was reached through the extension.
PLANTED_CALLS = int(os.environ.get("PG_MLKIT_FUZZ_PLANTED_CALLS", "40"))
OWN_FUNCS = r"(?<![\w.])(repeat|array_fill|random|generate_series|decode|md5|chr|now|jsonb_object_agg|array_agg|max|min)\("
OWN_TYPES = r"::(float8|bytea|text|jsonb|varbit|timestamptz|date|regclass|oid|int8|int4)\b"


def qualify_own_sql(sql):
    sql = re.sub(OWN_FUNCS, r"pg_catalog.\1(", sql)
    sql = re.sub(OWN_TYPES, r"::pg_catalog.\1", sql)
    sql = re.sub(r" (\|\||\+|\*|%) ", r" OPERATOR(pg_catalog.\1) ", sql)
    return sql.replace("'pg_class'", "'pg_catalog.pg_class'")


@pytest.fixture(scope="module")
def planted_fuzz_db(fuzz_db):
    from security import lookalikes
    db, victim_run = fuzz_db
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS public.lookalike_hits (marker text, who text, super boolean, at timestamptz DEFAULT clock_timestamp())")
        c.execute("GRANT SELECT, INSERT ON public.lookalike_hits TO PUBLIC")
        c.execute(f"GRANT CREATE ON SCHEMA public TO {ROLE}")
        c.execute("SET search_path = pg_catalog")
        found = lookalikes.names(c)
        public, _ = lookalikes.public_sql(c, found)
        temp = lookalikes.temp_sql(c, found)
        c.execute(f"SET ROLE {ROLE}")
        c.execute("SET search_path = public")
        lookalikes.execute_all(c, public)
    yield db, victim_run, temp
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        c.execute(f"DROP OWNED BY {ROLE}")


def test_fuzz_with_lookalikes_planted(planted_fuzz_db, capsys):
    from security import lookalikes
    from security.conftest import MARKER
    db, victim_run, temp = planted_fuzz_db

    def connect(d):
        c = connect_fuzzer(d)
        c.lookalike_hits = []
        c.add_notice_handler(lambda n: c.lookalike_hits.append(n.message_primary) if MARKER in (n.message_primary or "") else None)
        lookalikes.execute_all(c, temp)
        c.execute("SET search_path = public, pg_catalog")
        return c

    r = sweep(db, victim_run, connect, PLANTED_CALLS, qualify_own_sql)
    report(r, capsys, "fuzz sweep with look-alikes planted")
    assert r["stats"]["calls"] >= 1000
    assert not r["crashes"]
    assert not r["internal"]
    assert not r["hits"], r["hits"][:10]
