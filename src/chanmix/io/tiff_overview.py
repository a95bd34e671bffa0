"""TIFF overviews: the reduced-resolution copies of an image that COGs and ``gdaladdo`` store.

A Cloud-Optimized GeoTIFF, or any TIFF given internal overviews by GDAL, holds its image again
at half, a quarter... of its size (reduced-resolution IFDs or SubIFDs; tifffile calls them
the levels of the image's series). A small picture of the image (``chanmix sheet``) is read
much faster from a level than from the image itself. :func:`overview_shapes` says which
levels an image has, without decoding anything; :func:`read_overview` decodes one whole, as
chanmix samples (palette expanded, float16 promoted, as the image's own reader gives them).

Only a plain image is considered: a series of one image (axes ``YX``, ``YXS`` or ``SYX``)
whose levels keep its samples per pixel and sample type. Several files read as one image
(``--stack``) use level ``n`` when every file has one of the same size.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..budget import check_whole
from ..errors import DataError
from .raster import reason
from .read import image_number, sniff
from .tiff import TIFF_ERRORS, describe_tiff, finish_pixels, tiff_errors
from .tiff_chain import open_tiff

__all__ = ["overview_shapes", "read_overview"]

#: Axes of a series holding one plain image.
_PLAIN_AXES = ("YX", "YXS", "SYX")

Source = str | os.PathLike | Sequence[str | os.PathLike]


def _files(source: Source) -> list[str]:
    return (
        [os.fsdecode(source)] if isinstance(source, (str, os.PathLike)) else [os.fsdecode(p) for p in source]
    )


def _levels(name: str, page: int, series: int | None) -> list[Any]:
    """The reduced-resolution levels of image `page` (of `series`) of one file, largest first;
    [] when the file is not a TIFF or the image is not plain."""
    number = image_number(name, page, series)
    if sniff(name, number) != "tiff":
        return []
    with tiff_errors(name):
        tif = open_tiff(name)
        try:
            image = describe_tiff(tif, name, number)
            base = image.series
            if base.axes not in _PLAIN_AXES:
                return []
            key = base.keyframe
            return [
                level
                for level in base.levels[1:]
                if level.axes == base.axes
                and level.dtype == base.dtype
                and level.keyframe.samplesperpixel == key.samplesperpixel
                and level.keyframe.photometric == key.photometric
            ]
        finally:
            tif.close()


def _yx(shape: tuple[int, ...], axes: str) -> tuple[int, int]:
    return shape[axes.index("Y")], shape[axes.index("X")]


def overview_shapes(
    source: Source, *, page: int = 0, series: int | None = None
) -> tuple[tuple[int, int], ...]:
    """``(height, width)`` of each overview of an image, largest first (level 1, 2...).

    Parameters
    ----------
    source : path, or sequence of paths
        One file, or several read as one image (then the levels every file has, of one size).
    page, series : int, int or None
        Which image, as :func:`~chanmix.io.open_image` takes them.

    Returns
    -------
    tuple of (int, int)
        Empty when the image has no overview chanmix reads (not a TIFF, or not a plain image).
    """
    shapes: list[tuple[int, int]] | None = None
    for name in _files(source):
        mine = [_yx(level.shape, level.axes) for level in _levels(name, page, series)]
        shapes = mine if shapes is None else [s for s, m in zip(shapes, mine) if s == m]
        if not shapes:
            return ()
    return tuple(shapes or ())


def read_overview(source: Source, level: int, *, page: int = 0, series: int | None = None) -> np.ndarray:
    """Overview `level` (1: the largest) of an image, decoded whole.

    Returns
    -------
    (h, w, C) ndarray
        The level's samples as the image's reader gives its own (for several files, their
        bands side by side in the order given).

    Raises
    ------
    DataError
        When the level cannot be decoded, or is over the memory budget.
    """
    planes = []
    for name in _files(source):
        with tiff_errors(name):
            tif = open_tiff(name)
            try:
                image = describe_tiff(tif, name, image_number(name, page, series))
                chosen = image.series.levels[level]
                height, width = _yx(chosen.shape, chosen.axes)
                size = int(np.prod(chosen.shape)) * chosen.dtype.itemsize
                check_whole(name, f"decoding its {width} x {height} overview whole", 2 * size)
                try:
                    raw = chosen.asarray()
                except TIFF_ERRORS as exc:
                    raise DataError(
                        f"{name}: cannot decode its {width} x {height} overview ({reason(exc)})"
                    ) from exc
                samples = raw[:, :, np.newaxis] if chosen.axes == "YX" else raw
                if chosen.axes == "SYX":
                    samples = np.moveaxis(samples, 0, -1)
                planes.append(finish_pixels(samples, chosen.keyframe, True, name)[0])
            finally:
                tif.close()
    return planes[0] if len(planes) == 1 else np.concatenate(planes, axis=2)
