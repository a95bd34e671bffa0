"""Fuzz chanmix's readers through its command line, one new process per case.

    python bench/fuzz.py --cases 2000 --seed 1 --jobs 2 --out fuzz-failures/
    python bench/fuzz.py --seed 1 --case 17 --case 933     # re-run cases by id, verbosely
    python bench/fuzz.py --cases 3000 --seed 6 --kinds envi,mtl   # only these inputs

Each case mutates one seed (bench/fuzz_inputs.py: generated images and matrices, tests/data/,
a sample of ../shared/corpus) and runs ``python -m chanmix`` from this checkout's src/ on it:
``info``, ``apply`` or ``fit pca`` on an image file, ``apply -m`` or ``matrix show`` on a
matrix file, ``apply -`` with the image on stdin, ``info``, ``apply`` (to TIFF or ENVI) or
``fit pca`` on an ENVI raster (a header and its data file, either named), or ``matrix
calibrate`` on a Landsat MTL file (text or XML). Each process runs in its own folder
(in/, out/, and tmp/ as TMPDIR) under an address-space limit (RLIMIT_AS) and a timeout; a
file with known bytes (a sentinel) stands at every output path before the run.

A case fails on (categories, in the order one is reported as primary):

- hang: no exit within the timeout (the stacks, dumped by faulthandler on SIGABRT, are kept);
- crash: killed by a signal; memory: MemoryError, "Unable to allocate", or killed at the cap;
- traceback: "Traceback" on stderr; exit-code: an exit code other than 0, 1, 2;
- stderr: a failed run whose stderr is not exactly one line starting "Error: ";
- warning: a Python warning (RuntimeWarning: overflow, ComplexWarning...) on a successful run;
- leftover: any file in out/ but the outputs, in in/ but the inputs, or in tmp/;
- output-changed: after a non-zero exit, an output is not the sentinel it was;
- bad-output: after exit 0, an output that is missing, still the sentinel, or unreadable.

Case ``i`` of seed ``S`` is drawn from ``random.Random(f"chanmix-fuzz:{S}:{i}")`` over the
seed list, so it is reproducible by id for the same seed list (same corpus presence, same
tests/data/) and the same ``--kinds``; ``--out`` saves each failing case as files plus the
command that reproduces it.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import functools
import json
import os
import random
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_check import CATEGORIES, SENTINEL, check  # noqa: E402
from fuzz_inputs import CORPUS, DATA, ROOT, Seed, all_seeds, mutate, mutate_envi  # noqa: E402

SRC = ROOT / "src"
GiB = 1 << 30
_MATRIX_IMAGES = ("tiled.tif", "rgb8.png")  # 3-band generated seeds that -m matrices are applied to
#: What a case feeds chanmix, and how often: an image file, a matrix file, an image on stdin,
#: an ENVI raster (header + data file), a Landsat MTL file (matrix calibrate). ``--kinds``
#: restricts a campaign to some of them.
TARGETS = {"image": 60, "matrix": 25, "stdin": 15, "envi": 15, "mtl": 10}


@dataclass(frozen=True)
class Case:
    """One chanmix run: files to create in the case folder, arguments, stdin, outputs."""

    id: int
    seed: str
    kind: str  # table row: the input's format, "matrix <fmt>" or "stdin <fmt>"
    command: str  # info, apply, fit pca, matrix show, matrix calibrate
    mutation: str
    files: dict[str, bytes]  # path relative to the case folder -> bytes (an ENVI pair: two)
    argv: tuple[str, ...]  # arguments after "python -m chanmix"
    stdin: str | None = None  # a file of `files` fed on stdin
    outputs: tuple[str, ...] = ()

    def shell(self) -> str:
        line = "python -m chanmix " + shlex.join(self.argv)
        return line + (f" < {shlex.quote(self.stdin)}" if self.stdin else "")


@dataclass
class Result:
    case: Case
    returncode: int | None  # None: killed after the timeout
    stderr: str
    seconds: float
    failures: tuple[str, ...] = ()
    signature: str = ""
    details: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- cases


def _coeffs(rng: random.Random, m: int, n: int) -> str:
    cols = n + (rng.random() < 0.3)
    return ";".join(",".join(f"{rng.uniform(-1, 1.5):.2f}" for _ in range(cols)) for _ in range(m))


def _apply_args(rng: random.Random, bands: int | None) -> tuple[list[str], str]:
    ext = rng.choice((".tif", ".tif", ".png", ".npy", ".jpg", ".webp", ".jxl"))
    m = 3 if ext in (".png", ".jpg", ".webp", ".jxl") else rng.choice((1, 2, 3, 4))
    args = ["--pca", "1"] if bands is None else ["-c", _coeffs(rng, m, bands)]
    if ext in (".png", ".jpg", ".webp", ".jxl"):
        args += ["--dtype", "uint8"]
    elif rng.random() < 0.3:
        args += ["--dtype", rng.choice(("float32", "uint16", "int16"))]
    if rng.random() < 0.2:
        args += ["--rescale", rng.choice(("minmax", "percentile"))]
    return args, "out/out" + ext


def _envi_case(s: Seed, rng: random.Random, index: int) -> Case:
    """An ENVI pair (header and data file, either named as INPUT) through info, apply (to a
    TIFF or an ENVI .img/.bil, whose header out/out.hdr is an output too) or fit pca."""
    assert s.companion is not None
    mutation, header, raw = mutate_envi(s, rng)
    data_name = s.companion[0]
    files = {"in/" + s.name: header}
    if raw is not None:
        files["in/" + data_name] = raw
    path = "in/" + rng.choice((s.name, data_name))
    command = rng.choice(("info", "apply", "fit pca"))
    if command == "info":
        argv: tuple[str, ...] = ("info", path) + (("--json",) if rng.random() < 0.5 else ())
        return Case(index, s.name, "envi", command, mutation, files, argv)
    if command == "fit pca":
        k = rng.choice(("1", "1", "2", "0.9"))
        argv = ("fit", "pca", path, "-k", k, "-o", "out/pca.json")
        return Case(index, s.name, "envi", command, mutation, files, argv, outputs=("out/pca.json",))
    ext = rng.choice((".tif", ".img", ".bil"))
    args = ["-c", _coeffs(rng, rng.choice((1, 2, 3)), s.bands or 1)]
    if rng.random() < 0.3:
        args += ["--dtype", rng.choice(("float32", "uint16", "int16", "uint8"))]
    if rng.random() < 0.2:
        args += ["--rescale", rng.choice(("minmax", "percentile"))]
    outputs = ("out/out" + ext,) + (("out/out.hdr",) if ext != ".tif" else ())
    argv = ("apply", path, *args, "-o", outputs[0])
    return Case(index, s.name, "envi", command, mutation, files, argv, outputs=outputs)


_MTL_BANDS = (None, None, "2-7", "1-9", "10,11", "4", "1-11", "0", "12", "7,7", "2-7,10")


def _mtl_case(s: Seed, rng: random.Random, index: int) -> Case:
    """A Landsat MTL file through matrix calibrate (--to, --bands, --level at random)."""
    mutation, data = mutate(s, rng)
    argv = ["matrix", "calibrate", "in/" + s.name, "-o", "out/cal.json"]
    if bands := rng.choice(_MTL_BANDS):
        argv += ["--bands", bands]
    if rng.random() < 0.3:
        argv += ["--to", "radiance"]
    elif rng.random() < 0.3:
        argv += ["--level", "2"]
    return Case(
        index,
        s.name,
        s.fmt,
        "matrix calibrate",
        mutation,
        {"in/" + s.name: data},
        tuple(argv),
        outputs=("out/cal.json",),
    )


def make_case(seeds: Sequence[Seed], seed: int, index: int, kinds: Sequence[str] | None = None) -> Case:
    """Case `index` of campaign `seed`: deterministic for a given seed list (and `kinds`, the
    keys of :data:`TARGETS` to draw from; None: all)."""
    rng = random.Random(f"chanmix-fuzz:{seed}:{index}")
    images = [s for s in seeds if s.role == "image"]
    targets = [t for t in TARGETS if kinds is None or t in kinds]
    target = rng.choices(targets, [TARGETS[t] for t in targets])[0]
    if target == "envi":
        return _envi_case(rng.choice([s for s in seeds if s.role == "envi"]), rng, index)
    if target == "mtl":
        return _mtl_case(rng.choice([s for s in seeds if s.role == "mtl"]), rng, index)
    if target == "matrix":
        s = rng.choice([s for s in seeds if s.role == "matrix"])
        mutation, data = mutate(s, rng)
        image = rng.choice([i for i in images if i.name in _MATRIX_IMAGES])
        files = {"in/" + s.name: data, "in/" + image.name: image.data}
        if rng.random() < 0.25:
            return Case(
                index,
                s.name,
                f"matrix {s.fmt}",
                "matrix show",
                mutation,
                files,
                ("matrix", "show", "in/" + s.name),
            )
        argv = ["apply", "in/" + image.name, "-m", "in/" + s.name, "-o", "out/out.tif"]
        outputs = ["out/out.tif"]
        if rng.random() < 0.3:
            argv += ["--save-matrix", "out/used.json"]
            outputs.append("out/used.json")
        return Case(
            index, s.name, f"matrix {s.fmt}", "apply", mutation, files, tuple(argv), outputs=tuple(outputs)
        )
    s = rng.choice(images)
    mutation, data = mutate(s, rng)
    path = "in/" + (s.name if target == "image" else "stdin" + Path(s.name).suffix)
    files = {path: data}
    if target == "stdin":
        args, out = _apply_args(rng, s.bands)
        return Case(
            index,
            s.name,
            f"stdin {s.fmt}",
            "apply",
            mutation,
            files,
            ("apply", "-", *args, "-o", out),
            stdin=path,
            outputs=(out,),
        )
    command = rng.choice(("info", "apply", "fit pca"))
    if command == "info":
        return Case(
            index,
            s.name,
            s.fmt,
            command,
            mutation,
            files,
            ("info", path) + (("--json",) if rng.random() < 0.5 else ()),
        )
    if command == "fit pca":
        k = rng.choice(("1", "1", "2", "0.9"))
        return Case(
            index,
            s.name,
            s.fmt,
            command,
            mutation,
            files,
            ("fit", "pca", path, "-k", k, "-o", "out/pca.json"),
            outputs=("out/pca.json",),
        )
    args, out = _apply_args(rng, s.bands)
    return Case(
        index, s.name, s.fmt, command, mutation, files, ("apply", path, *args, "-o", out), outputs=(out,)
    )


def file_case(path: Path, command: str, index: int = 0) -> Case:
    """An unmutated file run through `command` (info, apply or fit pca): regression inputs."""
    data = path.read_bytes()
    name = "in/" + path.name
    if command == "info":
        return Case(index, path.name, "file", command, "none", {name: data}, ("info", name))
    if command == "fit pca":
        return Case(
            index,
            path.name,
            "file",
            command,
            "none",
            {name: data},
            ("fit", "pca", name, "-k", "1", "-o", "out/pca.json"),
            outputs=("out/pca.json",),
        )
    return Case(
        index,
        path.name,
        "file",
        command,
        "none",
        {name: data},
        ("apply", name, "--pca", "1", "-o", "out/out.tif"),
        outputs=("out/out.tif",),
    )


# ---------------------------------------------------------------------------- running


def _limit(memory: int) -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (GiB, GiB))


def _kill(proc: subprocess.Popen) -> tuple[bytes, bytes]:
    """Dump the stacks of a hung process (faulthandler on SIGABRT), then kill its group."""
    try:
        proc.send_signal(signal.SIGABRT)
        return proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        return b"", b""
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def _clip(text: str, head: int = 8_000, tail: int = 12_000) -> str:
    """Long stderr: its first and last lines, whole, around a marker line."""
    if len(text) <= head + tail:
        return text
    start = text[:head].rsplit("\n", 1)[0]
    end = text[-tail:].split("\n", 1)[-1]
    return f"{start}\n[... {len(text) - len(start) - len(end)} characters left out ...]\n{end}"


def run_case(
    case: Case,
    workdir: Path,
    *,
    timeout: float = 20,
    memory: int = 2 * GiB,
    src: Path = SRC,
    keep: bool = False,
) -> Result:
    """Run one case in a new folder of `workdir` and check it (see the module's docstring)."""
    folder = workdir / f"case-{case.id:06d}-{os.getpid()}"
    for sub in ("in", "out", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for rel, data in case.files.items():
        (folder / rel).write_bytes(data)
    for rel in case.outputs:
        (folder / rel).write_bytes(SENTINEL)
    env = dict(os.environ, TMPDIR=str(folder / "tmp"), PYTHONFAULTHANDLER="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), os.environ.get("PYTHONPATH")) if p)
    stdin = case.files[case.stdin] if case.stdin else None
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chanmix", *case.argv],
        cwd=folder,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=functools.partial(_limit, memory),
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(stdin, timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        _, err = _kill(proc)
        code = None
    result = Result(case, code, _clip(err.decode("utf-8", "replace")), time.monotonic() - start)
    check(result, folder)
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------- campaigns


@dataclass
class Report:
    results: list[Result]
    seconds: float
    seed: int

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if r.failures]

    def table(self) -> str:
        commands = ("info", "apply", "fit pca", "matrix show", "matrix calibrate")
        rows: dict[str, Counter] = defaultdict(Counter)
        for r in self.results:
            rows[r.case.kind][r.case.command] += 1
            rows[r.case.kind]["failed"] += bool(r.failures)
        out = [
            f"{len(self.results)} cases (seed {self.seed}) in {self.seconds:.1f} s, "
            f"{len(self.failures)} failed",
            "",
            f"{'input kind':<16}{'cases':>7}" + "".join(f"{c:>17}" for c in commands) + f"{'failed':>8}",
        ]
        for kind in sorted(rows):
            c = rows[kind]
            out.append(
                f"{kind:<16}{sum(c[k] for k in commands):>7}"
                + "".join(f"{c[k]:>17}" for k in commands)
                + f"{c['failed']:>8}"
            )
        by_category: dict[str, list[Result]] = defaultdict(list)
        for r in self.failures:
            for cat in r.failures:
                by_category[cat].append(r)
        out += ["", f"{'failure category':<18}{'cases':>7}  example case ids"]
        for cat in CATEGORIES:
            if by_category[cat]:
                ids = " ".join(str(r.case.id) for r in by_category[cat][:8])
                out.append(f"{cat:<18}{len(by_category[cat]):>7}  {ids}")
        groups: dict[str, list[Result]] = defaultdict(list)
        for r in self.failures:
            groups[r.signature].append(r)
        if groups:
            out += ["", "failures by primary signature (count, commands, example ids):"]
            for sig, rs in sorted(groups.items(), key=lambda g: -len(g[1])):
                cmds = ",".join(sorted({r.case.command for r in rs}))
                out.append(f"{len(rs):>5}  [{cmds}] {sig}  (e.g. {' '.join(str(r.case.id) for r in rs[:4])})")
        return "\n".join(out)


def campaign(
    cases: Iterable[Case],
    *,
    jobs: int = 2,
    timeout: float = 20,
    memory: int = 2 * GiB,
    src: Path = SRC,
    max_failures: int | None = None,
    seed: int = 0,
    on_result: Callable[[Result], None] | None = None,
) -> Report:
    """Run `cases` on `jobs` threads (each driving one process); stop submitting new cases once
    `max_failures` have failed."""
    start, results = time.monotonic(), []
    with tempfile.TemporaryDirectory(prefix="chanmix-fuzz-") as work, cf.ThreadPoolExecutor(jobs) as pool:
        pending: set[cf.Future] = set()
        todo = iter(cases)
        while True:
            stop = max_failures is not None and sum(bool(r.failures) for r in results) >= max_failures
            while not stop and len(pending) < 2 * jobs and (case := next(todo, None)) is not None:
                pending.add(pool.submit(run_case, case, Path(work), timeout=timeout, memory=memory, src=src))
            if not pending:
                break
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                results.append(future.result())
                if on_result:
                    on_result(results[-1])
    results.sort(key=lambda r: r.case.id)
    return Report(results, time.monotonic() - start, seed)


def fuzz(
    n: int,
    seed: int = 0,
    *,
    corpus: Path | None = CORPUS,
    data: Path = DATA,
    ids: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
    **options,
) -> Report:
    """Run cases 0..n-1 (or `ids`) of campaign `seed`, drawn from `kinds` (keys of
    :data:`TARGETS`; None: all); options as :func:`campaign`."""
    seeds = all_seeds(corpus, data)
    chosen = ids if ids is not None else range(n)
    return campaign((make_case(seeds, seed, i, kinds) for i in chosen), seed=seed, **options)


def save(result: Result, folder: Path, src: Path = SRC) -> Path:
    """Write a failing case's inputs, sentinel outputs, stderr and a reproducing script."""
    case = result.case
    where = folder / f"{case.id:06d}-{case.command.replace(' ', '-')}-{result.failures[0]}"
    for rel, data in case.files.items():
        (where / rel).parent.mkdir(parents=True, exist_ok=True)
        (where / rel).write_bytes(data)
    (where / "out").mkdir(exist_ok=True)
    (where / "stderr.txt").write_text(result.stderr)
    setup = "".join(f"printf %s {shlex.quote(SENTINEL.decode())} > {shlex.quote(o)}\n" for o in case.outputs)
    (where / "repro.sh").write_text(
        f"#!/bin/sh\n# case {case.id}: {case.seed} mutated by {case.mutation}; {result.signature}\n"
        f'cd "$(dirname "$0")"\n{setup}PYTHONPATH={shlex.quote(str(src))} timeout 60 '
        f"{case.shell().replace('python ', '${PYTHON:-python} ', 1)}\n"
        'echo "exit $?"\n'
    )
    (where / "case.json").write_text(
        json.dumps(
            {
                "id": case.id,
                "seed": case.seed,
                "kind": case.kind,
                "mutation": case.mutation,
                "command": case.shell(),
                "returncode": result.returncode,
                "seconds": round(result.seconds, 2),
                "failures": list(result.failures),
                "details": result.details,
            },
            indent=1,
        )
    )
    return where


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": GiB}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=500, help="cases 0..N-1 (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--case", type=int, action="append", help="run only this case id (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--timeout", type=float, default=20, help="seconds before a hang (default 20)")
    parser.add_argument("--memory", type=_size, default=2 * GiB, help="RLIMIT_AS per process (default 2G)")
    parser.add_argument("--max-failures", type=int, help="stop after this many failing cases")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the real-file corpus folder")
    parser.add_argument("--no-corpus", action="store_true", help="generated and tests/data seeds only")
    parser.add_argument("--src", type=Path, default=SRC, help="the chanmix sources to fuzz")
    parser.add_argument("--out", type=Path, help="save each failing case (inputs + repro.sh) here")
    parser.add_argument(
        "--kinds",
        type=lambda text: [k.strip() for k in text.split(",") if k.strip()],
        help=f"draw cases only from these inputs, comma-separated: {','.join(TARGETS)} (default all)",
    )
    args = parser.parse_args(argv)
    if args.kinds is not None and (not args.kinds or set(args.kinds) - set(TARGETS)):
        parser.error(f"--kinds: choose from {','.join(TARGETS)}")
    verbose = args.case is not None
    done = [0]

    def progress(result: Result) -> None:
        done[0] += 1
        if verbose or result.failures:
            print(
                f"case {result.case.id}: {result.case.shell()}  [{result.case.seed}, {result.case.mutation}]"
                f" -> exit {result.returncode} in {result.seconds:.1f} s",
                file=sys.stderr,
            )
            for line in result.details or ["ok"]:
                print("    " + line, file=sys.stderr)
            if verbose:
                print("    stderr: " + result.stderr.strip().replace("\n", "\n            "), file=sys.stderr)
        elif done[0] % 100 == 0:
            print(f"{done[0]} cases run", file=sys.stderr)

    report = fuzz(
        args.cases,
        args.seed,
        corpus=None if args.no_corpus else args.corpus,
        ids=args.case,
        kinds=args.kinds,
        jobs=args.jobs,
        timeout=args.timeout,
        memory=args.memory,
        src=args.src,
        max_failures=args.max_failures,
        on_result=progress,
    )
    print(report.table())
    if args.out and report.failures:
        for result in report.failures:
            save(result, args.out, args.src)
        print(f"\nfailing cases saved under {args.out}/ (each with repro.sh)")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
