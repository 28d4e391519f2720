"""ml.cluster_keywords against BERTopic 0.17's ClassTfidfTransformer over scikit-learn's
CountVectorizer, on real text (Debian package descriptions and licence texts, the corpus the
algorithm's unit tests also use) and on Unicode-heavy text: the same terms and weights within
1e-9, for runs stored by hand and for a real K-Means run over the documents' TF-IDF vectors.

BERTopic is installed without its dependencies (scripts/bootstrap.sh): only its
vectorizers/_ctfidf.py is loaded, by path, which needs no more than scikit-learn and SciPy."""
import importlib.util
import os

import numpy as np
import pytest
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from conftest import load_matrix

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "mlkit", "tests", "fixtures", "keywords")


def class_tfidf():
    spec = importlib.util.find_spec("bertopic")  # the package, without running its __init__
    path = os.path.join(spec.submodule_search_locations[0], "vectorizers", "_ctfidf.py")
    mspec = importlib.util.spec_from_file_location("bertopic_ctfidf", path)
    module = importlib.util.module_from_spec(mspec)
    mspec.loader.exec_module(module)
    return module.ClassTfidfTransformer


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[s[i + 1]])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def corpus(name):
    """(label, text) rows of a fixture corpus, in file order."""
    with open(os.path.join(FIXTURES, f"corpus_{name}.tsv"), encoding="utf-8") as f:
        return [(int(l.split("\t", 1)[0]), unescape(l.rstrip("\n").split("\t", 1)[1])) for l in f if l.strip()]


def reference(labelled, opts, top_n=10):
    """BERTopic's keywords: each cluster's documents (in id order) joined by a space, counted by
    CountVectorizer, weighed by ClassTfidfTransformer; the top terms by weight, then term."""
    labels = sorted({l for l, _ in labelled})
    joined = [" ".join(t for l2, t in labelled if l2 == l) for l in labels]
    kw = {k: opts[k] for k in ("lowercase", "min_df") if k in opts}
    if "ngram_range" in opts:
        kw["ngram_range"] = tuple(opts["ngram_range"])
    if opts.get("stop_words"):
        kw["stop_words"] = opts["stop_words"]
    vec = CountVectorizer(**kw)
    X = vec.fit_transform(joined)
    words = vec.get_feature_names_out()
    ct = class_tfidf()(bm25_weighting=opts.get("bm25_weighting", False),
                        reduce_frequent_words=opts.get("reduce_frequent_words", False))
    C = ct.fit_transform(X).tocsr()
    out = {}
    for i, l in enumerate(labels):
        row = C.getrow(i)
        terms = sorted(((float(v), words[j]) for j, v in zip(row.indices, row.data) if v > 0), key=lambda p: (-p[0], p[1]))
        out[l] = [(t, w) for w, t in terms[:top_n]]
    return out


def store_docs(conn, table, labelled):
    """The documents as a table (id, text) and a clustering run that put each in its label."""
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, text text)")
    with conn.cursor().copy(f"COPY {table} (id, text) FROM STDIN") as cp:
        for i, (_, t) in enumerate(labelled):
            cp.write_row((i, t))
    run = conn.execute("INSERT INTO ml.analysis_runs (analysis_type) VALUES ('clustering') RETURNING id").fetchone()[0]
    with conn.cursor().copy("COPY ml.cluster_assignments (run_id, item_id, cluster) FROM STDIN") as cp:
        for i, (l, _) in enumerate(labelled):
            cp.write_row((run, str(i), l))
    return run


def ours(conn, run, table, params="{}"):
    rows = conn.execute("SELECT cluster, rank, term, weight FROM ml.cluster_keywords(%s, %s, 'text', %s) ORDER BY cluster, rank",
                        (run, table, params)).fetchall()
    out = {}
    for c, r, t, w in rows:
        assert r == len(out.setdefault(c, [])) + 1
        out[c].append((t, w))
    return out


def assert_same(got, want):
    assert sorted(got) == sorted(k for k, v in want.items() if v), (sorted(got), sorted(want))
    for c, terms in want.items():
        g = got.get(c, [])
        assert [t for t, _ in g] == [t for t, _ in terms], (c, g[:5], terms[:5])
        np.testing.assert_allclose([w for _, w in g], [w for _, w in terms], rtol=0, atol=1e-9)


OPTIONS = [
    {},
    {"stop_words": "english"},
    {"ngram_range": [1, 2], "stop_words": "english"},
    {"ngram_range": [2, 3]},
    {"lowercase": False},
    {"min_df": 2, "stop_words": "english"},
    {"min_df": 0.5},
    {"bm25_weighting": True},
    {"reduce_frequent_words": True, "ngram_range": [1, 2]},
]


