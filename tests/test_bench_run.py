"""End to end on the handmade corpus: the CLI, the artifact, the stream, reproducibility."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from benchmarks.artifact import Artifact, load_artifact
from benchmarks.cli import main
from benchmarks.oracle import tree_digest

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus.json"


def _run(tmp_path: Path, variant: str, output: str, *extra: str) -> int:
    return main(
        [
            "--corpus",
            str(CORPUS),
            "--cache-dir",
            str(tmp_path / "cache"),
            "run",
            "--variant",
            variant,
            "--budgets",
            "1k,3k",
            "--seed",
            "1337",
            "--profile",
            "quick",
            "--output",
            str(tmp_path / output),
            "--no-progress",
            *extra,
        ]
    )


def _scores(artifact: Artifact) -> dict[tuple[str, str], tuple[float | None, int | None]]:
    return {
        (t.unit_id, t.arm): (t.qa_score, t.pack_tokens) for t in artifact.trials if not t.warmup
    }


@pytest.fixture(scope="module")
def v4_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Artifact]:
    tmp_path = tmp_path_factory.mktemp("v4")
    assert _run(tmp_path, "V4", "V4_benchmark.json") == 0
    return tmp_path, load_artifact(tmp_path / "V4_benchmark.json")


def test_a_variant_run_writes_a_valid_artifact(v4_run: tuple[Path, Artifact]) -> None:
    _, artifact = v4_run
    assert [arm.name for arm in artifact.arms] == ["baseline", "V4"]
    assert artifact.budgets == (1000, 3000)
    assert len(artifact.units) == 2 * 3 * 2  # repositories x questions x budgets
    assert sum(not t.warmup for t in artifact.trials) == 2 * len(artifact.units)
    assert sum(t.warmup for t in artifact.trials) == 2 * 2  # one per repository per arm
    assert all(t.ok for t in artifact.trials), [t.error for t in artifact.trials if not t.ok]
    assert all(t.pack_tokens is not None and t.pack_tokens <= t.budget for t in artifact.trials)
    assert {s.arm for s in artifact.summaries} == {"baseline", "V4"}
    assert all(s.qa_per_100k is not None for s in artifact.summaries)
    # The tree measured is recorded by its digest (the local trees' own).
    trees = {ref.name: ref.tree_sha256 for ref in artifact.corpus}
    assert trees == {name: tree_digest(DATA / "corpus" / name) for name in ("shelf", "wordsmith")}
    workers = artifact.environment["workers"]
    assert "FASTPATH_HYBRID_MODE" not in workers["baseline"]["fastpath_env"]
    assert workers["V4"]["fastpath_env"]["FASTPATH_HYBRID_MODE"] == "1"


def test_trials_are_streamed_to_jsonl(v4_run: tuple[Path, Artifact]) -> None:
    tmp_path, artifact = v4_run
    lines = (tmp_path / "V4_benchmark.jsonl").read_bytes().splitlines()
    header, *records = (orjson.loads(line) for line in lines)
    assert header["record"] == "run"
    assert header["variant"] == "V4"
    assert len(records) == len(artifact.trials)
    assert [r["unit_id"] for r in records] == [t.unit_id for t in artifact.trials]


def test_the_same_seed_reproduces_the_qa_numbers_exactly(
    v4_run: tuple[Path, Artifact], tmp_path: Path
) -> None:
    _, first = v4_run
    assert _run(tmp_path, "V4", "again.json") == 0
    again = load_artifact(tmp_path / "again.json")
    assert _scores(again) == _scores(first)
    assert [s.qa_per_100k for s in again.summaries] == [s.qa_per_100k for s in first.summaries]


def test_the_baseline_run_is_an_a_a_run_with_identical_qa(tmp_path: Path) -> None:
    assert _run(tmp_path, "baseline", "baseline.json") == 0
    artifact = load_artifact(tmp_path / "baseline.json")
    assert [arm.name for arm in artifact.arms] == ["baseline", "baseline-2"]
    assert artifact.arms[0].flags == artifact.arms[1].flags
    scores = _scores(artifact)
    for unit in artifact.units:
        assert scores[(unit.id, "baseline")] == scores[(unit.id, "baseline-2")]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--variant", "V99"], "unknown variant `V99`"),
        (["--budgets", "lots"], "--budgets: budget must look like"),
        (["--profile", "huge"], "unknown profile `huge`"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert _run(tmp_path, "V4", "x.json", *extra) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("benchmarks: error: ")
    assert message in err
    assert not (tmp_path / "x.json").exists()


def test_an_unfetchable_corpus_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # pip's configuration names one index, an empty local directory.
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", (tmp_path / "index").as_uri())
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    corpus = tmp_path / "corpus.json"
    entry = {"name": "gone", "version": "1.0", "filename": "gone-1.0.tar.gz", "sha256": "0" * 64}
    corpus.write_bytes(orjson.dumps({"schema": 1, "kind": "packrepo-corpus", "entries": [entry]}))
    options = ["--corpus", str(corpus), "--cache-dir", str(tmp_path / "cache")]
    run = ["run", "--variant", "V4", "--profile", "quick", "--output", str(tmp_path / "x.json")]
    code = main([*options, *run])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot fetch gone==1.0: gone-1.0.tar.gz is on none of the indexes" in err
    assert not (tmp_path / "x.json").exists()


def test_validate_reports_a_malformed_artifact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "V3_benchmark.json"
    path.write_bytes(orjson.dumps({"schema": 2, "kind": "fastpath-benchmark", "variant": "V3"}))
    assert main(["validate", str(path)]) == 2
    assert "V3_benchmark.json: arms is missing" in capsys.readouterr().err


def test_table_prints_one_row_per_arm(
    v4_run: tuple[Path, Artifact], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path, _ = v4_run
    assert main(["table", str(tmp_path / "V4_benchmark.json")]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0].startswith("| run | arm | QA/100k @1k | QA/100k @3k |")
    assert [row.split(" | ")[1] for row in rows[2:]] == ["baseline", "V4"]
