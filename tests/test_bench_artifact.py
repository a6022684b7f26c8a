"""The artifact: round trip, summaries, and malformed artifacts refused with a clear message."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from benchmarks.artifact import (
    ArmSpec,
    Artifact,
    ArtifactError,
    CorpusRef,
    GoldRef,
    Trial,
    UnitRecord,
    artifact_to_json,
    load_artifact,
    parse_artifact,
    write_artifact,
)
from benchmarks.summary import qa_per_100k, quantile, summarise
from contracts.provenance import Provenance

ARMS = ("baseline", "V4")


def _trial(unit: UnitRecord, arm: str, index: int, *, ok: bool = True, score: float = 0.5) -> Trial:
    return Trial(
        unit_id=unit.id,
        repository=unit.repository,
        question_id=unit.question_id,
        budget=unit.budget,
        arm=arm,
        order_index=index,
        position="first" if (index % 2 == 0) == (arm == ARMS[0]) else "second",
        warmup=False,
        ok=ok,
        error=None if ok else "PackError: boom",
        qa_score=score if ok else None,
        pack_tokens=unit.budget - 10 if ok else None,
        latency_ns=1_000_000 + index if ok else None,
        peak_rss_bytes=50_000_000 if ok else None,
        memory_method="linux-vmhwm-above-ready" if ok else None,
        gold_lines=4 if ok else None,
        present_lines=2 if ok else None,
        unverified_lines=0 if ok else None,
    )


def _artifact(*, failed: bool = False) -> Artifact:
    units = tuple(
        UnitRecord(
            id=f"r|q{i}|{budget}",
            repository="r",
            question_id=f"q{i}",
            budget=budget,
            question="what does it do",
            gold=GoldRef("m.py", 1, 4),
        )
        for i in range(3)
        for budget in (1000, 2000)
    )
    trials = tuple(
        _trial(unit, arm, i, ok=not (failed and i == 0 and arm == "V4"), score=0.25 * (i % 3))
        for i, unit in enumerate(units)
        for arm in ARMS
    )
    return Artifact(
        variant="V4",
        arms=(
            ArmSpec("baseline", "baseline", {"FASTPATH_POLICY_V2": "0"}),
            ArmSpec("V4", "V4", {}),
        ),
        profile={"name": "quick"},
        seed=1,
        budgets=(1000, 2000),
        corpus=(CorpusRef("r", "1", "0" * 64, 300_000, 3, tree_sha256="1" * 64),),
        oracle={"version": 1},
        environment={"python": {"version": "3.11"}},
        units=units,
        trials=trials,
        summaries=summarise(trials, ARMS, (1000, 2000)),
        timings={"wall_seconds": 1.0},
        provenance=Provenance(
            git_sha="a" * 40,
            config_sha256="b" * 64,
            created_unix=1.0,
            producer="benchmarks",
            command=("python", "-m", "benchmarks", "run"),
            run_id="r1",
            inputs={"V4_benchmark.jsonl": "c" * 64},
        ),
    )


def test_round_trip(tmp_path: Path) -> None:
    artifact = _artifact(failed=True)
    path = tmp_path / "out" / "V4_benchmark.json"
    write_artifact(path, artifact)
    assert load_artifact(path) == artifact
    assert [p.name for p in path.parent.iterdir()] == ["V4_benchmark.json"], "no temp file left"


def test_the_same_artifact_gives_the_same_bytes(tmp_path: Path) -> None:
    write_artifact(tmp_path / "a.json", _artifact())
    write_artifact(tmp_path / "b.json", _artifact())
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def _document() -> dict[str, Any]:
    return orjson.loads(orjson.dumps(artifact_to_json(_artifact())))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema=1), "schema 1 is not supported"),
        (lambda d: d.update(schema=True), "schema must be the integer 2, got True"),
        (lambda d: d.update(schema=2.0), "schema must be the integer 2, got 2.0"),
        (lambda d: d.update(kind="something"), "kind must be"),
        (lambda d: d.pop("trials"), "trials is missing"),
        (
            lambda d: d["trials"][3].update(latency_ns=-5),
            r"trials\[3\]\.latency_ns must be a non-negative integer",
        ),
        (
            lambda d: d["trials"][2].update(qa_score="high"),
            r"trials\[2\]\.qa_score must be a finite number",
        ),
        (lambda d: d["trials"][1].update(qa_score=1.5), r"trials\[1\]\.qa_score must be within"),
        (
            lambda d: d["trials"][0].update(ok=False),
            r"trials\[0\]\.error must be a non-empty string",
        ),
        (lambda d: d["trials"][0].update(arm="V9"), r"trials\[0\]\.arm 'V9' is not one of"),
        (lambda d: d["trials"].pop(), r"unit .* has 0 measured trials of arm .V4."),
        (lambda d: d["units"][0]["gold"].pop("path"), r"units\[0\]\.gold\.path is missing"),
        (
            lambda d: d["summaries"][0].update(qa_per_100k=99.0),
            r"summaries\[0\]\.qa_per_100k is 99\.0 but the trials give",
        ),
        (lambda d: d["budgets"].append(0), r"budgets\[2\] must be a positive integer"),
        (
            lambda d: d["corpus"][0].update(tree_sha256="edited"),
            r"corpus\[0\]\.tree_sha256 must be a sha256",
        ),
        (
            lambda d: d["trials"][0].update(memory_method="ru-maxrss-since-start"),
            r"trials mix memory methods",
        ),
    ],
)
def test_a_malformed_artifact_is_refused_naming_the_field(mutate: Any, message: str) -> None:
    document = copy.deepcopy(_document())
    mutate(document)
    with pytest.raises(ArtifactError, match=f"^artifacts/V4_benchmark.json: {message}"):
        parse_artifact(document, source="artifacts/V4_benchmark.json")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("provenance"), "`provenance` is missing"),
        (lambda d: d["provenance"].pop("dirty"), "`dirty` is missing"),
        (lambda d: d["provenance"]["inputs"].update(x="nothex"), "must be a sha256"),
    ],
)
def test_an_artifact_without_its_provenance_is_refused(mutate: Any, message: str) -> None:
    document = copy.deepcopy(_document())
    mutate(document)
    with pytest.raises(ArtifactError, match=message):
        parse_artifact(document, source="artifacts/V4_benchmark.json")


def test_an_artifact_from_before_the_tree_digest_still_reads() -> None:
    document = copy.deepcopy(_document())
    assert document["corpus"][0]["tree_sha256"] == "1" * 64
    assert parse_artifact(document, source="x.json").corpus[0].tree_sha256 == "1" * 64
    del document["corpus"][0]["tree_sha256"]
    assert parse_artifact(document, source="x.json").corpus[0].tree_sha256 is None


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cannot read"):
        load_artifact(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_artifact(tmp_path / "bad.json")


def test_qa_per_100k_is_a_ratio_of_sums() -> None:
    assert qa_per_100k([1.0, 0.5, 0.0], [50_000, 100_000, 50_000]) == pytest.approx(0.75)
    assert qa_per_100k([], []) is None


def test_failed_trials_are_counted_not_summarised() -> None:
    artifact = _artifact(failed=True)
    cell = artifact.summary("V4", 1000)
    assert (cell.n_ok, cell.n_failed) == (2, 1)
    ok = [t for t in artifact.trials if t.arm == "V4" and t.budget == 1000 and t.ok]
    assert cell.qa_per_100k == pytest.approx(
        100_000 * sum(t.qa_score or 0 for t in ok) / sum(t.pack_tokens or 0 for t in ok)
    )


@pytest.mark.parametrize("q", [0.0, 0.5, 0.95, 1.0])
def test_quantile_matches_numpy(q: float) -> None:
    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    assert quantile(values, q) == pytest.approx(float(np.percentile(values, 100 * q)))


def test_an_artifact_that_would_not_read_back_is_never_written(tmp_path: Path) -> None:
    artifact = _artifact()
    trials = list(artifact.trials)
    trials[0] = replace(trials[0], budget=9999)  # no longer its unit's budget
    path = tmp_path / "V4_benchmark.json"
    with pytest.raises(ArtifactError, match="does not match its unit"):
        write_artifact(path, replace(artifact, trials=tuple(trials)))
    assert not path.exists()
