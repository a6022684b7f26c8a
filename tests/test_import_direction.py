"""The data flows one way, and so do the imports.

packrepo (the subject) <- contracts (documents, provenance, names, errors, exit
codes) <- benchmarks (R0-R4) <- analysis (T1-T2) <- gates (E1) <- pipeline (the
orchestrator). A package imports only packages at or below its own layer: a
producer never imports its consumer, and the contract layer imports no stage.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("packrepo", "contracts", "benchmarks", "analysis", "gates", "pipeline")


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


@pytest.mark.parametrize("package", LAYERS)
def test_no_package_imports_a_stage_downstream_of_it(package: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    violations = [
        f"{path.relative_to(ROOT)} imports {sorted(imported_packages(path) - allowed)}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if imported_packages(path) - allowed
    ]
    assert not violations, "\n".join(violations)


def test_the_contract_layer_imports_no_stage() -> None:
    for path in (ROOT / "contracts").rglob("*.py"):
        assert imported_packages(path) <= {"contracts", "packrepo"}, path


# What a hand-written atomic writer or input reader looks like. The contract layer's
# own are the only ones; packrepo, the subject, is a tool of its own and keeps its own
# output and cache writers (it may not depend on the pipeline).
ATOMIC_WRITER = re.compile(r"os\.replace\(|tempfile\.mkstemp\(|\.rename\(")
RAW_READER = re.compile(r"\.read_bytes\(\)|orjson\.loads\(|json\.loads\(|gzip\.decompress\(")
# Moving whole directories into place (an extracted sdist, a question cache) is not
# writing a document; these are the only such moves.
DIRECTORY_MOVES = {
    "benchmarks/corpus.py": 2,
    "benchmarks/oracle.py": 1,
    "benchmarks/packer_bench.py": 1,
}


def stage_sources() -> list[Path]:
    return [path for package in LAYERS[2:] for path in sorted((ROOT / package).rglob("*.py"))]


def test_no_second_atomic_writer() -> None:
    found = {}
    for path in stage_sources():
        count = len(ATOMIC_WRITER.findall(path.read_text(encoding="utf-8")))
        if count:
            found[str(path.relative_to(ROOT))] = count
    assert found == DIRECTORY_MOVES


def test_artifacts_are_read_only_through_the_contract_reader() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in stage_sources()
        if RAW_READER.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == sorted(ALLOWED_RAW_READS), offenders


# Reads that are not of a pipeline artifact: a worker's own pipe protocol, mutmut's
# and pytest's own files, the corpus list and archives, an index's project page, a
# child's stdout.
ALLOWED_RAW_READS = {
    "benchmarks/advanced.py",
    "benchmarks/arms.py",
    "benchmarks/corpus.py",
    "benchmarks/fetch.py",
    "benchmarks/outside_bench.py",  # a pinned archive's digest, its child's request and stdout
    "benchmarks/packer_bench.py",
    "benchmarks/worker.py",
}
