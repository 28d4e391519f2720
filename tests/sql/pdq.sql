-- ml.pdq and ml.pdq_dihedral: Meta's PDQ hash of image bytes, equal to pdqhash's. From an
-- empty database: a small picture (24 x 18 PNG), the same picture turned a quarter, mirrored.
CREATE TABLE pictures (id int PRIMARY KEY, image bytea);
INSERT INTO pictures VALUES
  (1, decode('89504e470d0a1a0a0000000d4948445200000018000000120802000000ce8e89c90000012a4944415478da9594b192c3200c445f1217942a5dfaffbfe63e8132e5969457088170b8c99c47e311422ccb22f1000cfc6fe10b3044b7393752214d031c1ebc3e8022217007dc95a2754ebf0a189c70c109670c29344f339aa524b7022dfe40e3c8c4afd84f899705dc92e1d19fc9fa7913e8d3369f2527fc837f7d5ad966b19dfc2d9e9d6559dd810e46394dc1b58e3b91fa56152ea89111cba415a86271644b04436e09b0bad6117d67c123e28e6286f5591b9b49c86678a31b0ee42874946eb2ce550864037cbdcad1030793a045855f5366d7cde5d2c2c8a2ca24cce6f51b9866cd6519aa0f2db5ca1d0b8eb517b7404a4b58bb3055f6f79acd9ae8cf527d7e2be10dc8cd516a11eddf98cd709ef386f58ae70028cbbb5004efb8b577e35d680d9542635ac72afc02308798108d25e6d10000000049454e44ae426082', 'hex')),
  (2, decode('89504e470d0a1a0a0000000d494844520000001200000018080200000078373a66000001244944415478da7d9331b2c33008449f13152a2953e608ff08fffea770e9724b9529240b849d301e8d07b4c0b268e38f6f66e19c2600ca7225041d230f0a0c044f5e606050e10540c580963140850615cac0bccfe43afb4835d76a656026b2c37607dbcab6bb1f5e6d7e767e6106c9caafa95d6ca6788c5f850efba1ec5616605f13ee8eb1c851f38a36fe339989348ddbe6128e631b5b9260ead3ef152c91162ade84127193631252e5aa2920758fc9659d4881363377981733817883c90575eac5eefad89735bec228714942b5810c0c2cc8612526b48bf2f665bf4a2496b6d690eef744e5e702daa97df2efcffe3e2b000d04071cb4837a4083466d2332e32a0a4fccd68684041a9155ee88596152dce4652eda6ee711e81bf995f75526476ef3a7b41f56158fc9b69e38a50000000049454e44ae426082', 'hex')),
  (3, decode('89504e470d0a1a0a0000000d4948445200000018000000120802000000ce8e89c90000011d4944415478da959431b284300c43dff22928556e49f9cbbdff69720495945b24260e84623d1e86191b4596155e7c68a148c0f18cec45f716a7c67540d90308281d51b7cc4005047fbc47941d76d80038e000d8e07db4e2ffd1da37d8a2e5e88c6a5414d2a14231cb798a8271090e8665188d8432869eb35683916fea999f228d764a778a9da0eff8b3ad850a6de85a7660818d5019291867ac9570c7a92ea0f81ee7ba4a6fb191030e78e933d7b79142950e482084512b3a50eccc48238a383f9151b58191c031509f1baf194531a212a36a20371b9177e164ff95e405c6aba6e1923533a61d96dcbe3e3b23dbede26a0f0220bab399aacdcdec8f3760c9f83cbc7075ed24163331ae2798d364d0c8695fd9b8200fbf9dbc8c72b9245f48ec9eeaafa50a6a0000000049454e44ae426082', 'hex'));

-- The hash (256 bits) in hex, as pdqhash and ThreatExchange print it, and its quality (0 to 100).
SELECT id, ml.hash_to_hex((ml.pdq(image)).hash) AS pdq, (ml.pdq(image)).quality
  FROM pictures ORDER BY id;

-- Turned or mirrored, a picture's hash is far from the original's ...
SELECT a.id, b.id AS other, ml.hamming_distance((ml.pdq(a.image)).hash, (ml.pdq(b.image)).hash) AS distance
  FROM pictures a, pictures b WHERE a.id = 1 AND b.id > 1 ORDER BY b.id;

