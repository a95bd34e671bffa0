"""Shell completion (issue 14) through Click's completion machinery: commands, matrix
subcommands, preset names (-p, presets NAME, -m preset:NAME), Choice values (--to, --dtype),
files where a path goes; and the real program answering bash, zsh and fish as their scripts
ask it, without loading NumPy for the commands and preset names."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.shell_completion import BashComplete

import subprocesses
from chanmix.cli.main import cli
from chanmix.presets import PRESETS


def complete(words: str) -> list[tuple[str, str]]:
    """(type, value) of what completes the last word of `words` (``chanmix`` left out); a
    trailing space completes a new, empty word."""
    args = words.split()
    incomplete = "" if words.endswith(" ") or not words else args.pop()
    completion = BashComplete(cli, {}, "chanmix", "_CHANMIX_COMPLETE")
    return [(item.type, item.value) for item in completion.get_completions(args, incomplete)]


def values(words: str) -> list[str]:
    return [value for _, value in complete(words)]


def test_commands_and_matrix_subcommands():
    assert values("") == ["apply", "fit", "info", "matrix", "presets", "sheet"]
    assert values("ma") == ["matrix"]
    assert values("matrix c") == ["calibrate", "compose"]
    assert {"show", "invert", "export"} <= set(values("matrix "))
    assert values("fit m") == ["maf", "mnf"]


@pytest.mark.parametrize("words", ["apply x.png -p ", "apply x.png --preset ", "presets "])
def test_preset_names(words):
    assert values(words) == list(PRESETS)
    assert values(words + "gray") == ["gray-rec601", "gray-rec709", "gray-rec2020"]
    assert values(words + "nothing-like-it") == []


def test_presets_complete_with_their_description():
    completion = BashComplete(cli, {}, "chanmix", "_CHANMIX_COMPLETE")
    (item,) = completion.get_completions(["presets"], "sep")
    assert (item.value, item.help) == ("sepia", PRESETS["sepia"].description)


def test_matrices_are_files_or_preset_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert complete("apply x.png -m preset:sep") == [("plain", "preset:sepia")]
    assert values("matrix show preset:swap") == ["preset:swap-rb"]
    assert values("matrix compose a.json preset:inv") == ["preset:invert"]
    assert values("apply x.png -m pre") == [f"preset:{name}" for name in PRESETS]
    (tmp_path / "pretty.json").write_text("{}")  # a file starts so: files, as the shell lists them
    assert complete("apply x.png -m pre") == [("file", "pre")]
    assert complete("apply x.png -m m") == [("file", "m")]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("matrix calibrate MTL.txt --to ", ["reflectance", "radiance"]),
        ("matrix calibrate MTL.txt --to ra", ["radiance"]),
        ("matrix export m.json --to ", ["gdal-vrt", "imagemagick", "ffmpeg", "vips", "torch"]),
        ("matrix export m.json --to i", ["imagemagick"]),
        ("apply x.png --dtype float", ["float32", "float64"]),
        ("apply x.png --rescale ", ["clip", "minmax", "percentile"]),
        ("fit pca x.tif --products ", ["auto", "float32", "float64"]),
        ("apply x.png --alpha ", ["keep", "drop", "mix"]),
    ],
)
def test_choices(words, expected):
    assert values(words) == expected


@pytest.mark.parametrize(
    "words",
    [
        "apply ph",
        "apply a.png b.png c",
        "apply a.png -o o",
        "apply a.png -p sepia --save-matrix m",
        "apply a.png --fit t",
        "info sc",
        "fit pca a.tif -o p",
        "fit lstsq a.tif --target t",
        "fit ica s",
        "matrix calibrate L",
        "matrix invert p.json -o i",
    ],
)
def test_paths_are_left_to_the_shell(words):
    assert complete(words) == [("file", words.split()[-1])]


def test_options_complete_by_their_names():
    assert {"--preset", "--matrix", "--dtype", "--jobs", "--quiet"} <= set(values("apply x.png --"))
    assert values("--v") == ["--version"]


def _program(shell: str, words: str, cword: str, probe: bool = False) -> subprocess.CompletedProcess:
    """chanmix as a shell's completion script runs it; with `probe`, it then says on stderr
    whether NumPy was loaded."""
    env = subprocesses.environment()
    env.update({"_CHANMIX_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": cword})
    code = (
        "import sys\nfrom chanmix.cli.main import cli\n"
        "try:\n    cli(prog_name='chanmix')\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('numpy loaded' if 'numpy' in sys.modules else 'numpy not loaded', file=sys.stderr)"
    )
    args = [sys.executable, "-c", code] if probe else [sys.executable, "-m", "chanmix"]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def test_bash_asks_the_program():
    done = _program("bash", "chanmix apply x.png -p gray-rec7", "4")
    assert done.stdout.splitlines() == ["plain,gray-rec709"]
    assert _program("bash", "chanmix matrix calibrate m.txt --to r", "5").stdout.split() == [
        "plain,reflectance",
        "plain,radiance",
    ]


def test_zsh_and_fish_ask_the_program_with_descriptions():
    zsh = _program("zsh", "chanmix presets sep", "2").stdout.splitlines()
    assert zsh == ["plain", "sepia", PRESETS["sepia"].description]
    fish = _program("fish", "chanmix matrix co", "co").stdout.splitlines()
    assert len(fish) == 1 and fish[0].startswith("plain,compose\tCompose matrices applied in the order")


@pytest.mark.parametrize(("words", "cword"), [("chanmix ", "1"), ("chanmix presets ", "2")])
def test_commands_and_presets_complete_without_numpy(words, cword):
    done = _program("bash", words, cword, probe=True)
    assert done.stderr.strip().endswith("numpy not loaded"), done.stderr
    assert len(done.stdout.splitlines()) in (len(PRESETS), 6)  # presets, or the 6 commands


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_its_script(shell):
    env = subprocesses.environment()
    env["_CHANMIX_COMPLETE"] = f"{shell}_source"
    done = subprocess.run(
        [sys.executable, "-m", "chanmix"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and "_CHANMIX_COMPLETE" in done.stdout, done.stderr
    assert f"{shell}_complete" in done.stdout


def test_bash_completes_through_the_script_click_writes(tmp_path):
    """The real thing: bash sources the script, its completion function runs the program."""
    import os
    import shutil

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    program = tmp_path / "bin" / "chanmix"
    program.parent.mkdir()
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m chanmix "$@"\n')
    program.chmod(0o755)
    env = subprocesses.environment()
    env["PATH"] = f"{program.parent}{os.pathsep}{env.get('PATH', '')}"
    script = """
    eval "$(_CHANMIX_COMPLETE=bash_source chanmix)"
    ask() { COMPREPLY=(); COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _chanmix_completion chanmix;
            echo "${COMPREPLY[*]}"; }
    ask chanmix apply x.png -p gray-rec7
    ask chanmix presets tri
    ask chanmix matrix calibrate m.txt --to rad
    ask chanmix matrix in
    """
    done = subprocess.run([bash, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.splitlines() == ["gray-rec709", "tritanopia", "radiance", "invert"]
