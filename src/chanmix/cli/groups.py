"""Options as objects: each command receives related options as one value.

As rasterio's ``rio`` commands share their options through ``rio/options.py``, chanmix's
commands take their options from :mod:`chanmix.cli.options`, and receive them grouped:

=====================  ===============================================  =================
object                 options                                          commands
=====================  ===============================================  =================
:class:`MixSource`     -m, -p, -c, --pca, --maf, --ica, --fit,           apply
                       --per-image, --mask, --sample, --seed
``ApplyOptions``       --bands, --dtype, --rescale, --percentiles,      apply
                       --alpha, --linear, --preserve,
                       --preserve-amount, --nodata, --page, --series,
                       --compress, --tile, --bigtiff, --quality,
                       --auto-orient, -j
``FitOptions``         --stack, --bands, --alpha, --nodata, --mask,      fit pca|lstsq|mnf|maf|ica
                       --sample, --seed, --page, --series
:class:`Destination`   -o, -O, --save-matrix, --format                  apply
:class:`BatchOptions`  --skip-existing, --newer, -q                     apply
``SheetOptions``       --bands, --size, --columns, --percentiles,       sheet
                       --nodata, --page, --series
CalibrationOptions     --to, --bands (sensor bands), --level            matrix calibrate
=====================  ===============================================  =================

:func:`collect` builds each object with a builder of this module (:func:`mix_source`,
:func:`apply_options`, :func:`fit_options`, :func:`calibration_options`,
:func:`sheet_options`, and the classes
:class:`Destination` and :class:`BatchOptions` themselves) whose parameters are the options'
names: the one place where options become the library's settings.
:func:`stack` applies a run of options that always go together, in ``--help``'s order.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..choices import PRODUCTS, NodataChoice
from .options import (
    activation_opt,
    alpha_opt,
    argmax_opt,
    auto_orient_opt,
    band_numbers_opt,
    bands_opt,
    bigtiff_opt,
    coeffs_opt,
    columns_opt,
    compress_opt,
    dtype_opt,
    fit_alpha_opt,
    fit_opt,
    ica_opt,
    level_opt,
    linear_opt,
    maf_opt,
    mask_opt,
    matrix_opt,
    newer_opt,
    nodata_opt,
    page_opt,
    pca_opt,
    per_image_opt,
    percentiles_opt,
    preserve_amount_opt,
    preserve_opt,
    preset_opt,
    quality_opt,
    rescale_opt,
    sample_opt,
    seed_opt,
    series_opt,
    size_opt,
    skip_existing_opt,
    stack_opt,
    tile_opt,
    to_opt,
)

if TYPE_CHECKING:  # the numerical modules load when a command runs, not for --help
    from ..bandspec import BandSpec
    from ..calibration import CalibrationOptions
    from ..fitfiles import FitOptions
    from ..pipeline import ApplyOptions
    from ..sheet import SheetOptions

Command = TypeVar("Command", bound=Callable[..., Any])


def stack(*decorators: Callable[[Command], Command]) -> Callable[[Command], Command]:
    """One decorator applying `decorators`: their options appear in ``--help`` in this order."""

    def apply(command: Command) -> Command:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return apply


def collect(**builders: Callable[..., Any]) -> Callable[[Command], Command]:
    """Hand a command objects built from its options, in place of the options' values.

    ``@collect(options=apply_options)`` calls :func:`apply_options` with the values of the
    options its parameters name (``bands=...``, ``dtype=...``) and passes the result to the
    command as ``options``; those values are not passed on their own. A parameter whose option
    the command does not have keeps its default. Several builders may read one value. Builders
    run in the order given, before the command, and may refuse a request with
    :class:`click.UsageError`. Place it right above the command function.
    """
    reads = {key: tuple(inspect.signature(build).parameters) for key, build in builders.items()}
    used = {name for names in reads.values() for name in names}

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def collected(**values: Any) -> Any:
            built = {
                key: build(**{n: values[n] for n in reads[key] if n in values})
                for key, build in builders.items()
            }
            return command(**{k: v for k, v in values.items() if k not in used}, **built)

        return collected  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class MixSource:
    """Where ``apply``'s mix comes from: given (-m files composed in order, a -p preset, -c
    coefficients) or fitted on the inputs (--pca, --maf, --ica, --fit), with the fit's own
    options."""

    matrices: tuple[str, ...] = ()
    preset: str | None = None
    coeffs: str | None = None
    pca: int | float | None = None
    maf: int | None = None
    ica: int | None = None
    targets: tuple[str, ...] = ()
    per_image: bool = False
    mask: str | None = None
    sample: int | None = None
    seed: int = 0
    activation: str = "none"

    @property
    def fitted(self) -> bool:
        """Whether the mix is fitted on the inputs (--pca, --maf, --ica, --fit)."""
        return self.pca is not None or self.maf is not None or self.ica is not None or bool(self.targets)

    def fit_options(self, options: ApplyOptions, *, stack: bool = False) -> FitOptions:
        """The pixels and bands a fit uses: the bands, alpha, nodata and image chosen for the
        mix, with this source's mask and sample; with `stack`, the inputs are one image."""
        return fit_options(
            stack=stack,
            bands=options.bands,
            alpha_mode=options.alpha,
            nodata=options.nodata,
            mask=self.mask,
            sample=self.sample,
            seed=self.seed,
            page=options.page,
            series=options.series,
        )


