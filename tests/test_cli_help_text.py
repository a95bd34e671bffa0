"""Help and listings read well (issue 14): ``chanmix presets`` wrapped to the terminal (80
columns in pipes), fits' own words for --alpha, and what -j 0 and negative counts do."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import subprocesses
from chanmix.cli.options import parse_jobs
from chanmix.cli.presets import listing_lines
from chanmix.presets import PRESETS
from helpers import error_line, ok


def words(text: str) -> str:
    """`text` with every run of white space one space: help as Click wraps it, unwrapped."""
    return " ".join(text.split())


def too_long(lines: list[str], width: int) -> list[str]:
    """The lines wider than `width` that are not one unbreakable word (a URL) after the indent."""
    return [line for line in lines if len(line) > width and len(line.split()) > 1]


@pytest.mark.parametrize("columns", [50, 60, 80, 120, 200])
def test_the_preset_listing_fits_the_terminal_and_loses_no_word(run, columns):
    output = ok(run("presets", env={"COLUMNS": str(columns)})).output
    lines = output.splitlines()
    assert too_long(lines, columns) == []
    assert max(map(len, lines)) > columns - 15  # the room is used
    # the same words as unwrapped: every description and source, in order
    expected = " ".join(
        f"{p.name} {len(p.inputs)}->{len(p.outputs)} {p.description} source: {p.source}"
        for p in PRESETS.values()
    )
    assert words(output) == words(expected)


def test_the_listing_keeps_the_description_column_when_there_is_room():
    lines = listing_lines(100)
    first = next(iter(PRESETS.values()))
    column = lines[0].index(first.description.split()[0])
    assert lines[0].startswith(first.name) and column == max(map(len, PRESETS)) + 9
    continued = [line for line in lines if line.startswith(" ")]
    assert continued and all(line[:column].isspace() for line in continued)
    narrow = listing_lines(40)  # too narrow for a column: names alone, text indented below
    assert narrow[0].split() == [first.name, f"{len(first.inputs)}->{len(first.outputs)}"]
    assert narrow[1].startswith("    " + first.description.split()[0])


def test_the_listing_is_80_columns_in_a_pipe():
    env = subprocesses.environment()
    env.pop("COLUMNS", None)
    done = subprocess.run(
        [sys.executable, "-m", "chanmix", "presets"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert too_long(lines, 80) == [] and max(map(len, lines)) > 65
    assert all(line.split()[0].startswith("(http") for line in lines if len(line) > 80)  # URLs whole


@pytest.mark.parametrize("fit", ["pca", "lstsq", "mnf", "maf", "ica"])
def test_fits_say_what_alpha_does_to_a_fit(run, fit):
    text = words(ok(run("fit", fit, "--help")).output)
    assert "left out of the fit with keep or drop" in text and "fitted like any other band with mix" in text
    assert "passed through unmixed" not in text


@pytest.mark.parametrize("fit", ["pca", "lstsq", "mnf", "maf", "ica"])
def test_fits_say_that_quiet_hides_their_report(run, fit, samples, tmp_path):
    assert "no report of the fit on stdout" in words(ok(run("fit", fit, "--help")).output)
    loud = ok(run("fit", "pca", samples / "multispectral.tif", "-k", "2", "-o", tmp_path / "a.json"))
    quiet = ok(run("fit", "pca", samples / "multispectral.tif", "-k", "2", "-o", tmp_path / "b.json", "-q"))
    assert "PC1" in loud.stdout and quiet.stdout == "" and quiet.stderr == ""


def test_apply_keeps_its_own_words_for_alpha(run):
    text = words(ok(run("apply", "--help")).output)
    assert "An alpha channel is passed through unmixed and kept last, dropped, or mixed like a band." in text
    assert "left out of the fit" not in text


def test_jobs_help_says_what_zero_and_negative_counts_do(run, samples, tmp_path):
    text = words(ok(run("apply", "--help")).output)
    assert "a count >= 1, or 0 or -1 for one per core (other negative counts are refused)" in text
    assert parse_jobs(None, None, 0) == parse_jobs(None, None, -1) == (os.cpu_count() or 1)
    assert parse_jobs(None, None, 3) == 3
    args = ["apply", samples / "astronaut.png", "-p", "sepia", "-o", tmp_path / "s.png", "-q"]
    ok(run(*args, "-j", "0"))
    line = error_line(run(*args, "-j", "-2"), 2)
    assert "-j" in line and "-2: use a count >= 1, or 0 or -1 for all cores" in line
