"""Errors name what the caller typed: the library its arguments, the command line its options.

The Python API is used by callers who never typed a flag: its errors name the argument at fault
(``ridge must be ...``) and never an option (``--ridge``); the command line shows the same
mistake with the option that sets that argument (chanmix.cli.flags).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

import chanmix
from chanmix.cli import flags
from chanmix.cli.flags import COMMAND_FLAGS, FLAGS, flag_message
from chanmix.errors import ChanmixError, DataError, UsageError
from chanmix.fit import CrossMoments, SampleMask

RGB = np.arange(8 * 9 * 3, dtype=np.uint8).reshape(8, 9, 3)


@pytest.fixture
def images(tmp_path):
    """rgb.png (8 x 9), small.png (4 x 4), dup.tif (band 3 = band 1), zero.tif."""
    Image.fromarray(RGB).save(tmp_path / "rgb.png")
    Image.fromarray(RGB[:4, :4]).save(tmp_path / "small.png")
    noise = np.random.default_rng(0).integers(0, 255, size=(8, 9, 2), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "dup.tif", np.dstack([noise, noise[:, :, :1]]), photometric="rgb")
    tifffile.imwrite(tmp_path / "zero.tif", np.zeros((8, 9, 3), np.uint8), photometric="rgb")
    return tmp_path


def python_error(call, parameter: str, kind: type[ChanmixError] = UsageError) -> str:
    """The message of the error `call()` raises: of type `kind`, about `parameter`, named as
    the Python API spells it, and naming no command-line option."""
    with pytest.raises(kind) as info:
        call()
    message = str(info.value)
    assert info.value.parameter == parameter, message
    assert message.startswith(parameter), message
    assert "--" not in message and " -k" not in message, message
    return message


def cli_error(run, *args, code: int = 2) -> str:
    result = run(*args)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_mix_arguments(images, run):
    mix = chanmix.Mix.identity(3)
    assert "alpha_mode: expected one of keep, drop, mix, not 'all'" in python_error(
        lambda: chanmix.apply(RGB, mix, alpha_mode="all"), "alpha_mode"
    )
    assert "rescale: expected one of clip, minmax, percentile" in python_error(
        lambda: chanmix.apply(RGB, mix, rescale="stretch"), "rescale"
    )
    python_error(lambda: chanmix.Rescale("stretch"), "rescale")
    assert "percentiles: need 0 <= LO < HI <= 100, got 9,1" in python_error(
        lambda: chanmix.Rescale("percentile", (9, 1)), "percentiles"
    )
    assert "rescale minmax: the image has no valid pixel" in python_error(
        lambda: chanmix.apply(RGB * 0, mix, rescale="minmax", nodata=0), "rescale"
    )
    assert "dtype: 'bogus' is not a sample type" in python_error(
        lambda: chanmix.apply(RGB, mix, dtype="bogus"), "dtype"
    )
    assert "dtype: chanmix writes" in python_error(lambda: chanmix.apply(RGB, mix, dtype="int8"), "dtype")
    assert "dtype: chanmix writes" in python_error(lambda: chanmix.apply(RGB.astype(np.int8), mix), "dtype")

    rgb, out = images / "rgb.png", images / "out.tif"
    assert "'--alpha'" in cli_error(run, "apply", rgb, "-p", "sepia", "--alpha", "all", "-o", out)
    assert "'--rescale'" in cli_error(run, "apply", rgb, "-p", "sepia", "--rescale", "stretch", "-o", out)
    assert "--percentiles" in cli_error(run, "apply", rgb, "-p", "sepia", "--percentiles", "9,1", "-o", out)
    assert cli_error(
        run, "apply", images / "zero.tif", "-p", "sepia", "--nodata", "0", "--rescale", "minmax", "-o", out
    ).startswith("Error: --rescale minmax: the image has no valid pixel")
    assert "'--dtype'" in cli_error(run, "apply", rgb, "-p", "sepia", "--dtype", "int8", "-o", out)
    assert not out.exists()


def test_bands(images, run):
    rgb = str(images / "rgb.png")
    options = chanmix.FitOptions(bands=(1, 5))
    assert f"bands: {rgb} has 3 bands, there is no band 5" in python_error(
        lambda: chanmix.pca_from_files([rgb], 2, options=options), "bands"
    )
    out = images / "o.png"
    message = f"Error: --bands: {rgb} has 3 bands, there is no band 5"
    assert cli_error(run, "apply", rgb, "-p", "sepia", "--bands", "1,5", "-o", out) == message
    assert cli_error(run, "fit", "pca", rgb, "-k", "2", "--bands", "1,5", "-o", images / "p.json") == message
    # each input of a batch reports its own error, naming the option too
    result = run("apply", rgb, rgb, "-p", "sepia", "--bands", "1,5", "-o", images / "{index}.png")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [message, message]


def test_ridge(images, run):
    x = np.random.default_rng(0).random((50, 3))
    cross = CrossMoments.of(x, x[:, :2])
    assert "ridge must be a finite number >= 0, got -1.0" in python_error(
        lambda: chanmix.fit_lstsq(cross, ridge=-1.0), "ridge"
    )
    rgb = images / "rgb.png"
    python_error(lambda: chanmix.lstsq_from_files([rgb], [rgb], ridge=float("nan")), "ridge")
    args = ("fit", "lstsq", rgb, "--target", rgb, "-o", images / "l.json")
    assert "'--ridge'" in cli_error(run, *args, "--ridge", "-1")


def test_sample_and_seed(images, run):
    message = python_error(lambda: SampleMask(100, 0), "sample")
    assert message == "sample must be a number of pixels >= 1, got 0"
    assert "seed must be an integer >= 0, got -1" in python_error(lambda: SampleMask(100, 10, -1), "seed")
    rgb = str(images / "rgb.png")
    options = chanmix.FitOptions(sample=0)
    python_error(lambda: chanmix.pca_from_files([rgb], 2, options=options), "sample")
    args = ("fit", "pca", rgb, "-k", "2", "-o", images / "p.json")
    assert "'--sample'" in cli_error(run, *args, "--sample", "0")
    assert "'--seed'" in cli_error(run, *args, "--sample", "5", "--seed", "-1")


def test_mask(images, run):
    rgb, small = str(images / "rgb.png"), str(images / "small.png")
    options = chanmix.FitOptions(mask=small)
    assert f"mask: {small} is 4 x 4 pixels, {rgb} is 9 x 8" in python_error(
        lambda: chanmix.pca_from_files([rgb], 2, options=options), "mask"
    )
    message = f"Error: --mask: {small} is 4 x 4 pixels, {rgb} is 9 x 8"
    assert cli_error(run, "fit", "pca", rgb, "-k", "2", "--mask", small, "-o", images / "p.json") == message
    assert cli_error(run, "apply", rgb, "--pca", "2", "--mask", small, "-o", images / "o.tif") == message


def test_targets(images, run):
    """fit lstsq sets the targets with --target, apply with --fit."""
    rgb, small = str(images / "rgb.png"), str(images / "small.png")
    assert "targets: give one per input (2 inputs, 1 targets)" in python_error(
        lambda: chanmix.lstsq_from_files([rgb, rgb], [rgb]), "targets"
    )
    assert f"targets: {small} is 4 x 4 pixels, {rgb} is 9 x 8" in python_error(
        lambda: chanmix.lstsq_from_files([rgb], [small]), "targets"
    )
    out = images / "l.json"
    assert cli_error(run, "fit", "lstsq", rgb, rgb, "--target", rgb, "-o", out) == (
        "Error: --target: give one per input (2 inputs, 1 targets)"
    )
    assert cli_error(run, "fit", "lstsq", rgb, "--target", small, "-o", out) == (
        f"Error: --target: {small} is 4 x 4 pixels, {rgb} is 9 x 8"
    )
    assert cli_error(run, "apply", rgb, "--fit", small, "-o", images / "o.png") == (
        f"Error: --fit: {small} is 4 x 4 pixels, {rgb} is 9 x 8"
    )


def test_target_bands(images, run):
    """A target band the target does not have is named as the target's bands, not the inputs'."""
    rgb = str(images / "rgb.png")
    assert f"target_bands: {rgb} has 3 bands, there is no band 9" in python_error(
        lambda: chanmix.lstsq_from_files([rgb], [rgb], target_bands=(9,)), "target_bands"
    )
    out = images / "l.json"
    assert cli_error(run, "fit", "lstsq", rgb, "--target", rgb, "--target-bands", "9", "-o", out) == (
        f"Error: --target-bands: {rgb} has 3 bands, there is no band 9"
    )


def test_components(images, run):
    """fit pca sets k with -k, apply with --pca."""
    rgb, dup = str(images / "rgb.png"), str(images / "dup.tif")
    moments = chanmix.Moments.of(np.random.default_rng(0).random((50, 3)))
    assert "k must be a number of components from 1 to 3" in python_error(
        lambda: chanmix.fit_pca(moments, 4), "k"
    )
    python_error(lambda: chanmix.pca_from_files([rgb], 1.5), "k")
    assert "k: cannot whiten component PC3" in python_error(
        lambda: chanmix.pca_from_files([dup], 3, whiten=True), "k", DataError
    )
    assert cli_error(run, "fit", "pca", rgb, "-k", "4", "-o", images / "p.json").startswith(
        "Error: -k must be a number of components from 1 to 3"
    )
    assert cli_error(run, "apply", rgb, "--pca", "4", "-o", images / "o.tif").startswith(
        "Error: --pca must be a number of components from 1 to 3"
    )
    assert cli_error(
        run, "fit", "pca", dup, "-k", "3", "--whiten", "-o", images / "p.json", code=1
    ).startswith("Error: -k: cannot whiten component PC3")


def test_page_and_series(images, run):
    rgb, dup = str(images / "rgb.png"), str(images / "dup.tif")
    assert f"series: {rgb} holds one image series (0), not 2" in python_error(
        lambda: chanmix.pca_from_files([rgb], 2, options=chanmix.FitOptions(series=2)), "series"
    )
    assert f"series: {dup} has 1 image series (0 to 0), not 3" in python_error(
        lambda: chanmix.pca_from_files([dup], 2, options=chanmix.FitOptions(series=3)), "series"
    )
    assert f"page: series 0 of {dup} has 1 image(s) (0 to 0), not 4" in python_error(
        lambda: chanmix.pca_from_files([dup], 2, options=chanmix.FitOptions(series=0, page=4)), "page"
    )
    assert cli_error(run, "info", rgb, "--series", "2") == (
        f"Error: --series: {rgb} holds one image series (0), not 2"
    )
    result = run("info", dup, dup, "--series", "0", "--page", "4")  # each input says it
    assert result.exit_code == 1
    message = f"Error: --page: series 0 of {dup} has 1 image(s) (0 to 0), not 4"
    assert result.stderr.splitlines() == [message, message]


def test_inline_coefficients(images, run):
    with pytest.raises(chanmix.MatrixError) as info:
        chanmix.parse_coeffs("1,2;3")
    assert str(info.value) == "coefficients: row 2 has 1 numbers, the first row has 2"
    assert cli_error(run, "apply", images / "rgb.png", "-c", "1,2;3", "-o", images / "o.png") == (
        "Error: --coeffs: row 2 has 1 numbers, the first row has 2"
    )


def test_calibration(images, run):
    """matrix calibrate sets to, level and the sensor's bands with --to, --level, --bands."""
    from chanmix.calibration import CalibrationOptions, calibration_mix

    mtl = Path(__file__).resolve().parent.parent / "sample_images" / "landsat" / "l8_MTL.txt"
    assert "to: expected one of reflectance, radiance, not 'kelvin'" in python_error(
        lambda: CalibrationOptions(to="kelvin"), "to"
    )
    python_error(lambda: CalibrationOptions(level=3), "level")
    assert "bands: Landsat 8 and 9 have bands 1 to 11, not 12" in python_error(
        lambda: calibration_mix(mtl, CalibrationOptions(bands=(12,))), "bands"
    )
    assert "level: " in python_error(lambda: calibration_mix(mtl, CalibrationOptions(level=2)), "level")
    out = images / "cal.json"
    assert cli_error(run, "matrix", "calibrate", mtl, "--bands", "12", "-o", out) == (
        "Error: --bands: Landsat 8 and 9 have bands 1 to 11, not 12"
    )
    assert cli_error(run, "matrix", "calibrate", mtl, "--level", "2", "-o", out).startswith(
        f"Error: --level: {mtl} is a Collection 1"
    )
    assert cli_error(run, "matrix", "calibrate", mtl, "--level", "2", "--to", "radiance", "-o", out) == (
        "Error: --to: level 2 is surface reflectance; radiance is a level 1 quantity"
    )
    assert not out.exists()


