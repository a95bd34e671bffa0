"""The mergeable statistics: block splits, merges, masks, non-finite rows and precision."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chanmix.kernel
from chanmix.errors import DataError, UsageError
from chanmix.fit import CrossMoments, Moments, NoiseMoments
from chanmix.fit import chunks as chunks_module
from chanmix.fit.chunks import FLOAT32_CHUNK_PIXELS


def rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference relative to the largest magnitude of the reference."""
    return float(np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b)))


def cube(seed: int = 0, shape: tuple[int, int, int] = (40, 50, 5)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(shape[2], shape[2]))
    return (rng.normal(size=shape) @ mixing * 0.05 + 0.6).astype(np.float32)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Chunks of 97 rows, so that every test also crosses the chunk boundaries."""
    monkeypatch.setattr(chunks_module, "CHUNK_PIXELS", 97)
    monkeypatch.setattr(chunks_module, "FLOAT32_CHUNK_PIXELS", 97)


#: Largest relative error of the mean and of the scatter (or covariance) each way of forming
#: the products is held to, against float64 references or another cut into blocks: float32
#: products round each chunk's sums and products to about 1e-7 of their size.
MEAN_TOL = {"float64": 1e-14, "float32": 1e-7}
SCATTER_TOL = {"float64": 1e-12, "float32": 1e-6}

both_products = pytest.mark.parametrize("products", ["float64", "float32"])


@both_products
def test_matches_numpy_on_one_block(products):
    x = cube().reshape(-1, 5)
    m = Moments.of(x, products=products)
    ref = x.astype(np.float64)
    assert m.count == len(ref)
    assert rel(m.mean, ref.mean(axis=0)) < MEAN_TOL[products]
    tol = SCATTER_TOL[products]
    assert rel(m.covariance(), np.cov(ref, rowvar=False)) < tol
    assert rel(m.covariance(ddof=0), np.cov(ref, rowvar=False, ddof=0)) < tol
    assert rel(m.second_moment(), ref.T @ ref / len(ref)) < tol
    assert m.mean.dtype == np.float64 and not m.scatter.flags.writeable


def test_products_follow_the_samples_by_default():
    """auto: float32 products for float32 samples, float64 for integers and float64 ones."""
    x = cube().reshape(-1, 5)
    default, fast, exact = Moments.of(x), Moments.of(x, products="float32"), Moments.of(x, products="float64")
    assert np.array_equal(default.scatter, fast.scatter) and np.array_equal(default.mean, fast.mean)
    assert 0 < rel(fast.scatter, exact.scatter) < 1e-6  # a different rounding, not another result
    raw = np.random.default_rng(6).integers(0, 65536, size=(500, 3)).astype(np.uint16)
    default, fast, exact = (Moments.of(raw, products=p) for p in ("auto", "float32", "float64"))
    assert np.array_equal(default.scatter, exact.scatter) and not np.array_equal(fast.scatter, exact.scatter)
    assert rel(fast.scatter, exact.scatter) < 1e-6
    assert np.array_equal(Moments.of(x.astype(np.float64)).scatter, Moments.of(x, products="float64").scatter)


@both_products
@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 2000), min_size=1, max_size=6))
def test_any_block_split_gives_the_same_statistics(products, cuts):
    x = cube(1).reshape(-1, 5)
    edges = [0, *sorted(cuts), len(x)]
    merged = Moments.empty(5)
    for a, b in zip(edges[:-1], edges[1:]):
        merged = merged + Moments.of(x[a:b], products=products)
    whole = Moments.of(x, products=products)
    assert merged.count == whole.count
    assert rel(merged.mean, whole.mean) < MEAN_TOL[products] * 100
    assert rel(merged.scatter, whole.scatter) < SCATTER_TOL[products]


@both_products
def test_row_bands_of_an_image_equal_the_whole_image(products):
    img = cube(2)
    bands = sum((Moments.of(img[r : r + 7], products=products) for r in range(0, 40, 7)), Moments.empty(5))
    whole = Moments.of(img, products=products)
    assert rel(bands.scatter, whole.scatter) < SCATTER_TOL[products]
    assert np.array_equal(whole.scatter, Moments.of(img.reshape(-1, 5), products=products).scatter)


def test_merge_is_associative_and_commutative_with_empty_as_identity():
    x = cube(3).reshape(-1, 5)  # (float32 products: the merges are float64 all the same)
    a, b, c = Moments.of(x[:300]), Moments.of(x[300:1100]), Moments.of(x[1100:])
    left, right = (a + b) + c, a + (b + c)
    assert left.count == right.count == len(x)
    assert rel(left.scatter, right.scatter) < 1e-13
    assert rel((b + a).scatter, (a + b).scatter) < 1e-13
    for same in (a + Moments.empty(5), Moments.empty(5) + a):
        assert same.count == a.count
        assert np.array_equal(same.mean, a.mean) and np.array_equal(same.scatter, a.scatter)


@both_products
def test_valid_mask_equals_the_valid_pixels_alone(products):
    img = cube(4)
    valid = np.random.default_rng(4).random(img.shape[:2]) < 0.3
    masked, alone = Moments.of(img, valid, products=products), Moments.of(img[valid], products=products)
    assert masked.count == int(valid.sum())
    assert rel(masked.mean, alone.mean) < MEAN_TOL[products]
    assert rel(masked.scatter, alone.scatter) < SCATTER_TOL[products]
    assert Moments.of(img, np.zeros(img.shape[:2], bool)).count == 0


@both_products
def test_non_finite_rows_are_left_out(products):
    x = cube(5).reshape(-1, 5).copy()
    bad = np.zeros(len(x), bool)
    bad[[3, 150, 151, 1999]] = True
    x[3, 0], x[150, 4], x[151, 2], x[1999, 1] = np.nan, np.inf, -np.inf, np.nan
    m = Moments.of(x, products=products)
    assert m.count == len(x) - 4
    assert rel(m.scatter, Moments.of(x[~bad], products=products).scatter) < SCATTER_TOL[products]


@both_products
def test_integer_blocks_are_used_as_given(products):
    raw = np.random.default_rng(6).integers(0, 65536, size=(500, 3)).astype(np.uint16)
    m = Moments.of(raw, products=products)
    assert rel(m.covariance(), np.cov(raw.astype(np.float64), rowvar=False)) < SCATTER_TOL[products]


def test_errors():
    with pytest.raises(UsageError, match="3 and 4 bands"):
        Moments.empty(3) + Moments.empty(4)
    with pytest.raises(TypeError):
        Moments.empty(3) + NoiseMoments.empty(3)
    with pytest.raises(UsageError, match="valid mask"):
        Moments.of(np.zeros((4, 5, 3)), np.ones((5, 4), bool))
    with pytest.raises(UsageError):
        Moments.of(np.zeros(5))
    with pytest.raises(DataError, match="at least 2"):
        Moments.of(np.ones((1, 3))).covariance()
    with pytest.raises(DataError):
        Moments.empty(3).second_moment()


def test_precision_with_a_large_mean_beats_the_naive_sum_of_squares(monkeypatch):
    """The issue's target on a proxy: 2e6 uint16-normalized pixels of mean ~0.9, small spread,
    in blocks of 4096, against the exact statistics computed in integers."""
    monkeypatch.setattr(chunks_module, "CHUNK_PIXELS", 4096)
    rng = np.random.default_rng(7)
    p, n = 2_000_000, 4
    signal = (
        rng.normal(size=(p, n)) @ np.diag([4e-3, 2e-3, 1e-3, 5e-4]) @ np.linalg.qr(rng.normal(size=(n, n)))[0]
    )
    raw = np.clip(np.rint((0.9 + signal) * 65535), 0, 65535).astype(np.uint16)
    scale = 65535.0
    # Exact reference: integer sums, one rounding at the end.
    ints = raw.astype(np.int64)
    total = ints.sum(axis=0)
    squares = ints.T @ ints
    exact = np.array(
        [
            [(p * int(squares[i, j]) - int(total[i]) * int(total[j])) / (p * scale * scale) for j in range(n)]
            for i in range(n)
        ]
    )
    x = raw / scale
    ours = sum((Moments.of(x[s : s + 4096]) for s in range(0, p, 4096)), Moments.empty(n))
    naive = x.T @ x - p * np.outer(x.mean(axis=0), x.mean(axis=0))
    err_ours, err_naive = rel(ours.scatter, exact), rel(naive, exact)
    assert err_ours < 1e-13
    assert err_naive > 100 * err_ours
    # Components to 1e-6 relative (here: far better).
    _, v_exact = np.linalg.eigh(exact)
    _, v_ours = np.linalg.eigh(ours.scatter)
    aligned = v_ours * np.sign(np.sum(v_ours * v_exact, axis=0))
    assert np.max(np.abs(aligned - v_exact)) < 1e-9


def test_cross_moments_match_numpy_and_merge():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(1500, 4)).astype(np.float32) + 3
    y = x[:, :2] @ rng.normal(size=(2, 3)) + rng.normal(size=(1500, 3))
    whole = CrossMoments.of(x, y)
    parts = CrossMoments.of(x[:700], y[:700]) + CrossMoments.of(x[700:], y[700:])
    xc, yc = x - x.astype(np.float64).mean(axis=0), y - y.mean(axis=0)
    for stats in (whole, parts):
        assert stats.count == 1500 and stats.n_inputs == 4 and stats.n_targets == 3
        assert rel(stats.sxx, xc.T @ xc) < 1e-12
        assert rel(stats.sxy, xc.T @ yc) < 1e-12
        assert rel(stats.syy, yc.T @ yc) < 1e-12
        assert rel(stats.mean_y, y.mean(axis=0)) < 1e-13
    y[5, 1] = np.nan
    valid = np.ones(1500, bool)
    valid[9] = False
    assert CrossMoments.of(x, y, valid).count == 1498
    with pytest.raises(UsageError, match="same size"):
        CrossMoments.of(x, y[:10])
    with pytest.raises(UsageError, match="input bands"):
        whole + CrossMoments.empty(3, 4)


def test_noise_moments_estimate_white_noise_and_ignore_smooth_signal():
    rng = np.random.default_rng(9)
    sigma = np.array([0.01, 0.02, 0.05])
    yy, xx = np.mgrid[0:200, 0:300] / 300.0
    # Smooth across columns: vertical waves and horizontal ramps (constant differences).
    smooth = np.stack([np.sin(6 * yy), 2 * xx, np.cos(4 * yy) + xx], axis=-1)
    img = smooth + rng.normal(size=(200, 300, 3)) * sigma
    noise = sum((NoiseMoments.of(img[r : r + 16]) for r in range(0, 200, 16)), NoiseMoments.empty(3))
    assert noise.count == 200 * 299
    estimate = noise.noise_covariance()
    assert np.allclose(np.sqrt(np.diag(estimate)), sigma, rtol=0.02)
    off = (estimate - np.diag(np.diag(estimate))) / np.outer(sigma, sigma)
    assert np.max(np.abs(off)) < 0.03
    assert rel(noise.scatter, NoiseMoments.of(img).scatter) < 1e-12


def test_noise_differences_stay_within_rows_and_need_both_pixels_valid():
    img = np.repeat(np.arange(6.0)[:, None, None], 5, axis=1).repeat(2, axis=2)  # rows differ
    noise = NoiseMoments.of(img)
    assert noise.count == 6 * 4
    assert np.all(noise.noise_covariance() == 0)
    valid = np.ones((6, 5), bool)
    valid[0, 2] = False  # removes 2 pairs in row 0
    valid[3, 0] = False  # removes 1 pair in row 3
    assert NoiseMoments.of(img, valid).count == 24 - 3
    with pytest.raises(UsageError, match="rows"):
        NoiseMoments.of(img.reshape(-1, 2))
    with pytest.raises(DataError, match="adjacent"):
        NoiseMoments.of(img[:, :1]).noise_covariance()


def test_scaling_the_statistics_equals_scaling_the_pixels():
    raw = np.random.default_rng(11).integers(0, 65536, size=(3000, 3), dtype=np.uint16)
    factors = np.array([1 / 65535, 2.0, 0.5])
    scaled = Moments.of(raw, products="float64").scaled(factors)
    direct = Moments.of(raw * factors)
    assert rel(scaled.mean, direct.mean) < 1e-14 and rel(scaled.scatter, direct.scatter) < 1e-12
    x, y = raw[:, :2], raw[:, 2:]
    cross = CrossMoments.of(x, y).scaled(1 / 65535, 3.0)
    ref = CrossMoments.of(x / 65535, y * 3.0)
    assert rel(cross.sxy, ref.sxy) < 1e-12 and rel(cross.mean_y, ref.mean_y) < 1e-14


def exact_integer_statistics(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scatter of integer pixels from integer sums: one rounding at the end."""
    ints = raw.astype(np.int64)
    p, n = ints.shape
    total, squares = ints.sum(axis=0), ints.T @ ints
    scatter = np.array(
        [[(p * int(squares[i, j]) - int(total[i]) * int(total[j])) / p for j in range(n)] for i in range(n)]
    )
    return total / p, scatter


