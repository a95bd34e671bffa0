"""Band selections as users write them (``--bands``): numbers, ranges, names, wavelengths.

A selection is parsed once into a :class:`BandSpec`, then resolved against each image's
:class:`~chanmix.io.RasterInfo` into 1-based band numbers: its band names and wavelengths
may differ from file to file, and an image made of several files (``--stack``) is resolved
like any other. Items are separated by commas; each is, in this order:

- ``4`` or ``2-7``: a band number, or a range of them, always (``7-5`` is 7, 6, 5);
- ``"text"`` in double quotes: a band name, whatever it looks like (``"2-7"``,
  ``"Red, 665nm"``); ``""`` inside stands for one quote;
- anything else a band's name (``info`` lists them), compared exactly, else ignoring case;
- if no band has that name and the item is a number with ``nm``, ``um``, ``µm`` or ``μm``
  (``865nm``, ``865 nm``, ``0.865um``), the band whose centre wavelength is nearest.
  When two bands are equally near, or the wavelength lies beyond the outermost bands by more
  than the edge band's FWHM or its distance to its neighbour, the selection is refused.

A band may be selected more than once. Spaces around items are ignored, as are empty items.
When an item names no band (or is a wavelength the image cannot give), the whole text is
tried as one name, so that a name with a comma may be given alone without quotes; a list that
resolves item by item never means anything else.

No NumPy here: the command line parses ``--bands`` before any numerical module loads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from .errors import UsageError
from .wavelengths import nanometres

if TYPE_CHECKING:
    from .io import RasterInfo

__all__ = ["BandSpec", "Name", "Numbers", "Wavelength", "quote_name", "select_bands"]

_NUMBER = re.compile(r"[+-]?\d+", re.ASCII)
_RANGE = re.compile(r"(\d+)\s*-\s*(\d+)", re.ASCII)
_WAVELENGTH = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(nm|um|\u00b5m|\u03bcm)", re.ASCII | re.IGNORECASE)
#: Band names listed in full in an error message; more are counted.
_LISTED_NAMES = 10


@dataclass(frozen=True)
class Numbers:
    """Bands ``first`` to ``last``, 1-based, inclusive, descending when ``last < first``."""

    first: int
    last: int

    def bands(self) -> range:
        """The band numbers, in order."""
        step = 1 if self.last >= self.first else -1
        return range(self.first, self.last + step, step)


@dataclass(frozen=True)
class Name:
    """A band name, as :attr:`RasterInfo.band_names` holds it."""

    text: str


@dataclass(frozen=True)
class Wavelength:
    """A wavelength as written (``text``, tried first as a band name) and in nanometres."""

    text: str
    nm: float


#: One comma-separated item of a selection.
Item: TypeAlias = Numbers | Name | Wavelength


@dataclass(frozen=True)
class BandSpec:
    """A band selection: its text, and the items parsed from it (see the module docstring).

    >>> spec = BandSpec.parse("nir, 2-4, 0.665um")
    >>> spec.items
    (Name(text='nir'), Numbers(first=2, last=4), Wavelength(text='0.665um', nm=665.0))
    """

    text: str
    items: tuple[Item, ...]

    @classmethod
    def parse(cls, text: str, parameter: str | None = "bands") -> BandSpec:
        """Parse a selection; a malformed one is a UsageError naming `parameter` (if given).

        Only the form is checked here: band numbers start at 1, quotes are closed,
        wavelengths are positive. Whether the bands exist depends on each image.
        """
        try:
            items = tuple(_item(piece, quoted) for piece, quoted in _split(text))
            if not items:
                raise ValueError("expected band numbers (4,3,2), ranges (2-7), names or wavelengths (865nm)")
        except ValueError as exc:
            prefix = "" if parameter is None else f"{parameter}: "
            raise UsageError(f"{prefix}{text!r}: {exc}", parameter=parameter) from None
        return cls(text.strip(), items)

    def __str__(self) -> str:
        return self.text

    def resolve(self, info: RasterInfo, parameter: str = "bands") -> tuple[int, ...]:
        """The 1-based bands of `info`'s image this selection names, in order.

        Band numbers are not checked against the image's band count here (see
        :func:`chanmix.blockmix.band_selection`). A name or wavelength the image cannot
        resolve is a UsageError naming `parameter`.
        """
        try:
            return tuple(band for item in self.items for band in _resolve(item, info))
        except UsageError as exc:
            whole = _named(self.text, info) if "," in self.text else []
            if len(whole) == 1:
                return (whole[0] + 1,)
            raise UsageError(f"{parameter}: {exc}", parameter=parameter) from None


def select_bands(
    bands: BandSpec | Sequence[int] | None, info: RasterInfo, parameter: str = "bands"
) -> tuple[int, ...] | None:
    """The 1-based bands of an image chosen by `bands`: a :class:`BandSpec` resolved against
    `info`, band numbers as given, or None (no choice: every band) as None."""
    if bands is None:
        return None
    if isinstance(bands, BandSpec):
        return bands.resolve(info, parameter)
    return tuple(bands)


def quote_name(name: str) -> str:
    """`name` as a ``--bands`` item that selects the band of that name: as it is, or in
    double quotes when it would otherwise be read differently (``"2-7"``, ``"Red, 665nm"``)."""
    if name and name == name.strip() and "," not in name and not name.startswith('"'):
        if not (_NUMBER.fullmatch(name) or _RANGE.fullmatch(name)):
            return name
    return '"' + name.replace('"', '""') + '"'


def _split(text: str) -> list[tuple[str, bool]]:
    """The items of `text`, stripped, each with whether it was quoted; empty ones dropped."""
    items: list[tuple[str, bool]] = []
    position = 0
    while position <= len(text):
        end = _item_end(text, position)
        piece = text[position:end].strip()
        if piece.startswith('"'):
            name, end = _quoted(text, text.index('"', position) + 1)
            items.append((name, True))
        elif piece:
            items.append((piece, False))
        position = end + 1
    return items


def _item_end(text: str, position: int) -> int:
    """Where the item at `position` ends: at the next comma, or the end of `text`."""
    comma = text.find(",", position)
    return len(text) if comma < 0 else comma


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The name quoted from `start` (just after the opening quote) and where its item ends."""
    parts = []
    while True:
        close = text.find('"', start)
        if close < 0:
            raise ValueError('a quoted name is not closed (a quote inside one is written "")')
        parts.append(text[start:close])
        if not text.startswith('"', close + 1):
            break
        parts.append('"')
        start = close + 2
    end = _item_end(text, close + 1)
    if text[close + 1 : end].strip():
        raise ValueError("a quoted name must be a whole item (a comma or the end follows it)")
    return "".join(parts), end


