"""Sentinel-2 (MSI): DN to reflectance from a product's ``MTD_MSIL1C.xml`` or ``MTD_MSIL2A.xml``.

The product metadata file at the top of a ``.SAFE`` folder says how its JPEG 2000 band images
quantize reflectance [1]_ [2]_. With ``DN`` a band's sample:

- Level-1C, TOA reflectance: ``rho = (DN + RADIO_ADD_OFFSET) / QUANTIFICATION_VALUE``;
- Level-2A, BOA (surface) reflectance: ``rho = (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE``.

``QUANTIFICATION_VALUE`` is 10000 in every product so far. The offsets (-1000 in every band)
came with processing baseline 04.00 (25 January 2022); products of earlier baselines have no
offset list, and their offset is 0. Each band is rescaled on its own, so the mix is diagonal.
chanmix reads a uint16 sample as ``x = DN / 65535``, so the weight is ``65535 / Q`` and the bias
``offset / Q``; apply the mix with a float output type (reflectances leave 0..1, the offset makes
dark pixels negative).

Where the keys are (the root element names the product level; its children carry the
namespace prefix ``n1:``, their descendants none)::

    n1:Level-1C_User_Product                       n1:Level-2A_User_Product
      n1:General_Info                                n1:General_Info
        Product_Info                                   Product_Info
          PRODUCT_URI, PROCESSING_BASELINE,              (the same)
          Datatake/SPACECRAFT_NAME
        Product_Image_Characteristics                  Product_Image_Characteristics
          QUANTIFICATION_VALUE                           QUANTIFICATION_VALUES_LIST/
                                                           BOA_QUANTIFICATION_VALUE
          Radiometric_Offset_List/                       BOA_ADD_OFFSET_VALUES_LIST/
            RADIO_ADD_OFFSET band_id="0".."12"             BOA_ADD_OFFSET band_id="0".."12"
          Spectral_Information_List/                     (the same)
            Spectral_Information bandId="8"
                                 physicalBand="B8A"

The ``band_id`` of an offset is the ``bandId`` of the band's ``Spectral_Information``, whose
``physicalBand`` names it: B1 ... B8, B8A, B9 ... B12 are band ids 0 to 12. The band names come
from the file. Level-2A products have no B10 image (the cirrus band is not corrected to the
surface), although their lists hold band id 10: B10 is not a Level-2A band here.

Radiance is not computed: Level-1C radiance is ``rho * cos(sun zenith) * E_s * U / pi`` [1]_,
and the sun zenith angle varies across the tile; the product metadata holds ``U`` and ``E_s``
but no sun angle (the granule's ``MTD_TL.xml`` has them, on a 5 km grid).

References
----------
.. [1] ESA, "Sentinel-2 Products Specification Document" (S2-PDGS-TAS-DI-PSD): the Level-1C
   and Level-2A user product metadata (QUANTIFICATION_VALUE, Radiometric_Offset_List,
   QUANTIFICATION_VALUES_LIST, BOA_ADD_OFFSET_VALUES_LIST).
.. [2] ESA, Sentinel Online, "Sentinel-2 MSI: Processing Baseline", baseline 04.00 (in
   operations from 25 January 2022): L1C_TOA = (L1C_DN + RADIO_ADD_OFFSET) /
   QUANTIFICATION_VALUE, L2A_BOA = (L2A_DN + BOA_ADD_OFFSET) / QUANTIFICATION_VALUE, DN 0
   remaining the no-data value; https://sentinels.copernicus.eu/web/sentinel/technical-guides/sentinel-2-msi/processing-baseline
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError, UsageError
from ..mix import Mix
from .metadata import finite_number, local_name
from .options import CalibrationOptions

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

__all__ = ["DN_MAX", "ROOTS", "SENSOR_BANDS", "TILE_ROOTS", "sentinel2_mix"]

#: The DN that chanmix's normalized 1.0 stands for: Sentinel-2 band images are uint16.
DN_MAX = 65535
#: The MSI's bands, in band id order (0 to 12).
SENSOR_BANDS = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")
#: The processing baseline from which products carry offsets.
OFFSET_BASELINE = (4, 0)

_INFO = "General_Info/Product_Info"
_IMAGE = "General_Info/Product_Image_Characteristics"


@dataclass(frozen=True)
class _Level:
    """What one product level's metadata holds: where its quantification value and offsets are."""

    level: int
    name: str
    quantity: str
    quantification: tuple[str, ...]
    offsets: str
    offset: str
    bands: tuple[str, ...]


