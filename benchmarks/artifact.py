"""The benchmark artifact: typed records, versioned JSON, validated on load.

``benchmarks/SCHEMA.md`` documents every field. Reading refuses any ``schema``
other than :data:`ARTIFACT_SCHEMA` and names the first bad field by its path,
e.g. ``artifacts/V3_benchmark.json: trials[12].latency_ns must be a
non-negative integer``. Reading and writing go through the contract layer
(``contracts.documents``): one capped reader, one atomic writer, sorted keys.
The artifact's ``provenance`` (``contracts.provenance``) names the commit,
whether the tree was dirty, and the sha256 of its trial stream.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import orjson

from benchmarks.looks import DESIGN_KINDS, FIXED, FIXED_DESIGN, Design, LookRecord, design_kind
from benchmarks.schedule import FIRST, SECOND, Unit, unit_looks
from benchmarks.summary import Summary, summarise
from contracts.documents import SCHEMA, Fields, load_json, read_input, write_json_atomically
from contracts.errors import EvidenceError
from contracts.names import BENCHMARK_KIND
from contracts.provenance import Provenance, parse_provenance

ARTIFACT_SCHEMA = SCHEMA
ARTIFACT_KIND = BENCHMARK_KIND
MEMORY_METHODS = ("linux-vmhwm-above-ready", "ru-maxrss-since-start")

T = TypeVar("T")


class ArtifactError(EvidenceError):
    """An artifact is unreadable, of an unknown schema, or malformed."""


@dataclass(frozen=True)
class ArmSpec:
    name: str  # "baseline", "baseline-2" (A/A run) or the variant's name
    variant: str  # the registry variant whose flags the arm's worker ran with
    flags: dict[str, str]


@dataclass(frozen=True)
class CorpusRef:
    name: str
    version: str
    sha256: str  # the sdist's, or a digest of the local tree
    tokens: int
    questions: int  # questions asked of it in this run
    # The extracted tree's digest, checked against its manifest before the run (absent
    # from artifacts written before it was recorded: read as None).
    tree_sha256: str | None = None


@dataclass(frozen=True)
class GoldRef:
    path: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class UnitRecord:
    id: str
    repository: str
    question_id: str
    budget: int
    question: str
    gold: GoldRef

    @property
    def unit(self) -> Unit:
        """The schedule's unit this record describes (what looks and orders are made of)."""
        return Unit(self.repository, self.question_id, self.budget)


@dataclass(frozen=True)
class Trial:
    """One pack by one arm of one unit: what was measured, or the error."""

    unit_id: str
    repository: str
    question_id: str
    budget: int
    arm: str
    order_index: int
    position: str  # "first" or "second" within its pair
    warmup: bool
    ok: bool
    error: str | None
    qa_score: float | None
    pack_tokens: int | None
    latency_ns: int | None
    peak_rss_bytes: int | None
    memory_method: str | None
    gold_lines: int | None
    present_lines: int | None
    unverified_lines: int | None


@dataclass(frozen=True)
class Artifact:
    variant: str
    arms: tuple[ArmSpec, ...]
    profile: dict[str, Any]
    seed: int
    budgets: tuple[int, ...]
    corpus: tuple[CorpusRef, ...]
    oracle: dict[str, Any]
    environment: dict[str, Any]
    units: tuple[UnitRecord, ...]
    trials: tuple[Trial, ...]
    summaries: tuple[Summary, ...]
    timings: dict[str, Any]
    provenance: Provenance
    design: Design = FIXED_DESIGN

    def unit_looks(self) -> tuple[int, ...]:
        """The look of each unit (all 1 in the fixed design)."""
        units = [u.unit for u in self.units]
        return unit_looks(units, self.design.looks)

    def measured_unit_ids(self) -> frozenset[str]:
        """The units the run measured: those of every look it took."""
        return frozenset(
            unit.id
            for unit, look in zip(self.units, self.unit_looks(), strict=True)
            if look <= self.design.stopped_at_look
        )

    def summary(self, arm: str, budget: int) -> Summary:
        for summary in self.summaries:
            if summary.arm == arm and summary.budget == budget:
                return summary
        raise KeyError((arm, budget))


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def artifact_to_json(artifact: Artifact) -> dict[str, Any]:
    document = asdict(artifact)
    document["provenance"] = artifact.provenance.to_json()
    return {"schema": ARTIFACT_SCHEMA, "kind": ARTIFACT_KIND, **document}


def trial_to_json(trial: Trial) -> dict[str, Any]:
    return asdict(trial)


