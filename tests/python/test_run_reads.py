"""Reading one run back (ml.run_points, ml.plot_run) reads that run only: with a million
assignment rows of another run stored, the planner reaches a six-point run through the primary
keys, so the time does not grow with history (bench/run_reads.sh times it)."""
import json

from conftest import fresh_db, conninfo

import psycopg
import pytest


@pytest.fixture(scope="module")
def history():
    db = fresh_db("pg_mlkit_run_reads")
    with psycopg.connect(conninfo(db), autocommit=True) as c:
        c.execute("CREATE TABLE small (id int PRIMARY KEY, embedding real[])")
        c.execute("INSERT INTO small SELECT i, ARRAY[i % 2 * 10 + i, i % 2]::real[] FROM generate_series(1, 6) i")
        big = c.execute("INSERT INTO ml.analysis_runs (analysis_type) VALUES ('clustering') RETURNING id").fetchone()[0]
        c.execute("INSERT INTO ml.cluster_assignments (run_id, item_id, cluster) "
                  "SELECT %s, i::text, i %% 10 FROM generate_series(1, 1000000) i", (big,))
        c.execute("INSERT INTO ml.embedding_coordinates (run_id, item_id, coords) "
                  "SELECT %s, i::text, ARRAY[i, -i]::real[] FROM generate_series(1, 300000) i", (big,))
        small = c.execute("SELECT ml.cluster_embeddings('small', params => '{\"n_clusters\": 2, \"random_state\": 0}', "
                          "reduction => 'pca', reduction_params => '{\"n_components\": 2}')").fetchone()[0]
        c.execute("ANALYZE ml.cluster_assignments, ml.embedding_coordinates")
        yield c, small


def scans(plan):
    """Every node of a JSON plan that reads a relation."""
    out, todo = [], [plan[0]["Plan"]]
    while todo:
        n = todo.pop()
        if "Relation Name" in n:
            out.append(n)
        todo.extend(n.get("Plans", []))
    return out


def test_one_run_is_read_through_the_primary_keys(history):
    c, small = history
    plan = c.execute("EXPLAIN (ANALYZE, FORMAT JSON) SELECT item_id, cluster, coords[1:2] FROM ml.run_points "
                     "WHERE run_id = %s AND tenant_id = ml.current_tenant() ORDER BY item_id", (small,)).fetchone()[0]
    nodes = scans(plan)
    assert {n["Relation Name"] for n in nodes} == {"cluster_assignments", "embedding_coordinates"}
    for n in nodes:
        assert n["Node Type"] != "Seq Scan", json.dumps(n)
        # Only the run's own rows, however often a nested loop visits them: never the history.
        assert n["Actual Rows"] * n["Actual Loops"] <= 6 * 6, json.dumps(n)
    assert plan[0]["Plan"]["Actual Rows"] == 6


def test_plot_of_the_small_run_shows_its_six_points(history):
    c, small = history
    svg = c.execute("SELECT ml.plot_run(%s)", (small,)).fetchone()[0]
    assert svg.count('<circle') >= 6
