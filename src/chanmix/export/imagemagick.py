"""ImageMagick's ``-color-matrix`` argument.

ImageMagick lays the user's square matrix (1 x 1 to 6 x 6) over a 6 x 6 identity whose rows
and columns are R, G, B, K (black), A and the offset. Offsets count only in the 6 x 6 form,
in column 6, normalized to 0..1 (so chanmix's bias, in normalized units, is written as it
is); in a 4 x 4 or 5 x 5 matrix the last column is not an offset. Weights act on the samples
at any bit depth, as chanmix's do between images of one type.
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from ..mix import Mix
from .numbers import decimal

__all__ = ["imagemagick_color_matrix"]

#: Rows/columns of ImageMagick's 6 x 6 matrix that RGB and RGBA channels are: K (3) is skipped.
_PLACES = {3: [0, 1, 2], 4: [0, 1, 2, 4]}
_OFFSET = 5


def imagemagick_color_matrix(mix: Mix) -> str:
    """The ``-color-matrix`` argument of a 3 x 3 (RGB) or 4 x 4 (RGBA) mix: its numbers row
    by row, separated by spaces; 3 x 3 (RGB) or 5 x 5 (RGBA, K left alone) without a bias,
    6 x 6 with one (the bias in the offset column).

    Raises
    ------
    UsageError
        Naming ``to``: the mix is not 3 -> 3 or 4 -> 4.
    """
    m, n = mix.weights.shape
    if m != n or n not in _PLACES:
        raise UsageError(
            f"to imagemagick: the color matrix maps RGB or RGBA to as many channels (3 -> 3 or 4 -> 4), "
            f"and this mix is {n} -> {m}",
            parameter="to",
        )
    places = _PLACES[n]
    full = np.eye(6)
    full[np.ix_(places, places)] = mix.weights
    full[places, _OFFSET] = mix.bias
    size = 6 if mix.has_bias else places[-1] + 1
    return " ".join(decimal(v) for v in full[:size, :size].ravel())
