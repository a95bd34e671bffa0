"""chanmix benchmarks, side by side with the peers, in one run.

    python bench/run.py            # every section
    python bench/run.py fit        # one section

Each section generates its data, times the candidates alternately (so that the noise of a
shared machine falls on all of them alike), and writes its table into bench/README.md
between the markers ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``. Times are medians;
ratios are what to read, not absolute seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(HERE))

#: Section name -> (module in bench/, its function ``f(quick: bool) -> str``: a Markdown table).
SECTIONS = {
    "fit": ("bench_fit", "run"),
    "memory": ("bench_stream", "run_memory"),
    "stack": ("stack_memory", "run"),
    "sheet": ("sheet_memory", "run"),
    "vips": ("bench_stream", "run_vips"),
    "kernel": ("bench_kernel", "run"),
    "files": ("bench_files", "run"),
    "startup": ("bench_startup", "run"),
    "envi": ("envi_memory", "run"),
    "cluster": ("bench_cluster", "run"),
}


def alternate(candidates: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Wall times of each candidate, run in turn ``repeats`` times."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def chanmix_command(*args: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run this checkout's chanmix in a new process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    return [sys.executable, "-m", "chanmix", *args], env


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    """One line on where the figures come from."""
    blas = ""
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(  # one entry per kind of pool, however many libraries load one
            dict.fromkeys(
                f"{i['internal_api']} {i.get('architecture', '')}".strip() for i in threadpool_info()
            )
        )
    except ImportError:
        pass
    env = " ".join(
        f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ
    )
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"NumPy {np.__version__}{', ' + blas if blas else ''}{', ' + env if env else ''}"
    )


def write_section(name: str, text: str) -> None:
    """Replace the section ``name`` of bench/README.md (or append it)."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    readme = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    readme = (
        pattern.sub(lambda _: block, readme)
        if pattern.search(readme)
        else readme.rstrip() + "\n\n" + block + "\n"
    )
    README.write_text(readme, encoding="utf-8")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def prepare_checkout() -> None:
    """Make this checkout's chanmix run as an installed one does: its modules byte-compiled
    (an install does it; PYTHONDONTWRITEBYTECODE would otherwise make every new process
    compile them again) and its C kernel built (``pip install -e .``), or say it is not."""
    import compileall
    from importlib.machinery import EXTENSION_SUFFIXES

    compileall.compile_dir(SRC / "chanmix", quiet=1)
    if not any((SRC / "chanmix" / f"_mixloops{suffix}").exists() for suffix in EXTENSION_SUFFIXES):
        print(
            "warning: the C kernel is not built in src/ (pip install -e .): chanmix runs on its NumPy path",
            file=sys.stderr,
        )


def main() -> None:
    import importlib

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", help=f"sections to run: {', '.join(SECTIONS)} (default all)")
    parser.add_argument("--quick", action="store_true", help="small data, few repeats, README untouched")
    args = parser.parse_args()
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}; choose from {', '.join(SECTIONS)}")
    prepare_checkout()
    for name in args.sections or list(SECTIONS):
        print(f"== {name}", flush=True)
        module, function = SECTIONS[name]
        text = getattr(importlib.import_module(module), function)(quick=args.quick)
        print(text, flush=True)
        if not args.quick:
            write_section(name, f"Measured {time.strftime('%Y-%m-%d')} on {machine()}.\n\n{text}")


if __name__ == "__main__":
    main()
