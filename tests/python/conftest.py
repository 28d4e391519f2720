"""Fixtures for the Python tests: a fresh database with pg_mlkit on the throwaway server that
scripts/test.sh started (scripts/pgtmp.sh; PG_MLKIT_TMP and PG_MLKIT_PORT say where)."""
import os
import subprocess

import psycopg
import pytest

HOST = os.environ.get("PG_MLKIT_TMP", "/tmp/pg_mlkit_tmp")
PORT = os.environ.get("PG_MLKIT_PORT", "54329")
BIN = "/usr/lib/postgresql/15/bin"


def conninfo(db):
    return f"host={HOST} port={PORT} user=postgres dbname={db}"


def run(*args):
    subprocess.run([f"{BIN}/{args[0]}", "-h", HOST, "-p", PORT, "-U", "postgres", *args[1:]],
                   check=True, capture_output=True)


def fresh_db(name):
    # Under pytest-xdist (scripts/test.sh runs the files in two processes) each process has
    # its own databases: the shared one would otherwise be dropped under the other's feet.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        name = f"{name}_{worker}"
    run("dropdb", "--if-exists", name)
    run("createdb", name)
    with psycopg.connect(conninfo(name), autocommit=True) as c:
        c.execute("CREATE EXTENSION pg_mlkit")
    return name


@pytest.fixture(scope="session")
def db():
    return fresh_db("pg_mlkit_pytest")


@pytest.fixture
def conn(db):
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        yield c


def load_matrix(conn, table, X, ids=None):
    """Writes rows of X as (id int, embedding real[]) into a new table."""
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, embedding real[] NOT NULL)")
    with conn.cursor().copy(f"COPY {table} (id, embedding) FROM STDIN") as cp:
        for i, row in enumerate(X):
            cp.write_row((i if ids is None else ids[i], [float(v) for v in row]))
