"""What a pipeline run was, for the report's header: ``timings.json`` field ``run``.

The orchestrator records the facts a reader needs to weigh the numbers: the
profile, when the run started, how long it took to reach the gates, the machine's
load average when it started and when the measuring ended, and the CPUs. The
field is optional: ``timings.json`` written before it existed, or a gates run
without the orchestrator, has none, and the report says so.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

from contracts.documents import Fields
from contracts.errors import EvidenceError


@dataclass(frozen=True)
class RunFacts:
    profile: str
    started_at: str  # ISO 8601, UTC
    wall_seconds: float  # from the start of the run to the gates
    load_start: tuple[float, ...] | None  # 1, 5 and 15 minute load averages
    load_end: tuple[float, ...] | None
    cpu_model: str
    cpu_count: int | None  # os.cpu_count()
    cpu_affinity: int | None  # the CPUs this process may run on
    concurrency: int  # sessions of a phase at once

    def to_json(self) -> dict[str, object]:
        return {
            "profile": self.profile,
            "started_at": self.started_at,
            "wall_seconds": round(self.wall_seconds, 3),
            "load_average": {
                "start": None if self.load_start is None else list(self.load_start),
                "end": None if self.load_end is None else list(self.load_end),
            },
            "cpu": {
                "model": self.cpu_model,
                "count": self.cpu_count,
                "affinity": self.cpu_affinity,
                "concurrency": self.concurrency,
            },
        }


def parse_run_facts(fields: Fields) -> RunFacts:
    load, cpu = fields.child("load_average"), fields.child("cpu")
    return RunFacts(
        profile=fields.text("profile"),
        started_at=fields.text("started_at"),
        wall_seconds=fields.number("wall_seconds"),
        load_start=_loads(load, "start"),
        load_end=_loads(load, "end"),
        cpu_model=cpu.text("model"),
        cpu_count=cpu.maybe_integer("count"),
        cpu_affinity=cpu.maybe_integer("affinity"),
        concurrency=cpu.count("concurrency", minimum=1),
    )


def _loads(fields: Fields, key: str) -> tuple[float, ...] | None:
    value = fields.raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise EvidenceError(f"{fields.where}: `{key}` must be a list of load averages or null")
    return tuple(float(v) for v in value)


def load_average() -> tuple[float, ...] | None:
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on POSIX
        return None


def cpu_model() -> str:
    """The CPU's model name, as Linux reports it, else what the platform module says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_affinity() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
