"""Scheduled in-database jobs with pg_cron, end to end: on a throwaway server with pg_cron
preloaded, the recipe of docs/scheduling.md is scheduled, runs at the next minute (pg_cron
1.4 schedules by the minute), and its rows appear: yesterday's rollup and drift scores, a
retrained model version, and the production alias moved to it."""
import os
import subprocess
import time

import numpy as np
import psycopg
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = dict(os.environ, PG_MLKIT_TMP="/tmp/pg_mlkit_cron", PG_MLKIT_PORT="54332",
           PG_MLKIT_OPTS="-c shared_preload_libraries=pg_cron -c cron.database_name=postgres "
                         "-c cron.use_background_workers=on -c max_worker_processes=16")

# The recipe, as docs/scheduling.md gives it (the nightly part and the retraining part).
NIGHTLY = """
SELECT ml.rollup_monitoring();
SELECT ml.score_drift('orders_last_week', 'orders_yesterday', run => '{"model_name": "orders"}');
"""
RETRAIN = """
SELECT ml.cluster_embeddings('items', params => '{"n_clusters": 3, "random_state": 0}',
                             run => '{"model_name": "items_km"}');
INSERT INTO ml.model_aliases (model_name, alias, model_id)
  SELECT name, 'production', id FROM ml.model_registry WHERE name = 'items_km' ORDER BY id DESC LIMIT 1
  ON CONFLICT (tenant_id, model_name, alias) DO UPDATE SET model_id = EXCLUDED.model_id, updated_at = now();
"""


def pgtmp(cmd):
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "pgtmp.sh"), cmd], env=ENV, check=True, capture_output=True)


@pytest.fixture(scope="module")
def cron_db():
    pgtmp("stop")
    pgtmp("start")
    try:
        with psycopg.connect(f"host={ENV['PG_MLKIT_TMP']} port={ENV['PG_MLKIT_PORT']} user=postgres dbname=postgres",
                             autocommit=True) as c:
            yield c
    finally:
        pgtmp("stop")


def test_a_job_scheduled_with_pg_cron_runs_and_its_rows_appear(cron_db):
    c = cron_db
    c.execute("CREATE EXTENSION pg_cron")
    c.execute("CREATE EXTENSION pg_mlkit")
    c.execute("CREATE TABLE items (id int PRIMARY KEY, embedding real[])")
    X = np.random.default_rng(0).normal(size=(300, 4)) + np.repeat(np.eye(4)[:3] * 6, 100, axis=0)
    with c.cursor().copy("COPY items FROM STDIN") as cp:
        for i, row in enumerate(X):
            cp.write_row((i, [float(v) for v in row]))
    c.execute("CREATE TABLE orders (placed date, amount float8)")
    c.execute("INSERT INTO orders SELECT current_date - 1 - g % 8, 20 + g % 50 + (g % 8 = 0)::int * 30 FROM generate_series(1, 800) g")
    c.execute("CREATE VIEW orders_last_week AS SELECT amount FROM orders WHERE placed >= current_date - 8 AND placed < current_date - 1")
    c.execute("CREATE VIEW orders_yesterday AS SELECT amount FROM orders WHERE placed = current_date - 1")
    # A first model version in production, and yesterday's predictions with it.
    c.execute(RETRAIN)
    c.execute("UPDATE ml.model_registry SET created_at = now() - interval '7 days'")
    c.execute("SELECT ml.predict_clusters('items_km', 'items')")
    c.execute("UPDATE ml.ml_prediction_log SET created_at = now() - interval '1 day'")
    # Every minute, for the test (nightly and weekly in the recipe).
    c.execute("SELECT cron.schedule('mlkit-nightly', '* * * * *', %s)", (NIGHTLY,))
    c.execute("SELECT cron.schedule('mlkit-retrain', '* * * * *', %s)", (RETRAIN,))
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        done = c.execute("SELECT count(*) FROM cron.job_run_details WHERE status IN ('succeeded', 'failed')").fetchone()[0]
        if done >= 2:
            break
        time.sleep(2)
    runs = c.execute("SELECT j.jobname, d.status, d.return_message FROM cron.job_run_details d "
                     "JOIN cron.job j USING (jobid) ORDER BY d.runid").fetchall()
    c.execute("SELECT cron.unschedule('mlkit-nightly')")
    c.execute("SELECT cron.unschedule('mlkit-retrain')")
    assert {r[0] for r in runs} == {"mlkit-nightly", "mlkit-retrain"}, runs
    assert all(r[1] == "succeeded" for r in runs), runs
    # The rollup of yesterday, the new version, and production pointing at it.
    assert c.execute("SELECT prediction_count FROM ml.monitoring_daily_rollups WHERE day = current_date - 1").fetchone() == (300,)
    assert c.execute("SELECT count(*) FROM ml.data_drift d JOIN ml.analysis_runs r ON r.id = d.run_id "
                     "WHERE r.model_name = 'orders' AND d.feature_name = 'amount'").fetchone()[0] >= 1
    versions = c.execute("SELECT version FROM ml.model_registry WHERE name = 'items_km' ORDER BY id").fetchall()
    assert len(versions) >= 2
    prod = c.execute("SELECT r.version FROM ml.model_aliases a JOIN ml.model_registry r ON r.id = a.model_id "
                     "WHERE a.model_name = 'items_km' AND a.alias = 'production'").fetchone()
    assert prod == versions[-1]
