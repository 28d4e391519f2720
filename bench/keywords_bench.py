#!/usr/bin/env python3
"""ml.cluster_keywords on 1,000,000 documents, in one run on a throwaway server (bench/keywords.sh):

- 1M documents of real words (windows of the Debian package descriptions the tests use, 20
  clusters) plus one rare token each (a million distinct terms, as real corpora have), with a
  stored clustering run;
- ml.cluster_keywords with the defaults (every term), against BERTopic 0.17's
  ClassTfidfTransformer over scikit-learn's CountVectorizer on the same documents: time, peak
  memory (the backend's and the Python process's high-water mark), and whether every cluster's
  top 10 terms and weights agree within 1e-9;
- with min_documents 5 (two reads, the rare tokens pruned), and with a statement_timeout that
  cancels it part-way (nothing written).

Writes its section of docs/benchmarks.md."""
import multiprocessing as mp
import os
import platform
import resource
import sys
import time

import numpy as np
import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
sys.path.insert(0, os.path.dirname(__file__))
from sections import put_section  # noqa: E402
from test_keywords_reference import class_tfidf, corpus  # noqa: E402

HOST = os.environ["PG_MLKIT_TMP"]
PORT = os.environ["PG_MLKIT_PORT"]
N = 1_000_000
CLUSTERS = 20


def documents(rng):
    """(cluster, text) of N documents: a window of 8 to 40 words of a fixture document of the
    cluster's own share of the corpus, and a rare token."""
    base = [t.split() for _, t in corpus("real")]
    own = [base[i::CLUSTERS] for i in range(CLUSTERS)]
    out = []
    for i in range(N):
        c = i % CLUSTERS
        words = own[c][rng.integers(len(own[c]))]
        n = int(rng.integers(8, 41))
        start = int(rng.integers(max(len(words) - n, 0) + 1))
        out.append((c, " ".join(words[start:start + n]) + f" rare{rng.integers(5_000_000):07d}"))
    return out


def anon_mb(pid):
    """The process's private resident memory (RssAnon: not the shared buffers), in MB."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("RssAnon")) / 1024


class PeakWatcher:
    """Samples a backend's RssAnon every 20 ms while a call runs; .peak is the largest."""

    def __init__(self, pid):
        import threading
        self.pid, self.peak, self.done = pid, anon_mb(pid), False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done:
            self.peak = max(self.peak, anon_mb(self.pid))
            time.sleep(0.02)

    def stop(self):
        self.done = True
        self.thread.join()
        return self.peak


def reference(docs, q, min_documents=1):
    """BERTopic's keywords in a child process: (seconds, peak MB, {cluster: [(term, weight)]}).
    min_documents > 1: over the vocabulary of terms in that many documents (CountVectorizer's
    min_df over the documents themselves), as ml.cluster_keywords prunes."""
    from sklearn.feature_extraction.text import CountVectorizer
    t = time.perf_counter()
    joined = [" ".join(t for c2, t in docs if c2 == c) for c in range(CLUSTERS)]
    if min_documents > 1:
        vocab = sorted(CountVectorizer(min_df=min_documents, binary=True).fit([t for _, t in docs]).vocabulary_)
        vec = CountVectorizer(vocabulary=vocab)
    else:
        vec = CountVectorizer()
    X = vec.fit_transform(joined)
    words = vec.get_feature_names_out()
    C = class_tfidf()().fit_transform(X).tocsr()
    out = {}
    for c in range(CLUSTERS):
        row = C.getrow(c)
        terms = sorted(((float(v), words[j]) for j, v in zip(row.indices, row.data) if v > 0), key=lambda p: (-p[0], p[1]))
        out[c] = [(w, v) for v, w in terms[:10]]
    q.put((time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, out))


def connect():
    return psycopg.connect(f"host={HOST} port={PORT} user=postgres dbname=postgres", autocommit=True)


