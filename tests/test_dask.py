"""chanmix.dask: lazy mixes byte-identical to chanmix.apply, fits equal to the local ones."""

from __future__ import annotations

import doctest
import subprocess
import sys

import numpy as np
import pytest

dask = pytest.importorskip("dask")

import dask.array as da  # noqa: E402
import tifffile  # noqa: E402
from dask.callbacks import Callback  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import chanmix  # noqa: E402
import chanmix.dask as cdask  # noqa: E402
import subprocesses  # noqa: E402
from chanmix import Mix, Rescale  # noqa: E402
from chanmix import rescale as rescale_module  # noqa: E402
from chanmix.choices import NodataChoice  # noqa: E402
from chanmix.dtypes import dtype_max  # noqa: E402
from chanmix.errors import DataError, MatrixError, UsageError  # noqa: E402
from chanmix.fit import CrossMoments, DifferenceMoments, Moments, NoiseMoments, SampleMask  # noqa: E402

RNG = np.random.default_rng(12)


@pytest.fixture(autouse=True)
def synchronous():
    """Every computation on the calling thread: the same answers, and tracebacks that point here."""
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture
def small_gather(monkeypatch):
    """Force the multi-pass percentile selection on small images."""
    monkeypatch.setattr(rescale_module, "GATHER_VALUES", 37)
    monkeypatch.setattr(rescale_module, "BINS", 8)


class Computes(Callback):
    """Counts the dask computations started while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _start(self, dsk) -> None:
        self.count += 1


def image(dtype: str, shape=(17, 13, 3), rng: np.random.Generator = RNG) -> np.ndarray:
    """Samples of `dtype` spread over its range (floats around [0, 1], negatives included)."""
    if np.dtype(dtype).kind == "f":
        return rng.normal(0.4, 0.5, size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, size=shape).astype(dtype)


def same_bytes(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()


def check(array: np.ndarray, chunks, mix: Mix, **options) -> np.ndarray:
    """chanmix.dask.apply on `array` in `chunks`, computed, byte for byte chanmix.apply's."""
    lazy = cdask.apply(da.from_array(array, chunks=chunks), mix, **options)
    assert isinstance(lazy, da.Array)
    expected = chanmix.apply(array, mix, **options)
    assert lazy.dtype == expected.dtype and lazy.shape == expected.shape
    same_bytes(lazy.compute(), expected)
    return expected


CHUNKINGS = [
    (1, 13, 3),  # one row per chunk
    ((5, 1, 0, 11), (2, 9, 0, 2), 3),  # uneven, with empty chunks
    (4, 5, 1),  # channels split over chunks
    (17, 13, 3),  # one chunk
]
MIX = Mix([[0.6, 0.5, -0.2], [-1.0, 0.3, 1.2]], bias=[0.05, 0.5])
WIDE = Mix(RNG.normal(size=(9, 3)), bias=RNG.normal(size=9) / 10)  # a matrix product, not term by term


def test_module_example():
    assert doctest.testmod(cdask).failed == 0


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32", "float64"])
@pytest.mark.parametrize("rescale", ["clip", "minmax", Rescale("percentile", (3, 91))])
def test_apply_is_byte_identical_to_chanmix_apply(dtype, rescale):
    array = image(dtype)
    outputs = (None, "uint8", "uint16", "int16", "float32", "float64")
    for i, out in enumerate(outputs):  # each output type in one chunking, each chunking once or more
        check(array, CHUNKINGS[i % len(CHUNKINGS)], MIX, dtype=out, rescale=rescale)
    check(array, (3, 4, 2), WIDE, dtype="float32", rescale=rescale)


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
@pytest.mark.parametrize("q", [(2.0, 98.0), (0.0, 100.0), (33.3, 50.0)])
def test_percentiles_above_the_gathered_size_take_the_same_passes(small_gather, dtype, q):
    array = image(dtype)
    if dtype == "uint16":
        array //= 6000  # 11 values: ties, and intervals that one value fills
    rescale = Rescale("percentile", q)
    passes = []

    def blocks():
        passes.append(1)
        return iter([array])

    rescale_module.rescale_map(blocks, MIX, rescale)
    assert len(passes) > 1  # the first pass and refinement passes
    for chunks in CHUNKINGS[:3]:
        with Computes() as computes:
            lazy = cdask.apply(da.from_array(array, chunks=chunks), MIX, rescale=rescale, dtype="float64")
        assert computes.count == len(passes)
        same_bytes(lazy.compute(), chanmix.apply(array, MIX, rescale=rescale, dtype="float64"))