-- ... but equal to one of the original's 8 orientations (in pdqhash's order).
SELECT o.n, o.orientation, ml.hash_to_hex(d.hashes[o.n]) AS hash
  FROM pictures p, ml.pdq_dihedral(p.image) d,
       unnest(ARRAY['original', 'rotate90', 'rotate180', 'rotate270', 'flipx', 'flipy', 'flipplus1', 'flipminus1'])
         WITH ORDINALITY AS o(orientation, n)
 WHERE p.id = 1 ORDER BY o.n;

-- Stored as bit(256) (or bit varying, or bytea), with the orientations beside them:
-- grouping with the orientations puts the turned copies with their original. The quality
-- floor is PDQ's 50 by default; this small, smooth picture scores 46, so it is lowered.
CREATE TABLE photos (id int PRIMARY KEY, pdq bit(256), quality int, turns bit varying[]);
INSERT INTO photos SELECT id, (h).hash, (h).quality, (ml.pdq_dihedral(image)).hashes
  FROM (SELECT id, image, ml.pdq(image) AS h FROM pictures) s;
SELECT ml.group_near_duplicates('photos', hash_column => 'pdq',
         params => '{"radius": 31, "quality_column": "quality", "min_quality": 40, "dihedral_column": "turns"}') AS run \gset
SELECT item_id, similar_group_id IS NOT NULL AS grouped, hamming_distance
  FROM ml.duplicate_assignments WHERE run_id = :run ORDER BY item_id;

-- At the default floor of 50 every hash here is too poor to group.
SELECT ml.group_near_duplicates('photos', hash_column => 'pdq', params => '{"radius": 31, "quality_column": "quality"}');

-- The radius index takes 256-bit hashes: 16 bands of 16 bits, radius 31 probed in 272 keys.
CREATE INDEX ON photos USING gin (ml.hash_bands(pdq));
SELECT p.id FROM photos p, (SELECT pdq FROM photos WHERE id = 1) q
 WHERE ml.hash_bands(p.pdq) && ml.hash_probe(q.pdq, 31) AND ml.hamming_distance(p.pdq, q.pdq) <= 31;

-- Stored as bytea (32 bytes, as decode(hex, 'hex') gives them): the same distances, index
-- keys and groups.
CREATE TABLE photo_bytes AS SELECT id, decode(ml.hash_to_hex(pdq), 'hex') AS pdq, quality, turns FROM photos;
SELECT bool_and(ml.hash_bands(b.pdq) = ml.hash_bands(p.pdq)) AS same_keys,
       bool_and(ml.hash_probe(b.pdq, 31) = ml.hash_probe(p.pdq, 31)) AS same_probes,
       bool_and(ml.hamming_distance(b.pdq, c.pdq) = ml.hamming_distance(p.pdq, d.pdq)) AS same_distances
  FROM photo_bytes b JOIN photos p USING (id), photo_bytes c JOIN photos d USING (id);
SELECT ml.group_near_duplicates('photo_bytes', hash_column => 'pdq',
         params => '{"radius": 31, "quality_column": "quality", "min_quality": 40, "dihedral_column": "turns"}') AS run_bytes \gset
SELECT item_id, similar_group_id IS NOT NULL AS grouped, hamming_distance
  FROM ml.duplicate_assignments WHERE run_id = :run_bytes ORDER BY item_id;

-- Band by band, one GIN scan of 17 keys for each of the 16 bands, is how a search at PDQ's
-- radius runs fast (docs/benchmarks.md): ml.hash_bands(col) && ANY(ml.hash_probe_bands(q, 31)).
SELECT (SELECT array_agg(cardinality(k)) FROM unnest(ml.hash_probe_bands(pdq, 31)) k) AS keys_per_band
  FROM photo_bytes WHERE id = 1;
-- Exact: 3,000 random hashes and 3,000 copies each about 32 bits away (some within 31, some
-- not), searched by band through the index and by a full scan.
CREATE TABLE pdq_random AS
  WITH base AS (SELECT i, ('x' || md5(i::text) || md5((-i)::text))::bit(256) AS h FROM generate_series(1, 3000) i),
       mask AS (SELECT i, ('x' || md5('a' || i) || md5('b' || i))::bit(256) & ('x' || md5('c' || i) || md5('d' || i))::bit(256)
                          & ('x' || md5('e' || i) || md5('f' || i))::bit(256) AS m FROM generate_series(1, 3000) i)
  SELECT i AS id, h AS pdq FROM base UNION ALL SELECT 3000 + i, h # m FROM base JOIN mask USING (i);