def _item(text: str, quoted: bool) -> Item:
    if quoted:
        if not text:
            raise ValueError("a band name cannot be empty")
        return Name(text)
    if _NUMBER.fullmatch(text):
        numbers = Numbers(int(text), int(text))
    elif match := _RANGE.fullmatch(text):
        numbers = Numbers(int(match[1]), int(match[2]))
    elif match := _WAVELENGTH.fullmatch(text):
        nm = nanometres(match[1], match[2])
        if nm is None:
            raise ValueError(f"{text} is not a positive wavelength")
        return Wavelength(text, nm)
    else:
        return Name(text)
    if min(numbers.first, numbers.last) < 1:
        raise ValueError("band numbers start at 1")
    return numbers


def _resolve(item: Item, info: RasterInfo) -> Sequence[int]:
    """The 1-based bands of one item; UsageError without the parameter's name."""
    if isinstance(item, Numbers):
        return item.bands()
    named = _named(item.text, info)
    if len(named) == 1:
        return [named[0] + 1]
    if named:
        raise UsageError(_ambiguous(item.text, named, info))
    if isinstance(item, Wavelength):
        return [_nearest(item, info) + 1]
    raise UsageError(_unnamed(item.text, info))


def _named(name: str, info: RasterInfo) -> list[int]:
    """0-based bands called `name`: those with exactly this name, else equal ignoring case."""
    names = info.band_names or ()
    exact = [b for b, n in enumerate(names) if n and n == name]
    if exact:
        return exact
    folded = name.casefold()
    return [b for b, n in enumerate(names) if n and n.casefold() == folded]


