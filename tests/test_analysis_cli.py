"""``python -m analysis`` end to end: documents, determinism, one-line errors, gates."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from analysis import cli
from analysis.documents import ANALYSIS_FILE, BCA_FILE, OUTPUT_FILES, RISK_FILE
from analysis.fixtures import Effect, benchmark_run, default_quality, write_registry, write_run
from analysis.quality_fixtures import write_quality
from benchmarks.artifact import artifact_to_json
from contracts.documents import write_all_atomically
from contracts.names import ANALYSIS_FILE as GATES_ANALYSIS_FILE
from contracts.names import BANDIT_FILE
from gates import cli as gates_cli
from gates import fixtures as gates_fixtures
from packrepo.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
EFFECTS = {
    "P1": Effect(latency=-0.3),
    "M1": Effect(memory=-0.2),
    "Q1": Effect(qa=0.4, qa_noise=0.05),
}


def workspace(tmp_path: Path, *, aa: Effect | None = None, p1_host: str = "a" * 16) -> Registry:
    """A registry, the A/A run and one run per candidate under ``tmp_path/artifacts``."""
    registry = write_registry(tmp_path / "pyproject.toml")
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    write_run(artifacts, registry, benchmark_run(registry, "baseline", effect=aa, host="a" * 16))
    for seed, (name, effect) in enumerate(EFFECTS.items(), start=1):
        host = p1_host if name == "P1" else "a" * 16
        write_run(
            artifacts, registry, benchmark_run(registry, name, effect=effect, seed=seed, host=host)
        )
    write_quality(artifacts, default_quality(registry))
    return registry


def run_analysis(tmp_path: Path, *extra: str, output: str = "artifacts") -> int:
    arguments = ["--input", str(tmp_path / "artifacts"), "--output", str(tmp_path / output)]
    return cli.main([*arguments, "--config", str(tmp_path / "pyproject.toml"), *extra])


def other_evidence(tmp_path: Path, registry: Registry) -> None:
    """Every other file the gates read, clean, for this registry and no git checkout."""
    documents = gates_fixtures.passing_documents(registry, git_sha="unknown")
    files = gates_fixtures.encode(documents, registry.config_sha256)  # stamps bandit.json
    del files[GATES_ANALYSIS_FILE]  # the analysis under test writes its own
    artifacts = tmp_path / "artifacts"
    write_all_atomically({artifacts / name: payload for name, payload in files.items()})
    assert (artifacts / BANDIT_FILE).exists()


def test_artifacts_to_analysis_to_gates_promotes_the_quality_variant(tmp_path: Path) -> None:
    registry = workspace(tmp_path)
    other_evidence(tmp_path, registry)
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    environment.pop("GITHUB_STEP_SUMMARY", None)
    analysis = subprocess.run(
        [sys.executable, "-m", "analysis", "--input", "artifacts", "--output", "artifacts",
         "--bootstrap-samples", "1000"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert analysis.returncode == 0, analysis.stderr
    assert analysis.stdout.startswith("analysis: wrote statistical_analysis.json")
    assert all((tmp_path / "artifacts" / name).exists() for name in OUTPUT_FILES)
    gates = subprocess.run(
        [sys.executable, "-m", "gates", "--artifacts", "artifacts", "--config", "pyproject.toml",
         "--accept-fixtures", "--allow-dirty"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert gates.returncode == 0, gates.stdout + gates.stderr
    assert "PROMOTE: Q1 passed every gate" in gates.stdout
    verdict = json.loads((tmp_path / "artifacts" / "gates.json").read_text())
    assert verdict["chosen"] == "Q1"


def test_an_unstable_aa_run_blocks_every_candidate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = workspace(tmp_path, aa=Effect(latency=0.3))
    other_evidence(tmp_path, registry)
    assert run_analysis(tmp_path) == 0
    code = gates_cli.main(
        ["--artifacts", str(tmp_path / "artifacts"), "--config", str(tmp_path / "pyproject.toml")]
    )
    assert code == 1
    verdict = json.loads((tmp_path / "artifacts" / "gates.json").read_text())
    for entry in verdict["variants"].values():
        assert "environment_stable" in entry["blocking"]
    capsys.readouterr()


def test_the_same_seed_gives_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    assert run_analysis(tmp_path, output="first") == 0
    assert run_analysis(tmp_path, output="second") == 0
    for name in OUTPUT_FILES:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()
    assert run_analysis(tmp_path, "--seed", "8", output="third") == 0
    first = (tmp_path / "first" / BCA_FILE).read_bytes()
    assert (tmp_path / "third" / BCA_FILE).read_bytes() != first
    document = orjson.loads((tmp_path / "first" / ANALYSIS_FILE).read_bytes())
    assert document["provenance"]["created_unix"] == 1767225600.0
    assert document["seed"] == 7  # the fixture registry's seed


def test_the_documents_are_versioned(tmp_path: Path) -> None:
    workspace(tmp_path)
    assert run_analysis(tmp_path) == 0
    kinds = {}
    for name in OUTPUT_FILES:
        document = orjson.loads((tmp_path / "artifacts" / name).read_bytes())
        assert document["schema"] == 2
        provenance = document["provenance"]
        assert set(provenance) == {
            "git_sha",
            "dirty",
            "config_sha256",
            "created_unix",
            "producer",
            "command",
            "run_id",
            "inputs",
        }
        assert provenance["producer"] == "analysis"
        # The chain of custody: every benchmark artifact read, by its digest.
        for file, digest in provenance["inputs"].items():
            assert (
                hashlib.sha256((tmp_path / "artifacts" / file).read_bytes()).hexdigest() == digest
            )
        assert "baseline.json" in provenance["inputs"]
        kinds[name] = document["kind"]
    assert kinds == {
        ANALYSIS_FILE: "fastpath-statistical-analysis",
        BCA_FILE: "fastpath-bca-analysis",
        RISK_FILE: "fastpath-risk-assessment",
    }
    bca = orjson.loads((tmp_path / "artifacts" / BCA_FILE).read_bytes())
    interval = bca["intervals"][0]
    assert {"z0", "acceleration", "method", "n_resamples", "bootstrap_distribution"} <= set(
        interval
    )
    assert {entry["level"] for entry in bca["intervals"]} == {"question"}
    assert (
        "quality.json"
        in orjson.loads((tmp_path / "artifacts" / ANALYSIS_FILE).read_bytes())["provenance"][
            "inputs"
        ]
    )
    risk = orjson.loads((tmp_path / "artifacts" / RISK_FILE).read_bytes())
    assert set(risk["variants"]) == {"P1", "M1", "Q1"}
    assert risk["variants"]["Q1"]["risks"]["coverage"]["status"] == "unknown"


def test_variants_analyse_fewer_but_keep_the_registrys_family(tmp_path: Path) -> None:
    workspace(tmp_path)
    assert run_analysis(tmp_path) == 0
    full = orjson.loads((tmp_path / "artifacts" / ANALYSIS_FILE).read_bytes())
    assert run_analysis(tmp_path, "--variants", "baseline,Q1") == 0
    document = orjson.loads((tmp_path / "artifacts" / ANALYSIS_FILE).read_bytes())
    assert set(document["variants"]) == {"baseline", "Q1"}
    family = {row["family_size"] for row in document["comparisons"]}
    assert family == {full["family_size"]} == {len(full["scope"]["family"])}
    assert document["scope"]["complete"] is False
    assert full["scope"]["complete"] is True
    assert document["alpha"] == full["alpha"] == 0.025


@pytest.mark.parametrize("removed", ["--confidence-level", "--correction"])
def test_a_second_level_or_correction_is_no_option(
    tmp_path: Path, removed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace(tmp_path)
    with pytest.raises(SystemExit) as exited:
        run_analysis(tmp_path, removed, "0.95")
    assert exited.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_verbose_prints_the_pooled_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace(tmp_path)
    assert run_analysis(tmp_path, "--verbose") == 0
    out = capsys.readouterr().out
    assert "Q1        qa_per_100k" in out
    assert "Q1        recall_mean" in out
    assert "environment: stable" in out


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _nan_in_a_trial(path: Path) -> None:
    document = orjson.loads(path.read_bytes())
    document["trials"][5]["latency_ns"] = float("nan")
    path.write_text(json.dumps(document))  # the json module writes the NaN token


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _other_units(path: Path) -> None:
    registry = write_registry(path.parent.parent / "pyproject.toml")
    write_run(path.parent, registry, benchmark_run(registry, "P1", questions=2))


def _wrong_variant(path: Path) -> None:
    document = orjson.loads((path.parent / "Q1_benchmark.json").read_bytes())
    path.write_bytes(orjson.dumps(document))


def _unknown_schema(path: Path) -> None:
    registry = write_registry(path.parent.parent / "pyproject.toml")
    document = artifact_to_json(benchmark_run(registry, "P1"))
    document["schema"] = 1
    path.write_bytes(orjson.dumps(document))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_truncate, "P1_benchmark.json: not valid JSON"),
        (_nan_in_a_trial, "P1_benchmark.json: contains NaN (JSON has no NaN or Infinity)"),
        (_empty, "P1_benchmark.json: the file is empty"),
        (_other_units, "P1_benchmark.json: its 24 units do not match the 36"),
        (_wrong_variant, "P1_benchmark.json: holds a run of 'Q1', expected 'P1'"),
        (_unknown_schema, "schema 1 is not supported"),
    ],
    ids=["malformed", "nan", "empty", "mismatched-units", "wrong-variant", "schema"],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: object, message: str
) -> None:
    workspace(tmp_path)
    for name in OUTPUT_FILES:  # a previous run's documents
        (tmp_path / "artifacts" / name).write_text("{}")
    assert callable(damage)
    damage(tmp_path / "artifacts" / "P1_benchmark.json")
    assert run_analysis(tmp_path) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("analysis: error: ")
    assert message in lines[0]
    assert captured.out == ""
    # No stale analysis is left for the gates to judge.
    assert not any((tmp_path / "artifacts" / name).exists() for name in OUTPUT_FILES)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--variants", "V9"], "unknown variant `V9`"),
    ],
)
def test_bad_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    workspace(tmp_path)
    assert run_analysis(tmp_path, *arguments) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert message in lines[0]


def test_no_artifacts_at_all_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_registry(tmp_path / "pyproject.toml")
    (tmp_path / "artifacts").mkdir()
    assert run_analysis(tmp_path) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "no benchmark artifact found" in lines[0]


def test_a_cross_machine_latency_pairing_exits_2(tmp_path: Path) -> None:
    workspace(tmp_path, p1_host="b" * 16)
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        [sys.executable, "-m", "analysis", "--input", "artifacts", "--output", "artifacts",
         "--pair-with", "aa"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 2
    lines = completed.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("analysis: error: refusing to pair latency of P1")
    assert "timings are paired only within one machine's run" in lines[0]
    # Each run paired with its own baseline arm (the default): two machines merge fine.
    assert run_analysis(tmp_path) == 0
    document = orjson.loads((tmp_path / "artifacts" / ANALYSIS_FILE).read_bytes())
    assert len(document["environment"]["machines"]) == 2


def test_a_quick_profile_run_is_exploratory_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same passing evidence, measured in the quick profile: judged, never promoted."""
    registry = write_registry(tmp_path / "pyproject.toml")
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    write_run(artifacts, registry, benchmark_run(registry, "baseline", profile="quick"))
    for seed, (name, effect) in enumerate(EFFECTS.items(), start=1):
        run = benchmark_run(registry, name, effect=effect, seed=seed, profile="quick")
        write_run(artifacts, registry, run)
    write_quality(artifacts, default_quality(registry, profile="quick"))
    other_evidence(tmp_path, registry)
    assert run_analysis(tmp_path) == 0
    document = orjson.loads((artifacts / ANALYSIS_FILE).read_bytes())
    assert document["scope"]["exploratory"] is True
    code = gates_cli.main(
        ["--artifacts", str(artifacts), "--config", str(tmp_path / "pyproject.toml"),
         "--accept-fixtures", "--allow-dirty"]
    )  # fmt: skip
    assert code == 1
    out = capsys.readouterr().out
    assert "EXPLORATORY: the quick profile is exploratory" in out
    assert "would pass every gate" in out


