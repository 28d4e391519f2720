#!/usr/bin/env python3
"""Near-duplicates at scale, in one run on a throwaway server (bench/duplicates.sh):

- radius search (r = 4) over 1M realistic, clustered 64-bit hashes through the GIN band
  index: latency p50/p95/p99 over 1,000 queries, against a full scan on the same queries;
- ml.group_near_duplicates on 100k and 1M hashes;
- ml.phash / ml.dhash throughput against imagehash on the same image bytes (one core each).

Writes its section of docs/benchmarks.md."""
import io
import os
import platform
import sys
import time

import imagehash
import numpy as np
import PIL
import psycopg
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
from images import jpeg_bytes, png_bytes, real_photos  # noqa: E402
import radius_search  # noqa: E402
from radius_search import pct  # noqa: E402
from sections import put_section  # noqa: E402

HOST = os.environ["PG_MLKIT_TMP"]
PORT = os.environ["PG_MLKIT_PORT"]


def clustered_hashes(n, rng):
    """Groups of near-duplicates around centres that look like real pHashes: the first bit
    always set, neighbouring bits correlated; members 0 to 6 random bit flips away."""
    c = max(n // 20, 1)
    bits = rng.random((c, 64)) < 0.5
    keep = rng.random((c, 63)) < 0.3
    for j in range(1, 64):
        bits[:, j] = np.where(keep[:, j - 1], bits[:, j - 1], bits[:, j])
    bits[:, 0] = True
    centres = np.packbits(bits, axis=1).view(">u8").ravel().astype(np.uint64)
    h = centres[rng.integers(0, c, n)]
    for _ in range(6):
        flip = rng.random(n) < 0.5
        h ^= np.where(flip, np.uint64(1) << rng.integers(0, 64, n).astype(np.uint64), np.uint64(0))
    return h.view(np.int64)


def load(conn, table, hashes):
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, phash bigint NOT NULL)")
    with conn.cursor().copy(f"COPY {table} FROM STDIN") as cp:
        for i, h in enumerate(hashes.tolist()):
            cp.write_row((i, h))
    conn.execute(f"VACUUM ANALYZE {table}")