def mix_source(
    matrices: tuple[str, ...],
    preset: str | None,
    coeffs: str | None,
    pca: int | float | None,
    maf: int | None,
    ica: int | None,
    targets: tuple[str, ...],
    per_image: bool,
    mask: str | None,
    sample: int | None,
    seed: int,
    activation: str = "none",
) -> MixSource:
    """-m, -p, -c, --pca, --maf, --ica, --fit (exactly one kind), --per-image, --mask, --sample,
    --seed, --activation."""
    kinds = (
        ("-m", matrices),
        ("-p", preset),
        ("-c", coeffs),
        ("--pca", pca is not None),
        ("--maf", maf is not None),
        ("--ica", ica is not None),
        ("--fit", targets),
    )
    given = [kind for kind, value in kinds if value]
    if len(given) != 1:
        raise click.UsageError(
            "give the matrix one way: -m FILE (repeatable), -p PRESET, -c COEFFS, --pca K, --maf K, "
            "--ica K or --fit TARGET" + (f" (got {' and '.join(given)})" if given else "")
        )
    return MixSource(
        matrices=matrices,
        preset=preset,
        coeffs=coeffs,
        pca=pca,
        maf=maf,
        ica=ica,
        targets=targets,
        per_image=per_image,
        mask=mask,
        sample=sample,
        seed=seed,
        activation=activation,
    )


mix_source_opts = stack(
    matrix_opt,
    activation_opt,
    preset_opt,
    coeffs_opt,
    pca_opt,
    maf_opt,
    ica_opt,
    fit_opt,
    per_image_opt,
    mask_opt,
    sample_opt,
    seed_opt,
)


def apply_options(
    bands: BandSpec | None,
    dtype: str,
    rescale: str,
    percentiles: tuple[float, float],
    alpha_mode: str,
    linear: bool,
    preserve: str,
    preserve_amount: float,
    nodata: NodataChoice | None,
    page: int,
    series: int | None,
    compress: str,
    tile: str | tuple[int, int] | None,
    bigtiff: str,
    jobs: int,
    argmax: bool = False,
    quality: int | None = None,
    auto_orient: bool = False,
) -> ApplyOptions:
    """The settings of ``apply``'s mix and output, from their options."""
    from ..pipeline import ApplyOptions
    from ..rescale import Rescale

    return ApplyOptions(
        bands=bands,
        dtype=dtype,
        rescale=Rescale(rescale, percentiles),
        alpha=alpha_mode,
        linear=linear,
        nodata=nodata,
        jobs=jobs,
        page=page,
        series=series,
        compression=compress,
        tile=tile,
        bigtiff=bigtiff,
        preserve=preserve,
        preserve_amount=preserve_amount,
        argmax=argmax,
        quality=quality,
        auto_orient=auto_orient,
    )


