"""``chanmix fit pca|lstsq|mnf|maf|ica``: learn a matrix from the data and write it as JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import click
import numpy as np

from ..bandspec import BandSpec
from ..fitfiles import FitOptions, lstsq_from_files, mnf_from_files, pca_from_files
from ..io.guard import check_run_files
from ..pipeline import save_mix
from . import groups
from . import options as opt
from .progress import progress_bar
from .scheduler import scheduled

_BAR_WIDTH = 30


#: The options every fit shares: which pixels and bands count (given to the command as one
#: FitOptions, ``options``), the memory budget, the cluster, -q.
lstsq_options = groups.stack(
    groups.fit_opts,
    opt.max_memory_opt,
    opt.scheduler_opt,
    opt.fit_quiet_opt,
    groups.collect(options=groups.fit_options),
)

#: Those and --products: the fits of the pixels' moments (pca, mnf, maf, ica); least squares
#: always forms its products in float64 (see chanmix.fit.CrossMoments).
fit_options = groups.stack(opt.products_opt, lstsq_options)


def run_fit(
    fitting: Callable[..., Any],
    inputs: Sequence[str],
    output: str,
    options: FitOptions,
    scheduler: str | None,
    quiet: bool,
    report: Callable[[Any], str],
    *,
    targets: Sequence[str] = (),
    warnings: Callable[[Any], list[str]] = lambda fit: [],
) -> None:
    """What every fit command does: refuse an output the fit reads, fit (``fitting``, a
    ``*_from_files`` with its own arguments bound, called with the options, the cluster's map
    and the progress bar), write the matrix, then its warnings on stderr and, unless
    ``quiet``, its ``report`` on stdout."""
    check_fit_files(inputs, output, options.mask, targets)
    with scheduled(scheduler) as cluster, progress_bar(quiet) as bar:
        fit = fitting(
            options=options, map_bands=None if cluster is None else cluster.ordered_map, progress=bar
        )
    save_mix(fit.mix, output)
    for line in warnings(fit):
        click.echo(line, err=True)
    if not quiet:
        click.echo(report(fit))


def check_fit_files(
    inputs: Sequence[str], output: str, mask: str | None, targets: Sequence[str] = ()
) -> None:
    """Refuse, before anything is read, a matrix output that is a file the fit reads."""
    reads = [("INPUT", i) for i in inputs] + [("--target", t) for t in targets]
    check_run_files(reads + ([("--mask", mask)] if mask else []), [("-o", output)])


def variance_table(
    names: Sequence[str] | None, ratios: np.ndarray, values: np.ndarray, value_name: str
) -> str:
    """A table of components: value, share of the total, cumulative share, and a bar.
    Components without names are numbered from 1."""
    if names is None:
        names = [str(i + 1) for i in range(len(ratios))]
    lines = [f"{'component':<10} {value_name:>12} {'explained':>10} {'cumulative':>11}"]
    cumulative = np.cumsum(ratios)
    for name, value, ratio, total in zip(names, values, ratios, cumulative):
        bar = "#" * max(1, round(ratio * _BAR_WIDTH)) if ratio > 0 else ""
        lines.append(f"{name:<10} {value:>12.5g} {ratio:>9.2%} {total:>10.2%}  {bar}")
    return "\n".join(lines)


def pixels_line(provenance: Mapping[str, Any]) -> str:
    fitted = provenance["fitted_on"]
    used, total = fitted["pixels_used"], fitted["pixels_total"]
    return f"pixels used: {used} of {total} ({used / total:.1%})"


def pca_report(fit: Any) -> str:
    """The variance table of a PCA fit and the pixels it used."""
    k = fit.mix.n_outputs
    table = variance_table(fit.mix.names, fit.explained_variance_ratio, fit.eigenvalues[:k], "variance")
    return f"{table}\n{pixels_line(fit.mix.provenance)}"


@click.group("fit")
def fit_cmd() -> None:
    """Learn a matrix from the data: PCA, least squares, MNF, MAF, ICA.

    Fits work in normalized units on every valid pixel (not nodata, finite, inside --mask),
    streamed block by block, and write a JSON matrix file for 'chanmix apply -m'. Several
    INPUTs are more pixels of images with the same bands; with --stack they are the bands of
    one image instead (band files of one size, sample type and grid).
    """


@fit_cmd.command("pca")
@opt.inputs_arg
@click.option(
    "-k",
    "k",
    required=True,
    callback=opt.parse_components,
    metavar="K",
    help="Components to keep: a count, or the variance fraction to reach (0.95).",
)
@opt.matrix_output_opt
@click.option("--center/--no-center", default=True, show_default=True, help="Centre on the mean.")
@click.option("--whiten", is_flag=True, help="Scale each component to unit variance.")
@fit_options
def pca_cmd(
    inputs: tuple[str, ...],
    k: int | float,
    output: str,
    center: bool,
    whiten: bool,
    scheduler: str | None,
    quiet: bool,
    options: FitOptions,
) -> None:
    """Principal components of the bands of INPUT(s), fitted over all their pixels.

    Components come in order of decreasing variance, each signed so that its largest weight
    is positive; the bias centres them (-W @ mean). The JSON also records the mean,
    eigenvalues and explained variance ratios.

    \b
    Examples:
      chanmix fit pca sample_images/multispectral.tif -k 3 -o pca.json
      chanmix fit pca scene-*.tif -k 0.99 --nodata 0 -o pca.json
      chanmix apply scene.tif -m pca.json --dtype float32 -o components.tif
      chanmix fit pca --stack sample_images/landsat/l8_B*.tif -k 3 -o pca.json
    """
    fitting = partial(pca_from_files, inputs, k, center=center, whiten=whiten)
    run_fit(fitting, inputs, output, options, scheduler, quiet, pca_report)


@fit_cmd.command("mnf")
@opt.inputs_arg
@click.option(
    "-k",
    "k",
    required=True,
    callback=opt.parse_components,
    metavar="K",
    help="Components to keep: a count, or the fraction of noise-whitened variance to reach.",
)
@opt.matrix_output_opt
@fit_options
def mnf_cmd(
    inputs: tuple[str, ...],
    k: int | float,
    output: str,
    scheduler: str | None,
    quiet: bool,
    options: FitOptions,
) -> None:
    """Minimum noise fraction: components ordered by signal-to-noise ratio.

    The noise-adjusted PCA of ENVI and Orfeo ToolBox (Green et al. 1988): the noise covariance
    is estimated from differences of horizontally neighbouring pixels, the data are whitened
    by it and then decomposed, so each component has unit noise variance and the first ones
    hold the most signal per unit of noise.

    \b
    Examples:
      chanmix fit mnf sample_images/multispectral.tif -k 3 -o mnf.json
      chanmix fit mnf --stack sample_images/landsat/l8_B*.tif -k 2 -o mnf.json
    """
    run_fit(partial(mnf_from_files, inputs, k), inputs, output, options, scheduler, quiet, mnf_report)


@fit_cmd.command("lstsq")
@opt.inputs_arg
@click.option(
    "--target",
    "targets",
    multiple=True,
    required=True,
    metavar="TARGET",
    shell_complete=opt.complete_path,
    help="The image to reproduce, same size as its INPUT; one per INPUT, in order. With "
    "--stack, one image: one TARGET, or several stacked as its bands.",
)
@opt.matrix_output_opt
@click.option("--bias/--no-bias", default=True, show_default=True, help="Fit a bias per output band.")
@click.option(
    "--ridge",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="LAMBDA",
    help="Ridge penalty on the squared weights (bias not penalized).",
)
@click.option(
    "--target-bands",
    callback=opt.parse_bands,
    metavar="LIST",
    help="Target bands to fit, as --bands chooses the inputs' (all but alpha by default).",
)
@lstsq_options
def lstsq_cmd(
    inputs: tuple[str, ...],
    targets: tuple[str, ...],
    output: str,
    bias: bool,
    ridge: float,
    target_bands: BandSpec | None,
    scheduler: str | None,
    quiet: bool,
    options: FitOptions,
) -> None:
    """Least squares from the bands of INPUT to the bands of TARGET over all pixel pairs.

    Typical uses: a colour correction matrix from a photograph of a chart to its reference
    values, or the matrix of a known transform recovered from an input/output pair. Collinear
    input bands do not stop the fit: a warning names them and the minimum-norm solution is
    written. With --stack, the INPUTs are the bands of one image and the TARGETs (one file,
    or several stacked) the bands of its target.

    \b
    Examples:
      chanmix apply sample_images/astronaut.png -p sepia -o sepia.png
      chanmix fit lstsq sample_images/astronaut.png --target sepia.png -o recovered.json
      chanmix fit lstsq --stack B2.tif B3.tif B4.tif --target X.tif --target Y.tif -o xy.json
    """
    fitting = partial(lstsq_from_files, inputs, targets, bias=bias, ridge=ridge, target_bands=target_bands)
    run_fit(
        fitting,
        inputs,
        output,
        options,
        scheduler,
        quiet,
        lstsq_report,
        targets=targets,
        warnings=lambda fit: [f"Warning: {warning}" for warning in fit.warnings],
    )


def mnf_report(fit: Any) -> str:
    """The SNR table of an MNF fit and the pixels it used."""
    table = variance_table(fit.mix.names, fit.explained_variance_ratio, fit.snr, "SNR")
    return f"{table}\n{pixels_line(fit.mix.provenance)}"


def lstsq_report(fit: Any) -> str:
    """RMSE and R^2 of each output band, and the pixels used."""
    lines = [f"{'output':<8} {'RMSE':>12} {'R^2':>10}"]
    for m, (rmse, r2) in enumerate(zip(fit.rmse, fit.r2), 1):
        lines.append(f"{m:<8} {rmse:>12.5g} {r2:>10.6f}")
    lines.append(pixels_line(fit.mix.provenance))
    return "\n".join(lines)


from . import fit_components  # noqa: E402, F401  registers fit maf and fit ica on fit_cmd
