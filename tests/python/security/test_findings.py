"""Weaknesses 1-6, 10 and 11 found when 0.2.0 was attacked as an ordinary role, each written
as an attacker with a login would write it (roles in conftest.py: TEMP only, CREATE on public,
GRANT ALL). Each test asserts the secure outcome, so each fails on 0.2.0. Weaknesses 7-9 are
in test_resources.py."""
import re
import subprocess

import psycopg
import pytest

from conftest import BIN, HOST, PORT, conninfo, run
from table_rows import distinct, fill, foreign_keys, insert_sql, tables

from .conftest import ALL, BOB, CREATE, TEMP, Session, drop_db, recorder_sql, rust_sql, server_alive, setup_db, stored_hits

DB = "pg_mlkit_sec_findings"

DATA = """
CREATE TABLE public.points AS
  SELECT i AS id, ARRAY[(i % 3) * 10 + (i % 7) / 7.0, (i % 3) * 5 + (i % 5) / 5.0]::real[] AS embedding
    FROM generate_series(1, 60) i;
GRANT SELECT ON public.points TO PUBLIC;
-- Readable only by the owner (weakness 10).
CREATE TABLE public.secret_points AS
  SELECT i AS id, ARRAY[1000003 * i, -7777777 * (i % 2)]::real[] AS embedding FROM generate_series(1, 60) i;
"""


@pytest.fixture(scope="module")
def fdb():
    setup_db(DB, DATA)
    yield DB
    drop_db(DB)


def attacker(db, role, search_path=None):
    return Session(db, role, search_path)


def owner(db):
    return Session(db, "postgres")


def grant(db, role, tenant):
    """Grants `tenant` to `role` where tenants are bound to roles (0.3.0); 0.2.0 has no grants."""
    with owner(db) as o:
        if o.one("SELECT to_regprocedure('ml.grant_tenant(name, text)') IS NOT NULL"):
            o.execute("SELECT ml.grant_tenant(%s::name, %s)", (role, tenant))


def sql_state(err):
    return err[0] if err else None


# ---------------------------------------------------------------------------------------------
# 1. Code runs as the tables' owner through an ON DELETE SET NULL cascade.

def set_null_fks(c):
    return c.execute("""
        SELECT con.conrelid::regclass::text, a.attname, con.confrelid::regclass::text
          FROM pg_constraint con
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey) AND a.attname <> 'tenant_id'
         WHERE con.contype = 'f' AND con.confdeltype = 'n' AND con.connamespace = 'ml'::regnamespace
         ORDER BY 1, 2""").fetchall()


def plant_temp_types(s):
    """TEMP only: pg_temp domains over the types the trigger bodies declare, and a temp view
    pg_class; each records when it runs."""
    s.execute(recorder_sql("pg_temp"))
    for t in ("text", "jsonb", "name", "oid", "bool", "timestamptz", "regclass"):
        s.execute(f"CREATE DOMAIN pg_temp.{t} AS pg_catalog.{t} CHECK (pg_temp.lk_rec('domain pg_temp.{t}'))")
    s.execute("""CREATE TEMP VIEW pg_class AS SELECT c.oid, c.relname, c.relnamespace, c.relowner, c.relkind
                   FROM pg_catalog.pg_class c WHERE pg_temp.lk_rec('temp view pg_class')""")


def plant_public_functions(s, row_types):
    """CREATE on public: exact-typed public functions the trigger bodies call unqualified, run
    first by a session whose search_path is public, pg_catalog."""
    s.execute(recorder_sql("public"))
    s.execute("""CREATE OR REPLACE FUNCTION public.pg_has_role(n pg_catalog.name, o pg_catalog.oid, m pg_catalog.text) RETURNS pg_catalog.bool
                 LANGUAGE plpgsql AS $$ BEGIN PERFORM public.lk_rec('public.pg_has_role'); RETURN pg_catalog.pg_has_role(n, o, m); END $$""")
    s.execute("""CREATE OR REPLACE FUNCTION public.now() RETURNS pg_catalog.timestamptz
                 LANGUAGE plpgsql AS $$ BEGIN PERFORM public.lk_rec('public.now'); RETURN pg_catalog.now(); END $$""")
    s.execute("""CREATE OR REPLACE FUNCTION public.to_jsonb(a0 pg_catalog.text) RETURNS pg_catalog.jsonb
                 LANGUAGE plpgsql AS $$ BEGIN PERFORM public.lk_rec('public.to_jsonb(text)'); RETURN pg_catalog.to_jsonb(a0); END $$""")
    for t in row_types:
        s.execute(f"""CREATE OR REPLACE FUNCTION public.to_jsonb(a0 {t}) RETURNS pg_catalog.jsonb
                      LANGUAGE plpgsql AS $$ BEGIN PERFORM public.lk_rec('public.to_jsonb({t})'); RETURN pg_catalog.to_jsonb(a0); END $$""")


