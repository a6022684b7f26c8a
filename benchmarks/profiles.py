"""Benchmark profiles: how much of the corpus a run measures. The one place they are defined.

A profile takes the first ``repositories`` entries of the corpus list (the pinned
list is ordered smallest first) and the first ``questions_per_repository``
questions of each repository's seeded question set; every (repository,
question, budget) is a unit. Before measuring, each arm's worker packs every
chosen repository ``warmup_rounds`` times (recorded, excluded from summaries), so
the measured trials see warm imports, page cache and (for V1) a filled cache.

Sizes were measured on the 2-core reference machine (see README "Benchmarks").
"""

from __future__ import annotations

from dataclasses import dataclass


class ProfileError(ValueError):
    """An unknown profile name."""


@dataclass(frozen=True)
class Profile:
    name: str
    repositories: int | None  # the first N corpus entries; None means all of them
    questions_per_repository: int
    warmup_rounds: int
    budgets: tuple[str, ...] | None  # None: the registry's budgets
    description: str
    # The quality stage (benchmarks.quality) scores the whole question pool of the first
    # N corpus entries; None means all of them.
    quality_repositories: int | None = None
    # An exploratory profile reports and never promotes: its evidence is too thin to
    # decide on (the gates say EXPLORATORY and exit 1).
    exploratory: bool = False
    # The sequential design's planned looks (issue #14): the timed trials stop at the
    # first look where every gated comparison of the variant is decided. One look is
    # the fixed design. The A/A run and `--fixed` runs measure every unit.
    looks: int = 1


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            name="quick",
            repositories=2,
            questions_per_repository=3,
            warmup_rounds=1,
            budgets=None,
            description="exploratory: a first look for tests and development; never promotes",
            quality_repositories=2,
            exploratory=True,
        ),
        Profile(
            name="standard",
            repositories=8,
            questions_per_repository=12,
            warmup_rounds=1,
            budgets=None,
            description=(
                "the pipeline default: 8 repositories, at most 12 questions each in 4 looks"
                " (sized for 80% power of the latency guards at their margin)"
            ),
            looks=4,
        ),
        Profile(
            name="full",
            repositories=None,
            questions_per_repository=16,
            warmup_rounds=1,
            budgets=None,
            description="all 10 repositories, at most 16 questions each in 4 looks",
            looks=4,
        ),
    )
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ProfileError(f"unknown profile `{name}` (known: {known})") from None
