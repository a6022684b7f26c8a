"""--skip-building: reuse the building evidence (B0-B2) only when it is current.

Evidence is current when its provenance names the commit checked out now and the
registry's ``config_sha256``, and, unless ``--allow-dirty``, neither it nor the
checkout comes from a tree with uncommitted changes (such a tree is not the
commit it names, and may have changed since). A document's provenance is its
own ``provenance`` object, or the stamp ``python -m gates.stamp`` writes beside a
report that has no room for one (ruff, mypy, bandit, ``boot_env.json``):
``<stem>.provenance.json``, with the sha256 of the bytes it stamped.

Anything else is refused, naming the file: reusing it silently would put the
verdict of another commit into this run's report. Running B0-B2 instead would
hide that the reuse asked for was impossible; the fix is one flag away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contracts.documents import Fields, parse_object, read_document, read_input
from contracts.errors import EvidenceError
from contracts.names import BANDIT_PROVENANCE_FILE, KINDS, STAMP_SUFFIX, stamp_file
from contracts.provenance import Provenance, parse_provenance, sha256_bytes
from pipeline.plan import BUILDING_OUTPUTS

# The sidecar stamp of a file with no room for provenance (gates/stamp.py's naming).
SIDECAR_KIND = KINDS[BANDIT_PROVENANCE_FILE]


class StaleBuildingError(Exception):
    """The building evidence --skip-building would reuse is missing or not current."""


@dataclass(frozen=True)
class Checkout:
    """What the evidence must match: the commit, the registry, and whether the tree is dirty."""

    git_sha: str | None
    config_sha256: str
    dirty: bool


@dataclass(frozen=True)
class Reused:
    """One reused file: its digest and the provenance that showed it current."""

    name: str
    sha256: str
    provenance: Provenance

    def to_json(self) -> dict[str, object]:
        return {
            "sha256": self.sha256,
            "git_sha": self.provenance.git_sha,
            "config_sha256": self.provenance.config_sha256,
            "dirty": self.provenance.dirty,
            "run_id": self.provenance.run_id,
            "created_unix": self.provenance.created_unix,
        }


def evidence_files() -> tuple[str, ...]:
    """The building outputs that are evidence (their stamps are how they are proven)."""
    every = [name for names in BUILDING_OUTPUTS.values() for name in names]
    return tuple(name for name in every if not name.endswith(STAMP_SUFFIX))


def current_building_evidence(
    artifacts: Path, checkout: Checkout, *, allow_dirty: bool
) -> tuple[Reused, ...]:
    """Every building output, each shown current; raises :class:`StaleBuildingError`
    naming the first file that is missing, unreadable or stale."""
    if checkout.git_sha is None:
        raise StaleBuildingError(
            "--skip-building: this is not a git checkout, so no evidence can be shown "
            "to belong to it; run without --skip-building"
        )
    if checkout.dirty and not allow_dirty:
        raise StaleBuildingError(
            "--skip-building: the checkout has uncommitted changes, so the building "
            "evidence cannot be shown current; commit them, pass --allow-dirty, or run "
            "without --skip-building"
        )
    return tuple(_current(artifacts / name, checkout, allow_dirty) for name in evidence_files())


def _current(path: Path, checkout: Checkout, allow_dirty: bool) -> Reused:
    try:
        payload = read_input(path)
        provenance = _provenance_of(path, payload)
    except EvidenceError as exc:
        raise StaleBuildingError(f"--skip-building: cannot reuse {exc}") from None
    problem = _why_stale(provenance, checkout, allow_dirty)
    if problem is not None:
        raise StaleBuildingError(
            f"--skip-building: {path} is stale ({problem}); run without --skip-building"
        )
    return Reused(path.name, sha256_bytes(payload), provenance)


def _provenance_of(path: Path, payload: bytes) -> Provenance:
    """The stamp's provenance, which must be of these very bytes; without a stamp, the
    document's own (a tool's report need not even be one JSON document: mypy's is lines)."""
    stamp_path = path.with_name(stamp_file(path.name))
    if not stamp_path.exists():
        try:
            document: Fields | None = parse_object(payload, str(path))
        except EvidenceError:
            document = None  # not a JSON object, so it has no provenance of its own
        if document is None or "provenance" not in document:
            raise EvidenceError(f"{path}: no provenance, and no stamp {stamp_path.name} beside it")
        return parse_provenance(document)
    stamp = read_document(stamp_path, SIDECAR_KIND)
    if stamp.text("subject_sha256") != sha256_bytes(payload):
        raise EvidenceError(f"{stamp_path}: stamped a different {path.name}")
    return parse_provenance(stamp)


def _why_stale(provenance: Provenance, checkout: Checkout, allow_dirty: bool) -> str | None:
    if provenance.git_sha != checkout.git_sha:
        checked_out = (checkout.git_sha or "none")[:12]
        return f"made at commit {provenance.git_sha[:12]}, the checkout is at {checked_out}"
    if provenance.config_sha256 != checkout.config_sha256:
        return "made with another [tool.fastpath] registry (config_sha256 differs)"
    if provenance.dirty and not allow_dirty:
        return "made from a tree with uncommitted changes"
    if provenance.is_fixture:
        return "hand-built fixture evidence"
    return None


def reused_summary(reused: tuple[Reused, ...]) -> Mapping[str, object]:
    """What timings.json and the report record about building."""
    return {
        "skipped": True,
        "reused": {item.name: item.to_json() for item in reused},
    }


NOT_SKIPPED: Mapping[str, object] = {"skipped": False, "reused": {}}
