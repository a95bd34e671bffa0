"""``chanmix fit maf|ica``: components ordered by autocorrelation, or independent ones.

Registered on the ``fit`` group of :mod:`chanmix.cli.fit`, whose shared options they use.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import click

from ..fitfiles import FitOptions, ica_from_files, maf_from_files
from . import options as opt
from .fit import fit_cmd, fit_options, pixels_line, run_fit


@fit_cmd.command("maf")
@opt.inputs_arg
@click.option("-k", "k", required=True, type=click.IntRange(min=1), metavar="K", help="Components to keep.")
@opt.matrix_output_opt
@fit_options
def maf_cmd(
    inputs: tuple[str, ...],
    k: int,
    output: str,
    scheduler: str | None,
    quiet: bool,
    options: FitOptions,
) -> None:
    """Min/max autocorrelation factors: components ordered by spatial autocorrelation.

    MAF (Switzer & Green 1984) solves the generalized eigenproblem between the covariance of
    the one-pixel differences between neighbours (horizontal and vertical, each pair of
    valid pixels once) and the covariance of the pixels: the first components change least
    from a pixel to the next (signal), the last ones most (noise). Each component has unit
    variance, its largest weight positive, and the bias centres it (-W @ mean); the JSON
    records each one's one-pixel autocorrelation.

    \b
    Examples:
      chanmix fit maf sample_images/multispectral.tif -k 3 -o maf.json
      chanmix fit maf --stack sample_images/landsat/l8_B*.tif -k 3 -o maf.json
      chanmix apply sample_images/landsat/l8_stack.tif --maf 3 --dtype float32 -o mafs.tif
    """
    run_fit(partial(maf_from_files, inputs, k), inputs, output, options, scheduler, quiet, maf_report)


def maf_report(fit: Any) -> str:
    """Each component's one-pixel autocorrelation, and the pixels and pairs used."""
    lines = [f"{'component':<10} {'autocorrelation':>16}"]
    for name, value in zip(fit.mix.names, fit.autocorrelation):
        lines.append(f"{name:<10} {value:>16.6f}")
    lines.append(f"{pixels_line(fit.mix.provenance)}; neighbour pairs: {fit.n_pairs}")
    return "\n".join(lines)


@fit_cmd.command("ica")
@opt.inputs_arg
@click.option("-k", "k", required=True, type=click.IntRange(min=1), metavar="K", help="Components to find.")
@opt.matrix_output_opt
@click.option(
    "--max-iter",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    metavar="N",
    help="Most FastICA iterations.",
)
@fit_options
def ica_cmd(
    inputs: tuple[str, ...],
    k: int,
    output: str,
    max_iter: int,
    scheduler: str | None,
    quiet: bool,
    options: FitOptions,
) -> None:
    """Independent components (FastICA) of the bands of INPUT(s).

    The pixels are whitened by their PCA (K components, all valid pixels), then FastICA
    (logcosh contrast, symmetric decorrelation, as scikit-learn's FastICA) rotates them to
    the most non-Gaussian components, iterating on --sample N pixels (default 100000) drawn
    by --seed S, which also draws the starting rotation: the same seed, the same matrix. The
    matrix is the unmixing W (K x N, normalized units) with bias -W @ mean: the components
    are uncorrelated, of unit variance, and span the first K principal components. They are
    ordered by decreasing non-Gaussianity. A warning says when the iterations did not
    converge within --max-iter.

    \b
    Examples:
      chanmix fit ica sample_images/multispectral.tif -k 3 -o ica.json
      chanmix fit ica --stack sample_images/landsat/l8_B*.tif -k 3 --seed 1 -o ica.json
      chanmix apply sample_images/landsat/l8_stack.tif --ica 3 --dtype float32 -o ics.tif
    """
    fitting = partial(ica_from_files, inputs, k, max_iter=max_iter)
    run_fit(fitting, inputs, output, options, scheduler, quiet, ica_report, warnings=ica_warnings)


def ica_warnings(fit: Any) -> list[str]:
    """The line saying that FastICA did not converge, or none."""
    if fit.converged:
        return []
    return [
        f"Warning: FastICA did not converge in {fit.iterations} iterations (final change "
        f"{fit.final_change:.3g}, tolerance {fit.mix.provenance['tol']:g}); the matrix is the last "
        f"iterate: try --max-iter or another --seed"
    ]


def ica_report(fit: Any) -> str:
    """Convergence, each component's non-Gaussianity, and the pixels used."""
    provenance = fit.mix.provenance
    state = "converged" if fit.converged else "not converged"
    lines = [
        f"FastICA: {state} after {fit.iterations} iterations (final change {fit.final_change:.3g}), "
        f"on {provenance['n_sample']} sampled pixels",
        f"{'component':<10} {'negentropy':>12}",
    ]
    for name, value in zip(fit.mix.names, fit.negentropy):
        lines.append(f"{name:<10} {value:>12.5g}")
    lines.append(pixels_line(provenance))
    return "\n".join(lines)
