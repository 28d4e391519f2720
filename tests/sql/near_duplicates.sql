-- Near-duplicates: Hamming distance, hex, perceptual hashes, the radius index, duplicate groups.
-- The expected output of this file is what docs/functions/near_duplicates.md shows.

-- Hamming distance on the three hash types; the sign bit of a bigint counts like any other.
SELECT ml.hamming_distance(0::bigint, -1::bigint) AS all_64,
       ml.hamming_distance(ml.hash_from_hex('c3d4e5f60718293a'), ml.hash_from_hex('c3d4e5f60718293b')) AS one_bit,
       ml.hamming_distance('\x00ff'::bytea, '\x0f0f'::bytea) AS bytea_bits,
       ml.hamming_distance(B'10110', B'00011') AS varbit_bits;

-- The operator <^> lives in schema ml: qualify it, or put ml on the search_path.
SELECT 5::bigint OPERATOR(ml.<^>) 3::bigint AS qualified;
SET search_path = public, ml;
SELECT 5::bigint <^> 3::bigint AS on_search_path;

-- pgvector's <~> on bit: both extensions can be installed; ours is <^>.
CREATE FUNCTION public.fake_pgvector_hamming(bit, bit) RETURNS float8
  LANGUAGE sql IMMUTABLE AS $$ SELECT 100.0 $$;
CREATE OPERATOR public.<~> (LEFTARG = bit, RIGHTARG = bit, FUNCTION = public.fake_pgvector_hamming);
CREATE TABLE bits (id int, b bit(8));
INSERT INTO bits VALUES (1, B'11110000'), (2, B'11110011');
SELECT a.id, b.id, a.b <^> b.b AS ours, a.b <~> b.b AS pgvectors
  FROM bits a, bits b WHERE a.id < b.id;
DROP TABLE bits;
DROP OPERATOR public.<~> (bit, bit);
DROP FUNCTION public.fake_pgvector_hamming(bit, bit);

-- Hex text as imagehash prints it, and back.
SELECT ml.hash_from_hex('826d562d5a55ab56') AS as_bigint,
       ml.hash_to_hex(-9048481323528377514) AS as_hex,
       ml.hash_to_hex(ml.hash_from_hex('ff')) AS padded;

-- Perceptual hashes of a PNG (24 × 16 pixels, a colour gradient): imagehash gives
-- phash 826d562d5a55ab56, dhash fffffffffffffefd, average_hash 000001071f7fffff.
CREATE TABLE images (id int PRIMARY KEY, image bytea);
INSERT INTO images VALUES (1, decode(
  'iVBORw0KGgoAAAANSUhEUgAAABgAAAAQCAIAAACDRijCAAAAY0lEQVR42q3SuQ6AIBBF0YfiLlJo/P9PtSMTEZjF5BRvmluNA7D+wSMCcHYp1BnRUG/xCnm1PDTofIZGhVJokqqEZpF6aOFrhri/zQltHMzQ3sQPhbIbCKLQkbnSloYicdLzAdVZCrD0uzJjAAAAAElFTkSuQmCC',
  'base64'));
SELECT ml.hash_to_hex(ml.phash(image)) AS phash,
       ml.hash_to_hex(ml.dhash(image)) AS dhash,
       ml.hash_to_hex(ml.ahash(image)) AS ahash
  FROM images;
DROP TABLE images;

