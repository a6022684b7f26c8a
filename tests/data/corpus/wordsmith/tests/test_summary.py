"""Tests of the fixture itself (test code is never a target of the oracle)."""

from wordsmith.summary import summarise


def test_keeps_order():
    """The extract keeps sentences in the order in which the original text had them."""
    text = "Cats sleep. Dogs bark loudly at cats. Birds sing."
    assert summarise(text, keep=2).startswith("Cats")
