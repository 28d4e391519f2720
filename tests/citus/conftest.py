"""Fixtures for the Citus suite: the three-node cluster that scripts/citus.sh started (a
coordinator and two workers; PG_MLKIT_CITUS_TMP and PG_MLKIT_CITUS_PORT say where), with
pg_mlkit on every node.

Every test compares a distributed table with the same rows in a plain local table on the
coordinator: the local one is read by PostgreSQL alone, exactly as on a single-node server
(Citus plans only queries that touch its tables)."""
import os

import numpy as np
import psycopg
import pytest

HOST = os.environ.get("PG_MLKIT_CITUS_TMP", "/tmp/pg_mlkit_citus")
PORT = int(os.environ.get("PG_MLKIT_CITUS_PORT", "54340"))
WORKERS = (PORT + 1, PORT + 2)


def conninfo(port=PORT):
    return f"host={HOST} port={port} user=postgres dbname=postgres"


@pytest.fixture
def conn():
    with psycopg.connect(conninfo(), autocommit=True) as c:
        yield c


def load_pair(conn, name, columns, rows, kind="distributed", colocate_with=None):
    """`rows` into two tables of `columns` (SQL column definitions, the first the id): NAME_l,
    local, and NAME_d, hash-distributed by its first column (or a reference table)."""
    first = columns.split()[0]
    for suffix in ("l", "d"):
        conn.execute(f"DROP TABLE IF EXISTS {name}_{suffix} CASCADE")
        conn.execute(f"CREATE TABLE {name}_{suffix} ({columns})")
    names = ", ".join(c.strip().split()[0] for c in split_columns(columns))
    with conn.cursor().copy(f"COPY {name}_l ({names}) FROM STDIN") as cp:
        for r in rows:
            cp.write_row(r)
    if kind == "reference":
        conn.execute(f"SELECT create_reference_table('{name}_d')")
    else:
        extra = f", colocate_with => '{colocate_with}'" if colocate_with else ""
        conn.execute(f"SELECT create_distributed_table('{name}_d', '{first}'{extra})")
    conn.execute(f"INSERT INTO {name}_d SELECT * FROM {name}_l")
    conn.execute(f"ANALYZE {name}_l")


def split_columns(columns):
    out, depth, cur = [], 0, ""
    for ch in columns:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    return out + [cur]


def embedding_rows(X):
    return [(i, [float(v) for v in row]) for i, row in enumerate(X)]


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's digits (1,797 × 64, real data) as digits_l and digits_d."""
    from sklearn.datasets import load_digits
    X = load_digits().data.astype(np.float32)
    with psycopg.connect(conninfo(), autocommit=True) as c:
        load_pair(c, "digits", "id int PRIMARY KEY, embedding real[] NOT NULL", embedding_rows(X))
    return X


def error_of(c, sql, params=None):
    try:
        c.execute(sql, params)
    except psycopg.Error as e:
        return e.sqlstate, e.diag.message_primary
    return None
