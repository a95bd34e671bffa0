"""``chanmix matrix export``: a mix written for another tool (GDAL, ImageMagick, ffmpeg, libvips,
PyTorch), by the writers of :mod:`chanmix.export`."""

from __future__ import annotations

import os
from collections.abc import Callable

import click

from ..errors import DataError, UsageError
from ..export import (
    EXPORT_FORMATS,
    TORCH_EXTENSIONS,
    ffmpeg_colorchannelmixer,
    gdal_vrt,
    imagemagick_color_matrix,
    torch_state_dict,
    vips_matrix,
)
from ..io import RasterInfo, atomic_output, open_raster
from ..io.envi_files import data_beside, is_header_name
from ..io.folders import output_folders
from ..io.guard import check_run_files
from ..layers import single_mix
from ..matrixfiles import is_preset, resolve_matrix
from ..mix import Mix
from .options import activation_opt, inputs_opt


@click.command("export")
@click.argument("path", metavar="MATRIX")
@click.option(
    "--to", "target", type=click.Choice(EXPORT_FORMATS), required=True, help="The tool to write the mix for."
)
@click.option(
    "--input",
    "image",
    metavar="IMAGE",
    help="The image the mix is for: the VRT's source (required for gdal-vrt); its band count tells "
    "a bias column in text or .npy matrices.",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Where to write (default, or -, stdout; torch needs .npz or .safetensors).",
)
@inputs_opt
@activation_opt
def export_cmd(
    path: str, target: str, image: str | None, output: str | None, n_inputs: int | None, activation: str
) -> None:
    """Write MATRIX in another tool's terms, to apply it there.

    \b
    gdal-vrt     a GDAL VRT (GDAL >= 3.9, VRTProcessedDataset with BandAffineCombination)
                 over --input, computing chanmix's --dtype float32 output: weights in the
                 input's raw units, nodata carried, an alpha band passed
                 through last, Float32 bands
    imagemagick  the argument of convert's -color-matrix (3x3 or 4x4 RGB(A) mixes; a bias
                 goes into the offset column of the 6x6 form)
    ffmpeg       the colorchannelmixer= filter (3x3 or 4x4, weights in [-2, 2], no bias)
    vips         a matrix file for vips recomb (any size, no bias)
    torch        a Conv2d 1x1 state_dict, weight (M, N, 1, 1) and bias (M), float64,
                 as .npz or .safetensors (-o's extension chooses)

    Text goes to stdout without -o; the VRT then names its source by its absolute path, and
    relative to the VRT with -o. Layers kept apart by a ReLU cannot be written as one matrix
    (exit 2); linear layers are composed first. A mix the tool cannot express is refused
    (exit 2), saying why.

    \b
    Examples:
      chanmix matrix export preset:landsat8-tasseled-cap --to gdal-vrt \\
          --input sample_images/landsat/l8_stack.tif -o tasseled-cap.vrt
      convert-im6.q16 sample_images/astronaut.png \\
          -color-matrix "$(chanmix matrix export preset:sepia --to imagemagick)" PNG24:sepia.png
      ffmpeg -i sample_images/astronaut.png \\
          -vf "$(chanmix matrix export preset:sepia --to ffmpeg)" sepia.png
      chanmix matrix export preset:sepia --to vips -o sepia.mat
      chanmix matrix export preset:sepia --to torch -o sepia.npz
    """
    output = None if output == "-" else output  # "-o -": stdout, as without -o
    reads = ([] if is_preset(path) else [("MATRIX", path)]) + ([("--input", image)] if image else [])
    check_run_files(reads, [("-o", output)] if output else [])
    if target == "gdal-vrt" and image is None:
        raise UsageError("--to gdal-vrt needs --input IMAGE, the image the VRT reads")
    extension = os.path.splitext(output or "")[1].lower()
    if target == "torch" and extension not in TORCH_EXTENSIONS:
        raise UsageError(f"--to torch writes a binary file: give -o FILE{' or FILE'.join(TORCH_EXTENSIONS)}")
    if image is not None and n_inputs is not None:
        raise UsageError("--inputs: --input tells how many channels the matrix reads; give one of them")
    info = None
    if image is not None:
        with open_raster(image) as reader:
            info = reader.info
        n_inputs = info.bands - (info.alpha is not None)
    mix = single_mix(resolve_matrix(path, activation=activation).mix_for(n_inputs), "export")
    if target == "torch" and output is not None:
        _write(output, torch_state_dict(mix, extension))
        return
    if image is not None and info is not None and target == "gdal-vrt":
        text = _vrt(mix, image, info, output)
    else:
        text = _TEXT_WRITERS[target](mix)
    if output is None:
        click.echo(text, nl=False)
    else:
        _write(output, text.encode("utf-8"))


#: The writers of the formats that are one line of text, to print or to write in a file.
_TEXT_WRITERS: dict[str, Callable[[Mix], str]] = {
    "imagemagick": lambda mix: imagemagick_color_matrix(mix) + "\n",
    "ffmpeg": lambda mix: ffmpeg_colorchannelmixer(mix) + "\n",
    "vips": vips_matrix,
}


def _vrt(mix: Mix, image: str, info: RasterInfo, output: str | None) -> str:
    """The VRT of `mix` over `image`, naming it relative to `output`'s folder (absolute when
    the VRT goes to stdout)."""
    if info.format in ("NPY", "ZARR"):
        raise UsageError(
            f"--input: GDAL does not read {image} ({info.format}) as chanmix does; "
            "give a TIFF, PNG, JPEG or ENVI image"
        )
    source = os.path.abspath((data_beside(image) or image) if is_header_name(image) else image)
    relative = output is not None
    if output is not None:
        source = os.path.relpath(source, os.path.dirname(os.path.abspath(output)))
    return gdal_vrt(
        mix,
        source,
        bands=info.bands,
        dtype=info.dtype,
        nodata=info.nodata,
        alpha=info.alpha,
        relative_to_vrt=relative,
    )


def _write(path: str, data: bytes) -> None:
    """`data` written to `path` atomically (a temporary file beside it, then renamed), in its
    folder, made when missing."""
    try:
        with output_folders([path]), atomic_output(path) as file:
            file.write(data)
    except OSError as exc:
        raise DataError(f"{path}: cannot write ({exc.strerror or exc})") from exc
