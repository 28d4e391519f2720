-- Drift statistics on two samples, equal to SciPy's and Evidently's.
-- The expected output of this file is what docs/functions/drift_statistics.md shows.

-- Wasserstein distance: the area between the two empirical CDFs (scipy.stats.wasserstein_distance).
SELECT ml.wasserstein_distance('{0, 1, 3}', '{5, 6, 8}') AS shifted_by_5,
       ml.wasserstein_distance('{1, 2, 2, 3}', '{1, 2, 2, 3}') AS same;

-- Kolmogorov–Smirnov (scipy.stats.ks_2samp): exact p-values up to 10,000 values a sample.
SELECT statistic, round(pvalue::numeric, 10) AS pvalue, statistic_location, statistic_sign, exact
  FROM ml.ks_2samp('{1, 2, 3}', '{4, 5, 6, 7}');
SELECT round(statistic::numeric, 6) AS statistic, round(pvalue::numeric, 6) AS pvalue, exact
  FROM ml.ks_2samp(array(SELECT (g * 0.37) % 1 FROM generate_series(1, 300) g),
                   array(SELECT ((g * 0.61) % 1) ^ 1.2 FROM generate_series(1, 250) g));
SELECT round(statistic::numeric, 6) AS statistic, round(pvalue::numeric, 6) AS pvalue, exact
  FROM ml.ks_2samp(array(SELECT (g * 0.37) % 1 FROM generate_series(1, 300) g),
                   array(SELECT ((g * 0.61) % 1) ^ 1.2 FROM generate_series(1, 250) g),
                   alternative => 'greater', method => 'asymp');

-- Two samples of a numerical column, the current one shifted: 200 values each.
CREATE TABLE readings (period text, value float8);
INSERT INTO readings
  SELECT 'reference', 10 + 3 * sin(g) + (g % 7) FROM generate_series(1, 200) g
  UNION ALL
  SELECT 'current', 11 + 3 * sin(g) + (g % 7) FROM generate_series(1, 200) g;
WITH s AS (
  SELECT array_agg(value ORDER BY value) FILTER (WHERE period = 'reference') AS ref,
         array_agg(value ORDER BY value) FILTER (WHERE period = 'current') AS cur
    FROM readings)
SELECT round(ml.wasserstein_distance(ref, cur)::numeric, 6) AS wasserstein,
       round(ml.psi(ref, cur)::numeric, 6) AS psi,
       round(ml.jensen_shannon_distance(ref, cur)::numeric, 6) AS jensen_shannon,
       round(ml.jensen_shannon_distance(ref, cur, base => 2)::numeric, 6) AS jensen_shannon_bits
  FROM s;
DROP TABLE readings;

-- Few distinct values: one bin per value; a value only one sample has gets Evidently's
-- small share (0.0001) instead of zero, so PSI stays finite.
SELECT round(ml.psi('{1, 1, 2, 2, 3}'::float8[], '{1, 2, 2, 4}'::float8[])::numeric, 6) AS psi_few_values;

-- Categories: PSI, Jensen–Shannon, the χ² test and the two-proportion z-test.
SELECT round(ml.psi('{card,card,cash,cash,cash,voucher}'::text[], '{card,card,card,card,cash,voucher}'::text[])::numeric, 6) AS psi,
       round(ml.jensen_shannon_distance('{card,card,cash,cash,cash,voucher}'::text[], '{card,card,card,card,cash,voucher}'::text[])::numeric, 6) AS jensen_shannon;
SELECT round(statistic::numeric, 6) AS statistic, round(pvalue::numeric, 6) AS pvalue
  FROM ml.chi_square_test('{card,card,cash,cash,cash,voucher}', '{card,card,card,card,cash,voucher}');
SELECT round(statistic::numeric, 6) AS z, round(pvalue::numeric, 6) AS pvalue
  FROM ml.z_test_proportions('{yes,no,no,no,no,no,no,no}', '{yes,yes,yes,no,no,no,no,no}');
-- The same test of a boolean column: the share of true.
SELECT round(statistic::numeric, 6) AS z, round(pvalue::numeric, 6) AS pvalue
  FROM ml.z_test_proportions('{t,f,f,f,f,f,f,f}'::boolean[], '{t,t,t,f,f,f,f,f}'::boolean[]);
-- A category the reference never had: infinitely unlikely under the reference's shares.
SELECT statistic, pvalue FROM ml.chi_square_test('{a,a,b}', '{a,b,c}');

-- Bad input: an error with SQLSTATE, a message naming the argument, a hint.
\set VERBOSITY default
\set ON_ERROR_STOP 0
SELECT ml.wasserstein_distance('{}', '{1}');
SELECT ml.psi('{1, NaN}'::float8[], '{1}'::float8[]);
SELECT ml.psi('{1, 2}'::float8[], '{1, Infinity}'::float8[]);
SELECT ml.wasserstein_distance('{1, NULL}', '{1}');
SELECT * FROM ml.chi_square_test('{a}', '{}');
SELECT * FROM ml.z_test_proportions('{a, NULL}', '{b}');
SELECT * FROM ml.z_test_proportions('{1, 2}'::int[], '{2}'::int[]);
SELECT ml.jensen_shannon_distance('{1}'::float8[], '{2}'::float8[], base => 1);
SELECT * FROM ml.ks_2samp('{1, 2}', '{3}', alternative => 'two_sided');
SELECT * FROM ml.ks_2samp('{1, 2}', '{3}', method => 'fast');
\set ON_ERROR_STOP 1
