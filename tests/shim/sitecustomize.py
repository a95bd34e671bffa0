"""Test-only start-up shim: pause a chanmix child process at a known point of writing an output.

tests/subprocesses.py (``Pause``) puts this folder first on the PYTHONPATH of a child that a
test wants to stop; Python imports ``sitecustomize`` at start-up. Without CHANMIX_TEST_PAUSE
in the environment it does nothing. With ``CHANMIX_TEST_PAUSE=WHERE:NAME`` it wraps chanmix's
writer for the output whose file name is NAME, and pauses there once:

- ``rows``: when the writer asks for more rows (or tiles) after taking the first ones: the
  output's temporary file is open and being written, nothing is committed;
- ``staged``: at the commit, once the finished file has its ``.part`` name beside the target
  and before it is renamed onto it.

To pause, the process writes its id and a newline to the FIFO ``reached`` in the folder
CHANMIX_TEST_PAUSE_FIFOS, then reads the FIFO ``resume`` there until the test closes it. A
signal sent meanwhile (the test's SIGTERM or SIGKILL) arrives at that point.
"""

import os


def _install(where: str, output: str, folder: str) -> None:
    from chanmix.io import atomic, stream_write

    paused = []

    def pause(name: object) -> None:
        if paused or os.path.basename(os.fsdecode(name)) != output:
            return
        paused.append(name)
        with open(os.path.join(folder, "reached"), "w") as reached:
            reached.write(f"{os.getpid()}\n")
        with open(os.path.join(folder, "resume"), "rb") as resume:
            resume.read()

    if where == "rows":

        def pausing(checked):
            def wrapper(name, *args, **kwargs):
                items = checked(name, *args, **kwargs)
                for count, item in enumerate(items):
                    if count == 1:
                        pause(name)
                    yield item
                pause(name)  # a single piece: the writer asks for the end

            return wrapper

        stream_write._checked_rows = pausing(stream_write._checked_rows)
        stream_write._checked_tiles = pausing(stream_write._checked_tiles)
    elif where == "staged":
        stage = atomic._Temporary.stage

        def staged(self) -> None:
            stage(self)
            pause(self.target)

        atomic._Temporary.stage = staged
    else:
        raise ValueError(f"CHANMIX_TEST_PAUSE: unknown point {where!r}")


if os.environ.get("CHANMIX_TEST_PAUSE"):
    _where, _output = os.environ["CHANMIX_TEST_PAUSE"].split(":", 1)
    _install(_where, _output, os.environ["CHANMIX_TEST_PAUSE_FIFOS"])
