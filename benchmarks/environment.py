"""The environment fingerprint of a run: enough to tell two machines or checkouts apart.

The host name is stored as a short sha256 (it identifies the machine without
naming it); the rest is what can change a measurement: CPU, core count, Python,
the versions of the packages on the measured path, the git commit and whether
the work tree had changes, each arm's flags, and the load average around the run.
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import subprocess  # nosec B404  # asks git for the commit, no shell
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.arms import PROJECT_ROOT, Arm
from contracts.runfacts import cpu_model

PACKAGES = ("packrepo", "bpe-openai", "detect-secrets", "numpy", "orjson")


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            completed = subprocess.run(  # nosec B603 B607  # git from PATH, fixed arguments
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return completed.stdout.strip() if completed.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": bool(status) if status is not None else None}


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on POSIX
        return None


def machine_identity() -> dict[str, Any]:
    """What a measurement depends on in the machine and checkout (no load, no workers)."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "host_sha256": hashlib.sha256(socket.gethostname().encode()).hexdigest()[:16],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": Path(sys.executable).name,
        },
        "packages": package_versions(),
        "git": git_state(),
    }


def fingerprint(
    arms: Sequence[Arm],
    workers: dict[str, dict[str, Any]],
    machine: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The environment of a run; ``workers`` holds each arm's ready message, ``machine`` the
    :func:`machine_identity` already taken for the run (taken here when None)."""
    return {
        **(machine_identity() if machine is None else machine),
        "flags": {arm.name: dict(arm.flags) for arm in arms},
        "workers": {
            name: {
                "fastpath_env": ready.get("fastpath_env"),
                "effective_flags": ready.get("effective_flags"),
                "memory_method": ready.get("memory_method"),
                "rss_ready_bytes": ready.get("rss_ready_bytes"),
                "python": ready.get("python"),
            }
            for name, ready in workers.items()
        },
    }