@pytest.mark.parametrize("role", [TEMP, CREATE])
def test_1_set_null_cascades_run_nothing_planted(fdb, role):
    """Deleting a parent row whose children are SET NULL (the cascade's UPDATE runs as the
    owner of the child table) runs none of the caller's look-alikes, as the owner or at all."""
    tenant = f"t1_{role}"
    grant(fdb, role, tenant)
    with owner(fdb) as o:
        fks = foreign_keys(o.conn)
        snfks = set_null_fks(o.conn)
    parents = {}
    with attacker(fdb, role) as a:
        a.execute(f"SET app.tenant = '{tenant}'")
        fill(a.conn, set(tables(a.conn)))
        for i, (child, col, parent) in enumerate(snfks):
            ptab = parent.split(".")[1]
            pid = a.one(insert_sql(ptab, fks, extra=distinct(ptab, f"p{i}")) + " RETURNING id")
            if child == "ml.model_stage_transitions":  # written by the registry's trigger
                a.execute(f"UPDATE ml.model_registry SET stage = 'staging' WHERE id = {int(pid)}")
            else:
                a.execute(insert_sql(child.split(".")[1], fks, {parent: pid}, distinct(child.split(".")[1], f"c{i}")))
            parents[(child, col, parent)] = pid
    hits = {}
    # A new session: the trigger functions are compiled after the look-alikes exist.
    with attacker(fdb, role, "public, pg_catalog" if role == CREATE else None) as a:
        a.execute(f"SET app.tenant = '{tenant}'")
        if role == TEMP:
            plant_temp_types(a)
        else:
            plant_public_functions(a, sorted({c for c, _, _ in snfks}))
        for fk, pid in parents.items():
            a.notices.clear()
            a.execute("RESET lookalike.hits")
            err = a.error(f"DELETE FROM {fk[2]} WHERE id OPERATOR(pg_catalog.=) {int(pid)}")
            assert sql_state(err) != "XX000", err
            if a.hits():
                hits[fk] = a.hits()
    assert not hits, f"look-alikes ran in SET NULL cascades: {hits}"
    assert not [h for h in stored_hits(fdb) if h[2]], "a look-alike ran as a superuser"


# ---------------------------------------------------------------------------------------------
# 2. Exact-typed public look-alikes of format / to_jsonb / jsonb_build_object run by a superuser.

LOOKALIKES_2 = [
    ("format", ["text", "text", "text", "text", "regclass"]),
    ("format", ["text", "text", "text", "text", "regclass", "text"]),
    ("format", ["text", "text", "text", "regclass"]),
    ("format", ["text", "text"]),
    ("format", ["text", "name", "name"]),
    ("format", ["text", "text", "regclass", "text"]),
    ("format", ["text", "text", "regclass", "text", "text"]),
    ("format", ["text", "text", "double precision", "text", "double precision"]),
    ("format", ["text", "text", "text", "double precision", "text", "double precision"]),
    ("to_jsonb", ["text"]),
    ("jsonb_build_object", ["text", "double precision", "text", "double precision", "text", "jsonb"]),
    ("jsonb_build_object", ["text", "numeric", "text", "double precision", "text", "jsonb"]),
    ("jsonb_build_object", ["text", "bigint", "text", "bigint", "text", "bigint"]),
]


def plant_2(s):
    s.execute(recorder_sql("public"))
    for i, (fn, types) in enumerate(LOOKALIKES_2):
        args = ", ".join(f"a{j} {t}" for j, t in enumerate(types))
        call = ", ".join(f"a{j}" for j in range(len(types)))
        ret = {"format": "text"}.get(fn, "jsonb")
        s.execute(f"""CREATE OR REPLACE FUNCTION public.{fn}({args}) RETURNS pg_catalog.{ret} LANGUAGE plpgsql AS $$
                      BEGIN PERFORM public.lk_rec('public.{fn}({", ".join(types)})'); RETURN pg_catalog.{fn}({call}); END $$""")