@pytest.mark.parametrize(
    "nodata",
    [7.0, (7.0, None, 9.0), float("nan"), -1e30],
    ids=["one", "per band", "nan", "out of range"],
)
@pytest.mark.parametrize("rescale", ["clip", "minmax", "percentile"])
def test_nodata(nodata, rescale):
    for dtype in ("uint8", "float32"):
        array = image(dtype)
        array[::3, ::2, 0] = 7
        array[1::4, :, 2] = 9
        if dtype == "float32":
            array[2, 3:6, 1] = np.nan
        for out, chunks in zip((None, "float32", "uint16"), CHUNKINGS):
            check(array, chunks, MIX, dtype=out, nodata=nodata, rescale=rescale)


@pytest.mark.parametrize("mode", ["keep", "drop", "mix"])
@pytest.mark.parametrize("alpha", [3, 0])
def test_alpha(mode, alpha):
    rgba = image("uint8", (17, 13, 4))
    mix = MIX if mode != "mix" else Mix(RNG.normal(size=(2, 4)))
    for chunks, out in zip([(1, 13, 4), (5, 4, 1), (17, 13, 4)], (None, "uint16", "float32")):
        got = check(rgba, chunks, mix, dtype=out, alpha=alpha, alpha_mode=mode, rescale="minmax")
        assert got.shape[2] == 2 + (mode == "keep")


@pytest.mark.parametrize("rescale", ["clip", "percentile"])
def test_linear_light(rescale):
    for dtype, chunks in zip(("uint8", "uint16", "float32"), CHUNKINGS):
        check(image(dtype), chunks, MIX, linear=True, rescale=rescale, dtype="uint16", nodata=3.0)


def test_threads_give_the_same_bytes():
    array = image("uint16", (64, 48, 3))
    with dask.config.set(scheduler="threads", num_workers=2):
        check(array, (8, 16, 3), WIDE, rescale="percentile", dtype="uint8", nodata=0)


def test_two_dimensional_arrays_are_one_channel():
    grey = image("uint16", (17, 13))
    check(grey, (4, 3), Mix([[0.5], [-1.0]], bias=[0.1, 1.0]))


def test_the_result_keeps_the_row_and_column_chunks():
    lazy = cdask.apply(da.from_array(image("uint8"), chunks=((5, 1, 11), (2, 9, 2), (1, 2))), WIDE)
    assert lazy.chunks == ((5, 1, 11), (2, 9, 2), (9,))


@settings(max_examples=25, deadline=None)
@given(
    st.data(),
    st.sampled_from(["uint8", "uint16", "int16", "float32"]),
    st.sampled_from([None, "uint8", "float32", "int16"]),
    st.integers(1, 4),
    st.integers(1, 5),
    st.sampled_from(["clip", "minmax", "percentile"]),
)
def test_any_chunking_and_matrix(data, dtype, out, n, m, rescale):
    h, w = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    array = image(dtype, (h, w, n), np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))))

    def cuts(size: int) -> tuple[int, ...]:
        points = data.draw(st.lists(st.integers(1, size - 1), max_size=4, unique=True)) if size > 1 else []
        edges = [0, *sorted(points), size]
        return tuple(b - a for a, b in zip(edges, edges[1:]))

    chunks = (cuts(h), cuts(w), cuts(n))
    weights = data.draw(st.lists(st.floats(-3, 3), min_size=m * n, max_size=m * n))
    bias = data.draw(st.lists(st.floats(-1, 1), min_size=m, max_size=m))
    check(array, chunks, Mix(np.reshape(weights, (m, n)), bias), dtype=out, rescale=rescale)


class Reads:
    """A (17, 13, 3) dask array whose chunks count how often they are read."""

    def __init__(self, array: np.ndarray) -> None:
        self.count = 0
        rows = [
            da.from_delayed(dask.delayed(self.read)(array, r), (min(5, 17 - r), 13, 3), dtype=array.dtype)
            for r in range(0, 17, 5)
        ]
        self.array = da.concatenate(rows, axis=0)

    def read(self, array: np.ndarray, r: int) -> np.ndarray:
        self.count += 1
        return array[r : r + 5]


