"""Fit section: PCA of a 1000 x 1000 x 200 cube, float32 and uint16, chanmix against scikit-learn.

chanmix streams the cube through mergeable moments in blocks of 65,536 pixels (what ``chanmix
fit pca`` does block by block), then solves; scikit-learn gets the whole array. Each sample
type is timed with chanmix's default products (``auto``: float32 products for float32 samples,
float64 for integers, as scikit-learn computes) and the other kind, and ``chanmix fit pca`` end
to end on the cube stored as an uncompressed TIFF. The float32 products' error against a
float64 reference is measured on adversarial data beside the timing.
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
from chanmix.fit.chunks import FLOAT32_CHUNK_PIXELS

BLOCK = 65536


def cube(pixels: int, bands: int) -> np.ndarray:
    """A synthetic hyperspectral-like cube: 12 smooth latent spectra plus noise, float32."""
    rng = np.random.default_rng(0)
    wavelengths = np.linspace(0, 1, bands)
    spectra = np.stack([np.exp(-((wavelengths - c) ** 2) / 0.02) for c in np.linspace(0, 1, 12)])
    abundances = rng.dirichlet(np.ones(12), size=pixels)
    data = abundances @ spectra + rng.normal(0, 0.01, size=(pixels, bands))
    return data.astype(np.float32)


def streamed(data: np.ndarray, products: str = "auto") -> Moments:
    stats = Moments.empty(data.shape[1])
    for start in range(0, len(data), BLOCK):
        stats = stats + Moments.of(data[start : start + BLOCK], products=products)
    return stats


def chanmix_pca(data: np.ndarray, k: int, products: str = "auto") -> object:
    return fit_pca(streamed(data, products), k)


def adversarial(kind: str, pixels: int, seed: int = 0) -> np.ndarray:
    """4 correlated bands: full-range uint16, or mean 0.9 and spreads 4e-3..5e-4 (uint16 or its
    float32 normalization), as in tests/test_fit_moments.py."""
    rng = np.random.default_rng(seed)
    rotation = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    if kind == "full-range uint16":
        spread = rng.normal(32768, 16000, size=(pixels, 4)) @ rotation.T * 0.9 + 3000
        return np.clip(spread, 0, 65535).astype(np.uint16)
    signal = rng.normal(size=(pixels, 4)) @ np.diag([4e-3, 2e-3, 1e-3, 5e-4]) @ rotation
    raw = np.clip(np.rint((0.9 + signal) * 65535), 0, 65535).astype(np.uint16)
    return raw if kind == "offset uint16" else (raw / 65535.0).astype(np.float32)


def reference(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scatter in float64, exactly centred (numpy): the reference."""
    x = data.astype(np.float64)
    mean = x.mean(axis=0)
    x -= mean
    return mean, x.T @ x


def errors(stats: Moments, mean: np.ndarray, scatter: np.ndarray) -> tuple[float, float, float]:
    """Largest error of the mean and the scatter relative to their largest magnitude, and of
    the unit eigenvectors (signs aligned)."""
    _, exact = np.linalg.eigh(scatter)
    _, ours = np.linalg.eigh(stats.scatter)
    ours = ours * np.sign(np.sum(ours * exact, axis=0))
    return (
        float(np.abs(stats.mean - mean).max() / np.abs(mean).max()),
        float(np.abs(stats.scatter - scatter).max() / np.abs(scatter).max()),
        float(np.abs(ours - exact).max()),
    )


def accuracy(quick: bool) -> str:
    """Errors of the float32 products against the float64 reference, as the pixels grow."""
    sizes = (10**5, 10**6) if quick else (10**5, 10**6, 10**7)
    rows = []
    for kind in ("full-range uint16", "offset uint16", "offset float32"):
        for pixels in sizes:
            data = adversarial(kind, pixels)
            mean, scatter = reference(data)
            for products in ("float32", "float64"):
                e = errors(streamed(data, products), mean, scatter)
                rows.append([kind, f"{pixels:.0e}", products, *(f"{v:.1e}" for v in e)])
    # One chunk alone: the error that merging many chunks averages down (worst of 100 chunks).
    size = FLOAT32_CHUNK_PIXELS
    for kind in ("full-range uint16", "offset uint16", "offset float32"):
        data = adversarial(kind, size * 100, seed=1)
        worst = [0.0, 0.0, 0.0]
        for start in range(0, len(data), size):
            chunk = data[start : start + size]
            e = errors(Moments.of(chunk, products="float32"), *reference(chunk))
            worst = [max(a, b) for a, b in zip(worst, e)]
        rows.append(
            [f"{kind}, one chunk (worst of 100)", f"{size:.0e}", "float32", *(f"{v:.1e}" for v in worst)]
        )
    return table(["data", "pixels", "products", "mean error", "scatter error", "component error"], rows)


