"""The end-to-end study's simulated quality arms make the gains they claim."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.quality_fixtures import QualityEffect, variant_scores
from gates.simulate_model import BUDGETS, STANDARD, draw_quality, gain_effect, load_pool, model_pool


@pytest.fixture(scope="module")
def pool():  # type: ignore[no-untyped-def]
    measured = load_pool()
    assert measured is not None, "gates/data/quality_pool.json is part of the repository"
    return measured


@pytest.mark.parametrize("gain", [0.10, 0.13, 0.20])
def test_a_gain_effect_makes_its_qa_gain_at_every_budget(pool, gain: float) -> None:  # type: ignore[no-untyped-def]
    effect = gain_effect(pool, gain)
    rng = np.random.default_rng(5)
    base_total = np.zeros(len(BUDGETS))
    arm_total = np.zeros(len(BUDGETS))
    for _ in range(400):
        drawn = draw_quality(pool, STANDARD, rng)
        scores, tokens = variant_scores(drawn, effect, rng)
        assert np.array_equal(tokens, drawn.tokens)  # a gain from scores alone
        base_total += drawn.scores.sum(axis=0)
        arm_total += scores.sum(axis=0)
    # 400 runs of 400 questions: the Monte-Carlo error of each ratio is well below 1%.
    assert arm_total / base_total == pytest.approx(np.full(3, 1 + gain), abs=0.012)


def test_the_gain_effect_loses_found_questions_at_the_measured_rate(pool) -> None:  # type: ignore[no-untyped-def]
    effect = gain_effect(pool, 0.20)
    assert effect.lose == pool.lose
    assert len(effect.lose) == len(BUDGETS)
    drawn = draw_quality(pool, STANDARD, np.random.default_rng(2))
    scores, _ = variant_scores(drawn, effect, np.random.default_rng(3))
    found = drawn.scores > 0
    lost = (found & (scores == 0)).sum(axis=0) / found.sum(axis=0)
    assert lost[0] > lost[2] > 0  # the measured arm lost most at the smallest budget


def test_an_impossible_gain_is_refused() -> None:
    pool = model_pool(1)
    with pytest.raises(ValueError, match="cannot be made"):
        gain_effect(pool, 50.0)


def test_scaling_scores_cannot_raise_a_pool_of_zeros_and_ones(pool) -> None:  # type: ignore[no-untyped-def]
    # Why the study finds questions instead: the measured scores are all but 0 or 1.
    drawn = draw_quality(pool, STANDARD, np.random.default_rng(4))
    scaled, _ = variant_scores(
        drawn, QualityEffect(multiplier=1.2, token_jitter=0.0), np.random.default_rng(4)
    )
    partial = ((drawn.scores > 0) & (drawn.scores < 1)).mean()
    assert partial < 0.1
    assert scaled.sum() / drawn.scores.sum() < 1.02


def test_the_study_can_be_sized_with_more_timed_questions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gates.simulate_cli import main

    assert main(["--timed-questions", "0"]) == 2  # the refusals: tests/test_simulate_cli.py
    assert capsys.readouterr().err.startswith("gates.simulate: error: --timed-questions must be")
    arguments = ["--scenarios", "null", "--replications", "1", "--jobs", "1"]
    arguments += ["--coverage-replications", "1", "--bca-replications", "1"]
    assert main([*arguments, "--timed-questions", "8"]) == 0
    out = capsys.readouterr().out
    assert "8 repositories x 8 questions x 3 budgets (sequential, 4 looks;" in out
    assert "| null |" in out
    assert main([*arguments, "--timed-questions", "5", "--fixed"]) == 0
    out = capsys.readouterr().out
    assert "8 repositories x 5 questions x 3 budgets (fixed;" in out
    assert "| null | V1 100%, V2 100%, V3 100%, V4 100%, V5 100% |" in out