def test_clip_builds_the_graph_without_computing_anything():
    source = Reads(image("uint8"))
    with Computes() as computes:
        lazy = cdask.apply(source.array, WIDE, dtype="float32", nodata=0)
        lazy = cdask.apply(lazy, Mix(np.ones((1, 9))), dtype="uint16")  # mixes chain lazily
    assert computes.count == 0 and source.count == 0
    lazy.compute()
    assert source.count == 4  # each chunk read once


@pytest.mark.parametrize("rescale", ["minmax", "percentile"])
def test_a_rescale_computes_its_statistics_once_then_stays_lazy(rescale):
    source = Reads(image("uint8"))
    with Computes() as computes:
        lazy = cdask.apply(source.array, MIX, rescale=rescale)
    assert computes.count == 1 and source.count == 4  # one pass: the image is small enough to gather
    lazy.compute()
    assert source.count == 8


def test_bad_requests_fail_before_anything_is_computed():
    source = Reads(image("uint8"))
    with pytest.raises(MatrixError, match="reads 2 channels but the image has 3"):
        cdask.apply(source.array, Mix.identity(2))
    with pytest.raises(UsageError, match="alpha_mode"):
        cdask.apply(source.array, MIX, alpha_mode="all")
    with pytest.raises(UsageError, match="dtype"):
        cdask.apply(source.array, MIX, dtype="int8")
    with pytest.raises(UsageError, match="nodata: 2 values"):
        cdask.apply(source.array, MIX, nodata=(1.0, 2.0))
    with pytest.raises(UsageError, match="alpha: the image has channels 0 to 2"):
        cdask.apply(source.array, MIX, alpha=3)
    with pytest.raises(UsageError, match=r"expected an \(H, W\) or \(H, W, N\) array"):
        cdask.apply(da.zeros((2, 3, 4, 5)), MIX)
    with pytest.raises(UsageError, match="k must be a number of components from 1 to 3"):
        cdask.fit_pca(source.array, 4)
    with pytest.raises(UsageError, match="ridge"):
        cdask.fit_lstsq(source.array, source.array, ridge=-1.0)
    with pytest.raises(UsageError, match="valid: the mask has shape"):
        cdask.fit_mnf(source.array, 2, valid=np.ones((3, 3), bool))
    with pytest.raises(UsageError, match="y: the targets are"):
        cdask.fit_lstsq(source.array, source.array[1:])
    assert source.count == 0


def test_a_rescale_without_a_valid_pixel_is_a_usage_error():
    zeros = da.zeros((6, 5, 3), dtype=np.uint8, chunks=2)
    with pytest.raises(UsageError, match="rescale minmax: the image has no valid pixel"):
        cdask.apply(zeros, MIX, rescale="minmax", nodata=0)


# --- fits --------------------------------------------------------------------------------

#: One chunk, 1-pixel-wide columns, 1-row bands, tiles with split channels, uneven (an empty column chunk).
FIT_CHUNKS = [(23, 31, 4), (23, 1, 4), (1, 31, 4), (5, 7, 2), ((4, 19), (3, 0, 28), 4)]


def correlated(dtype: str = "uint16", shape=(23, 31, 4)) -> np.ndarray:
    """Bands that are mixtures of a few smooth sources plus noise, in `dtype`'s range."""
    h, w, n = shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    sources = np.stack([np.sin(3 * xx + yy), np.cos(5 * yy), xx * yy], axis=-1)
    values = sources @ RNG.normal(size=(3, n)) + 0.05 * RNG.normal(size=(h, w, n))
    values = (values - values.min()) / np.ptp(values)
    if np.dtype(dtype).kind == "f":
        return values.astype(dtype)
    return np.rint(values * np.iinfo(dtype).max).astype(dtype)


def normalized(array: np.ndarray) -> np.ndarray:
    scale = np.iinfo(array.dtype).max if array.dtype.kind in "ui" else 1.0
    return array.astype(np.float64) / scale


def close(got: np.ndarray, expected: np.ndarray, tol: float = 1e-10) -> None:
    """Equal within `tol` of the largest magnitude of `expected`."""
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol * max(float(np.abs(expected).max()), 1.0))


