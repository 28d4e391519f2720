#!/usr/bin/env python3
"""PDQ throughput and JPEG agreement: PyPI `pdqhash` 0.2.8 with Pillow's decoding, against
`mlkit::hash::pdq` (the `pdq_bench` test, which reads the same files).

    python3 bench/pdq_images.py /tmp/pdq_bench        # makes 200 JPEGs of 1024 x 768 (q 90)
    PDQ_BENCH_DIR=/tmp/pdq_bench cargo test -p mlkit --release --lib pdq_bench -- --ignored --nocapture

Writes `<dir>/pdqhash.tsv` (file, hex hash, quality) so the Rust side can report the Hamming
distance of its zune-jpeg pixels' hashes to Pillow's. Single-threaded on both sides.
"""

import os
import sys
import time

import numpy as np
import pdqhash
from PIL import Image, ImageDraw


def photo_like(w, h, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.full((h, w, 3), 128.0, dtype=np.float32)
    for c in range(3):
        for _ in range(3):
            fx, fy, ph = rng.uniform(0.5, 6) / w, rng.uniform(0.5, 6) / h, rng.uniform(0, 6.3)
            base[:, :, c] += 40 * np.sin(2 * np.pi * (fx * xx + fy * yy) + ph)
    img = Image.fromarray(base.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        x1, y1 = x0 + rng.integers(w // 12, w // 3), y0 + rng.integers(h // 12, h // 3)
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
    a = np.asarray(img).astype(np.float32) + rng.normal(0, 8, (h, w, 3)).astype(np.float32)
    return a.clip(0, 255).astype(np.uint8)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/pdq_bench"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    os.makedirs(out, exist_ok=True)
    names = [f"img{i:03d}.jpg" for i in range(n)]
    for i, name in enumerate(names):
        path = os.path.join(out, name)
        if not os.path.exists(path):
            Image.fromarray(photo_like(1024, 768, i)).save(path, quality=90)
    data = [open(os.path.join(out, name), "rb").read() for name in names]
    import io

    best = None
    for _ in range(3):
        start = time.perf_counter()
        decode = 0.0
        rows = []
        for name, b in zip(names, data):
            t = time.perf_counter()
            rgb = np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))
            decode += time.perf_counter() - t
            vector, quality = pdqhash.compute(rgb)
            rows.append((name, np.packbits(vector.astype(np.uint8)).tobytes().hex(), int(quality)))
        total = time.perf_counter() - start
        if best is None or total < best[0]:
            best = (total, decode)
    total, decode = best
    print(f"pdqhash {pdqhash.__version__} + Pillow: {n} images in {total:.3f} s ({n / total:.1f} images/s; "
          f"decode {decode:.3f} s, hash {total - decode:.3f} s), best of 3")
    with open(os.path.join(out, "pdqhash.tsv"), "w") as f:
        for row in rows:
            f.write("%s\t%s\t%d\n" % row)


if __name__ == "__main__":
    main()