_L1C = _Level(
    1,
    "Level-1C",
    "TOA reflectance",
    ("QUANTIFICATION_VALUE",),
    "Radiometric_Offset_List",
    "RADIO_ADD_OFFSET",
    SENSOR_BANDS,
)
_L2A = _Level(
    2,
    "Level-2A",
    "BOA reflectance",
    ("QUANTIFICATION_VALUES_LIST", "BOA_QUANTIFICATION_VALUE"),
    "BOA_ADD_OFFSET_VALUES_LIST",
    "BOA_ADD_OFFSET",
    tuple(band for band in SENSOR_BANDS if band != "B10"),
)
#: The root element of a product metadata file -> its level.
_ROOTS = {"Level-1C_User_Product": _L1C, "Level-2A_User_Product": _L2A}
#: Root elements of the product metadata files chanmix calibrates from.
ROOTS = tuple(_ROOTS)
#: Root elements of a granule's ``MTD_TL.xml``, which is not the file to give.
TILE_ROOTS = ("Level-1C_Tile_ID", "Level-2A_Tile_ID")

_BASELINE = re.compile(r"(\d{1,2})\.(\d{1,2})")


def sentinel2_mix(root: Element, origin: str, options: CalibrationOptions) -> Mix:
    """The diagonal mix calibrating Sentinel-2 DN to reflectance, from a product metadata file.

    Parameters
    ----------
    root : Element
        The root element of ``MTD_MSIL1C.xml`` (``Level-1C_User_Product``) or
        ``MTD_MSIL2A.xml`` (``Level-2A_User_Product``).
    origin : str
        The file, as messages name it.
    options : CalibrationOptions
        ``to`` reflectance; ``level`` None (the file's) or the file's level; ``bands``: the
        MSI's band numbers (``2`` is B2) or names (``"8A"``, ``"B8A"``), by default every band
        of the product (13 at Level-1C, 12 without B10 at Level-2A).

    Returns
    -------
    Mix
        N inputs -> N outputs named after the bands (``B2``, ``B8A``), weights ``(N, N)``
        diagonal, in normalized units (input ``DN / 65535``). Its provenance records the file's
        name, the product URI, spacecraft and processing baseline, and for each output the
        keys (``General_Info/.../RADIO_ADD_OFFSET[@band_id=1]``) and values it was computed from.

    Raises
    ------
    UsageError
        Naming the argument at fault: ``level`` other than the file's, ``to`` radiance, or
        ``bands`` the product does not have.
    DataError
        Naming the file and the key: a key missing, given twice or not a finite number, a
        quantification value not positive, a baseline 04.00 or later product without offsets.
    """
    kind = _ROOTS.get(local_name(root.tag))
    if kind is None:
        raise DataError(f"{origin}: not a Sentinel-2 product metadata file (root element {root.tag[:60]})")
    _check_request(options, kind, origin)
    meta = _Metadata(root, origin)
    product = _product(meta, kind)
    image = meta.element(_IMAGE)
    ids_of = meta.band_ids(image)
    bands = _bands(options, kind, ids_of, origin)
    q_name, quantification = _quantification(meta, image, kind)
    offsets = meta.offsets(image, kind)
    baseline = product["processing_baseline"]
    if offsets is None and tuple(int(part) for part in baseline.split(".")) >= OFFSET_BASELINE:
        raise DataError(
            f"{origin}: no {kind.offsets} in {_IMAGE}, which products of processing baseline "
            f"04.00 and later have (this one is {baseline})"
        )
    weights, bias, keys = [], [], {}
    for band in bands:
        band_id = ids_of[band]
        used: dict[str, float] = {q_name: quantification}
        offset = 0.0
        if offsets is not None:
            if band_id not in offsets:
                raise DataError(
                    f"{origin}: no {kind.offset} with band_id {band_id} ({band}) in {_IMAGE}/{kind.offsets}"
                )
            offset = offsets[band_id]
            used[f"{_IMAGE}/{kind.offsets}/{kind.offset}[@band_id={band_id}]"] = offset
        if not math.isfinite(offset / quantification):
            raise DataError(f"{origin}: {kind.offset} = {offset:g} over {quantification:g} overflows")
        weights.append(DN_MAX / quantification)
        bias.append(offset / quantification)
        keys[band] = used
    spacecraft = product.pop("spacecraft", None)
    provenance: dict[str, Any] = {
        "name": f"sentinel2-l{kind.name[-2:].lower()}-{kind.quantity.split()[0].lower()}-reflectance",
        "description": (
            f"{spacecraft or 'Sentinel-2'} {kind.name} DN to {kind.quantity}: (DN + {kind.offset}) / "
            f"{q_name.rsplit('/', 1)[-1]}, DN = {DN_MAX} * input (uint16 samples); write float output"
        ),
        "mtd": PurePath(origin).name,
        "mtd_format": f"Sentinel-2 {kind.name} product metadata ({local_name(root.tag)})",
        **({"spacecraft": spacecraft} if spacecraft else {}),
        **product,
        "offsets": kind.offsets if offsets is not None else "none before baseline 04.00: offset 0",
        "mtd_keys": keys,
    }
    return Mix(np.diag(weights), bias, names=list(bands), provenance=provenance)


