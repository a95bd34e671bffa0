"""Print pip constraints that pin every runtime dependency to its floor in pyproject.toml.

    python .ci/lowest.py > constraints.txt      # Python 3.11 or newer (tomllib)
    pip install -c constraints.txt '.[test]'

The floors live only in ``[project].dependencies``: each entry must be ``name>=floor`` (extras
and further upper bounds allowed), and becomes ``name==floor``, so that the lowest-versions job
of ``.ci/run`` tests exactly what pyproject.toml promises. Anything this script cannot read as a
floor is an error, not a silently untested dependency.

Test-only packages (the ``test`` extra) are left to float: pip picks whatever installs beside
the pinned runtime versions.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent

#: name, optional [extras], then the specifiers up to an optional environment marker.
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*?)\s*(;.*)?$")


def floors(dependencies: list[str]) -> list[str]:
    lines = []
    for dependency in dependencies:
        match = REQUIREMENT.match(dependency)
        if match is None:
            raise SystemExit(f"lowest.py: cannot read the dependency {dependency!r}")
        name, _, specifiers, marker = match.groups()
        found = [s.strip()[2:].strip() for s in specifiers.split(",") if s.strip().startswith(">=")]
        if len(found) != 1:
            raise SystemExit(f"lowest.py: {dependency!r} has no single '>=' floor to test")
        lines.append(f"{name}=={found[0]}" + (f" {marker}" if marker else ""))
    return lines


def main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = ["# The floors of pyproject.toml's [project].dependencies (written by .ci/lowest.py)"]
    lines += floors(project["dependencies"])
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
