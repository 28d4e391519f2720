"""Tenants sealed table by table with two ordinary roles, the append-only stage
audit, role columns that cannot be forged, pg_mlkit.require_tenant, the limits only a superuser
raises, the reserved prefix, and 53200 for a plan the server cannot allocate."""
import os
import re
import subprocess

import psycopg
import pytest

from conftest import conninfo, fresh_db
from table_rows import ROWS, distinct, fill, foreign_keys, insert_sql, tables

A, B = ("mlkit_tenant_a", "acme"), ("mlkit_tenant_b", "globex")


@pytest.fixture(scope="module")
def sealed():
    name = fresh_db("pg_mlkit_tenants")
    with psycopg.connect(conninfo(name), autocommit=True) as c:
        for role, _ in (A, B):
            c.execute(f"DROP ROLE IF EXISTS {role}")
            c.execute(f"CREATE ROLE {role}")
            c.execute(f"GRANT USAGE ON SCHEMA ml TO {role}")
            c.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA ml TO {role}")
        for role, tenant in (A, B):
            c.execute(f"SELECT ml.grant_tenant('{role}', '{tenant}')")
            c.execute(f"SET ROLE {role}")
            c.execute(f"SET app.tenant = '{tenant}'")
            fill(c, set(tables(c)))
            c.execute("RESET ROLE")
    yield name
    with psycopg.connect(conninfo("postgres"), autocommit=True) as c:
        c.execute(f"DROP DATABASE {name}")
        for role, _ in (A, B):
            c.execute(f"DROP ROLE IF EXISTS {role}")


def session(db, who):
    c = psycopg.connect(conninfo(db), autocommit=True)
    c.execute(f"SET ROLE {who[0]}")
    c.execute(f"SET app.tenant = '{who[1]}'")
    return c


def error_of(c, sql):
    try:
        c.execute(sql)
    except psycopg.Error as e:
        return e.sqlstate, re.sub(r"\d+", "N", e.diag.message_primary or "")
    return None


def counts(db):
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        # ml.tenant_access says who may use which tenant: it holds no tenant's rows.
        return {t: c.execute(f"SELECT tenant_id, count(*) FROM ml.{t} GROUP BY 1 ORDER BY 1").fetchall()
                for t in tables(c) if t != "tenant_access"}


@pytest.fixture(scope="module")
def fks(sealed):
    with psycopg.connect(conninfo(sealed), autocommit=True) as c:
        return foreign_keys(c)


@pytest.mark.parametrize("child", [t for t, row in ROWS.items() if row is not None])
def test_b_cannot_probe_or_attach_to_a(sealed, fks, child):
    """For every foreign key of the table: tenant B naming tenant A's parent gets exactly the
    error of a parent that does not exist, and nothing is attached."""
    mine = [(col, parent) for t, col, parent in fks if t == f"ml.{child}"]
    if not mine:
        pytest.skip(f"ml.{child} refers to no other table")
    before = counts(sealed)
    for col, parent in mine:
        with psycopg.connect(conninfo(sealed), autocommit=True) as owner:
            a_id = owner.execute(f"SELECT max(id) FROM {parent} WHERE tenant_id = %s", (A[1],)).fetchone()[0]
            missing = owner.execute(f"SELECT max(id) + 1000000 FROM {parent}").fetchone()[0]
        assert a_id is not None
        with session(sealed, B) as b:
            on_a = error_of(b, insert_sql(child, fks, {parent: a_id}, distinct(child, "probe")))
            on_none = error_of(b, insert_sql(child, fks, {parent: missing}, distinct(child, "probe")))
        assert on_a is not None and on_a[0] == "23503", (col, on_a)
        assert on_a == on_none, col
    assert counts(sealed) == before


@pytest.mark.parametrize("table", [t for t, row in ROWS.items() if row is not None])
def test_b_cannot_see_change_or_block_a(sealed, fks, table):
    """Per table: B sees none of A's rows, its UPDATE and DELETE reach none of them, and a row
    B writes with A's id (and A's names) does not collide with A's rows or A's next insert."""
    before = counts(sealed)
    a_rows = dict(before[table]).get(A[1], 0)
    assert a_rows > 0
    with psycopg.connect(conninfo(sealed), autocommit=True) as owner:
        has_id = owner.execute("SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'id')",
                               (f"ml.{table}",)).fetchone()[0]
        a_next = owner.execute(f"SELECT max(id) + 1 FROM ml.{table}").fetchone()[0] if has_id else None
        a_max = owner.execute(f"SELECT max(id) FROM ml.{table} WHERE tenant_id = %s", (A[1],)).fetchone()[0] if has_id else None
    with session(sealed, B) as b:
        assert b.execute(f"SELECT count(*) FROM ml.{table} WHERE tenant_id = %s", (A[1],)).fetchone()[0] == 0
        b.execute(f"UPDATE ml.{table} SET tenant_id = tenant_id")
        b.execute(f"DELETE FROM ml.{table} WHERE tenant_id = %s", (A[1],))
        # TRUNCATE would bypass row-level security: refused even with the privilege.
        assert error_of(b, f"TRUNCATE ml.{table} CASCADE")[0] == "42501"
        if has_id:
            # B takes A's existing id and the id A's next insert would get, with A's names.
            for explicit in (a_max, a_next):
                b.execute(insert_sql(table, fks, extra={"id": str(explicit), **distinct(table, f"b{explicit}")}))
    with session(sealed, A) as a:
        a.execute(insert_sql(table, fks, extra=distinct(table, "a")))
    after = counts(sealed)
    assert dict(after[table]).get(A[1], 0) == a_rows + 1