def _check_request(options: CalibrationOptions, kind: _Level, origin: str) -> None:
    """UsageError for a level other than the file's, or for radiance."""
    if options.level is not None and options.level != kind.level:
        raise UsageError(
            f"level: {origin} describes a Sentinel-2 {kind.name} product, of level {kind.level}, "
            f"not {options.level} (without a level, the file's is used)",
            parameter="level",
        )
    if options.to != "reflectance":
        why = (
            "Level-1C radiance needs the sun zenith angle of each pixel, which the product "
            "metadata does not hold"
            if kind.level == 1
            else "a Level-2A product holds surface reflectance, from which there is no radiance"
        )
        raise UsageError(f"to: Sentinel-2 is calibrated to reflectance only ({why})", parameter="to")


def _product(meta: _Metadata, kind: _Level) -> dict[str, str]:
    """What identifies the product: ``product_uri`` (and ``product_id``), ``processing_baseline``
    and ``spacecraft`` when the file says it; checked against the root element's level."""
    info = meta.element(_INFO)
    found = {
        key.lower(): meta.text(info, _INFO, key)
        for key in ("PRODUCT_URI", "PRODUCT_ID")
        if meta.has(info, key)
    }
    if not found:
        meta.text(info, _INFO, "PRODUCT_URI")  # raises, naming the key
    if meta.has(info, "PROCESSING_LEVEL"):
        level = meta.text(info, _INFO, "PROCESSING_LEVEL")
        if not level.startswith(kind.name):
            raise DataError(
                f"{meta.origin}: PROCESSING_LEVEL = {level[:40]!r} in {_INFO}, but the root "
                f"element says {kind.name}"
            )
    baseline = meta.text(info, _INFO, "PROCESSING_BASELINE")
    if _BASELINE.fullmatch(baseline) is None:
        raise DataError(
            f"{meta.origin}: PROCESSING_BASELINE = {baseline[:40]!r} in {_INFO} is not a "
            "baseline such as 05.09"
        )
    found["processing_baseline"] = baseline
    spacecraft = _spacecraft(meta, info)
    if spacecraft is not None:
        found["spacecraft"] = spacecraft
    return found


def _quantification(meta: _Metadata, image: Element, kind: _Level) -> tuple[str, float]:
    """The key (its path) and value of the quantification value, checked to be positive."""
    where = "/".join((_IMAGE, *kind.quantification[:-1]))
    parent = meta.element(where) if len(kind.quantification) > 1 else image
    key = kind.quantification[-1]
    value = meta.number(parent, where, key)
    if not (value > 0 and math.isfinite(DN_MAX / value)):
        raise DataError(f"{meta.origin}: {key} = {value:g} in {where} is not a positive number")
    return f"{where}/{key}", value


def _spacecraft(meta: _Metadata, info: Element) -> str | None:
    """SPACECRAFT_NAME (``Sentinel-2A``...), None when the file does not say."""
    datatake = meta.optional(info, _INFO, "Datatake")
    if datatake is None or not meta.has(datatake, "SPACECRAFT_NAME"):
        return None
    name = meta.text(datatake, f"{_INFO}/Datatake", "SPACECRAFT_NAME")
    if not name.startswith("Sentinel-2"):
        raise DataError(
            f"{meta.origin}: SPACECRAFT_NAME is {name[:40]!r}; chanmix calibrates Sentinel-2 (MSI) here"
        )
    return name


