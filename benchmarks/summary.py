"""Per-cell summaries of trials (pure): QA/100k, latency quantiles, peak memory.

A *cell* is one arm at one budget. Only measured trials count (warm-ups do not);
failed trials are counted in ``n_failed`` and left out of every statistic.

QA/100k = 100000 * sum(QA score) / sum(pack tokens) over the cell's trials: a
ratio of sums, so a pack that spends more tokens must find proportionally more
evidence to score the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

QA_TOKENS_SCALE = 100_000


class _TrialLike(Protocol):
    @property
    def arm(self) -> str: ...
    @property
    def budget(self) -> int: ...
    @property
    def warmup(self) -> bool: ...
    @property
    def ok(self) -> bool: ...
    @property
    def qa_score(self) -> float | None: ...
    @property
    def pack_tokens(self) -> int | None: ...
    @property
    def latency_ns(self) -> int | None: ...
    @property
    def peak_rss_bytes(self) -> int | None: ...


@dataclass(frozen=True)
class Summary:
    """One cell (arm x budget)."""

    arm: str
    budget: int
    n_ok: int
    n_failed: int
    qa_score_sum: float
    pack_tokens_sum: int
    qa_per_100k: float | None  # None when no trial succeeded
    latency_p50_ns: float | None
    latency_p95_ns: float | None
    latency_mean_ns: float | None
    peak_rss_mean_bytes: float | None
    peak_rss_max_bytes: int | None


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation of order statistics (Hyndman & Fan 1996, type 7, as numpy)."""
    if not values:
        raise ValueError("quantile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def qa_per_100k(scores: Iterable[float], tokens: Iterable[int]) -> float | None:
    """100000 x sum of QA scores / sum of pack tokens; None without tokens."""
    total_tokens = sum(tokens)
    if total_tokens <= 0:
        return None
    return QA_TOKENS_SCALE * math.fsum(scores) / total_tokens


def summarise_cell(arm: str, budget: int, trials: Sequence[_TrialLike]) -> Summary:
    measured = [t for t in trials if t.arm == arm and t.budget == budget and not t.warmup]
    ok = [t for t in measured if t.ok]
    scores = [float(t.qa_score or 0.0) for t in ok]
    tokens = [int(t.pack_tokens or 0) for t in ok]
    latencies = [float(t.latency_ns) for t in ok if t.latency_ns is not None]
    peaks = [t.peak_rss_bytes for t in ok if t.peak_rss_bytes is not None]
    return Summary(
        arm=arm,
        budget=budget,
        n_ok=len(ok),
        n_failed=len(measured) - len(ok),
        qa_score_sum=math.fsum(scores),
        pack_tokens_sum=sum(tokens),
        qa_per_100k=qa_per_100k(scores, tokens),
        latency_p50_ns=quantile(latencies, 0.5) if latencies else None,
        latency_p95_ns=quantile(latencies, 0.95) if latencies else None,
        latency_mean_ns=math.fsum(latencies) / len(latencies) if latencies else None,
        peak_rss_mean_bytes=math.fsum(peaks) / len(peaks) if peaks else None,
        peak_rss_max_bytes=max(peaks) if peaks else None,
    )


def summarise(
    trials: Sequence[_TrialLike], arms: Sequence[str], budgets: Sequence[int]
) -> tuple[Summary, ...]:
    """Every cell, arms in the given order, budgets ascending within an arm."""
    return tuple(summarise_cell(arm, budget, trials) for arm in arms for budget in sorted(budgets))