def test_cascades_stay_in_the_tenant(sealed):
    """B's run and model that share A's ids keep their children when A deletes its own."""
    with psycopg.connect(conninfo(sealed), autocommit=True) as owner:
        run_id = owner.execute("SELECT ml.load_analysis_run('clustering')").fetchone()[0]  # tenant default
        owner.execute("DELETE FROM ml.analysis_runs WHERE id = %s", (run_id,))
    with session(sealed, A) as a:
        run_a = a.execute("INSERT INTO ml.analysis_runs (analysis_type) VALUES ('clustering') RETURNING id").fetchone()[0]
        a.execute("INSERT INTO ml.cluster_assignments (run_id, item_id, cluster) VALUES (%s, 'x', 0)", (run_a,))
        model_a = a.execute("INSERT INTO ml.model_registry (name, version) VALUES ('casc', '1') RETURNING id").fetchone()[0]
    with session(sealed, B) as b:
        b.execute("INSERT INTO ml.analysis_runs (id, analysis_type) VALUES (%s, 'clustering')", (run_a,))
        b.execute("INSERT INTO ml.cluster_assignments (run_id, item_id, cluster) VALUES (%s, 'x', 0)", (run_a,))
        b.execute("INSERT INTO ml.model_registry (id, name, version) VALUES (%s, 'casc', '1')", (model_a,))
        b.execute("INSERT INTO ml.training_runs (model_id, run_name) VALUES (%s, 'keeps its model')", (model_a,))
    with session(sealed, A) as a:
        a.execute("DELETE FROM ml.analysis_runs WHERE id = %s", (run_a,))
        a.execute("DELETE FROM ml.model_registry WHERE id = %s", (model_a,))
    with session(sealed, B) as b:
        assert b.execute("SELECT count(*) FROM ml.cluster_assignments WHERE run_id = %s", (run_a,)).fetchone()[0] == 1
        assert b.execute("SELECT model_id FROM ml.training_runs WHERE run_name = 'keeps its model'").fetchone()[0] == model_a


def test_functions_do_not_reveal_other_tenants(sealed):
    """pg_mlkit's functions, given tenant A's run id or model name in a session of tenant B,
    fail exactly as for an id or name that does not exist."""
    with session(sealed, A) as a:
        a.execute("CREATE TEMP TABLE pts AS SELECT i AS id, ARRAY[i % 3, i % 5]::real[] AS embedding FROM generate_series(1, 30) i")
        run = a.execute("""SELECT ml.cluster_embeddings('pts', params => '{"n_clusters": 2, "random_state": 0}',
                                                       run => '{"model_name": "secret_model"}')""").fetchone()[0]
    with session(sealed, B) as b:
        for template in ("SELECT ml.plot_run({run})", "SELECT * FROM ml.predict_cluster({model}, '{{1,2}}')",
                         "SELECT * FROM ml.predict_cluster({model}, '{{1,2}}', version => {version})"):
            real = error_of(b, template.format(run=run, model="'secret_model'", version="'1'"))
            fake = error_of(b, template.format(run=run + 100000, model="'no_such_model'", version="'999'"))
            assert real is not None and real[0] == fake[0], (template, real, fake)
            assert real[1].replace("secret_model", "X").replace("'1'", "'V'") == \
                fake[1].replace("no_such_model", "X").replace("'999'", "'V'"), (real, fake)


