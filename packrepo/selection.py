"""Choosing what goes in: whole files greedily (baseline) or the demotion ladder (V4).

Both work on estimates (a block's framing counted exactly plus its spans' analysed token
counts) against ``room``, the budget less the document's header and footer. The packer
then counts the rendered blocks exactly and drops or adds blocks until the pack fits, so
nothing here can break the budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from packrepo.analysis import FileAnalysis
from packrepo.render import Block, Segment

Estimate = Callable[[Block], int]


@dataclass(frozen=True)
class Candidate:
    """A file as the selector sees it. ``chunk_scores`` are BM25 scaled to [0, 1]."""

    path: str
    analysis: FileAnalysis
    score: float
    chunk_scores: tuple[float, ...] = ()


@dataclass(frozen=True)
class Selection:
    chosen: tuple[Block, ...]  # in priority order
    reserve: tuple[Block, ...]  # whole files not chosen, best first, for topping up


def full_block(candidate: Candidate, priority: int = 0) -> Block:
    analysis = candidate.analysis
    segment = Segment(1, analysis.line_count, "full", round(candidate.score, 6), analysis.tokens)
    return Block(candidate.path, (segment,), analysis.backticks, priority)


def density_order(candidates: Sequence[Candidate], estimate: Estimate) -> list[Block]:
    """Whole-file blocks by score per token, best first (ties by path)."""
    blocks = {c.path: full_block(c) for c in candidates}
    costs = {path: max(1, estimate(block)) for path, block in blocks.items()}
    ranked = sorted(candidates, key=lambda c: (-c.score / costs[c.path], c.path))
    return [blocks[c.path] for c in ranked]


def select_whole_files(candidates: Sequence[Candidate], room: int, estimate: Estimate) -> Selection:
    """The baseline: greedy by score per token, skipping what does not fit (knapsack-greedy)."""
    chosen: list[Block] = []
    reserve: list[Block] = []
    for block in density_order(candidates, estimate):
        cost = estimate(block)
        if cost <= room:
            chosen.append(Block(block.path, block.segments, block.backticks, len(chosen)))
            room -= cost
        else:
            reserve.append(block)
    return Selection(chosen=tuple(chosen), reserve=tuple(reserve))


# --- the demotion ladder ------------------------------------------------------------------


@dataclass
class _FileState:
    candidate: Candidate
    full: bool = False
    chunks: set[int] = field(default_factory=set)
    signatures: set[int] = field(default_factory=set)
    cost: int = 0
    priority: int | None = None

    def block(self, full: bool, chunks: set[int], signatures: set[int]) -> Block | None:
        candidate = self.candidate
        if full:
            return full_block(candidate)
        segments = []
        all_chunks = candidate.analysis.chunks
        for index in sorted(chunks | signatures):
            chunk = all_chunks[index]
            score = candidate.chunk_scores[index] if candidate.chunk_scores else 0.0
            if index in chunks:
                segments.append(
                    Segment(chunk.start, chunk.end, "chunk", round(score, 6), chunk.tokens)
                )
            elif index in signatures and chunk.signature is not None:
                first, last = chunk.signature
                segments.append(
                    Segment(
                        first, last, "signature", round(candidate.score, 6), chunk.signature_tokens
                    )
                )
        if not segments:
            return None
        return Block(candidate.path, tuple(segments), candidate.analysis.backticks, 0)


@dataclass
class _Ladder:
    room: int
    estimate: Estimate
    states: dict[str, _FileState]
    next_priority: int = 0

    def offer(
        self, state: _FileState, *, full: bool = False, chunks: set[int] | None = None,
        signatures: set[int] | None = None,
    ) -> bool:  # fmt: skip
        """Grow one file's block if the growth fits; True if it did."""
        new_full = state.full or full
        new_chunks = state.chunks | (chunks or set())
        new_signatures = state.signatures | (signatures or set())
        block = state.block(new_full, new_chunks, new_signatures)
        cost = self.estimate(block) if block is not None else 0
        if cost - state.cost > self.room:
            return False
        self.room -= cost - state.cost
        state.full, state.chunks, state.signatures, state.cost = (
            new_full, new_chunks, new_signatures, cost,
        )  # fmt: skip
        if state.priority is None and block is not None:
            state.priority = self.next_priority
            self.next_priority += 1
        return True


