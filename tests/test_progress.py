"""Progress: what the core reports (passes, rows or tiles, bytes) and the bar the command line
draws from it on a terminal, and only there.

The bar's text is checked on a fake clock; the command line through CliRunner with the
terminal test (:func:`chanmix.cli.progress.is_terminal`) replaced; and once for real, a
process on a pseudo-terminal interrupted while its bar shows.
"""

from __future__ import annotations

import io
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

import chanmix.cli.progress as bar_module
from chanmix import Mix
from chanmix.cli.progress import Bar, is_terminal, progress_bar, say
from chanmix.fitfiles import lstsq_from_files, pca_from_files
from chanmix.pipeline import ApplyOptions, MixRecipe, apply_file
from chanmix.rescale import Rescale
from helpers import error_line
from subprocesses import command

#: One frame of a one-image bar.
ONE = re.compile(
    r"^(?:pass (\d+) )?(\w+) (rows|tiles) (\d+)/(\d+) (\d+)% \d+\.\d MB/s (?:\d+:)?(?:\d+:\d\d|--:--) left$"
)
#: One frame of a several-images bar.
SEVERAL = re.compile(r"^\[(\d+)/(\d+)\] (\d+)% \d+\.\d MB/s (?:\d+:)?(?:\d+:\d\d|--:--) left$")


