"""The fixed vocabularies of chanmix's options, light enough for the command line to load
without NumPy (``chanmix --help`` starts fast)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALPHA_MODES",
    "CALIBRATION_QUANTITIES",
    "OUTPUT_DTYPES",
    "PRESERVE_MODES",
    "PRODUCTS",
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

#: How a fit forms its pixels' centred products (:mod:`chanmix.fit.moments`), the default first:
#:
#: - "auto": float32 products for float32 (and float16) samples, float64 for the others -- the
#:   precision the data is given in, as scikit-learn computes in float32 on float32 arrays and
#:   in float64 on integer ones.
#: - "float32": float32 products for 8/16-bit integers too. Chunks are shifted by their
#:   approximate mean and multiplied by BLAS ``ssyrk``, at scikit-learn's float32 speed. A
#:   chunk's relative error is below about 4e-6 (adversarial data: full-range uint16, mean 0.9
#:   with spreads down to 5e-4), and the chunks' errors average down: 1e-8 to 1e-7 over 10^5 to
#:   10^7 pixels (bench/README.md). Components move by that error over their eigenvalue's gap
#:   to the others, so components of small, close eigenvalues (the noise) can move far more.
#:   Where chunks start moves the rounding: two cuts of an image into blocks agree to that
#:   level, not to the last bit; the same blocks merged in the same order give the same bits.
#: - "float64": BLAS ``dsyrk`` on float64 copies: 1e-14, and any block cut agrees to 1e-12;
#:   about twice the time of float32.
#:
#: Chunks merge in float64 either way; float64 and wider integer data always take the float64 path.
PRODUCTS = ("auto", "float32", "float64")


@dataclass(frozen=True)
class NodataChoice:
    """A nodata value given on the command line; ``value`` None means "no nodata at all"."""

    value: float | None