#: --bands to --series: what is mixed and how (apply).
mix_opts = stack(
    bands_opt,
    dtype_opt,
    rescale_opt,
    percentiles_opt,
    alpha_opt,
    linear_opt,
    preserve_opt,
    preserve_amount_opt,
    argmax_opt,
    nodata_opt,
    page_opt,
    series_opt,
)
#: --compress, --tile, --bigtiff (apply).
tiff_opts = stack(compress_opt, tile_opt, bigtiff_opt)
#: --quality, --auto-orient: photographs (apply).
photo_opts = stack(quality_opt, auto_orient_opt)


def fit_options(
    bands: BandSpec | tuple[int, ...] | None,
    alpha_mode: str,
    nodata: NodataChoice | None,
    mask: str | None,
    sample: int | None,
    seed: int,
    page: int,
    series: int | None,
    stack: bool = False,
    products: str = PRODUCTS[0],
) -> FitOptions:
    """Which pixels and bands of the inputs a fit uses, and how, from their options."""
    from ..fitfiles import FitOptions

    return FitOptions(
        bands=bands,
        alpha=alpha_mode,
        nodata=nodata,
        mask=mask,
        sample=sample,
        seed=seed,
        page=page,
        series=series,
        stack=stack,
        products=products,
    )


#: --stack to --series: the pixels and bands a fit uses (fit pca, lstsq, mnf, maf, ica).
fit_opts = stack(
    stack_opt, bands_opt, fit_alpha_opt, nodata_opt, mask_opt, sample_opt, seed_opt, page_opt, series_opt
)


def calibration_options(
    to: str, bands: tuple[int | str, ...] | None, level: int | None
) -> CalibrationOptions:
    """What ``matrix calibrate`` computes, from its options."""
    from ..calibration import CalibrationOptions

    return CalibrationOptions(to=to, bands=bands, level=level)


#: --to, --bands, --level: what a calibration computes (matrix calibrate).
calibration_opts = stack(to_opt, band_numbers_opt, level_opt)


@dataclass(frozen=True)
class Destination:
    """Where ``apply`` writes: -o OUTPUT (a template with several inputs, ``-`` for stdout in
    --format), -O OUTDIR, and --save-matrix. Its fields are the options' names, so the class
    is its own builder."""

    output: str | None = None
    outdir: str | None = None
    save_matrix: str | None = None
    fmt: str | None = None


@dataclass(frozen=True)
class BatchOptions:
    """How a run over many inputs behaves: which outputs it leaves alone (--skip-existing,
    --newer), and whether it talks (-q). Its own builder, as :class:`Destination`."""

    skip_existing: bool = False
    newer: bool = False
    quiet: bool = False


def sheet_options(
    bands: BandSpec | None,
    size: int,
    columns: int | None,
    percentiles: tuple[float, float],
    nodata: NodataChoice | None,
    page: int,
    series: int | None,
) -> SheetOptions:
    """What ``sheet`` draws, from its options."""
    from ..sheet import SheetOptions

    return SheetOptions(
        bands=bands,
        size=size,
        columns=columns,
        percentiles=percentiles,
        nodata=nodata,
        page=page,
        series=series,
    )


#: --stack to --series: the image and bands a sheet shows, and how (sheet).
sheet_opts = stack(
    stack_opt, bands_opt, size_opt, columns_opt, percentiles_opt, nodata_opt, page_opt, series_opt
)


#: --skip-existing, --newer.
skip_opts = stack(skip_existing_opt, newer_opt)