def same_fit(got, expected, *attributes: str, tol: float = 1e-10) -> None:
    close(got.mix.weights, expected.mix.weights, tol)
    close(got.mix.bias, expected.mix.bias, tol)
    assert got.mix.names == expected.mix.names
    assert got.mix.provenance.get("n_pixels") == expected.mix.provenance.get("n_pixels")
    assert getattr(got, "n_pixels", None) == getattr(expected, "n_pixels", None)
    for name in attributes:
        close(getattr(got, name), getattr(expected, name), tol)


@pytest.fixture
def holes():
    """(image with nodata 7 in some pixels and NaN-free, valid mask)."""
    array = correlated()
    array[3, 4:9, 1] = 7
    array[10:12, 20, 3] = 7
    valid = RNG.random(array.shape[:2]) > 0.15
    return array, valid


@pytest.mark.parametrize("chunks", FIT_CHUNKS)
def test_pca_equals_the_local_fit(holes, chunks):
    array, valid = holes
    counted = valid & ~(array == 7).any(axis=2)
    lazy = da.from_array(array, chunks=chunks)
    for center, whiten in [(True, False), (False, False), (True, True)]:
        expected = chanmix.fit_pca(Moments.of(normalized(array), counted), 3, center=center, whiten=whiten)
        got = cdask.fit_pca(lazy, 3, center=center, whiten=whiten, valid=valid, nodata=7, products="float64")
        same_fit(got, expected, "eigenvalues", "explained_variance_ratio", "mean")
    dask_valid = da.from_array(valid, chunks=5)  # a mask chunked otherwise
    same_fit(
        cdask.fit_pca(lazy, 0.9, valid=dask_valid, nodata=(None, 7.0, None, 7.0), products="float64"),
        chanmix.fit_pca(Moments.of(normalized(array), counted), 0.9),
    )


@pytest.mark.parametrize("chunks", FIT_CHUNKS)
def test_mnf_counts_every_horizontal_pair_once(holes, chunks):
    array, valid = holes
    counted = valid & ~(array == 7).any(axis=2)
    norm = normalized(array)
    expected = chanmix.fit_mnf(Moments.of(norm, counted), NoiseMoments.of(norm, counted), 2)
    got = cdask.fit_mnf(da.from_array(array, chunks=chunks), 2, valid=valid, nodata=7, products="float64")
    same_fit(got, expected, "eigenvalues", "snr", "noise_covariance", "mean")
    pairs = int((counted[:, 1:] & counted[:, :-1]).sum())
    assert got.mix.provenance["n_noise_pairs"] == pairs
    plain = cdask.fit_mnf(da.from_array(array, chunks=chunks), 4, products="float64")
    assert plain.mix.provenance["n_noise_pairs"] == 23 * 30


@pytest.mark.parametrize("chunks", FIT_CHUNKS)
def test_maf_counts_every_horizontal_and_vertical_pair_once(holes, chunks):
    array, valid = holes
    counted = valid & ~(array == 7).any(axis=2)
    norm = normalized(array)
    expected = chanmix.fit_maf(Moments.of(norm, counted), DifferenceMoments.of(norm, counted), 3)
    got = cdask.fit_maf(da.from_array(array, chunks=chunks), 3, valid=valid, nodata=7, products="float64")
    same_fit(got, expected, "eigenvalues", "autocorrelation", "mean")
    pairs = int((counted[:, 1:] & counted[:, :-1]).sum() + (counted[1:] & counted[:-1]).sum())
    assert got.n_pairs == pairs
    plain = cdask.fit_maf(da.from_array(array, chunks=chunks), 4, products="float64")
    assert plain.n_pairs == 23 * 30 + 22 * 31
    same_fit(plain, chanmix.fit_maf(Moments.of(norm), DifferenceMoments.of(norm), 4), "eigenvalues")


