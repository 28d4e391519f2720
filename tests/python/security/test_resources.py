"""Weaknesses 7–9 found when 0.2.0 was attacked as an ordinary role: the model cache never
serves another tenant's or a changed artifact; resources an ordinary call controls (decoded
images, exact KS, aggregate states) stay within pg_mlkit.max_memory_mb and statement_timeout;
stored artifacts and sketch input that used to give internal errors are refused with a proper
SQLSTATE. Every test checks that the backend lives on."""
import json
import os
import struct
import subprocess
import sys
import time
import zlib

import psycopg
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from conftest import conninfo  # noqa: E402


def alive(conn):
    assert conn.execute("SELECT 1").fetchone()[0] == 1


def fails(conn, sql, params=None, sqlstate=None):
    with pytest.raises(psycopg.Error) as e:
        conn.execute(sql, params)
    if sqlstate is not None:
        assert e.value.sqlstate == sqlstate, e.value
    alive(conn)
    return e.value


def cap_address_space(conn, headroom):
    """Caps this session's backend at its current address space plus `headroom` bytes."""
    conn.execute("SET jit = off")
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    with open(f"/proc/{pid}/status") as f:
        vm = int(next(line for line in f if line.startswith("VmSize")).split()[1]) * 1024
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else ["sudo", "-n", "-u", "postgres"]
    subprocess.run([*as_owner, "prlimit", f"--pid={pid}", f"--as={vm + headroom}"], check=True)


# ---------------------------------------------------------------------------------------
# Images

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, depth, colour, interlaced, idat):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlaced))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def forged_png():
    """The report's 69 bytes: 9459 x 9459, 16-bit RGBA, interlaced (716 MB decoded)."""
    f = png(9459, 9459, 16, 6, True, zlib.compress(b"\0", 9))
    f = f if len(f) == 69 else png(9459, 9459, 16, 6, True, b"\x78\x01\x01\x01\x00\xfe\xff\x00\x00\x01\x00\x01")
    assert len(f) == 69
    return f


