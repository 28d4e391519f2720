"""Test images for the near-duplicate tests: PNGs of every colour type and bit depth PNG has
(some written by hand, as Pillow cannot write them), real photographs shipped by
scikit-image and scikit-learn, and edited variants of those photographs."""
import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageEnhance


def png_bytes(im, **kw):
    b = io.BytesIO()
    im.save(b, "PNG", **kw)
    return b.getvalue()


def jpeg_bytes(im, quality):
    b = io.BytesIO()
    im.convert("L" if im.mode == "L" else "RGB").save(b, "JPEG", quality=quality)
    return b.getvalue()


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(samples, color_type, depth, interlace=False, palette=None, trns=None):
    """A PNG from an array of samples (height × width × channels), written by hand.

    Sub-byte depths are packed; 16-bit samples big-endian; Adam7 interlacing if asked."""
    h, w = samples.shape[:2]
    samples = samples.reshape(h, w, -1)

    def scanlines(img):
        out = b""
        for row in img:
            if depth < 8:
                bits = "".join(format(int(v), f"0{depth}b") for v in row.flatten())
                bits += "0" * (-len(bits) % 8)
                data = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
            elif depth == 8:
                data = row.astype(np.uint8).tobytes()
            else:
                data = row.astype(">u2").tobytes()
            out += b"\x00" + data
        return out

    if interlace:
        raw = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += scanlines(sub)
    else:
        raw = scanlines(samples)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0)
    body = _chunk(b"IHDR", ihdr)
    if palette is not None:
        body += _chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).flatten()))
    if trns is not None:
        body += _chunk(b"tRNS", trns)
    return b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def every_png_kind(rng):
    """(name, PNG bytes) for every colour type × bit depth, interlaced or not, odd sizes."""
    out = []
    for w, h in [(1, 1), (2, 3), (31, 33), (64, 48), (7, 300), (300, 7), (123, 77)]:
        grey = rng.integers(0, 256, (h, w))
        smooth = (np.add.outer(np.arange(h) * 3, np.arange(w) * 2) % 256)
        rgb = rng.integers(0, 256, (h, w, 3))
        for il in (False, True):
            tag = f"{w}x{h}{'_il' if il else ''}"
            out.append((f"grey8_{tag}", raw_png(grey, 0, 8, il)))
            out.append((f"smooth8_{tag}", raw_png(smooth, 0, 8, il)))
            for depth in (1, 2, 4):
                out.append((f"grey{depth}_{tag}", raw_png(grey >> (8 - depth), 0, depth, il)))
            out.append((f"grey16_{tag}", raw_png(rng.integers(0, 600, (h, w)), 0, 16, il)))
            out.append((f"grey_trns_{tag}", raw_png(grey, 0, 8, il, trns=b"\x00\x10")))
            out.append((f"rgb8_{tag}", raw_png(rgb, 2, 8, il)))
            out.append((f"rgb16_{tag}", raw_png(rng.integers(0, 65536, (h, w, 3)), 2, 16, il)))
            out.append((f"ga8_{tag}", raw_png(np.dstack([grey, 255 - grey]), 4, 8, il)))
            out.append((f"ga16_{tag}", raw_png(rng.integers(0, 65536, (h, w, 2)), 4, 16, il)))
            out.append((f"rgba8_{tag}", raw_png(rng.integers(0, 256, (h, w, 4)), 6, 8, il)))
            out.append((f"rgba16_{tag}", raw_png(rng.integers(0, 65536, (h, w, 4)), 6, 16, il)))
            pal = rng.integers(0, 256, (16, 3))
            for depth in (1, 2, 4, 8):
                idx = rng.integers(0, min(16, 1 << depth), (h, w))
                out.append((f"pal{depth}_{tag}", raw_png(idx, 3, depth, il, palette=pal)))
            out.append((f"pal_trns_{tag}", raw_png(rng.integers(0, 16, (h, w)), 3, 8, il, palette=pal, trns=b"\x00\x80")))
    # Flat, symmetric and tied images, where the DCT's rounding decides the hash.
    for name, a in [
        ("flat", np.full((40, 50), 90)),
        ("ramp", np.tile(np.arange(64) * 4, (64, 1))),
        ("symmetric", np.add.outer(np.abs(np.arange(64) - 31.5), np.abs(np.arange(64) - 31.5)) * 4),
        ("checker", np.kron([[0, 255], [255, 0]], np.ones((16, 16)))),
        ("stripes", np.tile([0, 255], (32, 16))),
    ]:
        out.append((name, raw_png(a.astype(np.uint8), 0, 8)))
    return out


def real_photos():
    """Real photographs shipped by scikit-image and scikit-learn, as PIL images."""
    import skimage.data as d
    from sklearn.datasets import load_sample_images

    photos = {}
    for n in ["astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "page", "text", "clock",
              "hubble_deep_field", "immunohistochemistry", "retina", "brick", "grass", "gravel"]:
        a = getattr(d, n)()
        photos[n] = Image.fromarray(a[:, :, :3] if a.ndim == 3 else a)
    for name, a in zip(["china", "flower"], load_sample_images().images):
        photos[name] = Image.fromarray(a)
    return photos


def variants(im):
    """(kind, bytes) of edits of one photograph that should stay near-duplicates."""
    w, h = im.size
    dx, dy = int(w * 0.02), int(h * 0.02)
    return [
        ("png", png_bytes(im)),
        ("half", png_bytes(im.resize((w // 2, h // 2), Image.BICUBIC))),
        ("three_quarters", png_bytes(im.resize((w * 3 // 4, h * 3 // 4), Image.BILINEAR))),
        ("jpeg90", jpeg_bytes(im, 90)),
        ("jpeg70", jpeg_bytes(im, 70)),
        ("jpeg50", jpeg_bytes(im, 50)),
        ("crop2", png_bytes(im.crop((dx, dy, w - dx, h - dy)))),
        ("bright15", png_bytes(ImageEnhance.Brightness(im).enhance(1.15))),
        ("bright30", png_bytes(ImageEnhance.Brightness(im).enhance(1.3))),
    ]
