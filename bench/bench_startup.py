"""Start-up section: how long a new ``chanmix`` process takes for the quick commands.

``chanmix --help``, ``chanmix presets`` and ``chanmix --version`` are run as new processes
(``python -m chanmix`` on this checkout, run.chanmix_command), alternately with a bare
``python -c pass`` of the same interpreter and environment, the floor any Python command
stands on. Output goes to /dev/null; wall times, medians.
"""

from __future__ import annotations

import subprocess
import sys

from run import alternate, chanmix_command, median, table

BASELINE = "python -c pass"


def run(quick: bool = False) -> str:
    repeats = 5 if quick else 21
    commands = {
        f"chanmix {' '.join(args)}": chanmix_command(*args)
        for args in (("--help",), ("presets",), ("--version",))
    }
    commands[BASELINE] = ([sys.executable, "-c", "pass"], commands["chanmix --help"][1])
    calls = {
        name: (lambda c=command, e=env: subprocess.run(c, env=e, check=True, stdout=subprocess.DEVNULL))
        for name, (command, env) in commands.items()
    }
    times = {name: median(t) for name, t in alternate(calls, repeats).items()}
    rows = [
        [name, f"{t * 1e3:.0f}", "" if name == BASELINE else f"{(t - times[BASELINE]) * 1e3:.0f}"]
        for name, t in times.items()
    ]
    return table(["new process", "median wall ms", f"more than `{BASELINE}`, ms"], rows) + (
        f"\n\n{repeats} runs of each, alternating."
    )
