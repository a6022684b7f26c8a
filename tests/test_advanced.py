"""R2 advanced testing: sampling, intervals, caching decisions, surviving mutants, the
artifact, and the QA-monotonicity measurement, on hand-built inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import advanced
from benchmarks.advanced import (
    AdvancedError,
    AreaScore,
    Monotonicity,
    MutationOutcome,
    PropertyRun,
    Survivor,
    allocate,
    describe_mutant,
    draw_sample,
    function_sources,
    mutants_to_run,
    mutation_config,
    score_areas,
    status_of,
    wilson_interval,
)
from contracts.names import ADVANCED_FILE
from contracts.provenance import Provenance
from gates.load import evidence_from_files
from packrepo.registry import load_registry

REPOSITORY = Path(__file__).resolve().parent.parent


@given(
    populations=st.dictionaries(
        st.sampled_from(["packer", "analysis", "gates"]), st.integers(0, 900)
    ),
    size=st.integers(0, 3000),
)
def test_proportional_allocation_adds_up_and_never_exceeds_a_population(
    populations: dict[str, int], size: int
) -> None:
    shares = allocate(populations, size)
    total = sum(populations.values())
    assert set(shares) == set(populations)
    assert all(0 <= shares[area] <= populations[area] for area in populations)
    assert sum(shares.values()) == (total if size <= 0 or size >= total else size)
    if 0 < size < total:
        for area, count in populations.items():
            assert abs(shares[area] - size * count / total) < 1 + 1e-9


def test_the_sample_is_seeded_and_mostly_survives_a_new_mutant() -> None:
    names = {
        "packer": [f"packrepo.m.x_f__mutmut_{i}" for i in range(200)],
        "gates": [f"gates.m.x_g__mutmut_{i}" for i in range(100)],
    }
    sample = draw_sample(names, 30, seed=1)
    assert sample == draw_sample(names, 30, seed=1)
    assert sample != draw_sample(names, 30, seed=2)
    assert sum(name.startswith("packrepo") for name in sample) == 20
    grown = {**names, "packer": [*names["packer"], "packrepo.m.x_new__mutmut_1"]}
    assert len(set(sample) & set(draw_sample(grown, 30, seed=1))) >= 28
    assert len(draw_sample(names, 0, seed=1)) == 300  # 0: every mutant


def test_wilson_interval_matches_the_published_formula() -> None:
    low, high = wilson_interval(8, 10) or (0.0, 0.0)
    assert math.isclose(low, 0.4902, abs_tol=1e-4)
    assert math.isclose(high, 0.9433, abs_tol=1e-4)
    assert wilson_interval(0, 0) is None
    assert wilson_interval(0, 20) == (0.0, pytest.approx(0.1611, abs=1e-4))
    low, high = wilson_interval(20, 20) or (0.0, 0.0)
    assert high == 1.0
    assert low == pytest.approx(0.8389, abs=1e-4)


@given(killed=st.integers(0, 400), extra=st.integers(0, 400))
def test_the_interval_holds_the_estimate(killed: int, extra: int) -> None:
    total = killed + extra
    interval = wilson_interval(killed, total)
    if total == 0:
        assert interval is None
        return
    assert interval is not None
    assert 0 <= interval[0] <= killed / total <= interval[1] <= 1


def test_statuses_follow_mutmut_and_only_detections_count_as_killed() -> None:
    assert [status_of(code) for code in (1, 0, 33, -24, None, 99, -9, 37)] == [
        "killed", "survived", "no tests", "timeout", "not checked", "suspicious", "segfault",
        "caught by type check",
    ]  # fmt: skip
    areas = score_areas(
        {
            "packrepo.a.x_f__mutmut_1": 1,
            "packrepo.a.x_f__mutmut_2": 0,
            "packrepo.a.x_f__mutmut_3": 33,
            "packrepo.a.x_f__mutmut_4": -24,
            "gates.r.x_g__mutmut_1": None,
            "analysis.e.x_h__mutmut_1": 3,
        },
        {"packer": 10, "gates": 5, "analysis": 4},
    )
    packer = areas["packer"]
    assert (packer.killed, packer.total, packer.score) == (2, 4, 0.5)
    assert areas["gates"].score == 0.0  # not checked is in the total, never killed
    assert areas["analysis"].to_json()["population"] == 4
    assert AreaScore(3).to_json()["score"] is None


def test_mutation_config_is_read_from_tool_mutmut() -> None:
    import tomllib

    config = mutation_config(tomllib.loads((REPOSITORY / "pyproject.toml").read_text()))
    assert "packrepo/selection.py" in config.only_mutate
    assert "tests/properties" in config.test_selection
    with pytest.raises(AdvancedError, match=r"has no \[tool.mutmut\] table"):
        mutation_config({"tool": {}})
    with pytest.raises(AdvancedError, match="`only_mutate` must be a non-empty list"):
        mutation_config({"tool": {"mutmut": {"source_paths": ["a/"], "only_mutate": []}}})


def test_cached_results_are_reused_only_while_their_inputs_are_unchanged() -> None:
    sample = ["a.x_f__mutmut_1", "a.x_f__mutmut_2", "b.x_g__mutmut_1"]
    file_of = {"a.x_f__mutmut_1": "a.py", "a.x_f__mutmut_2": "a.py", "b.x_g__mutmut_1": "b.py"}
    digests = {"a.py": "1", "b.py": "2", "<tests and configuration>": "t"}
    results = {"a.x_f__mutmut_1": 1, "a.x_f__mutmut_2": None, "b.x_g__mutmut_1": 0}
    assert mutants_to_run(sample, results, digests, digests, file_of) == ["a.x_f__mutmut_2"]
    changed_file = {**digests, "b.py": "old"}
    assert mutants_to_run(sample, results, digests, changed_file, file_of) == [
        "a.x_f__mutmut_2",
        "b.x_g__mutmut_1",
    ]
    changed_tests = {**digests, "<tests and configuration>": "old"}
    assert mutants_to_run(sample, results, digests, changed_tests, file_of) == sample


MUTATED = """
def x_clip__mutmut_orig(value, limit):
    if value > limit:
        return limit
    return value


