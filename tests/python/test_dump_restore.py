"""User rows in pg_mlkit's tables survive pg_dump + pg_restore into a new database, and the
restored database goes on numbering runs where the old one stopped."""
import subprocess

import psycopg

from conftest import BIN, HOST, PORT, conninfo, fresh_db, run


def snapshot(c):
    return {
        "runs": c.execute("SELECT id, tenant_id, analysis_type, model_name, metrics, clustering_params "
                          "FROM ml.analysis_runs ORDER BY id").fetchall(),
        "assignments": c.execute("SELECT run_id, item_id, cluster, distance FROM ml.cluster_assignments "
                                 "ORDER BY run_id, item_id").fetchall(),
        "models": c.execute("SELECT name, version, stage FROM ml.model_registry ORDER BY id").fetchall(),
        "transitions": c.execute("SELECT from_stage, to_stage FROM ml.model_stage_transitions ORDER BY id").fetchall(),
        "policies": c.execute("SELECT count(*) FROM pg_policy p JOIN pg_class r ON r.oid = p.polrelid "
                              "WHERE r.relnamespace = 'ml'::regnamespace").fetchone(),
    }


def test_dump_and_restore_keeps_the_rows(tmp_path):
    src = fresh_db("pg_mlkit_dump_src")
    with psycopg.connect(conninfo(src), autocommit=True) as c:
        c.execute("CREATE TABLE pts AS SELECT g AS id, ARRAY[g % 4, g / 10.0]::real[] AS embedding "
                  "FROM generate_series(1, 200) g")
        c.execute("SELECT ml.cluster_embeddings('pts', params => '{\"n_clusters\": 4, \"random_state\": 5}')")
        c.execute("SET app.tenant = 'acme'")
        c.execute("SELECT ml.load_analysis_run('object_detection', model_name => 'YOLOv8')")
        c.execute("INSERT INTO ml.model_registry (name, version) VALUES ('churn', '1')")
        c.execute("UPDATE ml.model_registry SET stage = 'production'")
        before = snapshot(c)
    assert len(before["assignments"]) == 200 and len(before["runs"]) == 2

    dump = tmp_path / "mlkit.dump"
    run("pg_dump", "-Fc", "-f", str(dump), src)
    dst = "pg_mlkit_dump_dst"
    run("dropdb", "--if-exists", dst)
    run("createdb", dst)
    run("pg_restore", "--exit-on-error", "-d", dst, str(dump))

    with psycopg.connect(conninfo(dst), autocommit=True) as c:
        assert snapshot(c) == before
        # New rows get fresh ids: the identity positions were restored too.
        new_id = c.execute("SELECT ml.load_analysis_run('clustering')").fetchone()[0]
        assert new_id > max(r[0] for r in before["runs"])
