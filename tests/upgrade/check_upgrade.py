"""The two halves of scripts/test_upgrade.sh, for one released version.

    check_upgrade.py fill OLD_VERSION    # CREATE EXTENSION ... VERSION OLD_VERSION, every table filled
    check_upgrade.py check OLD_VERSION   # update to this tree's version, compare, dump

Prints what it checked; exits non-zero (with the differences) when anything differs."""
import gzip
import json
import os
import subprocess
import sys

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
from catalog import differences, snapshot  # noqa: E402
from table_rows import fill, tables  # noqa: E402

HOST = os.environ["PG_MLKIT_TMP"]
PORT = os.environ["PG_MLKIT_PORT"]
BIN = "/usr/lib/postgresql/15/bin"
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
STATE = os.path.join(ROOT, "target", "upgrade", "rows-before.json")
UPGRADED, FRESH, RESTORED, CROSSING = "mlkit_upgraded", "mlkit_fresh", "mlkit_restored", "mlkit_crossing"
APP = "mlkit_upgrade_app"
BOUND = "mlkit_upgrade_bound"  # bound to tenant acme with ALTER ROLE ... SET app.tenant
TENANTS = ("default", "acme", "globex")


def connect(db):
    return psycopg.connect(f"host={HOST} port={PORT} user=postgres dbname={db}", autocommit=True)


def tool(*args):
    subprocess.run([f"{BIN}/{args[0]}", "-h", HOST, "-p", PORT, "-U", "postgres", *args[1:]], check=True, capture_output=True)


def create_db(name, version=None):
    tool("dropdb", "--if-exists", name)
    tool("createdb", name)
    with connect(name) as c:
        c.execute("CREATE EXTENSION pg_mlkit" + (f" VERSION '{version}'" if version else ""))
        grant(c)