def test_2_superuser_runs_no_public_lookalike(fdb):
    with attacker(fdb, CREATE) as a:
        plant_2(a)
        a.execute("INSERT INTO ml.ml_prediction_log (model_name, prediction_value, anomaly_score, response_time_ms, created_at) "
                  "SELECT 'lk_m', i, i / 10.0, i, '2026-03-01 12:00'::timestamptz FROM generate_series(1, 10) i")
    with owner(fdb) as v:  # a superuser with the default search_path
        v.one("SELECT ml.cluster_embeddings('public.points', params => '{\"n_clusters\": 3, \"random_state\": 0}')")
        v.one("SELECT ml.cluster_embeddings('public.points', params => '{\"n_clusters\": 3, \"engine\": \"scan\"}')")
        v.one("SELECT ml.rollup_monitoring('2026-03-01')")  # the nightly job, as the owner
        v.one("SELECT ml.score_drift('public.points', 'public.points')")
        hits = v.hits()
    assert not hits, hits
    assert not stored_hits(fdb)


# ---------------------------------------------------------------------------------------------
# 3. pg_temp.text as a domain over an integer, made mid-call through a temp view pg_attribute.

CRASH_SETUP = """
CREATE TEMP TABLE src ("1" int, "2" real[], "3" boolean);
INSERT INTO src SELECT i, ARRAY[i % 3, i % 5]::real[], i % 2 = 0 FROM generate_series(1, 30) i;
CREATE FUNCTION pg_temp.mk() RETURNS pg_catalog.bool LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF pg_catalog.to_regtype('pg_temp.text') IS NULL THEN
    EXECUTE 'CREATE DOMAIN pg_temp.text AS pg_catalog.{base}';
  END IF;
  RETURN true;
END $$;
CREATE TEMP VIEW pg_attribute AS
  SELECT attrelid, attname, atttypid, atttypmod, attnum, attisdropped, attidentity, attnotnull, attlen, attcollation
    FROM pg_catalog.pg_attribute WHERE pg_temp.mk();
"""

CRASH_CALLS = {
    "cluster": "SELECT ml.cluster_embeddings('src', id_column => '1', embedding_column => '2', params => '{\"n_clusters\": 2}')",
    "scan": "SELECT ml.cluster_embeddings('src', id_column => '1', embedding_column => '2', params => '{\"n_clusters\": 2, \"engine\": \"scan\"}')",
    "drift": "SELECT ml.score_drift('src', 'src', columns => '{3}')",
}


@pytest.mark.parametrize("base", ["int4", "int8"])
@pytest.mark.parametrize("call", sorted(CRASH_CALLS))
def test_3_no_crash_from_a_temp_text_domain(fdb, call, base):
    with owner(fdb) as bystander:
        started = bystander.one("SELECT pg_postmaster_start_time()")
        with attacker(fdb, TEMP) as a:
            a.execute(CRASH_SETUP.replace("{base}", base))
            try:
                err = a.error(CRASH_CALLS[call])
            except psycopg.OperationalError as e:
                err = ("crash", str(e))
        problem = server_alive(fdb, bystander)
    assert problem is None, (problem, err)
    assert err is None or err[0] not in ("XX000", "crash"), err
    with owner(fdb) as o:
        assert o.one("SELECT pg_postmaster_start_time()") == started


# ---------------------------------------------------------------------------------------------
# 4. A temp table pg_class listing every ml table as owned by the caller.

def plant_pg_class(s):
    s.execute("CREATE TEMP TABLE pg_class (oid oid, relowner oid, relname name, relnamespace oid, relkind \"char\")")
    s.execute("""INSERT INTO pg_class SELECT c.oid, (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user),
                                             c.relname, c.relnamespace, c.relkind
                   FROM pg_catalog.pg_class c WHERE c.relnamespace = 'ml'::regnamespace""")


