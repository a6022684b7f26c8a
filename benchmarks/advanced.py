"""R2 advanced testing: property coverage and a mutation score, in ``advanced_testing.json``.

    python -m benchmarks.advanced [--mutants 300] [--output artifacts/advanced_testing.json]

Property coverage. ``pytest tests/properties`` alone, under coverage.py: the share of
``packrepo``'s statements those property-based, metamorphic and fuzz tests execute
(statements executed / statements, as coverage.py counts them), per module too. The
suite runs derandomised with at most 8 examples per property, so the figure is
reproducible; ``nox -s tests`` runs the same properties with more examples.

Mutation testing. mutmut 3 mutates the modules ``[tool.mutmut] only_mutate`` names in
``pyproject.toml``: the packer core (what goes into a pack and the budget: packer,
selection, budget, tokens, render, flags) and the analysis and gates cores (effect sizes
and multiplicity; the gates and the decision). Each mutant runs the tests of
``pytest_add_cli_args_test_selection`` that execute the mutated function (mutmut's own
selection), with the same derandomised setting.

Every mutant does not fit the stage's five minutes on two cores, so a seeded sample is
run: a *simple random sample without replacement* within each area (packer, analysis,
gates), drawn as the ``n_a`` mutants with the smallest ``sha256(f"{seed}:{name}")``
(bottom-k sampling, which also keeps most of the sample when the code changes), with
``n_a`` proportional to the area's population (proportional allocation), so the pooled
score ``killed / total`` is the stratified estimate of the whole population's score. Its
95% interval is Wilson's score interval (Wilson 1927) on the pooled sample, with no
finite-population correction, which can only widen it. ``--mutants 0`` runs every mutant.

What counts. Killed: a test failed, timed out (a mutant that hangs is detected) or
crashed, or the type checker refused it. Survived: every test passed, or no test ran the
mutated function ("no tests"). Anything else (suspicious, not checked, interrupted) is
counted in ``total`` but not as killed, so it can only lower the score.

Caching. mutmut keeps its results in ``.cache/mutation/mutants`` between runs; a sampled
mutant is run again only when its file or the tests changed (compared by sha256), so an
unchanged tree costs seconds on the second run.

Metamorphic measurement. QA on the handmade corpus's oracle at budgets from
:data:`QA_BUDGETS`: how often raising the budget lowered QA, and whether every drop came
with a swap (tests/properties/test_metamorphic.py documents the exception).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import math
import os
import re
import shutil
import subprocess  # nosec B404  # runs pytest and mutmut with fixed arguments, no shell
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.documents import SCHEMA as DOCUMENT_SCHEMA
from contracts.names import ADVANCED_FILE, KINDS
from contracts.progress import ProgressReporter

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

ADVANCED_KIND = KINDS[ADVANCED_FILE]
SCHEMA = DOCUMENT_SCHEMA  # the contract layer's version of every pipeline document
ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = ROOT / ".cache" / "mutation"
DEFAULT_SAMPLE = 300
_POLL_SECONDS = 2.0  # how often the mutants with a result are counted while mutmut runs
PROPERTY_TESTS = "tests/properties"
AREAS = {"packrepo": "packer", "analysis": "analysis", "gates": "gates"}
KILLED = frozenset({"killed", "timeout", "segfault", "caught by type check"})
SURVIVED = frozenset({"survived", "no tests"})
# mutmut's exit-code classes (mutmut/stats.py); anything else reads "suspicious".
STATUS_BY_EXIT_CODE = {
    1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 2: "interrupted",
    34: "skipped", 35: "suspicious", 36: "timeout", 37: "caught by type check",
    -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", -11: "segfault", -9: "segfault",
}  # fmt: skip
QA_BUDGETS = tuple(range(100, 4001, 150))
# The property suite's reproducible setting (tests/properties/strategies.py): derandomised,
# at most 8 examples per property; used for property coverage and for every mutant.
DERANDOMIZED = {"PACKREPO_HYPOTHESIS": "derandomized"}
Z_95 = 1.959963984540054
_MUTANT_SUFFIX = re.compile(r"__mutmut_(\d+|orig)$")
# Run inside the workspace: mutmut reads its configuration from the working directory.
# The same generation step `mutmut run` starts with (mutmut 3.8's __main__._run), run on
# its own so the mutants can be counted and sampled before any test runs; `mutmut run`
# then finds every mutated file newer than its source and does not generate it again.
_GENERATE = """
import sys
from pathlib import Path
import mutmut.__main__ as mutmut
from mutmut.mutation.trampoline import set_mutant_under_test
set_mutant_under_test("mutant_generation")
Path("mutants").mkdir(exist_ok=True)
mutmut.copy_src_dir()
mutmut.copy_also_copy_files()
mutmut.setup_source_paths()
mutmut.store_lines_covered_by_tests()
mutmut.create_mutants(int(sys.argv[1]))
"""


class AdvancedError(RuntimeError):
    """A stage of advanced testing could not run (bad configuration, a tool that failed)."""


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MutationConfig:
    """``[tool.mutmut]`` of pyproject.toml, as this stage uses it."""

    source_paths: tuple[str, ...]
    only_mutate: tuple[str, ...]
    test_selection: tuple[str, ...]
    also_copy: tuple[str, ...]


def mutation_config(pyproject: Mapping[str, Any]) -> MutationConfig:
    table = pyproject.get("tool", {}).get("mutmut")
    if not isinstance(table, dict):
        raise AdvancedError("pyproject.toml has no [tool.mutmut] table")
    values = {}
    for key in ("source_paths", "only_mutate", "pytest_add_cli_args_test_selection"):
        value = table.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise AdvancedError(f"[tool.mutmut] `{key}` must be a non-empty list of strings")
        values[key] = tuple(value)
    also_copy = table.get("also_copy", [])
    return MutationConfig(
        source_paths=values["source_paths"],
        only_mutate=values["only_mutate"],
        test_selection=values["pytest_add_cli_args_test_selection"],
        also_copy=tuple(str(path) for path in also_copy),
    )


def area_of(path: str) -> str:
    top = path.replace("\\", "/").split("/")[0]
    return AREAS.get(top, top)


# ---------------------------------------------------------------------------
# Sampling and scoring (pure)
# ---------------------------------------------------------------------------


def sample_key(seed: int, name: str) -> str:
    return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()


def allocate(populations: Mapping[str, int], size: int) -> dict[str, int]:
    """Proportional allocation of ``size`` draws to areas (largest remainders); 0: all."""
    total = sum(populations.values())
    if size <= 0 or size >= total:
        return dict(populations)
    exact = {area: size * count / total for area, count in populations.items()}
    shares = {area: min(populations[area], math.floor(value)) for area, value in exact.items()}
    by_remainder = sorted(exact, key=lambda area: (shares[area] - exact[area], area))
    for area in by_remainder[: size - sum(shares.values())]:
        shares[area] = min(populations[area], shares[area] + 1)
    return shares


def draw_sample(names_by_area: Mapping[str, Sequence[str]], size: int, seed: int) -> list[str]:
    """Bottom-k by ``sha256(seed:name)`` within each area: a seeded simple random sample."""
    shares = allocate({area: len(names) for area, names in names_by_area.items()}, size)
    chosen = []
    for area, names in sorted(names_by_area.items()):
        chosen.extend(sorted(names, key=lambda name: sample_key(seed, name))[: shares[area]])
    return sorted(chosen)


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson's score interval for a binomial proportion (Wilson 1927); None with no trials."""
    if trials <= 0:
        return None
    p_hat = successes / trials
    denominator = 1 + z * z / trials
    centre = (p_hat + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p_hat * (1 - p_hat) / trials + z * z / (4 * trials * trials))
    half /= denominator
    # At 0 or n successes the bound is exactly 0 or 1; rounding must not move it inside.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def status_of(exit_code: int | None) -> str:
    if exit_code is None:
        return "not checked"
    return STATUS_BY_EXIT_CODE.get(exit_code, "suspicious")


