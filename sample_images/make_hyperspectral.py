"""Make the synthetic hyperspectral sample: a small ENVI cube with wavelengths.

Writes two files into the output folder (default: ``hyperspectral/`` beside this script):

``cube.img``
    The data: 40 bands x 64 lines x 80 samples, band-sequential (BSQ), uint16 little-endian,
    no header offset: reflectance times 10000, as many hyperspectral products store it.
``cube.hdr``
    The ENVI header: sizes, data type 12 (uint16), interleave, byte order 0, band names,
    centre wavelengths and FWHM in nanometres (400 to 2350 nm, every 50 nm), ``data ignore
    value = 0`` (a stripe of pixels with no data), ``map info`` (UTM zone 32 North, WGS-84,
    10 m pixels) and ``reflectance scale factor = 10000``.

The scene is a linear mixture of four materials (water, vegetation, soil, concrete) whose
reflectance spectra are smooth curves with their usual features (vegetation's red edge near
700 nm and water absorption near 1450 and 1940 nm, soil rising into the shortwave infrared),
mixed by smooth abundance maps that sum to 1, plus Gaussian noise of sigma 0.002 in
reflectance. Deterministic: the same bytes on every run. Run from the repository root::

    python sample_images/make_hyperspectral.py            # into sample_images/hyperspectral/
    python sample_images/make_hyperspectral.py OUT_FOLDER  # anywhere else

Needs only numpy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

LINES, SAMPLES = 64, 80
WAVELENGTHS_NM = np.arange(400.0, 2351.0, 50.0)  # 40 band centres
FWHM_NM = 50.0
SCALE = 10000
SEED = 20261203
NOISE_SIGMA = 0.002
MAP_INFO = "{UTM, 1, 1, 500000.0, 5000000.0, 10.0, 10.0, 32, North, WGS-84, units=Meters}"


def _bump(centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((WAVELENGTHS_NM - centre) / width) ** 2)


def spectra() -> dict[str, np.ndarray]:
    """Reflectance (0..1) of each material at :data:`WAVELENGTHS_NM`."""
    w = WAVELENGTHS_NM
    water_bands = 1 - 0.6 * _bump(1450, 60) - 0.8 * _bump(1940, 70)
    red_edge = 1 / (1 + np.exp(-(w - 715) / 18))
    return {
        "water": 0.06 * np.exp(-(w - 400) / 250) + 0.005,
        "vegetation": (0.04 + 0.06 * _bump(550, 35) + 0.42 * red_edge * np.exp(-(w - 800) / 2200))
        * water_bands,
        "soil": (0.12 + 0.28 * (1 - np.exp(-(w - 400) / 700))) * (1 - 0.25 * _bump(1940, 80)),
        "concrete": 0.30 + 0.05 * np.sin((w - 400) / 600),
    }


def abundances(rng: np.random.Generator) -> np.ndarray:
    """(LINES, SAMPLES, 4) smooth non-negative maps that sum to 1 in every pixel."""
    y, x = np.mgrid[0:LINES, 0:SAMPLES] / np.array([LINES, SAMPLES])[:, None, None]
    river = np.exp(-(((y - 0.25 - 0.15 * np.sin(6 * x)) / 0.08) ** 2))
    field = 0.5 + 0.5 * np.sin(9 * x) * np.cos(5 * y)
    town = np.exp(-(((x - 0.8) / 0.12) ** 2 + ((y - 0.7) / 0.15) ** 2))
    soil = 0.3 + 0.2 * rng.random((LINES, SAMPLES))
    raw = np.stack([river * 3, field, soil, town * 2], axis=-1)
    return raw / raw.sum(axis=-1, keepdims=True)


def cube() -> np.ndarray:
    """(bands, lines, samples) uint16: reflectance x 10000, with a no-data stripe of zeros."""
    rng = np.random.default_rng(SEED)
    materials = np.stack(list(spectra().values()))  # (4, bands)
    reflectance = abundances(rng) @ materials + rng.normal(
        0, NOISE_SIGMA, (LINES, SAMPLES, len(WAVELENGTHS_NM))
    )
    values = np.clip(np.rint(reflectance * SCALE), 1, 65535).astype("<u2")
    values[:, :3] = 0  # the first three samples of every line: no data
    return np.ascontiguousarray(values.transpose(2, 0, 1))


def header() -> str:
    """The ENVI header text of :func:`cube`."""

    def listing(values: list[str]) -> str:
        return "{" + ", ".join(values) + "}"

    names = [f"band {i + 1}" for i in range(len(WAVELENGTHS_NM))]
    return "\n".join(
        [
            "ENVI",
            "description = {chanmix sample: a synthetic hyperspectral scene (make_hyperspectral.py)}",
            f"samples = {SAMPLES}",
            f"lines = {LINES}",
            f"bands = {len(WAVELENGTHS_NM)}",
            "header offset = 0",
            "file type = ENVI Standard",
            "data type = 12",
            "interleave = bsq",
            "byte order = 0",
            f"map info = {MAP_INFO}",
            f"band names = {listing(names)}",
            "wavelength units = Nanometers",
            f"wavelength = {listing([f'{w:.1f}' for w in WAVELENGTHS_NM])}",
            f"fwhm = {listing([f'{FWHM_NM:.1f}'] * len(WAVELENGTHS_NM))}",
            f"reflectance scale factor = {SCALE}",
            "data ignore value = 0",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path(__file__).parent / "hyperspectral")
    folder = parser.parse_args().folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cube.img").write_bytes(cube().tobytes())
    (folder / "cube.hdr").write_text(header(), encoding="ascii", newline="\n")


if __name__ == "__main__":
    main()
