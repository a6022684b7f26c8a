"""R3 differential testing: each variant's packs against a reference, case by case.

    python -m benchmarks.differential [--output artifacts/differential.json]
    python -m benchmarks.differential --refresh-golden     # after reviewing a change

Cases. Every repository of the profile (the pinned corpus, prepared as the QA oracle
prepares it), at every budget of the registry, with each of the repository's first
:data:`QUESTIONS_PER_REPOSITORY` oracle questions as the query. Each arm packs every case
in worker processes started with its registry flags (:func:`benchmarks.shadow.open_lane`).

References. A variant whose registry intent is ``performance`` promises the baseline's
output: its text must have the baseline's sha256 in every case. A ``quality`` variant
changes the pack on purpose, so it is compared with committed known-good packs instead:
``benchmarks/golden/corpus.json`` holds, per variant and case, the sha256 of the text, its
token count and the manifest's items (``path:start-end mode``), which is enough to say
which items changed; a whole pack per case would be too large to commit. A case where
both sides fail with the same error counts as equal (shadow traffic reports crashes);
one failing alone is a mismatch.

Refreshing. ``--refresh-golden`` rewrites the golden packs of every quality variant from
the current code, for the corpus and for the tiny handmade corpus of the test suite
(``benchmarks/golden/tiny/``: whole packs, text and manifest, which
``tests/test_differential.py`` compares byte for byte). Run it only after reading what
the plain run reports as changed, and commit the result with the change that caused it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.shadow import (
    Lane,
    PackRequest,
    PreparedRepository,
    Setting,
    add_setting_arguments,
    expected_errors,
    manifest_digest,
    open_lane,
    report_error,
    setting_from,
    text_digest,
    write_json,
)
from contracts.documents import SCHEMA as DOCUMENT_SCHEMA
from contracts.documents import load_json, read_input, write_text_atomically
from contracts.errors import EvidenceError
from contracts.progress import ProgressReporter

DIFFERENTIAL_KIND = "fastpath-differential"
GOLDEN_KIND = "packrepo-differential-golden"
SCHEMA = DOCUMENT_SCHEMA  # the contract layer's version of every pipeline document
GOLDEN_SCHEMA = 1
QUESTIONS_PER_REPOSITORY = 1
DEFAULT_GOLDEN = Path(__file__).with_name("golden") / "corpus.json"
TINY_GOLDEN = Path(__file__).with_name("golden") / "tiny"
TINY_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus.json"
# The tiny trees hold a few thousand tokens: budgets that make the ladder choose.
TINY_BUDGETS = (600, 2000)
TINY_QUESTIONS = 2
REFRESH_COMMAND = "python -m benchmarks.differential --refresh-golden"
DETAILS_PER_VARIANT = 10
ITEMS_SHOWN = 8


class GoldenError(ValueError):
    """The golden file is missing, malformed, of another schema, or for other cases."""


# ---------------------------------------------------------------------------
# Cases and what one pack of a case leaves (pure)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One pack every arm makes: a repository's prepared tree, a budget, a query."""

    repository: str
    tree: str
    budget: int
    question_id: str | None
    query: str | None

    @property
    def key(self) -> str:
        return f"{self.repository}|{self.budget}|{self.question_id or '-'}"


def plan_cases(
    repositories: Sequence[PreparedRepository], budgets: Sequence[int], questions: int
) -> tuple[Case, ...]:
    """Every repository x budget x its first ``questions`` oracle questions, in that order."""
    return tuple(
        Case(repository.name, str(repository.tree), budget, question_id, query)
        for repository in repositories
        for budget in sorted(budgets)
        for question_id, query in _first_questions(repository, questions)
    )


def _first_questions(repository: PreparedRepository, count: int) -> list[tuple[str, str]]:
    pairs = zip(repository.question_ids, repository.questions, strict=True)
    return list(pairs)[:count]


