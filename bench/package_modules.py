"""Which installed modules a worker's deployment package would not hold, so a cold start measured from this
venv imports what the Lambda would import.

The dev venv holds more than any package (pytest, moto, rich, ...), and some libraries change what they import
when an optional one is present: structlog loads `rich` for pretty tracebacks when it can, a third of its
import time. The package holds the closure of the worker's requirements file (workers/<package>/requirements.txt);
everything else installed is hidden from the measured interpreter.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

PACKAGE_OF_WORKER = {"notifier": "realtime"}
"""Benchmark worker name -> the package (requirements file) it is deployed in, where the names differ."""
_IMPORT_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:/|\.py$|\.cpython|\.abi3|\.so$)")


def requirement_names(path: Path) -> set[str]:
    """Distribution names a requirements file asks for, following `-r` includes."""
    names: set[str] = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            names |= requirement_names(path.parent / line[2:].strip())
        elif line and not line.startswith("-"):
            names.add(canonicalize_name(Requirement(line).name))
    return names


def closure(names: set[str]) -> set[str]:
    """The installed distributions `names` need, transitively (markers evaluated here; extras not taken)."""
    environment = default_environment()
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if requirement.marker is None or requirement.marker.evaluate({**environment, "extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    return seen


@cache
def _installed_modules() -> dict[str, set[str]]:
    """Installed distribution -> the top-level module names it provides."""
    modules: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"] or "")
        top = set((dist.read_text("top_level.txt") or "").split())
        if not top:
            top = {m.group(1) for f in dist.files or () if (m := _IMPORT_NAME.match(str(f)))}
        modules.setdefault(name, set()).update(t for t in top if not t.startswith("_") or t.startswith("_cffi"))
    return modules


def hidden_modules(worker: str) -> list[str]:
    """Top-level modules installed here that the worker's package would not hold."""
    from infra.packaging import requirements_file

    package = PACKAGE_OF_WORKER.get(worker, worker)
    return modules_outside(requirement_names(requirements_file(package)))


def modules_outside(distributions: set[str]) -> list[str]:
    """Top-level modules installed here that `distributions` and what they need do not provide."""
    wanted = closure({canonicalize_name(name) for name in distributions})
    installed = _installed_modules()
    kept = set().union(*(installed.get(name, set()) for name in wanted))
    other = set().union(*(mods for name, mods in installed.items() if name not in wanted))
    return sorted(other - kept - {"workers", "models", "bench", "embedded", "infra", "cli", "tests"})