def test_4_truncate_refused_with_a_temp_pg_class(fdb):
    with owner(fdb) as o:
        o.execute("SET app.tenant = 'victim4'")
        o.execute("INSERT INTO ml.analysis_runs (tenant_id, analysis_type) VALUES ('victim4', 'clustering')")
        o.execute("INSERT INTO ml.ml_prediction_log (tenant_id, model_name, prediction_value) VALUES ('victim4', 'm', 1)")
        before = {t: o.one(f"SELECT count(*) FROM ml.{t}") for t in tables(o.conn)}
    refused = {}
    with attacker(fdb, ALL) as a:
        plant_pg_class(a)
        for t in before:
            refused[t] = sql_state(a.error(f"TRUNCATE ml.{t} CASCADE"))
    with owner(fdb) as o:
        after = {t: o.one(f"SELECT count(*) FROM ml.{t}") for t in before}
    assert {t: s for t, s in refused.items() if s != "42501"} == {}, "TRUNCATE not refused"
    assert after == before


def test_4_role_columns_and_audit_with_a_temp_pg_class(fdb):
    grant(fdb, TEMP, "t4")
    with attacker(fdb, TEMP) as a:
        a.execute("SET app.tenant = 't4'")
        plant_pg_class(a)
        mid = a.one("INSERT INTO ml.model_registry (name, version, created_by) VALUES ('f4', '1', 'postgres') RETURNING id")
        a.execute("UPDATE ml.model_registry SET created_by = 'postgres' WHERE id = %s", (mid,))
        forged = {"model_registry.created_by": a.one("SELECT created_by FROM ml.model_registry WHERE id = %s", (mid,))}
        tid = a.one("INSERT INTO ml.training_runs (run_name, created_by) VALUES ('t', 'postgres') RETURNING id")
        forged["training_runs.created_by"] = a.one("SELECT created_by FROM ml.training_runs WHERE id = %s", (tid,))
        i = a.one("INSERT INTO ml.ml_anomaly_alerts (model_name, severity, alert_data, acknowledged_by) "
                  "VALUES ('m', 'low', '{}', 'postgres') RETURNING id")
        forged["ml_anomaly_alerts.acknowledged_by"] = a.one("SELECT acknowledged_by FROM ml.ml_anomaly_alerts WHERE id = %s", (i,))
        i = a.one("INSERT INTO ml.monitoring_alerts (severity, title, acknowledged_by) VALUES ('low', 't', 'postgres') RETURNING id")
        a.execute("UPDATE ml.monitoring_alerts SET acknowledged_by = 'postgres' WHERE id = %s", (i,))
        forged["monitoring_alerts.acknowledged_by"] = a.one("SELECT acknowledged_by FROM ml.monitoring_alerts WHERE id = %s", (i,))
        a.execute("UPDATE ml.model_registry SET stage = 'staging' WHERE id = %s", (mid,))
        audit = {
            "insert": sql_state(a.error(f"INSERT INTO ml.model_stage_transitions (model_id, from_stage, to_stage, changed_by, reason) "
                                        f"VALUES ({mid}, 'staging', 'production', 'cto', 'approved')")),
            "update": sql_state(a.error(f"UPDATE ml.model_stage_transitions SET changed_by = 'cto' WHERE model_id = {mid}")),
            "delete": sql_state(a.error(f"DELETE FROM ml.model_stage_transitions WHERE model_id = {mid}")),
        }
    assert {k: v for k, v in forged.items() if v != TEMP} == {}, "role columns forged"
    assert audit == {"insert": "42501", "update": "42501", "delete": "42501"}, audit
    with owner(fdb) as o:
        assert o.execute("SELECT from_stage, to_stage, changed_by FROM ml.model_stage_transitions WHERE model_id = %s",
                         (mid,)).fetchall() == [("none", "staging", TEMP)]


