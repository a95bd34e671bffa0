"""Numbers as the tools read them: plain decimals that parse back to the same float64."""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from ..mix import Mix

__all__ = ["decimal", "refuse_bias"]


def decimal(value: float) -> str:
    """The shortest plain decimal (no exponent, no ``np.float64(...)``) that reads back as
    `value`: ``0.5``, ``-0.0039215686274509803``, ``2``."""
    return np.format_float_positional(float(value), unique=True, trim="-")


def refuse_bias(mix: Mix, tool: str, why: str) -> None:
    """UsageError naming ``to`` when `mix` has a non-zero bias, which `tool` cannot add (`why`)."""
    if mix.has_bias:
        values = ", ".join(decimal(b) for b in mix.bias)
        raise UsageError(f"to {tool}: {why}, and this mix has a bias ({values})", parameter="to")