@dataclass
class AreaScore:
    population: int
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def killed(self) -> int:
        return sum(count for status, count in self.statuses.items() if status in KILLED)

    @property
    def score(self) -> float | None:
        return self.killed / self.total if self.total else None

    def to_json(self) -> dict[str, Any]:
        interval = wilson_interval(self.killed, self.total)
        return {
            "score": None if self.score is None else round(self.score, 4),
            "ci95": None if interval is None else [round(bound, 4) for bound in interval],
            "killed": self.killed,
            "survived": self.total - self.killed,
            "total": self.total,
            "population": self.population,
            "statuses": dict(sorted(self.statuses.items())),
        }


def score_areas(
    results: Mapping[str, int | None], populations: Mapping[str, int]
) -> dict[str, AreaScore]:
    """Statuses of the sampled mutants (name -> mutmut exit code), per area."""
    areas = {area: AreaScore(population) for area, population in populations.items()}
    for name, exit_code in results.items():
        areas[area_of(name.replace(".", "/"))].statuses[status_of(exit_code)] += 1
    return areas


# ---------------------------------------------------------------------------
# Surviving mutants: where and what (read from mutmut's mutated files)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Survivor:
    name: str
    status: str
    file: str
    line: int | None
    function: str
    diff: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "file": self.file,
            "line": self.line,
            "function": self.function,
            "diff": self.diff,
        }