def _recorded(info: RasterInfo) -> list[tuple[int, float]]:
    """(0-based band, centre wavelength in nm) of the bands whose wavelength is known."""
    return [(b, w) for b, w in enumerate(info.wavelengths or ()) if not math.isnan(w)]


def _nearest(item: Wavelength, info: RasterInfo) -> int:
    """The 0-based band whose centre wavelength is nearest `item`'s; ties are refused."""
    recorded = _recorded(info)
    if not recorded:
        raise UsageError(f"{info.path} records no wavelengths; give band numbers or names")
    distances = [(abs(w - item.nm), b, w) for b, w in recorded]
    best = min(d for d, _, _ in distances)
    nearest = [(b, w) for d, b, w in distances if math.isclose(d, best, rel_tol=1e-9, abs_tol=1e-9)]
    if len(nearest) > 1:
        (first, w1), (second, w2) = nearest[:2]
        raise UsageError(
            f"{item.text} is as near to band {first + 1} ({_nm(w1)}) as to band {second + 1} ({_nm(w2)}) "
            f"of {info.path}; give a band number"
        )
    band, centre = nearest[0]
    low, high = min(w for _, w in recorded), max(w for _, w in recorded)
    if not low <= item.nm <= high and best > _reach(band, centre, recorded, info):
        raise UsageError(
            f"{item.text} is beyond the wavelengths of {info.path} ({_nm(low)} to {_nm(high)}): "
            f"the nearest, band {band + 1} ({_nm(centre)}), is {_nm(best)} away"
        )
    return band


def _reach(band: int, centre: float, recorded: list[tuple[int, float]], info: RasterInfo) -> float:
    """How far beyond an outermost band (`band`, at `centre`) a wavelength may be and still
    pick it: its FWHM or the distance to the nearest other band's centre, whichever is larger
    (unlimited for a lone band of unknown width), so that a wavelength the file does not
    cover (2000nm of a 443-865nm image) is refused."""
    fwhm = info.fwhm[band] if info.fwhm and not math.isnan(info.fwhm[band]) else 0.0
    gaps = [abs(w - centre) for b, w in recorded if b != band and w != centre]
    if not gaps and not fwhm:
        return math.inf
    return max(fwhm, min(gaps, default=0.0))


def _nm(wavelength: float) -> str:
    return f"{wavelength:g}nm"


def _ambiguous(name: str, bands: list[int], info: RasterInfo) -> str:
    names = info.band_names or ()
    listed = ", ".join(f"{b + 1} {quote_name(names[b])}" for b in bands)
    if len({names[b] for b in bands}) == 1:
        return f"{quote_name(name)} names several bands of {info.path} ({listed}); give a band number"
    return (
        f"{quote_name(name)} matches several bands of {info.path} ignoring case ({listed}); "
        "give the exact name or a band number"
    )


def _unnamed(name: str, info: RasterInfo) -> str:
    names = [quote_name(n) for n in info.band_names or () if n]
    if not names:
        alternative = "band numbers or wavelengths" if _recorded(info) else "band numbers"
        return f"{info.path} names no band, so none is {quote_name(name)}; give {alternative}"
    listed = ", ".join(names[:_LISTED_NAMES])
    if len(names) > _LISTED_NAMES:
        listed += f" and {len(names) - _LISTED_NAMES} more"
    return f"{info.path} has no band named {quote_name(name)}; its band names: {listed}"
