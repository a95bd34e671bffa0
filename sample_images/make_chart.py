"""Make ``chart/``: a colour chart photographed through a known colour cast, its reference
values, and a photograph taken through the same cast, for ``chanmix fit lstsq``.

The "camera" is a known 3 x 3 mix plus a bias (a veiling offset) and Gaussian noise, on
normalized sRGB-encoded values (0..1):

    photo = CAST @ reference + OFFSET + noise        (per pixel; noise sigma NOISE)

so the least-squares fit from ``chart-photo.png`` to ``chart-reference.png`` recovers the
correction ``inv(CAST)`` with bias ``-inv(CAST) @ OFFSET``, up to the noise, and applying
it to ``photo.png`` gives back ``coffee.png`` (halved) within a few levels.

Files (8-bit RGB PNG):

- ``chart-reference.png``: 24 patches of 32 x 32 pixels in 4 rows of 6 (192 x 128), whose
  colours approximate the sRGB values commonly published for the Classic ColorChecker
  (rounded to 8 bits; not a measurement of any chart), without noise.
- ``chart-photo.png``: that chart through the cast, with noise.
- ``photo.png``: ``coffee.png`` halved (each 2 x 2 block averaged, 300 x 200) through the same
  cast, with noise.
- ``chart_truth.json``: the cast, the offset, the noise sigma, the seed, the patch colours and
  the correction (``inv(CAST)`` and its bias) a fit should find.

Run from the repository root (deterministic: a fixed seed)::

    python sample_images/make_chart.py              # rewrites sample_images/chart/
    python sample_images/make_chart.py OUT_FOLDER   # writes the four files somewhere else
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

SEED = 14
NOISE = 0.005
PATCH = 32
#: The camera's mix, rows = outputs (R, G, B); every row sums below 1, so nothing saturates.
CAST = np.array([[0.78, 0.12, 0.04], [0.08, 0.74, 0.06], [0.04, 0.16, 0.62]])
OFFSET = np.array([0.03, 0.02, 0.05])
#: Approximate sRGB (8-bit) colours of the 24 ColorChecker Classic patches, row by row.
PATCHES = {
    "dark skin": (115, 82, 68),
    "light skin": (194, 150, 130),
    "blue sky": (98, 122, 157),
    "foliage": (87, 108, 67),
    "blue flower": (133, 128, 177),
    "bluish green": (103, 189, 170),
    "orange": (214, 126, 44),
    "purplish blue": (80, 91, 166),
    "moderate red": (193, 90, 99),
    "purple": (94, 60, 108),
    "yellow green": (157, 188, 64),
    "orange yellow": (224, 163, 46),
    "blue": (56, 61, 150),
    "green": (70, 148, 73),
    "red": (175, 54, 60),
    "yellow": (231, 199, 31),
    "magenta": (187, 86, 149),
    "cyan": (8, 133, 161),
    "white": (243, 243, 242),
    "neutral 8": (200, 200, 200),
    "neutral 6.5": (160, 160, 160),
    "neutral 5": (122, 122, 121),
    "neutral 3.5": (85, 85, 85),
    "black": (52, 52, 52),
}


def reference_chart() -> np.ndarray:
    """The chart without cast or noise: (128, 192, 3) uint8, 4 rows of 6 patches."""
    colours = np.array(list(PATCHES.values()), dtype=np.uint8).reshape(4, 6, 3)
    return np.repeat(np.repeat(colours, PATCH, axis=0), PATCH, axis=1)


def halved(rgb: np.ndarray) -> np.ndarray:
    """`rgb` (H, W, 3) uint8 with each 2 x 2 block averaged (rounded): (H/2, W/2, 3) uint8."""
    h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    blocks = rgb[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).astype(np.float64)
    return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)


def through_camera(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`rgb` (H, W, 3) uint8 through the cast, offset and noise, rounded to uint8."""
    values = rgb / 255.0 @ CAST.T + OFFSET + rng.normal(0.0, NOISE, rgb.shape)
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def truth() -> dict:
    correction = np.linalg.inv(CAST)
    return {
        "description": "photo = cast @ reference + offset + noise, on normalized sRGB-encoded values",
        "cast": CAST.tolist(),
        "offset": OFFSET.tolist(),
        "noise_sigma": NOISE,
        "seed": SEED,
        "patch_size": PATCH,
        "patches": {name: list(rgb) for name, rgb in PATCHES.items()},
        "correction": {"weights": correction.tolist(), "bias": (-correction @ OFFSET).tolist()},
    }


def main() -> None:
    here = Path(__file__).resolve().parent
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "chart"
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    chart = reference_chart()
    with Image.open(here / "coffee.png") as image:
        coffee = np.asarray(image.convert("RGB"))
    Image.fromarray(chart).save(target / "chart-reference.png")
    Image.fromarray(through_camera(chart, rng)).save(target / "chart-photo.png")
    Image.fromarray(through_camera(halved(coffee), rng)).save(target / "photo.png")
    (target / "chart_truth.json").write_text(json.dumps(truth(), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
