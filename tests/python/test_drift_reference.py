"""Drift statistics against their references: SciPy's functions, and Evidently's own stattest
implementations (its binning, empty-bin rule, χ² and z tests), on random and real data,
ties and tiny samples included. Equal within 1e-9 relative."""
import numpy as np
import pandas as pd
import psycopg
import pytest
import scipy.stats
from sklearn.datasets import load_breast_cancer, load_wine

from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test
from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
from evidently.legacy.calculations.stattests.psi import _psi
from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test, proportions_diff_z_stat_ind
from evidently.legacy.core import ColumnType

RTOL = 1e-9


def close(ours, ref):
    assert ours == pytest.approx(ref, rel=RTOL, abs=1e-300) or (np.isnan(ours) and np.isnan(ref)), (ours, ref)


def numeric_pairs():
    rng = np.random.default_rng(42)
    pairs = [
        ("one each", [1.5], [2.5]),
        ("tiny", [0.0, 1.0, 3.0], [5.0, 6.0, 8.0]),
        ("one vs many", [3.0], list(rng.normal(size=7))),
        ("ties", list(rng.integers(0, 5, 40).astype(float)), list(rng.integers(0, 6, 30).astype(float))),
        ("same", [1.0, 2.0, 2.0, 3.0], [1.0, 2.0, 2.0, 3.0]),
        ("shifted normal", list(rng.normal(size=500)), list(rng.normal(0.3, 1.2, 800))),
        ("wide ranges", list(rng.lognormal(0, 3, 300)), list(rng.lognormal(0.5, 3, 200))),
        ("large", list(rng.normal(size=20000)), list(rng.normal(0.01, 1, 30000))),
        ("negative zero", [-0.0, 0.0, 1.0], [0.0, 2.0]),
        ("21 distinct", list(np.arange(21.0)), list(np.arange(5.0, 30.0))),
        ("20 distinct", list(np.arange(20.0)), list(np.arange(5.0, 30.0))),
    ]
    for data in (load_breast_cancer().data, load_wine().data):
        half = len(data) // 2
        for j in range(0, data.shape[1], 4):
            pairs.append((f"real col {j}", list(data[:half, j]), list(data[half:, j])))
    return pairs


def categorical_pairs():
    rng = np.random.default_rng(7)
    wine = [str(t) for t in load_wine().target]
    pairs = [
        ("tiny", ["a"], ["a", "b"]),
        ("equal", ["x", "y", "y", "z"], ["x", "y", "y", "z"]),
        ("new category", list("aabbbc"), list("aabbdd")),
        ("binary", list(rng.choice(["yes", "no"], 300, p=[0.3, 0.7])), list(rng.choice(["yes", "no"], 200, p=[0.4, 0.6]))),
        ("many", list(rng.choice(list("abcdefghij"), 2000)), list(rng.choice(list("abcdefghijk"), 1500))),
        ("wine classes", wine[::2], wine[1::2]),
        ("unicode", ["é", "ü", "é"], ["ü", "ß"]),
    ]
    return pairs


@pytest.mark.parametrize("name,ref,cur", numeric_pairs(), ids=lambda x: x if isinstance(x, str) else "")
def test_numeric_statistics_equal_scipy_and_evidently(conn, name, ref, cur):
    w, psi, js, js2 = conn.execute(
        "SELECT ml.wasserstein_distance(%(r)s::float8[], %(c)s::float8[]), ml.psi(%(r)s::float8[], %(c)s::float8[]), "
        "ml.jensen_shannon_distance(%(r)s::float8[], %(c)s::float8[]), ml.jensen_shannon_distance(%(r)s::float8[], %(c)s::float8[], 2)",
        {"r": ref, "c": cur},
    ).fetchone()
    close(w, scipy.stats.wasserstein_distance(ref, cur))
    r, c = pd.Series(ref), pd.Series(cur)
    close(psi, _psi(r, c, ColumnType.Numerical, 0.1)[0])
    close(js, _jensenshannon(r, c, ColumnType.Numerical, 0.1)[0])
    close(js2, _jensenshannon(r, c, ColumnType.Numerical, 0.1, base=2)[0])