def adam7_zero_png(width, height):
    """A genuine all-black 16-bit RGBA interlaced PNG (8 bytes a pixel decoded)."""
    raw = bytearray()
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        cols, rows = -(-max(width - x0, 0) // dx), -(-max(height - y0, 0) // dy)
        if cols:
            raw += (b"\0" + bytes(cols * 8)) * rows
    return png(width, height, 16, 6, True, zlib.compress(bytes(raw), 6))


@pytest.mark.parametrize("fn", ["phash", "dhash", "ahash"])
def test_forged_png_is_54000_under_a_low_memory_limit(conn, fn):
    conn.execute("SET pg_mlkit.max_memory_mb = 64")
    e = fails(conn, f"SELECT ml.{fn}(%s)", [forged_png()], "54000")
    assert "pg_mlkit.max_memory_mb" in str(e), e
    # Within the default limit it is refused as an image its 69 bytes cannot hold.
    conn.execute("RESET pg_mlkit.max_memory_mb")
    e = fails(conn, f"SELECT ml.{fn}(%s)", [forged_png()], "22P03")
    assert "cannot come from 69 bytes" in str(e), e


def test_a_real_image_the_server_cannot_hold_is_53200_not_an_abort(db):
    image = adam7_zero_png(3000, 3000)  # 72 MB of 16-bit RGBA frame + 9 MB grey
    with psycopg.connect(conninfo(db), autocommit=True) as conn:
        # Within the budget and with memory to spare it decodes.
        assert conn.execute("SELECT ml.ahash(%s)", [adam7_zero_png(64, 64)]).fetchone()[0] == 0
        cap_address_space(conn, 24 * 2**20)
        e = fails(conn, "SELECT ml.phash(%s)", [image], "53200")
        assert "ml.phash" in str(e), e
    # The server did not restart: other sessions live on.
    with psycopg.connect(conninfo(db), autocommit=True) as other:
        assert other.execute("SELECT ml.ahash(%s)", [adam7_zero_png(64, 64)]).fetchone()[0] == 0


# ---------------------------------------------------------------------------------------
# Exact KS

def test_exact_ks_is_refused_past_10000_values(conn):
    e = fails(conn, """SELECT * FROM ml.ks_2samp(array(SELECT i::float8 FROM generate_series(1, 16000) i),
                                                array(SELECT i::float8 + 0.5 FROM generate_series(1, 16000) i),
                                                'greater', 'exact')""", sqlstate="54000")
    assert "'auto'" in e.diag.message_hint and "'asymp'" in e.diag.message_hint, e.diag.message_hint
    # 'auto' at that size is the asymptotic p-value, as in SciPy.
    exact, = conn.execute("""SELECT exact FROM ml.ks_2samp(array(SELECT i::float8 FROM generate_series(1, 16000) i),
                                                           array(SELECT i::float8 + 0.5 FROM generate_series(1, 16000) i),
                                                           'greater')""").fetchone()
    assert exact is False


def test_exact_ks_stops_at_statement_timeout(conn):
    # Two-sided, unequal sizes, disjoint samples: the exact recursion visits ~10⁸ lattice
    # points (about a second).
    sql = """SELECT exact FROM ml.ks_2samp(array(SELECT i::float8 FROM generate_series(1, 10000) i),
                                           array(SELECT i::float8 + 20000 FROM generate_series(1, 9999) i), method => %s)"""
    conn.execute("SET statement_timeout = '200ms'")
    for method in ("exact", "auto"):
        started = time.monotonic()
        fails(conn, sql, [method], "57014")
        assert time.monotonic() - started < 1.0
    conn.execute("RESET statement_timeout")
    assert conn.execute(sql, ["exact"]).fetchone()[0] is True


# ---------------------------------------------------------------------------------------
# Aggregate states

def test_kmeans_step_state_over_the_limit_is_54000(conn):
    sql = """SELECT ml.kmeans_inertia(ml.kmeans_step(array_fill(1::real, ARRAY[512]), c))
               FROM (SELECT array_fill(0::real, ARRAY[512, 512]) AS c) s, generate_series(1, 3)"""
    assert conn.execute(sql).fetchone()[0] == 3 * 512.0
    conn.execute("SET pg_mlkit.max_memory_mb = 1")  # the state is 8 × 512 × 513 bytes, 2 MB
    e = fails(conn, sql, sqlstate="54000")
    assert "pg_mlkit.max_memory_mb" in str(e), e


def test_quantile_sketch_state_over_the_limit_is_54000(conn):
    # k = 65536: level 0 alone is 512 KB; past 2k values a second level makes it over 1 MB.
    sql = "SELECT ml.sketch_quantile(ml.quantile_sketch_agg(i::float8, 65536), 0.5) FROM generate_series(1, %s) i"
    conn.execute("SET pg_mlkit.max_memory_mb = 1")
    assert conn.execute(sql, [1000]).fetchone()[0] == pytest.approx(500, abs=1)
    e = fails(conn, sql, [300000], "54000")
    assert "pg_mlkit.max_memory_mb" in str(e), e
    e = fails(conn, "SELECT ml.quantile_sketch_agg(i::float8, 1048576) FROM generate_series(1, 10) i", sqlstate="54000")
    conn.execute("RESET pg_mlkit.max_memory_mb")
    assert conn.execute(sql, [300000]).fetchone()[0] == pytest.approx(150000, rel=0.01)


# ---------------------------------------------------------------------------------------
# Stored artifacts and sketch input

def artifact(centroids):
    k, d = len(centroids), len(centroids[0])
    quantiles = [i / 100 for i in range(101)]
    return {"format": "pg_mlkit.kmeans.v1", "metric": "euclidean", "n_clusters": k, "n_features": d,
            "centroids": centroids, "distances": [{"count": 10, "mean": 0.5, "std": 0.1, "quantiles": quantiles}] * k}


def insert_model(conn, model_id, tenant, name, centroids):
    conn.execute("""INSERT INTO ml.model_registry (id, tenant_id, name, version, model_type, artifact)
                    VALUES (%s, %s, %s, '1', 'kmeans', %s)""", [model_id, tenant, name, json.dumps(artifact(centroids))])


def predict(conn, tenant, name, x):
    conn.execute("SELECT set_config('app.tenant', %s, false)", [tenant])
    return conn.execute("SELECT cluster FROM ml.predict_cluster(%s, %s::real[], log => false)", [name, x]).fetchone()[0]


@pytest.mark.parametrize("bad", ["nested", "huge_number", "huge_parameter"])
def test_unreadable_artifacts_are_22023_not_internal_errors(conn, bad):
    conn.execute("DELETE FROM ml.model_registry WHERE name = 'unreadable'")
    insert_model(conn, 990001, "default", "unreadable", [[0, 0], [10, 10]])
    assert predict(conn, "default", "unreadable", [9, 9]) == 1
    if bad == "nested":
        conn.execute("UPDATE ml.model_registry SET artifact = (repeat('[', 200) || repeat(']', 200))::jsonb WHERE id = 990001")
    elif bad == "huge_number":
        conn.execute("""UPDATE ml.model_registry SET artifact = jsonb_set(artifact, '{centroids,0,0}', '1e400') WHERE id = 990001""")
    else:
        conn.execute("""UPDATE ml.model_registry SET parameters = '{"anomaly": {"threshold": 1e400}}' WHERE id = 990001""")
    e = fails(conn, "SELECT * FROM ml.predict_cluster('unreadable', '{9, 9}'::real[], log => false)")
    assert e.sqlstate in ("22023", "22P02"), e
    assert "'unreadable'" in str(e), e
    conn.execute("DELETE FROM ml.model_registry WHERE id = 990001")


def test_model_cache_never_serves_another_tenants_or_a_changed_artifact(db):
    with psycopg.connect(conninfo(db), autocommit=True) as owner, psycopg.connect(conninfo(db), autocommit=True) as conn:
        owner.execute("DELETE FROM ml.model_registry WHERE name IN ('shared', 'shared2')")
        # As a restore loads them: in one transaction (one xmin), with explicit ids.
        with owner.transaction():
            insert_model(owner, 990011, "tenant_a", "shared", [[0, 0], [10, 10]])
            insert_model(owner, 990012, "tenant_b", "shared", [[10, 10], [0, 0]])
        for _ in range(3):
            assert predict(conn, "tenant_a", "shared", [0, 0]) == 0
            assert predict(conn, "tenant_b", "shared", [0, 0]) == 1
        # One id given to the other tenant's model, in one transaction (the same xmin as the
        # row it replaces had when cached), and then an artifact changed in place there too.
        with conn.transaction():
            insert_model(conn, 990013, "tenant_a", "shared2", [[0, 0], [10, 10]])
            assert predict(conn, "tenant_a", "shared2", [0, 0]) == 0
            conn.execute("DELETE FROM ml.model_registry WHERE id = 990013")
            insert_model(conn, 990013, "tenant_b", "shared2", [[10, 10], [0, 0]])
            assert predict(conn, "tenant_b", "shared2", [0, 0]) == 1
            # Tenant a no longer has a model of that name.
            with pytest.raises(psycopg.Error) as e:
                with conn.transaction():
                    predict(conn, "tenant_a", "shared2", [0, 0])
            assert e.value.sqlstate == "22023" and "does not exist" in str(e.value), e.value
            conn.execute("UPDATE ml.model_registry SET artifact = %s WHERE id = 990013", [json.dumps(artifact([[0, 0], [10, 10]]))])
            assert predict(conn, "tenant_b", "shared2", [0, 0]) == 0
        assert predict(conn, "tenant_a", "shared", [0, 0]) == 0
        assert predict(conn, "tenant_b", "shared", [0, 0]) == 1
        owner.execute("DELETE FROM ml.model_registry WHERE name IN ('shared', 'shared2')")


def sketch_bytes(k, levels, n=None):
    values = [v for level in levels for v in level]
    n = n if n is not None else sum(len(level) << h for h, level in enumerate(levels))
    out = struct.pack("<QQQ", k, n, len(levels))
    out += struct.pack("<5d", min(values), max(values), sum(values), sum(v * v for v in values), 0.0)
    for level in levels:
        out += struct.pack("<QQ", len(level), 0) + struct.pack(f"<{len(level)}d", *level)
    return out


def copy_binary(conn, table, payload):
    data = b"PGCOPY\n\xff\r\n\0" + struct.pack(">ii", 0, 0)
    data += struct.pack(">hi", 1, len(payload)) + payload + struct.pack(">h", -1)
    with conn.cursor().copy(f"COPY {table} (s) FROM STDIN (FORMAT binary)") as cp:
        cp.write(data)


def test_quantile_sketch_binary_input_refuses_a_full_level_0(conn):
    conn.execute("DROP TABLE IF EXISTS sketch_in")
    conn.execute("CREATE TABLE sketch_in (s ml.quantile_sketch)")
    copy_binary(conn, "sketch_in", sketch_bytes(8, [[1.0, 2.0, 3.0]]))
    assert conn.execute("SELECT ml.sketch_quantile(s, 1) FROM sketch_in").fetchone()[0] == 3.0
    with pytest.raises(psycopg.Error) as e:
        copy_binary(conn, "sketch_in", sketch_bytes(8, [[float(i) for i in range(8)]]))
    assert e.value.sqlstate == "22P03", e.value
    alive(conn)
    # The text form likewise.
    text = json.dumps({"k": 8, "n": 8, "min": 0.0, "max": 7.0, "sum": 28.0, "sum_sq": 140.0, "err": 0.0,
                       "compactions": [0], "levels": [[float(i) for i in range(8)]]}, separators=(",", ":"))
    fails(conn, "SELECT %s::ml.quantile_sketch", [text], "22P02")
    assert conn.execute("SELECT count(*) FROM sketch_in").fetchone()[0] == 1
    conn.execute("DROP TABLE sketch_in")
