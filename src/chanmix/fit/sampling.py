"""A deterministic random subsample of pixels that any block split sees the same way.

A sample of N pixels with seed S (``FitOptions(sample=N, seed=S)``; ``--sample N --seed S``
on the command line) fits on N pixels drawn uniformly without replacement from all the
pixels of the input(s), numbered in reading order (row-major, file after file). The chosen
pixel numbers are drawn once, sorted, and each block asks which of them fall in its range,
so the sample depends only on (total, N, S), never on how the image is cut into blocks.

The draw: uniform indices with replacement from ``numpy.random.default_rng(S)``, duplicates
dropped, topped up until N distinct remain. Every step treats all pixels alike, so every
N-subset is equally likely, as with ``Generator.choice(total, N, replace=False)``, which for
large samples allocates all ``total`` indices; here memory is 8 bytes per chosen pixel.
When N is more than half the pixels, the pixels left out are drawn instead. The same NumPy
version gives the same sample; NumPy does not promise the same streams across versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import UsageError

__all__ = ["SampleMask"]


def _distinct(rng: np.random.Generator, total: int, count: int) -> np.ndarray:
    """``count`` distinct sorted integers drawn uniformly from ``range(total)``."""
    chosen = np.empty(0, dtype=np.int64)
    while chosen.size < count:
        chosen = np.concatenate([chosen, rng.integers(0, total, size=count - chosen.size)])
        chosen.sort()  # np.sort, not np.unique: much faster on 10^7 integers
        chosen = chosen[np.concatenate([[True], chosen[1:] != chosen[:-1]])]
    return chosen


@dataclass(frozen=True, eq=False)
class SampleMask:
    """The ``n`` pixels chosen by ``seed`` among ``total_pixels``.

    Parameters
    ----------
    total_pixels : int
        Number of pixels in the stream (all inputs, in reading order).
    n : int
        Pixels to choose, at least 1; every pixel is chosen when ``n >= total_pixels``.
    seed : int
        Seed of the draw (a non-negative integer).

    Raises
    ------
    UsageError
        ``n < 1`` (naming ``sample``, as :class:`~chanmix.fitfiles.FitOptions` calls it), a
        negative seed (naming ``seed``) or pixel count.
    """

    total_pixels: int
    n: int
    seed: int = 0
    _drawn: np.ndarray = field(init=False, repr=False)
    _complement: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.n < 1:
            raise UsageError(f"sample must be a number of pixels >= 1, got {self.n}", parameter="sample")
        if self.seed < 0:
            raise UsageError(f"seed must be an integer >= 0, got {self.seed}", parameter="seed")
        if self.total_pixels < 0:
            raise UsageError(f"the pixel count must be >= 0, got {self.total_pixels}")
        kept = min(self.n, self.total_pixels)
        complement = 2 * kept > self.total_pixels
        count = self.total_pixels - kept if complement else kept
        drawn = _distinct(np.random.default_rng(self.seed), self.total_pixels, count)
        drawn.setflags(write=False)
        object.__setattr__(self, "_drawn", drawn)
        object.__setattr__(self, "_complement", complement)

    @property
    def n_selected(self) -> int:
        """The number of pixels chosen: ``min(n, total_pixels)``."""
        return min(self.n, self.total_pixels)

    def mask(self, start: int, stop: int) -> np.ndarray:
        """The chosen pixels among pixel numbers ``start`` to ``stop - 1``.

        Returns
        -------
        (stop - start,) ndarray of bool
            True at the chosen pixels; reshape it to a block's (h, w) to use as ``valid``.
        """
        if not 0 <= start <= stop <= self.total_pixels:
            raise ValueError(f"pixel range [{start}, {stop}) is outside [0, {self.total_pixels}]")
        lo, hi = np.searchsorted(self._drawn, [start, stop])
        out = np.full(stop - start, self._complement, dtype=bool)
        out[self._drawn[lo:hi] - start] = not self._complement
        return out
