"""ENVI output: a raw data file written a row band at a time, and its header beside it.

The extension chooses the interleave (:data:`OUTPUT_INTERLEAVES`): ``.img``, ``.dat`` and
``.bsq`` band sequential, ``.bil`` band interleaved by line, ``.bip`` by pixel. Samples are
written in the machine's byte order, which the header records; no header offset.

The data file is allocated at its full size first, then each row band is written where it
belongs (for BSQ, one run per band), so memory holds one band of rows whatever the image.
The header (:func:`envi_header_text`) goes beside it, named as GDAL names it
(:func:`~chanmix.io.envi_files.output_header`), and holds:

- ``samples``, ``lines``, ``bands``, ``header offset = 0``, ``file type = ENVI Standard``,
  ``data type``, ``interleave``, ``byte order``;
- ``map info`` and ``coordinate system string`` from the input's georeferencing
  (:func:`~chanmix.io.envi_geo.envi_map_for`);
- ``band names`` when any band has one (others are named ``Band i``, as GDAL does; commas
  and braces, which ENVI lists cannot hold, become ``;`` and parentheses);
- ``data ignore value``: the output's nodata value;
- ``wavelength`` (nanometres, ``wavelength units = Nanometers``) and ``fwhm`` when any band
  has one; a band without one gets ``nan`` in the list, which GDAL and chanmix read as
  unknown (an ENVI list needs a value per band).

Both files are committed together through :mod:`chanmix.io.atomic` (with the other outputs
of the run when given ``together``): a failed or interrupted run leaves neither.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from typing import BinaryIO

import numpy as np

from ..errors import DataError
from .atomic import Outputs, atomic_output
from .envi import ENVI_TYPE_CODES
from .envi_files import output_header
from .envi_geo import envi_map_for
from .geotiff import format_nodata
from .raster import GeoInfo, reason

__all__ = ["OUTPUT_INTERLEAVES", "envi_header_text", "write_envi_blocks"]

#: Output extension (lower case) -> interleave.
OUTPUT_INTERLEAVES = {".img": "bsq", ".dat": "bsq", ".bsq": "bsq", ".bil": "bil", ".bip": "bip"}
_LIST_UNSAFE = str.maketrans({",": ";", "{": "(", "}": ")", "\n": " ", "\r": " "})


def envi_header_text(
    shape: tuple[int, int, int],
    dtype: np.dtype,
    interleave: str,
    *,
    band_names: Sequence[str] | None = None,
    nodata: float | None = None,
    map_info: str | None = None,
    coordinate_system: str | None = None,
    wavelengths: Sequence[float] | None = None,
    fwhm: Sequence[float] | None = None,
) -> str:
    """The header of an ENVI output (see the module docstring).

    Parameters
    ----------
    shape : (int, int, int)
        ``(lines, samples, bands)``, i.e. ``(H, W, M)``.
    dtype : numpy.dtype
        Sample type, one of :data:`~chanmix.io.envi.ENVI_TYPE_CODES`, in native byte order.
    interleave : {'bsq', 'bil', 'bip'}
    band_names : sequence of M str, optional
    nodata : float, optional
    map_info, coordinate_system : str, optional
        Values without their braces.
    wavelengths, fwhm : sequence of M float, optional
        Nanometres; NaN where unknown.
    """
    lines, samples, bands = shape
    out = [
        "ENVI",
        f"samples = {samples}",
        f"lines = {lines}",
        f"bands = {bands}",
        "header offset = 0",
        "file type = ENVI Standard",
        f"data type = {ENVI_TYPE_CODES[np.dtype(dtype).newbyteorder('=')]}",
        f"interleave = {interleave}",
        f"byte order = {0 if sys.byteorder == 'little' else 1}",
    ]
    if map_info is not None:
        out.append(f"map info = {{{map_info}}}")
    if coordinate_system is not None:
        out.append(f"coordinate system string = {{{coordinate_system}}}")
    if band_names is not None and any(band_names):
        names = [(name or f"Band {i}").translate(_LIST_UNSAFE) for i, name in enumerate(band_names, 1)]
        out.append("band names = {\n" + ",\n".join(names) + "}")
    if nodata is not None:
        out.append(f"data ignore value = {format_nodata(nodata)}")
    if wavelengths is not None:
        out.append("wavelength units = Nanometers")
        out.append(f"wavelength = {_number_list(wavelengths)}")
    if fwhm is not None:
        out.append(f"fwhm = {_number_list(fwhm)}")
    return "\n".join(out) + "\n"


def _number_list(values: Sequence[float]) -> str:
    return "{" + ", ".join(_number(v) for v in values) + "}"


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "nan"
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def write_envi_blocks(
    name: str,
    rows: Iterator[np.ndarray],
    *,
    shape: tuple[int, int, int],
    dtype: np.dtype,
    like_geo: GeoInfo | None = None,
    band_names: Sequence[str] | None = None,
    nodata: float | None = None,
    wavelengths: Sequence[float] | None = None,
    fwhm: Sequence[float] | None = None,
    together: Outputs | None = None,
) -> None:
    """Write an ENVI data file from row bands, and its header, committed together.

    Parameters
    ----------
    name : str
        The data file, with one of the :data:`OUTPUT_INTERLEAVES` extensions.
    rows : iterator of (h_i, W, M) ndarray
        C-contiguous row bands top to bottom in `dtype` (native byte order), heights summing
        to H; checked by the caller.
    shape : (int, int, int)
        ``(H, W, M)``.
    dtype : numpy.dtype
    like_geo : GeoInfo, optional
        The input's georeferencing, written as map info (warnings say what is not carried).
    band_names, nodata, wavelengths, fwhm
        As :func:`envi_header_text` takes them.
    together : Outputs, optional
        Commit both files with that group's outputs instead of on return.

    Raises
    ------
    DataError
        Naming the file that cannot be written.
    """
    interleave = OUTPUT_INTERLEAVES[os.path.splitext(name)[1].lower()]
    map_info, coordinate_system = envi_map_for(like_geo, name)
    text = envi_header_text(
        shape,
        dtype,
        interleave,
        band_names=band_names,
        nodata=nodata,
        map_info=map_info,
        coordinate_system=coordinate_system,
        wavelengths=wavelengths,
        fwhm=fwhm,
    )
    header = output_header(name)
    size = shape[0] * shape[1] * shape[2] * np.dtype(dtype).itemsize
    current = name
    try:
        with ExitStack() as stack:
            group = together if together is not None else stack.enter_context(Outputs())
            with atomic_output(name, reserve=size, together=group) as file:
                _write_samples(file, rows, shape, np.dtype(dtype), interleave)
            current = header
            with atomic_output(header, together=group) as file:
                file.write(text.encode("utf-8"))
    except OSError as exc:
        raise DataError(f"{current}: cannot write ({exc.strerror or reason(exc)})") from exc


def _write_samples(
    file: BinaryIO, rows: Iterator[np.ndarray], shape: tuple[int, int, int], dtype: np.dtype, interleave: str
) -> None:
    """The samples of each row band, where the interleave puts them."""
    height, width, bands = shape
    row_bytes = width * dtype.itemsize
    start = 0
    for band in rows:
        if interleave == "bsq":
            for index in range(bands):
                file.seek((index * height + start) * row_bytes)
                file.write(np.ascontiguousarray(band[:, :, index]).data)
        elif interleave == "bil":
            file.write(np.ascontiguousarray(band.transpose(0, 2, 1)).data)
        else:
            file.write(band.data)
        start += len(band)
        del band  # hold no band while the next one is produced
