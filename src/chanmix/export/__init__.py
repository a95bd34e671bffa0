"""A mix written in other tools' syntax: one function per tool, returning text or bytes.

==============  ==========================================================  =================
``--to``        what                                                        function
==============  ==========================================================  =================
gdal-vrt        a GDAL VRTProcessedDataset (BandAffineCombination, GDAL     :func:`gdal_vrt`
                >= 3.9) over one image, in its raw units, float32 output
imagemagick     the argument of ImageMagick's ``-color-matrix``             :func:`imagemagick_color_matrix`
ffmpeg          ffmpeg's ``colorchannelmixer=`` filter                      :func:`ffmpeg_colorchannelmixer`
vips            a libvips matrix file for ``vips recomb``                   :func:`vips_matrix`
torch           a PyTorch Conv2d 1x1 state_dict as .npz or .safetensors     :func:`torch_state_dict`
==============  ==========================================================  =================

Each takes one :class:`~chanmix.mix.Mix` (layers with an activation between them cannot be
written as one matrix: collapse linear ones first, :func:`chanmix.layers.single_mix`) and
raises :class:`~chanmix.errors.UsageError` naming ``to`` when the tool cannot express the mix
(a bias where the tool has no offset, a channel count it does not handle).
"""

from __future__ import annotations

from .ffmpeg import ffmpeg_colorchannelmixer
from .gdal import gdal_vrt
from .imagemagick import imagemagick_color_matrix
from .torch import TORCH_EXTENSIONS, torch_state_dict
from .vips import vips_matrix

__all__ = [
    "EXPORT_FORMATS",
    "TORCH_EXTENSIONS",
    "ffmpeg_colorchannelmixer",
    "gdal_vrt",
    "imagemagick_color_matrix",
    "torch_state_dict",
    "vips_matrix",
]

#: The ``--to`` names of ``chanmix matrix export``, in the order its help lists them.
EXPORT_FORMATS = ("gdal-vrt", "imagemagick", "ffmpeg", "vips", "torch")
