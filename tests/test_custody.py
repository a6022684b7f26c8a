"""The chain of custody: forged, fixture, stale, dirty and tampered evidence is refused.

Each test builds a real chain the way the pipeline does (benchmark artifacts with
their trial streams, then ``python -m analysis`` over them), or a forgery of one,
and asks ``python -m gates`` (in process) to judge it.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import orjson
import pytest

from analysis import cli as analysis_cli
from analysis.fixtures import Effect, benchmark_run, default_quality, write_registry, write_run
from analysis.quality_fixtures import write_quality
from contracts.documents import SCHEMA, dumps, write_all_atomically
from contracts.exitcodes import ExitCode
from contracts.names import (
    AA_FILE,
    ADVANCED_FILE,
    ANALYSIS_FILE,
    BANDIT_FILE,
    BANDIT_PROVENANCE_FILE,
    DIFFERENTIAL_FILE,
    KINDS,
    REPORT_FILE,
    SHADOW_FILE,
    SMOKE_FILE,
    TIMINGS_FILE,
)
from gates import cli as gates_cli
from gates import fixtures as gates_fixtures
from packrepo.registry import Registry

EFFECTS = {"P1": Effect(latency=-0.3), "M1": Effect(memory=-0.2), "Q1": Effect(qa=0.4)}


def git(directory: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(directory), *args], capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Path, str]:
    """A git checkout holding the fixture registry, committed (a clean tree)."""
    write_registry(tmp_path / "pyproject.toml")
    (tmp_path / ".gitignore").write_text("artifacts/\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "pyproject.toml", ".gitignore")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "registry")
    return tmp_path, git(tmp_path, "rev-parse", "HEAD")


def measure(root: Path, commit: str, *, dirty: bool = False) -> Registry:
    """Benchmark artifacts and trial streams as a run at ``commit`` writes them."""
    registry = write_registry(root / "pyproject.toml")
    artifacts = root / "artifacts"
    artifacts.mkdir(exist_ok=True)
    runs = [benchmark_run(registry, registry.baseline.name)]
    runs += [
        benchmark_run(registry, name, effect=effect, seed=index)
        for index, (name, effect) in enumerate(EFFECTS.items(), start=1)
    ]
    for run in runs:
        provenance = dataclasses.replace(
            run.provenance, git_sha=commit, dirty=dirty, producer="benchmarks"
        )
        write_run(artifacts, registry, dataclasses.replace(run, provenance=provenance))
    quality = default_quality(registry, git_sha=commit)
    quality["provenance"] |= {"producer": "benchmarks.quality", "dirty": dirty}
    write_quality(artifacts, quality)
    return registry


def other_evidence(root: Path, registry: Registry, commit: str) -> None:
    """The R2-R4 and building evidence, stamped as real producers stamp it."""
    documents = gates_fixtures.passing_documents(registry, git_sha=commit)
    del documents[ANALYSIS_FILE]
    measured = dataclasses.replace(
        gates_fixtures.fixture_stamp(registry.config_sha256, commit), producer="benchmarks"
    ).to_json()
    for name in (ADVANCED_FILE, DIFFERENTIAL_FILE, SHADOW_FILE, SMOKE_FILE, TIMINGS_FILE):
        documents[name]["provenance"] = measured
    files = gates_fixtures.encode(documents, registry.config_sha256)
    sidecar = orjson.loads(files[BANDIT_PROVENANCE_FILE])
    sidecar["provenance"] = measured
    files[BANDIT_PROVENANCE_FILE] = dumps(sidecar)
    write_all_atomically({root / "artifacts" / name: data for name, data in files.items()})


def analyse(root: Path) -> int:
    return analysis_cli.main(
        ["--input", str(root / "artifacts"), "--output", str(root / "artifacts"),
         "--config", str(root / "pyproject.toml"), "--bootstrap-samples", "1000"]
    )  # fmt: skip


def judge(
    root: Path, capsys: pytest.CaptureFixture[str], *flags: str
) -> tuple[int, str, dict[str, object]]:
    capsys.readouterr()
    code = gates_cli.main(
        ["--artifacts", str(root / "artifacts"), "--config", str(root / "pyproject.toml"), *flags]
    )
    out = capsys.readouterr().out
    report_path = root / "artifacts" / REPORT_FILE
    report = orjson.loads(report_path.read_bytes()) if report_path.exists() else {}
    return code, out, report


def rejected_because(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Judge, expect a reject, and return why the chain of custody failed."""
    code, out, report = judge(root, capsys)
    assert code == ExitCode.REJECT, out
    return chain_reason(report)


def chain_reason(report: dict[str, object]) -> str:
    variants = report["variants"]
    assert isinstance(variants, dict)
    return "; ".join(str(v["blocking"].get("evidence_chain", "")) for v in variants.values())