@dataclass(frozen=True)
class PackRecord:
    """A pack reduced to what is compared: the text's digest and the manifest's items."""

    sha256: str | None
    tokens: int | None
    items: tuple[str, ...]
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"error": self.error}
        return {"sha256": self.sha256, "tokens": self.tokens, "items": group_items(self.items)}

    @classmethod
    def from_json(cls, document: Any, where: str) -> PackRecord:
        if not isinstance(document, dict):
            raise GoldenError(f"{where} must be an object")
        if "error" in document:
            if not isinstance(document["error"], str):
                raise GoldenError(f"{where}.error must be a string")
            return cls(None, None, (), document["error"])
        sha256, tokens, items = (
            document.get("sha256"),
            document.get("tokens"),
            document.get("items"),
        )
        if not isinstance(sha256, str) or type(tokens) is not int:
            raise GoldenError(f"{where} needs `sha256` (string) and `tokens` (integer)")
        if not isinstance(items, dict) or not all(isinstance(v, str) for v in items.values()):
            raise GoldenError(f"{where}.items must map paths to span lists")
        return cls(sha256, tokens, ungroup_items(items, where))

    def same_as(self, other: PackRecord) -> bool:
        if self.error is not None or other.error is not None:
            return self.error == other.error
        return self.sha256 == other.sha256


def item_label(item: Mapping[str, Any]) -> str:
    """``path:start-end mode``, one manifest item."""
    return f"{item['path']}:{item['start_line']}-{item['end_line']} {item['mode']}"


_MODE_LETTERS = {"full": "f", "chunk": "c", "signature": "s"}
_LETTER_MODES = {letter: mode for mode, letter in _MODE_LETTERS.items()}


def group_items(items: Sequence[str]) -> dict[str, str]:
    """Items by path, spans as ``start-end`` plus the mode's letter: what golden files hold.

    ``["a.py:1-9 chunk", "a.py:20-25 signature"]`` becomes ``{"a.py": "1-9c,20-25s"}``:
    a pack of a large repository has thousands of items, mostly from a few hundred files.
    """
    grouped: dict[str, list[str]] = {}
    for item in items:
        path, _, rest = item.rpartition(":")
        span, _, mode = rest.partition(" ")
        grouped.setdefault(path, []).append(span + _MODE_LETTERS.get(mode, "?"))
    return {path: ",".join(spans) for path, spans in grouped.items()}


def ungroup_items(grouped: Mapping[str, str], where: str) -> tuple[str, ...]:
    items = []
    for path, spans in grouped.items():
        for span in spans.split(","):
            mode = _LETTER_MODES.get(span[-1:])
            if mode is None:
                raise GoldenError(f"{where}.items[{path!r}]: bad span {span!r}")
            items.append(f"{path}:{span[:-1]} {mode}")
    return tuple(items)


def record_of(text: str, manifest: Mapping[str, Any]) -> PackRecord:
    return PackRecord(
        sha256=text_digest(text),
        tokens=int(manifest["tokens"]),
        items=tuple(item_label(item) for item in manifest["items"]),
    )


def record_batch(requests: Sequence[PackRequest]) -> list[PackRecord]:
    """Pack each request with this process's flags (runs in an arm's worker)."""
    import packrepo

    records = []
    for request in requests:
        try:
            result = packrepo.pack(request.tree, request.budget, request.query)
        except Exception as exc:  # recorded, compared like any outcome
            records.append(PackRecord(None, None, (), f"{type(exc).__name__}: {exc}"[:500]))
            continue
        records.append(record_of(result.text, result.manifest))
    return records


# ---------------------------------------------------------------------------
# Comparing (pure)
# ---------------------------------------------------------------------------


@dataclass
class VariantComparison:
    """One variant against its reference over every case."""

    reference: str  # "baseline" or "golden"
    compared: int = 0
    mismatches: int = 0
    errors: int = 0  # cases where the variant failed to pack (equal or not)
    details: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.compared > 0 and self.mismatches == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "mismatches": self.mismatches,
            "compared": self.compared,
            "reference": self.reference,
            "errors": self.errors,
            "details": self.details,
        }


def difference(case: Case, got: PackRecord, expected: PackRecord | None) -> dict[str, Any]:
    """What changed in one case: digests, errors, the items added and removed."""
    detail: dict[str, Any] = {"case": case.key}
    if expected is None:
        detail["problem"] = f"no golden pack for this case; refresh with `{REFRESH_COMMAND}`"
        return detail
    if got.error is not None or expected.error is not None:
        detail["problem"] = f"outcome {got.error or 'packed'} vs {expected.error or 'packed'}"
        return detail
    before, after = set(expected.items), set(got.items)
    added = [item for item in got.items if item not in before]
    removed = [item for item in expected.items if item not in after]
    detail.update(
        sha256=got.sha256,
        expected_sha256=expected.sha256,
        tokens=got.tokens,
        expected_tokens=expected.tokens,
        items_added=added[:ITEMS_SHOWN],
        items_removed=removed[:ITEMS_SHOWN],
        items_added_total=len(added),
        items_removed_total=len(removed),
    )
    return detail


