"""libvips matrix files, for ``vips recomb``.

A matrix file is text: ``WIDTH HEIGHT``, then HEIGHT rows of WIDTH numbers. ``recomb`` makes
output band m as row m's weighted sum of the input bands, in float, with no offset. Load it with
``pyvips.Image.matrixload(path)`` and pass it to ``image.recomb(matrix)``.
"""

from __future__ import annotations

from ..mix import Mix
from .numbers import decimal, refuse_bias

__all__ = ["vips_matrix"]


def vips_matrix(mix: Mix) -> str:
    """The libvips matrix file of a bias-free mix: ``N M`` on the first line, then the M rows
    of N weights.

    Raises
    ------
    UsageError
        Naming ``to``, when the mix has a bias (``recomb`` has no offset).
    """
    refuse_bias(mix, "vips", "recomb has no offset")
    rows = (" ".join(decimal(w) for w in row) for row in mix.weights)
    return f"{mix.n_inputs} {mix.n_outputs}\n" + "\n".join(rows) + "\n"