@pytest.mark.parametrize("chunks", FIT_CHUNKS)
def test_ica_gathers_the_sample_in_reading_order(chunks):
    rng = np.random.default_rng(8)
    sources = np.stack(
        [rng.uniform(-1, 1, (23, 31)), rng.laplace(0, 1, (23, 31)), rng.uniform(-1, 1, (23, 31))], -1
    )
    mixed = sources @ rng.normal(size=(3, 4)) * 0.05 + 0.5
    array = np.rint(np.clip(mixed, 0, 1) * 65535).astype(np.uint16)
    array[3, 4:9, 1] = 7
    valid = RNG.random(array.shape[:2]) > 0.15
    counted = valid & ~(array == 7).any(axis=2)
    norm = normalized(array)
    drawn = SampleMask(23 * 31, 500, 3).mask(0, 23 * 31).reshape(23, 31)
    expected = chanmix.fit_ica(Moments.of(norm, counted), norm[drawn & counted], 3, seed=3)
    got = cdask.fit_ica(
        da.from_array(array, chunks=chunks), 3, sample=500, seed=3, valid=valid, nodata=7, products="float64"
    )
    assert expected.converged and got.iterations == expected.iterations
    same_fit(got, expected, "negentropy", "mean", tol=1e-8)
    assert got.mix.provenance["n_sample"] == int((drawn & counted).sum())


@pytest.mark.parametrize("chunks", FIT_CHUNKS)
def test_lstsq_equals_the_local_fit(holes, chunks):
    array, valid = holes
    target = (
        normalized(array)[:, :, :2] @ [[0.5, 1.0], [0.2, 0.0]] + 0.1 + 0.01 * RNG.normal(size=(23, 31, 2))
    )
    target = target.astype(np.float32)
    target[5, 5, 0] = np.nan
    target[6, 7, 1] = -1.0
    counted = valid & ~(array == 7).any(axis=2) & ~(target == -1).any(axis=2)
    x = da.from_array(array, chunks=chunks)
    y = da.from_array(target, chunks=(7, 4, 1))  # chunked otherwise: rechunked as x
    for bias, ridge in [(True, 0.0), (False, 0.0), (True, 0.3)]:
        expected = chanmix.fit_lstsq(
            CrossMoments.of(normalized(array), target.astype(np.float64), counted), bias=bias, ridge=ridge
        )
        nodata = (7.0, 7.0, 7.0, 7.0, -1.0, -1.0)
        got = cdask.fit_lstsq(x, y, bias=bias, ridge=ridge, valid=valid, nodata=nodata)
        same_fit(got, expected, "rmse", "r2")


def test_fits_equal_the_fits_of_the_same_pixels_in_a_file(tmp_path, holes):
    array, _ = holes
    target = correlated("uint8", (23, 31, 2))
    tifffile.imwrite(tmp_path / "x.tif", array, photometric="minisblack", planarconfig="contig")
    tifffile.imwrite(tmp_path / "y.tif", target, photometric="minisblack", planarconfig="contig")
    options = chanmix.FitOptions(nodata=NodataChoice(7.0), products="float64")
    x, y = [str(tmp_path / "x.tif")], [str(tmp_path / "y.tif")]
    for chunks in (FIT_CHUNKS[0], FIT_CHUNKS[1], FIT_CHUNKS[-1]):  # one chunk, 1-pixel-wide, uneven
        lazy = da.from_array(array, chunks=chunks)
        same_fit(
            cdask.fit_pca(lazy, 2, nodata=7, products="float64"),
            chanmix.pca_from_files(x, 2, options=options),
            "eigenvalues",
        )
        same_fit(
            cdask.fit_mnf(lazy, 3, nodata=7, products="float64"),
            chanmix.mnf_from_files(x, 3, options=options),
            "snr",
        )
        same_fit(
            cdask.fit_lstsq(lazy, target, nodata=7, ridge=0.01),
            chanmix.lstsq_from_files(x, y, ridge=0.01, options=options),
            "rmse",
            "r2",
        )


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_float32_products_by_default_agree_with_float64_ones_and_with_the_local_fit(holes, dtype):
    """The default float32 products: the same bits as the local fit of the same blocks, within
    about 1e-6 of float64 products for any chunks, and the same bits from run to run."""
    array = correlated(dtype)
    local_fit = chanmix.fit_pca(Moments.of(array).scaled(1.0 / dtype_max(array.dtype)), 3)
    one_chunk = cdask.fit_pca(da.from_array(array, chunks=-1), 3)
    assert np.array_equal(one_chunk.mix.weights, local_fit.mix.weights)
    assert np.array_equal(one_chunk.eigenvalues, local_fit.eigenvalues)
    for chunks in FIT_CHUNKS:
        lazy = da.from_array(array, chunks=chunks)
        fast, exact = cdask.fit_pca(lazy, 3), cdask.fit_pca(lazy, 3, products="float64")
        close(fast.eigenvalues, exact.eigenvalues, 1e-6)
        close(fast.mean, exact.mean, 1e-6)
        # a component moves by the rounding over its eigenvalue's gap to the others: 2e-5 here
        same_fit(fast, exact, tol=1e-4)
        again = cdask.fit_pca(lazy, 3)
        assert np.array_equal(again.mix.weights, fast.mix.weights)
    with pytest.raises(UsageError, match="products must be one of auto, float32, float64"):
        cdask.fit_pca(da.from_array(array), 3, products="float16")


