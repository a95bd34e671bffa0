"""Zarr output: a Zarr v3 store whose chunks are the mixing windows, written by many writers at once.

Layout
------
What xarray writes for a rioxarray ``DataArray`` (``da.to_dataset(name="band_data")
.to_zarr(path)``), and reads back with ``xarray.open_zarr(path)``: a Zarr v3 group (the
folder ``NAME.zarr``) with its metadata consolidated in the root ``zarr.json`` (as xarray
writes it by default), holding

- ``band_data``: the ``(band, y, x)`` samples (v3 ``dimension_names``, GDAL's order), in
  chunks of ``(M, th, tw)``: every band of a window in one chunk, so that a chunk is one
  mixing window. Codecs: ``bytes`` (little-endian), then ``zstd`` (level 0: zstd's default),
  ``gzip`` (level 6; ``--compress deflate``) or none. ``fill_value``: the nodata value, else
  0 (NaN for floats, as xarray writes them). Attributes: ``_FillValue`` (the nodata value, as
  xarray encodes it for Zarr v3: an integer, or the base64 text of a little-endian double),
  ``grid_mapping`` and ``coordinates`` (the non-index coordinates, so that xarray makes them
  coordinates of ``band_data``);
- ``band``: the band names (Zarr ``string``) when any band has one, else 1 to M (int64), as
  rioxarray numbers bands;
- ``y``, ``x``: pixel centres (float64), and ``spatial_ref``: the 0-d grid mapping holding
  the CRS and the transform (:mod:`chanmix.io.zarr_geo`);
- ``wavelength``, ``fwhm``: per band (float64, ``units = "nm"``, NaN where unknown), when
  any band has one.

Writing
-------
:func:`create_zarr_store` writes the metadata and the coordinates into a folder;
:func:`write_zarr_window` writes the chunks of one window of whole chunks (or ending at the
image's edges). Both are plain module-level functions of picklable arguments: writers in
other threads, processes or machines (sharing the folder) write disjoint windows at the same
time, and a window written again (a retried task) is written with the same bytes. The local
writer, :func:`~chanmix.io.zarr_blocks.write_zarr_blocks`, uses exactly these two, so a store
written by one process or by a cluster holds the same bytes. :func:`zarr_output` is the atomic
folder an output is written in (:mod:`chanmix.io.atomic_dir`), moved onto the target only when
complete.

zarr-python encodes the chunks, into memory; chanmix writes the files. A chunk holding only
the fill value is not stored (Zarr reads a missing chunk as the fill value), whatever zarr's
``write_empty_chunks`` setting. gzip's time stamp is written as 0, so that the bytes do not
depend on the time. Chunk folders are made one level at a time below ``band_data``, so that a
writer cannot make its way back into a store that is being removed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, suppress
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..errors import UsageError
from .atomic import Outputs
from .atomic_dir import atomic_directory
from .raster import GeoInfo
from .zarr_geo import grid_mapping_attributes, pixel_centres
from .zarr_store import DATA, check_zarr_target, encode_fill_value, zarr_module

__all__ = [
    "DEFAULT_CHUNKS",
    "ZARR_COMPRESSIONS",
    "create_zarr_store",
    "write_zarr_window",
    "zarr_output",
]

#: Chunk height and width of a Zarr output when nothing else says (cut to smaller images).
DEFAULT_CHUNKS = (512, 512)
#: Output compressions of a Zarr store: chanmix name -> Zarr v3 codec name.
ZARR_COMPRESSIONS = {"zstd": "zstd", "deflate": "gzip"}
_GZIP_LEVEL = 6
_GRID_MAPPING = "spatial_ref"


def create_zarr_store(
    store_dir: str | os.PathLike,
    *,
    height: int,
    width: int,
    channels: int,
    dtype: DTypeLike,
    chunks: tuple[int, int],
    band_names: Sequence[str] | None = None,
    nodata: float | None = None,
    geo: GeoInfo | None = None,
    wavelengths: Sequence[float] | None = None,
    fwhm: Sequence[float] | None = None,
    compression: str | None = None,
) -> None:
    """Write the metadata and coordinates of a Zarr output into an existing empty folder.

    Parameters
    ----------
    store_dir : str or os.PathLike
        The folder, e.g. the one :func:`zarr_output` yields.
    height, width, channels : int
        Shape ``(H, W, M)`` of the image.
    dtype : numpy dtype
        Sample type, one of :data:`~chanmix.io.raster.SAMPLE_DTYPES`.
    chunks : (int, int)
        Chunk height and width ``(th, tw)`` in pixels, cut to the image when larger.
    band_names : sequence of M str, optional
        The ``band`` coordinate (``''`` for a band without a name).
    nodata : float, optional
        Nodata value: ``_FillValue`` and the array's fill value.
    geo : GeoInfo, optional
        Georeferencing to carry (see :mod:`chanmix.io.zarr_geo`).
    wavelengths, fwhm : sequence of M float, optional
        Nanometres, NaN where unknown.
    compression : {None, 'zstd', 'deflate'}
        Codec of every chunk (:data:`ZARR_COMPRESSIONS`); None writes them uncompressed.

    Raises
    ------
    UsageError
        When the shape, chunks, per-band values, compression or nodata do not fit.
    OSError
        When the folder cannot be written.
    """
    root = os.fspath(store_dir)
    zarr = zarr_module(root, "writing")
    dt = np.dtype(dtype)
    _check_store(root, (height, width, channels), chunks, nodata, dt)
    for what, values in (("band names", band_names), ("wavelengths", wavelengths), ("fwhm values", fwhm)):
        if values is not None and len(values) != channels:
            raise UsageError(f"{root}: {len(values)} {what} for {channels} channels")
    codecs = _compressors(zarr, root, compression)
    store: dict[str, Any] = {}
    group = zarr.create_group(zarr.storage.MemoryStore(store), zarr_format=3)

    def variable(name: str, values: np.ndarray | None, dims: tuple[str, ...], **options: Any) -> None:
        chunks = values.shape if values is not None else ()
        array = group.create_array(name, dimension_names=dims, compressors=codecs, chunks=chunks, **options)
        if values is not None:
            array[...] = values

    coordinates = _variables(variable, (height, width, channels), band_names, geo, root)
    for name, values in (("wavelength", wavelengths), ("fwhm", fwhm)):
        if values is not None:
            array = np.asarray(values, np.float64)
            units = {"units": "nm"}
            variable(
                name,
                array,
                ("band",),
                shape=array.shape,
                dtype=np.float64,
                fill_value=np.nan,
                attributes=units,
            )
            coordinates.append(name)
    attributes: dict[str, Any] = {}
    if nodata is not None:
        attributes["_FillValue"] = encode_fill_value(nodata, dt)
    if _GRID_MAPPING in coordinates:
        attributes["grid_mapping"] = _GRID_MAPPING
    if coordinates:
        attributes["coordinates"] = " ".join(coordinates)
    group.create_array(
        DATA,
        shape=(channels, height, width),
        chunks=(channels, min(chunks[0], height), min(chunks[1], width)),
        dtype=dt,
        fill_value=_fill_value(nodata, dt),
        compressors=codecs,
        dimension_names=("band", "y", "x"),
        attributes=attributes,
    )
    files = {key: value.to_bytes() for key, value in store.items()}
    files["zarr.json"] = _consolidated(files)
    for key in sorted(files):
        data = files[key]
        _put(root, key, _stable(data) if compression == "deflate" and not key.endswith("zarr.json") else data)


def _consolidated(files: Mapping[str, bytes]) -> bytes:
    """The root group's ``zarr.json`` with every member's metadata inline, as
    ``zarr.consolidate_metadata`` writes it (and xarray reads it first). Made here because that
    function warns, from zarr's own thread, that consolidated metadata is not in the v3
    specification: a warning that a run interrupted then would print after its error."""
    root = json.loads(files["zarr.json"])
    members = {
        key[: -len("/zarr.json")]: json.loads(data)
        for key, data in files.items()
        if key.endswith("/zarr.json")
    }
    ordered = dict(sorted(members.items(), key=lambda item: item[0].casefold()))
    root["consolidated_metadata"] = {"kind": "inline", "must_understand": False, "metadata": ordered}
    return json.dumps(root, indent=2).encode()


def _check_store(
    root: str, shape: tuple[int, int, int], chunks: tuple[int, int], nodata: float | None, dtype: np.dtype
) -> None:
    height, width, channels = shape
    if min(height, width, channels) < 1:
        raise UsageError(f"{root}: an image needs at least one row, column and channel, not {shape}")
    if len(chunks) != 2 or min(chunks) < 1:
        raise UsageError(f"{root}: chunks are a positive height and width, not {chunks}")
    if nodata is not None:
        encode_fill_value(nodata, dtype)  # a value the samples can hold


def _compressors(zarr: Any, root: str, compression: str | None) -> list:
    if compression is None:
        return []
    if compression == "zstd":
        return [zarr.codecs.ZstdCodec(level=0, checksum=False)]
    if compression == "deflate":
        return [zarr.codecs.GzipCodec(level=_GZIP_LEVEL)]
    known = ", ".join(["none", *ZARR_COMPRESSIONS])
    raise UsageError(f"{root}: a Zarr store is compressed with {known}, not {compression!r}")


def _fill_value(nodata: float | None, dtype: np.dtype) -> float | int:
    if nodata is not None:
        return float(nodata) if dtype.kind == "f" else int(nodata)
    return math.nan if dtype.kind == "f" else 0


def _variables(
    variable: Any,
    shape: tuple[int, int, int],
    band_names: Sequence[str] | None,
    geo: GeoInfo | None,
    root: str,
) -> list[str]:
    """Write the ``band``, ``y``, ``x`` and ``spatial_ref`` coordinates with ``variable(name,
    values, dims, **options)``; returns the names of the non-index ones written."""
    height, width, channels = shape
    if band_names is not None and any(band_names):
        names = np.array([str(name) for name in band_names], dtype=object)
        variable("band", names, ("band",), shape=(channels,), dtype=str, fill_value="")
    else:
        variable(
            "band",
            np.arange(1, channels + 1, dtype=np.int64),
            ("band",),
            shape=(channels,),
            dtype=np.int64,
            fill_value=0,
        )
    centres = pixel_centres(geo, height, width)
    if centres is not None:
        for name, values in zip(("y", "x"), centres):
            variable(name, values, (name,), shape=values.shape, dtype=np.float64, fill_value=np.nan)
    attributes = grid_mapping_attributes(geo, root) if geo is not None else {}
    if not attributes:
        return []
    variable(_GRID_MAPPING, None, (), shape=(), dtype=np.int64, fill_value=0, attributes=attributes)
    return [_GRID_MAPPING]


def write_zarr_window(
    store_dir: str | os.PathLike, window: tuple[int, int, int, int], block: np.ndarray
) -> None:
    """Write one window of an image into a store made by :func:`create_zarr_store`.

    Safe to run at once from many threads, processes or machines for disjoint windows, and
    to run again for the same window (it writes the same bytes; a chunk that is all fill
    value now is removed).

    Parameters
    ----------
    store_dir : str or os.PathLike
        The store's folder.
    window : (int, int, int, int)
        ``(start, stop, left, right)``: rows ``[start, stop)`` and columns ``[left, right)``
        in pixels, made of whole chunks: `start` and `left` multiples of the chunk height and
        width, `stop` and `right` too or the image's height and width.
    block : (stop - start, right - left, M) ndarray
        The window's samples, channels last, in the store's sample type.

    Raises
    ------
    UsageError
        When the window is not made of whole chunks of the image, or `block` does not fit it.
    OSError
        When the store cannot be read or written.
    """
    root = os.fspath(store_dir)
    zarr = zarr_module(root, "writing")
    from zarr.core.buffer import default_buffer_prototype

    folder = os.path.join(root, DATA)
    with open(os.path.join(folder, "zarr.json"), "rb") as file:
        metadata = file.read()
    store: dict[str, Any] = {"zarr.json": default_buffer_prototype().buffer.from_bytes(metadata)}
    array = zarr.open_array(zarr.storage.MemoryStore(store), mode="r+")
    _, height, width = array.shape
    rows, columns = array.chunks[1:]
    start, stop, left, right = (int(v) for v in window)
    aligned = start % rows == 0 and left % columns == 0
    aligned = aligned and (stop % rows == 0 or stop == height) and (right % columns == 0 or right == width)
    if not (0 <= start < stop <= height and 0 <= left < right <= width and aligned):
        raise UsageError(
            f"{root}: window {window} is not made of whole {rows} x {columns} chunks of the "
            f"{height} x {width} image"
        )
    expected = (stop - start, right - left, array.shape[0])
    if block.shape != expected or block.dtype.newbyteorder("=") != array.dtype:
        raise UsageError(
            f"{root}: a block of shape {block.shape} and type {block.dtype} does not fit window {window},"
            f" {expected} {array.dtype}"
        )
    gzip = any(codec.to_dict().get("name") == "gzip" for codec in array.metadata.codecs)
    for i in range(start // rows, -(-stop // rows)):
        for j in range(left // columns, -(-right // columns)):  # a chunk at a time, for memory
            top, side = i * rows, j * columns
            part = block[top - start : top + rows - start, side - left : side + columns - left]
            key = array.metadata.encode_chunk_key((0, i, j))
            if not _all_fill(part, array.fill_value):
                array[:, top : top + len(part), side : side + part.shape[1]] = np.moveaxis(part, -1, 0)
            data = store.pop(key, None)  # None: all fill value (for zarr too: -0.0 in zarr < 3.1.2)
            if data is None:
                with suppress(FileNotFoundError):
                    os.remove(os.path.join(folder, *key.split("/")))
            else:
                _put(folder, key, _stable(data.to_bytes()) if gzip else data.to_bytes())


def _all_fill(samples: np.ndarray, fill: Any) -> bool:
    """Whether every sample is the fill value, bit for bit (-0.0 is not 0.0), NaN for NaN."""
    dtype = samples.dtype
    if dtype.kind == "f" and np.isnan(fill):
        return bool(np.isnan(samples).all())
    unsigned = np.dtype(f"u{dtype.itemsize}")
    return bool((samples.view(unsigned) == np.array(fill, dtype).view(unsigned)).all())


def _stable(gzip_member: bytes) -> bytes:
    """A gzip stream with its time stamp (MTIME, bytes 4 to 7) set to 0: none recorded."""
    return gzip_member[:4] + b"\0\0\0\0" + gzip_member[8:]


def _put(root: str, key: str, data: bytes) -> None:
    """Write the file `key` (``/``-separated) below the folder `root`, making its folders one
    level at a time (never `root` itself)."""
    parts = key.split("/")
    path = root
    for part in parts[:-1]:
        path = os.path.join(path, part)
        with suppress(FileExistsError):
            os.mkdir(path)
    with open(os.path.join(path, parts[-1]), "wb") as file:
        file.write(data)


def zarr_output(
    path: str | os.PathLike, *, reserve: int = 0, together: Outputs | None = None
) -> AbstractContextManager[str]:
    """The folder a Zarr output is written in: a context manager yielding a new ``.part``
    folder beside `path`, moved onto it when the block succeeds (replacing a Zarr store
    there, never anything else), removed when it fails or the run is interrupted.

    `reserve` and `together` are those of :func:`~chanmix.io.atomic_dir.atomic_directory`.

    Examples
    --------
    >>> with zarr_output("out.zarr") as folder:  # doctest: +SKIP
    ...     create_zarr_store(folder, height=h, width=w, channels=m, dtype="uint16", chunks=(512, 512))
    ...     for window, block in blocks:  # on any number of workers
    ...         write_zarr_window(folder, window, block)
    """
    return atomic_directory(path, check=check_zarr_target, reserve=reserve, together=together)
