"""Rendering chosen blocks, counting them exactly, fitting them to the budget, writing them.

Selection works on estimates; here every chosen block is rendered and counted exactly,
blocks are dropped from the lowest priority up until header + blocks + footer fit, and
whole files from the reserve are tried in the slack that is left. A block whose text holds
a secret (:mod:`packrepo.secrets`) is withheld before it is counted, unless allowed.
"""

from __future__ import annotations

from typing import TextIO

from packrepo.pipeline import StaleAnalysis, TextStore
from packrepo.render import Block, Renderer, Segment, spans_fit
from packrepo.secrets import find_secret
from packrepo.selection import Selection
from packrepo.text import longest_backtick_run, split_lines
from packrepo.tokens import TokenCounter

# Whole files tried in the slack left after exact counting; each costs one render.
TOP_UP_ATTEMPTS = 64


class Writer:
    """Renders blocks from the text store; counts them exactly; writes them."""

    def __init__(
        self,
        renderer: Renderer,
        counter: TokenCounter,
        store: TextStore,
        budget: int,
        *,
        keep_rendered: bool,
        allow_secrets: bool = False,
        known: dict[tuple[object, ...], object] | None = None,
    ) -> None:
        self.renderer = renderer
        self.allow_secrets = allow_secrets
        self.withheld: dict[str, str] = {}  # path -> the kind of secret it holds
        # Exact counts, framing counts and secret findings of rendered blocks, shared between
        # packs of one unchanged tree (packrepo/reuse.py): a block's text is the same every time.
        self._known: dict[tuple[object, ...], object] = {} if known is None else known
        self.counter = counter
        self.store = store
        self.budget = budget
        # Rendered blocks are at most about the budget in size; keeping them saves reading
        # and rendering every chosen file twice. V3 streams instead and renders again.
        self._rendered: dict[tuple[str, tuple[Segment, ...]], str] | None = (
            {} if keep_rendered else None
        )
        self._estimates: dict[tuple[str, tuple[Segment, ...]], int] = {}
        self._extra_segment = self._extra_segment_cost()

    def estimate(self, block: Block) -> int:
        """Framing plus the spans' own tokens; exact framing for one span, a bound beyond.

        The ladder grows blocks a span at a time, and recounting a growing header for every
        offer would dominate V4; each extra span is charged the measured cost of a span with
        the widest label and a gap marker, an overestimate the exact count later corrects.
        """
        key = (block.path, block.segments)
        estimate = self._estimates.get(key)
        if estimate is None:
            single = Block(block.path, block.segments[:1], block.backticks, 0)
            first = ("framing", *_text_key(self.renderer, single))
            framing = self._known.get(first)
            if not isinstance(framing, int):
                framing = self.counter.count(self.renderer.framing(single))
                self._known[first] = framing
            framing += self._extra_segment * (len(block.segments) - 1)
            estimate = framing + sum(segment.tokens for segment in block.segments)
            self._estimates[key] = estimate
        return estimate

    def _extra_segment_cost(self) -> int:
        wide = Segment(999_990, 999_991, "signature", 0.0, 0)
        wider = Segment(999_995, 999_999, "signature", 0.0, 0)
        one = Block("x", (wide,), 0, 0)
        two = Block("x", (wide, wider), 0, 0)
        return self.counter.count(self.renderer.framing(two)) - self.counter.count(
            self.renderer.framing(one)
        )

    def render(self, block: Block) -> str:
        key = (block.path, block.segments)
        if self._rendered is not None and key in self._rendered:
            return self._rendered[key]
        text = self.store.text(block.path)
        lines = split_lines(text)
        # The file's backtick run is a fact of its text: scanned once per tree, not per block.
        facts = self._known.get(("file", block.path))
        if not isinstance(facts, tuple):
            facts = (len(lines), longest_backtick_run(text))
            self._known[("file", block.path)] = facts
        if not spans_fit(block, *facts):
            # Only a cached analysis read without its text can disagree with the text.
            raise StaleAnalysis(f"{block.path}: the cached analysis does not fit the file")
        text = self.renderer.block(block, lines)
        if self._rendered is not None:
            self._rendered[key] = text
        return text

    def fit(self, selection: Selection, fixed: int) -> tuple[list[Block], dict[str, int]]:
        """Exact counts; drop from the lowest priority until it fits; top up from the reserve."""
        chosen = [block for block in selection.chosen if self._may_emit(block)]
        exact = {block.path: self._count(block) for block in chosen}
        total = fixed + sum(exact.values())
        while total > self.budget and chosen:
            total -= exact.pop(chosen.pop().path)
        attempts = 0
        for block in selection.reserve:
            slack = self.budget - total
            if slack <= 0 or attempts >= TOP_UP_ATTEMPTS:
                break
            if block.path in exact or block.path in self.withheld:
                continue
            if self.estimate(block) > slack + 8:
                continue  # the +8 lets a slight overestimate be counted exactly
            attempts += 1
            if not self._may_emit(block):
                continue
            tokens = self._count(block)
            if tokens <= slack:
                chosen.append(Block(block.path, block.segments, block.backticks, len(chosen)))
                exact[block.path] = tokens
                total += tokens
        return sorted(chosen, key=lambda block: block.path), exact

    def _count(self, block: Block) -> int:
        key = ("tokens", *_text_key(self.renderer, block))
        tokens = self._known.get(key)
        if not isinstance(tokens, int):
            tokens = self.counter.count(self.render(block))
            self._known[key] = tokens
        return tokens

    def _may_emit(self, block: Block) -> bool:
        """False (and the file withheld) if the block's text holds a secret."""
        if self.allow_secrets:
            return True
        key = ("secret", *_text_key(self.renderer, block))
        if key not in self._known:
            self._known[key] = find_secret(self.render(block))
        secret = self._known[key]
        if isinstance(secret, str):
            self.withheld[block.path] = secret
        return secret is None

    def stream(self, blocks: list[Block], out: TextIO) -> None:
        out.write(self.renderer.header())
        for block in blocks:
            out.write(self.render(block))
        out.write(self.renderer.footer())

    def write_whole(self, blocks: list[Block], exact: dict[str, int], out: TextIO) -> list[Block]:
        """Assemble, count the whole document, trim if it ever exceeds the budget, write."""
        while True:
            parts = [self.renderer.header(), *map(self.render, blocks), self.renderer.footer()]
            text = "".join(parts)
            if self.counter.count(text) <= self.budget or not blocks:
                break
            lowest = max(blocks, key=lambda block: block.priority)
            blocks = [block for block in blocks if block is not lowest]
            exact.pop(lowest.path)
        out.write(text)
        return blocks


def _text_key(renderer: Renderer, block: Block) -> tuple[object, ...]:
    """What a block's rendered text depends on (not the scores, which only the manifest
    shows): the same key, the same text, in one unchanged tree."""
    spans = tuple((segment.start, segment.end, segment.mode) for segment in block.segments)
    return (renderer.format, block.path, spans, block.backticks)