def compare(
    cases: Sequence[Case],
    got: Mapping[str, PackRecord],
    reference: Mapping[str, PackRecord],
    reference_name: str,
) -> VariantComparison:
    """Compare a variant's records with the reference's, case by case (keys: case keys)."""
    comparison = VariantComparison(reference=reference_name)
    for case in cases:
        record, expected = got[case.key], reference.get(case.key)
        comparison.compared += 1
        if record.error is not None:
            comparison.errors += 1
        if expected is None or not record.same_as(expected):
            comparison.mismatches += 1
            if len(comparison.details) < DETAILS_PER_VARIANT:
                comparison.details.append(difference(case, record, expected))
    return comparison


# ---------------------------------------------------------------------------
# Golden packs (versioned JSON; unknown versions are refused)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Golden:
    """Known-good packs of the quality variants, per variant and case key."""

    cases: tuple[str, ...]
    variants: dict[str, dict[str, PackRecord]]
    source: dict[str, Any]


def golden_document(golden: Golden) -> dict[str, Any]:
    return {
        "schema": GOLDEN_SCHEMA,
        "kind": GOLDEN_KIND,
        "refresh": REFRESH_COMMAND,
        "source": golden.source,
        "cases": list(golden.cases),
        "variants": {
            name: {key: record.to_json() for key, record in sorted(records.items())}
            for name, records in sorted(golden.variants.items())
        },
    }