@pytest.mark.parametrize("data", ["full-range uint16", "offset uint16", "offset float32"])
def test_float32_products_stay_within_1e_6_on_adversarial_data(monkeypatch, data):
    """products="float32": full-range uint16 and data of mean 0.9 and spread 2e-3, against the
    exact statistics (integers) or numpy's centred float64 ones, in chunks of their real size."""
    monkeypatch.setattr(chunks_module, "FLOAT32_CHUNK_PIXELS", FLOAT32_CHUNK_PIXELS)
    rng = np.random.default_rng(12)
    p, n = 300_000, 4
    rotation = np.linalg.qr(rng.normal(size=(n, n)))[0]
    if data == "full-range uint16":
        spread = rng.normal(32768, 16000, size=(p, n)) @ rotation.T * 0.9 + 3000
        raw = np.clip(spread, 0, 65535).astype(np.uint16)
    else:
        signal = rng.normal(size=(p, n)) @ np.diag([4e-3, 2e-3, 1e-3, 5e-4]) @ rotation
        raw = np.clip(np.rint((0.9 + signal) * 65535), 0, 65535).astype(np.uint16)
    if data == "offset float32":
        x = (raw / 65535.0).astype(np.float32)
        mean = x.astype(np.float64).mean(axis=0)
        centred = x - mean
        scatter = centred.T @ centred
    else:
        x = raw
        mean, scatter = exact_integer_statistics(raw)
    ours = sum(
        (Moments.of(x[s : s + 65536], products="float32") for s in range(0, p, 65536)), Moments.empty(n)
    )
    assert ours.count == p
    assert rel(ours.mean, mean) < 1e-7  # measured: 1e-8
    assert rel(ours.scatter, scatter) < 1e-6  # measured: 1e-7 (bench/README.md)
    _, v_exact = np.linalg.eigh(scatter)
    _, v_ours = np.linalg.eigh(ours.scatter)
    aligned = v_ours * np.sign(np.sum(v_ours * v_exact, axis=0))
    assert np.max(np.abs(aligned - v_exact)) < 1e-6


