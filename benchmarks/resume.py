"""Resuming an interrupted benchmark from its trial stream (``run --resume``).

Every trial is appended to ``<output>.jsonl`` as soon as it is measured, so an
interrupted run (Ctrl-C, a killed CI job, a crash) has lost nothing it measured.
``--resume`` continues it instead of starting over, and only where doing so
cannot mix evidence:

* The stream's header must describe this very run: the same variant, arms and
  flags, profile, seed and budgets; the same trees (each repository's archive
  and extracted-tree digests) and trial timeout; the same packer and
  measurement code (``code``: the packrepo sources, the scoring code, the
  worker that times, the tokenizer's and the interpreter's versions); and the
  same machine and checkout (``machine``: host, CPU, platform, Python, the
  measured path's package versions, the git commit and whether the tree was
  dirty). Anything else is refused with the first field that differs.
* Its trials must be this run's schedule, in order: the schedule is a pure
  function of the seed and the units (``benchmarks.schedule``), so the k-th
  record must be the k-th scheduled trial, field for field.
* A pair is measured back to back or not at all: a pair whose second trial is
  missing is measured again whole (the first half is dropped from the stream,
  which is rewritten atomically before anything new is appended). A torn last
  line (the write the interruption cut) is dropped the same way.
* The new workers are warmed with the schedule's warm-up pairs again; those
  extra warm-ups are not recorded, so the stream stays exactly the schedule.

The resumed run's pairs are the same pairs, in the same order, as an
uninterrupted run's. What differs is when they were measured and the workers'
history: new workers start with empty in-process caches and a fresh heap (the
warm-ups refill what they can). The artifact's ``timings.resumed`` records the
last resumption: when, after how many trials, and how many were measured again.

Without ``--resume``, a stream that no artifact was written from (an
interrupted run) is not overwritten: it is moved aside to
``<output>.interrupted.jsonl`` (:func:`keep_interrupted`), so nothing measured
is lost by forgetting the flag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.artifact import ArtifactError, Trial, parse_trial
from benchmarks.schedule import ScheduledTrial
from contracts.documents import load_json, read_input, write_all_atomically
from contracts.errors import EvidenceError
from contracts.provenance import sha256_file

# Header fields that identify a run; ``started_at`` may differ between its sessions.
IDENTITY = (
    "kind",
    "schema",
    "variant",
    "arms",
    "profile",
    "seed",
    "budgets",
    "corpus",
    "trial_timeout_s",
    "design",  # fixed or sequential, and its looks: a resumed run keeps its looks
    "code",
    "machine",
)


class ResumeError(ValueError):
    """The stream cannot be continued by this run: it is named and nothing is changed."""


@dataclass(frozen=True)
class Resumed:
    started_at: str  # when the run first started (its stream header says)
    trials: tuple[Trial, ...]  # complete pairs already measured, in schedule order
    dropped: int  # records dropped: a half-measured pair or a torn line
    kept: bytes  # the stream's header and those pairs' records, byte for byte


def measurement_code() -> str:
    """sha256 of the packer's and the measurement's code (see the module doc); the
    packages and the commit are in the header's ``machine``."""
    import benchmarks.worker
    from benchmarks.quality_cache import code_digest

    digest = hashlib.sha256(bytes.fromhex(code_digest()))
    digest.update(bytes.fromhex(sha256_file(Path(benchmarks.worker.__file__))))
    return digest.hexdigest()


def read_resumable(
    stream: Path, header: Mapping[str, Any], schedule: Sequence[ScheduledTrial]
) -> Resumed:
    """The measured prefix of ``stream`` that this run (``header``, ``schedule``) continues."""
    if not stream.exists():
        raise ResumeError(f"nothing to resume: {stream} does not exist")
    try:
        raw = read_input(stream)  # a regular file only, size-capped
    except EvidenceError as exc:
        raise ResumeError(str(exc)) from None
    lines = raw.split(b"\n")
    torn = 0 if lines[-1] == b"" else 1  # an unterminated last line was cut mid-write
    lines = [line for line in lines[: len(lines) - 1] if line.strip()]
    if not lines:
        raise ResumeError(f"nothing to resume: {stream} holds no run header")
    found = _load(lines[0], stream, 1)
    _check_identity(found, header, stream)
    records = lines[1:]
    if len(records) > len(schedule):
        raise ResumeError(
            f"{stream} holds {len(records)} trials, this run schedules {len(schedule)}"
        )
    trials = []
    for index, line in enumerate(records):
        trials.append(_scheduled_trial(_load(line, stream, index + 2), schedule[index], stream))
    complete = len(trials) - len(trials) % 2  # the schedule lists each pair's two trials
    kept = b"".join(line + b"\n" for line in lines[: complete + 1])
    started_at = str(found.get("started_at") or "")
    return Resumed(started_at, tuple(trials[:complete]), len(trials) - complete + torn, kept)


def rewrite_stream(stream: Path, resumed: Resumed) -> None:
    """Keep only the header and the complete pairs, atomically, before appending more."""
    write_all_atomically({stream: resumed.kept})


def _load(line: bytes, stream: Path, number: int) -> dict[str, Any]:
    try:
        value = load_json(line, f"{stream}, line {number}")
    except EvidenceError as exc:
        raise ResumeError(str(exc)) from None
    if not isinstance(value, dict):
        raise ResumeError(f"{stream}, line {number}: not a JSON object")
    return value


def _check_identity(found: Mapping[str, Any], header: Mapping[str, Any], stream: Path) -> None:
    for key in IDENTITY:
        if found.get(key) != header.get(key):
            what = "measurement code" if key == "code" else key
            raise ResumeError(
                f"cannot resume {stream}: its {what} is {found.get(key)!r},"
                f" this run's is {header.get(key)!r}"
            )


def _scheduled_trial(value: dict[str, Any], expected: ScheduledTrial, stream: Path) -> Trial:
    if value.pop("record", None) != "trial":
        raise ResumeError(f"{stream}: a line after the header is not a trial record")
    try:
        trial = parse_trial(value, "trial")
    except ArtifactError as exc:
        raise ResumeError(f"{stream}: {exc}") from None
    unit = expected.unit
    scheduled = (
        unit.id,
        unit.repository,
        unit.question_id,
        unit.budget,
        expected.arm,
        expected.order_index,
        expected.position,
        expected.warmup,
    )
    recorded = (
        trial.unit_id,
        trial.repository,
        trial.question_id,
        trial.budget,
        trial.arm,
        trial.order_index,
        trial.position,
        trial.warmup,
    )
    if recorded != scheduled:
        raise ResumeError(
            f"{stream}: trial {recorded} does not follow this run's schedule"
            f" (expected {scheduled}): not this run's stream"
        )
    return trial


def keep_interrupted(stream: Path, output: Path) -> Path | None:
    """Move an interrupted run's stream aside; None when there is none to keep.

    A stream is a finished run's when the artifact at ``output`` names it with its
    current digest; any other stream (no artifact, an older one, one that cannot be
    read) holds trials no artifact carries.
    """
    if not stream.exists():
        return None
    if _finished(stream, output):
        return None
    kept = stream.with_name(stream.name.removesuffix(".jsonl") + ".interrupted.jsonl")
    stream.replace(kept)
    return kept


def _finished(stream: Path, output: Path) -> bool:
    from benchmarks.artifact import load_artifact

    try:
        recorded = load_artifact(output).provenance.inputs.get(stream.name)
    except ArtifactError:
        return False
    return recorded is not None and recorded == sha256_file(stream)
