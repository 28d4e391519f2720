-- Typed joins back to the source: ml.run_items(run_id, NULL::<key type>) gives a run's items
-- with item_id in the source key's type, so the join uses the source's primary-key index with
-- no cast on the source side. Keys of type bigint, integer, uuid and text.
CREATE TABLE big_items (id bigint PRIMARY KEY, title text, embedding real[]);
INSERT INTO big_items SELECT i, 'item ' || i, ARRAY[i % 3 * 10 + i % 7 * 0.1, i % 5 * 0.1]::real[] FROM generate_series(1, 50000) i;
CREATE TABLE int_items (id integer PRIMARY KEY, title text, embedding real[]);
INSERT INTO int_items SELECT id, title, embedding FROM big_items;
CREATE TABLE uuid_items (id uuid PRIMARY KEY, title text, embedding real[]);
INSERT INTO uuid_items SELECT ('00000000-0000-0000-0000-' || lpad(id::text, 12, '0'))::uuid, title, embedding FROM big_items;
CREATE TABLE text_items (id text PRIMARY KEY, title text, embedding real[]);
INSERT INTO text_items SELECT 'k' || id, title, embedding FROM big_items;
ANALYZE big_items, int_items, uuid_items, text_items;
-- Runs over 30 rows of each (through views), joined back to the 50,000-row tables.
CREATE VIEW big_sample AS SELECT * FROM big_items WHERE id <= 30;
CREATE VIEW uuid_sample AS SELECT * FROM uuid_items WHERE title IN (SELECT title FROM big_sample);
CREATE VIEW text_sample AS SELECT * FROM text_items WHERE title IN (SELECT title FROM big_sample);
SELECT ml.cluster_embeddings('big_sample', params => '{"n_clusters": 3, "random_state": 0}') AS big_run \gset
SELECT ml.cluster_embeddings('uuid_sample', params => '{"n_clusters": 3, "random_state": 0}') AS uuid_run \gset
SELECT ml.cluster_embeddings('text_sample', params => '{"n_clusters": 3, "random_state": 0}') AS text_run \gset
ANALYZE ml.cluster_assignments;

SELECT s.id, s.title, r.cluster, pg_typeof(r.item_id) AS item_id_type
  FROM ml.run_items(:big_run, NULL::bigint) r JOIN big_items s ON s.id = r.item_id
 ORDER BY s.id LIMIT 4;
SELECT count(*) AS items, count(DISTINCT r.cluster) AS clusters
  FROM ml.run_items(:uuid_run, NULL::uuid) r JOIN uuid_items s ON s.id = r.item_id;

-- The plans: every join reaches the source through its primary key, by the typed item_id.
CREATE FUNCTION pg_temp.source_scans(query text, source text) RETURNS TABLE (scan text, index text, by_item_key boolean)
LANGUAGE plpgsql AS $$
DECLARE p jsonb;
BEGIN
  EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || query INTO p;
  RETURN QUERY SELECT n ->> 'Node Type', n ->> 'Index Name', coalesce(n ->> 'Index Cond', '') LIKE '%ml.item_key(%'
    FROM jsonb_path_query(p, 'strict $.** ? (exists (@."Relation Name"))') n
   WHERE n ->> 'Relation Name' = source;
END $$;
SELECT k.key_type, s.*
  FROM (VALUES ('bigint', format('SELECT s.title FROM ml.run_items(%s, NULL::bigint) r JOIN big_items s ON s.id = r.item_id', :big_run), 'big_items'),
               ('integer', format('SELECT s.title FROM ml.run_items(%s, NULL::integer) r JOIN int_items s ON s.id = r.item_id', :big_run), 'int_items'),
               ('uuid', format('SELECT s.title FROM ml.run_items(%s, NULL::uuid) r JOIN uuid_items s ON s.id = r.item_id', :uuid_run), 'uuid_items'),
               ('text', format('SELECT s.title FROM ml.run_items(%s, NULL::text) r JOIN text_items s ON s.id = r.item_id', :text_run), 'text_items')) k(key_type, query, source),
       pg_temp.source_scans(k.query, k.source) s
 ORDER BY 1;

-- ml.item_key alone; an id that is not a value of the key type is an error.
SELECT ml.item_key('42', NULL::bigint) + 1 AS next, ml.item_key('2026-12-03', NULL::date) AS day;
SELECT ml.item_key('k7', NULL::bigint);

DROP VIEW big_sample, uuid_sample, text_sample;
DROP TABLE big_items, int_items, uuid_items, text_items;
DELETE FROM ml.analysis_runs;