@pytest.mark.parametrize("name,ref,cur", categorical_pairs(), ids=lambda x: x if isinstance(x, str) else "")
def test_categorical_statistics_equal_evidently(conn, name, ref, cur):
    psi, js = conn.execute(
        "SELECT ml.psi(%(r)s::text[], %(c)s::text[]), ml.jensen_shannon_distance(%(r)s::text[], %(c)s::text[])",
        {"r": ref, "c": cur},
    ).fetchone()
    r, c = pd.Series(ref), pd.Series(cur)
    close(psi, _psi(r, c, ColumnType.Categorical, 0.1)[0])
    close(js, _jensenshannon(r, c, ColumnType.Categorical, 0.1)[0])

    stat, p = conn.execute("SELECT * FROM ml.chi_square_test(%s::text[], %s::text[])", (ref, cur)).fetchone()
    keys = sorted(set(ref) | set(cur))
    f_obs = [cur.count(k) for k in keys]
    f_exp = [ref.count(k) * len(cur) / len(ref) for k in keys]
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_stat = sum((o - e) ** 2 / e if e else (np.inf if o != e else np.nan) for o, e in zip(f_obs, f_exp))
        ref_p = _chi_stat_test(r, c, ColumnType.Categorical, 0.05)[0] if len(keys) > 1 else np.nan
    close(stat, ref_stat)
    close(p, ref_p)

    z, p = conn.execute("SELECT * FROM ml.z_test_proportions(%s::text[], %s::text[])", (ref, cur)).fetchone()
    close(p, _z_stat_test(r, c, ColumnType.Categorical, 0.05)[0])
    if p != 1:
        first = min(keys)
        close(z, proportions_diff_z_stat_ind(r.apply(lambda x: 0 if x == first else 1), c.apply(lambda x: 0 if x == first else 1)))


def test_p_values_stay_exact_far_into_the_tails(conn):
    # Strong drift: χ² p-values down to 1e-200 keep their relative accuracy.
    ref = ["a"] * 5000 + ["b"] * 5000
    cur = ["a"] * 7000 + ["b"] * 3000
    stat, p = conn.execute("SELECT * FROM ml.chi_square_test(%s::text[], %s::text[])", (ref, cur)).fetchone()
    close(p, _chi_stat_test(pd.Series(ref), pd.Series(cur), ColumnType.Categorical, 0.05)[0])
    assert p < 1e-100


@pytest.mark.parametrize("sql,state", [
    ("SELECT ml.psi('{}'::float8[], '{1}'::float8[])", "22023"),
    ("SELECT ml.psi('{1,NaN}'::float8[], '{1}'::float8[])", "22023"),
    ("SELECT ml.wasserstein_distance('{1,Infinity}'::float8[], '{1}'::float8[])", "22023"),
    ("SELECT ml.wasserstein_distance('{1,NULL}'::float8[], '{1}'::float8[])", "22004"),
    ("SELECT ml.chi_square_test('{a}'::text[], '{}'::text[])", "22023"),
    ("SELECT ml.z_test_proportions('{a,NULL}'::text[], '{b}'::text[])", "22004"),
    ("SELECT ml.jensen_shannon_distance('{1}'::float8[], '{2}'::float8[], 1)", "22023"),
    ("SELECT * FROM ml.ks_2samp('{1}', '{2}', 'two_sided')", "22023"),
    ("SELECT * FROM ml.ks_2samp('{1}', '{2}', method => 'fast')", "22023"),
    ("SELECT * FROM ml.ks_2samp('{}', '{2}')", "22023"),
])
def test_bad_samples_are_errors_with_sqlstate(conn, sql, state):
    import psycopg
    with pytest.raises(psycopg.Error) as e:
        conn.execute(sql)
    assert e.value.sqlstate == state