def test_pca_equals_scikit_learn():
    decomposition = pytest.importorskip("sklearn.decomposition")
    array = correlated("float64", (29, 19, 5))
    reference = decomposition.PCA(n_components=3).fit(array.reshape(-1, 5))
    got = cdask.fit_pca(da.from_array(array, chunks=(4, 6, 5)), 3)
    close(np.array(got.mix.provenance["explained_variance"]), reference.explained_variance_)
    close(got.explained_variance_ratio, reference.explained_variance_ratio_)
    signs = np.sign(np.sum(got.mix.weights * reference.components_, axis=1))
    close(got.mix.weights, reference.components_ * signs[:, None])
    close(got.mean, reference.mean_)


def test_lstsq_equals_numpy_lstsq_on_the_same_pixels():
    x = correlated("uint8", (21, 17, 3))
    y = correlated("float32", (21, 17, 2))
    valid = RNG.random((21, 17)) > 0.3
    got = cdask.fit_lstsq(da.from_array(x, chunks=(2, 5, 1)), da.from_array(y, chunks=9), valid=valid)
    pixels = normalized(x)[valid]
    design = np.hstack([pixels, np.ones((len(pixels), 1))])
    solution, *_ = np.linalg.lstsq(design, y[valid].astype(np.float64), rcond=None)
    close(got.mix.weights, solution[:3].T)
    close(got.mix.bias, solution[3])


def test_a_fit_without_a_valid_pixel_is_a_data_error():
    zeros = da.zeros((6, 5, 3), dtype=np.uint8, chunks=2)
    with pytest.raises(DataError, match="no valid pixel to fit"):
        cdask.fit_pca(zeros, 2, nodata=0)
    with pytest.raises(DataError, match="no valid pixel to fit"):
        cdask.fit_lstsq(zeros, zeros, valid=np.zeros((6, 5), bool))


def test_chunk_results_merge_in_order_as_a_tree():
    """64 results: 8 tasks merge 8 each, one task merges those 8; never one task for all."""
    parts = [dask.delayed(str(i)) for i in range(64)]
    from chanmix.dask_blocks import tree as merged

    tree = merged(parts, lambda a, b: f"{a} {b}")
    assert tree.compute() == " ".join(str(i) for i in range(64))
    merges = [key for key in dict(tree.__dask_graph__()) if str(key).startswith("reduce")]
    assert len(merges) == 9


# --- the package without the extra -------------------------------------------------------


def test_importing_chanmix_never_imports_dask_or_xarray():
    code = (
        "import sys, numpy as np, chanmix\n"
        "chanmix.apply(np.zeros((2, 2, 3), np.uint8), chanmix.Mix.identity(3), rescale='minmax')\n"
        "chanmix.fit_pca(chanmix.Moments.of(np.eye(3)), 2)\n"
        "import chanmix.pipeline, chanmix.fitfiles, chanmix.cli.main\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'xarray', 'distributed')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=subprocesses.environment(),
        timeout=60,
    )
    assert done.stdout.strip() == "[]", done.stderr


def test_without_the_extra_the_import_error_says_what_to_install():
    code = (
        "import sys\nsys.modules['dask'] = None\n"
        "try:\n    import chanmix.dask\nexcept ImportError as exc:\n    print(exc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=subprocesses.environment(),
        timeout=60,
    )
    assert done.stdout.strip() == "chanmix.dask needs the dask extra: pip install 'chanmix[dask]'", (
        done.stderr
    )