def write_artifact(path: Path, artifact: Artifact) -> None:
    """Write atomically: readers see the old file or the whole new one, never a part."""
    document = artifact_to_json(artifact)
    # What cannot be read back is never written (a resumed run's kept trials included).
    parse_artifact(load_json(orjson.dumps(document), str(path)), source=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, document, sort_keys=True)


# ---------------------------------------------------------------------------
# Reading and validation
# ---------------------------------------------------------------------------


class _Check:
    """Typed access to a JSON object that names the path of the first bad field."""

    def __init__(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise ArtifactError(f"{where or 'the document'} must be an object")
        self.value = value
        self.where = where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str) -> Any:
        if key not in self.value:
            raise ArtifactError(f"{self.path(key)} is missing")
        return self.value[key]

    def text(self, key: str, *, nullable: bool = False) -> Any:
        return self._typed(key, _is_text, "a non-empty string", nullable)

    def count(self, key: str, *, nullable: bool = False) -> Any:
        return self._typed(key, _is_count, "a non-negative integer", nullable)

    def number(self, key: str, *, nullable: bool = False) -> Any:
        return self._typed(key, _is_finite, "a finite number", nullable)

    def flag(self, key: str) -> Any:
        return self._typed(key, lambda v: isinstance(v, bool), "true or false", False)

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.get(key)
        if not isinstance(value, dict):
            raise ArtifactError(f"{self.path(key)} must be an object")
        return value

    def items(self, key: str, parse: Callable[[Any, str], T]) -> tuple[T, ...]:
        value = self.get(key)
        if not isinstance(value, list):
            raise ArtifactError(f"{self.path(key)} must be a list")
        return tuple(parse(item, f"{self.path(key)}[{i}]") for i, item in enumerate(value))

    def _typed(self, key: str, ok: Callable[[Any], bool], what: str, nullable: bool) -> Any:
        value = self.get(key)
        if (value is None and nullable) or ok(value):
            return value
        raise ArtifactError(f"{self.path(key)} must be {what}{' or null' if nullable else ''}")


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _parse_arm(value: Any, where: str) -> ArmSpec:
    check = _Check(value, where)
    flags = check.mapping("flags")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in flags.items()):
        raise ArtifactError(f"{check.path('flags')} must map names to strings")
    return ArmSpec(name=check.text("name"), variant=check.text("variant"), flags=dict(flags))


def _parse_corpus_ref(value: Any, where: str) -> CorpusRef:
    check = _Check(value, where)
    tree_sha256 = value.get("tree_sha256")
    if tree_sha256 is not None and not _is_sha256(tree_sha256):
        raise ArtifactError(f"{check.path('tree_sha256')} must be a sha256 (64 hex digits)")
    return CorpusRef(
        name=check.text("name"),
        version=check.text("version"),
        sha256=check.text("sha256"),
        tokens=check.count("tokens"),
        questions=check.count("questions"),
        tree_sha256=tree_sha256,
    )


