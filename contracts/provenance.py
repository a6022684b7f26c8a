"""Provenance and the chain of custody: who made an artifact, from what, for which commit.

Every document a stage writes carries a ``provenance`` object:

- ``git_sha`` and ``dirty``: the checkout's commit and whether tracked files
  differed from it (a dirty tree may be measured, never silently promoted);
- ``config_sha256``: the hash of ``[tool.fastpath]`` (``packrepo.registry``);
- ``producer``, ``command`` and ``run_id``: the stage, its argv, and the run it
  belongs to (``PACKREPO_RUN_ID``, set once by the orchestrator for every
  session it starts; a stage run by hand gets a fresh one);
- ``inputs``: the sha256 of every artifact it was made from, by file name.
  The gates walk these links from the analysis back to the raw trial streams
  (``gates/custody.py``) and refuse a broken one, naming it.

``producer`` values starting with ``fixture`` mark hand-built demonstration
evidence (``python -m gates.fixtures``); the gates refuse it.

A local chain stops stale (another commit or registry), edited and hand-written
evidence; the gates also remake the analysis from its verified inputs. It
cannot stop someone who invents the trials themselves and runs this code over
them on their own machine; CI closes that gap with artifact attestations
(``promote.yml``). Run ids are recorded, not required to agree: several runs at
one commit and registry (``invoke bench`` then ``invoke analyze``) are one
experiment.
"""

from __future__ import annotations

import hashlib
import os
import re

# git only, with a fixed argument list.
import subprocess  # nosec B404
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.documents import Fields, read_input
from contracts.errors import EvidenceError
from packrepo.registry import load_registry

# Not FASTPATH_*: the packer refuses FastPath variables it does not know.
RUN_ID_ENV = "PACKREPO_RUN_ID"
_PROCESS_RUN_ID = uuid.uuid4().hex
FIXTURE_PRODUCER = "fixture"
UNKNOWN_COMMIT = "unknown"  # the git_sha of an artifact made outside a git checkout
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Provenance:
    """Which commit, configuration, producer and inputs an artifact was made from, and when."""

    git_sha: str
    config_sha256: str
    created_unix: float
    dirty: bool = False
    producer: str = "unknown"
    command: tuple[str, ...] = ()
    run_id: str = ""
    inputs: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_fixture(self) -> bool:
        return self.producer.startswith(FIXTURE_PRODUCER)

    def to_json(self) -> dict[str, Any]:
        return {
            "git_sha": self.git_sha,
            "dirty": self.dirty,
            "config_sha256": self.config_sha256,
            "created_unix": self.created_unix,
            "producer": self.producer,
            "command": list(self.command),
            "run_id": self.run_id,
            "inputs": dict(sorted(self.inputs.items())),
        }


def parse_provenance(fields: Fields) -> Provenance:
    """The ``provenance`` object of a document; every field is required."""
    table = fields.child("provenance")
    inputs = table.child("inputs")
    digests = {name: inputs.text(name) for name in inputs.raw}
    for name, digest in digests.items():
        if not _DIGEST.fullmatch(digest):
            raise inputs.error(name, "must be a sha256 in lowercase hex")
    created = table.number("created_unix")
    if created < 0:
        raise table.error("created_unix", "must not be negative")
    return Provenance(
        git_sha=table.text("git_sha"),
        config_sha256=table.text("config_sha256"),
        created_unix=created,
        dirty=table.flag("dirty"),
        producer=table.text("producer"),
        command=table.texts("command"),
        run_id=table.text("run_id"),
        inputs=digests,
    )


def checkout_git_sha(directory: Path) -> str | None:
    """The commit checked out at ``directory``, or None if it is not a git checkout."""
    sha = _git(directory, "rev-parse", "HEAD")
    return sha if sha is not None and _SHA.fullmatch(sha) else None


def checkout_dirty(directory: Path) -> bool:
    """Whether tracked files differ from the commit (untracked files, artifacts among
    them, do not count); outside a git checkout, False."""
    status = _git(directory, "status", "--porcelain", "--untracked-files=no")
    return bool(status)


def _git(directory: Path, *args: str) -> str | None:
    try:
        # A fixed git invocation, no shell.
        completed = subprocess.run(  # nosec B603 B607
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def current_run_id() -> str:
    """This run's id: the orchestrator's ``PACKREPO_RUN_ID``, or this process's own."""
    return os.environ.get(RUN_ID_ENV) or _PROCESS_RUN_ID


def new_run_id() -> str:
    return uuid.uuid4().hex


def current_provenance(
    config: Path,
    *,
    producer: str,
    inputs: Mapping[str, str] | None = None,
    command: Sequence[str] | None = None,
) -> Provenance:
    """Provenance for an artifact made now, from the checkout holding ``config``."""
    registry = load_registry(config)
    checkout = config.resolve().parent
    return Provenance(
        git_sha=checkout_git_sha(checkout) or UNKNOWN_COMMIT,
        config_sha256=registry.config_sha256,
        created_unix=_created_unix(),
        dirty=checkout_dirty(checkout),
        producer=producer,
        command=tuple(sys.argv if command is None else command),
        run_id=current_run_id(),
        inputs=dict(inputs or {}),
    )


def _created_unix() -> float:
    """Now, or ``SOURCE_DATE_EPOCH`` when set, for reproducible bytes."""
    pinned = os.environ.get("SOURCE_DATE_EPOCH")
    if pinned is not None:
        try:
            return float(int(pinned))
        except ValueError:
            pass
    return time.time()


def sha256_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def sha256_file(path: Path) -> str:
    """The sha256 of a regular file's bytes, read through :func:`read_input`."""
    if path.suffix == ".gz":
        raise EvidenceError(f"{path}: digests are of the stored bytes, not of a .gz's content")
    return sha256_bytes(read_input(path))
