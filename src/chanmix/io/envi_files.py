"""Which files make an ENVI raster: the header beside a data file, the data file beside a header.

An ENVI raster is a raw data file plus a text header (``.hdr``) beside it. Either may be
named:

- a header (a name ending in ``.hdr``): its data file is the header's name without
  ``.hdr`` (``x.img.hdr`` -> ``x.img``), or, for ``x.hdr``, the first of ``x``, ``x.img``,
  ``x.dat``, ``x.bsq``, ``x.bil``, ``x.bip``, ``x.raw`` (or these extensions in capitals)
  that exists;
- a data file: its header is the first that exists of ``x.img.hdr`` then ``x.hdr`` (each
  also as ``.HDR``), as GDAL looks for it, and it counts only when it begins with ``ENVI``.

An ENVI output ``out.img`` gets the header ``out.hdr``, as GDAL names it, unless that would
replace the header of another raster or leave a stale ``out.img.hdr`` to be read first
(:func:`output_header`).
"""

from __future__ import annotations

import os

__all__ = [
    "companion_files",
    "data_beside",
    "data_candidates",
    "header_beside",
    "is_header_name",
    "output_header",
]

_DATA_EXTENSIONS = (".img", ".dat", ".bsq", ".bil", ".bip", ".raw")


def is_header_name(name: str) -> bool:
    """Whether a file name is an ENVI header's (ends in ``.hdr``, in any case)."""
    return name.lower().endswith(".hdr")


def header_beside(data_path: str) -> str | None:
    """The ENVI header of a data file, as GDAL finds it: the first existing file of
    ``x.img.hdr``, ``x.img.HDR``, ``x.hdr``, ``x.HDR``, if it begins with ``ENVI``."""
    stem = os.path.splitext(data_path)[0]
    names = (data_path + ".hdr", data_path + ".HDR", stem + ".hdr", stem + ".HDR")
    for name in dict.fromkeys(names):
        if os.path.isfile(name):
            return name if _starts_with_envi(name) else None
    return None


def output_header(data_path: str) -> str:
    """Where the header of an ENVI output goes: ``out.hdr`` beside ``out.img``, as GDAL names
    it, or else ``out.img.hdr`` (GDAL's other name, which readers look for first):

    - when ``out.img.hdr`` exists: it would be read instead of ``out.hdr``, so it is replaced;
    - when ``out.hdr`` is the header of another data file that exists (``out.bsq``, or
      ``out`` itself), which it is left to.
    """
    added = data_path + ".hdr"
    replaced = os.path.splitext(data_path)[0] + ".hdr"
    if os.path.isfile(added):
        return added
    owner = data_beside(replaced) if os.path.isfile(replaced) else None
    if owner is not None and os.path.abspath(owner) != os.path.abspath(data_path):
        return added
    return replaced


def companion_files(path: str) -> list[str]:
    """The other file of an ENVI raster named by `path` (its data file when `path` is a
    header, its header when `path` is a data file), or ``[]``."""
    if is_header_name(path):
        found = data_beside(path)
        return [found] if found else []
    header = header_beside(path)
    return [header] if header else []


def _starts_with_envi(name: str) -> bool:
    try:
        with open(name, "rb") as file:
            return file.read(4) == b"ENVI"
    except OSError:
        return False


def data_candidates(header_path: str) -> list[str]:
    """The data files a header may describe, in the order they are looked for."""
    base = header_path[:-4]
    if os.path.splitext(os.path.basename(base))[1]:
        return [base]
    return (
        [base] + [base + ext for ext in _DATA_EXTENSIONS] + [base + ext.upper() for ext in _DATA_EXTENSIONS]
    )


def data_beside(header_path: str) -> str | None:
    """The data file of a header: the first of :func:`data_candidates` that exists."""
    return next((name for name in data_candidates(header_path) if os.path.isfile(name)), None)