def test_4_no_trigger_or_foreign_key_on_ml_tables_by_a_granted_role(fdb):
    """GRANT ALL includes TRIGGER and REFERENCES: a trigger on an ml table would run as every
    role that writes it (the extension's functions, the owner's jobs, a restoring superuser),
    and a foreign key into one is checked as its owner, across tenants. Both are refused."""
    grant(fdb, ALL, "t4b")
    with owner(fdb) as o:
        o.execute("SET app.tenant = 'victim4b'")
        victim = o.one("INSERT INTO ml.analysis_runs (tenant_id, analysis_type) VALUES ('victim4b', 'clustering') RETURNING id")
        # A schema of its own, so that its tables may refer to ml's (a temporary one may not).
        o.execute("DROP SCHEMA IF EXISTS sec_all_own CASCADE")
        o.execute(f"CREATE SCHEMA sec_all_own AUTHORIZATION {ALL}")
    with attacker(fdb, ALL) as a:
        a.execute("SET app.tenant = 't4b'")
        a.execute("CREATE FUNCTION pg_temp.spy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
        trig = a.error("CREATE TRIGGER spy BEFORE INSERT ON ml.ml_prediction_log FOR EACH ROW EXECUTE FUNCTION pg_temp.spy()")
        fk = a.error("CREATE TABLE sec_all_own.probe (t text, r bigint, FOREIGN KEY (t, r) REFERENCES ml.analysis_runs (tenant_id, id))")
        a.execute("CREATE TABLE sec_all_own.probe2 (t text, r bigint)")
        fk_alter = a.error("ALTER TABLE sec_all_own.probe2 ADD FOREIGN KEY (t, r) REFERENCES ml.analysis_runs (tenant_id, id)")
        # Its own tables may still refer to each other.
        a.execute("CREATE TABLE sec_all_own.parent (id int PRIMARY KEY)")
        a.execute("CREATE TABLE sec_all_own.child (id int REFERENCES sec_all_own.parent)")
    assert sql_state(trig) == "42501", trig
    assert sql_state(fk) == "42501", fk
    assert sql_state(fk_alter) == "42501", fk_alter
    with owner(fdb) as o:
        assert o.one("SELECT count(*) FROM pg_trigger WHERE tgname = 'spy'") == 0
        assert o.one("SELECT count(*) FROM pg_constraint WHERE confrelid = 'ml.analysis_runs'::regclass "
                     "AND connamespace = 'sec_all_own'::regnamespace") == 0
        o.execute("DROP SCHEMA sec_all_own CASCADE")
        assert o.one("SELECT count(*) FROM ml.analysis_runs WHERE id = %s AND tenant_id = 'victim4b'", (victim,)) == 1


# ---------------------------------------------------------------------------------------------
# 5. The stage audit forged from a trigger on the caller's own temp table.

def test_5_audit_not_forged_from_a_temp_trigger(fdb):
    grant(fdb, TEMP, "t5")
    with attacker(fdb, TEMP) as a:
        a.execute("SET app.tenant = 't5'")
        mid = a.one("INSERT INTO ml.model_registry (name, version) VALUES ('f5', '1') RETURNING id")
        a.execute("UPDATE ml.model_registry SET stage = 'production' WHERE id = %s", (mid,))
        a.execute("CREATE TEMP TABLE relay (model_id bigint)")
        a.execute("""CREATE FUNCTION pg_temp.forge() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                       INSERT INTO ml.model_stage_transitions (model_id, from_stage, to_stage, changed_by, reason, model_name, model_version)
                       VALUES (NEW.model_id, 'staging', 'production', 'cto', 'approved by the CTO', 'f5', '1');
                       RETURN NEW;
                     END $$""")
        a.execute("CREATE TRIGGER relay_forge AFTER INSERT ON relay FOR EACH ROW EXECUTE FUNCTION pg_temp.forge()")
        err = a.error("INSERT INTO relay VALUES (%s)", (mid,))
    assert sql_state(err) == "42501", err
    with owner(fdb) as o:
        rows = o.execute("SELECT from_stage, to_stage, reason FROM ml.model_stage_transitions WHERE model_id = %s", (mid,)).fetchall()
    assert rows == [("none", "production", None)], rows


# ---------------------------------------------------------------------------------------------
# 6. Tenants bound to roles.

ACME_SETUP = """
SET app.tenant = 'acme';
SELECT ml.cluster_embeddings('public.points', params => '{"n_clusters": 3, "random_state": 0}',
                             run => '{"model_name": "acme_model"}');
INSERT INTO ml.model_registry (name, version) VALUES ('acme_plain', '1');
RESET app.tenant;
"""


def acme_checks(b):
    """What a session of tenant acme attempts: each refused (42501) for a role not granted it."""
    out = {}
    out["current_tenant"] = sql_state(b.error("SELECT ml.current_tenant()"))
    for t in ("analysis_runs", "model_registry", "cluster_assignments"):
        out[f"select {t}"] = sql_state(b.error(f"SELECT count(*) FROM ml.{t}"))
    out["predict"] = sql_state(b.error("SELECT * FROM ml.predict_cluster('acme_model', '{1,2}')"))
    out["insert"] = sql_state(b.error("INSERT INTO ml.model_registry (name, version) VALUES ('bob', '1')"))
    out["update"] = sql_state(b.error("UPDATE ml.model_registry SET description = 'bob'"))
    out["delete"] = sql_state(b.error("DELETE FROM ml.model_registry"))
    out["cluster"] = sql_state(b.error("SELECT ml.cluster_embeddings('public.points', params => '{\"n_clusters\": 2}')"))
    return out


def acme_rows(db):
    with owner(db) as o:
        return o.execute("SELECT count(*), string_agg(description, ',') FROM ml.model_registry WHERE tenant_id = 'acme'").fetchone()


@pytest.fixture(scope="module")
def acme(fdb):
    with owner(fdb) as o:
        o.execute(ACME_SETUP)
    return fdb


@pytest.mark.parametrize("role", [TEMP, CREATE, ALL])
def test_6_tenant_not_granted_is_refused(acme, role):
    before = acme_rows(acme)
    with attacker(acme, role) as b:
        b.execute("SET app.tenant = 'acme'")
        got = acme_checks(b)
    assert got == {k: "42501" for k in got}, got
    # ALTER ROLE ... SET app.tenant is a default, not a grant.
    with owner(acme) as o:
        o.execute(f"ALTER ROLE {role} IN DATABASE {acme} SET app.tenant = 'acme'")
    try:
        with attacker(acme, role) as b:
            assert sql_state(b.error("SELECT count(*) FROM ml.analysis_runs")) == "42501"
    finally:
        with owner(acme) as o:
            o.execute(f"ALTER ROLE {role} IN DATABASE {acme} RESET app.tenant")
    assert acme_rows(acme) == before


def test_6_grant_and_revoke(acme):
    with owner(acme) as o:
        o.execute("DROP ROLE IF EXISTS sec_acme_team")
        o.execute("CREATE ROLE sec_acme_team")
        o.execute(f"GRANT sec_acme_team TO {CREATE}")
        o.one("SELECT ml.grant_tenant('sec_bob', 'acme')")
        o.one("SELECT ml.grant_tenant('sec_acme_team'::regrole, 'acme')")
    try:
        with attacker(acme, BOB) as b:
            b.execute("SET app.tenant = 'acme'")
            assert b.one("SELECT ml.current_tenant()") == "acme"
            assert b.one("SELECT count(*) FROM ml.model_registry WHERE name = 'acme_plain'") == 1
            assert b.execute("SELECT * FROM ml.predict_cluster('acme_model', '{1,2}')").fetchall()
            grants = b.execute("SELECT role, tenant FROM ml.tenant_grants").fetchall()
            assert (BOB, "acme") in grants and ("PUBLIC", "default") in grants, grants
            # Only the owner grants.
            assert sql_state(b.error(f"SELECT ml.grant_tenant('{TEMP}', 'acme')")) == "42501"
            assert sql_state(b.error(f"SELECT ml.revoke_tenant('{BOB}', 'acme')")) == "42501"
        with attacker(acme, CREATE) as m:  # through membership
            m.execute("SET app.tenant = 'acme'")
            assert m.one("SELECT count(*) FROM ml.model_registry WHERE name = 'acme_plain'") == 1
        with attacker(acme, TEMP) as t:  # still not granted
            t.execute("SET app.tenant = 'acme'")
            assert sql_state(t.error("SELECT count(*) FROM ml.model_registry")) == "42501"
        with owner(acme) as o:
            o.one("SELECT ml.revoke_tenant('sec_bob', 'acme')")
        with attacker(acme, BOB) as b:
            b.execute("SET app.tenant = 'acme'")
            got = acme_checks(b)
            assert got == {k: "42501" for k in got}, got
    finally:
        with owner(acme) as o:
            for r in ("sec_bob", "sec_acme_team"):
                o.error(f"SELECT ml.revoke_tenant('{r}', 'acme')")
            o.execute("DROP ROLE IF EXISTS sec_acme_team")


def test_6_default_for_everyone_until_revoked(tmp_path):
    db = setup_db("pg_mlkit_sec_default")
    dst = "pg_mlkit_sec_default_restored"
    try:
        with attacker(db, TEMP) as t:  # a fresh install: 'default' works for any role
            assert t.one("SELECT ml.current_tenant()") == "default"
            t.execute("INSERT INTO ml.model_registry (name, version) VALUES ('d', '1')")
        with owner(db) as o:
            o.one("SELECT ml.grant_tenant('sec_bob', 'acme')")
            o.one("SELECT ml.revoke_tenant('public', 'default')")
            grants = sorted(o.execute("SELECT role, tenant FROM ml.tenant_grants").fetchall())
        assert grants == [(BOB, "acme")], grants
        with attacker(db, TEMP) as t:
            assert sql_state(t.error("SELECT count(*) FROM ml.model_registry")) == "42501"
            assert sql_state(t.error("SELECT ml.current_tenant()")) == "42501"
        # Grants, and the revocation of the built-in one, survive pg_dump / pg_restore.
        dump = tmp_path / "grants.dump"
        run("pg_dump", "-Fc", "-f", str(dump), db)
        run("dropdb", "--if-exists", dst)
        run("createdb", dst)
        run("pg_restore", "--exit-on-error", "-d", dst, str(dump))
        with owner(dst) as o:
            assert sorted(o.execute("SELECT role, tenant FROM ml.tenant_grants").fetchall()) == grants
        with attacker(dst, TEMP) as t:
            assert sql_state(t.error("SELECT count(*) FROM ml.model_registry")) == "42501"
        with attacker(dst, BOB) as b:
            b.execute("SET app.tenant = 'acme'")
            assert b.one("SELECT ml.current_tenant()") == "acme"
            assert sql_state(b.error("SELECT count(*) FROM ml.model_registry")) is None
    finally:
        drop_db(db)
        drop_db(dst)


# ---------------------------------------------------------------------------------------------
# 10. A run row's source steers the owner's ml.plot_run.

def test_10_plot_run_does_not_follow_a_planted_source(fdb):
    with attacker(fdb, TEMP) as a:
        run_id = a.one("SELECT ml.cluster_embeddings('public.points', params => '{\"n_clusters\": 3, \"random_state\": 0}')")
        assert sql_state(a.error("SELECT count(*) FROM public.secret_points")) == "42501"
        a.execute("UPDATE ml.analysis_runs SET source = 'public.secret_points' WHERE id = %s", (run_id,))

    def plot():
        with psycopg.connect(conninfo(fdb)) as c:  # one transaction: the scan counters are this transaction's
            scans0 = c.execute("SELECT pg_stat_get_xact_numscans('public.secret_points'::regclass)").fetchone()[0]
            try:
                svg = c.execute("SELECT ml.plot_run(%s)", (run_id,)).fetchone()[0]
                err = None
            except psycopg.Error as e:
                c.rollback()
                return None, (e.sqlstate, e.diag.message_primary), 0
            scans = c.execute("SELECT pg_stat_get_xact_numscans('public.secret_points'::regclass)").fetchone()[0] - scans0
            c.rollback()
            return svg, err, scans

    svg1, err1, scans1 = plot()
    with owner(fdb) as o:  # change the secret: a plot that read it changes too
        o.execute("UPDATE public.secret_points SET embedding = ARRAY[-embedding[2] * 3, embedding[1] + id * id]::real[]")
    svg2, err2, scans2 = plot()
    assert scans1 == 0 and scans2 == 0, "ml.plot_run read public.secret_points"
    if err1 or err2:
        assert err1 and err2 and "XX" not in (err1[0][:2], err2[0][:2]), (err1, err2)
    else:
        assert svg1 == svg2, "the plot depends on public.secret_points"


# ---------------------------------------------------------------------------------------------
# 11. Internal aliases collide with user column names.

SQL_WORDS = {"select", "from", "where", "and", "or", "not", "on", "as", "join", "left", "group", "order", "by",
             "limit", "with", "ordinality", "null", "is", "in", "case", "when", "then", "else", "end", "true",
             "false", "lateral", "distinct", "union", "all", "exists", "values", "returning", "into", "set",
             "id", "embedding", "only", "using", "cross", "inner", "having", "asc", "desc", "filter", "over"}


def internal_aliases():
    """Relation and column aliases of the SQL the Rust code builds (`AS x`, `FROM rel x`,
    `AS u(a, b)`), read out of src/*.rs, plus common one-letter and short aliases."""
    found = {"c", "s", "q", "u", "v", "n", "a", "b", "t", "x", "r", "e", "o", "centres", "d", "f", "sev", "i", "l", "p", "k"}
    for s in rust_sql():
        s = re.sub(r"\{[^}]*\}", " rel ", s)
        found.update(m.lower() for m in re.findall(r"\bAS\s+([A-Za-z_]\w*)", s, re.I))
        found.update(m.lower() for m in re.findall(r"\b(?:FROM|JOIN)\s+[\w.$]+(?:\([^)]*\))?\s+(?:AS\s+)?([A-Za-z_]\w*)", s, re.I))
        for cols in re.findall(r"\bAS\s+\w+\s*\(([^)]*)\)", s, re.I):
            found.update(c.strip().lower() for c in cols.split(",") if c.strip())
    return sorted(w for w in found if re.fullmatch(r"[a-z_]\w*", w) and w not in SQL_WORDS)


def test_11_sources_with_columns_named_like_internal_aliases(fdb):
    aliases = internal_aliases()
    assert "c" in aliases and len(aliases) > 10, aliases
    extra = ", ".join(f'(i % {k + 2})::real AS "{w}"' for k, w in enumerate(aliases))
    # Hashes for the near-duplicate grouping: a few groups of close hashes.
    grant(fdb, TEMP, "t11")
    with attacker(fdb, TEMP) as a:
        a.execute("SET app.tenant = 't11'")
        a.execute("CREATE TEMP TABLE plain AS SELECT id, embedding, (id / 4) * 65536 + (id % 4) AS phash FROM public.points")
        a.execute(f"CREATE TEMP TABLE aliased AS SELECT id, embedding, (id / 4) * 65536 + (id % 4) AS phash, {extra} "
                  "FROM public.points, LATERAL (SELECT id AS i) g")
        failures = {}

        def labels(src, engine, emb="embedding", idc="id"):
            params = f'{{"n_clusters": 3, "random_state": 0, "engine": "{engine}"}}'
            err = a.error(f"SELECT ml.cluster_embeddings('{src}', embedding_column => '{emb}', id_column => '{idc}', params => '{params}')")
            if err:
                return err
            rid = a.one("SELECT max(id) FROM ml.analysis_runs")
            return a.execute("SELECT item_id, cluster FROM ml.cluster_assignments WHERE run_id = %s ORDER BY item_id", (rid,)).fetchall()

        for engine in ("memory", "scan"):
            want = labels("plain", engine)
            assert isinstance(want, list) and want, want
            if labels("aliased", engine) != want:
                failures[f"{engine}, extra columns"] = labels("aliased", engine)
            # id and embedding columns themselves named after aliases
            for emb, idc in (("c", "s"), ("s", "c"), ("q", "e"), ("v", "n"), ("centres", "u")):
                a.execute(f'DROP TABLE IF EXISTS pg_temp.renamed')
                a.execute(f'CREATE TEMP TABLE renamed AS SELECT embedding AS "{emb}", id AS "{idc}" FROM plain')
                got = labels("renamed", engine, emb, idc)
                if got != want:
                    failures[f"{engine}, embedding {emb}, id {idc}"] = got if not isinstance(got, list) else "other labels"
        # Drift and near-duplicates on the same sources.
        cols = "'{" + ",".join(aliases) + "}'"
        err = a.error(f"SELECT ml.score_drift('aliased', 'aliased', columns => {cols})")
        if err:
            failures["score_drift"] = err
        else:
            stats = a.execute("SELECT feature_name, statistic FROM ml.data_drift WHERE run_id = (SELECT max(id) FROM ml.analysis_runs) "
                              "ORDER BY 1").fetchall()
            if [s for s in stats if s[1] != 0] or len(stats) != len(aliases):
                failures["score_drift stats"] = stats
        want = a.error("SELECT ml.group_near_duplicates('plain', params => '{\"radius\": 2}')")
        wrun = a.one("SELECT max(id) FROM ml.analysis_runs")
        got = a.error("SELECT ml.group_near_duplicates('aliased', params => '{\"radius\": 2}')")
        grun = a.one("SELECT max(id) FROM ml.analysis_runs")
        if want or got:
            failures["group_near_duplicates"] = (want, got)
        else:
            q = "SELECT item_id, similar_group_id FROM ml.duplicate_assignments WHERE run_id = %s ORDER BY 1"
            if a.execute(q, (wrun,)).fetchall() != a.execute(q, (grun,)).fetchall():
                failures["group_near_duplicates"] = "other groups"
    assert not failures, failures