def ks_cases():
    rng = np.random.default_rng(3)
    sizes = [(1, 1), (1, 2), (3, 4), (5, 5), (10, 7), (20, 20), (50, 33), (137, 412), (1000, 800), (3000, 3000),
             (5000, 7000), (10000, 10000), (10001, 50), (20000, 30000), (200000, 1000), (5, 20000), (150, 20000)]
    cases = []
    for n1, n2 in sizes:
        for shift in (0.0, 0.15, 1.0):
            a, b = rng.normal(size=n1), rng.normal(shift, 1, n2)
            if n1 < 60:
                a, b = np.round(a, 1), np.round(b, 1)  # ties
            cases.append((f"{n1}x{n2}+{shift}", a, b))
    data = load_breast_cancer().data
    cases.append(("real", data[:280, 0], data[280:, 0]))
    # Signed zeros are one value: small integers with both zeros mixed in.
    cases.append(("signed zeros", np.array([-1, -1, 1, 1, -1, -0.0]), np.array([-1, 2, -1, 0, 2, 1, 0, -0.0, 1.0])))
    for n1, n2 in [(6, 9), (40, 25), (300, 500)]:
        a, b = rng.integers(-2, 3, n1).astype(float), rng.integers(-1, 4, n2).astype(float)
        a[a == 0] = np.where(rng.random((a == 0).sum()) < 0.5, -0.0, 0.0)
        b[b == 0] = np.where(rng.random((b == 0).sum()) < 0.5, -0.0, 0.0)
        cases.append((f"signed zeros {n1}x{n2}", a, b))
    return cases


@pytest.mark.parametrize("name,a,b", ks_cases(), ids=lambda x: x if isinstance(x, str) else "")
def test_ks_2samp_equals_scipy_exact_and_asymptotic(conn, name, a, b):
    for alternative in ("two-sided", "less", "greater"):
        ref = scipy.stats.ks_2samp(a, b, alternative=alternative)
        stat, p, loc, sign, exact = conn.execute(
            "SELECT * FROM ml.ks_2samp(%s, %s, %s)", (list(a), list(b), alternative)).fetchone()
        close(stat, ref.statistic)
        close(p, ref.pvalue)
        assert (loc, sign) == (ref.statistic_location, ref.statistic_sign)
        if alternative == "two-sided":  # one-sided exact sums overflow early and fall back, as in SciPy
            assert exact == (max(len(a), len(b)) <= 10000)
    for method in ("exact", "asymp"):
        if method == "exact" and max(len(a), len(b)) > 10000:
            # Refused where SciPy's 'auto' switches to asymp: it would run for minutes.
            with pytest.raises(psycopg.Error) as e:
                conn.execute("SELECT pvalue FROM ml.ks_2samp(%s, %s, method => 'exact')", (list(a), list(b)))
            assert e.value.sqlstate == "54000", e.value
            continue
        ref = scipy.stats.ks_2samp(a, b, method=method) if len(a) * len(b) < 10**8 else None
        if ref is not None:
            close(conn.execute("SELECT pvalue FROM ml.ks_2samp(%s, %s, method => %s)", (list(a), list(b), method)).fetchone()[0], ref.pvalue)


def drift_frames(n_ref, n_cur, rng):
    """Two periods of a table: numerical columns with many and few distinct values, integer
    counts, and categorical columns (text, and a boolean), some drifting, some not."""
    def frame(n, shift):
        return pd.DataFrame({
            "amount": rng.normal(100 + 10 * shift, 20, n),
            "latency": rng.lognormal(3, 0.5, n),
            "items": rng.integers(0, 4 + shift, n).astype(float),
            "stars": rng.integers(1, 6, n).astype(float),
            "binary_num": rng.integers(0, 2, n).astype(float),
            "pay": rng.choice(["card", "cash", "voucher"], n, p=[0.5, 0.3 + 0.1 * shift, 0.2 - 0.1 * shift]),
            "country": rng.choice(list("ABCDEFGHIJ"), n),
            "flag": rng.random(n) < 0.3 + 0.1 * shift,
        })
    return frame(n_ref, 0), frame(n_cur, 1)


