"""Shared fixtures (the real-file corpus, sample images, a CLI runner) and the Hypothesis
profiles."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_images"
#: The whole real-file corpus, beside the checkout when it is there.
CORPUS = ROOT.parent / "shared" / "corpus"
#: The few corpus files most tests need, copied with the same relative paths (and their
#: licences and MANIFEST rows), so that a plain clone runs those tests.
DATA_CORPUS = ROOT / "tests" / "data" / "corpus"


class Corpus:
    """Real third-party files by their path in the corpus: ``corpus / "rasterio/byte.tif"`` or
    ``corpus / "rasterio" / "byte.tif"`` is the copy in tests/data/corpus when there is one, else
    the file of ../shared/corpus; without the shared corpus, asking for a file that only it
    holds skips the test. A folder (``corpus / "rasterio"``) is a Corpus itself."""

    def __init__(self, local: Path, shared: Path | None, relative: PurePosixPath | None = None) -> None:
        self.local, self.shared = local, shared
        self.relative = PurePosixPath() if relative is None else relative

    def __truediv__(self, name: str) -> Path | Corpus:
        relative = self.relative / name
        if (self.local / relative).is_file():
            return self.local / relative
        if self.shared is not None:  # a file missing there too fails the test where it is opened
            shared = self.shared / relative
            return Corpus(self.local, self.shared, relative) if shared.is_dir() else shared
        if (self.local / relative).is_dir():
            return Corpus(self.local, None, relative)
        absent = "and ../shared/corpus is not beside this checkout"
        pytest.skip(f"{relative} is not in tests/data/corpus, {absent}")

    def rglob(self, pattern: str) -> Iterator[Path]:
        """The paths under this folder matching `pattern`, each relative path once: the local
        copy where there is one, else the shared corpus's."""
        seen = set()
        for root in (self.local, self.shared):
            if root is None or not (root / self.relative).is_dir():
                continue
            for path in sorted((root / self.relative).rglob(pattern)):
                if path.relative_to(root) not in seen:
                    seen.add(path.relative_to(root))
                    yield path

    def __fspath__(self) -> str:
        """This folder of the shared corpus (for a script that reads a whole corpus); skips
        the test without it."""
        if self.shared is None:
            where = PurePosixPath("../shared/corpus") / self.relative
            pytest.skip(f"needs the whole shared corpus ({where}), not beside this checkout")
        return os.fspath(self.shared / self.relative)

    __str__ = __fspath__


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    """The real-file corpus: tests/data/corpus first, then ../shared/corpus (see Corpus)."""
    shared = CORPUS if (CORPUS / "MANIFEST.md").is_file() else None
    return Corpus(DATA_CORPUS, shared)


@pytest.fixture(scope="session")
def samples() -> Path:
    """The project's own sample images."""
    return SAMPLES


@pytest.fixture
def run():
    """The chanmix command line through Click's CliRunner: ``run("apply", path, ...)``.

    Arguments are passed as strings; keywords (``input=...``) go to ``CliRunner.invoke``.
    Exceptions propagate: a traceback fails the test instead of becoming exit code 1.
    """
    from chanmix.cli.main import cli

    runner = CliRunner()
    return lambda *args, **kw: runner.invoke(cli, [str(a) for a in args], catch_exceptions=False, **kw)


@pytest.fixture
def quiet_rasterio():
    """rasterio's NotGeoreferencedWarning ignored (plain test TIFFs have no georeferencing).

    Used by a test module with ``pytestmark = pytest.mark.usefixtures("quiet_rasterio")``.
    """
    import rasterio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        yield


# --- Hypothesis profiles (issue 10: tests that cannot flake) ------------------------------
# "ci" (when CI=true, as .ci/run is run): the same examples on every run, no saved examples
# replayed, no time limits. "dev" (otherwise): random examples, no time limits. Both leave
# out the too_slow health check: the machines are shared, and time is not what they test.

settings.register_profile(
    "dev",
    parent=settings.get_profile("default"),  # not Hypothesis's own CI defaults, whatever CI holds
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    parent=settings.get_profile("default"),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")
