"""Shared pieces of the security suite: the attacker roles, connections that collect
the look-alikes' WARNINGs, and the recorder a look-alike calls.

Roles (cluster-wide, made once per session):
  * TEMP   - an application role as docs/operating.md grants one (USAGE on ml; SELECT, INSERT,
             UPDATE, DELETE on its tables) and nothing else: PostgreSQL's default TEMP only.
  * CREATE - the same plus CREATE on schema public (PostgreSQL 15 revokes that from PUBLIC, so
             it is granted to this role explicitly: what databases created before 15 give everyone).
  * ALL    - GRANT ALL on every ml table (TRUNCATE, TRIGGER, REFERENCES included).
  * BOB    - another application role, for tenancy.
Every attacker connects as itself (LOGIN, trust on the private socket), as an attacker would."""
import os
import re
import time

import psycopg
import pytest

from conftest import HOST, PORT, conninfo, fresh_db

TEMP, CREATE, ALL, BOB = "sec_temp", "sec_create", "sec_all", "sec_bob"
ROLES = (TEMP, CREATE, ALL, BOB)
MARKER = "LOOKALIKE-HIT"
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "src")


def conninfo_as(db, user):
    return f"host={HOST} port={PORT} user={user} dbname={db}"


class Session:
    """A connection that keeps every notice it receives."""

    def __init__(self, db, user="postgres", search_path=None):
        self.user = user
        self.notices = []
        self.conn = psycopg.connect(conninfo_as(db, user), autocommit=True)
        self.conn.add_notice_handler(lambda d: self.notices.append(d.message_primary or ""))
        if search_path is not None:
            self.conn.execute(f"SET search_path = {search_path}")

    def execute(self, sql, params=None):
        return self.conn.execute(sql, params)

    def one(self, sql, params=None):
        return self.conn.execute(sql, params).fetchone()[0]

    def error(self, sql, params=None):
        """The (sqlstate, message) of running sql, or None when it succeeds."""
        try:
            cur = self.conn.execute(sql, params)
            if cur.description:
                cur.fetchall()
        except psycopg.Error as e:
            return (e.sqlstate, e.diag.message_primary or str(e))
        return None

    def hits(self):
        """The look-alike WARNINGs received so far."""
        return [n for n in self.notices if MARKER in n]

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# The recorder every look-alike calls: a WARNING (delivered even when the statement then fails),
# a session setting, and a row in public.lookalike_hits (kept only if the statement commits).
# Once per marker and session, so per-row look-alikes do not flood the client. Its own body
# names only pg_catalog objects, with pg_temp last, so the look-alikes cannot recurse.
RECORDER = """
CREATE OR REPLACE FUNCTION {schema}.lk_rec(marker pg_catalog.text) RETURNS pg_catalog.bool
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $lk$
DECLARE
  seen pg_catalog.text := COALESCE(pg_catalog.current_setting('lookalike.hits', true), '');
  su   pg_catalog.bool;
BEGIN
  IF pg_catalog.strpos(seen, pg_catalog.concat('|', marker, '|')) OPERATOR(pg_catalog.=) 0 THEN
    SELECT r.rolsuper INTO su FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER;
    RAISE WARNING '{marker} % user=% super=%', marker, CURRENT_USER, su;
    PERFORM pg_catalog.set_config('lookalike.hits', pg_catalog.concat(seen, '|', marker, '|'), false);
    BEGIN
      INSERT INTO public.lookalike_hits (marker, who, super) VALUES (marker, CURRENT_USER, su);
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
  END IF;
  RETURN true;
END
$lk$;
"""


def recorder_sql(schema):
    return RECORDER.replace("{schema}", schema).replace("{marker}", MARKER)


def setup_db(name, data_sql=""):
    """A fresh database with pg_mlkit, the grants of the four roles, and the hits table."""
    fresh_db(name)
    with psycopg.connect(conninfo(name), autocommit=True) as c:
        c.execute("""CREATE TABLE public.lookalike_hits (marker text, who text, super boolean,
                                                         at timestamptz DEFAULT clock_timestamp())""")
        c.execute("GRANT SELECT, INSERT ON public.lookalike_hits TO PUBLIC")
        for r in ROLES:
            c.execute(f"GRANT USAGE ON SCHEMA ml TO {r}")
            c.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ml TO {r}")
        c.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA ml TO {ALL}")
        c.execute(f"GRANT CREATE ON SCHEMA public TO {CREATE}")
        if data_sql:
            c.execute(data_sql)
    return name


def drop_db(name):
    with psycopg.connect(conninfo("postgres"), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session", autouse=True)
def roles():
    with psycopg.connect(conninfo("postgres"), autocommit=True) as c:
        for r in ROLES:
            if not c.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (r,)).fetchone():
                c.execute(f"CREATE ROLE {r} LOGIN")
    yield ROLES


def stored_hits(db):
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        return c.execute("SELECT marker, who, super FROM public.lookalike_hits ORDER BY at").fetchall()


def server_alive(db, bystander):
    """The server did not restart its backends: a connection opened before still works, and a
    new one does too."""
    try:
        bystander.execute("SELECT 1")
    except psycopg.Error as e:
        wait_for_server(db)  # so that the tests after this one run
        return f"a connection opened before the call was lost: {e}"
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        c.execute("SELECT 1")
    return None


def wait_for_server(db, seconds=60):
    deadline = time.time() + seconds
    while True:
        try:
            with psycopg.connect(conninfo(db), autocommit=True) as c:
                c.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def sql_literals(text):
    """The string literals of a Rust source (plain "..." and raw r#"..."#), unescaped enough
    for identifiers to be read out of them."""
    out = []
    for m in re.finditer(r'r(#+)"(.*?)"\1|"((?:[^"\\]|\\.)*)"', text, re.S):
        s = m.group(2) if m.group(2) is not None else m.group(3)
        out.append(s.replace('\\"', '"').replace("\\n", "\n").replace("\\\n", " "))
    return out


def rust_sql():
    """Every string literal of src/*.rs that looks like SQL."""
    texts = []
    if not os.path.isdir(SRC):
        return texts
    for f in sorted(os.listdir(SRC)):
        if f.endswith(".rs"):
            with open(os.path.join(SRC, f)) as fh:
                for s in sql_literals(fh.read()):
                    if re.search(r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|WITH|CREATE)\b", s):
                        texts.append(s)
    return texts