def ours(run, params):
    conn = connect()
    watch = PeakWatcher(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
    t = time.perf_counter()
    rows = conn.execute("SELECT cluster, rank, term, weight FROM ml.cluster_keywords(%s, 'docs', 'text', %s) "
                        "ORDER BY cluster, rank", (run, params)).fetchall()
    el = time.perf_counter() - t
    peak = watch.stop()
    conn.close()
    out = {}
    for c, _, term, w in rows:
        out.setdefault(c, []).append((term, w))
    return el, peak, out


def main():
    rng = np.random.default_rng(5)
    conn = connect()
    conn.execute("DROP EXTENSION IF EXISTS pg_mlkit CASCADE")
    conn.execute("CREATE EXTENSION pg_mlkit")
    docs = documents(rng)
    conn.execute("DROP TABLE IF EXISTS docs")
    conn.execute("CREATE TABLE docs (id bigint PRIMARY KEY, text text)")
    with conn.cursor().copy("COPY docs (id, text) FROM STDIN") as cp:
        for i, (_, t) in enumerate(docs):
            cp.write_row((i, t))
    run = conn.execute("INSERT INTO ml.analysis_runs (analysis_type) VALUES ('clustering') RETURNING id").fetchone()[0]
    with conn.cursor().copy("COPY ml.cluster_assignments (run_id, item_id, cluster) FROM STDIN") as cp:
        for i, (c, _) in enumerate(docs):
            cp.write_row((run, str(i), c))
    conn.execute("VACUUM ANALYZE docs")
    words = sum(len(t.split()) for _, t in docs)

    def in_child(min_documents=1):
        q = mp.get_context("fork").Queue()
        p = mp.get_context("fork").Process(target=reference, args=(docs, q, min_documents))
        p.start()
        res = q.get()
        p.join()
        return res

    def same(got, want):
        return sorted(got) == sorted(want) and all(
            [t for t, _ in got[c]] == [t for t, _ in want[c]]
            and np.allclose([w for _, w in got[c]], [w for _, w in want[c]], rtol=0, atol=1e-9) for c in want)

    ref_s, ref_mb, want = in_child()
    full_s, full_mb, got = ours(run, "{}")
    pref_s, pref_mb, pwant = in_child(5)
    pruned_s, pruned_mb, pruned = ours(run, '{"min_documents": 5}')
    same_full, same_pruned = same(got, want), same(pruned, pwant)

    # Cancel part-way: a statement_timeout of a quarter of the full run. The stored keywords are
    # the pruned call's; a default call that completed would replace them.
    stored = "SELECT md5(string_agg(keywords::text, ';' ORDER BY cluster)) FROM ml.cluster_summaries WHERE run_id = %s"
    before = conn.execute(stored, (run,)).fetchone()[0]
    conn2 = connect()
    conn2.execute(f"SET statement_timeout = {int(full_s * 250)}")
    t = time.perf_counter()
    try:
        conn2.execute("SELECT count(*) FROM ml.cluster_keywords(%s, 'docs')", (run,))
        cancelled = "not cancelled"
    except psycopg.errors.QueryCanceled:
        cancelled = f"cancelled after {time.perf_counter() - t:.1f} s"
    unchanged = conn.execute(stored, (run,)).fetchone()[0] == before
    conn2.close()

    out = [
        "## Cluster keywords (`ml.cluster_keywords`) on 1M documents", "",
        f"{N:,} documents in {CLUSTERS} clusters, {words / N:.0f} words each on average: windows of 8 to 40 words",
        "of the Debian package descriptions the tests use, plus one token drawn from 5 million (a",
        "vocabulary of about a million terms, most in one document, as real corpora have). BERTopic 0.17's",
        "`ClassTfidfTransformer` over scikit-learn's `CountVectorizer` on the same documents, in a child",
        "process. Memory: the largest private resident memory of the backend during the call (RssAnon,",
        "sampled every 20 ms: not the shared buffers), and the Python process's high-water mark (the",
        "documents' list included).", "",
        "| | time | peak memory | top 10 terms and weights |", "|---|---|---|---|",
        f"| `ml.cluster_keywords(run, 'docs', 'text')` | {full_s:.1f} s | {full_mb:.0f} MB | "
        f"{'equal to BERTopic within 1e-9' if same_full else 'DIFFERENT'} |",
        f"| BERTopic (`CountVectorizer` + `ClassTfidfTransformer`) | {ref_s:.1f} s | {ref_mb:.0f} MB | |",
        f"| `ml.cluster_keywords(..., params => '{{\"min_documents\": 5}}')` (two reads) | {pruned_s:.1f} s | "
        f"{pruned_mb:.0f} MB | {'equal to BERTopic over the terms in 5 documents or more, within 1e-9' if same_pruned else 'DIFFERENT'} |",
        f"| BERTopic over the same vocabulary (`CountVectorizer(min_df=5)` over the documents) | {pref_s:.1f} s | {pref_mb:.0f} MB | |", "",
        f"With `statement_timeout` at a quarter of the full run's time the call was {cancelled}, and the",
        f"keywords stored by the call before it were {'left as they were' if unchanged else 'CHANGED'} (nothing of a cancelled call is written).", "",
        f"Machine: {os.cpu_count()} cores, PostgreSQL 15, Python {platform.python_version()}. Release build.", "",
    ]
    print("\n".join(out))
    put_section("keywords", "\n".join(out))


if __name__ == "__main__":
    main()
