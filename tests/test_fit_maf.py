"""MAF: neighbour differences counted once whatever the blocks, a known answer, Orfeo ToolBox."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import tifffile

from chanmix import fitfiles
from chanmix.errors import DataError, UsageError
from chanmix.fit import DifferenceMoments, Moments, fit_maf
from chanmix.fitfiles import FitOptions, maf_from_files

#: Two smooth fields, a texture of period 8 pixels and white noise, into 4 bands.
LOADINGS = np.array(
    [
        [0.10, 0.05, 0.08, -0.04],
        [0.02, -0.06, 0.05, 0.07],
        [0.03, 0.03, -0.02, 0.01],
        [0.0, 0.02, 0.02, -0.03],
    ]
)


def scene(seed: int = 0, height: int = 96, width: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Fields of known autocorrelation (smooth, smooth, texture, noise) mixed into 4 bands."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    latent = np.stack(
        [
            np.sin(2 * np.pi * (xx + 0.3 * yy) / 64),
            np.cos(3 * np.pi * yy / 64) * np.sin(np.pi * xx / 64),
            np.sin(2 * np.pi * xx / 8) * np.cos(2 * np.pi * yy / 8),
            rng.normal(size=(height, width)),
        ],
        axis=-1,
    )
    return latent @ LOADINGS + 0.5, latent


def stats(img: np.ndarray, rows: int, valid: np.ndarray | None = None) -> tuple[Moments, DifferenceMoments]:
    n = img.shape[2]
    moments, diffs = Moments.empty(n), DifferenceMoments.empty(n)
    for r in range(0, img.shape[0], rows):
        ok = None if valid is None else valid[r : r + rows]
        moments = moments + Moments.of(img[r : r + rows], ok)
        above = None if r == 0 else img[r - 1]
        above_ok = None if r == 0 or valid is None else valid[r - 1]
        diffs = diffs + DifferenceMoments.of(img[r : r + rows], ok, above=above, above_valid=above_ok)
    return moments, diffs


def brute_differences(img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Every horizontal and vertical difference whose two pixels are valid, by a plain loop."""
    out = []
    h, w, _ = img.shape
    for i in range(h):
        for j in range(w):
            if j + 1 < w and valid[i, j] and valid[i, j + 1]:
                out.append(img[i, j + 1] - img[i, j])
            if i + 1 < h and valid[i, j] and valid[i + 1, j]:
                out.append(img[i + 1, j] - img[i, j])
    return np.array(out)


