"""Plain helpers shared by several test modules (fixtures are in conftest.py)."""

from __future__ import annotations

import numpy as np


def gdal_pixels(path) -> np.ndarray:
    """rasterio's (C, H, W) read, channels-last."""
    import rasterio

    with rasterio.open(path) as ds:
        return np.moveaxis(ds.read(), 0, -1)


def ok(result):
    """The CliRunner result of a run that must succeed (its output in the failure message)."""
    assert result.exit_code == 0, result.output
    return result


def error_line(result, exit_code: int) -> str:
    """The one stderr line of a CliRunner run that failed with `exit_code` (1 data, 2 usage)."""
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def pillow_array(path, mode: str | None = None) -> np.ndarray:
    """Pillow's pixels of an image file, converted to `mode` when given; the file is closed."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert(mode) if mode else image)


def damaged(data: bytes, rng, kind: int) -> bytes:
    """`data` damaged the `kind`-th of four ways (0: bytes flipped, 1: a line dropped, 2: a line
    repeated, 3: truncated), at places drawn from `rng` (a random.Random)."""
    if kind == 0:
        out = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind in (1, 2):
        lines = data.split(b"\n")
        i = rng.randrange(len(lines))
        return b"\n".join(lines[:i] + [lines[i]] * (0 if kind == 1 else 2) + lines[i + 1 :])
    return data[: rng.randrange(len(data))]


def needs_encoder(ext: str) -> None:
    """Skip the test when this installation cannot write `ext` (``'webp'``, ``'avif'``,
    ``'jxl'``; e.g. Pillow older than 11.3 has no AVIF), saying why."""
    import pytest

    from chanmix.io.photo_write import encoder_missing

    missing = encoder_missing(ext) if ext in ("webp", "avif", "jxl") else None
    if missing is not None:
        pytest.skip(missing)
