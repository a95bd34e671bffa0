"""Shared fixtures (the real-file corpus beside the checkout, sample images, a CLI runner) and
the Hypothesis profiles."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_images"
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The folder of real third-party TIFFs (../shared/corpus); skips the test when absent."""
    if not (CORPUS / "MANIFEST.md").is_file():
        pytest.skip("the shared corpus (../shared/corpus) is not beside this checkout")
    return CORPUS


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
