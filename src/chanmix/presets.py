"""Named channel mixes with published coefficients: the preset table behind ``-p/--preset``.

Every preset is one row of a table (:data:`PRESETS`), not a code path: a :class:`Preset` holds
the :class:`~chanmix.mix.Mix` (``W`` is ``(M, N)`` "out from in", ``out = W @ in + b``), the
names of the N input channels it expects, a one-line description, the exact citation its
numbers come from, and ``linear_light``, which says whether the source defines the matrix on
linear light (use ``chanmix apply --linear`` on sRGB-encoded images) or on the encoded
(gamma-corrected) values. Biases are in chanmix's normalized units, so JFIF's chroma offset of
128 on 8-bit samples is stored as ``128/255``.

Rules the table follows:

- Each published constant is written once. The BT.601 luma weights are typed once and reused
  by ``gray-rec601``, ``ycbcr-bt601`` and ``yiq``; the chroma rows are *derived* from them
  the way the standards define them; the BT.709 luma weights are also the Y row of the
  IEC 61966-2-1 XYZ matrix.
- Inverses are computed with :meth:`Mix.inverse`, never typed. A forward preset is named after
  what it writes from the channels listed in its ``inputs`` (``ycbcr-bt601`` reads R'G'B' and
  writes Y'CbCr); its inverse is named ``<inputs>-from-<forward name>``
  (``rgb-from-ycbcr-bt601``), reads the forward preset's outputs and cites the same source.
  Self-inverse presets (``invert``, ``swap-rb``) have no separate inverse.
- Order of :data:`PRESETS` is the display order of ``chanmix presets``.

Notes
-----
Some outputs leave [0, 1]: I and Q of ``yiq`` are signed, tasseled-cap greenness and wetness
are signed and brightness exceeds 1, ``xyz-d65`` Z reaches 1.089. Write them as float
(``--dtype float32``) or they saturate. The JFIF chroma offset is defined for 8-bit samples;
on 16-bit data ``128/255`` becomes 32896.5, not 32768. The tasseled cap expects top-of-
atmosphere reflectance (0-1, float): integer Landsat DNs divided by their dtype maximum are not
reflectance; compose it after the calibration :mod:`chanmix.calibration` makes from the
scene's MTL file (``-m cal.json -m preset:landsat8-tasseled-cap``).

References
----------
.. [1] ITU-R BT.601-7 (03/2011), Studio encoding parameters of digital television.
.. [2] ITU-R BT.709-6 (06/2015), Parameter values for the HDTV standards.
.. [3] ITU-R BT.2020-2 (10/2015), Parameter values for UHDTV systems.
.. [4] ITU-T T.871 (05/2011) | JFIF 1.02 (1992), JPEG File Interchange Format.
.. [5] SMPTE 170M-2004, Composite Analog Video Signal -- NTSC for Studio Applications, Annex A.
.. [6] IEC 61966-2-1:1999, Default RGB colour space -- sRGB.
.. [7] W3C, Filter Effects Module Level 1, Working Draft 18 December 2018, ``sepia()``.
.. [8] G. M. Machado, M. M. Oliveira, L. A. F. Fernandes, "A Physiologically-based Model for
   Simulation of Color Vision Deficiency", IEEE TVCG 15(6):1291-1298, 2009.
.. [9] M. H. A. Baig, L. Zhang, T. Shuai, Q. Tong, "Derivation of a tasselled cap
   transformation based on Landsat 8 at-satellite reflectance", Remote Sensing Letters
   5(5):423-431, 2014, doi:10.1080/2150704X.2014.915434.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .errors import MatrixError, UsageError

if TYPE_CHECKING:
    from .mix import Mix

__all__ = ["PRESETS", "Preset", "get_preset"]

_RGB = ("R", "G", "B")

# --- Published constants, each written once -------------------------------------------------

_LUMA_BT601 = (0.299, 0.587, 0.114)  # [1] BT.601-7 Y' = 0.299 R' + 0.587 G' + 0.114 B'
_LUMA_BT709 = (0.2126, 0.7152, 0.0722)  # [2] BT.709-6 item 3.2
_LUMA_BT2020 = (0.2627, 0.6780, 0.0593)  # [3] BT.2020-2, non-constant-luminance Y'
_JFIF_CHROMA_OFFSET = 128 / 255  # [4] +128 on 8-bit Cb and Cr, in normalized units
_NTSC_U_SCALE, _NTSC_V_SCALE = 0.492111, 0.877283  # [5] U = 0.492111 (B'-Y'), V = 0.877283 (R'-Y')
_NTSC_IQ_ROTATION_DEG = 33.0  # [5] I, Q axes are U, V rotated by 33 degrees

# [6] linear sRGB -> XYZ as printed (4 decimals); its Y row is the BT.709 luma row.
_XYZ_X_ROW = (0.4124, 0.3576, 0.1805)
_XYZ_Z_ROW = (0.0193, 0.1192, 0.9505)

_SEPIA = ((0.393, 0.769, 0.189), (0.349, 0.686, 0.168), (0.272, 0.534, 0.131))  # [7] amount 1

# [8] severity 1.0, from the authors' precomputed table (linear RGB).
_MACHADO_PROTANOPIA = (
    (0.152286, 1.052583, -0.204868),
    (0.114503, 0.786281, 0.099216),
    (-0.003882, -0.048116, 1.051998),
)
_MACHADO_DEUTERANOPIA = (
    (0.367322, 0.860646, -0.227968),
    (0.280085, 0.672501, 0.047413),
    (-0.011820, 0.042940, 0.968881),
)
_MACHADO_TRITANOPIA = (
    (1.255528, -0.076749, -0.178779),
    (-0.078411, 0.930809, 0.147602),
    (0.004733, 0.691367, 0.303900),
)

# [9] rows: brightness, greenness, wetness, TCT4-6; columns: OLI bands 2-7.
_TASSELED_CAP_OLI = (
    (0.3029, 0.2786, 0.4733, 0.5599, 0.5080, 0.1872),
    (-0.2941, -0.2430, -0.5424, 0.7276, 0.0713, -0.1608),
    (0.1511, 0.1973, 0.3283, 0.3407, -0.7117, -0.4559),
    (-0.8239, 0.0849, 0.4396, -0.0580, 0.2013, -0.2773),
    (-0.3294, 0.0557, 0.1056, 0.1855, -0.4349, 0.8085),
    (0.1079, -0.9023, 0.4119, 0.0575, -0.0259, 0.0252),
)
_OLI_BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")  # OLI bands 2, 3, 4, 5, 6, 7

_MACHADO_SOURCE = (
    "Machado, Oliveira & Fernandes (2009), 'A Physiologically-based Model for Simulation of "
    "Color Vision Deficiency', IEEE TVCG 15(6):1291-1298, doi:10.1109/TVCG.2009.113; "
    "severity 1.0 matrix of the authors' precomputed table "
    "(https://www.inf.ufrgs.br/~oliveira/pubs_files/CVD_Simulation/CVD_Simulation.html), "
    "as transcribed in "
    "colour-science/colour colour/blindness/datasets/machado2010.py "
    "(CVD_MATRICES_MACHADO2010['{}'][1.0])"
)


#: What a preset's numbers are made from: a (weights (M, N), bias (M,) or None) pair, or a
#: function returning one (for matrices computed from the constants: run on first use, so that
#: listing the presets needs no NumPy).
Numbers = tuple[Any, Any] | Callable[[], tuple[Any, Any]]


@dataclass(frozen=True)
class Preset:
    """One row of the preset table.

    Parameters
    ----------
    name : str
        The name given to ``-p/--preset``.
    description : str
        One line: what the preset is for.
    source : str
        Exact citation of the numbers: document and revision, or reference implementation
        and file.
    inputs : tuple of N str
        Names of the input channels, in the order the weights expect them.
    outputs : tuple of M str
        Names of the output channels.
    numbers : (weights, bias) or a function returning them
        The ``(M, N)`` weights and ``(M,)`` bias (None for none), in normalized units.
    linear_light : bool
        True when the source defines the matrix on linear light, so sRGB-encoded images should
        be mixed with ``--linear``; False when it applies to the stored (encoded) values.
    """

    name: str
    description: str
    source: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    numbers: Numbers = field(repr=False, compare=False)
    linear_light: bool = False

    @cached_property
    def mix(self) -> Mix:
        """The ``(M, N)`` mix, with the output channel names and provenance ``{"name", "source"}``.

        Raises
        ------
        MatrixError
            When the numbers do not have the shape the input and output names give.
        """
        from .mix import Mix

        weights, bias = self.numbers() if callable(self.numbers) else self.numbers
        provenance = {"name": self.name, "source": self.source}
        mix = Mix(weights, bias, names=self.outputs, provenance=provenance)
        if mix.n_inputs != len(self.inputs):
            raise MatrixError(
                f"preset {self.name!r}: {len(self.inputs)} input names for {mix.n_inputs} inputs"
            )
        return mix


# --- Small helpers that turn the constants into matrices --------------------------------------


def _preset(
    name: str,
    weights: Sequence[Sequence[float]] | Callable[[], Any],
    *,
    outputs: Sequence[str],
    description: str,
    source: str,
    inputs: Sequence[str] = _RGB,
    bias: Sequence[float] | None = None,
    linear_light: bool = False,
) -> Preset:
    numbers: Numbers = (lambda: (weights(), bias)) if callable(weights) else (weights, bias)
    return Preset(name, description, source, tuple(inputs), tuple(outputs), numbers, linear_light)


def _inverse(forward: Preset, description: str) -> Preset:
    """The preset undoing ``forward``, named ``<inputs>-from-<forward name>``, computed."""
    name = f"{''.join(forward.inputs).lower()}-from-{forward.name}"
    source = f"inverse of '{forward.name}' (computed): {forward.source}"

    def numbers() -> tuple[Any, Any]:
        inverse = forward.mix.inverse()
        return inverse.weights, inverse.bias

    return Preset(name, description, source, forward.outputs, forward.inputs, numbers, forward.linear_light)


def _color_differences(luma: Sequence[float]) -> tuple[Any, Any]:
    """The rows of B' - Y' and R' - Y' over (R', G', B') for the luma weights ``luma``."""
    import numpy as np

    y = np.asarray(luma, dtype=np.float64)
    return np.eye(3)[2] - y, np.eye(3)[0] - y


def _ycbcr_rows(luma: Sequence[float]) -> Any:
    """Full-range Y'CbCr: Cb = (B'-Y') / (2 (1-Kb)), Cr = (R'-Y') / (2 (1-Kr)), per [4]."""
    import numpy as np

    b_y, r_y = _color_differences(luma)
    return np.array([luma, b_y / (2 * (1 - luma[2])), r_y / (2 * (1 - luma[0]))])


def _yiq_rows(luma: Sequence[float]) -> Any:
    """NTSC Y'IQ: I = V cos 33 - U sin 33, Q = U cos 33 + V sin 33, per [5]."""
    import numpy as np

    b_y, r_y = _color_differences(luma)
    u, v = _NTSC_U_SCALE * b_y, _NTSC_V_SCALE * r_y
    cos, sin = np.cos(np.radians(_NTSC_IQ_ROTATION_DEG)), np.sin(np.radians(_NTSC_IQ_ROTATION_DEG))
    return np.array([luma, v * cos - u * sin, u * cos + v * sin])


def _by_name(presets: Iterable[Preset]) -> Mapping[str, Preset]:
    """A read-only, ordered name -> preset mapping; refuses duplicate names."""
    table: dict[str, Preset] = {}
    for preset in presets:
        if preset.name in table:
            raise ValueError(f"duplicate preset name {preset.name!r}")
        table[preset.name] = preset
    return MappingProxyType(table)


def _table() -> list[Preset]:
    ycbcr = _preset(
        "ycbcr-bt601",
        lambda: _ycbcr_rows(_LUMA_BT601),
        bias=(0.0, _JFIF_CHROMA_OFFSET, _JFIF_CHROMA_OFFSET),
        outputs=("Y", "Cb", "Cr"),
        description="Full-range JPEG/JFIF Y'CbCr, chroma centred on 128/255 (as Pillow 'YCbCr').",
        source="ITU-T T.871 (05/2011) | JFIF 1.02, clause 'Conversion to and from RGB' "
        "(8-bit: Cb = 128 + (B'-Y')/1.772, Cr = 128 + (R'-Y')/1.402), luma of ITU-R BT.601-7",
    )
    yiq = _preset(
        "yiq",
        lambda: _yiq_rows(_LUMA_BT601),
        outputs=("Y", "I", "Q"),
        description="NTSC Y'IQ: luma, orange-blue I and purple-green Q (signed: use float output).",
        source="SMPTE 170M-2004 Annex A (U = 0.492111 (B'-Y'), V = 0.877283 (R'-Y'), IQ = UV "
        "rotated 33 deg; refines the FCC 1953 rules, 47 CFR 73.682(a)(20)); "
        "equals scikit-image skimage/color/colorconv.py yiq_from_rgb",
    )
    xyz = _preset(
        "xyz-d65",
        (_XYZ_X_ROW, _LUMA_BT709, _XYZ_Z_ROW),
        outputs=("X", "Y", "Z"),
        linear_light=True,
        description="CIE 1931 XYZ (D65 white, Y = 1) from linear sRGB / BT.709 RGB.",
        source="IEC 61966-2-1:1999 (sRGB), linear RGB to XYZ matrix as printed (4 decimals)",
    )
    return [
        _preset(
            "gray-rec601",
            [_LUMA_BT601],
            outputs=("Y",),
            description="Luma Y' of SD video and JPEG (as Pillow convert('L')).",
            source="ITU-R BT.601-7 (03/2011), Y' = 0.299 R' + 0.587 G' + 0.114 B'",
        ),
        _preset(
            "gray-rec709",
            [_LUMA_BT709],
            outputs=("Y",),
            description="Luma Y' for HDTV/sRGB primaries; with --linear, relative luminance Y.",
            source="ITU-R BT.709-6 (06/2015), item 3.2, Y' = 0.2126 R' + 0.7152 G' + 0.0722 B'",
        ),
        _preset(
            "gray-rec2020",
            [_LUMA_BT2020],
            outputs=("Y",),
            description="Luma Y' for UHDTV/HDR wide-gamut BT.2020 R'G'B' (non-constant luminance).",
            source="ITU-R BT.2020-2 (10/2015), Y' = 0.2627 R' + 0.6780 G' + 0.0593 B'",
        ),
        _preset(
            "sepia",
            _SEPIA,
            outputs=_RGB,
            description="Classic warm-brown sepia tone (CSS sepia(1)); bright areas saturate.",
            source="W3C Filter Effects Module Level 1, WD 18 December 2018, sepia() with "
            "amount 1 (https://www.w3.org/TR/filter-effects-1/#funcdef-filter-sepia); same numbers "
            "in GEGL operations/common/sepia.c (scale 1)",
        ),
        _preset(
            "invert",
            ((-1.0, 0.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, -1.0)),
            bias=(1.0, 1.0, 1.0),
            outputs=_RGB,
            description="Negative image: out = 1 - in on every channel.",
            source="definition: out = max - in (W = -I, b = 1 in normalized units)",
        ),
        _preset(
            "swap-rb",
            ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0)),
            outputs=("B", "G", "R"),
            description="Swap the first and third channels (RGB <-> BGR, e.g. OpenCV order).",
            source="definition: permutation (R, G, B) -> (B, G, R)",
        ),
        ycbcr,
        _inverse(ycbcr, "R'G'B' from full-range JPEG/JFIF Y'CbCr (undoes ycbcr-bt601)."),
        yiq,
        _inverse(yiq, "R'G'B' from NTSC Y'IQ (undoes yiq)."),
        xyz,
        _inverse(xyz, "Linear sRGB / BT.709 RGB from CIE 1931 XYZ (D65) (undoes xyz-d65)."),
        _preset(
            "protanopia",
            _MACHADO_PROTANOPIA,
            outputs=_RGB,
            linear_light=True,
            description="Simulates protanopia (no L cones, red-blind), full severity.",
            source=_MACHADO_SOURCE.format("Protanomaly"),
        ),
        _preset(
            "deuteranopia",
            _MACHADO_DEUTERANOPIA,
            outputs=_RGB,
            linear_light=True,
            description="Simulates deuteranopia (no M cones, green-blind), full severity.",
            source=_MACHADO_SOURCE.format("Deuteranomaly"),
        ),
        _preset(
            "tritanopia",
            _MACHADO_TRITANOPIA,
            outputs=_RGB,
            linear_light=True,
            description="Simulates tritanopia (no S cones, blue-blind), full severity.",
            source=_MACHADO_SOURCE.format("Tritanomaly"),
        ),
        _preset(
            "landsat8-tasseled-cap",
            _TASSELED_CAP_OLI,
            inputs=_OLI_BANDS,
            outputs=("brightness", "greenness", "wetness", "tct4", "tct5", "tct6"),
            description="Tasseled cap brightness/greenness/wetness (+TCT4-6) from Landsat 8 OLI "
            "TOA reflectance, bands 2-7.",
            source="Baig, Zhang, Shuai & Tong (2014), 'Derivation of a tasselled cap "
            "transformation based on Landsat 8 at-satellite reflectance', Remote Sensing "
            "Letters 5(5):423-431, doi:10.1080/2150704X.2014.915434; cross-checked with "
            "OSGeo/grass scripts/i.tasscap/i.tasscap.py (landsat8_oli) and "
            "Applied-GeoSolutions/gips gips/data/landsat/landsat.py ('tcap')",
        ),
    ]


PRESETS: Mapping[str, Preset] = _by_name(_table())
"""Every preset by name, read-only, in display order."""


def get_preset(name: str) -> Preset:
    """Look a preset up by name.

    Parameters
    ----------
    name : str
        A key of :data:`PRESETS`, e.g. ``"sepia"``.

    Returns
    -------
    Preset

    Raises
    ------
    UsageError
        When no preset has that name; the message suggests the closest names.

    Examples
    --------
    >>> get_preset("gray-rec709").mix.weights.tolist()
    [[0.2126, 0.7152, 0.0722]]
    """
    try:
        return PRESETS[name]
    except KeyError:
        pass
    wanted = str(name)
    close = [n for n in PRESETS if wanted and n.startswith(wanted)][:3]
    import difflib  # only to suggest names after a typo

    close = close or difflib.get_close_matches(wanted, list(PRESETS), n=3, cutoff=0.6)
    quoted = [repr(c) for c in close]
    if len(quoted) > 1:
        quoted = [", ".join(quoted[:-1]), quoted[-1]]
    hint = f"; did you mean {' or '.join(quoted)}?" if quoted else ""
    raise UsageError(f"unknown preset {name!r}{hint} (see 'chanmix presets')")