def test_evidence_from_two_profiles_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = workspace(tmp_path)
    write_quality(tmp_path / "artifacts", default_quality(registry, profile="quick"))
    assert run_analysis(tmp_path) == 2
    assert "the evidence mixes profiles" in capsys.readouterr().err


def _edit_quality(tmp_path: Path, edit: Any) -> None:
    path = tmp_path / "artifacts" / "quality.json"
    document = orjson.loads(path.read_bytes())
    edit(document)
    path.write_bytes(orjson.dumps(document))


def _extra_budget(document: dict[str, Any]) -> None:
    document["budgets"].append(400_000)
    for arm in document["arms"].values():
        arm["budgets"]["400000"] = arm["budgets"]["200000"]


def _other_seed(document: dict[str, Any]) -> None:
    document["seed"] += 1


def _silent_byte_difference(document: dict[str, Any]) -> None:
    document["arms"]["P1"]["budgets"]["50000"]["pack_sha256"][0] = "f" * 64


def _false_alarm(document: dict[str, Any]) -> None:
    document["arms"]["P1"]["error"] = "made up"


def _not_query_aware(document: dict[str, Any]) -> None:
    document["arms"]["Q1"]["query_aware"] = False


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (_extra_budget, "the registry lists [50000, 120000, 200000]"),
        (_other_seed, "questions drawn with seed 8, the registry's is 7"),
        (_silent_byte_difference, "arm P1 records no error, but its pack digests differ"),
        (_false_alarm, "arm P1 records an error, but its pack digests equal"),
        (_not_query_aware, "arm Q1 is recorded as not query-aware, its registry flags say so"),
    ],
    ids=["budget", "seed", "silent-bytes", "false-alarm", "query-aware"],
)
def test_quality_scores_that_cannot_be_trusted_are_bad_input(
    tmp_path: Path, edit: Any, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace(tmp_path)
    _edit_quality(tmp_path, edit)
    assert run_analysis(tmp_path) == 2
    err = capsys.readouterr().err
    assert problem in err
    assert not (tmp_path / "artifacts" / ANALYSIS_FILE).exists()