def run(quick: bool = False) -> str:
    side, bands, k = (300, 50, 10) if quick else (1000, 200, 10)
    repeats, full_repeats = (2, 1) if quick else (7, 3)
    data = cube(side * side, bands)
    data16 = np.round(data / data.max() * 65535).astype(np.uint16)  # the same cube as uint16
    data64 = data.astype(np.float64)

    def sklearn(x: np.ndarray) -> object:
        return PCA(k, svd_solver="covariance_eigh").fit(x)

    with tempfile.TemporaryDirectory() as tmp:
        clis = {}
        for name, array in (("float32", data), ("uint16", data16)):
            path = Path(tmp) / f"{name}.tif"
            tifffile.imwrite(
                path, array.reshape(side, side, bands), photometric="minisblack", planarconfig="contig"
            )
            clis[name] = chanmix_command(
                "fit", "pca", str(path), "-k", str(k), "-q", "-o", str(Path(tmp) / "pca.json")
            )
        float32_rows = {
            "chanmix (Moments + fit_pca, in memory; auto: float32 products)": lambda: chanmix_pca(
                data, k, "auto"
            ),
            "chanmix, float64 products (in memory)": lambda: chanmix_pca(data, k, "float64"),
            "chanmix fit pca (TIFF file, CLI process)": lambda: subprocess.run(
                clis["float32"][0], check=True, env=clis["float32"][1]
            ),
            "scikit-learn covariance_eigh, float32 array": lambda: sklearn(data),
            "scikit-learn covariance_eigh, float64 array": lambda: sklearn(data64),
        }
        uint16_rows = {
            "chanmix (in memory; auto: float64 products)": lambda: chanmix_pca(data16, k, "auto"),
            "chanmix, float32 products (in memory)": lambda: chanmix_pca(data16, k, "float32"),
            "chanmix fit pca (TIFF file, CLI process)": lambda: subprocess.run(
                clis["uint16"][0], check=True, env=clis["uint16"][1]
            ),
            "scikit-learn covariance_eigh, uint16 array (it computes in float64)": lambda: sklearn(data16),
        }
        times = alternate(float32_rows, repeats)
        times16 = alternate(uint16_rows, repeats)
    times.update(
        alternate(
            {"scikit-learn full (SVD), float32 array": lambda: PCA(k, svd_solver="full").fit(data)},
            full_repeats,
        )
    )
    ref = PCA(k, svd_solver="covariance_eigh").fit(data64)
    signs = np.sign(ref.components_[np.arange(k), np.abs(ref.components_).argmax(axis=1)])
    agreement = {
        products: np.abs(chanmix_pca(data, k, products).mix.weights - ref.components_ * signs[:, None]).max()
        for products in ("float64", "float32")
    }

    def timing(title: str, measured: dict[str, list[float]], reference: str) -> str:
        base = median(measured[reference])
        rows = [
            [name, f"{median(t):.3f}", f"{median(t) / base:.2f}", str(len(t))] for name, t in measured.items()
        ]
        return table([title, "median s", f"time / {reference}", "runs"], rows)

    return (
        timing(
            f"PCA of {side} x {side} pixels x {bands} bands (float32), k={k}",
            times,
            "scikit-learn covariance_eigh, float32 array",
        )
        + "\n\n"
        + timing(
            f"The same cube as uint16, k={k}",
            times16,
            "scikit-learn covariance_eigh, uint16 array (it computes in float64)",
        )
        + f"\n\nLargest difference between chanmix's components and scikit-learn's (float64, "
        f"covariance_eigh), signs aligned: {agreement['float64']:.1e} (float64 products), "
        f"{agreement['float32']:.1e} (float32 products).\n\n"
        f"Errors of the moments against a float64 reference (numpy, exactly centred), 4 bands in "
        f"blocks of {BLOCK} pixels, float32 products in chunks of {FLOAT32_CHUNK_PIXELS}:\n\n"
        f"{accuracy(quick)}\n"
    )
