"""Contact sheets: a stretched thumbnail of every band of an image, in a grid, each labelled.

The quick look at a multispectral or hyperspectral image. :func:`plan_sheet` lays the sheet
out from what the file says (bands, names, wavelengths, size, TIFF overviews) before any pixel
is read; :func:`draw_sheet` reads every k-th row and column of the chosen bands, of the image
or of the smallest overview that gives as large a thumbnail
(:func:`~chanmix.thumbnails.thumbnail_source`), stretches each band between its percentiles
(:mod:`chanmix.thumbnails`) and draws the sheet, an RGB uint8 image.

Layout, in pixels (``size`` the longest side of a thumbnail, ``GAP`` = 8):

- ``columns`` (default ``ceil(sqrt(n))`` for ``n`` bands, at most ``n``) and
  ``rows = ceil(n / columns)``; band ``i`` (0-based, in the order chosen) is in column
  ``i % columns`` and row ``i // columns``;
- a cell is ``size`` wide and ``size + LABEL_GAP + lines * line_height`` high, its label
  below the thumbnail: one line ``"<number>: <name>"`` (``"band <number>"`` for a band
  without a name; the number is the band's 1-based number in the image), and a second line
  with the centre wavelength (``865nm``) when any band shown records one;
- the sheet is ``columns * size + (columns + 1) * GAP`` wide and
  ``rows * cell height + (rows + 1) * GAP`` high; cell (row, column) starts at
  ``(GAP + column * (size + GAP), GAP + row * (cell height + GAP))`` (x, y);
- a thumbnail ``h`` x ``w`` is centred across its cell and sits on its label:
  at ``x + (size - w) // 2``, ``y + size - h``; the label starts under the thumbnail's left
  edge, at ``y + size + LABEL_GAP``, one ``line_height`` per line, in Pillow's default font
  at :func:`font_size`, cut with an ellipsis where it would leave the cell.

White background, black labels; thumbnails are grey (R = G = B); nodata (and non-finite)
samples are drawn in :data:`NODATA_RGB`, a slate grey-blue no thumbnail pixel can be.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .bandspec import BandSpec, select_bands
from .blockmix import band_selection
from .budget import check_whole
from .choices import NodataChoice
from .io import BlockReader, RasterInfo
from .io.tiff_overview import read_overview
from .pipeline import effective_nodata
from .thumbnails import band_nodata, read_decimated, stretch, thumbnail_source, valid_samples

__all__ = [
    "BACKGROUND",
    "GAP",
    "LABEL_GAP",
    "NODATA_RGB",
    "TEXT",
    "SheetBand",
    "SheetLayout",
    "SheetOptions",
    "draw_sheet",
    "font_size",
    "label_lines",
    "line_height",
    "plan_sheet",
]

#: Pixels around the sheet and between its cells.
GAP = 8
#: Pixels between a thumbnail and its label.
LABEL_GAP = 4
BACKGROUND = (255, 255, 255)
TEXT = (0, 0, 0)
#: Nodata and non-finite samples: slate grey, never a thumbnail's grey (R = G = B).
NODATA_RGB = (112, 128, 144)


def font_size(size: int) -> int:
    """The labels' font size in pixels for thumbnails of `size`: size / 16, within 10 to 32."""
    return max(10, min(32, size // 16))


def line_height(font: int) -> int:
    """Pixels from one label line to the next for a font of `font` pixels."""
    return font + font // 4


@dataclass(frozen=True)
class SheetOptions:
    """What ``chanmix sheet`` draws.

    Attributes
    ----------
    bands : BandSpec or tuple of int or None
        The bands shown, in order (1-based numbers, or a selection resolved against the
        image); None for every band, alpha included.
    nodata : NodataChoice or None
        Nodata given on the command line; None for the file's own.
    percentiles : (float, float)
        LO and HI, mapped to black and white in each band.
    size : int
        The longest side of a thumbnail, in pixels.
    columns : int or None
        Thumbnails per row; None for ``ceil(sqrt(bands))``.
    page, series : int, int or None
        Which image of the file(s), as :func:`~chanmix.io.open_image` takes them.
    """

    bands: BandSpec | tuple[int, ...] | None = None
    nodata: NodataChoice | None = None
    percentiles: tuple[float, float] = (2.0, 98.0)
    size: int = 256
    columns: int | None = None
    page: int = 0
    series: int | None = None


@dataclass(frozen=True)
class SheetBand:
    """One band shown: its 1-based number in the image, its name ('' when it has none) and its
    centre wavelength in nanometres (None when unknown)."""

    number: int
    name: str
    wavelength: float | None


@dataclass(frozen=True)
class SheetLayout:
    """Where everything goes on a sheet (see the module docstring); sizes in pixels. The
    thumbnails are every `step`-th row and column of the image (`level` 0) or of its
    `level`-th TIFF overview."""

    bands: tuple[SheetBand, ...]
    level: int
    step: int
    thumb_height: int
    thumb_width: int
    size: int
    columns: int
    lines: int

    @property
    def rows(self) -> int:
        return -(-len(self.bands) // self.columns)

    @property
    def font(self) -> int:
        return font_size(self.size)

    @property
    def cell_height(self) -> int:
        return self.size + LABEL_GAP + self.lines * line_height(self.font)

    @property
    def width(self) -> int:
        return self.columns * self.size + (self.columns + 1) * GAP

    @property
    def height(self) -> int:
        return self.rows * self.cell_height + (self.rows + 1) * GAP

    def cell(self, index: int) -> tuple[int, int]:
        """(x, y) of the top left corner of the `index`-th band's cell."""
        row, column = divmod(index, self.columns)
        return GAP + column * (self.size + GAP), GAP + row * (self.cell_height + GAP)

    def thumbnail_origin(self, index: int) -> tuple[int, int]:
        """(x, y) of the top left pixel of the `index`-th band's thumbnail."""
        x, y = self.cell(index)
        return x + (self.size - self.thumb_width) // 2, y + self.size - self.thumb_height


def plan_sheet(
    info: RasterInfo, options: SheetOptions, overviews: Sequence[tuple[int, int]] = ()
) -> SheetLayout:
    """Lay out the sheet of the image `info` describes, whose TIFF overviews are `overviews`
    (``(height, width)`` of each, largest first: :func:`~chanmix.io.tiff_overview.overview_shapes`),
    before reading any pixel.

    Raises
    ------
    UsageError
        For --bands the image does not have.
    """
    chosen = select_bands(options.bands, info)
    channels, _ = band_selection(info.bands, info.alpha, chosen, "mix", info.path)
    names = info.band_names or ("",) * info.bands
    wavelengths = info.wavelengths or (math.nan,) * info.bands
    bands = tuple(
        SheetBand(c + 1, names[c], None if math.isnan(wavelengths[c]) else wavelengths[c]) for c in channels
    )
    level, step, thumb_height, thumb_width = thumbnail_source(
        info.height, info.width, options.size, overviews
    )
    return SheetLayout(
        bands=bands,
        level=level,
        step=step,
        thumb_height=thumb_height,
        thumb_width=thumb_width,
        size=options.size,
        columns=min(options.columns or math.ceil(math.sqrt(len(bands))), len(bands)),
        lines=2 if any(b.wavelength is not None for b in bands) else 1,
    )


def label_lines(band: SheetBand, lines: int) -> list[str]:
    """The text of a band's label, `lines` lines (see the module docstring)."""
    first = f"{band.number}: {band.name}" if band.name else f"band {band.number}"
    if lines == 1:
        return [first]
    return [first, "" if band.wavelength is None else f"{band.wavelength:g}nm"]


def draw_sheet(
    reader: BlockReader,
    layout: SheetLayout,
    options: SheetOptions,
    source: str | os.PathLike | Sequence[str | os.PathLike],
) -> np.ndarray:
    """The contact sheet of `reader`'s image as `layout` places it; an overview (``layout.level``
    above 0) is read from `source`, the file (or files, as one image) that `reader` reads.

    Returns
    -------
    (layout.height, layout.width, 3) uint8 ndarray
        RGB.

    Raises
    ------
    BudgetError
        When the thumbnails and the sheet would take more than the memory budget.
    DataError
        As the reader's ``read_rows``.
    """
    info = reader.info
    n = len(layout.bands)
    thumb_pixels = layout.thumb_height * layout.thumb_width
    check_whole(
        info.path,
        f"drawing a {layout.width} x {layout.height} sheet of {n} thumbnails",
        thumb_pixels * (n * info.dtype.itemsize + 4 * 8) + layout.width * layout.height * 3 * 3,
    )
    channels = [b.number - 1 for b in layout.bands]
    if layout.level:
        overview = read_overview(source, layout.level, page=options.page, series=options.series)
        samples = overview[:: layout.step, :: layout.step][:, :, channels]
        del overview
    else:
        samples = read_decimated(reader, channels, layout.step)
    nodata = effective_nodata(options.nodata, info)
    canvas = np.empty((layout.height, layout.width, 3), np.uint8)
    canvas[:] = BACKGROUND
    for index, band in enumerate(layout.bands):
        values = samples[:, :, index]
        valid = valid_samples(values, band_nodata(nodata, band.number - 1))
        grey, _ = stretch(values, valid, options.percentiles)
        x, y = layout.thumbnail_origin(index)
        canvas[y : y + layout.thumb_height, x : x + layout.thumb_width] = np.where(
            valid[:, :, np.newaxis], grey[:, :, np.newaxis], np.array(NODATA_RGB, np.uint8)
        )
    del samples
    image = Image.fromarray(canvas)
    del canvas
    _draw_labels(image, layout)
    return np.asarray(image)


def _draw_labels(image: Image.Image, layout: SheetLayout) -> None:
    """Draw every band's label under its thumbnail."""
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(layout.font)
    step = line_height(layout.font)
    indent = (layout.size - layout.thumb_width) // 2
    for index, band in enumerate(layout.bands):
        x, y = layout.cell(index)
        for line, text in enumerate(label_lines(band, layout.lines)):
            if text:
                fitted = _fitted(text, font, layout.size - indent)
                draw.text((x + indent, y + layout.size + LABEL_GAP + line * step), fitted, TEXT, font)


def _fitted(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    """`text`, cut and ended with an ellipsis when it is wider than `width` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "\u2026") > width:
        text = text[:-1]
    return text + "\u2026"