@pytest.mark.parametrize("n_ref,n_cur", [(300, 200), (1000, 700), (3000, 2500)])
def test_score_drift_chooses_and_scores_as_evidently(conn, n_ref, n_cur):
    from evidently.legacy.calculations.stattests.registry import get_stattest
    ref, cur = drift_frames(n_ref, n_cur, np.random.default_rng(n_ref))
    for name, df in (("drift_ref", ref), ("drift_cur", cur)):
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"CREATE TABLE {name} (amount float8, latency float8, items float8, stars float8, binary_num float8, "
                     "pay text, country text, flag boolean)")
        with conn.cursor().copy(f"COPY {name} FROM STDIN") as cp:
            for row in df.itertuples(index=False):
                cp.write_row([float(v) if isinstance(v, (float, np.floating)) else (bool(v) if isinstance(v, (bool, np.bool_)) else v) for v in row])
    run = conn.execute("SELECT ml.score_drift('drift_ref', 'drift_cur')").fetchone()[0]
    rows = {r[0]: r[1:] for r in conn.execute(
        "SELECT feature_name, method, (details ->> 'drift_score')::float8, is_drifted FROM ml.data_drift WHERE run_id = %s", (run,))}
    assert set(rows) == set(ref.columns)
    drifted = 0
    for col in ref.columns:
        kind = ColumnType.Numerical if ref[col].dtype.kind == "f" else ColumnType.Categorical
        r, c = ref[col], cur[col]
        if kind == ColumnType.Categorical:
            r, c = r.astype(str).str.lower(), c.astype(str).str.lower()
        test = get_stattest(r, c, kind, None)
        score, is_drifted = test.func(r, c, kind, test.default_threshold)
        method, ours, ours_drifted = rows[col]
        assert method == test.name, (col, method, test.name)
        close(ours, score)
        assert ours_drifted == bool(is_drifted), col
        drifted += bool(is_drifted)
    m = conn.execute("SELECT metrics FROM ml.analysis_runs WHERE id = %s", (run,)).fetchone()[0]
    assert m["drifted_columns"] == drifted and m["dataset_drift"] == (drifted / len(ref.columns) >= 0.5)


@pytest.mark.parametrize("case", ["same", "shifted", "digits parity"])
def test_embedding_drift_as_evidently(conn, case):
    from evidently.legacy.metrics.data_drift.embedding_drift_methods import distance, model, ratio
    from sklearn.datasets import load_digits
    rng = np.random.default_rng(4)
    if case == "digits parity":
        X, y = load_digits(return_X_y=True)
        ref, cur = X[y % 2 == 0], X[y % 2 == 1]
    else:
        ref = rng.normal(size=(600, 16))
        cur = rng.normal(0.0 if case == "same" else 0.4, 1.0, (500, 16))
    for name, data in (("emb_ref", ref), ("emb_cur", cur)):
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"CREATE TABLE {name} (e real[])")
        with conn.cursor().copy(f"COPY {name} FROM STDIN") as cp:
            for row in data:
                cp.write_row(([float(np.float32(v)) for v in row],))
    ref32, cur32 = pd.DataFrame(ref.astype(np.float32).astype(np.float64)), pd.DataFrame(cur.astype(np.float32).astype(np.float64))
    for method, reference in (("distance", distance()), ("ratio", ratio()), ("model", model())):
        run = conn.execute("SELECT ml.score_drift('emb_ref', 'emb_cur', params => %s)",
                           (f'{{"columns": {{"e": {{"method": "{method}"}}}}}}',)).fetchone()[0]
        score, drifted = conn.execute("SELECT statistic, is_drifted FROM ml.data_drift WHERE run_id = %s", (run,)).fetchone()
        ref_score, ref_drifted, _ = reference(cur32.copy(), ref32.copy())
        assert drifted == bool(ref_drifted), (case, method, score, ref_score)
        if method == "model":
            assert abs(score - ref_score) < 0.1, (case, score, ref_score)  # another learner, same verdict
        else:
            close(score, ref_score)
