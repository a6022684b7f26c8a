"""The quality stage (R1q): the whole question pool, every arm, cached by content."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.cli import main
from benchmarks.quality import Scored, Task, _byte_mismatch, _task_key, run_task
from benchmarks.quality_cache import ScoreCache, code_digest
from packrepo import Flags

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus.json"


def run_stage(tmp_path: Path, output: str = "quality.json") -> dict[str, Any]:
    code = main(
        ["--corpus", str(CORPUS), "--cache-dir", str(tmp_path / "cache"), "quality",
         "--profile", "quick", "--budgets", "1k,3k", "--jobs", "1",
         "--output", str(tmp_path / output)]
    )  # fmt: skip
    assert code == 0
    document: dict[str, Any] = orjson.loads((tmp_path / output).read_bytes())
    return document


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("quality")
    return tmp_path, run_stage(tmp_path)


def test_every_arm_is_scored_on_the_whole_pool(stage: tuple[Path, dict[str, Any]]) -> None:
    _, document = stage
    assert document["kind"] == "fastpath-quality"
    pool = sum(repository["questions"] for repository in document["repositories"])
    assert len(document["questions"]) == pool > 6  # more than the timed runs' 3 per repository
    assert set(document["arms"]) == {"baseline", "V1", "V2", "V3", "V4", "V5"}
    for name, arm in document["arms"].items():
        assert set(arm["budgets"]) == {"1000", "3000"}
        for cell in arm["budgets"].values():
            assert len(cell["score"]) == len(cell["tokens"]) == pool
            assert all(0 <= score <= 1 for score in cell["score"])
            assert all(0 < tokens <= 3000 for tokens in cell["tokens"])
        # The performance arms are verified to give the baseline's bytes, pack by pack.
        assert arm["error"] is None, name
        assert arm["query_aware"] is (name in ("V4", "V5"))
    baseline, v1 = document["arms"]["baseline"], document["arms"]["V1"]
    assert baseline["budgets"]["1000"]["pack_sha256"] == v1["budgets"]["1000"]["pack_sha256"]


def test_a_rerun_on_unchanged_code_reads_every_score_from_the_cache(
    stage: tuple[Path, dict[str, Any]],
) -> None:
    tmp_path, first = stage
    second = run_stage(tmp_path, "again.json")
    assert second["cache"]["misses"] == 0
    assert second["cache"]["hits"] == first["cache"]["misses"] > 0
    for key in ("provenance", "cache", "timings"):
        first.pop(key)
        second.pop(key)
    assert first == second


def test_the_orchestrator_is_told_how_many_tasks_are_packed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from contracts.progress import PROGRESS_ENV, PROGRESS_VERSION, parse_event

    monkeypatch.setenv(PROGRESS_ENV, str(PROGRESS_VERSION))
    run_stage(tmp_path)
    events = [parse_event(line) for line in capsys.readouterr().err.splitlines()]
    counts = [(e.what, e.done, e.total) for e in events if e is not None]
    assert counts[0][:2] == ("tasks", 0)
    assert counts[-1][1] == counts[-1][2] > 0  # the last line says every task is packed


def _scored(digest: str) -> Scored:
    return Scored("q1", 1000, 0.5, 900, digest)


def test_a_performance_arm_whose_pack_differs_is_an_error() -> None:
    baseline = {("shelf", "q1", 1000): _scored("a" * 64)}
    assert _byte_mismatch("V2", baseline, {("shelf", "q1", 1000): _scored("a" * 64)}) is None
    problem = _byte_mismatch("V2", baseline, {("shelf", "q1", 1000): _scored("b" * 64)})
    assert problem is not None
    assert "V2's pack of shelf at 1000 tokens is not the baseline's" in problem


def test_the_cache_key_covers_sources_tree_flags_questions_and_budgets() -> None:
    flags = Flags(policy_v2=True, hybrid_mode=True)
    question = (("q1", "what is it", ("a.py", 1, 3)),)
    key = _task_key("s" * 64, "t" * 64, flags, question, (1000,))
    changed = [
        _task_key("x" * 64, "t" * 64, flags, question, (1000,)),
        _task_key("s" * 64, "x" * 64, flags, question, (1000,)),
        _task_key("s" * 64, "t" * 64, Flags(policy_v2=True), question, (1000,)),
        _task_key("s" * 64, "t" * 64, flags, (("q1", "what else", ("a.py", 1, 3)),), (1000,)),
        _task_key("s" * 64, "t" * 64, flags, question, (2000,)),
    ]
    assert key not in changed
    assert len(set(changed)) == len(changed)
    assert len(code_digest()) == 64


def test_a_damaged_cache_entry_is_a_miss(tmp_path: Path) -> None:
    cache = ScoreCache(tmp_path)
    row = {"question": "q1", "budget": 1000, "score": 0.5, "tokens": 900, "pack_sha256": "a"}
    cache.put("ab" * 32, [row])
    assert cache.get("ab" * 32) == [row]
    assert (tmp_path.stat().st_mode & 0o777) == 0o700
    path = tmp_path / "scores" / "ab" / f"{'ab' * 32}.json"
    for damage in (b"{", b'{"key": "other", "rows": []}', orjson.dumps({"key": "ab" * 32,
                   "rows": [{**row, "score": 1.5}]})):  # fmt: skip
        path.write_bytes(damage)
        assert cache.get("ab" * 32) is None


def test_a_warm_worker_packs_the_bytes_of_a_cold_one(stage: tuple[Path, dict[str, Any]]) -> None:
    """A worker that packed other questions of the tree first gives a cold pack's bytes."""
    tmp_path, _ = stage
    tree = next((tmp_path / "cache" / "prepared").glob("wordsmith-*")) / "tree"
    questions = orjson.loads((tree.parent / "questions.json").read_bytes())["questions"][:3]
    asked = tuple(
        (q["id"], q["text"], (q["gold"]["path"], q["gold"]["start_line"], q["gold"]["end_line"]))
        for q in questions
    )
    flags = {"FASTPATH_POLICY_V2": "1", "FASTPATH_HYBRID_MODE": "1"}

    def task(share: tuple[Any, ...]) -> Task:
        return Task("V4", flags, True, "wordsmith", str(tree), share, (1000, 3000), "k")

    warm = run_task(task(asked))  # in this long-lived process, after the other questions
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        cold = pool.submit(run_task, task(asked[-1:])).result(timeout=120)
    assert [s.pack_sha256 for s in warm if s.question == asked[-1][0]] == [
        s.pack_sha256 for s in cold
    ]


def test_the_table_shows_qa_and_recall_per_arm_and_budget(
    stage: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path, _ = stage
    assert main(["quality-table", str(tmp_path / "quality.json")]) == 0
    out = capsys.readouterr().out
    assert "| arm | QA/100k @1k | QA/100k @3k | recall @1k | recall @3k |" in out
    assert "| V4 (query-aware) |" in out
    assert main(["quality-table", str(tmp_path / "missing.json")]) == 2
