"""Where the gates are running: the checkout's commit and the registry's hash.

Producers of evidence record the same two values (see INPUTS.md);
:func:`current_provenance` is here so that they, and ``gates.stamp``, agree.
"""

from __future__ import annotations

import re

# git only, with a fixed argument list.
import subprocess  # nosec B404
import time
from pathlib import Path

from gates.evidence import Provenance
from packrepo.registry import load_registry

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def checkout_git_sha(directory: Path) -> str | None:
    """The commit checked out at ``directory``, or None if it is not a git checkout."""
    try:
        # A fixed git invocation, no shell.
        completed = subprocess.run(  # nosec B603 B607
            ["git", "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = completed.stdout.strip()
    return sha if completed.returncode == 0 and _SHA.fullmatch(sha) else None


def current_provenance(config: Path) -> Provenance:
    """Provenance for an artifact made now, from the checkout holding ``config``."""
    registry = load_registry(config)
    return Provenance(
        git_sha=checkout_git_sha(config.resolve().parent) or "unknown",
        config_sha256=registry.config_sha256,
        created_unix=time.time(),
    )
