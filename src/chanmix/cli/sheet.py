"""``chanmix sheet``: a contact sheet of every band, as one picture."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..io import check_output, open_image, output_format, write_raster
from ..io.folders import output_folders
from ..io.guard import check_run_files
from ..io.tiff_overview import overview_shapes
from ..sheet import SheetOptions, draw_sheet, plan_sheet
from . import groups
from . import options as opt

#: The formats a sheet is written in: pictures that any viewer shows.
SHEET_FORMATS = ("png", "jpeg", "tiff")


def _ordinal(step: int) -> str:
    return "every row and column" if step == 1 else f"1 in {step} rows and columns"


@click.command("sheet")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o", "--output", required=True, metavar="SHEET.png", help="The sheet: .png, .jpg or .tif (RGB, 8 bits)."
)
@groups.sheet_opts
@opt.max_memory_opt
@opt.quiet_opt
@groups.collect(options=groups.sheet_options)
def sheet_cmd(inputs: tuple[str, ...], output: str, stack: bool, quiet: bool, options: SheetOptions) -> None:
    """A contact sheet: every band of an image as a grey thumbnail, in a grid, labelled.

    Each thumbnail shows every k-th row and column of its band (k = ceil(longest side /
    --size)), read a row at a time, so an image of any size takes the memory of its
    thumbnails. Each band is stretched on its own: its --percentiles (2 and 98 % by default)
    of those samples map to black and white. Nodata samples (the file's nodata, or --nodata;
    NaN and infinities too) are left out of the stretch and drawn slate grey-blue.
    Labels give each band's number and name, and its centre wavelength when the file records
    one (ENVI headers, GDAL metadata). --bands chooses the bands and their order.

    \b
    Examples:
      chanmix sheet sample_images/hyperspectral/cube.hdr --size 96 --columns 8 -o cube-sheet.png
      chanmix sheet --stack sample_images/landsat/l8_B*.tif -o landsat-sheet.png
      chanmix sheet sample_images/multispectral.tif --bands 7,4,3 --percentiles 1,99 -o sheet.jpg
    """
    if len(inputs) > 1 and not stack:
        raise click.UsageError(
            f"a sheet shows one image, not {len(inputs)}: give one INPUT, or --stack to take the "
            "INPUTs as the bands of one image"
        )
    fmt = output_format(output)
    if fmt not in SHEET_FORMATS:
        raise UsageError(f"{output}: a sheet is a picture; write a .png, .jpg or .tif")
    check_run_files([("INPUT", path) for path in inputs], [("-o", output)])
    source = inputs if stack else inputs[0]
    with open_image(source, page=options.page, series=options.series) as reader:
        overviews = overview_shapes(source, page=options.page, series=options.series)
        layout = plan_sheet(reader.info, options, overviews)
        check_output(output, channels=3, dtype="uint8", height=layout.height, width=layout.width)
        pixels = draw_sheet(reader, layout, options, source)
        shown = reader.info.path
    with output_folders([output]):  # its folder made when missing, removed if the write fails
        write_raster(output, pixels)
    if not quiet:
        n = len(layout.bands)
        click.echo(
            f"{output}: {n} band{'s' * (n != 1)} of {shown}, {layout.columns} x {layout.rows} "
            f"thumbnails of {layout.thumb_width} x {layout.thumb_height} ({_ordinal(layout.step)}"
            f"{f' of overview {layout.level}' if layout.level else ''})",
            err=True,
        )