def test_the_differences_are_every_neighbour_pair_once_whatever_the_rows():
    img, _ = scene(height=23, width=11)
    valid = np.random.default_rng(3).random(img.shape[:2]) > 0.2
    truth = brute_differences(img, valid)
    for rows in (1, 4, 23):
        _, diffs = stats(img, rows, valid)
        assert diffs.count == len(truth)
        np.testing.assert_allclose(diffs.mean, truth.mean(axis=0), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(diffs.covariance(), np.cov(truth.T), rtol=1e-10, atol=1e-15)


def test_smooth_fields_come_first_and_the_noise_last():
    img, latent = scene()
    fit = fit_maf(*stats(img, 96), 4)
    scores = img.reshape(-1, 4) @ fit.mix.weights.T + fit.mix.bias
    truth = latent.reshape(-1, 4)

    def span(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        qa, qb = np.linalg.qr(a - a.mean(0))[0], np.linalg.qr(b - b.mean(0))[0]
        return np.linalg.svd(qa.T @ qb, compute_uv=False)

    assert span(scores[:, :2], truth[:, :2]).min() > 0.999  # MAF1-2: the smooth fields
    assert abs(np.corrcoef(scores[:, 2], truth[:, 2])[0, 1]) > 0.99  # MAF3: the texture
    assert abs(np.corrcoef(scores[:, 3], truth[:, 3])[0, 1]) > 0.99  # MAF4: the noise
    assert np.all(fit.autocorrelation[:2] > 0.99) and abs(fit.autocorrelation[3]) < 0.05
    assert np.all(np.diff(fit.eigenvalues) >= 0)
    np.testing.assert_allclose(np.cov(scores.T), np.eye(4), atol=1e-10)  # unit variance, uncorrelated
    np.testing.assert_allclose(scores.mean(axis=0), 0, atol=1e-12)
    peaks = fit.mix.weights[np.arange(4), np.abs(fit.mix.weights).argmax(axis=1)]
    assert np.all(peaks > 0)
    assert fit.mix.names == ("MAF1", "MAF2", "MAF3", "MAF4")
    assert fit.mix.provenance["method"] == "maf" and len(fit.mix.provenance["autocorrelation"]) == 4


def test_any_row_band_height_gives_the_same_matrix():
    img, _ = scene()
    reference = fit_maf(*stats(img, 96), 3).mix.weights
    for rows in (1, 5, 17, 40):
        weights = fit_maf(*stats(img, rows), 3).mix.weights
        assert np.abs(weights - reference).max() <= 1e-12 * np.abs(reference).max()


def test_bad_requests_are_refused():
    img, _ = scene(height=8, width=8)
    moments, diffs = stats(img, 8)
    with pytest.raises(UsageError, match="k"):
        fit_maf(moments, diffs, 5)
    with pytest.raises(UsageError, match="k"):
        fit_maf(moments, diffs, 0.5)  # type: ignore[arg-type]
    flat = img.copy()
    flat[..., 1] = 0.25
    with pytest.raises(DataError, match="band\\(s\\) 2 are constant"):
        fit_maf(*stats(flat, 8), 2)
    twin = np.concatenate([img, img[..., :1] * 2], axis=-1)
    with pytest.raises(DataError, match="singular"):
        fit_maf(*stats(twin, 8), 2)
    with pytest.raises(DataError, match="pairs"):
        fit_maf(Moments.of(img[:1, :1]), DifferenceMoments.of(img[:1, :1]), 1)


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory):
    img, _ = scene(height=90, width=70)
    path = tmp_path_factory.mktemp("maf") / "scene.tif"
    raw = np.round(img * 65535).astype(np.uint16)
    tifffile.imwrite(path, raw, photometric="minisblack", planarconfig="contig")
    return path


@pytest.mark.parametrize("options", [FitOptions(), FitOptions(nodata=None, sample=3000, seed=2)])
def test_files_read_in_any_row_bands_give_the_same_fit(scene_file, monkeypatch, options):
    whole = maf_from_files([str(scene_file)], 3, options=options)
    bands = fitfiles._bands

    for rows in (1, 7, 32):

        def split(sources, rows=rows):
            return [
                fitfiles._Band(b.index, start, min(start + rows, b.stop), b.first + (start - b.start) * 70)
                for b in bands(sources)
                for start in range(b.start, b.stop, rows)
            ]

        monkeypatch.setattr(fitfiles, "_bands", split)
        fit = maf_from_files([str(scene_file)], 3, options=options)
        assert fit.n_pairs == whole.n_pairs and fit.n_pixels == whole.n_pixels
        scale = np.abs(whole.mix.weights).max()
        assert np.abs(fit.mix.weights - whole.mix.weights).max() <= 1e-12 * scale


def test_files_with_nodata_count_pairs_of_valid_pixels(scene_file, tmp_path):
    raw = tifffile.imread(scene_file)
    raw[10:20, 5:40] = 0
    path = tmp_path / "holes.tif"
    tifffile.imwrite(path, raw, photometric="minisblack", planarconfig="contig")
    fit = maf_from_files([str(path)], 2, options=FitOptions(nodata=fitfiles.NodataChoice(0.0)))
    valid = (raw != 0).all(axis=2)
    assert fit.n_pairs == len(brute_differences(raw[..., :1].astype(float), valid))
    assert fit.mix.provenance["fitted_on"]["pixels_used"] == int(valid.sum())


def _landsat_stack(corpus, tmp_path):
    bands = [tifffile.imread(corpus / "landsat8" / f"l8_B{i}.tif") for i in range(1, 8)]
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, np.stack(bands, axis=-1), photometric="minisblack", planarconfig="contig")
    return path


@pytest.mark.skipif(shutil.which("otbcli_DimensionalityReduction") is None, reason="needs Orfeo ToolBox")
def test_maf_matches_orfeo_toolbox_on_the_landsat_stack(corpus, tmp_path):
    stack = _landsat_stack(corpus, tmp_path)
    out = tmp_path / "otb.tif"
    subprocess.run(
        ["otbcli_DimensionalityReduction", "-in", str(stack), "-out", str(out), "float"]
        + ["-method", "maf", "-nbcomp", "3"],
        check=True,
        capture_output=True,
    )
    theirs = tifffile.imread(out).reshape(-1, 7)[:, :3]  # OTB writes all 7 components
    fit = maf_from_files([str(stack)], 3)
    x = tifffile.imread(stack).reshape(-1, 7) / 65535.0
    ours = x @ fit.mix.weights.T + fit.mix.bias
    for i in range(3):
        assert abs(np.corrcoef(ours[:, i], theirs[:, i])[0, 1]) > 0.999
