"""Token counting: the fast loader agrees with the public API; safe cuts are additive."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packrepo import BudgetError, parse_budget
from packrepo.tokens import (
    SUPPORTED_ENCODINGS,
    load_counter,
    load_public_counter,
    split_at_safe_cuts,
)

SAMPLES = [
    "hello <|endoftext|> world",  # a special-token string counts as plain text
    "def f(x):\n    return x  # café ☕\n\n\n\tz = '<|fim_prefix|>'\n",
    "  leading spaces\n\n\n   \n\ttabs\r\nwindows\rold mac\n",
    "\U0001d518\U0001d52b\U0001d526 " * 50 + "\n",
    "x" * 5000,
]


@pytest.mark.parametrize("encoding", SUPPORTED_ENCODINGS)
def test_fast_counter_agrees_with_public_encode_ordinary(encoding: str) -> None:
    fast, public = load_counter(encoding), load_public_counter(encoding)
    for text in SAMPLES:
        assert fast.count(text) == public.count(text), text[:40]


def test_encodings_differ_so_the_name_matters() -> None:
    text = "".join(SAMPLES)
    assert load_counter("cl100k_base").count(text) != load_counter("o200k_base").count(text)


_LINES = st.lists(
    st.one_of(
        st.text(alphabet="ab (){}:=#'\"\t ,.é☕", max_size=12),
        st.sampled_from(["", " ", "  x", "\tdef f():", ")", "]]>", "```", "\r", "123456"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(lines=_LINES, limit=st.integers(min_value=1, max_value=60))
def test_counting_in_pieces_cut_at_safe_points_is_exact(lines: list[str], limit: int) -> None:
    text = "\n".join(lines) + "\n"
    pieces = split_at_safe_cuts(text, limit)
    assert "".join(pieces) == text
    for encoding in SUPPORTED_ENCODINGS:
        counter = load_counter(encoding)
        assert sum(counter.count_piece(piece) for piece in pieces) == counter.count_piece(text)


def test_count_joined_equals_count_of_the_join() -> None:
    rng = random.Random(3)
    parts = [
        f"### part {n}\n"
        + "".join(f"    line {rng.random()} ☕\n\n" for _ in range(rng.randint(1, 9)))
        for n in range(200)
    ]
    counter = load_counter("cl100k_base")
    assert counter.count_joined(parts) == counter.count_piece("".join(parts))


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("120k", 120_000), ("1.5M", 1_500_000), ("50000", 50_000), (" 2K ", 2_000), (7, 7)],
)
def test_parse_budget(text: str | int, tokens: int) -> None:
    assert parse_budget(text) == tokens


@pytest.mark.parametrize("text", ["", "k", "-5", "0", "1.0005k", "12q", "1e5", True, 0, -1, 2.5])
def test_parse_budget_refuses(text: object) -> None:
    with pytest.raises(BudgetError):
        parse_budget(text)  # type: ignore[arg-type]