@pytest.fixture
def measured(checkout: tuple[Path, str]) -> tuple[Path, str]:
    """A whole, committed, measured chain: the gates promote on it."""
    root, commit = checkout
    registry = measure(root, commit)
    other_evidence(root, registry, commit)
    assert analyse(root) == 0
    return root, commit


def test_a_whole_measured_chain_promotes(
    measured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = measured
    code, out, report = judge(root, capsys)
    assert code == ExitCode.PROMOTE, out
    assert report["evidence"] == "measured"
    custody = report["custody"]
    assert isinstance(custody, dict)
    assert custody["problems"] == []
    # Four benchmark artifacts, their four streams, the quality stage's scores and the six
    # other evidence files (advanced, differential, shadow, smoke, bandit and its stamp).
    assert custody["verified_links"] == 15
    assert custody["analysis_remade"] is True


def test_hand_written_evidence_is_refused_naming_the_broken_link(
    checkout: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The seven-file forgery: plausible documents written by hand, nothing measured."""
    root, commit = checkout
    registry = write_registry(root / "pyproject.toml")
    documents = gates_fixtures.passing_documents(registry, git_sha=commit)
    stamp = dataclasses.replace(
        gates_fixtures.fixture_stamp(registry.config_sha256, commit), producer="analysis"
    ).to_json()
    for name in (ANALYSIS_FILE, ADVANCED_FILE, DIFFERENTIAL_FILE, SHADOW_FILE, SMOKE_FILE):
        documents[name]["provenance"] = stamp
    (root / "artifacts").mkdir()
    files = gates_fixtures.encode(documents, registry.config_sha256)
    write_all_atomically({root / "artifacts" / name: data for name, data in files.items()})
    reason = rejected_because(root, capsys)
    assert "statistical_analysis.json names no benchmark artifact it was made from" in reason
    # Naming inputs that were never written does not help.
    documents[ANALYSIS_FILE]["provenance"]["inputs"] = {AA_FILE: "0" * 64}
    files = gates_fixtures.encode(documents, registry.config_sha256)
    write_all_atomically({root / "artifacts" / ANALYSIS_FILE: files[ANALYSIS_FILE]})
    reason = rejected_because(root, capsys)
    assert (
        f"{AA_FILE} (read by statistical_analysis.json, sha256 000000000000) is missing" in reason
    )


def test_the_forgery_with_zero_mutants_is_bad_input(
    checkout: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, commit = checkout
    registry = write_registry(root / "pyproject.toml")
    documents = gates_fixtures.passing_documents(registry, git_sha=commit)
    documents[ADVANCED_FILE]["mutants"] = {"killed": 0, "survived": 0, "total": 0}
    documents[ADVANCED_FILE]["mutation_score"] = 1.0
    (root / "artifacts").mkdir()
    files = gates_fixtures.encode(documents, registry.config_sha256)
    write_all_atomically({root / "artifacts" / name: data for name, data in files.items()})
    capsys.readouterr()
    code = gates_cli.main(["--artifacts", str(root / "artifacts"), "--config",
                           str(root / "pyproject.toml")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == ExitCode.BAD_INPUT
    assert err.count("\n") == 1
    assert "`total` must be at least 1" in err
    assert not (root / "artifacts" / REPORT_FILE).exists()


def test_a_fixture_set_is_refused_unless_accepted_and_then_labelled(
    checkout: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = checkout
    artifacts = root / "artifacts"
    assert gates_fixtures.main([str(artifacts), "--config", str(root / "pyproject.toml")]) == 0
    capsys.readouterr()
    arguments = ["--artifacts", str(artifacts), "--config", str(root / "pyproject.toml")]
    assert gates_cli.main(arguments) == ExitCode.REJECT
    report = orjson.loads((artifacts / REPORT_FILE).read_bytes())
    assert "fixture evidence, not measured" in chain_reason(report)
    assert report["evidence"] == "fixture"
    assert gates_cli.main([*arguments, "--accept-fixtures"]) == ExitCode.PROMOTE
    report = orjson.loads((artifacts / REPORT_FILE).read_bytes())
    assert report["evidence"] == "fixture"
    assert report["custody"]["accept_fixtures"] is True  # type: ignore[index]


def test_benchmarks_of_another_commit_are_refused_by_the_analysis(
    checkout: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, commit = checkout
    measure(root, "f" * 40)
    (root / "artifacts" / ANALYSIS_FILE).write_text("an earlier analysis")
    capsys.readouterr()
    assert analyse(root) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert f"measured at commit ffffffffffff, the checkout is at {commit[:12]}" in err
    assert "stale evidence" in err
    assert not (root / "artifacts" / ANALYSIS_FILE).exists(), "no stale analysis left behind"


def test_a_dirty_tree_is_marked_and_never_promotes_unless_allowed(
    checkout: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, commit = checkout
    registry = measure(root, commit, dirty=True)
    other_evidence(root, registry, commit)
    assert analyse(root) == 0
    analysis = orjson.loads((root / "artifacts" / ANALYSIS_FILE).read_bytes())
    assert analysis["provenance"]["dirty"] is True
    reason = rejected_because(root, capsys)
    assert "measured on a tree with uncommitted changes" in reason
    code, _, report = judge(root, capsys, "--allow-dirty")
    assert code == ExitCode.PROMOTE
    assert report["evidence"] == "uncommitted"
    assert report["custody"]["allow_dirty"] is True  # type: ignore[index]


def test_an_edited_analysis_is_caught_by_remaking_it(
    measured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Edit the numbers, keep every digest: the analysis remade from its inputs differs."""
    root, _ = measured
    path = root / "artifacts" / ANALYSIS_FILE
    document = orjson.loads(path.read_bytes())
    row = next(
        r
        for r in document["comparisons"]
        if (r["variant"], r["metric"], r["budget"]) == ("P1", "latency_mean", "pooled")
    )
    row["ci_high"] = row["ci_low"]
    path.write_bytes(dumps(document))
    reason = rejected_because(root, capsys)
    assert "statistical_analysis.json is not what its inputs give: `comparisons[" in reason
    assert ".ci_high` is" in reason


def test_evidence_written_after_the_analysis_breaks_the_chain(
    measured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = measured
    path = root / "artifacts" / DIFFERENTIAL_FILE
    path.write_bytes(path.read_bytes().replace(b'"compared": 240', b'"compared": 241'))
    reason = rejected_because(root, capsys)
    assert "differential.json is not the file statistical_analysis.json read" in reason


def test_a_chain_without_the_aa_run_is_broken(
    measured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = measured
    path = root / "artifacts" / ANALYSIS_FILE
    document = orjson.loads(path.read_bytes())
    del document["provenance"]["inputs"][AA_FILE]
    path.write_bytes(dumps(document))
    reason = rejected_because(root, capsys)
    assert "statistical_analysis.json was not made from baseline.json (the A/A run)" in reason


def test_the_judging_checkout_must_be_committed(
    measured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = measured
    with (root / "pyproject.toml").open("a") as registry:
        registry.write("\n# an uncommitted edit\n")
    reason = rejected_because(root, capsys)
    assert "the checkout judging the evidence has uncommitted changes" in reason


def test_an_edit_to_a_benchmark_after_the_analysis_breaks_the_chain(
    measured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = measured
    path = root / "artifacts" / "P1_benchmark.json"
    document = orjson.loads(path.read_bytes())
    document["trials"][0]["latency_ns"] //= 2
    path.write_bytes(dumps(document))
    reason = rejected_because(root, capsys)
    assert "P1_benchmark.json is not the file statistical_analysis.json read" in reason


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_a_missing_or_edited_trial_stream_breaks_the_chain(
    measured: tuple[Path, str], capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    root, _ = measured
    stream = root / "artifacts" / "M1_benchmark.jsonl"
    if damage == "delete":
        stream.unlink()
        expected = "M1_benchmark.jsonl (read by M1_benchmark.json, sha256"
    else:
        stream.write_bytes(b"\n".join(stream.read_bytes().splitlines()[:-3]) + b"\n")
        expected = "M1_benchmark.jsonl is not the file M1_benchmark.json read"
    reason = rejected_because(root, capsys)
    assert expected in reason


def test_old_schema_documents_are_refused_not_guessed(
    measured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = measured
    path = root / "artifacts" / SMOKE_FILE
    document = orjson.loads(path.read_bytes())
    document["schema"] = SCHEMA - 1
    path.write_bytes(dumps(document))
    capsys.readouterr()
    code = gates_cli.main(["--artifacts", str(root / "artifacts"), "--config",
                           str(root / "pyproject.toml")])  # fmt: skip
    assert code == ExitCode.BAD_INPUT
    assert f"unknown schema {SCHEMA - 1}" in capsys.readouterr().err
    assert KINDS[SMOKE_FILE] == document["kind"]
    assert BANDIT_FILE  # the security scan is part of every chain above


def test_quality_scores_edited_after_the_analysis_break_the_chain(
    measured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = measured
    path = root / "artifacts" / "quality.json"
    document = orjson.loads(path.read_bytes())
    document["arms"]["Q1"]["budgets"]["50000"]["score"][0] = 1.0
    path.write_bytes(dumps(document))
    assert "quality.json is not the file statistical_analysis.json read" in rejected_because(
        root, capsys
    )


def test_quality_scores_from_another_commit_are_refused_by_the_analysis(
    measured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = measured
    path = root / "artifacts" / "quality.json"
    document = orjson.loads(path.read_bytes())
    document["provenance"]["git_sha"] = "e" * 40
    path.write_bytes(dumps(document))
    assert analyse(root) == ExitCode.BAD_INPUT
    assert "quality.json: measured at commit eeeeeeeeeeee" in capsys.readouterr().err
