"""Calibration from sensor metadata: a Mix turning a product's DN into physical units.

:func:`calibration_mix` reads a metadata file and returns the diagonal mix that rescales each
band, in chanmix's normalized units (a uint16 DN is read as ``DN / 65535``): compose it
before a mix defined on reflectance (``-m cal.json -m preset:landsat8-tasseled-cap``) and
write float output. One module per sensor family:

- :mod:`~chanmix.calibration.landsat`: Landsat 8 and 9 MTL files (``_MTL.txt``, ``_MTL.xml``),
  Collection 1 and 2, to TOA reflectance or radiance, or Level-2 surface reflectance.

The files are parsed by :mod:`~chanmix.calibration.metadata`, which trusts nothing in them.
"""

from __future__ import annotations

import os

from ..errors import DataError
from ..mix import Mix
from .landsat import ROOTS, landsat_mix
from .metadata import local_name, parse_odl, parse_xml, read_text, xml_groups
from .options import CalibrationOptions

__all__ = ["CalibrationOptions", "calibration_mix"]


def calibration_mix(path: str | os.PathLike[str], options: CalibrationOptions | None = None) -> Mix:
    """The mix calibrating the DN of the product that metadata file `path` describes.

    Parameters
    ----------
    path : str or path-like
        A Landsat 8/9 MTL file: ODL text (``_MTL.txt``) or XML (``_MTL.xml``), told apart by
        their content.
    options : CalibrationOptions, optional
        What to compute (TOA reflectance of the default bands when omitted).

    Returns
    -------
    Mix
        Diagonal, N -> N, in normalized units; see :func:`~chanmix.calibration.landsat.landsat_mix`.

    Raises
    ------
    UsageError
        Naming the argument at fault (``bands``, ``level``, ``to``).
    DataError
        Naming the file (and the key): unreadable, not a metadata file chanmix knows, or a key
        missing or not a number.

    Examples
    --------
    >>> mix = calibration_mix("sample_images/landsat/l8_MTL.txt", CalibrationOptions(bands=(2, 3, 4)))
    >>> mix.names, round(float(mix.weights[0, 0]), 6), round(float(mix.bias[0]), 6)
    (('B2', 'B3', 'B4'), 1.449236, -0.11057)
    """
    options = options or CalibrationOptions()
    origin = os.fspath(path)
    text = read_text(path)
    if text.lstrip().startswith("<"):
        root = parse_xml(text, origin)
        if local_name(root.tag) not in ROOTS:
            raise DataError(
                f"{origin}: not a Landsat MTL file (XML root element {local_name(root.tag)[:40]})"
            )
        return landsat_mix(xml_groups(root, origin), options)
    return landsat_mix(parse_odl(text, origin), options)
