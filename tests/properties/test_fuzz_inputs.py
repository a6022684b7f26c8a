"""Fuzzing every input parser with hypothesis: whatever comes in, the parser either
returns a value that keeps its promises or raises its own documented error.

Inputs: files of arbitrary bytes, ``.gitignore`` patterns, the command line, and every
JSON document the pipeline reads (the gates' evidence, benchmark artifacts, the corpus
list, question sets, the registry, the V1 cache, the differential golden file). Flag
and budget values are fuzzed in ``test_laws_core.py``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from benchmarks.artifact import ArtifactError, parse_artifact
from benchmarks.corpus import CorpusError, parse_corpus
from benchmarks.differential import GoldenError, parse_golden
from benchmarks.oracle import OracleError, load_question_set
from benchmarks.shadow import manifest_problems
from contracts.errors import EvidenceError
from gates.fixtures import encode, passing_documents
from gates.load import EVIDENCE_FILES, evidence_from_files
from packrepo import BudgetError, Flags, pack
from packrepo.analysis import analysis_from_json
from packrepo.cache import AnalysisCache
from packrepo.cli import main as packrepo_main
from packrepo.registry import RegistryError, load_registry, parse_registry
from packrepo.tokens import load_counter
from tests.properties.strategies import (
    ALL_ARMS,
    arm_flags,
    laws,
    scratch_dir,
    trees,
    write_tree,
)

REPOSITORY = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(REPOSITORY / "pyproject.toml")
COUNTER = load_counter("cl100k_base")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def mutated(document: Any, draw: st.DrawFn, depth: int = 0) -> Any:
    """``document`` with one field somewhere deleted, replaced or retyped."""
    if not isinstance(document, (dict, list)) or not document or depth > 6:
        return draw(json_values)
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = draw(st.sampled_from(keys))
    copied = copy.copy(document)
    action = draw(st.sampled_from(["delete", "replace", "descend", "descend"]))
    if action == "delete":
        del copied[key]
    elif action == "replace":
        copied[key] = draw(json_values)
    else:
        copied[key] = mutated(document[key], draw, depth + 1)
    return copied


@st.composite
def mutations_of(draw: st.DrawFn, document: Any) -> Any:
    return mutated(copy.deepcopy(document), draw)


# --- files of arbitrary bytes --------------------------------------------------------------


@laws(60)
@given(
    files=st.dictionaries(
        st.sampled_from(["a.py", "b.md", "c.rst", "d.txt", "e/f.py", "g.json", "h"]),
        st.binary(max_size=600),
        min_size=1,
    ),
    budget=st.integers(40, 3000),
    arm=st.sampled_from(ALL_ARMS),
    xml=st.booleans(),
)
@example(files={"a.py": b"\xff\xfe\x00"}, budget=100, arm="V4", xml=False)
@example(files={"a.py": b"def f(:\n\tpass\r\n\x0c"}, budget=100, arm="V4", xml=True)
def test_files_of_arbitrary_bytes_never_break_a_pack(
    files: dict[str, bytes], budget: int, arm: str, xml: bool
) -> None:
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", files)
        flags = arm_flags(arm, scratch / "cache")
        format = "xml" if xml else "markdown"
        try:
            result = pack(root, budget, "token parse", flags=flags, format=format)
        except BudgetError as error:
            refusal = str(error)
        else:
            refusal = ""
            assert COUNTER.count(result.text) == result.tokens <= budget
            again = pack(root, budget, "token parse", flags=flags, format=format)
            assert again.text == result.text
        assert refusal == "" or refusal.startswith(f"budget {budget} is too small")


# --- .gitignore patterns -------------------------------------------------------------------

_PATTERN_PIECES = st.sampled_from(
    ["*", "**", "?", "[a-z]", "[!x]", "/", "!", "\\", "#", " ", "a", "b", ".py", "d", "\\!", "\\#"]
)
gitignore_lines = st.lists(st.lists(_PATTERN_PIECES, max_size=5).map("".join), max_size=6)


def _gitignored_tree(lines: list[str]) -> dict[str, str | bytes]:
    return {
        ".gitignore": "\n".join(lines) + "\n",
        "a.py": "a = 1\n",
        "b.md": "# B\n",
        "d/a.py": "x = 2\n",
        "d/e/b.txt": "text\n",
        "!weird.txt": "bang\n",
    }


@laws(80)
@given(lines=gitignore_lines)
@example(lines=["!"])
@example(lines=["\\", "a.py"])
def test_no_gitignore_content_breaks_the_scan(lines: list[str]) -> None:
    """git skips a pattern it cannot parse (a lone ``!``, as in black's sdist); so must we."""
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", _gitignored_tree(lines))
        result = pack(root, 2000, flags=Flags())
        assert result.tokens <= 2000


# Two corners where git's wildmatch departs from its own documentation, which
# packrepo.ignore follows: a ``**`` right after a literal prefix (git strips the prefix
# first and then reads the ``**`` as leading), and an escaped slash.
_GIT_QUIRKS = re.compile(r"[^/*]\*\*|\\/")


def _git_ignored(root: Path, paths: list[str]) -> set[str]:
    """The paths git itself ignores (``git check-ignore``), the ground truth."""
    git = shutil.which("git")
    assert git is not None
    subprocess.run([git, "init", "-q", str(root)], check=True)
    found = subprocess.run(
        [git, "-C", str(root), "check-ignore", "--no-index", "--stdin", "-z"],
        input="\0".join(paths) + "\0",
        capture_output=True,
        text=True,
        check=False,
    )
    return {path for path in found.stdout.split("\0") if path}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is the oracle")
@laws(60)
@given(lines=gitignore_lines)
def test_gitignored_files_are_never_packed_and_the_rest_always(lines: list[str]) -> None:
    """At the root, packing agrees with git's own ``check-ignore``."""
    assume(not any(_GIT_QUIRKS.search(line) for line in lines))
    tree = _gitignored_tree(lines)
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", tree)
        result = pack(root, "1M", flags=Flags())
        ignored = _git_ignored(root, list(tree))
    packed = {item["path"] for item in result.manifest["items"]}
    for path in tree:
        assert (path in packed) == (path not in ignored), (path, lines)


# --- the command line ----------------------------------------------------------------------


@laws(60)
@given(
    tree=trees(max_files=3),
    budget=st.one_of(
        st.sampled_from(["120k", "0", "-3", "1.5k", "abc", "40"]), st.text(max_size=5)
    ),
    extra=st.lists(
        st.sampled_from(
            ["--format", "xml", "markdown", "--encoding", "o200k_base", "--query", "tok", "-x"]
        ),
        max_size=3,
    ),
    missing=st.booleans(),
)
def test_the_command_line_packs_or_says_one_line_and_exits_2(
    tree: dict[str, str | bytes], budget: str, extra: list[str], missing: bool
) -> None:
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", tree)
        path = str(root / "nowhere") if missing else str(root)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = packrepo_main(["pack", path, "--budget", budget, *extra])
            except SystemExit as stop:  # argparse: usage errors
                code = int(stop.code or 0) + 100
    if code == 0:
        assert out.getvalue()
        assert not err.getvalue()
    elif code == 2:
        assert err.getvalue().startswith("packrepo: error: ")
        assert err.getvalue().count("\n") == 1
    else:
        assert code == 102, code  # argparse's usage error, exit status 2
        assert "usage: packrepo" in err.getvalue()


# --- JSON documents the pipeline reads -----------------------------------------------------

PASSING = encode(passing_documents(REGISTRY), REGISTRY.config_sha256)


@laws(200)
@given(name=st.sampled_from(EVIDENCE_FILES), payload=st.binary(max_size=64))
def test_any_bytes_as_evidence_are_read_or_refused(name: str, payload: bytes) -> None:
    files = {**PASSING, name: payload}
    with contextlib.suppress(EvidenceError):
        evidence_from_files(files, None)


@laws(300)
@given(data=st.data(), name=st.sampled_from(EVIDENCE_FILES))
def test_damaged_evidence_documents_are_read_or_refused(data: st.DataObject, name: str) -> None:
    document = json.loads(PASSING[name])
    damaged = data.draw(mutations_of(document))
    # NaN and Infinity are written as JSON's extensions, which the gates must refuse.
    files = {**PASSING, name: json.dumps(damaged).encode()}
    with contextlib.suppress(EvidenceError):
        evidence_from_files(files, None)


BENCHMARK = json.loads((REPOSITORY / "tests" / "data" / "corpus.json").read_text())


@laws(150)
@given(data=st.data())
def test_damaged_corpus_lists_are_read_or_refused(data: st.DataObject) -> None:
    damaged = data.draw(st.one_of(json_values, mutations_of(BENCHMARK)))
    with contextlib.suppress(CorpusError):
        corpus = parse_corpus(damaged, source=REPOSITORY / "tests" / "data" / "corpus.json")
        assert len(corpus) >= 1
        assert len({entry.name for entry in corpus}) == len(corpus)


def _artifact_document() -> dict[str, Any]:
    trial = {
        "unit_id": "r|q|1000", "repository": "r", "question_id": "q", "budget": 1000,
        "arm": "baseline", "order_index": 0, "position": "first", "warmup": False, "ok": True,
        "error": None, "qa_score": 1.0, "pack_tokens": 900, "latency_ns": 5,
        "peak_rss_bytes": 7, "memory_method": "m", "gold_lines": 2, "present_lines": 2,
        "unverified_lines": 0,
    }  # fmt: skip
    return {"schema": 1, "kind": "packrepo-benchmark", "trials": [trial], "arms": []}


@laws(150)
@given(data=st.data())
def test_damaged_benchmark_artifacts_are_read_or_refused(data: st.DataObject) -> None:
    damaged = data.draw(st.one_of(json_values, mutations_of(_artifact_document())))
    with contextlib.suppress(ArtifactError):
        parse_artifact(damaged)


QUESTIONS = {
    "schema": 1, "kind": "packrepo-oracle-questions", "oracle_version": 1, "repository": "r",
    "version": "1", "source_digest": "d", "seed": 1, "eligible_targets": 1,
    "dropped_verbatim": 0,
    "questions": [{"id": "m.py::f", "text": "t", "target": "f", "kind": "function",
                   "gold": {"path": "m.py", "start_line": 1, "end_line": 2},
                   "source_sentence": "s"}],
}  # fmt: skip


@laws(150)
@given(data=st.data())
def test_damaged_question_sets_are_read_or_refused(data: st.DataObject) -> None:
    damaged = data.draw(st.one_of(json_values, mutations_of(QUESTIONS)))
    with scratch_dir() as slot:
        (slot / "questions.json").write_text(json.dumps(damaged))
        with contextlib.suppress(OracleError):
            load_question_set(slot)


REGISTRY_TABLE = {
    "schema": 1,
    "encoding": "cl100k_base",
    "budgets": ["50k"],
    "seed": 1,
    "variants": {
        "baseline": {"intent": "baseline", "flags": {"FASTPATH_POLICY_V2": "0"}},
        "V1": {"intent": "performance", "metric": "latency", "flags": {"FASTPATH_POLICY_V2": "1"}},
    },
    "gates": {"alpha": 0.05},
}


@laws(200)
@given(data=st.data())
def test_damaged_registries_are_read_or_refused(data: st.DataObject) -> None:
    damaged = data.draw(st.one_of(json_values, mutations_of(REGISTRY_TABLE)))
    try:
        registry = parse_registry(damaged) if isinstance(damaged, dict) else None
    except RegistryError:
        registry = None
    if registry is not None:
        assert sum(1 for v in registry.variants.values() if v.is_baseline) == 1


@laws(60)
@given(text=st.text(max_size=80))
@example(text="[tool.fastpath]\nschema = 1\n")
def test_any_pyproject_text_is_a_registry_or_a_registry_error(text: str) -> None:
    with scratch_dir() as scratch:
        path = scratch / "pyproject.toml"
        path.write_text(text, encoding="utf-8")
        with contextlib.suppress(RegistryError):
            load_registry(path)


ANALYSIS = {
    "kind": "python", "line_count": 3, "tokens": 9, "backticks": 0, "replaced": False,
    "imports": ["0|os|"], "has_main_guard": False,
    "chunks": [[1, 3, "function", "f", 9, [1, 1], 3]],
}  # fmt: skip


@laws(200)
@given(data=st.data())
def test_damaged_cache_entries_are_read_or_raise_the_documented_errors(
    data: st.DataObject,
) -> None:
    damaged = data.draw(st.one_of(json_values, mutations_of(ANALYSIS)))
    with contextlib.suppress(KeyError, TypeError, ValueError):
        analysis = analysis_from_json(damaged)
        assert analysis.line_count > 0
        assert analysis.tokens >= 0


@laws(100)
@given(payload=st.one_of(json_values, st.binary(max_size=40)))
def test_a_corrupt_cache_snapshot_reads_as_empty_or_partial(payload: Any) -> None:
    with scratch_dir() as scratch:
        cache = AnalysisCache.open(scratch, "cl100k_base")
        target = Path(cache._snapshot_path("/some/root", False))
        target.parent.mkdir(parents=True)
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        target.write_bytes(raw)
        snapshot = cache.load_snapshot("/some/root", detailed=False)
        assert isinstance(snapshot, dict)


GOLDEN = {
    "schema": 1,
    "kind": "packrepo-differential-golden",
    "cases": ["r|1000|q"],
    "variants": {"V4": {"r|1000|q": {"sha256": "ab", "tokens": 3, "items": {"a.py": "1-2f"}}}},
}


@laws(200)
@given(data=st.data())
def test_damaged_golden_files_are_read_or_refused(data: st.DataObject) -> None:
    damaged = data.draw(st.one_of(json_values, mutations_of(GOLDEN)))
    with contextlib.suppress(GoldenError):
        parse_golden(damaged, "golden.json")


@laws(200)
@given(data=st.data(), text=st.text(max_size=40))
def test_any_manifest_gets_a_list_of_problems_never_an_exception(
    data: st.DataObject, text: str
) -> None:
    manifest = {
        "tokens": 3,
        "format": "markdown",
        "files_packed": 1,
        "items": [{"path": "a.py", "start_line": 1, "end_line": 1, "mode": "full", "tokens": 2}],
    }
    damaged = data.draw(st.one_of(json_values, mutations_of(manifest)))
    if not isinstance(damaged, dict):
        damaged = {"items": damaged}
    problems = manifest_problems(
        text, damaged, count=COUNTER.count, lines_of=lambda path: ["x = 1\n"]
    )
    assert all(isinstance(problem, str) for problem in problems)