def test_float32_products_fall_back_to_float64_where_float32_would_not_do():
    x = cube(13).reshape(-1, 5)
    for block in (x.astype(np.float64), x.astype(np.int32), x * np.float32(1e20), x * np.float32(1e-25)):
        block = block.copy()
        fast, exact = Moments.of(block, products="float32"), Moments.of(block)
        assert rel(fast.scatter, exact.scatter) < 1e-12 and rel(fast.mean, exact.mean) < 1e-14
    x[[5, 300]] = np.nan
    assert Moments.of(x, products="float32").count == len(x) - 2
    assert rel(Moments.of(x, products="float32").scatter, Moments.of(x).scatter) < 1e-6
    constant = x[:, :3].copy()
    constant[:, 1] = np.float32(123.456)
    assert Moments.of(constant, products="float32").constant_bands().tolist() == [False, True, False]
    assert np.diag(Moments.of(constant, products="float32").scatter)[1] >= 0
    with pytest.raises(UsageError, match="products"):
        Moments.of(x, products="float16")


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32", "int8", "float16"])
def test_float32_statistics_are_the_same_bytes_with_and_without_the_c_kernel(monkeypatch, dtype):
    """The C kernel converts and shifts each chunk in one pass; NumPy does it where there is no
    kernel: the same bytes, for contiguous blocks and for strided views of bands."""
    rng = np.random.default_rng(13)
    info = np.iinfo(dtype) if dtype[0] in "ui" else None
    if info is None:
        data = (rng.normal(size=(3001, 8)) * 3 + 40).astype(dtype)
    else:
        data = rng.integers(info.min, info.max, size=(3001, 8), endpoint=True).astype(dtype)
    valid = rng.random(3001) < 0.9
    if chanmix.kernel._mixloops is None:
        pytest.skip("chanmix was installed without its C kernel")
    results = {}
    for mode in ("numpy", "compiled"):
        monkeypatch.setenv("CHANMIX_KERNEL", mode)
        results[mode] = [Moments.of(x, v) for x in (data, data[:, 1::2]) for v in (None, valid)]
    for a, b in zip(results["numpy"], results["compiled"]):
        assert a.count == b.count
        assert np.array_equal(a.mean, b.mean) and np.array_equal(a.scatter, b.scatter)


@both_products
def test_threads_computing_at_once_get_what_one_thread_gets(products):
    """Each thread keeps its own chunk buffer (chunks._chunk_buffer): blocks of different
    widths and types computed at once by 4 threads equal the same blocks one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(21)
    blocks = [
        (rng.normal(size=(5000, 3 + i % 4)) * 10 + 100).astype(np.float32 if i % 2 else np.uint16)
        for i in range(24)
    ]
    alone = [Moments.of(b, products=products) for b in blocks]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda b: Moments.of(b, products=products), blocks))
    for a, b in zip(alone, together):
        assert a.count == b.count and np.array_equal(a.mean, b.mean) and np.array_equal(a.scatter, b.scatter)