def test_flag_message():
    error = UsageError("ridge must be >= 0", parameter="ridge")
    assert flag_message(error) == "--ridge must be >= 0"
    assert flag_message(UsageError("k: too many", parameter="k"), "fit") == "-k: too many"
    assert flag_message(UsageError("k: too many", parameter="k"), "apply") == "--pca: too many"
    assert flag_message(UsageError("targets: 2 of 3", parameter="targets"), "apply") == "--fit: 2 of 3"
    # not at the start, or only a prefix of the first word: the option is put in front
    error = UsageError("the seed is negative", parameter="seed")
    assert flag_message(error) == "--seed: the seed is negative"
    assert flag_message(UsageError("seeds: -1", parameter="seed")) == "--seed: seeds: -1"
    # about no argument, or one no option sets: the message as it is
    assert flag_message(DataError("x.tif: truncated")) == "x.tif: truncated"
    assert flag_message(UsageError("jobs: no", parameter="jobs")) == "jobs: no"


def test_every_flag_in_the_table_is_an_option_of_the_commands():
    from chanmix.cli.main import cli

    def options(command) -> set[str]:
        found = {o for p in command.params for o in getattr(p, "opts", ())}
        for sub in getattr(command, "commands", {}).values():
            found |= options(sub)
        return found

    everywhere = set()
    for name in cli.list_commands(None):
        command = cli.get_command(None, name)
        everywhere |= options(command)
        for flag in COMMAND_FLAGS.get(name, {}).values():
            assert flag in options(command), (name, flag)
    assert set(FLAGS.values()) <= everywhere
    assert flags.flag_for("targets", "apply") == "--fit" and flags.flag_for("targets", "fit") == "--target"


def test_no_library_message_names_an_option():
    """Every error message outside chanmix.cli, checked in the source: none names an option. The
    exceptions are modules whose messages only the command line shows, or that speak of an
    environment variable too (--max-memory or CHANMIX_MAX_MEMORY)."""
    package = Path(chanmix.__file__).parent
    cli_only = {"pipeline.py", "budget.py"}
    option = re.compile(r"(^|[\s(])--?[a-z]")
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.parent.name == "cli" or path.name in cli_only:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                if option.search(_text(node.exc.args[0])):
                    found.append(f"{path.name}:{node.lineno}")
    assert found == []


def _text(node) -> str:
    """The text of a message expression, with ``{}`` for each value put in it."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp):
        return _text(node.left) + _text(node.right)
    return "{}"
