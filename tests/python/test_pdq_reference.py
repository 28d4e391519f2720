"""ml.pdq and ml.pdq_dihedral against PyPI pdqhash 0.2.8 (Meta's C++ PDQ) on real photographs
and generated pictures: bit for bit on PNG (the pixels are the same), within a few bits on
JPEG (our decoder is not Pillow's); the 8 orientations in pdqhash's order; and grouping that
puts rotated and mirrored copies with their original when given the orientations."""
import io

import numpy as np
import pdqhash
import psycopg
import pytest
from PIL import Image

from images import jpeg_bytes, png_bytes, real_photos, variants


def bits_hex(vector):
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()


def reference(data):
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    vec, quality = pdqhash.compute(rgb)
    return bits_hex(vec), int(quality)


def reference_dihedral(data):
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    vecs, quality = pdqhash.compute_dihedral(rgb)
    return [bits_hex(v) for v in vecs], int(quality)


def load(conn, table, blobs):
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} (i int PRIMARY KEY, b bytea)")
    with conn.cursor().copy(f"COPY {table} FROM STDIN") as cp:
        for i, b in enumerate(blobs):
            cp.write_row((i, b))


def hex_of(bits):
    """A bit string, as psycopg returns it ('0101...'), in hex."""
    return int(bits, 2).to_bytes(len(bits) // 8, "big").hex()


def distance(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


@pytest.fixture(scope="module")
def photos():
    return real_photos()


def generated(rng):
    """Pictures of many shapes: noise, gradients, stripes, tiny, thin, exactly 64 x 64."""
    out = []
    for w, h in [(64, 64), (5, 5), (4, 9), (7, 300), (300, 7), (127, 129), (1000, 333), (512, 512), (65, 64)]:
        out.append(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        y, x = np.mgrid[0:h, 0:w]
        g = ((x * 255 // max(w - 1, 1) + y * 3) % 256).astype(np.uint8)
        out.append(np.stack([g, 255 - g, (x * y % 256).astype(np.uint8)], axis=2))
    return [Image.fromarray(a) for a in out]


def test_png_is_bit_for_bit_pdqhash(conn, photos):
    rng = np.random.default_rng(7)
    pictures = list(photos.values()) + generated(rng)
    pictures += [im.convert("L") for im in list(photos.values())[:4]]  # grey PNGs
    pictures += [im.resize((im.width * 3, im.height * 3), Image.BICUBIC) for im in list(photos.values())[:3]]
    blobs = [png_bytes(im) for im in pictures]
    load(conn, "pdq_png", blobs)
    rows = conn.execute("SELECT i, (h).hash, (h).quality FROM (SELECT i, ml.pdq(b) AS h FROM pdq_png) s ORDER BY i").fetchall()
    assert len(rows) == len(blobs)
    for (i, bits, quality), b in zip(rows, blobs):
        assert len(bits) == 256
        assert (hex_of(bits), quality) == reference(b), i


def test_dihedral_is_pdqhash_order_and_bits(conn, photos):
    pictures = list(photos.values())[:8] + generated(np.random.default_rng(3))[:6]
    blobs = [png_bytes(im) for im in pictures]
    load(conn, "pdq_dih", blobs)
    rows = conn.execute("SELECT i, (d).hashes, (d).quality, (ml.pdq(b)).hash FROM (SELECT i, b, ml.pdq_dihedral(b) AS d FROM pdq_dih) s ORDER BY i").fetchall()
    for (i, hashes, quality, plain), b in zip(rows, blobs):
        want, want_q = reference_dihedral(b)
        assert [hex_of(h) for h in hashes] == want, i
        assert quality == want_q
        if i < 8:  # photos: the first orientation is the picture as it is (a 64 x 64 picture's
            assert hashes[0] == plain  # dihedral hashes are blurred, its plain hash is not)


def test_jpeg_within_a_few_bits(conn, photos):
    """JPEG: Pillow (libjpeg-turbo) and zune-jpeg decode to slightly different pixels."""
    blobs = [jpeg_bytes(im, q) for im in photos.values() for q in (90, 70)]
    load(conn, "pdq_jpeg", blobs)
    rows = conn.execute("SELECT i, (ml.pdq(b)).hash FROM pdq_jpeg ORDER BY i").fetchall()
    d = [distance(hex_of(bits), reference(b)[0]) for (_, bits), b in zip(rows, blobs)]
    assert max(d) <= 16 and np.mean(d) <= 4, d


def test_downscale_is_the_photo_hashers_512_resize(conn, photos):
    """downscale => true: pictures over 512 are first resized to 512 x 512 by nearest neighbour,
    as ThreatExchange's pdq-photo-hasher does; the hash is pdqhash's of those pixels."""
    im = photos["astronaut"].resize((1300, 900), Image.BICUBIC)
    small = photos["coffee"].resize((400, 300))
    load(conn, "pdq_big", [png_bytes(im), png_bytes(small)])
    rows = conn.execute("SELECT i, (ml.pdq(b, downscale => true)).hash, (ml.pdq(b)).hash FROM pdq_big ORDER BY i").fetchall()
    a = np.asarray(im.convert("RGB"))
    ys = np.arange(512) * a.shape[0] // 512
    xs = np.arange(512) * a.shape[1] // 512
    want = bits_hex(pdqhash.compute(np.ascontiguousarray(a[ys][:, xs]))[0])
    assert hex_of(rows[0][1]) == want
    assert distance(hex_of(rows[0][1]), hex_of(rows[0][2])) <= 24  # the same picture
    assert rows[1][1] == rows[1][2]  # under 512: untouched


def test_errors(conn):
    for sql, state in [("SELECT ml.pdq('\\x00010203'::bytea)", "22023"),
                       ("SELECT ml.pdq('\\x89504e470d0a1a0a0000'::bytea)", "22P03")]:
        with pytest.raises(psycopg.Error) as e:
            conn.execute(sql)
        assert e.value.sqlstate == state, (sql, str(e.value))
        assert e.value.diag.message_hint
    assert conn.execute("SELECT ml.pdq(NULL) IS NULL").fetchone()[0]


def test_rotated_and_mirrored_copies_group_with_their_original(conn, photos):
    """Each photo, edited (resized, recompressed, cropped) and turned (rotated, mirrored): with
    the orientations, every turned copy joins its original's group; without, they do not."""
    rows, truth, names = [], [], []
    turns = [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.TRANSPOSE]
    for name, im in photos.items():
        if max(im.size) > 700:
            continue
        edits = [b for _, b in variants(im)[:5]]
        turned = [png_bytes(im.transpose(t)) for t in turns]
        # The photos the reference itself matches: quality at least 50, every edit within 31 bits
        # of the original, every turned copy within 31 bits of one of the original's orientations.
        original, quality = reference(edits[0])
        orientations = reference_dihedral(edits[0])[0]
        if quality < 50 or any(distance(reference(b)[0], original) > 31 for b in edits) \
                or any(min(distance(reference(b)[0], o) for o in orientations) > 31 for b in turned):
            continue
        g = len(names)
        names.append(name)
        rows += edits + turned
        truth += [(g, False)] * len(edits) + [(g, True)] * len(turned)
    assert len(names) >= 8, names
    print(f"{len(names)} photos: {names}")
    conn.execute("DROP TABLE IF EXISTS pdq_photos")
    conn.execute("CREATE TABLE pdq_photos (id int PRIMARY KEY, image bytea, pdq bit varying, quality int, turns bit varying[])")
    with conn.cursor().copy("COPY pdq_photos (id, image) FROM STDIN") as cp:
        for i, b in enumerate(rows):
            cp.write_row((i, b))
    conn.execute("""UPDATE pdq_photos p SET pdq = (s.h).hash, quality = (s.h).quality, turns = (ml.pdq_dihedral(p.image)).hashes
                      FROM (SELECT id, ml.pdq(image) AS h FROM pdq_photos) s WHERE s.id = p.id""")

    def groups(params):
        run = conn.execute("SELECT ml.group_near_duplicates('pdq_photos', hash_column => 'pdq', params => %s)", (params,)).fetchone()[0]
        got = dict(conn.execute("SELECT item_id::int, similar_group_id FROM ml.duplicate_assignments WHERE run_id = %s", (run,)).fetchall())
        return run, got

    run, with_turns = groups('{"radius": 31, "quality_column": "quality", "dihedral_column": "turns"}')
    for g in range(len(names)):
        members = [i for i, (t, _) in enumerate(truth) if t == g]
        ids = {with_turns.get(i) for i in members}
        assert len(ids) == 1 and None not in ids, (names[g], ids)
    assert len({with_turns[i] for i in with_turns}) == len(names)
    params = conn.execute("SELECT clustering_params FROM ml.analysis_runs WHERE id = %s", (run,)).fetchone()[0]
    assert params["dihedral_column"] == "turns" and params["min_quality"] == 50

    _, plain = groups('{"radius": 31}')
    turned = [i for i, (_, t) in enumerate(truth) if t]
    originals = {plain.get(i) for i, (_, t) in enumerate(truth) if not t}
    assert sum(plain.get(i) in originals for i in turned) < len(turned) // 2

    # A quality floor leaves low-quality hashes out, and says how many.
    conn.execute("UPDATE pdq_photos SET quality = 10 WHERE id < 3")
    run, got = groups('{"radius": 31, "quality_column": "quality", "min_quality": 50}')
    assert all(i not in got for i in range(3))
    m = conn.execute("SELECT metrics FROM ml.analysis_runs WHERE id = %s", (run,)).fetchone()[0]
    assert m["left_out_low_quality"] == 3


def test_hash_within_finds_what_pdqhash_distances_find(conn, photos):
    """ml.hash_within over its two indexes, over one, and over none, on the PDQ hashes of real
    photos and their edits (resized, recompressed, cropped, turned) kept as bit(256) and as
    bytea: for every query, exactly the rows pdqhash's own hashes put within 31 bits."""
    rows = []
    for im in photos.values():
        rows += [b for _, b in variants(im)[:5]]
        rows += [png_bytes(im.transpose(t)) for t in (Image.Transpose.ROTATE_90, Image.Transpose.FLIP_LEFT_RIGHT)]
    hashes = [reference(b)[0] for b in rows]
    conn.execute("DROP TABLE IF EXISTS pdq_within")
    conn.execute("CREATE TABLE pdq_within (id int PRIMARY KEY, image bytea, pdq bit(256), raw bytea)")
    with conn.cursor().copy("COPY pdq_within (id, image) FROM STDIN") as cp:
        for i, b in enumerate(rows):
            cp.write_row((i, b))
    conn.execute("UPDATE pdq_within SET pdq = (ml.pdq(image)).hash")
    conn.execute("UPDATE pdq_within SET raw = decode(ml.hash_to_hex(pdq), 'hex')")
    got = [h for (h,) in conn.execute("SELECT ml.hash_to_hex(pdq) FROM pdq_within ORDER BY id")]
    assert [distance(a, b) for a, b in zip(got, hashes)].count(0) >= len(rows) * 0.9  # PNG bit for bit, JPEG near
    want = {i: sorted(j for j in range(len(got)) if distance(got[i], got[j]) <= 31) for i in range(len(got))}
    assert sum(len(v) > 1 for v in want.values()) >= len(rows) // 2  # the edits are found, not only the row itself

    def found(column):
        out = {}
        for i, j in conn.execute(f"SELECT q.id, p.id FROM pdq_within q JOIN pdq_within p ON ml.hash_within(p.{column}, q.{column}, 31)"):
            out.setdefault(i, []).append(j)
        return {i: sorted(v) for i, v in out.items()}

    conn.execute("CREATE INDEX pdq_within_bands ON pdq_within USING gin (ml.hash_bands(pdq) ml.hash_bands_ops)")
    conn.execute("CREATE INDEX pdq_within_blocks ON pdq_within USING gin (ml.hash_blocks(pdq) ml.hash_bands_ops)")
    conn.execute("CREATE INDEX pdq_within_raw ON pdq_within USING gin (ml.hash_bands(raw) ml.hash_bands_ops)")
    conn.execute("ANALYZE pdq_within")
    conn.execute("SET enable_seqscan = off")
    assert found("pdq") == want
    assert found("raw") == want
    conn.execute("DROP INDEX pdq_within_blocks")
    assert found("pdq") == want
    conn.execute("RESET enable_seqscan")
    conn.execute("DROP INDEX pdq_within_bands")
    assert found("pdq") == want
