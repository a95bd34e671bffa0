"""The fuzz harness (bench/fuzz.py): a short deterministic campaign, and the inputs of tests/data/.

Every case is a new ``python -m chanmix`` process of this checkout under a 2 GiB address-space
limit and a timeout, checked for tracebacks, crashes, hangs, stray stderr lines, leftover
files and outputs touched by a failed run (see bench/fuzz.py). Re-run a failing case with
``python bench/fuzz.py --seed 0 --case ID``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import fuzz  # noqa: E402

DATA = ROOT / "tests" / "data"
SHORT_CASES = 250  # about 45 s on 2 cores when nothing hangs


def _explain(report: fuzz.Report) -> str:
    lines = [report.table(), ""]
    for r in report.failures[:20]:
        where = f"[{r.case.seed}, {r.case.mutation}]"
        lines.append(f"case {r.case.id}: {r.case.shell()} {where} -> exit {r.returncode}")
        lines += ["    " + d for d in r.details]
    return "\n".join(lines)


def test_short_fuzz_campaign_finds_nothing():
    # Stops early after 10 failing cases, so that hangs (20 s each) keep a failing run short.
    report = fuzz.fuzz(SHORT_CASES, seed=0, jobs=2, timeout=20, max_failures=10)
    assert not report.failures, _explain(report)


def test_harness_is_deterministic_and_covers_every_input_kind():
    seeds = fuzz.all_seeds()
    first = [fuzz.make_case(seeds, 0, i) for i in range(SHORT_CASES)]
    again = [fuzz.make_case(seeds, 0, i) for i in range(SHORT_CASES)]
    assert first == again
    kinds = {c.kind for c in first}
    for kind in (
        "tiff",
        "png",
        "jpeg",
        "bmp",
        "npy",
        "webp",
        "avif",
        "jxl",
        "matrix json",
        "matrix csv",
        "matrix txt",
        "matrix npy",
        "matrix npz",
        "envi",
        "mtl txt",
        "mtl xml",
    ):
        assert kind in kinds
    assert any(k.startswith("stdin ") for k in kinds)
    assert {c.command for c in first} >= {"info", "apply", "fit pca", "matrix show", "matrix calibrate"}
    assert any(s.origin == "tests/data" for s in seeds)
    envi = [c for c in first if c.kind == "envi"]
    # an ENVI case: a header and its data file (or the header alone when the data file is
    # missing), named as INPUT by either; apply writes TIFF or ENVI, its header an output too
    assert {c.command for c in envi} == {"info", "apply", "fit pca"}
    assert any(len(c.files) == 2 for c in envi) and any(len(c.files) == 1 for c in envi)
    named = {c.argv[1].endswith(".hdr") for c in envi}
    assert named == {True, False}
    assert {Path(c.outputs[0]).suffix for c in envi if c.command == "apply"} >= {".tif", ".img", ".bil"}
    assert all(
        "out/out.hdr" in c.outputs for c in envi if c.command == "apply" and c.outputs[0][-4:] != ".tif"
    )


def test_kinds_restrict_a_campaign():
    seeds = fuzz.all_seeds()
    cases = [fuzz.make_case(seeds, 6, i, ["envi", "mtl"]) for i in range(100)]
    assert {c.kind for c in cases} == {"envi", "mtl txt", "mtl xml"}
    assert {c.command for c in cases if c.kind != "envi"} == {"matrix calibrate"}
    assert all(c.outputs == ("out/cal.json",) for c in cases if c.kind != "envi")


#: A stand-in for chanmix that misbehaves as its first argument says.
FAKE_CHANMIX = """
import os, signal, sys, time
what = sys.argv[1]
if what == "hang":
    time.sleep(60)
if what == "crash":
    os.kill(os.getpid(), signal.SIGSEGV)
if what == "memory":
    bytearray(3 << 30)
if what == "traceback":
    raise KeyError("boom")
if what == "exit-code":
    sys.exit(3)
if what == "leftover":
    open("out/.out.tif.x1y2.part", "wb").close()
if what == "output-changed":
    open("out/out.tif", "wb").close()
if what == "bad-output":
    open("out/out.tif", "wb").write(b"not a TIFF")
    sys.exit(0)
if what == "warning":
    import warnings
    warnings.warn("overflow encountered in cast", RuntimeWarning)
    sys.exit(0)
if what == "stderr":
    print("a warning", file=sys.stderr)
print("Error: in/x.tif: bad input", file=sys.stderr)
sys.exit(1)
"""


def test_harness_catches_each_kind_of_failure(tmp_path):
    src = tmp_path / "src"
    (src / "chanmix").mkdir(parents=True)
    (src / "chanmix" / "__init__.py").write_text("")
    (src / "chanmix" / "__main__.py").write_text(FAKE_CHANMIX)
    kinds = ["clean", *fuzz.CATEGORIES]
    cases = [
        fuzz.Case(i, "fake", "fake", "apply", "none", {}, (kind,), outputs=("out/out.tif",))
        for i, kind in enumerate(kinds)
    ]
    report = fuzz.campaign(cases, jobs=2, timeout=3, memory=1 << 30, src=src)
    got = {kinds[r.case.id]: r.failures[:1] for r in report.results}
    assert got == {"clean": (), **{kind: (kind,) for kind in fuzz.CATEGORIES}}, report.table()


REGRESSION = [p.name for p in sorted(DATA.iterdir()) if p.is_file() and p.name != "MANIFEST.md"]


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_input(name):
    """Each file of tests/data/ through info, apply and fit pca: a clean result, in time."""
    commands = ("info", "apply", "fit pca")
    cases = [fuzz.file_case(DATA / name, command, i) for i, command in enumerate(commands)]
    report = fuzz.campaign(cases, jobs=3, timeout=10)
    assert not report.failures, _explain(report)


def test_cases_are_the_same_bytes_in_another_second(monkeypatch):
    # zip archives (.npz seeds and mutations) once carried the clock's time: the same case
    # differed when the two runs straddled a two-second step
    import time as time_module

    seeds = fuzz.all_seeds()
    first = [fuzz.make_case(seeds, 0, i) for i in range(SHORT_CASES)]
    later = time_module.time() + 86400 * 400
    monkeypatch.setattr(time_module, "time", lambda: later)
    monkeypatch.setattr(time_module, "localtime", lambda *a: time_module.gmtime(later))
    assert [fuzz.make_case(fuzz.all_seeds(), 0, i) for i in range(SHORT_CASES)] == first
