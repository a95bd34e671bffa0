"""Plain helpers shared by several test modules (fixtures are in conftest.py)."""

from __future__ import annotations

import numpy as np


def gdal_pixels(path) -> np.ndarray:
    """rasterio's (C, H, W) read, channels-last."""
    import rasterio

    with rasterio.open(path) as ds:
        return np.moveaxis(ds.read(), 0, -1)
