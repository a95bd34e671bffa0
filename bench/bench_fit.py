"""Fit section: PCA of a 1000 x 1000 x 200 float32 cube, chanmix against scikit-learn.

chanmix streams the cube through mergeable float64 moments in blocks of 65,536 pixels (what
``chanmix fit pca`` does block by block), then solves; scikit-learn gets the whole array.
Also timed: ``chanmix fit pca`` end to end on the cube stored as an uncompressed TIFF.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import tifffile
from run import alternate, chanmix_command, median, table
from sklearn.decomposition import PCA

from chanmix.fit import Moments, fit_pca

BLOCK = 65536


def cube(pixels: int, bands: int) -> np.ndarray:
    """A synthetic hyperspectral-like cube: 12 smooth latent spectra plus noise, float32."""
    rng = np.random.default_rng(0)
    wavelengths = np.linspace(0, 1, bands)
    spectra = np.stack([np.exp(-((wavelengths - c) ** 2) / 0.02) for c in np.linspace(0, 1, 12)])
    abundances = rng.dirichlet(np.ones(12), size=pixels)
    data = abundances @ spectra + rng.normal(0, 0.01, size=(pixels, bands))
    return data.astype(np.float32)


def chanmix_pca(data: np.ndarray, k: int) -> object:
    stats = Moments.empty(data.shape[1])
    for start in range(0, len(data), BLOCK):
        stats = stats + Moments.of(data[start : start + BLOCK])
    return fit_pca(stats, k)


def run(quick: bool = False) -> str:
    side, bands, k = (300, 50, 10) if quick else (1000, 200, 10)
    repeats, full_repeats = (2, 1) if quick else (7, 3)
    data = cube(side * side, bands)
    data64 = data.astype(np.float64)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cube.tif"
        tifffile.imwrite(
            path, data.reshape(side, side, bands), photometric="minisblack", planarconfig="contig"
        )
        cli, env = chanmix_command(
            "fit", "pca", str(path), "-k", str(k), "-q", "-o", str(Path(tmp) / "pca.json")
        )
        candidates = {
            "chanmix (Moments + fit_pca, in memory)": lambda: chanmix_pca(data, k),
            "chanmix fit pca (TIFF file, CLI process)": lambda: subprocess.run(cli, check=True, env=env),
            "scikit-learn covariance_eigh, float32 array": lambda: PCA(k, svd_solver="covariance_eigh").fit(
                data
            ),
            "scikit-learn covariance_eigh, float64 array": lambda: PCA(k, svd_solver="covariance_eigh").fit(
                data64
            ),
        }
        times = alternate(candidates, repeats)
    times.update(
        alternate(
            {"scikit-learn full (SVD), float32 array": lambda: PCA(k, svd_solver="full").fit(data)},
            full_repeats,
        )
    )
    reference = median(times["scikit-learn covariance_eigh, float32 array"])
    ref = PCA(k, svd_solver="covariance_eigh").fit(data64)
    fitted = chanmix_pca(data, k).mix.weights
    signs = np.sign(ref.components_[np.arange(k), np.abs(ref.components_).argmax(axis=1)])
    agreement = np.abs(fitted - ref.components_ * signs[:, None]).max()
    rows = [
        [name, f"{median(t):.3f}", f"{median(t) / reference:.2f}", str(len(t))] for name, t in times.items()
    ]
    text = table(
        [
            f"PCA of {side} x {side} pixels x {bands} bands, k={k}",
            "median s",
            "time / scikit-learn covariance_eigh (float32)",
            "runs",
        ],
        rows,
    )
    return (
        f"{text}\n\nLargest difference between chanmix's components and scikit-learn's (float64, "
        f"covariance_eigh), signs aligned: {agreement:.1e}.\n"
    )
