-- ml.cluster_keywords: the terms that name each cluster of a run. From an empty database:
-- twelve short notes about three subjects, their embeddings made by hand, clustered in three.
CREATE TABLE notes (id bigint PRIMARY KEY, embedding real[], body text);
INSERT INTO notes VALUES
  (1,  '{0, 0}',   'The cat sleeps on the warm sofa.'),
  (2,  '{0, 1}',   'Our cat chased a mouse; the cat won.'),
  (3,  '{1, 0}',   'A kitten and a cat share the sofa.'),
  (4,  '{1, 1}',   'Feed the cat twice a day.'),
  (5,  '{9, 9}',   'The engine of the car needs oil.'),
  (6,  '{9, 10}',  'Change the car tyres before winter.'),
  (7,  '{10, 9}',  'An electric car has no engine oil.'),
  (8,  '{10, 10}', 'The car battery died in the cold.'),
  (9,  '{0, 20}',  'Bake the bread at 220 degrees.'),
  (10, '{1, 20}',  'Sourdough bread needs a starter.'),
  (11, '{0, 21}',  'Knead the dough, then bake the bread.'),
  (12, '{1, 21}',  NULL);
SELECT ml.cluster_embeddings('notes', params => '{"n_clusters": 3, "random_state": 0}') AS run \gset

-- The three best terms of each cluster, English stop words left out. A note without text
-- keeps its cluster and is left out of the counts (a NOTICE says so).
SELECT cluster, rank, term, round(weight::numeric, 6) AS weight
  FROM ml.cluster_keywords(:run, 'notes', 'body', '{"stop_words": "english", "top_n": 3}')
 ORDER BY cluster, rank;

-- They are kept with the run's cluster summaries, where a dashboard reads them.
SELECT cluster, size, keywords, array_length(keyword_weights, 1) AS weights
  FROM ml.cluster_summaries WHERE run_id = :run ORDER BY cluster;

-- Pairs of words too. Without stop words removed (the default, as scikit-learn's
-- CountVectorizer()), "the" and its pairs are among the terms: "stop_words": "english" drops them.
SELECT cluster, string_agg(term, ', ' ORDER BY rank) AS terms
  FROM ml.cluster_keywords(:run, 'notes', 'body', '{"ngram_range": [1, 2], "top_n": 4}')
 GROUP BY cluster ORDER BY cluster;

-- Errors name the argument and its value, and say what to do.
\set VERBOSITY default
SELECT * FROM ml.cluster_keywords(:run, 'notes', 'text');
SELECT * FROM ml.cluster_keywords(:run, 'notes', 'embedding');
SELECT * FROM ml.cluster_keywords(:run, 'notes', 'body', '{"ngram_range": [3, 1]}');
SELECT * FROM ml.cluster_keywords(:run, 'notes', 'body', '{"stop_words": "french"}');
SELECT * FROM ml.cluster_keywords(:run, 'notes', 'body', '{"min_df": 5}');
SELECT * FROM ml.cluster_keywords(-1, 'notes', 'body');
