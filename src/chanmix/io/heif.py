"""HEIC input (iPhones' photographs) through Pillow and the optional pillow-heif plugin.

pillow-heif (libheif) is an optional dependency: ``pip install 'chanmix[heic]'``. It is
imported and registered with Pillow only when a HEIC file is read; without it, reading one
is a UsageError (exit 2) naming the extra, as reading a Zarr store without zarr is. libheif
applies the file's rotation and mirroring (irot, imir) as it decodes, and pillow-heif then
gives the EXIF with Orientation 1; images deeper than 8 bits are reduced to 8 (pillow-heif's
default for Pillow).

A HEIF file is an ISO BMFF file whose ``ftyp`` box names a HEVC brand (``heic``, ``heix``,
``heim``, ``heis``, ``hevc``, ``hevx``, ``hevm``, ``hevs``), or the generic ``mif1`` or
``msf1`` without ``avif`` among its brands (AVIF files, which Pillow reads itself).

References
----------
.. [1] ISO/IEC 23008-12:2022, High Efficiency Image File Format, annex B (HEVC brands).
"""

from __future__ import annotations

import struct

from ..errors import UsageError

__all__ = ["is_heif", "register_heif"]

_HEVC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs")
_GENERIC_BRANDS = (b"mif1", b"msf1")


def _brands(head: bytes) -> list[bytes]:
    """The major and compatible brands of an ``ftyp`` box at the start of `head` (those
    within `head`), or none."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return []
    (size,) = struct.unpack(">I", head[:4])
    end = min(size, len(head))
    return [head[8:12]] + [head[k : k + 4] for k in range(16, end - 3, 4)]


def is_heif(head: bytes) -> bool:
    """Whether a file's first bytes are a HEIC file's (see the module notes)."""
    brands = _brands(head)
    if not brands:
        return False
    if brands[0] in _HEVC_BRANDS:
        return True
    return brands[0] in _GENERIC_BRANDS and b"avif" not in brands and any(b in _HEVC_BRANDS for b in brands)


def register_heif(name: str) -> None:
    """Make Pillow open HEIC files, once pillow-heif is imported.

    Raises
    ------
    UsageError
        When pillow-heif is not installed, naming `name` and the extra to install.
    """
    try:
        import pillow_heif
    except ImportError:
        raise UsageError(
            f"{name}: reading HEIC files needs the pillow-heif package: pip install 'chanmix[heic]'"
        ) from None
    pillow_heif.register_heif_opener()
