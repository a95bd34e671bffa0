"""Every ``chanmix`` command of README.md's shell blocks runs as written and exits 0.

The commands run in README order, each through ``bash -o pipefail -c`` (so wildcards, pipes
and redirections mean what they mean in a terminal), in one folder that holds a link to
``sample_images/``: a command may read what an earlier one wrote (``fit ... -o pca.json``,
then ``apply -m pca.json``). ``chanmix`` there is the package these tests imported, run by
this interpreter (see subprocesses.py). A command that cannot run here ends with a
``# needs ...`` comment in the README and is skipped with that reason.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import subprocesses

README = Path(__file__).resolve().parent.parent / "README.md"
SAMPLES = README.parent / "sample_images"

#: Languages of the fenced blocks whose lines are shell commands.
SHELL_BLOCKS = ("sh", "bash", "shell", "console")
#: ``pip install ... &&`` before a command (the README's first line): the tests run the command
#: alone, on the chanmix they imported.
INSTALL = re.compile(r"^pip install [^&|;]*&&\s*")

#: A chanmix command: at the start of the line or of a pipeline stage, list item or command
#: substitution, after VAR=value assignments and time, env, exec or nice.
CHANMIX = re.compile(r"(?:^|[|&;(])\s*(?:\w+=\S*\s+|(?:time|env|exec|nice)\s+)*chanmix(?=[\s)]|$)")
#: The README's marker of a command that cannot run in a test: a trailing ``# needs ...``.
NEEDS = re.compile(r"\s#\s*(needs\b[^#]*?)\s*$")
#: At most this many commands may be marked: the README is meant to run as written.
MOST_MARKED = 8


@dataclass(frozen=True)
class Command:
    """One logical shell line of the README (continuations joined) that runs chanmix."""

    line: int  # 1-based line of README.md where it starts
    text: str
    needs: str | None  # the reason of a ``# needs ...`` marker, else None


def shell_commands(markdown: str) -> list[Command]:
    """The chanmix commands of `markdown`'s shell blocks, in order; lines ending with a
    backslash are joined to the next, as the shell joins them."""
    commands: list[Command] = []
    in_shell = in_block = False
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(markdown.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            in_shell = not in_block and stripped[3:].strip().lower() in SHELL_BLOCKS
            in_block = not in_block
            pending = []
            continue
        if not in_shell:
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        text = INSTALL.sub("", " ".join([*pending, stripped]).strip())  # the checkout is installed
        pending = []
        if text.startswith("#") or not CHANMIX.search(text):
            continue
        marker = NEEDS.search(text)
        commands.append(Command(start, text, marker.group(1) if marker else None))
    return commands


COMMANDS = shell_commands(README.read_text(encoding="utf-8"))


def test_the_parser_joins_lines_and_finds_markers_and_pipes():
    text = "\n".join(
        [
            "```sh",
            "# a comment",
            "chanmix apply a.png \\",
            "    -p sepia -o b.png   # a note",
            "cat a.png | chanmix apply - -p invert -o c.png",
            "pip install .",
            "CHANMIX_MAX_MEMORY=1G chanmix info a.png",
            'time chanmix presets && eval "$(_CHANMIX_COMPLETE=bash_source chanmix)"',
            "pip install chanmix  # chanmix itself",
            "chanmix fit pca x.tif -k 3 -o p.json --scheduler tcp://h:8786  # needs a cluster",
            "pip install . && chanmix apply a.png -p sepia -o d.png",
            "```",
            "```python",
            "chanmix = 1",
            "```",
            "```make",
            "\t$(CHANMIX) apply $< -o $@",
            "```",
        ]
    )
    found = shell_commands(text)
    assert [c.line for c in found] == [3, 5, 7, 8, 10, 11]
    assert found[0].text == "chanmix apply a.png -p sepia -o b.png   # a note"
    assert found[-1].text == "chanmix apply a.png -p sepia -o d.png"  # the install left to the tests
    assert [c.needs for c in found] == [None, None, None, None, "needs a cluster", None]


def test_the_readme_has_commands_and_few_exceptions():
    assert len(COMMANDS) >= 40
    marked = [c for c in COMMANDS if c.needs]
    assert len(marked) <= MOST_MARKED, [c.text for c in marked]


class ReadmeSession:
    """The README's commands run in order, once each, in one folder; results kept by index."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "sample_images").symlink_to(SAMPLES, target_is_directory=True)
        bin_folder = folder.parent / "bin"
        bin_folder.mkdir()
        script = bin_folder / "chanmix"
        script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m chanmix "$@"\n')
        script.chmod(0o755)
        env = subprocesses.environment()
        env.pop("CHANMIX_SCHEDULER", None)
        env["PATH"] = os.pathsep.join([str(bin_folder), env.get("PATH", "")])
        self.env = env
        self.results: dict[int, subprocess.CompletedProcess[str] | str] = {}

    def result(self, index: int) -> subprocess.CompletedProcess[str] | str:
        """The finished process of command `index`, or why it was not run; every command
        before it has run first."""
        for earlier in range(len(self.results), index + 1):
            self.results[earlier] = self._run(COMMANDS[earlier])
        return self.results[index]

    def _run(self, command: Command) -> subprocess.CompletedProcess[str] | str:
        reason = why_not(command)
        if reason:
            return reason
        return subprocess.run(
            ["bash", "-o", "pipefail", "-c", command.text],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )


def why_not(command: Command) -> str | None:
    """Why `command` cannot run here: its README marker, or an optional extra not installed."""
    if command.needs:
        return f"README line {command.line}: {command.needs}"
    if ".zarr" in command.text and importlib.util.find_spec("zarr") is None:
        return "Zarr stores need the dask extra (zarr), not installed"
    if "--scheduler" in command.text and importlib.util.find_spec("distributed") is None:
        return "--scheduler needs the dask extra (distributed), not installed"
    if ".heic" in command.text and importlib.util.find_spec("pillow_heif") is None:
        return "HEIC inputs need the heic extra (pillow-heif), not installed"
    return None


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> ReadmeSession:
    if shutil.which("bash") is None:
        pytest.skip("the README's commands are run by bash, not installed")
    folder = tmp_path_factory.mktemp("readme") / "work"
    folder.mkdir()
    return ReadmeSession(folder)


@pytest.mark.parametrize("index", range(len(COMMANDS)), ids=[f"line{c.line}" for c in COMMANDS])
def test_readme_command_runs(session: ReadmeSession, index: int):
    command = COMMANDS[index]
    result = session.result(index)
    if isinstance(result, str):
        pytest.skip(result)
    where = f"README.md line {command.line}: {command.text}"
    assert "Traceback" not in result.stderr, f"{where}\n{result.stderr}"
    assert result.returncode == 0, f"{where}\nexit {result.returncode}\n{result.stderr[-2000:]}"
