"""Calibration from sensor metadata: a Mix turning a product's DN into physical units.

:func:`calibration_mix` reads a metadata file and returns the diagonal mix that rescales each
band, in chanmix's normalized units (a uint16 DN is read as ``DN / 65535``): compose it
before a mix defined on reflectance (``-m cal.json -m preset:landsat8-tasseled-cap``) and
write float output. One module per sensor family:

- :mod:`~chanmix.calibration.landsat`: Landsat 8 and 9 MTL files (``_MTL.txt``, ``_MTL.xml``),
  Collection 1 and 2, to TOA reflectance or radiance, or Level-2 surface reflectance.
- :mod:`~chanmix.calibration.sentinel2`: Sentinel-2 product metadata (``MTD_MSIL1C.xml``,
  ``MTD_MSIL2A.xml``), to TOA reflectance (Level-1C) or BOA reflectance (Level-2A).

The file's content says which it is: ODL text is a Landsat MTL file; in XML, the root element
(``LANDSAT_METADATA_FILE``, ``n1:Level-1C_User_Product``, ``n1:Level-2A_User_Product``).

The files are parsed by :mod:`~chanmix.calibration.metadata`, which trusts nothing in them.
"""

from __future__ import annotations

import os

from ..errors import DataError
from ..mix import Mix
from .landsat import ROOTS as LANDSAT_ROOTS
from .landsat import landsat_mix
from .metadata import local_name, parse_odl, parse_xml, read_text, xml_groups
from .options import CalibrationOptions
from .sentinel2 import ROOTS as SENTINEL2_ROOTS
from .sentinel2 import TILE_ROOTS, sentinel2_mix

__all__ = ["CalibrationOptions", "calibration_mix"]


def calibration_mix(path: str | os.PathLike[str], options: CalibrationOptions | None = None) -> Mix:
    """The mix calibrating the DN of the product that metadata file `path` describes.

    Parameters
    ----------
    path : str or path-like
        A Landsat 8/9 MTL file, ODL text (``_MTL.txt``) or XML (``_MTL.xml``), or a Sentinel-2
        product's ``MTD_MSIL1C.xml`` or ``MTD_MSIL2A.xml``, told apart by their content.
    options : CalibrationOptions, optional
        What to compute (TOA reflectance of the default bands when omitted).

    Returns
    -------
    Mix
        Diagonal, N -> N, in normalized units; see :func:`~chanmix.calibration.landsat.landsat_mix`
        and :func:`~chanmix.calibration.sentinel2.sentinel2_mix`.

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
    >>> safe = "tests/data/s2/S2B_MSIL1C_20230823T095559_N0509_R122_T34UCF_20230823T120234.SAFE"
    >>> mix = calibration_mix(f"{safe}/MTD_MSIL1C.xml", CalibrationOptions(bands=(4, "8A")))
    >>> mix.names, float(mix.weights[0, 0]), float(mix.bias[0])
    (('B4', 'B8A'), 6.5535, -0.1)
    """
    options = options or CalibrationOptions()
    origin = os.fspath(path)
    text = read_text(path)
    if text.lstrip().startswith("<"):
        root = parse_xml(text, origin)
        name = local_name(root.tag)
        if name in SENTINEL2_ROOTS:
            return sentinel2_mix(root, origin, options)
        if name in TILE_ROOTS:
            raise DataError(
                f"{origin}: the metadata of one granule (MTD_TL.xml); give the product's "
                "MTD_MSIL1C.xml or MTD_MSIL2A.xml, at the top of the .SAFE folder"
            )
        if name not in LANDSAT_ROOTS:
            raise DataError(
                f"{origin}: not a Landsat MTL file or Sentinel-2 product metadata "
                f"(XML root element {name[:40]})"
            )
        return landsat_mix(xml_groups(root, origin), options)
    return landsat_mix(parse_odl(text, origin), options)
