"""The fence check's backtick scan equals the plain definition: the longest run of '`'."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from packrepo.text import longest_backtick_run


def _plain(text: str) -> int:
    return max((len(list(run)) for char, run in itertools.groupby(text) if char == "`"), default=0)


@given(st.text(alphabet="`a\n\u00b4", max_size=60))
def test_the_longest_run_is_the_plain_definition(text: str) -> None:
    assert longest_backtick_run(text) == _plain(text)


def test_known_runs() -> None:
    assert longest_backtick_run("") == 0
    assert longest_backtick_run("no ticks") == 0
    assert longest_backtick_run("a ``` b ```` c `") == 4