def _is_sha256(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _parse_unit(value: Any, where: str) -> UnitRecord:
    check = _Check(value, where)
    gold = _Check(check.mapping("gold"), check.path("gold"))
    return UnitRecord(
        id=check.text("id"),
        repository=check.text("repository"),
        question_id=check.text("question_id"),
        budget=check.count("budget"),
        question=check.text("question"),
        gold=GoldRef(gold.text("path"), gold.count("start_line"), gold.count("end_line")),
    )


def parse_trial(value: Any, where: str) -> Trial:
    """One trial record, validated; ``where`` names it in errors."""
    check = _Check(value, where)
    ok = check.flag("ok")
    trial = Trial(
        unit_id=check.text("unit_id"),
        repository=check.text("repository"),
        question_id=check.text("question_id"),
        budget=check.count("budget"),
        arm=check.text("arm"),
        order_index=check.count("order_index"),
        position=check.text("position"),
        warmup=check.flag("warmup"),
        ok=ok,
        error=check.text("error", nullable=ok),
        qa_score=check.number("qa_score", nullable=not ok),
        pack_tokens=check.count("pack_tokens", nullable=not ok),
        latency_ns=check.count("latency_ns", nullable=not ok),
        peak_rss_bytes=check.count("peak_rss_bytes", nullable=True),
        memory_method=check.text("memory_method", nullable=True),
        gold_lines=check.count("gold_lines", nullable=not ok),
        present_lines=check.count("present_lines", nullable=not ok),
        unverified_lines=check.count("unverified_lines", nullable=not ok),
    )
    if trial.position not in (FIRST, SECOND):
        raise ArtifactError(f"{check.path('position')} must be {FIRST!r} or {SECOND!r}")
    if ok and trial.error is not None:
        raise ArtifactError(f"{check.path('error')} must be null when ok is true")
    if trial.qa_score is not None and not 0.0 <= trial.qa_score <= 1.0:
        raise ArtifactError(f"{check.path('qa_score')} must be within [0, 1]")
    if trial.memory_method is not None and trial.memory_method not in MEMORY_METHODS:
        raise ArtifactError(f"{check.path('memory_method')} must be one of {MEMORY_METHODS}")
    return trial


def _parse_summary(value: Any, where: str) -> Summary:
    check = _Check(value, where)
    return Summary(
        arm=check.text("arm"),
        budget=check.count("budget"),
        n_ok=check.count("n_ok"),
        n_failed=check.count("n_failed"),
        qa_score_sum=check.number("qa_score_sum"),
        pack_tokens_sum=check.count("pack_tokens_sum"),
        qa_per_100k=check.number("qa_per_100k", nullable=True),
        latency_p50_ns=check.number("latency_p50_ns", nullable=True),
        latency_p95_ns=check.number("latency_p95_ns", nullable=True),
        latency_mean_ns=check.number("latency_mean_ns", nullable=True),
        peak_rss_mean_bytes=check.number("peak_rss_mean_bytes", nullable=True),
        peak_rss_max_bytes=check.count("peak_rss_max_bytes", nullable=True),
    )


def _parse_budget(value: Any, where: str) -> int:
    if not _is_count(value) or value == 0:
        raise ArtifactError(f"{where} must be a positive integer")
    return int(value)


def parse_artifact(document: Any, *, source: str = "artifact") -> Artifact:
    """Validate a decoded artifact; errors read ``<source>: <field path> must be ...``."""
    try:
        artifact = _parse(document)
    except ArtifactError as exc:
        raise ArtifactError(f"{source}: {exc}") from None
    try:
        provenance = parse_provenance(Fields(document, source))
    except EvidenceError as exc:
        raise ArtifactError(str(exc)) from None
    return replace(artifact, provenance=provenance)


def _parse(document: Any) -> Artifact:
    if not isinstance(document, dict):
        raise ArtifactError(f"must be a JSON object, got {type(document).__name__}")
    check = _Check(document, "")
    if document.get("kind") != ARTIFACT_KIND:
        raise ArtifactError(f"kind must be {ARTIFACT_KIND!r}, got {document.get('kind')!r}")
    if type(document.get("schema")) is not int:
        raise ArtifactError(
            f"schema must be the integer {ARTIFACT_SCHEMA}, got {document.get('schema')!r}"
        )
    if document.get("schema") != ARTIFACT_SCHEMA:
        raise ArtifactError(
            f"schema {document.get('schema')!r} is not supported (this version reads"
            f" {ARTIFACT_SCHEMA})"
        )
    variant = check.text("variant")
    arms = check.items("arms", _parse_arm)
    profile = check.mapping("profile")
    _Check(profile, "profile").text("name")
    artifact = Artifact(
        variant=variant,
        arms=arms,
        profile=profile,
        seed=check.count("seed"),
        budgets=check.items("budgets", _parse_budget),
        corpus=check.items("corpus", _parse_corpus_ref),
        oracle=check.mapping("oracle"),
        environment=check.mapping("environment"),
        units=check.items("units", _parse_unit),
        trials=check.items("trials", parse_trial),
        summaries=check.items("summaries", _parse_summary),
        timings=check.mapping("timings"),
        provenance=Provenance("", "", 0.0),  # parsed by parse_artifact, with the file's name
        # An artifact without a design (written before issue #14) measured every unit.
        design=_parse_design(document["design"], "design")
        if "design" in document
        else FIXED_DESIGN,
    )
    _check_consistency(artifact)
    return artifact


def _check_consistency(artifact: Artifact) -> None:
    """Cross-field rules: known arms and units, one measured trial per unit and arm."""
    arm_names = [arm.name for arm in artifact.arms]
    if len(arm_names) != 2 or len(set(arm_names)) != 2:
        raise ArtifactError(f"arms must name two distinct arms, got {arm_names}")
    units = {unit.id: unit for unit in artifact.units}
    for i, trial in enumerate(artifact.trials):
        if trial.arm not in arm_names:
            raise ArtifactError(f"trials[{i}].arm {trial.arm!r} is not one of {arm_names}")
        unit = units.get(trial.unit_id)
        if unit is None:
            raise ArtifactError(f"trials[{i}].unit_id {trial.unit_id!r} is not in units")
        if (unit.repository, unit.question_id, unit.budget) != (
            trial.repository,
            trial.question_id,
            trial.budget,
        ):
            raise ArtifactError(f"trials[{i}] does not match its unit {trial.unit_id!r}")
    methods = sorted({t.memory_method for t in artifact.trials if t.memory_method is not None})
    if len(methods) > 1:
        raise ArtifactError(f"trials mix memory methods {methods}: one run measures one way")
    measured = Counter((t.unit_id, t.arm) for t in artifact.trials if not t.warmup)
    taken = artifact.measured_unit_ids()
    for unit_id in units:
        for arm in arm_names:
            expected = 1 if unit_id in taken else 0
            if measured[(unit_id, arm)] != expected:
                raise ArtifactError(
                    f"unit {unit_id!r} has {measured[(unit_id, arm)]} measured trials of arm"
                    f" {arm!r}; "
                    + (
                        "every unit of a look taken needs exactly one per arm"
                        if expected
                        else f"the run stopped at look {artifact.design.stopped_at_look},"
                        " before this unit's look"
                    )
                )
    _check_looks(artifact.design, artifact.unit_looks())
    _check_summaries(artifact, arm_names)


def _parse_look(value: Any, where: str) -> LookRecord:
    check = _Check(value, where)
    return LookRecord(
        look=check.count("look"),
        units=check.count("units"),
        stop=check.flag("stop"),
        summary=check.text("summary"),
    )


def _parse_design(value: Any, where: str) -> Design:
    check = _Check(value, where)
    design = Design(
        kind=check.text("kind"),
        looks=check.count("looks"),
        stopped_at_look=check.count("stopped_at_look"),
        reason=check.text("reason"),
        taken=check.items("taken", _parse_look),
    )
    if design.kind not in DESIGN_KINDS:
        raise ArtifactError(
            f"{where}.kind must be one of {list(DESIGN_KINDS)}, got {design.kind!r}"
        )
    if not 1 <= design.stopped_at_look <= design.looks:
        raise ArtifactError(
            f"{where}.stopped_at_look must be between 1 and looks ({design.looks}),"
            f" got {design.stopped_at_look}"
        )
    if design.kind == FIXED and (design.looks != 1 or design.taken):
        raise ArtifactError(f"{where}: the fixed design has one look and no monitor record")
    if design.kind != design_kind(design.looks):  # one look is the fixed design, monitor or not
        raise ArtifactError(
            f"{where}: a sequential design of one look is the fixed design (kind {FIXED!r})"
        )
    return design


def _check_looks(design: Design, looks_of_units: Sequence[int]) -> None:
    """A sequential run's looks are 1, 2, ... up to where it stopped, each with the units of
    its looks so far, and only the last one stopped (a look that said stop ends the run)."""
    if design.kind == FIXED:
        return
    numbers = [record.look for record in design.taken]
    if numbers != list(range(1, design.stopped_at_look + 1)):
        raise ArtifactError(
            f"design.taken must record looks 1 to {design.stopped_at_look}, got {numbers}"
        )
    counts = [record.units for record in design.taken]
    expected = [sum(1 for k in looks_of_units if k <= look) for look in numbers]
    if counts != expected:
        raise ArtifactError(
            f"design.taken's unit counts are {counts}; the units of each look give {expected}"
        )
    stops = [record.look for record in design.taken if record.stop]
    # The last planned look ends the run whatever the monitor said; any other stop is its.
    allowed = [[design.stopped_at_look]]
    if design.stopped_at_look == design.looks:
        allowed.append([])
    if stops not in allowed:
        raise ArtifactError(
            f"design.taken: the run stopped at look {design.stopped_at_look}, but the monitor"
            f" said stop at looks {stops or 'none'}"
        )


def _check_summaries(artifact: Artifact, arm_names: Sequence[str]) -> None:
    expected = summarise(artifact.trials, arm_names, artifact.budgets)
    if len(expected) != len(artifact.summaries):
        raise ArtifactError(f"summaries must hold {len(expected)} cells (arm x budget)")
    for i, (want, got) in enumerate(zip(expected, artifact.summaries, strict=True)):
        for field_name, want_value in asdict(want).items():
            got_value = getattr(got, field_name)
            if not _same(want_value, got_value):
                raise ArtifactError(
                    f"summaries[{i}].{field_name} is {got_value!r} but the trials give"
                    f" {want_value!r}"
                )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def load_artifact(path: Path | str) -> Artifact:
    """Read and validate an artifact file."""
    path = Path(path)
    try:
        document = load_json(read_input(path), str(path))
    except EvidenceError as exc:
        raise ArtifactError(str(exc)) from None
    return parse_artifact(document, source=str(path))