def select_ladder(
    candidates: Sequence[Candidate], room: int, estimate: Estimate, threshold: float
) -> Selection:
    """V4: whole files above the threshold, relevant chunks, signatures, then top up.

    In order, each step taking what still fits:

    1. files whose scaled hybrid score is at least ``threshold`` go in whole, if the whole
       file takes at most ``1 - threshold`` of the room (a huge file is demoted);
    2. chunks whose scaled BM25 is at least ``1 - threshold`` go in, best first (a higher
       threshold keeps fewer files whole and lets more chunks in);
    3. files scoring at least ``1 - threshold`` get the signatures of their other
       definitions (a map of what surrounds the relevant code);
    4. whole files by score per token (the baseline's rule), replacing partial blocks;
    5. any chunk with a lexical hit, by score per token.
    """
    ranked = sorted(candidates, key=lambda c: (-c.score, c.path))
    ladder = _Ladder(room=room, estimate=estimate, states={c.path: _FileState(c) for c in ranked})
    bar = 1.0 - threshold
    for candidate in ranked:
        state = ladder.states[candidate.path]
        if candidate.score >= threshold and estimate(full_block(candidate)) <= bar * room:
            ladder.offer(state, full=True)
    _offer_chunks(ladder, ranked, lambda c, i: c.chunk_scores[i] >= bar and c.chunk_scores[i] > 0)
    for candidate in ranked:
        state = ladder.states[candidate.path]
        if candidate.score >= bar and not state.full:
            signatures = {i for i, chunk in enumerate(candidate.analysis.chunks) if chunk.signature}
            ladder.offer(state, signatures=signatures - state.chunks)
    whole = density_order(ranked, estimate)
    for block in whole:
        state = ladder.states[block.path]
        if not state.full:
            ladder.offer(state, full=True)
    _offer_chunks(ladder, ranked, lambda c, i: c.chunk_scores[i] > 0, per_token=True)
    return _selection(ladder, whole)


def _offer_chunks(
    ladder: _Ladder,
    ranked: Sequence[Candidate],
    wanted: Callable[[Candidate, int], bool],
    *,
    per_token: bool = False,
) -> None:
    pairs = [
        (candidate, index)
        for candidate in ranked
        if candidate.chunk_scores
        for index in range(len(candidate.analysis.chunks))
        if wanted(candidate, index)
    ]

    def key(pair: tuple[Candidate, int]) -> tuple[float, str, int]:
        candidate, index = pair
        value = candidate.chunk_scores[index]
        if per_token:
            value /= max(1, candidate.analysis.chunks[index].tokens)
        return (-value, candidate.path, index)

    for candidate, index in sorted(pairs, key=key):
        state = ladder.states[candidate.path]
        chunk = candidate.analysis.chunks[index]
        replaced = chunk.signature_tokens if index in state.signatures else 0
        if chunk.tokens - replaced > ladder.room:
            continue  # cannot fit whatever its framing: skip building the block
        if not state.full and index not in state.chunks:
            ladder.offer(state, chunks={index})


def _selection(ladder: _Ladder, whole: list[Block]) -> Selection:
    chosen = []
    for state in ladder.states.values():
        block = state.block(state.full, state.chunks, state.signatures)
        if block is not None and state.priority is not None:
            chosen.append(Block(block.path, block.segments, block.backticks, state.priority))
    chosen.sort(key=lambda block: block.priority)
    taken = {block.path for block in chosen}
    reserve = tuple(block for block in whole if block.path not in taken)
    return Selection(chosen=tuple(chosen), reserve=reserve)