def test_stage_audit_is_append_only(sealed):
    with session(sealed, A) as a:
        mid = a.execute("INSERT INTO ml.model_registry (name, version) VALUES ('audited', '1') RETURNING id").fetchone()[0]
        a.execute("UPDATE ml.model_registry SET stage = 'staging' WHERE id = %s", (mid,))
        row = a.execute("SELECT changed_by, from_stage, to_stage, model_name FROM ml.model_stage_transitions WHERE model_id = %s",
                        (mid,)).fetchone()
        assert row == (A[0], "none", "staging", "audited")
        for sql in (f"INSERT INTO ml.model_stage_transitions (model_id, to_stage, changed_by) VALUES ({mid}, 'staging', 'someone')",
                    f"UPDATE ml.model_stage_transitions SET changed_by = 'someone' WHERE model_id = {mid}",
                    f"DELETE FROM ml.model_stage_transitions WHERE model_id = {mid}",
                    "TRUNCATE ml.model_stage_transitions"):
            assert error_of(a, sql)[0] == "42501", sql
        # Deleting the model keeps its audit (model_id set to NULL, the name kept).
        a.execute("DELETE FROM ml.model_registry WHERE id = %s", (mid,))
        assert a.execute("SELECT count(*) FROM ml.model_stage_transitions WHERE model_name = 'audited' AND model_id IS NULL").fetchone()[0] == 1
    with psycopg.connect(conninfo(sealed), autocommit=True) as owner:  # the owner may
        owner.execute("DELETE FROM ml.model_stage_transitions WHERE model_name = 'audited'")


def test_role_columns_cannot_be_forged(sealed):
    with session(sealed, A) as a:
        mid = a.execute("INSERT INTO ml.model_registry (name, version, created_by) VALUES ('forged', '1', 'postgres') RETURNING id").fetchone()[0]
        a.execute("UPDATE ml.model_registry SET created_by = 'postgres' WHERE id = %s", (mid,))
        assert a.execute("SELECT created_by FROM ml.model_registry WHERE id = %s", (mid,)).fetchone()[0] == A[0]
        tid = a.execute("INSERT INTO ml.training_runs (run_name, created_by) VALUES ('t', 'postgres') RETURNING id").fetchone()[0]
        assert a.execute("SELECT created_by FROM ml.training_runs WHERE id = %s", (tid,)).fetchone()[0] == A[0]
        for table, cols in (("ml_anomaly_alerts", "model_name, severity, alert_data, acknowledged_by"),
                            ("monitoring_alerts", "severity, title, acknowledged_by")):
            vals = "'m', 'low', '{}', 'postgres'" if table == "ml_anomaly_alerts" else "'low', 't', 'postgres'"
            i = a.execute(f"INSERT INTO ml.{table} ({cols}) VALUES ({vals}) RETURNING id").fetchone()[0]
            assert a.execute(f"SELECT acknowledged_by FROM ml.{table} WHERE id = %s", (i,)).fetchone()[0] == A[0]
            a.execute(f"UPDATE ml.{table} SET acknowledged_by = NULL WHERE id = %s", (i,))
            a.execute(f"UPDATE ml.{table} SET acknowledged_by = 'postgres' WHERE id = %s", (i,))
            assert a.execute(f"SELECT acknowledged_by FROM ml.{table} WHERE id = %s", (i,)).fetchone()[0] == A[0]


def test_require_tenant(sealed):
    with psycopg.connect(conninfo(sealed), autocommit=True) as c:
        c.execute("LOAD 'pg_mlkit'")
        c.execute("SET pg_mlkit.require_tenant = on")  # a superuser may
        c.execute(f"SET ROLE {A[0]}")
        assert error_of(c, "SET pg_mlkit.require_tenant = off")[0] == "42501"
        err = error_of(c, "SELECT count(*) FROM ml.analysis_runs")
        assert err[0] == "42501" and "app.tenant" in err[1]
        assert error_of(c, "SELECT ml.load_analysis_run('clustering')")[0] == "42501"
        c.execute("SET app.tenant = 'acme'")
        assert c.execute("SELECT count(*) > 0 FROM ml.analysis_runs").fetchone()[0]


def test_require_tenant_from_the_server_cannot_be_dodged(sealed):
    """Set in the server's configuration, it holds even for a session that sets the setting
    before anything loaded the library (the value would otherwise be a placeholder)."""
    with psycopg.connect(conninfo("postgres"), autocommit=True) as su:
        su.execute("LOAD 'pg_mlkit'")
        su.execute("ALTER SYSTEM SET pg_mlkit.require_tenant = on")
        su.execute("SELECT pg_reload_conf()")
    try:
        with psycopg.connect(conninfo(sealed), autocommit=True) as c:
            c.execute(f"SET ROLE {A[0]}")
            try:
                c.execute("SET pg_mlkit.require_tenant = off")
            except psycopg.Error as e:
                assert e.sqlstate == "42501"
            err = error_of(c, "SELECT count(*) FROM ml.analysis_runs")
            assert err is not None and err[0] == "42501"
    finally:
        with psycopg.connect(conninfo("postgres"), autocommit=True) as su:
            su.execute("ALTER SYSTEM RESET pg_mlkit.require_tenant")
            su.execute("SELECT pg_reload_conf()")