def function_sources(mutated_module: str, wanted: frozenset[str]) -> dict[str, str]:
    """The source of each mutmut variant function named in ``wanted`` (mangled names).

    A mutated file holds every variant of every function, megabytes for a large module:
    the lines are split once and only the wanted functions are cut out.
    """
    import ast

    lines = mutated_module.splitlines()
    sources = {}
    for node in ast.walk(ast.parse(mutated_module)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in wanted:
            end = node.end_lineno or node.lineno
            sources[node.name] = "\n".join(lines[node.lineno - 1 : end])
    return sources


def describe_mutant(
    name: str, status: str, file: str, sources: Mapping[str, str], original: str
) -> Survivor:
    """The unified diff of one mutant against its function, and the line it changes."""
    mangled = name.rsplit(".", 1)[-1]
    base = _MUTANT_SUFFIX.sub("", mangled)
    mutant, reference = sources.get(mangled, ""), sources.get(base + "__mutmut_orig", "")
    function = base.split("ǁ")[-1] if "ǁ" in base else base.removeprefix("x_")
    if "ǁ" in base:
        function = ".".join(part for part in base.split("ǁ")[1:] if part)
    mutant_lines = mutant.replace(mangled, base).splitlines()
    reference_lines = reference.replace(base + "__mutmut_orig", base).splitlines()
    diff = "\n".join(
        difflib.unified_diff(reference_lines, mutant_lines, file, file, lineterm="", n=1)
    )
    return Survivor(
        name=name,
        status=status,
        file=file,
        line=_changed_line(original, function, reference_lines, mutant_lines),
        function=function,
        diff=diff,
    )


def _changed_line(
    original: str, function: str, reference: Sequence[str], mutant: Sequence[str]
) -> int | None:
    """The line of the original file holding the first change of the mutant."""
    offset = next(
        (i for i, (a, b) in enumerate(zip(reference, mutant, strict=False)) if a != b),
        min(len(reference), len(mutant)),
    )
    changed = reference[offset].strip() if offset < len(reference) else ""
    start = _definition_line(original, function)
    if start is None:
        return None
    lines = original.splitlines()
    for number in range(start, len(lines) + 1):
        if changed and lines[number - 1].strip() == changed:
            return number
    return start + offset


def _definition_line(original: str, function: str) -> int | None:
    """The line of ``def`` of ``function`` (``name`` or ``Class.name``) in the source."""
    import ast

    definitions = (ast.FunctionDef, ast.AsyncFunctionDef)
    target = function.split(".")
    for node in ast.walk(ast.parse(original)):
        if isinstance(node, ast.ClassDef) and len(target) == 2 and node.name == target[0]:
            for child in node.body:
                if isinstance(child, definitions) and child.name == target[1]:
                    return child.lineno
        if isinstance(node, definitions) and [node.name] == target:
            return node.lineno
    return None


# ---------------------------------------------------------------------------
# Running mutmut in its workspace (the I/O edge)
# ---------------------------------------------------------------------------


def _digest(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _files_under(root: Path, relative: str) -> list[Path]:
    base = root / relative
    if base.is_file():
        return [base]
    return sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def sync_workspace(config: MutationConfig, workspace: Path, root: Path = ROOT) -> dict[str, str]:
    """Copy sources, tests and pyproject.toml into the workspace, keeping modification times
    (mutmut regenerates the mutants of a file only when it is newer than them); returns the
    sha256 of every mutated file and one of the tests and configuration."""
    workspace.mkdir(parents=True, exist_ok=True)
    copied = [*config.source_paths, *config.also_copy, "tests"]
    for relative in copied:
        target = workspace / relative
        if target.is_dir():
            shutil.rmtree(target)
        shutil.copytree(root / relative, target, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(root / "pyproject.toml", workspace / "pyproject.toml")
    digests = {path: _digest([root / path]) for path in config.only_mutate}
    # What a mutant's verdict depends on besides its own file: the selected tests, their
    # fixtures and data, the copied helpers and the configuration (other tests do not run).
    inputs = [*config.test_selection, "tests/conftest.py", "tests/data", *config.also_copy]
    tested = [f for rel in inputs if (root / rel).exists() for f in _files_under(root, rel)]
    digests["<tests and configuration>"] = _digest([*tested, root / "pyproject.toml"])
    return digests


def generate_mutants(
    config: MutationConfig, workspace: Path, max_children: int
) -> dict[str, dict[str, int | None]]:
    """Every mutant of each mutated file with its recorded exit code (None: not run yet):
    mutmut generates them (its own generator, once, shared with the run that follows) and
    lists them in ``mutants/<file>.meta``, keeping the results of unchanged functions."""
    completed = subprocess.run(  # nosec B603  # this interpreter, a fixed script
        [sys.executable, "-c", _GENERATE, str(max_children)],
        cwd=workspace, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        raise AdvancedError(f"mutmut could not generate the mutants: {last}")
    mutants: dict[str, dict[str, int | None]] = {}
    for path in config.only_mutate:
        meta = workspace / "mutants" / (path + ".meta")
        try:
            document = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AdvancedError(f"mutmut listed no mutants for {path}: {exc}") from None
        mutants[path] = dict(sorted(document.get("exit_code_by_key", {}).items()))
    return mutants


def read_results(workspace: Path, files: Sequence[str]) -> dict[str, int | None]:
    """mutmut's recorded exit code of every mutant of ``files`` (None: not run)."""
    results: dict[str, int | None] = {}
    for path in files:
        meta = workspace / "mutants" / (path + ".meta")
        try:
            document = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        results.update(document.get("exit_code_by_key", {}))
    return results


def _cache_state(workspace: Path) -> dict[str, str]:
    try:
        state = json.loads((workspace / "advanced-cache.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def mutants_to_run(
    sample: Sequence[str],
    results: Mapping[str, int | None],
    digests: Mapping[str, str],
    previous: Mapping[str, str],
    file_of: Mapping[str, str],
) -> list[str]:
    """Sampled mutants without a valid cached result (pure)."""
    if previous.get("<tests and configuration>") != digests["<tests and configuration>"]:
        return list(sample)
    return [
        name
        for name in sample
        if results.get(name) is None or previous.get(file_of[name]) != digests[file_of[name]]
    ]


def run_mutmut(
    workspace: Path, names: Sequence[str], max_children: int, files: Sequence[str] = ()
) -> None:
    """``mutmut run`` on ``names``; how many have a result (in mutmut's ``.meta`` files of
    ``files``) is reported as it runs (:mod:`contracts.progress`)."""
    if not names:
        return
    environment = {**os.environ, **DERANDOMIZED, "PYTHONHASHSEED": "0"}
    log_path = workspace / "mutmut-run.log"
    reporter = ProgressReporter("mutants", len(names))
    with log_path.open("w") as log:
        process = subprocess.Popen(  # nosec B603  # mutmut of this interpreter, fixed arguments
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *names],
            cwd=workspace, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            while process.poll() is None:
                time.sleep(_POLL_SECONDS)
                if files:
                    results = read_results(workspace, files)
                    reporter.update(sum(results.get(name) is not None for name in names))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    reporter.update(len(names))
    if process.returncode != 0:
        output = log_path.read_text(errors="replace")
        tail = " | ".join(output.strip().splitlines()[-3:])
        raise AdvancedError(f"mutmut run exited {process.returncode}: {tail}")


@dataclass(frozen=True)
class MutationOutcome:
    areas: dict[str, AreaScore]
    survivors: tuple[Survivor, ...]
    sample_size: int
    population: int
    rerun: int
    seed: int
    seconds: float
    mutmut_version: str

    @property
    def killed(self) -> int:
        return sum(area.killed for area in self.areas.values())

    @property
    def total(self) -> int:
        return sum(area.total for area in self.areas.values())

    @property
    def score(self) -> float:
        return self.killed / self.total if self.total else 0.0


def mutation_testing(
    config: MutationConfig, workspace: Path, *, sample_size: int, seed: int, max_children: int
) -> MutationOutcome:
    started = time.monotonic()
    digests = sync_workspace(config, workspace)
    generated = generate_mutants(config, workspace, max_children)
    file_of = {name: path for path, codes in generated.items() for name in codes}
    by_area: dict[str, list[str]] = {}
    for path, codes in generated.items():
        by_area.setdefault(area_of(path), []).extend(codes)
    sample = draw_sample(by_area, sample_size, seed)
    previous = _cache_state(workspace)
    recorded = {name: code for codes in generated.values() for name, code in codes.items()}
    pending = mutants_to_run(sample, recorded, digests, previous, file_of)
    run_mutmut(workspace, pending, max_children, config.only_mutate)
    (workspace / "advanced-cache.json").write_text(json.dumps(digests, indent=2))
    results = read_results(workspace, config.only_mutate)
    sampled = {name: results.get(name) for name in sample}
    areas = score_areas(sampled, {area: len(names) for area, names in by_area.items()})
    return MutationOutcome(
        areas=areas,
        survivors=tuple(_survivors(workspace, sampled, file_of)),
        sample_size=len(sample),
        population=len(file_of),
        rerun=len(pending),
        seed=seed,
        seconds=time.monotonic() - started,
        mutmut_version=_version("mutmut"),
    )


def _survivors(
    workspace: Path, sampled: Mapping[str, int | None], file_of: Mapping[str, str]
) -> list[Survivor]:
    surviving = {
        name: status_of(code) for name, code in sampled.items() if status_of(code) not in KILLED
    }
    by_file: dict[str, list[str]] = {}
    for name in sorted(surviving):
        by_file.setdefault(file_of[name], []).append(name)
    survivors: list[Survivor] = []
    for path, names in sorted(by_file.items()):
        mangled = {name.rsplit(".", 1)[-1] for name in names}
        wanted = frozenset(mangled | {_MUTANT_SUFFIX.sub("", m) + "__mutmut_orig" for m in mangled})
        mutated = (workspace / "mutants" / path).read_text(encoding="utf-8")
        sources = function_sources(mutated, wanted)
        original = (workspace / path).read_text(encoding="utf-8")
        survivors.extend(
            describe_mutant(name, surviving[name], path, sources, original) for name in names
        )
    return survivors


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------
# Property coverage
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PropertyRun:
    counts: dict[str, int]
    exit_status: int
    coverage: float
    statements: int
    executed: int
    by_module: dict[str, float]
    seconds: float


_OUTCOME = re.compile(r"(\d+) (passed|failed|xfailed|xpassed|skipped|errors?|deselected)")


def property_coverage(workers: str, *, root: Path = ROOT) -> PropertyRun:
    """Run tests/properties alone under coverage.py; packrepo statements executed / total."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="property-coverage-") as scratch:
        report = Path(scratch) / "coverage.json"
        command = [
            sys.executable, "-m", "pytest", PROPERTY_TESTS, "-q", "-p", "no:cacheprovider",
            # One worker: in-process (an xdist worker would only add a second interpreter).
            "-n", "0" if workers == "1" else workers,
            "--cov=packrepo", f"--cov-report=json:{report}", "--no-cov-on-fail",
        ]  # fmt: skip
        completed = subprocess.run(  # nosec B603  # pytest of this interpreter, fixed arguments
            command, cwd=root, env={**os.environ, **DERANDOMIZED},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        summary = completed.stdout.strip().splitlines()[-1:] or [""]
        counts = {kind: int(number) for number, kind in _OUTCOME.findall(summary[0])}
        if not report.is_file():
            tail = " | ".join(completed.stdout.strip().splitlines()[-5:])
            raise AdvancedError(f"the property tests wrote no coverage report: {tail}")
        document = json.loads(report.read_text(encoding="utf-8"))
    totals = document["totals"]
    by_module = {
        path: round(data["summary"]["covered_lines"] / data["summary"]["num_statements"], 4)
        for path, data in sorted(document["files"].items())
        if data["summary"]["num_statements"]
    }
    return PropertyRun(
        counts=counts,
        exit_status=completed.returncode,
        coverage=totals["covered_lines"] / max(1, totals["num_statements"]),
        statements=totals["num_statements"],
        executed=totals["covered_lines"],
        by_module=by_module,
        seconds=time.monotonic() - started,
    )


# ---------------------------------------------------------------------------
# Metamorphic: QA as the budget rises, on the handmade corpus's oracle
# ---------------------------------------------------------------------------


@dataclass
class Monotonicity:
    pairs: int = 0
    drops: int = 0
    drops_without_swap: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "adjacent_budget_pairs": self.pairs,
            "qa_drops": self.drops,
            "drops_without_swap": self.drops_without_swap,
            "examples": self.examples[:3],
        }


def qa_monotonicity(arms: Mapping[str, Mapping[str, str]]) -> dict[str, Monotonicity]:
    """For each arm (name -> flags), QA of every oracle question at every QA_BUDGETS step."""
    from benchmarks.oracle import ensure_question_set, score_evidence, tree_digest
    from packrepo import Flags, pack

    corpus = ROOT / "tests" / "data" / "corpus"
    measured = {name: Monotonicity() for name in arms}
    with tempfile.TemporaryDirectory(prefix="qa-monotonicity-") as scratch:
        sets = [
            ensure_question_set(
                corpus / name, name=name, version="0.1", digest=tree_digest(corpus / name),
                seed=1337, cache=Path(scratch),
            )
            for name in ("shelf", "wordsmith")
        ]  # fmt: skip
        for arm, environ in arms.items():
            flags = Flags.from_environ({**environ, "FASTPATH_CACHE_DIR": scratch})
            for question_set in sets:
                for question in question_set.questions:
                    lines = question_set.gold_lines(question)
                    previous: tuple[float, set[tuple[str, int]], int] | None = None
                    for budget in QA_BUDGETS:
                        result = pack(question_set.tree, budget, question.text, flags=flags)
                        items = result.manifest["items"]
                        score = score_evidence(question.gold, lines, items, result.text).score
                        held = {
                            (item["path"], line)
                            for item in items
                            for line in range(item["start_line"], item["end_line"] + 1)
                        }
                        if previous is not None:
                            _compare(measured[arm], question.id, previous, (score, held, budget))
                        previous = (score, held, budget)
    return measured


def _compare(
    measured: Monotonicity,
    question: str,
    smaller: tuple[float, set[tuple[str, int]], int],
    larger: tuple[float, set[tuple[str, int]], int],
) -> None:
    measured.pairs += 1
    if larger[0] >= smaller[0]:
        return
    measured.drops += 1
    swap = bool(smaller[1] - larger[1]) and bool(larger[1] - smaller[1])
    measured.drops_without_swap += 0 if swap else 1
    measured.examples.append(
        {"question": question, "budgets": [smaller[2], larger[2]], "qa": [smaller[0], larger[0]]}
    )


def monotonicity_arms(registry: Any) -> dict[str, dict[str, str]]:
    """The baseline and each quality variant, without V2's pool (it cannot change a pack)."""
    arms = {registry.baseline.name: dict(registry.baseline.flags)}
    for variant in registry.candidates:
        if variant.intent == "quality":
            flags = dict(variant.flags)
            if flags.pop("FASTPATH_PARALLEL_PROCESSING", "0") == "1":
                flags.pop("FASTPATH_BATCH_SIZE", None)
            arms[variant.name] = flags
    return arms


# ---------------------------------------------------------------------------
# The artifact and the CLI
# ---------------------------------------------------------------------------


def advanced_document(
    mutation: MutationOutcome,
    properties: PropertyRun,
    monotonicity: Mapping[str, Monotonicity],
    provenance: Mapping[str, Any],
    thresholds: Mapping[str, Any],
) -> dict[str, Any]:
    """``advanced_testing.json`` (kind ``fastpath-advanced-testing``, schema 1)."""
    interval = wilson_interval(mutation.killed, mutation.total)
    full = mutation.sample_size >= mutation.population
    return {
        "schema": SCHEMA,
        "kind": ADVANCED_KIND,
        "provenance": dict(provenance),
        "mutation_score": mutation.score,  # exactly killed/total: the gates check it
        "property_coverage": round(properties.coverage, 4),
        "mutants": {
            "killed": mutation.killed,
            "survived": mutation.total - mutation.killed,
            "total": mutation.total,
        },
        "surviving": [survivor.to_json() for survivor in mutation.survivors],
        "thresholds": {key: thresholds.get(key) for key in ("mutation_score", "property_coverage")},
        "mutation": {
            "tool": f"mutmut {mutation.mutmut_version}",
            "method": "every mutant" if full else "seeded proportional sample, bottom-k by sha256",
            "seed": mutation.seed,
            "population": mutation.population,
            "sample": mutation.sample_size,
            "ci95": None if interval is None else [round(bound, 4) for bound in interval],
            "interval_method": "Wilson score (1927), no finite-population correction",
            "areas": {area: score.to_json() for area, score in sorted(mutation.areas.items())},
            "rerun": mutation.rerun,
            "seconds": round(mutation.seconds, 1),
        },
        "property_tests": {
            "suite": PROPERTY_TESTS,
            "outcomes": properties.counts,
            "exit_status": properties.exit_status,
            "statements": properties.statements,
            "executed": properties.executed,
            "by_module": properties.by_module,
            "seconds": round(properties.seconds, 1),
        },
        "metamorphic": {
            "qa_monotonicity": {
                "budgets": [QA_BUDGETS[0], QA_BUDGETS[-1], QA_BUDGETS[1] - QA_BUDGETS[0]],
                "arms": {arm: result.to_json() for arm, result in monotonicity.items()},
            }
        },
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.advanced",
        description="R2: property coverage, mutation score and metamorphic QA checks.",
    )
    parser.add_argument("--output", type=Path, default=Path("artifacts/advanced_testing.json"))
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--mutants", type=int, default=DEFAULT_SAMPLE, help="sample; 0: all")
    parser.add_argument("--seed", type=int, default=None, help="default: the registry's seed")
    parser.add_argument("--workspace", type=Path, default=WORKSPACE)
    parser.add_argument("--workers", default="2", help="pytest-xdist workers and mutmut children")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """0: written and every property held; 1: a property failed; 2: it could not run."""
    from benchmarks.shadow import expected_errors, report_error, write_json
    from contracts.provenance import current_provenance
    from packrepo.registry import load_registry

    arguments = _parser().parse_args(argv)
    try:
        registry = load_registry(arguments.config)
        pyproject = tomllib.loads(arguments.config.read_text(encoding="utf-8"))
        config = mutation_config(pyproject)
        seed = registry.seed if arguments.seed is None else arguments.seed
        properties = property_coverage(arguments.workers)
        monotonicity = qa_monotonicity(monotonicity_arms(registry))
        mutation = mutation_testing(
            config, arguments.workspace, sample_size=arguments.mutants, seed=seed,
            max_children=max(1, int(arguments.workers)),
        )  # fmt: skip
        provenance = current_provenance(arguments.config, producer="benchmarks.advanced").to_json()
        document = advanced_document(mutation, properties, monotonicity, provenance, registry.gates)
        write_json(arguments.output, document)
    except (*expected_errors(), AdvancedError, ValueError) as exc:  # type: ignore[misc]
        return report_error("benchmarks.advanced", exc)
    _print_summary(document, arguments.output)
    broken = properties.exit_status != 0 or any(m.drops_without_swap for m in monotonicity.values())
    return 1 if broken else 0


def _print_summary(document: Mapping[str, Any], output: Path) -> None:
    mutation = document["mutation"]
    for area, score in mutation["areas"].items():
        print(
            f"mutation {area:>8}: {score['killed']}/{score['total']} killed"
            f" (score {score['score']}, 95% CI {score['ci95']}, population {score['population']})"
        )
    print(
        f"mutation score {document['mutation_score']} (CI {mutation['ci95']}, sample"
        f" {mutation['sample']} of {mutation['population']}, {mutation['rerun']} run anew);"
        f" property coverage {document['property_coverage']}"
    )
    print(f"wrote {output}")


if __name__ == "__main__":
    sys.exit(main())