def _bands(options: CalibrationOptions, kind: _Level, ids_of: dict[str, int], origin: str) -> tuple[str, ...]:
    """The band names the mix reads, checked against the sensor, the level and the file."""
    if options.bands is None:
        return tuple(band for band in ids_of if band in kind.bands)
    names = []
    for band in options.bands:
        name = f"B{band}"
        if name not in SENSOR_BANDS:
            raise UsageError(f"bands: Sentinel-2 has bands 1 to 12 and 8A, not {band}", parameter="bands")
        if name not in kind.bands:
            raise UsageError(
                f"bands: {kind.name} products have no {name} (the cirrus band is not corrected "
                "to the surface)",
                parameter="bands",
            )
        if name not in ids_of:
            raise UsageError(
                f"bands: {origin} lists no {name} in its Spectral_Information_List", parameter="bands"
            )
        names.append(name)
    return tuple(names)


class _Metadata:
    """Elements of a product metadata file by the local names of their path, each checked to
    be there once; every fault a DataError naming the file and the key."""

    def __init__(self, root: Element, origin: str) -> None:
        self.root = root
        self.origin = origin

    def child(self, parent: Element, where: str, name: str) -> Element:
        """The one child `name` of `parent` (which is at `where`)."""
        found = self.optional(parent, where, name)
        if found is None:
            raise DataError(f"{self.origin}: no {name} in {where}")
        return found

    def optional(self, parent: Element, where: str, name: str) -> Element | None:
        """The child `name` of `parent`, None when there is none."""
        found = [item for item in parent if local_name(item.tag) == name]
        if len(found) > 1:
            raise DataError(f"{self.origin}: {name} given twice in {where}")
        return found[0] if found else None

    def element(self, path: str) -> Element:
        """The element at `path` (``General_Info/Product_Info``) below the root."""
        node, done = self.root, list[str]()
        for name in path.split("/"):
            node = self.child(node, "/".join(done) or local_name(self.root.tag), name)
            done.append(name)
        return node

    def has(self, parent: Element, name: str) -> bool:
        return any(local_name(item.tag) == name for item in parent)

    def text(self, parent: Element, where: str, name: str) -> str:
        found = self.child(parent, where, name)
        if len(found):
            raise DataError(f"{self.origin}: {name} in {where} holds elements, not a value")
        return (found.text or "").strip()

    def number(self, parent: Element, where: str, name: str) -> float:
        text = self.text(parent, where, name)
        return finite_number(text, self.origin, f"{name} = {text[:40]!r} in {where}")

    def band_ids(self, image: Element) -> dict[str, int]:
        """physicalBand -> bandId, from the Spectral_Information_List, in band id order."""
        where = f"{_IMAGE}/Spectral_Information_List"
        listing = self.child(image, _IMAGE, "Spectral_Information_List")
        ids: dict[str, int] = {}
        for item in listing:
            if local_name(item.tag) != "Spectral_Information":
                continue
            name, band_id = item.get("physicalBand"), self._band_id(item.get("bandId"), where)
            if name is None:
                raise DataError(f"{self.origin}: a Spectral_Information in {where} has no physicalBand")
            if name in ids or band_id in ids.values():
                raise DataError(f"{self.origin}: band {name[:20]} (bandId {band_id}) given twice in {where}")
            ids[name] = band_id
        if not ids:
            raise DataError(f"{self.origin}: no Spectral_Information in {where}")
        return dict(sorted(ids.items(), key=lambda item: item[1]))

    def offsets(self, image: Element, kind: _Level) -> dict[int, float] | None:
        """band_id -> offset, None when the file has no offset list."""
        listing = self.optional(image, _IMAGE, kind.offsets)
        if listing is None:
            return None
        where = f"{_IMAGE}/{kind.offsets}"
        values: dict[int, float] = {}
        for item in listing:
            if local_name(item.tag) != kind.offset:
                continue
            band_id = self._band_id(item.get("band_id"), where)
            if band_id in values:
                raise DataError(f"{self.origin}: {kind.offset} with band_id {band_id} given twice in {where}")
            text = (item.text or "").strip()
            what = f"{kind.offset}[@band_id={band_id}] = {text[:40]!r} in {where}"
            values[band_id] = finite_number(text, self.origin, what)
        return values

    def _band_id(self, text: str | None, where: str) -> int:
        if text is None or not text.strip().isdigit() or len(text.strip()) > 3:
            raise DataError(f"{self.origin}: band id {str(text)[:20]!r} in {where} is not a number 0, 1, ...")
        return int(text)