def test_limits_only_a_superuser_raises(sealed):
    with psycopg.connect(conninfo(sealed), autocommit=True) as c:
        # Before the library is loaded the value is a placeholder; loading it applies the
        # rule (with a WARNING), so the raise does not take.
        c.execute(f"SET ROLE {A[0]}")
        c.execute("SET pg_mlkit.max_memory_mb = 1000000")
        c.execute("SET app.tenant = 'acme'")
        c.execute("SELECT ml.current_tenant()")  # loads the library
        assert c.execute("SELECT current_setting('pg_mlkit.max_memory_mb')").fetchone()[0] != "1000000MB"
    with psycopg.connect(conninfo(sealed), autocommit=True) as c:
        c.execute("LOAD 'pg_mlkit'")
        c.execute(f"SET ROLE {A[0]}")
        c.execute("SET pg_mlkit.max_memory_mb = 64")  # lowering is fine
        c.execute("SET pg_mlkit.max_memory_mb = 128")  # and raising back up to the ceiling
        err = error_of(c, "SET pg_mlkit.max_memory_mb = 1000000")
        assert err[0] == "42501", err
        assert error_of(c, "SELECT set_config('pg_mlkit.max_memory_mb', '1000000', false)")[0] == "42501"
        c.execute("SET pg_mlkit.threads = 1")
        assert error_of(c, "SET pg_mlkit.threads = 1000")[0] == "42501"
        assert error_of(c, f"ALTER ROLE {A[0]} SET pg_mlkit.max_memory_mb = 1000000") is not None
        c.execute("RESET ROLE")
        c.execute("SET pg_mlkit.max_memory_mb = 1000000")  # a superuser may
        c.execute("SET pg_mlkit.threads = 1000")
        c.execute(f"GRANT SET ON PARAMETER pg_mlkit.max_memory_mb TO {A[0]}")
        try:
            c.execute(f"SET ROLE {A[0]}")
            c.execute("SET pg_mlkit.max_memory_mb = 999999")  # a role granted SET may
        finally:
            c.execute("RESET ROLE")
            c.execute(f"REVOKE SET ON PARAMETER pg_mlkit.max_memory_mb FROM {A[0]}")


def test_prefix_is_reserved(conn):
    conn.execute("SELECT ml.current_tenant()")  # loads the library
    for typo in ("pg_mlkit.thread", "pg_mlkit.max_memory"):
        with pytest.raises(psycopg.Error) as e:
            conn.execute(f"SET {typo} = 4")
        assert e.value.sqlstate == "42602", e.value


def cap_address_space(conn, headroom):
    """Caps this session's backend at its current address space plus `headroom` bytes."""
    conn.execute("SET jit = off")  # loading LLVM would fail first, in PostgreSQL
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    with open(f"/proc/{pid}/status") as f:
        vm = int(next(line for line in f if line.startswith("VmSize")).split()[1]) * 1024
    # The backend belongs to the server's user: only that user may lower its limit.
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else ["sudo", "-n", "-u", "postgres"]
    subprocess.run([*as_owner, "prlimit", f"--pid={pid}", f"--as={vm + headroom}"], check=True)


@pytest.mark.parametrize("case", ["cluster", "drift"])
def test_allocation_failure_is_53200(db, case):
    """Input the server cannot hold (here: the backend's address space capped) is an ERROR
    with SQLSTATE 53200, nothing is written, and the backend lives on."""
    with psycopg.connect(conninfo(db), autocommit=True) as setup:
        setup.execute("DROP TABLE IF EXISTS big_points, big_numbers")
        if case == "cluster":
            setup.execute("""CREATE TABLE big_points AS
                             SELECT i AS id, array_fill((i % 7)::real, ARRAY[64]) AS embedding FROM generate_series(1, 200000) i""")
            call = "SELECT ml.cluster_embeddings('big_points', params => '{\"n_clusters\": 4}')"
        else:
            setup.execute("CREATE TABLE big_numbers AS SELECT random() AS x FROM generate_series(1, 2000000)")
            call = "SELECT ml.score_drift('big_numbers', 'big_numbers')"
    with psycopg.connect(conninfo(db), autocommit=True) as conn:
        runs = conn.execute("SELECT count(*) FROM ml.analysis_runs").fetchone()[0]
        cap_address_space(conn, 24 * 2**20)
        with pytest.raises(psycopg.Error) as e:
            conn.execute(call)
        assert e.value.sqlstate == "53200", e.value
        assert conn.execute("SELECT 1").fetchone()[0] == 1
    with psycopg.connect(conninfo(db), autocommit=True) as after:
        assert after.execute("SELECT count(*) FROM ml.analysis_runs").fetchone()[0] == runs
        after.execute("DROP TABLE IF EXISTS big_points, big_numbers")