-- Every hash within a radius, through a GIN index on the band keys.
CREATE TABLE hashes AS
  SELECT g AS id, (g::bigint * 2654435761 # (g::bigint << 40)) AS phash FROM generate_series(1, 20000) g;
CREATE INDEX hashes_bands ON hashes USING gin (ml.hash_bands(phash));
ANALYZE hashes;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM hashes
 WHERE ml.hash_bands(phash) && ml.hash_probe(1234567890123, 4)
   AND ml.hamming_distance(phash, 1234567890123) <= 4;
RESET enable_seqscan;
-- The index finds exactly what a full scan finds, at every radius.
SELECT r,
       (SELECT count(*) FROM hashes h, hashes q
         WHERE q.id <= 200 AND ml.hash_bands(h.phash) && ml.hash_probe(q.phash, r)
           AND ml.hamming_distance(h.phash, q.phash) <= r) AS indexed,
       (SELECT count(*) FROM hashes h, hashes q
         WHERE q.id <= 200 AND ml.hamming_distance(h.phash, q.phash) <= r) AS scanned
  FROM unnest(ARRAY[0, 4, 8, 14]) r;
SELECT array_length(ml.hash_probe(0, 4), 1) AS keys_r4, array_length(ml.hash_probe(0, 9), 1) AS keys_r9;
-- Band by band: ml.hash_probe_bands gives the same keys as one array a band, and
-- && ANY(...) runs one GIN scan a band (cheaper than one scan merging every key at large
-- radii); the rows are the same.
SELECT (SELECT array_agg(cardinality(k)) FROM unnest(ml.hash_probe_bands(0, 9)) k) AS keys_per_band_r9,
       (SELECT array_agg(x ORDER BY x) FROM unnest(ml.hash_probe_bands(0, 9)) k, unnest(k::integer[]) x)
         = (SELECT array_agg(x ORDER BY x) FROM unnest(ml.hash_probe(0, 9)) x) AS same_keys;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM hashes
 WHERE ml.hash_bands(phash) && ANY(ml.hash_probe_bands(1234567890123, 4))
   AND ml.hamming_distance(phash, 1234567890123) <= 4;
SELECT r,
       (SELECT count(*) FROM hashes h, hashes q
         WHERE q.id <= 200 AND ml.hash_bands(h.phash) && ANY(ml.hash_probe_bands(q.phash, r))
           AND ml.hamming_distance(h.phash, q.phash) <= r) AS by_band,
       (SELECT count(*) FROM hashes h, hashes q
         WHERE q.id <= 200 AND ml.hamming_distance(h.phash, q.phash) <= r) AS scanned
  FROM unnest(ARRAY[0, 4, 9, 14]) r;
-- ml.hash_within(col, q, r): the same search in one call, over an index with the operator
-- class ml.hash_bands_ops (whose estimates know band keys are rare).
CREATE INDEX hashes_within ON hashes USING gin (ml.hash_bands(phash) ml.hash_bands_ops);
EXPLAIN (COSTS OFF)
SELECT id FROM hashes WHERE ml.hash_within(phash, 1234567890123, 4);
SELECT r, (SELECT count(*) FROM hashes h, hashes q
            WHERE q.id <= 200 AND ml.hash_within(h.phash, q.phash, r)) AS within
  FROM unnest(ARRAY[0, 4, 9, 14]) r;
RESET enable_seqscan;
DROP TABLE hashes;

-- Duplicate groups: exact copies, a burst, a panorama, similar shots.
CREATE TABLE photos (
  id       int PRIMARY KEY,
  phash    bigint,
  sha256   bytea,
  taken_at timestamptz
);
INSERT INTO photos VALUES
  -- two copies of one file
  (1, ml.hash_from_hex('f0f0f0f0f0f0f0f0'), sha256('file one'), '2024-05-01 10:00:00+00'),
  (2, ml.hash_from_hex('f0f0f0f0f0f0f0f0'), sha256('file one'), '2024-05-03 08:00:00+00'),
  -- a burst: three shots in two seconds, a bit or two apart
  (3, ml.hash_from_hex('0123456789abcdef'), sha256('burst 1'), '2024-05-02 12:00:00+00'),
  (4, ml.hash_from_hex('0123456789abcdee'), sha256('burst 2'), '2024-05-02 12:00:01+00'),
  (5, ml.hash_from_hex('0123456789abcdec'), sha256('burst 3'), '2024-05-02 12:00:02+00'),
  -- a panorama: four shots 5 s apart, each 4 bits from the next, the ends 12 apart
  (6, ml.hash_from_hex('5555555555555555'), sha256('pano 1'), '2024-05-02 15:00:00+00'),
  (7, ml.hash_from_hex('555555555555555a'), sha256('pano 2'), '2024-05-02 15:00:05+00'),
  (8, ml.hash_from_hex('55555555555555aa'), sha256('pano 3'), '2024-05-02 15:00:10+00'),
  (9, ml.hash_from_hex('5555555555555aaa'), sha256('pano 4'), '2024-05-02 15:00:15+00'),
  -- the same scene a day apart, and a re-encoded copy of the first (same hash, other bytes)
  (10, ml.hash_from_hex('3333333333333333'), sha256('scene a'), '2024-05-04 09:00:00+00'),
  (11, ml.hash_from_hex('333333333333330f'), sha256('scene b'), '2024-05-05 09:00:00+00'),
  (12, ml.hash_from_hex('3333333333333333'), sha256('scene a, re-encoded'), NULL),
  -- unrelated
  (13, ml.hash_from_hex('9a8b7c6d5e4f3021'), sha256('other'), '2024-05-06 09:00:00+00');

SELECT ml.group_near_duplicates('photos', sha256_column => 'sha256', taken_at_column => 'taken_at') AS run_id \gset
SELECT analysis_type, row_count, clustering_name, clustering_params
  FROM ml.analysis_runs WHERE id = :run_id;
SELECT metrics - 'timings_ms' AS metrics FROM ml.analysis_runs WHERE id = :run_id;
SELECT item_id, left(exact_group_id, 12) AS exact_group, exact_group_confidence AS exact_conf,
       similar_group_id AS similar_group, similar_group_confidence AS similar_conf,
       similar_group_type AS type, hamming_distance AS distance
  FROM ml.duplicate_assignments WHERE run_id = :run_id ORDER BY item_id::int;

-- Copying the fields into the application's own table of photos.
ALTER TABLE photos ADD COLUMN exact_group_id text, ADD COLUMN exact_group_confidence text,
  ADD COLUMN similar_group_id text, ADD COLUMN similar_group_confidence text, ADD COLUMN similar_group_type text;
UPDATE photos p
   SET exact_group_id = d.exact_group_id, exact_group_confidence = d.exact_group_confidence,
       similar_group_id = d.similar_group_id, similar_group_confidence = d.similar_group_confidence,
       similar_group_type = d.similar_group_type
  FROM ml.duplicate_assignments d
 WHERE d.run_id = :run_id AND d.item_id = p.id::text;
SELECT id, similar_group_id, similar_group_type FROM photos WHERE similar_group_id IS NOT NULL ORDER BY id;

-- Without digests or times: identical hashes are one group, there are no bursts or panoramas.
SELECT ml.group_near_duplicates('photos', params => '{"radius": 4}') AS run2 \gset
SELECT item_id, exact_group_id, similar_group_id, similar_group_type, similar_group_confidence
  FROM ml.duplicate_assignments WHERE run_id = :run2 ORDER BY item_id::int;

-- Hashes as hex text (imagehash's str()) work the same.
CREATE VIEW photos_hex AS SELECT id, ml.hash_to_hex(phash) AS phash FROM photos;
SELECT ml.group_near_duplicates('photos_hex', params => '{"radius": 4}') AS run3 \gset
SELECT count(*) AS differing_rows FROM (
  (SELECT item_id, similar_group_id, similar_group_confidence FROM ml.duplicate_assignments WHERE run_id = :run2
   EXCEPT SELECT item_id, similar_group_id, similar_group_confidence FROM ml.duplicate_assignments WHERE run_id = :run3)
  UNION ALL
  (SELECT item_id, similar_group_id, similar_group_confidence FROM ml.duplicate_assignments WHERE run_id = :run3
   EXCEPT SELECT item_id, similar_group_id, similar_group_confidence FROM ml.duplicate_assignments WHERE run_id = :run2)) d;
DROP VIEW photos_hex;

-- Bit strings: a bit(64) column groups exactly as the bigint column with the same bits;
-- longer bit strings (a 256-bit hash, pgvector's binary_quantize() of an embedding) group
-- by the same rules, all of one length.
CREATE VIEW photos_bits AS SELECT id, phash::bit(64) AS phash FROM photos;
SELECT ml.group_near_duplicates('photos_bits', params => '{"radius": 4}') AS run4 \gset
SELECT count(*) AS differing_rows FROM (
  (SELECT item_id, similar_group_id, similar_group_confidence FROM ml.duplicate_assignments WHERE run_id = :run2
   EXCEPT SELECT item_id, similar_group_id, similar_group_confidence FROM ml.duplicate_assignments WHERE run_id = :run4)
  UNION ALL
  (SELECT item_id, similar_group_id, similar_group_confidence FROM ml.duplicate_assignments WHERE run_id = :run4
   EXCEPT SELECT item_id, similar_group_id, similar_group_confidence FROM ml.duplicate_assignments WHERE run_id = :run2)) d;
DROP VIEW photos_bits;
CREATE TABLE codes AS
SELECT i AS id, (repeat(CASE WHEN i <= 3 THEN '1100' ELSE '0011' END, 64)::bit(256)
                 # ((B'1' || repeat('0', 255))::bit(256) >> (i * 7 % 256))) AS code
  FROM generate_series(1, 6) i;
SELECT ml.group_near_duplicates('codes', hash_column => 'code', params => '{"radius": 4}') AS run5 \gset
SELECT item_id, similar_group_id, hamming_distance, similar_group_confidence
  FROM ml.duplicate_assignments WHERE run_id = :run5 ORDER BY item_id::int;
SELECT clustering_params -> 'hash_bits' AS hash_bits FROM ml.analysis_runs WHERE id = :run5;
-- The radius index takes bit strings too: 64 bits get the bigint's keys, longer strings
-- bands of 16 bits (here 16 bands: a radius up to 47 is probed, exactly up to 15).
CREATE INDEX ON codes USING gin (ml.hash_bands(code));
SELECT cardinality(ml.hash_bands(code)) AS bands, cardinality(ml.hash_probe(code, 20)) AS probe_keys,
       ml.hash_bands(phash::bit(64)) = ml.hash_bands(phash) AS same_keys_as_bigint
  FROM codes, (SELECT phash FROM photos WHERE id = 1) p WHERE id = 1;
SELECT c.id, ml.hamming_distance(c.code, q.code) AS distance
  FROM codes c, (SELECT code FROM codes WHERE id = 1) q
 WHERE ml.hash_bands(c.code) && ml.hash_probe(q.code, 4) AND ml.hamming_distance(c.code, q.code) <= 4
 ORDER BY c.id;

-- Deleting the run deletes its assignments.
DELETE FROM ml.analysis_runs WHERE id = :run_id;
SELECT count(*) AS left_over FROM ml.duplicate_assignments WHERE run_id = :run_id;

-- Bad input: an error with SQLSTATE, a message naming the argument and value, a hint; nothing written.
\set VERBOSITY default
\set ON_ERROR_STOP 0
SELECT count(*) AS runs_before FROM ml.analysis_runs \gset
SELECT ml.hamming_distance('\x0102'::bytea, '\x01'::bytea);
SELECT ml.hamming_distance(B'101', B'10');
SELECT ml.hash_from_hex('not hex');
SELECT ml.hash_from_hex('123456789abcdef01');
SELECT ml.hash_probe(0, 15);
SELECT ml.phash('\x00010203'::bytea);
SELECT ml.phash('\x89504e470d0a1a0a0000000d49484452'::bytea);
SELECT ml.dhash('\xffd8ffe000104a4649460001'::bytea);
-- A PNG header that declares 100000 × 100000 pixels: refused before decoding.
SELECT ml.ahash(decode('89504e470d0a1a0a0000000d49484452000186a0000186a00806000000a8520bc8', 'hex'));
-- The pixel limit is a superuser's setting: lower it, and the 24 × 16 gradient is refused.
SET pg_mlkit.max_image_pixels = 100;
SELECT ml.phash(decode(
  'iVBORw0KGgoAAAANSUhEUgAAABgAAAAQCAIAAACDRijCAAAAY0lEQVR42q3SuQ6AIBBF0YfiLlJo/P9PtSMTEZjF5BRvmluNA7D+wSMCcHYp1BnRUG/xCnm1PDTofIZGhVJokqqEZpF6aOFrhri/zQltHMzQ3sQPhbIbCKLQkbnSloYicdLzAdVZCrD0uzJjAAAAAElFTkSuQmCC',
  'base64'));
RESET pg_mlkit.max_image_pixels;
CREATE ROLE mlkit_dup_user;
SET ROLE mlkit_dup_user;
SET pg_mlkit.max_image_pixels = 1000000000;
RESET ROLE;
DROP ROLE mlkit_dup_user;
SELECT ml.group_near_duplicates('photos', params => '{"radius": 40}');
SELECT ml.group_near_duplicates('photos', params => '{"radius": "ten"}');
SELECT ml.group_near_duplicates('photos', params => '{"high_distance": 5, "medium_distance": 3}');
SELECT ml.group_near_duplicates('photos', params => '{"threshold": 3}');
SELECT ml.group_near_duplicates('photos', hash_column => 'nope');
SELECT ml.group_near_duplicates('photos', hash_column => 'taken_at');
CREATE VIEW mixed_codes AS SELECT id, code::varbit AS code FROM codes UNION ALL SELECT 7, B'101';
SELECT ml.group_near_duplicates('mixed_codes', hash_column => 'code');
SELECT ml.group_near_duplicates('codes', hash_column => 'code', params => '{"radius": 300}');
SELECT ml.hash_probe(code, 48) FROM codes WHERE id = 1;
SELECT ml.group_near_duplicates('photos', taken_at_column => 'sha256');
SELECT ml.group_near_duplicates('photos', sha256_column => 'taken_at');
SELECT ml.group_near_duplicates(NULL);
SET pg_mlkit.max_memory_mb = 1;
CREATE VIEW many AS SELECT g AS id, g::bigint AS phash FROM generate_series(1, 10000) g;
SELECT ml.group_near_duplicates('many');
RESET pg_mlkit.max_memory_mb;
DROP VIEW many;
INSERT INTO photos (id, phash) VALUES (14, NULL);
SELECT ml.group_near_duplicates('photos');
CREATE VIEW bad_hex AS SELECT 1 AS id, 'xyz'::text AS phash;
SELECT ml.group_near_duplicates('bad_hex');
CREATE VIEW short_bytes AS SELECT 1 AS id, '\x0102'::bytea AS phash UNION ALL SELECT 2, '\x010203';
SELECT ml.group_near_duplicates('short_bytes');
CREATE VIEW no_rows AS SELECT 1 AS id, 1::bigint AS phash WHERE false;
SELECT ml.group_near_duplicates('no_rows');
\set ON_ERROR_STOP 1
SELECT count(*) - :runs_before AS runs_written FROM ml.analysis_runs;
DROP VIEW bad_hex, short_bytes, no_rows;
DROP TABLE photos;
RESET search_path;
