"""Run one job per input file: skipped when up to date, in parallel, failures reported one line
each, a summary line at the end (for one input, :func:`summary` gives the caller its line). An
input may be several files read as one image (``--stack``).

One input runs alone with all the workers inside it (its bands in parallel) and its error
propagates as the command's error. Several inputs run ``jobs`` files at a time, each on one
thread, and a failing file does not stop the others. Output bytes are the same either way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import click

from ..errors import ChanmixError
from ..progress import Progress
from .flags import current_command, flag_message
from .progress import Bar, say
from .stdio import shown

#: An input: a file, or the files stacked as one image.
Source = str | tuple[str, ...]
#: A file's job: (index, source, target, jobs inside it, its progress) -> a result.
Job = Callable[[int, Source, str, int, Progress | None], Any]


@dataclass(frozen=True)
class Outcome:
    """What happened to one input: ``done`` (with the job's result), ``skipped`` or ``failed``."""

    status: str
    result: Any = None


def up_to_date(source: Source, target: str, *, skip_existing: bool, newer: bool) -> bool:
    """Whether ``--skip-existing`` (target exists) or ``--newer`` (target exists and is at least
    as new as its source, every file of a stack) says to leave this target alone."""
    if not os.path.exists(target):
        return False
    if skip_existing:
        return True
    files = (source,) if isinstance(source, str) else source
    return newer and "-" not in files and os.path.getmtime(target) >= max(map(os.path.getmtime, files))


def run_batch(
    pairs: Sequence[tuple[Source, str]],
    job: Job,
    *,
    jobs: int,
    skip_existing: bool = False,
    newer: bool = False,
    quiet: bool = False,
    verb: str = "mixed",
    bar: Bar | None = None,
) -> list[Outcome]:
    """Run ``job`` on every (source, target) pair; print failures and a summary on stderr,
    each file's progress on `bar` (see :func:`~chanmix.cli.progress.progress_bar`).

    Raises
    ------
    ChanmixError
        The error of a single input.
    click.exceptions.Exit
        With code 1 when any of several inputs failed.
    """
    single = len(pairs) == 1
    command = current_command()  # here: the workers' threads have no click context

    def one(item: tuple[int, tuple[Source, str]]) -> Outcome:
        index, (source, target) = item
        try:
            if up_to_date(source, target, skip_existing=skip_existing, newer=newer):
                return Outcome("skipped")
            progress = None if bar is None else bar.file(index)
            return Outcome("done", job(index, source, target, jobs if single else 1, progress))
        except ChanmixError as exc:
            if single:
                raise
            say(f"Error: {shown(flag_message(exc, command))}")
            return Outcome("failed")
        finally:
            if bar is not None:
                bar.file_done(index)

    items = list(enumerate(pairs))
    if single or jobs <= 1:
        outcomes = [one(item) for item in items]
    else:
        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            outcomes = list(pool.map(one, items))
        except BaseException:
            # interrupted: drop the files not started and do not wait for those running
            # (the command line abandons their outputs and exits)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    if not single and not quiet:  # one input's line is the caller's, once its output is complete
        say(summary(pairs, outcomes, verb=verb, skip_existing=skip_existing))
    if any(o.status == "failed" for o in outcomes):
        raise click.exceptions.Exit(1)
    return outcomes


def summary(
    pairs: Sequence[tuple[Source, str]], outcomes: Sequence[Outcome], *, verb: str, skip_existing: bool
) -> str:
    """The line that ends a run on stderr. One input: what became of it, ``1 image mixed:
    a.png -> out/a.png`` or ``1 image skipped: out/a.png exists`` (``-`` named as
    :func:`~.stdio.shown` names it); several: the counts, ``3 of 4 images mixed, 1 skipped,
    0 failed``."""
    if len(pairs) == 1:
        (source, target), (outcome,) = pairs[0], outcomes
        if outcome.status == "skipped":
            why = "exists" if skip_existing else "is newer than its input"
            return shown(f"1 image skipped: {target} {why}")
        named = source if isinstance(source, str) else f"{len(source)} stacked files"
        return shown(f"1 image {verb}: {named} -> {target}")
    counts = {status: sum(o.status == status for o in outcomes) for status in ("done", "skipped", "failed")}
    skipped = f", {counts['skipped']} skipped" if counts["skipped"] else ""
    return f"{counts['done']} of {len(pairs)} images {verb}{skipped}, {counts['failed']} failed"