class Recorder:
    """A Progress that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def stage(self, name: str, total: int, unit: str) -> None:
        self.calls.append(("stage", name, total, unit))

    def advance(self, units: int, nbytes: int) -> None:
        self.calls.append(("advance", units, nbytes))

    def passes(self) -> list[tuple[str, int, str, int, int]]:
        """(name, total, unit, units advanced, bytes) of each pass."""
        out: list[list] = []
        for call in self.calls:
            if call[0] == "stage":
                out.append([call[1], call[2], call[3], 0, 0])
            else:
                out[-1][3] += call[1]
                out[-1][4] += call[2]
        return [tuple(p) for p in out]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _scene(path: Path, height: int = 300, width: int = 200, **kwargs) -> Path:
    rng = np.random.default_rng(3)
    tifffile.imwrite(
        path, rng.integers(0, 65536, (height, width, 3), dtype=np.uint16), photometric="rgb", **kwargs
    )
    return path


MIX = "0.5,0.5,0; 0,1,0; 0,0,1"


# --- what the core reports --------------------------------------------------------------


def test_apply_reports_a_measuring_pass_then_the_mixing_pass_in_rows(tmp_path):
    source = _scene(tmp_path / "in.tif", rowsperstrip=16)
    recorder = Recorder()
    options = ApplyOptions(rescale=Rescale("minmax"))
    recipe = MixRecipe((Mix.identity(3),))
    apply_file(source, tmp_path / "out.tif", recipe, options, recorder)
    row_bytes = 200 * 3 * 2
    assert recorder.passes() == [
        ("measuring", 300, "rows", 300, 300 * row_bytes),
        ("mixing", 300, "rows", 300, 300 * row_bytes),
    ]
    assert all(units > 0 for kind, units, *_ in recorder.calls if kind == "advance")


def test_a_percentile_reports_each_of_its_passes(tmp_path):
    # more than 2^22 values: not gathered in the first pass; few distinct ones: few passes
    rng = np.random.default_rng(5)
    source = tmp_path / "in.tif"
    tifffile.imwrite(source, rng.integers(0, 200, (2100, 2100, 3), dtype=np.uint16), rowsperstrip=64)
    recorder = Recorder()
    options = ApplyOptions(rescale=Rescale("percentile"), dtype="uint8")
    apply_file(source, tmp_path / "out.tif", MixRecipe((Mix.identity(3),)), options, recorder)
    passes = recorder.passes()
    assert [p[0] for p in passes[:-1]] == ["measuring"] * (len(passes) - 1) and len(passes) >= 3
    assert passes[-1][0] == "mixing"
    assert all(p[1:4] == (2100, "rows", 2100) for p in passes)
    assert all(p[4] == 2100 * 2100 * 3 * 2 for p in passes)


def test_a_png_output_reports_its_encoding_after_the_mixing_pass(tmp_path):
    source = _scene(tmp_path / "in.tif", rowsperstrip=16)
    recorder = Recorder()
    apply_file(source, tmp_path / "out.png", MixRecipe((Mix.identity(3),)), ApplyOptions(), recorder)
    mixing = ("mixing", 300, "rows", 300, 300 * 200 * 3 * 2)
    assert recorder.passes() == [mixing, ("encoding", 1, "image", 0, 0)]


def test_tiles_mixed_one_by_one_are_counted_as_tiles(tmp_path):
    source = _scene(tmp_path / "in.tif", height=100, width=90, tile=(32, 32))
    recorder = Recorder()
    apply_file(source, tmp_path / "out.tif", MixRecipe((Mix.identity(3),)), ApplyOptions(), recorder)
    tiles = 4 * 3  # ceil(100 / 32) x ceil(90 / 32)
    assert recorder.passes() == [("mixing", tiles, "tiles", tiles, 100 * 90 * 3 * 2)]


class _HereWorkers:
    """Workers that run each window here, as a cluster would elsewhere."""

    def ordered_map(self, function, items):
        return map(function, items)

    def unordered_map(self, function, items):
        return map(function, reversed(list(items)))


@pytest.mark.parametrize("ext", [".tif", ".zarr"])
def test_windows_done_by_workers_are_counted(tmp_path, ext):
    if ext == ".zarr":
        pytest.importorskip("zarr", reason="the dask extra (zarr) is not installed")
    source = _scene(tmp_path / "in.tif", rowsperstrip=16)
    recorder = Recorder()
    options = ApplyOptions(rescale=Rescale("minmax"))
    apply_file(
        source,
        tmp_path / f"out{ext}",
        MixRecipe((Mix.identity(3),)),
        options,
        recorder,
        workers=_HereWorkers(),
    )
    assert [p[:4] for p in recorder.passes()] == [
        ("measuring", 300, "rows", 300),
        ("mixing", 300, "rows", 300),
    ]


def test_fits_report_one_pass_over_every_input(tmp_path):
    a = _scene(tmp_path / "a.tif", rowsperstrip=16)
    b = _scene(tmp_path / "b.tif", height=120, rowsperstrip=50)
    recorder = Recorder()
    pca_from_files([str(a), str(b)], 2, progress=recorder)
    assert recorder.passes() == [("fitting", 420, "rows", 420, 420 * 200 * 3 * 2)]
    recorder = Recorder()
    lstsq_from_files([str(a)], [str(a)], progress=recorder)  # the target's rows are read too
    assert recorder.passes() == [("fitting", 300, "rows", 300, 2 * 300 * 200 * 3 * 2)]


# --- the bar's text -----------------------------------------------------------------------


def test_one_image_shows_its_pass_rows_percent_rate_and_time_left():
    clock, screen = Clock(), io.StringIO()
    bar = Bar(screen, passes=2, clock=clock)
    assert bar.text() is None  # nothing to show before a pass begins
    bar.stage("measuring", 400, "rows")
    clock.now += 2
    bar.advance(100, 4_000_000)
    assert bar.text() == "pass 1 measuring rows 100/400 25% 2.0 MB/s 0:06 left"
    bar.stage("mixing", 400, "rows")
    assert bar.text() == "pass 2 mixing rows 0/400 0% 0.0 MB/s --:-- left"
    clock.now += 1
    bar.advance(399, 1_000_000)
    assert bar.text() == "pass 2 mixing rows 399/400 99% 1.0 MB/s 0:00 left"  # 100% only when all are


def test_a_single_pass_is_not_numbered_and_long_runs_show_hours():
    clock = Clock()
    bar = Bar(io.StringIO(), clock=clock)
    bar.stage("reading", 1000, "tiles")
    clock.now += 3600
    bar.advance(250, 10**9)
    assert bar.text() == "reading tiles 250/1000 25% 0.3 MB/s 3:00:00 left"


def test_several_files_show_a_percent_that_agrees_with_the_count():
    # the bug of issue 14: "[0/3] 33%" while no file was done
    clock = Clock()
    bar = Bar(io.StringIO(), files=3, clock=clock)
    first = bar.file(0)
    first.stage("mixing", 100, "rows")
    clock.now += 10
    first.advance(100, 5_000_000)
    text = bar.text()
    assert text is not None and text.startswith("[0/3] 0% ")
    assert text.endswith(" 0:20 left")  # but the time left counts the file's rows done
    bar.file_done(0)
    assert bar.text() == "[1/3] 33% 0.5 MB/s 0:20 left"
    bar.file_done(1)
    assert bar.text() == "[2/3] 66% 0.5 MB/s 0:05 left"
    bar.file_done(2)
    assert bar.text() is None  # all done: nothing is drawn after (or over) the summary


def test_the_time_left_of_several_files_never_goes_back_from_pass_to_pass():
    # a percentile makes an unknown number of measuring passes before the mixing one
    clock = Clock()
    bar = Bar(io.StringIO(), files=2, passes=2, clock=clock)
    first = bar.file(0)
    shares = []
    for name in ("measuring", "measuring", "measuring", "mixing"):
        first.stage(name, 10, "rows")
        for _ in range(2):
            shares.append(bar_module._share(bar._passes[0], bar.passes))
            first.advance(5, 0)
        shares.append(bar_module._share(bar._passes[0], bar.passes))
    assert shares == sorted(shares) and shares[0] == 0 and shares[-1] == 0.99
    assert shares[2] == 0.5 and shares[-4] == 0.5  # measuring: the first half, mixing: the second
    clock.now += 10
    assert bar.text() == "[0/2] 0% 0.0 MB/s 0:10 left"  # 0.99 of one file of two in 10 s


def test_a_fit_of_several_files_before_they_are_mixed_shows_its_own_pass():
    clock = Clock()
    bar = Bar(io.StringIO(), files=2, passes=2, clock=clock)
    bar.stage("fitting", 50, "rows")
    bar.advance(10, 0)
    assert (bar.text() or "").startswith("pass 1 fitting rows 10/50 20% ")
    bar.file(0).stage("mixing", 30, "rows")
    assert (bar.text() or "").startswith("[0/2] 0% ")


def test_a_drawn_bar_is_erased_and_messages_start_on_a_clean_line():
    clock, screen = Clock(), io.StringIO()
    bar = Bar(screen, clock=clock)
    bar.stage("mixing", 10, "rows")
    bar.draw()
    drawn = "mixing rows 0/10 0% 0.0 MB/s --:-- left"
    assert screen.getvalue() == "\r" + drawn
    bar.message("Warning: something")
    assert screen.getvalue().endswith("\r" + " " * len(drawn) + "\rWarning: something\n")
    bar.draw()
    bar.close()
    assert screen.getvalue().endswith("\r" + drawn + "\r" + " " * len(drawn) + "\r")


def test_no_bar_off_a_terminal_or_with_quiet(monkeypatch):
    monkeypatch.setattr(bar_module, "is_terminal", lambda stream: False)
    with progress_bar(False) as bar:
        assert bar is None
    monkeypatch.setattr(bar_module, "is_terminal", lambda stream: True)
    with progress_bar(True) as bar:
        assert bar is None
    with progress_bar(False) as bar:
        assert isinstance(bar, Bar)
    assert not bar_module._shown  # forgotten when the run ends
    assert not is_terminal(io.StringIO())
    assert is_terminal(_Screen())


class _Screen(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_say_prints_above_a_bar(monkeypatch, capsys):
    monkeypatch.setattr(bar_module, "is_terminal", lambda stream: True)
    monkeypatch.setattr(bar_module, "DELAY", 3600.0)
    with progress_bar(False) as bar:
        assert bar is not None
        bar.stage("mixing", 4, "rows")
        bar.draw()
        say("Error: x.tif: broken")
    err = capsys.readouterr().err
    assert err.startswith("\rmixing rows 0/4 ") and "\rError: x.tif: broken\n" in err
    assert err.count("mixing") == 1  # erased, and not drawn again before the long delay


# --- the command line ---------------------------------------------------------------------


@pytest.fixture
def terminal(monkeypatch):
    """stderr taken for a terminal, the bar shown at once and redrawn every millisecond."""
    monkeypatch.setattr(bar_module, "is_terminal", lambda stream: True)
    monkeypatch.setattr(bar_module, "DELAY", 0.0)
    monkeypatch.setattr(bar_module, "INTERVAL", 0.001)


def _frames(stderr: str) -> list[str]:
    """The bar's frames in `stderr` (blank erasures left out)."""
    return [part.rstrip() for part in stderr.split("\r") if part.strip() and "\n" not in part]


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    """An image whose passes take a good part of a second: many redraws."""
    return _scene(tmp_path_factory.mktemp("large") / "large.tif", height=1500, width=1500, rowsperstrip=8)


