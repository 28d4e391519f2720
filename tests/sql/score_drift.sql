-- ml.score_drift: every column of two periods, tests chosen as Evidently chooses them.
-- The expected output of this file is what docs/functions/score_drift.md shows.

-- Two periods of orders, as views over one table: a view per time window.
CREATE TABLE orders (placed date, amount float8, items int, pay text, gift boolean);
INSERT INTO orders
  SELECT date '2026-01-01' + g % 31, 20 + (g * 37 % 101) * 0.8, g % 4, (ARRAY['card', 'cash', 'voucher'])[1 + g % 3], g % 5 = 0
    FROM generate_series(1, 600) g
  UNION ALL
  SELECT date '2026-02-01' + g % 28, 32 + (g * 37 % 101) * 0.8, g % 5, (ARRAY['card', 'card', 'cash'])[1 + g % 3], g % 5 = 0
    FROM generate_series(1, 400) g;
CREATE VIEW orders_january AS SELECT amount, items, pay, gift FROM orders WHERE placed < '2026-02-01';
CREATE VIEW orders_february AS SELECT amount, items, pay, gift FROM orders WHERE placed >= '2026-02-01';

-- A rule: alert when half the columns drift.
INSERT INTO ml.alert_rules (name, metric, comparison, threshold, severity) VALUES
  ('orders drift', 'drift_share', '>=', 0.5, 'high');

SELECT ml.score_drift('orders_january', 'orders_february', run => '{"model_name": "orders"}') AS run \gset
SELECT feature_name, method, round(statistic::numeric, 4) AS statistic, round(p_value::numeric, 6) AS p_value,
       threshold, is_drifted, reference_size, current_size
  FROM ml.data_drift WHERE run_id = :run ORDER BY id;
SELECT analysis_type, model_name, metrics -> 'columns' AS columns, metrics -> 'drifted_columns' AS drifted,
       metrics -> 'drift_share' AS drift_share, metrics -> 'dataset_drift' AS dataset_drift
  FROM ml.analysis_runs WHERE id = :run;
SELECT severity, title FROM ml.monitoring_alerts WHERE details ->> 'run_id' = :'run';

-- Methods and thresholds can be forced, for all columns or per column.
SELECT ml.score_drift('orders_january', 'orders_february', columns => ARRAY['amount', 'pay'], method => 'psi',
                      params => '{"columns": {"pay": {"method": "jensenshannon", "threshold": 0.3}}}') AS run2 \gset
SELECT feature_name, method, round(statistic::numeric, 4) AS statistic, threshold, is_drifted
  FROM ml.data_drift WHERE run_id = :run2 ORDER BY id;

-- Embedding columns (numeric arrays, or types that cast to real[] such as pgvector's vector):
-- a domain classifier by default, or the mean-embedding distance, or the share of drifted
-- components. The digits with even labels against those with odd ones: separable.
CREATE VIEW digits_even AS SELECT embedding FROM digits WHERE label % 2 = 0;
CREATE VIEW digits_odd AS SELECT embedding FROM digits WHERE label % 2 = 1;
SELECT ml.score_drift('digits_even', 'digits_odd') AS run3 \gset
SELECT ml.score_drift('digits_even', 'digits_odd', params => '{"columns": {"embedding": {"method": "distance"}}}') AS run4 \gset
SELECT ml.score_drift('digits_even', 'digits_odd', params => '{"columns": {"embedding": {"method": "ratio"}}}') AS run5 \gset
SELECT feature_name, method, round(statistic::numeric, 4) AS drift_score, threshold, is_drifted, reference_size, current_size
  FROM ml.data_drift WHERE run_id IN (:run3, :run4, :run5) ORDER BY id;

-- Bad input: SQLSTATE, message naming argument and value, hint; nothing written.
\set VERBOSITY default
\set SHOW_CONTEXT never
\set ON_ERROR_STOP 0
SELECT count(*) AS runs_before FROM ml.analysis_runs \gset
SELECT ml.score_drift('orders_january', 'orders_february', method => 'mmd');
SELECT ml.score_drift('orders_january', 'orders_february', columns => ARRAY['total']);
SELECT ml.score_drift('orders_january', 'orders_february', columns => ARRAY['pay'], method => 'ks');
SELECT ml.score_drift('orders_january', 'orders_february', params => '{"columns": {"amount": {"method": "t-test"}}}');
SELECT ml.score_drift('orders_january', 'orders_february', params => '{"drift_share": 2}');
SELECT ml.score_drift('orders_january', 'orders_february', params => '{"columns": {"placed": {"threshold": 0.2}}}');
SELECT ml.score_drift('digits_even', 'digits_odd', params => '{"columns": {"embedding": {"method": "ks"}}}');
SET pg_mlkit.max_memory_mb = 1;
CREATE VIEW many AS SELECT g::float8 AS amount FROM generate_series(1, 200000) g;
SELECT ml.score_drift('many', 'orders_january', columns => ARRAY['amount']);
RESET pg_mlkit.max_memory_mb;
CREATE VIEW inf_orders AS SELECT 'Infinity'::float8 AS amount;
SELECT ml.score_drift('orders_january', 'inf_orders', columns => ARRAY['amount']);
CREATE VIEW no_orders AS SELECT * FROM orders_february WHERE false;
SELECT ml.score_drift('orders_january', 'no_orders');
\set ON_ERROR_STOP 1
SELECT count(*) - :runs_before AS runs_written FROM ml.analysis_runs;
DROP VIEW many, no_orders, inf_orders, orders_january, orders_february, digits_even, digits_odd;
DROP TABLE orders;
DELETE FROM ml.alert_rules;
