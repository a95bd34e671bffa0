"""Shared fixtures: the real-file corpus beside the checkout, sample images, a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

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
    """The chanmix command line through Click's CliRunner: ``run("apply", path, ...)``."""
    from chanmix.cli.main import cli

    runner = CliRunner()
    return lambda *args: runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


# --- Hypothesis profiles (issue 10: tests that cannot flake) ------------------------------
# "ci" (when CI=true, as .ci/run is run): the same examples on every run, no saved examples
# replayed, no time limits. "dev" (otherwise): random examples, no time limits. Both leave
# out the too_slow health check: the machines are shared, and time is not what they test.

import os  # noqa: E402

from hypothesis import HealthCheck, settings  # noqa: E402

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