CREATE INDEX ON pdq_random USING gin (ml.hash_bands(pdq));
ANALYZE pdq_random;
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE d <= 31) AS within_31, count(*) FILTER (WHERE d BETWEEN 32 AND 40) AS just_beyond
  FROM (SELECT ml.hamming_distance(a.pdq, b.pdq) AS d FROM pdq_random a JOIN pdq_random b ON b.id = a.id + 3000) s;
SELECT (SELECT count(*) FROM pdq_random q, pdq_random p
         WHERE q.id % 10 = 0 AND ml.hash_bands(p.pdq) && ANY(ml.hash_probe_bands(q.pdq, 31))
           AND ml.hamming_distance(p.pdq, q.pdq) <= 31) AS by_band,
       (SELECT count(*) FROM pdq_random q, pdq_random p
         WHERE q.id % 10 = 0 AND ml.hamming_distance(p.pdq, q.pdq) <= 31) AS scanned;
-- ml.hash_within(col, q, r) is the search written once: the planner inlines it into the
-- index conditions and the exact check, estimates its rows, and with a second index on
-- ml.hash_blocks (the same bits cut into runs) intersects both indexes' candidates before
-- reading any row. Both indexes use the operator class ml.hash_bands_ops.
CREATE INDEX pdq_random_bands ON pdq_random USING gin (ml.hash_bands(pdq) ml.hash_bands_ops);
CREATE INDEX pdq_random_blocks ON pdq_random USING gin (ml.hash_blocks(pdq) ml.hash_bands_ops);
ANALYZE pdq_random;
-- The plan's nodes (EXPLAIN's own text lists all 544 probe keys). Pass the query hash as a
-- value or a parameter: an expression (a sub-select) is not inlined.
CREATE FUNCTION pg_temp.plan_nodes(query text) RETURNS TABLE (node text, index text) LANGUAGE plpgsql AS $$
DECLARE plan jsonb;
BEGIN
  EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || query INTO plan;
  RETURN QUERY SELECT n ->> 'Node Type', n ->> 'Index Name' FROM jsonb_path_query(plan, '$.**') AS n WHERE n ? 'Node Type';
END $$;
SELECT ml.hash_to_hex(pdq) AS q1 FROM pdq_random WHERE id = 1 \gset
SELECT * FROM pg_temp.plan_nodes($$SELECT id FROM pdq_random WHERE ml.hash_within(pdq, ('x' || '$$ || :'q1' || $$')::bit(256), 31)$$);
SELECT (SELECT count(*) FROM pdq_random q, pdq_random p
         WHERE q.id % 10 = 0 AND ml.hash_within(p.pdq, q.pdq, 31)) AS within,
       (SELECT array_agg(cardinality(k)) FROM unnest(ml.hash_probe_blocks(pdq, 31)) k) AS keys_per_block,
       cardinality(ml.hash_blocks(pdq)) AS blocks
  FROM pdq_random WHERE id = 1;
-- Without the second index, or any index, the same rows.
DROP INDEX pdq_random_blocks;
SELECT count(*) AS within_one_index FROM pdq_random q, pdq_random p WHERE q.id % 10 = 0 AND ml.hash_within(p.pdq, q.pdq, 31);
RESET enable_seqscan;
DROP INDEX pdq_random_bands;
SELECT count(*) AS within_no_index FROM pdq_random q, pdq_random p WHERE q.id % 10 = 0 AND ml.hash_within(p.pdq, q.pdq, 31);
-- As bytea: the same.
SELECT count(*) AS within_bytea FROM pdq_random q, pdq_random p
 WHERE q.id % 10 = 0 AND ml.hash_within(decode(ml.hash_to_hex(p.pdq), 'hex'), decode(ml.hash_to_hex(q.pdq), 'hex'), 31);

-- Errors.
\set VERBOSITY default
SELECT ml.hash_bands(''::bytea);
SELECT ml.hash_within(B'1010', B'101', 1);
SELECT ml.hash_probe_blocks(B'1010', 5);
SELECT ml.pdq('\x00010203'::bytea);
SELECT ml.pdq('\x89504e470d0a1a0a0000000d49484452'::bytea);
SELECT ml.hash_to_hex(B'101');
SELECT ml.group_near_duplicates('photos', hash_column => 'pdq', params => '{"dihedral_column": "quality"}');