def write_golden(path: Path, golden: Golden) -> None:
    """Indented at the top, one line per pack: small, and a refresh diffs pack by pack."""
    document = golden_document(golden)
    variants = document.pop("variants")
    head = json.dumps(document, indent=2, ensure_ascii=False)[:-2]
    lines = [head + ',\n  "variants": {']
    for v_index, (name, records) in enumerate(variants.items()):
        lines.append(f"    {json.dumps(name)}: {{")
        for r_index, (key, record) in enumerate(records.items()):
            comma = "," if r_index < len(records) - 1 else ""
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            lines.append(f"      {json.dumps(key, ensure_ascii=False)}: {line}{comma}")
        lines.append("    }" + ("," if v_index < len(variants) - 1 else ""))
    lines.append("  }\n}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, "\n".join(lines))


def parse_golden(document: Any, where: str) -> Golden:
    if not isinstance(document, dict) or document.get("kind") != GOLDEN_KIND:
        raise GoldenError(f"{where}: not a golden file (kind {GOLDEN_KIND!r})")
    if document.get("schema") != GOLDEN_SCHEMA:
        raise GoldenError(f"{where}: schema {document.get('schema')!r}, expected {GOLDEN_SCHEMA}")
    cases, variants = document.get("cases"), document.get("variants")
    if not isinstance(cases, list) or not all(isinstance(case, str) for case in cases):
        raise GoldenError(f"{where}.cases must be a list of strings")
    if not isinstance(variants, dict) or not all(isinstance(v, dict) for v in variants.values()):
        raise GoldenError(f"{where}.variants must map variant names to objects")
    return Golden(
        cases=tuple(cases),
        variants={
            name: {
                key: PackRecord.from_json(value, f"{where}.variants.{name}.{key}")
                for key, value in records.items()
            }
            for name, records in variants.items()
        },
        source=dict(document.get("source") or {}),
    )


def load_golden(path: Path) -> Golden:
    try:
        document = load_json(read_input(path), str(path))
    except EvidenceError as exc:
        raise GoldenError(f"golden packs {exc}") from None
    return parse_golden(document, str(path))


# ---------------------------------------------------------------------------
# Running the arms (the I/O edge)
# ---------------------------------------------------------------------------


def _request(index: int, case: Case) -> PackRequest:
    return PackRequest(
        index=index,
        repository=case.repository,
        subtree="",
        tree=case.tree,
        budget=case.budget,
        query=case.query,
        format="markdown",
        variant="",
        replay=False,
    )


def pack_cases(setting: Setting, cases: Sequence[Case]) -> dict[str, dict[str, PackRecord]]:
    """Every arm packs every case, all arms at once; records by arm, then case key."""
    arms = {setting.baseline.name: setting.baseline, **setting.candidates}
    requests = [_request(index, case) for index, case in enumerate(cases)]
    with tempfile.TemporaryDirectory(prefix="differential-") as scratch:
        lanes: dict[str, Lane] = {}
        try:
            for name, arm in arms.items():
                lanes[name] = open_lane(arm, Path(scratch))
            futures = {name: lane.submit(requests, record_batch) for name, lane in lanes.items()}
            reporter = ProgressReporter("arms", len(futures))  # arms that packed every case
            records = {}
            for name, future in futures.items():
                records[name] = dict(
                    zip([case.key for case in cases], future.result(), strict=True)
                )
                reporter.update(len(records))
            return records
        finally:
            for lane in lanes.values():
                lane.close()


@dataclass(frozen=True)
class DifferentialRun:
    cases: tuple[Case, ...]
    variants: dict[str, VariantComparison]
    golden_source: dict[str, Any]
    wall_seconds: float


def run_differential(setting: Setting, golden: Golden | None) -> DifferentialRun:
    """Performance variants against the baseline, quality variants against ``golden``."""
    started = time.monotonic()
    cases = plan_cases(setting.repositories, _budgets(setting), QUESTIONS_PER_REPOSITORY)
    records = pack_cases(setting, cases)
    baseline = records[setting.baseline.name]
    comparisons = {}
    for name in setting.candidates:
        if name in setting.must_match:
            comparisons[name] = compare(cases, records[name], baseline, "baseline")
        else:
            expected = {} if golden is None else golden.variants.get(name, {})
            comparisons[name] = compare(cases, records[name], expected, "golden")
    return DifferentialRun(
        cases=cases,
        variants=comparisons,
        golden_source={} if golden is None else golden.source,
        wall_seconds=time.monotonic() - started,
    )


def refresh_corpus_golden(setting: Setting, path: Path) -> Golden:
    """Pack every case with every quality variant and write them as the known-good packs."""
    cases = plan_cases(setting.repositories, _budgets(setting), QUESTIONS_PER_REPOSITORY)
    records = pack_cases(setting, cases)
    provenance = setting.provenance("benchmarks.differential")
    golden = Golden(
        cases=tuple(case.key for case in cases),
        variants={
            name: records[name] for name in setting.candidates if name not in setting.must_match
        },
        source={"git_sha": provenance["git_sha"], "config_sha256": provenance["config_sha256"]},
    )
    write_golden(path, golden)
    return golden


def _budgets(setting: Setting) -> tuple[int, ...]:
    from packrepo.budget import parse_budget

    return tuple(sorted({parse_budget(label) for label in setting.registry_budgets}))


def differential_document(run: DifferentialRun, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """``differential.json`` (kind ``fastpath-differential``, schema 1; gates/INPUTS.md)."""
    return {
        "schema": SCHEMA,
        "kind": DIFFERENTIAL_KIND,
        "provenance": dict(provenance),
        "cases": [case.key for case in run.cases],
        "golden": {"source": run.golden_source, "refresh": REFRESH_COMMAND},
        "wall_seconds": round(run.wall_seconds, 3),
        "variants": {name: result.to_json() for name, result in sorted(run.variants.items())},
    }


# ---------------------------------------------------------------------------
# Whole golden packs of the tiny handmade corpus (for the test suite)
# ---------------------------------------------------------------------------


def tiny_cases(repositories: Sequence[PreparedRepository]) -> tuple[Case, ...]:
    return plan_cases(repositories, TINY_BUDGETS, TINY_QUESTIONS)


def tiny_pack_name(variant: str, case: Case) -> str:
    """``V4/shelf-600-<question>``: where one whole golden pack lives in the tiny folder."""
    return f"{variant}/{case.repository}-{case.budget}-{_slug(case.question_id)}"


def _slug(question_id: str | None) -> str:
    if question_id is None:
        return "none"
    return "".join(char if char.isalnum() else "_" for char in question_id).strip("_")[:60]


def tiny_variant_flags(setting: Setting, cache: Path) -> dict[str, dict[str, str]]:
    """The environment of each quality variant's packs of the tiny corpus."""
    return {
        name: {**arm.flags, "FASTPATH_CACHE_DIR": str(cache)}
        for name, arm in setting.candidates.items()
        if name not in setting.must_match
    }


def pack_tiny(flags: Mapping[str, str], case: Case) -> tuple[str, dict[str, Any]]:
    """One whole pack of a tiny case, in this process, with ``flags`` as the environment."""
    import packrepo

    result = packrepo.pack(
        case.tree, case.budget, case.query, flags=packrepo.Flags.from_environ(flags)
    )
    manifest = {key: value for key, value in result.manifest.items() if key != "cache"}
    return result.text, manifest


def refresh_tiny_golden(setting: Setting, directory: Path) -> int:
    """Write every quality variant's whole packs of the tiny corpus; returns how many."""
    written = 0
    with tempfile.TemporaryDirectory(prefix="tiny-golden-") as scratch:
        for variant, flags in tiny_variant_flags(setting, Path(scratch)).items():
            for case in tiny_cases(setting.repositories):
                text, manifest = pack_tiny(flags, case)
                target = directory / tiny_pack_name(variant, case)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.with_suffix(".md").write_text(text, encoding="utf-8", newline="")
                manifest_text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
                target.with_suffix(".manifest.json").write_text(manifest_text, encoding="utf-8")
                written += 1
    return written


def tiny_differences(setting: Setting, directory: Path, scratch: Path) -> list[str]:
    """Every tiny case whose pack differs from its committed golden pack (empty: none)."""
    problems = []
    for variant, flags in tiny_variant_flags(setting, scratch).items():
        for case in tiny_cases(setting.repositories):
            target = directory / tiny_pack_name(variant, case)
            try:
                with target.with_suffix(".md").open(encoding="utf-8", newline="") as handle:
                    golden_text = handle.read()
                manifest_path = target.with_suffix(".manifest.json")
                golden_manifest = load_json(read_input(manifest_path), str(manifest_path))
            except (OSError, ValueError) as exc:
                problems.append(f"{target}: no golden pack ({exc}); refresh: {REFRESH_COMMAND}")
                continue
            if not isinstance(golden_manifest, dict):
                problems.append(f"{manifest_path}: not a JSON object; refresh: {REFRESH_COMMAND}")
                continue
            text, manifest = pack_tiny(flags, case)
            if text != golden_text or manifest_digest(manifest) != manifest_digest(golden_manifest):
                problems.append(f"{target}: the pack differs from the golden one")
    return problems


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.differential",
        description="R3: V1-V3 byte-identical to the baseline, V4/V5 equal to golden packs.",
    )
    parser.add_argument("--output", type=Path, default=Path("artifacts/differential.json"))
    parser.add_argument("--golden", type=Path, default=DEFAULT_GOLDEN)
    parser.add_argument("--tiny-golden", type=Path, default=TINY_GOLDEN)
    parser.add_argument(
        "--refresh-golden",
        action="store_true",
        help="rewrite the golden packs of the quality variants from the current code",
    )
    add_setting_arguments(parser)
    return parser


def _refresh(arguments: argparse.Namespace) -> int:
    setting = setting_from(arguments)
    golden = refresh_corpus_golden(setting, arguments.golden)
    tiny_arguments = argparse.Namespace(**{**vars(arguments), "corpus": TINY_CORPUS})
    tiny = refresh_tiny_golden(setting_from(tiny_arguments), arguments.tiny_golden)
    count = sum(len(records) for records in golden.variants.values())
    print(
        f"wrote {arguments.golden} ({count} packs), {tiny} whole packs in {arguments.tiny_golden}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """0: every candidate matches its reference; 1: a mismatch; 2: it could not run."""
    arguments = _parser().parse_args(argv)
    try:
        if arguments.refresh_golden:
            return _refresh(arguments)
        setting = setting_from(arguments)
        quality = [name for name in setting.candidates if name not in setting.must_match]
        golden = load_golden(arguments.golden) if quality else None
        run = run_differential(setting, golden)
        write_json(
            arguments.output,
            differential_document(run, setting.provenance("benchmarks.differential")),
        )
    except (*expected_errors(), GoldenError) as exc:  # type: ignore[misc]
        return report_error("benchmarks.differential", exc)
    for name, comparison in sorted(run.variants.items()):
        print(
            f"{name:>9}: {comparison.compared} cases against the {comparison.reference},"
            f" {comparison.mismatches} mismatches, {comparison.errors} failed packs"
        )
    print(f"wrote {arguments.output} ({run.wall_seconds:.0f} s)")
    return 0 if all(comparison.clean for comparison in run.variants.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
