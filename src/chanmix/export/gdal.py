"""GDAL virtual rasters: a VRTProcessedDataset whose BandAffineCombination step mixes the
bands of one image (GDAL 3.9 or newer).

GDAL computes ``coefficients_k`` = "constant, w_1, ..., w_N" on the image's raw samples. chanmix's
weights act on normalized units (integer samples divided by their type's maximum, float
samples as they are), so each weight is divided by that maximum, and the bias is the constant
as it is: GDAL then computes chanmix's float32 output, in normalized units. A pixel with nodata
in any band is nodata in every output band, in GDAL as in chanmix, and holds the value chanmix
writes there (the input's nodata as float32, NaN when float32 cannot hold it). GDAL takes no NaN
in the step's nodata arguments: a NaN is left out, and GDAL's defaults, the input's nodata and
NaN, are the same values.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from numpy.typing import DTypeLike

from ..blockmix import output_nodata
from ..dtypes import dtype_max
from ..errors import UsageError
from ..mix import Mix
from .numbers import decimal

__all__ = ["gdal_vrt"]


def _nodata_text(value: float) -> str:
    """A band's NoDataValue, where GDAL reads NaN as ``nan``."""
    return "nan" if math.isnan(value) else decimal(value)


def gdal_vrt(
    mix: Mix,
    source: str,
    *,
    bands: int,
    dtype: DTypeLike,
    nodata: float | None = None,
    alpha: int | None = None,
    relative_to_vrt: bool = False,
) -> str:
    """The XML of a VRT that GDAL computes to chanmix's ``apply --dtype float32`` output.

    Parameters
    ----------
    mix : Mix
        M x N, in normalized units.
    source : str
        The image the VRT reads, as the VRT names it: relative to the VRT's folder when
        `relative_to_vrt`, else as GDAL opens it from anywhere (an absolute path).
    bands : int
        The image's band count: N, or N + 1 with `alpha`.
    dtype : numpy dtype
        The image's sample type: it sets the raw units of the weights.
    nodata : float, optional
        The image's nodata value (NaN allowed); None when it has none.
    alpha : int, optional
        0-based index of the image's alpha band, if it has one: the mix reads the other bands
        in order, and the alpha band is passed through, normalized, as the last output band
        (as ``apply``'s default ``--alpha keep`` does).
    relative_to_vrt : bool
        Whether `source` is relative to the VRT's folder.

    Returns
    -------
    str
        The VRT: M Float32 bands (M + 1 with `alpha`), named after the mix's outputs when
        it names them.

    Raises
    ------
    UsageError
        Naming ``to``, when the image does not have N bands besides its alpha band, or has
        both an alpha band and nodata (GDAL would take alpha 0 for nodata when nodata is 0,
        where chanmix looks for nodata in the other bands only).
    """
    colour = [b for b in range(bands) if b != alpha]
    if len(colour) != mix.n_inputs:
        besides = " besides its alpha band" if alpha is not None else ""
        raise UsageError(
            f"to gdal-vrt: the VRT mixes every band of the image, which has {len(colour)} "
            f"band{'s' * (len(colour) != 1)}{besides}, and the mix reads {mix.n_inputs}",
            parameter="to",
        )
    if alpha is not None and nodata is not None:
        raise UsageError(
            "to gdal-vrt: GDAL tests every band for nodata, the alpha band too, and chanmix only "
            "the others: an image with both an alpha band and nodata cannot be mixed alike",
            parameter="to",
        )
    weights = np.zeros((mix.n_outputs + (alpha is not None), bands))
    weights[: mix.n_outputs, colour] = mix.weights
    if alpha is not None:
        weights[-1, alpha] = 1.0
    biases = [*mix.bias, *([0.0] if alpha is not None else [])]
    scale = dtype_max(dtype)
    arguments = [
        (f"coefficients_{k}", ",".join(decimal(v) for v in (bias, *(row / scale))))
        for k, (row, bias) in enumerate(zip(weights, biases), 1)
    ]
    fill: float | None = None
    if nodata is not None:
        fill = output_nodata(nodata, np.float32)
        # GDAL refuses NaN in these arguments; left out, they are the input's nodata and NaN
        given = (("src_nodata", nodata), ("dst_nodata", fill))
        arguments += [(key, decimal(value)) for key, value in given if not math.isnan(value)]
    names = [*(mix.names or ("",) * mix.n_outputs), *(["alpha"] if alpha is not None else [])]
    band_lines = []
    for k, name in enumerate(names, 1):
        inner = [f"    <Description>{escape(name)}</Description>"] if name else []
        if alpha is not None and k == len(names):
            inner.append("    <ColorInterp>Alpha</ColorInterp>")
        if fill is not None:
            inner.append(f"    <NoDataValue>{_nodata_text(fill)}</NoDataValue>")
        open_tag = f'  <VRTRasterBand dataType="Float32" band="{k}" subClass="VRTProcessedRasterBand"'
        band_lines += [open_tag + ">", *inner, "  </VRTRasterBand>"] if inner else [open_tag + "/>"]
    relative = ' relativeToVRT="1"' if relative_to_vrt else ""
    lines = [
        '<VRTDataset subClass="VRTProcessedDataset">',
        '  <Input unscale="NO">',
        f"    <SourceFilename{relative}>{escape(source)}</SourceFilename>",
        "  </Input>",
        "  <ProcessingSteps>",
        '    <Step name="chanmix">',
        "      <Algorithm>BandAffineCombination</Algorithm>",
        *(f"      <Argument name={quoteattr(key)}>{value}</Argument>" for key, value in arguments),
        "    </Step>",
        "  </ProcessingSteps>",
        *band_lines,
        "</VRTDataset>",
    ]
    return "\n".join(lines) + "\n"
