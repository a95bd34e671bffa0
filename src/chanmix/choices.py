"""The fixed vocabularies of chanmix's options, light enough for the command line to load
without NumPy (``chanmix --help`` starts fast)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALPHA_MODES",
    "CALIBRATION_QUANTITIES",
    "OUTPUT_DTYPES",
    "PRESERVE_MODES",
    "RESCALE_MODES",
    "NodataChoice",
]

#: The sample types chanmix writes (and mixes natively).
OUTPUT_DTYPES: tuple[str, ...] = ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")

#: What happens to an alpha channel: passed through and kept last, dropped, or mixed.
ALPHA_MODES = ("keep", "drop", "mix")

#: How mixed values are brought into the output range (see :class:`chanmix.rescale.Rescale`).
RESCALE_MODES = ("clip", "minmax", "percentile")

#: The measure of a pixel's colour a 3 -> 3 mix may keep, as ffmpeg's colorchannelmixer ``pc``
#: names them (see :mod:`chanmix.preserve`); ``none`` keeps none.
PRESERVE_MODES = ("none", "lum", "max", "avg", "sum", "nrm", "pwr")

#: What a calibration turns DN into: top-of-atmosphere (or, at level 2, surface) reflectance,
#: or at-sensor spectral radiance (see :mod:`chanmix.calibration`).
CALIBRATION_QUANTITIES = ("reflectance", "radiance")


@dataclass(frozen=True)
class NodataChoice:
    """A nodata value given on the command line; ``value`` None means "no nodata at all"."""

    value: float | None
