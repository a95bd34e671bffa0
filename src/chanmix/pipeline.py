"""Apply a mix file to file: read, choose bands, resolve the matrix, mix, write atomically.

Everything about a request is validated before any output is created: the matrix against
the image's band count, the output format against the channels and sample type it must hold.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .dtypes import output_dtype
from .errors import DataError, UsageError
from .io import RasterInfo, atomic_output, check_output, read_raster, write_raster
from .matrixfiles import MatrixSource, matrix_json
from .mix import Mix, compose
from .mixer import apply, output_nodata
from .rescale import Rescale

__all__ = [
    "ApplyOptions", "MixRecipe", "NodataChoice", "apply_file", "band_selection", "effective_nodata",
    "plan_outputs", "save_mix",
]

#: TIFF compressions carried from input to output; anything else is written uncompressed.
_CARRIED_COMPRESSION = ("deflate", "lzw", "zstd")


@dataclass(frozen=True)
class MixRecipe:
    """Where the mix comes from: matrix sources composed in order, resolved per image."""

    sources: tuple[MatrixSource | Mix, ...]

    def mix_for(self, n_inputs: int) -> Mix:
        """Resolve every source against the channel count flowing into it and compose them."""
        mixes = []
        n = n_inputs
        for source in self.sources:
            mix = source.mix_for(n) if isinstance(source, MatrixSource) else source
            if mix.n_inputs != n:
                what = mix.provenance.get("name", "the matrix")
                raise UsageError(f"{what} reads {mix.n_inputs} channels; the input has {n}")
            mixes.append(mix)
            n = mix.n_outputs
        return compose(mixes)


@dataclass(frozen=True)
class NodataChoice:
    """A nodata value given on the command line; ``value`` None means "no nodata at all"."""

    value: float | None


def effective_nodata(choice: NodataChoice | None, info: RasterInfo) -> float | None:
    """The nodata value in force: the one given, else the file's own."""
    return info.nodata if choice is None else choice.value


@dataclass(frozen=True)
class ApplyOptions:
    """The per-run settings of ``chanmix apply`` (see the command's help for each)."""

    bands: tuple[int, ...] | None = None
    dtype: str | None = None
    rescale: Rescale = field(default_factory=Rescale)
    alpha: str = "keep"
    linear: bool = False
    nodata: NodataChoice | None = None
    jobs: int = 1
    page: int = 0


def band_selection(
    n_channels: int, alpha: int | None, bands: Sequence[int] | None, alpha_mode: str, origin: str
) -> tuple[list[int], int | None]:
    """0-based (mixed channels, passed-through alpha channel) of an image.

    ``bands`` are 1-based. A selected alpha channel is mixed like any other band; an alpha
    channel that is not selected is kept or dropped as ``alpha_mode`` says.
    """
    if bands is None:
        mixed = [c for c in range(n_channels) if alpha_mode == "mix" or c != alpha]
    else:
        for b in bands:
            if not 1 <= b <= n_channels:
                raise UsageError(
                    f"--bands: {origin} has {n_channels} band{'s' * (n_channels != 1)}, "
                    f"there is no band {b}"
                )
        mixed = [b - 1 for b in bands]
    kept = alpha if alpha_mode == "keep" and alpha is not None and alpha not in mixed else None
    return mixed, kept


def _compression(info: RasterInfo) -> str | None:
    return info.compression if info.compression in _CARRIED_COMPRESSION else None


def apply_file(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    recipe: MixRecipe,
    options: ApplyOptions,
) -> Mix:
    """Mix one image file into another; returns the mix that was applied.

    The target is written through a temporary file and renamed, so a failure leaves no
    partial output and an existing target untouched.
    """
    raster = read_raster(source, page=options.page)
    info = raster.info
    mixed, kept = band_selection(info.bands, info.alpha, options.bands, options.alpha, str(source))
    mix = recipe.mix_for(len(mixed))
    out_dtype = output_dtype(options.dtype, raster.pixels.dtype)
    check_output(
        target,
        channels=mix.n_outputs + (kept is not None),
        dtype=out_dtype,
        alpha=kept is not None,
        compression=_compression(info),
    )

    order = mixed + ([kept] if kept is not None else [])
    pixels = raster.pixels
    if order != list(range(pixels.shape[2])):
        pixels = pixels[:, :, order]
    nodata = effective_nodata(options.nodata, info)
    result = apply(
        pixels,
        mix,
        dtype=out_dtype,
        rescale=options.rescale,
        linear=options.linear,
        nodata=nodata,
        alpha=len(mixed) if kept is not None else None,
        alpha_mode="keep",
        jobs=options.jobs,
    )
    names = list(mix.names) if mix.names else None
    if names is not None and kept is not None:
        names.append("alpha")
    write_raster(
        Path(target),
        result,
        band_names=names,
        alpha=kept is not None,
        like=info,
        nodata=None if nodata is None else output_nodata(nodata, out_dtype),
        compression=_compression(info),
    )
    return mix


def save_mix(mix: Mix, path: str | os.PathLike[str]) -> None:
    """Write a mix as a JSON matrix file, atomically."""
    try:
        with atomic_output(path) as tmp:
            tmp.write_text(matrix_json(mix), encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot write ({exc.strerror or exc})") from exc


def render_output(template: str, source: str, index: int) -> str:
    """Fill ``{stem}``, ``{name}``, ``{ext}`` (with its dot) and ``{index}`` (1-based)."""
    path = Path(source)
    try:
        return template.format(stem=path.stem, name=path.name, ext=path.suffix, index=index)
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(
            f"-o: {template!r} is not a valid template; use {{stem}}, {{name}}, {{ext}}, {{index}}"
        ) from exc


def plan_outputs(
    inputs: Sequence[str], output: str | None, outdir: str | None
) -> list[tuple[str, str]]:
    """Pair each input with its output path; refuses ambiguous or colliding requests."""
    if output is None and outdir is None:
        raise UsageError("give an output: -o OUTPUT or -O OUTDIR")
    template = output if output is not None else "{name}"
    if len(inputs) > 1 and output is not None and not any(
        key in output for key in ("{stem}", "{name}", "{index}")
    ):
        raise UsageError(
            f"-o: {len(inputs)} inputs cannot all be written to {output!r}; "
            "use {stem}, {name} or {index} in it, or -O OUTDIR"
        )
    pairs = []
    for i, src in enumerate(inputs, 1):
        dst = render_output(template, src, i)
        if outdir is not None:
            dst = os.path.join(outdir, dst)
        pairs.append((src, dst))
    for src, dst in pairs:
        if os.path.exists(src) and os.path.exists(dst) and os.path.samefile(src, dst):
            raise UsageError(f"-o: {dst} is the input itself; choose another output")
    targets = [os.path.abspath(d) for _, d in pairs]
    dupes = sorted({t for t in targets if targets.count(t) > 1})
    if dupes:
        raise UsageError(f"-o: several inputs would be written to {dupes[0]}")
    return pairs