def test_apply_on_a_terminal_shows_consistent_frames_and_erases_them(run, terminal, large, tmp_path):
    result = run("apply", large, "-c", MIX, "--rescale", "minmax", "-o", tmp_path / "out.tif")
    assert result.exit_code == 0, result.output
    frames = _frames(result.stderr)
    assert frames, result.stderr
    seen = set()
    for frame in frames:
        match = ONE.match(frame)
        assert match, frame
        number, name, unit, done, total, percent = match.groups()
        seen.add((number, name))
        assert unit == "rows" and total == "1500" and int(percent) == int(done) * 100 // int(total)
    assert seen <= {("1", "measuring"), ("2", "mixing")}
    # the bar erased, then the summary line
    erased, summary = result.stderr.rsplit("\r", 1)
    assert (
        erased.rsplit("\r", 1)[1].strip() == ""
        and summary == f"1 image mixed: {large} -> {tmp_path / 'out.tif'}\n"
    )


def test_a_batch_on_a_terminal_counts_files_and_percent_alike(run, terminal, large, tmp_path):
    inputs = [large, _scene(tmp_path / "b.tif", height=900, width=1500, rowsperstrip=8)]
    result = run("apply", *inputs, "-c", MIX, "-O", tmp_path / "out", "-o", "{stem}.tif", "-j", "2")
    assert result.exit_code == 0, result.output
    frames = _frames(result.stderr)
    assert frames, result.stderr
    for frame in frames:
        match = SEVERAL.match(frame)
        assert match, frame
        done, total, percent = map(int, match.groups())
        assert total == 2 and percent == done * 100 // total
    assert result.stderr.rsplit("\r", 1)[1] == "2 of 2 images mixed, 0 failed\n", result.stderr


