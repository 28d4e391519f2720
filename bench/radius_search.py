"""The radius-search measurement both near-duplicate benchmarks make (duplicates_bench.py for
64-bit hashes, pdq_bench.py for 256-bit PDQ hashes): every hash within a radius of each query,
through the GIN band index and by a full scan, timed from the client as prepared statements."""
import time

import numpy as np


def pct(v, p):
    """The p-th percentile of durations in seconds, in milliseconds."""
    return float(np.percentile(np.array(v) * 1000, p))


def measure(conn, table, column, queries, radius, cast="", form="probe", prepare=True):
    """(index latencies, scan latencies of every 50th query, whether the scan found the same
    rows, rows found per query). `cast` turns a query parameter into the column's type. The
    search is written as `form`: "probe" (ml.hash_bands(col) && ml.hash_probe(q, r) and the
    distance), "bands" (&& ANY(ml.hash_probe_bands(q, r))) or "within" (ml.hash_within(col,
    q, r), over an index with ml.hash_bands_ops); `prepare=False` sends each as a new
    statement, planned for its values."""
    q = f"%(q)s{cast}"
    indexed = {
        "probe": f"SELECT id FROM {table} WHERE ml.hash_bands({column}) && ml.hash_probe({q}, {radius}) "
                 f"AND ml.hamming_distance({column}, {q}) <= {radius}",
        "bands": f"SELECT id FROM {table} WHERE ml.hash_bands({column}) && ANY(ml.hash_probe_bands({q}, {radius})) "
                 f"AND ml.hamming_distance({column}, {q}) <= {radius}",
        "within": f"SELECT id FROM {table} WHERE ml.hash_within({column}, {q}, {radius})",
    }[form]
    scan = f"SELECT id FROM {table} WHERE ml.hamming_distance({column}, {q}) <= {radius}"
    for h in queries[:50]:  # warm the cache and the prepared plan
        conn.execute(indexed, {"q": h}, prepare=prepare).fetchall()
    lat, found = [], []
    for h in queries:
        t = time.perf_counter()
        rows = conn.execute(indexed, {"q": h}, prepare=prepare).fetchall()
        lat.append(time.perf_counter() - t)
        found.append(sorted(r[0] for r in rows))
    scan_lat, exact = [], True
    for i, h in enumerate(queries[::50]):
        t = time.perf_counter()
        rows = conn.execute(scan, {"q": h}, prepare=True).fetchall()
        scan_lat.append(time.perf_counter() - t)
        exact &= sorted(r[0] for r in rows) == found[i * 50]
    return lat, scan_lat, exact, [len(f) for f in found]
