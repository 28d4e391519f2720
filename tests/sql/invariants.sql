-- Invariants of the stored results, checked from the inside (each query returns true, or the
-- count 0, when the invariant holds).

-- The spec's 34 tables of tenant data, ml.cluster_summaries (0.3.0), and ml.tenant_access
-- (which roles may use which tenant, the only table without tenant_id).
SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'))
         AS tables_with_tenant,
       string_agg(c.relname, ',') FILTER (WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
                                                            WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'))
         AS tables_without
  FROM pg_class c WHERE c.relnamespace = 'ml'::regnamespace AND c.relkind IN ('r', 'p');

-- A K-Means run: metrics.cluster_sizes, row_count and the assignment rows tell the same story,
-- and the inertia is the sum of the squared distances recorded per item.
CREATE TABLE inv_points AS SELECT g AS id, ARRAY[g % 5, (g * 7) % 11, g % 3]::real[] AS embedding
  FROM generate_series(1, 5000) g;
SELECT ml.cluster_embeddings('inv_points', params => '{"n_clusters": 6}') AS run \gset
SELECT count(*) AS size_mismatches
  FROM (SELECT a.cluster, count(*) AS n FROM ml.cluster_assignments a WHERE a.run_id = :run GROUP BY 1) c,
       ml.analysis_runs r
 WHERE r.id = :run AND c.n IS DISTINCT FROM (r.metrics -> 'cluster_sizes' ->> c.cluster)::bigint;
SELECT r.row_count = 5000 AS row_count_right,
       abs((r.metrics ->> 'inertia')::float8 - (SELECT sum(distance ^ 2) FROM ml.cluster_assignments WHERE run_id = :run))
         / (r.metrics ->> 'inertia')::float8 < 1e-5 AS inertia_is_the_sum_of_squared_distances
  FROM ml.analysis_runs r WHERE r.id = :run;

-- A near-duplicate run: 3,000 hashes in 300 groups of near-copies (a few bits flipped), plus
-- exact copies. Every member is within the radius of its leader, and the metrics count the rows.
CREATE TABLE inv_hashes AS
  SELECT g AS id,
         ('x' || substr(md5((g % 300)::text), 1, 16))::bit(64)::bigint # (1::bigint << (g % 7)) AS phash,
         sha256(((g % 1500)::text)::bytea) AS sha
    FROM generate_series(1, 3000) g;
SELECT ml.group_near_duplicates('inv_hashes', sha256_column => 'sha') AS dup_run \gset
SELECT bool_and(ml.hamming_distance(m.phash, l.phash) <= 10) AS members_within_radius_of_leader
  FROM ml.duplicate_assignments d JOIN inv_hashes m ON m.id::text = d.item_id
  JOIN inv_hashes l ON l.id::text = d.similar_group_id
 WHERE d.run_id = :dup_run;
SELECT (r.metrics ->> 'items_in_similar_groups')::bigint =
         (SELECT count(*) FROM ml.duplicate_assignments WHERE run_id = :dup_run AND similar_group_id IS NOT NULL)
       AND (r.metrics ->> 'items_in_exact_groups')::bigint =
         (SELECT count(*) FROM ml.duplicate_assignments WHERE run_id = :dup_run AND exact_group_id IS NOT NULL)
         AS metrics_count_the_rows,
       (r.metrics ->> 'items_in_similar_groups')::bigint > 0 AND (r.metrics ->> 'items_in_exact_groups')::bigint > 0
         AS both_kinds_found
  FROM ml.analysis_runs r WHERE r.id = :dup_run;
-- The settings and their defaults (registered when the library loads: on the first call of a
-- pg_mlkit function in the session, as above).
SELECT name, setting, unit, boot_val FROM pg_settings WHERE name LIKE 'pg_mlkit.%' ORDER BY name;
DROP TABLE inv_points, inv_hashes;