def grant(c):
    """What a DBA grants an application: it must survive the upgrade."""
    c.execute(f"DO $$ BEGIN CREATE ROLE {APP}; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    c.execute(f"GRANT USAGE ON SCHEMA ml TO {APP}")
    c.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ml TO {APP}")
    c.execute(f"GRANT EXECUTE ON FUNCTION ml.load_analysis_run TO {APP}")
    c.execute(f"DO $$ BEGIN CREATE ROLE {BOUND}; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    c.execute(f"GRANT USAGE ON SCHEMA ml TO {BOUND}")
    c.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA ml TO {BOUND}")


def rows(c, table, columns=None):
    cols = columns or [r[0] for r in c.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (f"ml.{table}",))]
    sel = ", ".join(f'"{x}"' for x in cols)
    return cols, sorted(json.dumps(r, default=str) for r in c.execute(f"SELECT {sel} FROM ml.{table}").fetchall())


def do_fill(old_version):
    create_db(UPGRADED, old_version)
    with connect(UPGRADED) as c:
        assert c.execute("SELECT extversion FROM pg_extension WHERE extname = 'pg_mlkit'").fetchone()[0] == old_version
        present = set(tables(c))
        for tenant in TENANTS:
            c.execute(f"SET app.tenant = '{tenant}'")
            fill(c, present, rounds=2)
        # A real clustering run, with its assignments.
        c.execute("RESET app.tenant")
        c.execute("CREATE TABLE digits (id int PRIMARY KEY, label int NOT NULL, embedding real[] NOT NULL)")
        with gzip.open(os.path.join(ROOT, "data", "digits.csv.gz"), "rt") as f, \
                c.cursor().copy("COPY digits FROM STDIN WITH (FORMAT csv, HEADER)") as cp:
            cp.write(f.read())
        # With this tree's library: 0.1.0's tables lack the columns today's clustering writes,
        # so its assignments come from the filler alone.
        if old_version != "0.1.0":
            c.execute("""SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "random_state": 0}')""")
        before = {t: rows(c, t) for t in sorted(present)}
        empty = [t for t, (_, r) in before.items() if not r]
        assert not empty, f"tables left empty: {empty}"
        # What 0.2.0's documentation offered as a tenant binding.
        c.execute(f"ALTER ROLE {BOUND} IN DATABASE {UPGRADED} SET app.tenant = 'acme'")
    if old_version == "0.1.0":
        # 0.1.0 allowed a row to point at another tenant's parent; the update must refuse it.
        create_db(CROSSING, old_version)
        with connect(CROSSING) as c:
            c.execute("SET app.tenant = 'acme'")
            run = c.execute("SELECT ml.load_analysis_run('clustering')").fetchone()[0]
            c.execute("SET app.tenant = 'globex'")
            c.execute("INSERT INTO ml.cluster_assignments (run_id, item_id, cluster) VALUES (%s, 'x', 0)", (run,))
    with open(STATE, "w") as f:
        json.dump({t: {"columns": cols, "rows": r} for t, (cols, r) in before.items()}, f)
    print(f"filled {len(before)} tables of pg_mlkit {old_version}: {sum(len(r) for _, r in before.values())} rows")


def do_check(old_version):
    failures = []
    with open(STATE) as f:
        before = json.load(f)
    with connect(UPGRADED) as c:
        notices = []
        c.add_notice_handler(lambda d: notices.append(d.message_primary))
        c.execute("ALTER EXTENSION pg_mlkit UPDATE")
        version = c.execute("SELECT extversion FROM pg_extension WHERE extname = 'pg_mlkit'").fetchone()[0]
        print(f"ALTER EXTENSION pg_mlkit UPDATE: {old_version} -> {version}")
        assert version != old_version
        # Tenants are bound to roles from 0.3.0 on: the ALTER ROLE binding became a grant, every
        # role keeps 'default', and the tenant no role is granted is named (in a WARNING:
        # PostgreSQL hides an extension script's NOTICEs).
        grants = set(c.execute("SELECT role, tenant FROM ml.tenant_grants").fetchall())
        if (BOUND, "acme") not in grants or ("PUBLIC", "default") not in grants:
            failures.append(f"the update did not turn the bindings into grants: {sorted(grants)}")
        if not any("globex" in n and "no role is granted" in n for n in notices):
            failures.append(f"the update did not name tenant globex, which no role is granted: {notices}")
        print(f"tenant grants after the update: {sorted(grants)}")
        with connect(UPGRADED) as b:
            b.execute(f"SET ROLE {BOUND}")
            b.execute("SET app.tenant = 'acme'")
            b.execute("SELECT count(*) FROM ml.analysis_runs").fetchone()
            b.execute("SET app.tenant = 'globex'")
            try:
                b.execute("SELECT count(*) FROM ml.analysis_runs").fetchone()
                failures.append(f"{BOUND} can read tenant globex, which it was not granted")
            except psycopg.Error as e:
                assert e.sqlstate == "42501", e
        # What docs/operating.md says to do after an upgrade: grant what it added.
        grant(c)
        upgraded = snapshot(c)
        for t, saved in before.items():
            _, now = rows(c, t, saved["columns"])
            if now != saved["rows"]:
                failures.append(f"rows of ml.{t} changed by the upgrade: {len(saved['rows'])} before, {len(now)} after")
        print(f"rows kept: {sum(len(s['rows']) for s in before.values())} in {len(before)} tables")
        # The upgraded database works: a clustering run, and the tenants' keys are sealed.
        run = c.execute("""SELECT ml.cluster_embeddings('digits', params => '{"n_clusters": 10, "random_state": 0}')""").fetchone()[0]
        assert c.execute("SELECT count(*) FROM ml.cluster_assignments WHERE run_id = %s", (run,)).fetchone()[0] == 1797
        upgraded_rows = {t: rows(c, t) for t in tables(c)}
    if old_version == "0.1.0":
        with connect(CROSSING) as c:
            try:
                c.execute("ALTER EXTENSION pg_mlkit UPDATE")
                failures.append("the update sealed a database whose rows cross tenants")
            except psycopg.Error as e:
                assert e.sqlstate == "23503" and "ml.cluster_assignments.run_id" in e.diag.message_primary, e
                print(f"a 0.1.0 database with a cross-tenant row is refused: {e.diag.message_primary}")
            assert c.execute("SELECT extversion FROM pg_extension WHERE extname = 'pg_mlkit'").fetchone()[0] == old_version
    create_db(FRESH)
    with connect(FRESH) as c:
        fresh = snapshot(c)
    diff = differences(fresh, upgraded, "fresh install", "upgraded")
    failures += diff
    print(f"schema compared: {sum(len(v) for v in fresh.values())} catalog facts, {len(diff)} differences")

    dump = os.path.join(ROOT, "target", "upgrade", "upgraded.dump")
    tool("pg_dump", "-Fc", "-f", dump, UPGRADED)
    tool("dropdb", "--if-exists", RESTORED)
    tool("createdb", RESTORED)
    tool("pg_restore", "--exit-on-error", "-d", RESTORED, dump)
    with connect(RESTORED) as c:
        restored = snapshot(c)
        for t, (cols, r) in upgraded_rows.items():
            if rows(c, t, cols)[1] != r:
                failures.append(f"rows of ml.{t} differ after pg_dump/pg_restore")
    diff = differences(upgraded, restored, "upgraded", "restored")
    failures += diff
    print(f"pg_dump/pg_restore of the upgraded database: {sum(len(r) for _, r in upgraded_rows.values())} rows, {len(diff)} schema differences")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("upgrade test passed")


if __name__ == "__main__":
    {"fill": do_fill, "check": do_check}[sys.argv[1]](sys.argv[2])