def main():
    rng = np.random.default_rng(2026)
    conn = psycopg.connect(f"host={HOST} port={PORT} user=postgres dbname=postgres", autocommit=True)
    conn.execute("DROP EXTENSION IF EXISTS pg_mlkit CASCADE")
    conn.execute("CREATE EXTENSION pg_mlkit")
    out = ["## Near-duplicates", ""]

    # 1. Radius search.
    hashes = clustered_hashes(1_000_000, rng)
    t = time.perf_counter()
    load(conn, "h1m", hashes)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    conn.execute("CREATE INDEX h1m_bands ON h1m USING gin (ml.hash_bands(phash))")
    t_index = time.perf_counter() - t
    conn.execute("ANALYZE h1m")
    queries = [int(x) for x in hashes[rng.integers(0, len(hashes), 500)]] + [int(x) for x in clustered_hashes(500, rng)]
    lat, scan_lat, exact, sizes = radius_search.measure(conn, "h1m", "phash", queries, 4, "")
    ok = "✅" if pct(lat, 95) < 10 else "❌"
    out += [
        "### Radius search: every hash within distance 4, 1M hashes (target: p95 < 10 ms, exact)", "",
        "1,000,000 clustered 64-bit hashes (50,000 groups of near-duplicates; centres skewed and",
        "correlated like real pHashes), a GIN index on `ml.hash_bands(phash)`, 1,000 queries (half",
        "hashes from the table, half new ones), each a prepared statement timed from the client.", "",
        "| | p50 | p95 | p99 | rows found (mean / max) |",
        "|---|---|---|---|---|",
        f"| GIN band index | {pct(lat, 50):.2f} ms | {pct(lat, 95):.2f} ms {ok} | {pct(lat, 99):.2f} ms | "
        f"{np.mean(sizes):.1f} / {max(sizes)} |",
        f"| full scan (20 of the queries) | {pct(scan_lat, 50):.0f} ms | {pct(scan_lat, 95):.0f} ms | "
        f"{pct(scan_lat, 99):.0f} ms | same rows: {'yes' if exact else 'NO'} |", "",
        f"Loading the hashes took {t_load:.1f} s, building the index {t_index:.1f} s.", "",
    ]

    # 2. Grouping.
    out += ["### `ml.group_near_duplicates` (target: 1M hashes < 30 s)", "",
            "Default parameters (radius 10); the same clustered hashes; the time includes reading the",
            "table and writing the assignments.", "",
            "| hashes | time | groups | items in groups | largest group |", "|---|---|---|---|---|"]
    conn.execute("CREATE TABLE h100k AS SELECT * FROM h1m WHERE id < 100000")
    for table, n in (("h100k", 100_000), ("h1m", 1_000_000)):
        t = time.perf_counter()
        run = conn.execute(f"SELECT ml.group_near_duplicates('{table}')").fetchone()[0]
        el = time.perf_counter() - t
        m = conn.execute("SELECT metrics FROM ml.analysis_runs WHERE id = %s", (run,)).fetchone()[0]
        ok = "✅" if el < 30 or n < 1_000_000 else "❌"
        out.append(f"| {n:,} | {el:.1f} s {ok} | {m['similar_groups']:,} | {m['items_in_similar_groups']:,} | {m['largest_group']} |")
        print(table, el, m)
    out.append("")

    # 3. Hash throughput.
    photos = real_photos()
    blobs = []
    for im in photos.values():
        blobs.append(("PNG", png_bytes(im)))
        blobs.append(("JPEG", jpeg_bytes(im, 85)))
        big = im.resize((im.width * 4, im.height * 4), Image.BICUBIC)
        blobs.append(("PNG", png_bytes(big)))
        blobs.append(("JPEG", jpeg_bytes(big, 85)))
    conn.execute("DROP TABLE IF EXISTS imgs")
    conn.execute("CREATE TABLE imgs (id int, kind text, image bytea)")
    with conn.cursor().copy("COPY imgs FROM STDIN") as cp:
        for i, (k, b) in enumerate(blobs):
            cp.write_row((i, k, b))
    pixels = sum(Image.open(io.BytesIO(b)).size[0] * Image.open(io.BytesIO(b)).size[1] for _, b in blobs)
    out += ["### Perceptual hashes: `ml.phash` against imagehash (one core each)", "",
            f"{len(blobs)} images from scikit-image and scikit-learn, each as PNG and JPEG (quality 85), at",
            f"their size and enlarged 4× ({pixels / len(blobs) / 1e6:.1f} megapixels on average). imagehash",
            "decodes the same bytes with Pillow; `ml.phash` decodes them in the server.", "",
            "| function | format | imagehash | pg_mlkit | speed-up |", "|---|---|---|---|---|"]
    for fn, ref in (("phash", imagehash.phash), ("dhash", imagehash.dhash)):
        for kind in ("PNG", "JPEG"):
            sel = [b for k, b in blobs if k == kind]
            t = time.perf_counter()
            for _ in range(2):
                for b in sel:
                    ref(Image.open(io.BytesIO(b)))
            py = (time.perf_counter() - t) / 2
            t = time.perf_counter()
            for _ in range(2):
                conn.execute(f"SELECT sum(ml.{fn}(image)) FROM imgs WHERE kind = %s", (kind,)).fetchone()
            sql = (time.perf_counter() - t) / 2
            out.append(f"| `{fn}` | {kind} | {len(sel) / py:.1f} images/s | {len(sel) / sql:.1f} images/s | {py / sql:.2f}× |")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    out += ["", f"Machine: {os.cpu_count()} cores ({cpu}), PostgreSQL 15, Python {platform.python_version()}, "
                f"imagehash {imagehash.__version__}, Pillow {PIL.__version__}, numpy {np.__version__}. Release build.", ""]
    put_section("duplicates", "\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
