"""The radius-search measurement both near-duplicate benchmarks make (duplicates_bench.py for
64-bit hashes, pdq_bench.py for 256-bit PDQ hashes): every hash within a radius of each query,
through the GIN band index and by a full scan, timed from the client as prepared statements."""
import time

import numpy as np


def pct(v, p):
    """The p-th percentile of durations in seconds, in milliseconds."""
    return float(np.percentile(np.array(v) * 1000, p))


def measure(conn, table, column, queries, radius, cast=""):
    """(index latencies, scan latencies of every 50th query, whether the scan found the same
    rows, rows found per query). `cast` turns a query parameter into the column's type."""
    q = f"%(q)s{cast}"
    indexed = (f"SELECT id FROM {table} WHERE ml.hash_bands({column}) && ml.hash_probe({q}, {radius}) "
               f"AND ml.hamming_distance({column}, {q}) <= {radius}")
    scan = f"SELECT id FROM {table} WHERE ml.hamming_distance({column}, {q}) <= {radius}"
    for h in queries[:50]:  # warm the cache and the prepared plan
        conn.execute(indexed, {"q": h}, prepare=True).fetchall()
    lat, found = [], []
    for h in queries:
        t = time.perf_counter()
        rows = conn.execute(indexed, {"q": h}, prepare=True).fetchall()
        lat.append(time.perf_counter() - t)
        found.append(sorted(r[0] for r in rows))
    scan_lat, exact = [], True
    for i, h in enumerate(queries[::50]):
        t = time.perf_counter()
        rows = conn.execute(scan, {"q": h}, prepare=True).fetchall()
        scan_lat.append(time.perf_counter() - t)
        exact &= sorted(r[0] for r in rows) == found[i * 50]
    return lat, scan_lat, exact, [len(f) for f in found]
