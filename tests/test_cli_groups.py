"""Options as objects (chanmix.cli.groups): each builder, and collect, without running a command."""

from __future__ import annotations

import click
import pytest

from chanmix.choices import NodataChoice
from chanmix.cli import groups
from chanmix.fitfiles import FitOptions
from chanmix.pipeline import ApplyOptions
from chanmix.rescale import Rescale

#: mix_source's arguments when no option is given.
SOURCE = dict(
    matrices=(), preset=None, coeffs=None, pca=None, maf=None, ica=None, targets=(), per_image=False
)
SOURCE.update(mask=None, sample=None, seed=0)


def test_collect_builds_objects_from_the_values_their_builders_name():
    seen = {}

    @groups.collect(pair=lambda a, b: (a, b), one=lambda b: b * 10)
    def command(c, pair, one):
        seen.update(c=c, pair=pair, one=one)

    command(a=1, b=2, c=3)  # b feeds both builders and is not passed on its own
    assert seen == {"c": 3, "pair": (1, 2), "one": 20}
    assert command.__name__ == "command"


def test_collect_keeps_the_commands_help_and_options():
    @click.command()
    @click.option("--a", default=1)
    @click.option("--b", default=2)
    @groups.collect(total=lambda a, b: a + b)
    def command(total):
        """Adds."""
        click.echo(total)

    from click.testing import CliRunner

    assert CliRunner().invoke(command, ["--b", "5"]).output == "6\n"
    assert "Adds." in CliRunner().invoke(command, ["--help"]).output


@pytest.mark.parametrize(
    "given, got",
    [
        ({}, ""),
        ({"preset": "sepia", "coeffs": "1,0,0"}, " (got -p and -c)"),
        ({"matrices": ("a.json",), "pca": 3, "targets": ("t.png",)}, " (got -m and --pca and --fit)"),
        ({"maf": 2, "ica": 3}, " (got --maf and --ica)"),
    ],
)
def test_mix_source_wants_exactly_one_kind(given, got):
    with pytest.raises(click.UsageError) as info:
        groups.mix_source(**{**SOURCE, **given})
    assert info.value.message == (
        "give the matrix one way: -m FILE (repeatable), -p PRESET, -c COEFFS, --pca K, --maf K, "
        "--ica K or --fit TARGET" + got
    )


def test_mix_source_and_its_fit_options():
    given = groups.mix_source(**{**SOURCE, "matrices": ("a.json", "b.json")})
    assert given == groups.MixSource(matrices=("a.json", "b.json")) and not given.fitted
    assert groups.mix_source(**{**SOURCE, "pca": 0.5}).fitted
    assert (
        groups.mix_source(**{**SOURCE, "maf": 2}).fitted and groups.mix_source(**{**SOURCE, "ica": 2}).fitted
    )
    source = groups.mix_source(**{**SOURCE, "targets": ("t.png",), "mask": "m.png", "sample": 9, "seed": 4})
    assert source.fitted
    options = ApplyOptions(bands=(3, 1), alpha="mix", nodata=NodataChoice(0.0), page=2, series=1)
    assert source.fit_options(options) == FitOptions(
        bands=(3, 1), alpha="mix", nodata=NodataChoice(0.0), mask="m.png", sample=9, seed=4, page=2, series=1
    )


def test_apply_and_fit_options():
    options = groups.apply_options(
        bands=(4, 3, 2),
        dtype="uint8",
        rescale="percentile",
        percentiles=(1.0, 99.0),
        alpha_mode="drop",
        linear=True,
        preserve="lum",
        preserve_amount=0.5,
        nodata=NodataChoice(None),
        page=1,
        series=None,
        compress="lzw",
        tile=(256, 512),
        bigtiff="yes",
        jobs=3,
        quality=80,
        auto_orient=True,
    )
    assert options == ApplyOptions(
        bands=(4, 3, 2),
        dtype="uint8",
        rescale=Rescale("percentile", (1.0, 99.0)),
        alpha="drop",
        linear=True,
        preserve="lum",
        preserve_amount=0.5,
        nodata=NodataChoice(None),
        jobs=3,
        page=1,
        series=None,
        compression="lzw",
        tile=(256, 512),
        bigtiff="yes",
        quality=80,
        auto_orient=True,
    )
    fit = groups.fit_options(
        bands=None, alpha_mode="keep", nodata=None, mask="m.png", sample=None, seed=0, page=0, series=2
    )
    assert fit == FitOptions(mask="m.png", series=2)


def test_apply_lists_its_options_in_this_order():
    from chanmix.cli.apply import apply_cmd

    names = [p.opts[-1] for p in apply_cmd.params]
    assert names == [
        "inputs",
        "--stack",
        "--output",
        "--outdir",
        "--matrix",
        "--activation",
        "--preset",
        "--coeffs",
        "--pca",
        "--maf",
        "--ica",
        "--fit",
        "--per-image",
        "--mask",
        "--sample",
        "--seed",
        "--bands",
        "--dtype",
        "--rescale",
        "--percentiles",
        "--alpha",
        "--linear",
        "--preserve",
        "--preserve-amount",
        "--argmax",
        "--nodata",
        "--page",
        "--series",
        "--save-matrix",
        "--compress",
        "--tile",
        "--bigtiff",
        "--quality",
        "--auto-orient",
        "--skip-existing",
        "--newer",
        "--format",
        "--jobs",
        "--max-memory",
        "--scheduler",
        "--quiet",
    ]