@pytest.mark.parametrize("name", ["real", "unicode"])
@pytest.mark.parametrize("opts", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_equal_to_bertopic_on_stored_labels(conn, name, opts):
    import json
    labelled = corpus(name)
    run = store_docs(conn, f"kw_{name}", labelled)
    assert_same(ours(conn, run, f"kw_{name}", json.dumps(opts)), reference(labelled, opts))


def test_equal_to_bertopic_on_a_kmeans_run_and_stored_with_the_summaries(conn):
    """A real run: K-Means over the documents' TF-IDF vectors (reduced to 20 dimensions), then the
    keywords of the clusters it found, compared with BERTopic on the run's own labels."""
    docs = [t for _, t in corpus("real")]
    X = TruncatedSVD(20, random_state=0).fit_transform(TfidfVectorizer(stop_words="english").fit_transform(docs))
    load_matrix(conn, "kw_docs", X)
    conn.execute("ALTER TABLE kw_docs ADD COLUMN text text")
    with conn.cursor() as cur:
        cur.executemany("UPDATE kw_docs SET text = %s WHERE id = %s", [(t, i) for i, t in enumerate(docs)])
    run = conn.execute("""SELECT ml.cluster_embeddings('kw_docs', params => '{"n_clusters": 6, "random_state": 0}')""").fetchone()[0]
    labels = dict(conn.execute("SELECT item_id::int, cluster FROM ml.cluster_assignments WHERE run_id = %s", (run,)).fetchall())
    labelled = [(labels[i], t) for i, t in enumerate(docs)]
    want = reference(labelled, {"stop_words": "english"}, top_n=5)
    got = ours(conn, run, "kw_docs", '{"stop_words": "english", "top_n": 5}')
    assert_same(got, want)
    stored = dict((c, (k, w)) for c, k, w in conn.execute(
        "SELECT cluster, keywords, keyword_weights FROM ml.cluster_summaries WHERE run_id = %s", (run,)).fetchall())
    assert sorted(stored) == sorted(want)
    for c, terms in want.items():
        assert stored[c][0] == [t for t, _ in terms]
        np.testing.assert_allclose(stored[c][1], [w for _, w in terms], rtol=0, atol=1e-9)
    # The picture names the clusters by their words.
    svg = conn.execute("SELECT ml.plot_run(%s, source => 'kw_docs')", (run,)).fetchone()[0]
    top = want[max(want, key=lambda c: sum(1 for l, _ in labelled if l == c))][0][0]
    assert f": {top}" in svg


def test_min_documents_prunes_and_bounds_memory_in_two_passes(conn):
    """min_documents keeps terms used by that many documents; the result is BERTopic's over the
    vocabulary of those terms (the documents are read twice, the first time into a sketch)."""
    labelled = corpus("real")
    run = store_docs(conn, "kw_prune", labelled)
    ana = CountVectorizer().build_analyzer()
    df = {}
    for _, t in labelled:
        for w in set(ana(t)):
            df[w] = df.get(w, 0) + 1
    vocab = sorted(w for w, c in df.items() if c >= 3)
    labels = sorted({l for l, _ in labelled})
    joined = [" ".join(t for l2, t in labelled if l2 == l) for l in labels]
    X = CountVectorizer(vocabulary=vocab).fit_transform(joined)
    C = class_tfidf()().fit_transform(X).tocsr()
    want = {}
    for i, l in enumerate(labels):
        row = C.getrow(i)
        terms = sorted(((float(v), vocab[j]) for j, v in zip(row.indices, row.data) if v > 0), key=lambda p: (-p[0], p[1]))
        want[l] = [(t, w) for w, t in terms[:10]]
    assert_same(ours(conn, run, "kw_prune", '{"min_documents": 3}'), want)


def test_errors_name_the_argument_and_write_nothing(conn):
    labelled = corpus("real")[:50]
    run = store_docs(conn, "kw_err", labelled)
    cases = [
        ("SELECT * FROM ml.cluster_keywords(-5, 'kw_err')", "22023", "run_id -5 is not a run"),
        ("SELECT * FROM ml.cluster_keywords(%s, 'kw_err', 'nope')" % run, "42703", "text_column 'nope' does not exist"),
        ("SELECT * FROM ml.cluster_keywords(%s, 'kw_err', 'id')" % run, "42804", "has type bigint, not text"),
        ("SELECT * FROM ml.cluster_keywords(%s, 'kw_err', params => '{\"ngram_range\": [2, 1]}')" % run, "22023", "ngram_range"),
        ("SELECT * FROM ml.cluster_keywords(%s, 'kw_err', params => '{\"stop_words\": \"french\"}')" % run, "22023", "stop_words"),
        ("SELECT * FROM ml.cluster_keywords(%s, 'kw_err', params => '{\"min_df\": 1000}')" % run, "22023", "min_df"),
        ("SELECT * FROM ml.cluster_keywords(%s, 'kw_err', params => '{\"topn\": 3}')" % run, "22023", "topn"),
    ]
    import psycopg
    for sql, state, text in cases:
        with pytest.raises(psycopg.Error) as e:
            conn.execute(sql)
        assert e.value.sqlstate == state, (sql, e.value.sqlstate, str(e.value))
        assert text in str(e.value), (sql, str(e.value))
        assert e.value.diag.message_hint, sql
    assert conn.execute("SELECT count(*) FROM ml.cluster_summaries WHERE run_id = %s", (run,)).fetchone()[0] == 0