def test_info_and_fit_show_their_reading_pass(run, terminal, large, tmp_path):
    info = run("info", large)
    assert info.exit_code == 0 and info.stdout.startswith(str(large))
    assert [ONE.match(f).group(2) for f in _frames(info.stderr)] == ["reading"] * len(_frames(info.stderr))
    assert _frames(info.stderr), info.stderr
    quiet = run("info", large, "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == info.stdout
    fit = run("fit", "pca", large, "-k", "2", "-o", tmp_path / "pca.json")
    assert fit.exit_code == 0 and _frames(fit.stderr)
    assert all(ONE.match(f).group(2) == "fitting" for f in _frames(fit.stderr))


def test_nothing_is_drawn_with_quiet_off_a_terminal_or_in_the_first_second(run, large, tmp_path, monkeypatch):
    args = ("apply", large, "-c", MIX, "--rescale", "minmax", "-o", tmp_path / "out.tif")
    result = run(*args)  # CliRunner's stderr is no terminal: the summary line alone
    assert result.exit_code == 0 and result.stderr == f"1 image mixed: {large} -> {tmp_path / 'out.tif'}\n"
    monkeypatch.setattr(bar_module, "is_terminal", lambda stream: True)
    monkeypatch.setattr(bar_module, "INTERVAL", 0.001)
    monkeypatch.setattr(bar_module, "DELAY", 0.0)
    assert run(*args, "-q").stderr == ""
    monkeypatch.setattr(bar_module, "DELAY", 3600.0)  # a run shorter than the delay: no bar
    assert run(*args).stderr == f"1 image mixed: {large} -> {tmp_path / 'out.tif'}\n"


def test_a_failure_leaves_a_clean_error_line(run, terminal, tmp_path):
    # every pixel nodata: the measuring pass runs through, then the rescale has nothing to map
    source = tmp_path / "void.tif"
    tifffile.imwrite(source, np.zeros((1500, 1500, 3), dtype=np.uint16), photometric="rgb", rowsperstrip=8)
    result = run("apply", source, "-c", MIX, "--rescale", "minmax", "--nodata", "0", "-o", tmp_path / "o.tif")
    assert result.exit_code == 2
    assert _frames(result.stderr), result.stderr
    before, line = result.stderr.rsplit("\r", 1)
    assert line.startswith("Error: --rescale minmax: the image has no valid pixel") and line.endswith("\n")
    assert before.rsplit("\r", 1)[1].strip() == ""  # the bar was erased first
    assert not (tmp_path / "o.tif").exists()
    plain = run(
        "apply", source, "-c", MIX, "--rescale", "minmax", "--nodata", "0", "-o", tmp_path / "o.tif", "-q"
    )
    error_line(plain, 2)


# --- for real: a process on a pseudo-terminal ---------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals and signals")
def test_interrupted_on_a_terminal_the_bar_gives_way_to_one_error_line(tmp_path):
    import pty

    source = _scene(tmp_path / "in.tif", height=3000, width=2000, rowsperstrip=16)
    base, env = command()
    env["COLUMNS"] = "200"
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*base, "apply", str(source), "-c", MIX, "--rescale", "percentile", "-o", str(tmp_path / "o.tif")],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    seen, interrupted, deadline = b"", False, time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the process is gone: the terminal is closed
                    break
                if not data:
                    break
                seen += data
            if not interrupted and b" left" in seen:
                process.send_signal(signal.SIGINT)
                interrupted = True
            if process.poll() is not None and not select.select([master], [], [], 0.1)[0]:
                break
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        os.close(master)
    text = seen.decode()
    assert interrupted, text
    assert process.returncode == 130, text
    frames = _frames(text.replace("\r\n", "\n"))
    assert frames and all(ONE.match(f) for f in frames), text
    before, line = text.rsplit("\r", 2)[0], text.rsplit("\r", 2)[1]
    assert line == "Error: interrupted" and text.endswith("\r\n"), text
    assert before.rsplit("\r", 1)[1].strip() == ""  # erased before the error line
    assert not (tmp_path / "o.tif").exists()