def x_clip__mutmut_1(value, limit):
    if value >= limit:
        return limit
    return value


class Box:
    def xǁBoxǁsize__mutmut_orig(self):
        return 1

    def xǁBoxǁsize__mutmut_1(self):
        return 2
"""

ORIGINAL = '''"""A module."""


def clip(value, limit):
    if value > limit:
        return limit
    return value


class Box:
    def size(self):
        return 1
'''


def test_a_surviving_mutant_is_described_by_file_line_and_diff() -> None:
    wanted = frozenset({"x_clip__mutmut_1", "x_clip__mutmut_orig", "xǁBoxǁsize__mutmut_1"})
    sources = function_sources(MUTATED, wanted | {"xǁBoxǁsize__mutmut_orig"})
    assert set(sources) == wanted | {"xǁBoxǁsize__mutmut_orig"}
    survivor = describe_mutant("m.x_clip__mutmut_1", "survived", "m.py", sources, ORIGINAL)
    assert (survivor.file, survivor.function, survivor.line) == ("m.py", "clip", 5)
    assert "-    if value > limit:" in survivor.diff
    assert "+    if value >= limit:" in survivor.diff
    method = describe_mutant("m.xǁBoxǁsize__mutmut_1", "no tests", "m.py", sources, ORIGINAL)
    assert (method.function, method.line, method.status) == ("Box.size", 12, "no tests")
    assert "+        return 2" in method.diff


def _outcome() -> MutationOutcome:
    packer = AreaScore(100)
    packer.statuses.update({"killed": 8, "survived": 2})
    survivor = Survivor("packrepo.m.x_f__mutmut_1", "survived", "packrepo/m.py", 3, "f", "-a\n+b")
    return MutationOutcome(
        areas={"packer": packer},
        survivors=(survivor,),
        sample_size=10,
        population=100,
        rerun=4,
        seed=1337,
        seconds=12.5,
        mutmut_version="3.8.1",
    )


def test_the_artifact_is_what_the_gates_read() -> None:
    properties = PropertyRun(
        counts={"passed": 50, "xfailed": 1},
        exit_status=0,
        coverage=0.9321,
        statements=1000,
        executed=932,
        by_module={"packrepo/budget.py": 1.0},
        seconds=60.0,
    )
    registry = load_registry(REPOSITORY / "pyproject.toml")
    provenance = Provenance("a" * 40, "b" * 64, 1.0, producer="benchmarks.advanced").to_json()
    document = advanced.advanced_document(
        _outcome(), properties, {"baseline": Monotonicity(pairs=5)}, provenance, registry.gates
    )
    assert document["mutation_score"] == 0.8
    assert document["mutants"] == {"killed": 8, "survived": 2, "total": 10}
    assert document["surviving"][0]["line"] == 3
    assert document["mutation"]["method"].startswith("seeded proportional sample")
    assert document["thresholds"] == {"mutation_score": 0.8, "property_coverage": 0.7}
    parsed = evidence_from_files({ADVANCED_FILE: json.dumps(document).encode()}, None)
    advanced_testing = parsed.advanced_testing
    assert advanced_testing.mutation_score == 0.8  # type: ignore[union-attr]
    assert advanced_testing.property_coverage == 0.9321  # type: ignore[union-attr]


def test_qa_drops_are_counted_with_or_without_a_swap() -> None:
    measured = Monotonicity()
    advanced._compare(measured, "q", (1.0, {("a", 1)}, 100), (1.0, {("a", 1)}, 200))
    advanced._compare(measured, "q", (1.0, {("a", 1)}, 200), (0.0, {("b", 1)}, 300))
    advanced._compare(measured, "q", (1.0, {("a", 1), ("b", 1)}, 300), (0.5, {("a", 1)}, 400))
    assert (measured.pairs, measured.drops, measured.drops_without_swap) == (3, 2, 1)
    assert measured.to_json()["examples"][0] == {"question": "q", "budgets": [200, 300],
                                                 "qa": [1.0, 0.0]}  # fmt: skip


def test_monotonicity_is_measured_for_the_baseline_and_quality_variants_without_a_pool() -> None:
    arms = advanced.monotonicity_arms(load_registry(REPOSITORY / "pyproject.toml"))
    assert set(arms) == {"baseline", "V4", "V5"}
    assert "FASTPATH_PARALLEL_PROCESSING" not in arms["V5"]
    assert "FASTPATH_BATCH_SIZE" not in arms["V5"]
    assert arms["V5"]["FASTPATH_ADAPTIVE_THRESHOLD"] == "0.90"


def test_the_qa_measurement_runs_on_the_handmade_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(advanced, "QA_BUDGETS", (300, 1200, 6000))
    measured = advanced.qa_monotonicity({"baseline": {}})
    assert measured["baseline"].pairs == 2 * 24  # two steps per question, 24 questions
    assert measured["baseline"].drops_without_swap == 0


def test_the_cli_refuses_a_configuration_without_tool_mutmut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (REPOSITORY / "pyproject.toml").read_text()
    config = tmp_path / "pyproject.toml"
    config.write_text(text[: text.index("[tool.mutmut]")])
    assert advanced.main(["--config", str(config), "--output", str(tmp_path / "a.json")]) == 2
    assert capsys.readouterr().err == (
        "benchmarks.advanced: error: pyproject.toml has no [tool.mutmut] table\n"
    )
