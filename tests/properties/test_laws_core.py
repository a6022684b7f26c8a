"""Laws of the packer's core, one module at a time: budgets, flags, counting, rendering,
selection. Each oracle is the module's documented contract, written out independently."""

from __future__ import annotations

import itertools
import re
import unicodedata
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from unittest import mock

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import packrepo.tokens as tokens_module
from packrepo.analysis import Chunk, FileAnalysis
from packrepo.budget import parse_budget
from packrepo.errors import BudgetError, FlagError, PackError
from packrepo.flags import BOOLEAN_FLAGS, KNOWN_VARIABLES, Flags
from packrepo.render import GAP, Block, Renderer, Segment, header_text, label
from packrepo.selection import Candidate, full_block, select_ladder, select_whole_files
from packrepo.text import language_of
from packrepo.tokens import (
    MAX_PIECE_CHARS,
    SUPPORTED_ENCODINGS,
    is_safe_cut,
    load_counter,
    load_public_counter,
    split_at_safe_cuts,
)
from tests.properties.strategies import file_texts, laws

COUNTER = load_counter("cl100k_base")

# --- budgets -------------------------------------------------------------------------------


@laws(200)
@given(tokens=st.integers(min_value=1, max_value=10**12), spaces=st.sampled_from(["", " ", "\t"]))
def test_a_budget_in_plain_digits_is_that_many_tokens(tokens: int, spaces: str) -> None:
    assert parse_budget(tokens) == tokens
    assert parse_budget(f"{spaces}{tokens}{spaces}") == tokens


@laws(200)
@given(
    whole=st.integers(min_value=0, max_value=10**6),
    unit=st.sampled_from([("k", 1_000), ("K", 1_000), ("m", 1_000_000), ("M", 1_000_000)]),
    thousandths=st.integers(min_value=0, max_value=999),
)
def test_units_multiply_and_fractions_must_come_out_whole(
    whole: int, unit: tuple[str, int], thousandths: int
) -> None:
    suffix, factor = unit
    text = f"{whole}.{thousandths:03d} {suffix}"
    value = whole * factor + thousandths * factor // 1000
    if value <= 0:
        with pytest.raises(BudgetError, match="positive"):
            parse_budget(text)
    else:
        assert parse_budget(text) == value
    assume(factor == 1_000)
    with pytest.raises(BudgetError, match=r"^budget '[^']*' is not a whole number of tokens$"):
        parse_budget(f"{whole}.{thousandths:03d}5k")


@laws(200)
@given(tokens=st.integers(max_value=0))
def test_a_budget_must_be_positive(tokens: int) -> None:
    message = rf"^budget must be a positive number of tokens, got {re.escape(repr(tokens))}$"
    with pytest.raises(BudgetError, match=message):
        parse_budget(tokens)
    with pytest.raises(BudgetError, match=r"^budget must be a positive number of tokens, got '"):
        parse_budget(str(tokens).lstrip("-") if tokens == 0 else "0")


@laws(300)
@given(text=st.text(max_size=20))
@example(text="1e3")
@example(text="-5")
@example(text="12 kk")
@example(text="1.5")
def test_any_text_is_a_budget_or_a_budget_error(text: str) -> None:
    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*[kKmM]?\s*", text):
        with pytest.raises(BudgetError, match=r"^budget must look like 120k, 1\.5M or 50000, got "):
            parse_budget(text)
        return
    try:
        tokens = parse_budget(text)
    except BudgetError as error:
        refusal = str(error)
    else:
        refusal = ""
        assert tokens > 0
    assert refusal == "" or refusal.startswith("budget ")


@laws(50)
@given(
    value=st.one_of(
        st.booleans(), st.floats(), st.none(), st.binary(max_size=4), st.lists(st.integers())
    )
)
def test_only_ints_and_strings_are_budgets(value: object) -> None:
    with pytest.raises(BudgetError, match=r"^budget must be "):
        parse_budget(value)  # type: ignore[arg-type]


# --- flags ---------------------------------------------------------------------------------

_FEATURES = ("aggressive_caching", "parallel_processing", "memory_optimization", "hybrid_mode")


@st.composite
def consistent_flags(draw: st.DrawFn) -> Flags:
    policy = draw(st.booleans())
    features = {name: policy and draw(st.booleans()) for name in _FEATURES}
    return Flags(
        policy_v2=policy,
        **features,
        compression=features["memory_optimization"] and draw(st.booleans()),
        batch_size=draw(st.integers(min_value=1, max_value=4096)),
        adaptive_threshold=draw(st.floats(min_value=1e-6, max_value=1.0)),
    )


def environment_of(flags: Flags) -> dict[str, str]:
    """The environment a user would write for ``flags`` (what the manifest records)."""
    return {key: value for key, value in flags.to_manifest().items() if value is not None}


@laws(200)
@given(flags=consistent_flags())
def test_flags_survive_the_round_trip_through_the_environment(flags: Flags) -> None:
    parsed = Flags.from_environ(environment_of(flags))
    assert parsed.to_manifest() == flags.to_manifest()
    for name in ("policy_v2", *_FEATURES, "compression"):
        assert getattr(parsed, name) == getattr(flags, name)
    if flags.parallel_processing:
        assert parsed.batch_size == flags.batch_size
    if flags.hybrid_mode:
        assert parsed.adaptive_threshold == flags.adaptive_threshold


@laws(100)
@given(flags=consistent_flags())
def test_the_manifest_shows_exactly_the_values_in_effect(flags: Flags) -> None:
    manifest = flags.to_manifest()
    assert set(manifest) == set(KNOWN_VARIABLES) - {"FASTPATH_CACHE_DIR"}
    for name in BOOLEAN_FLAGS:
        assert manifest[name] in ("0", "1")
    assert manifest["FASTPATH_POLICY_V2"] == ("1" if flags.policy_v2 else "0")
    assert manifest["FASTPATH_HYBRID_MODE"] == ("1" if flags.hybrid_mode else "0")
    batch = manifest["FASTPATH_BATCH_SIZE"]
    assert batch == (str(flags.batch_size) if flags.parallel_processing else None)
    threshold = manifest["FASTPATH_ADAPTIVE_THRESHOLD"]
    assert threshold == (repr(flags.adaptive_threshold) if flags.hybrid_mode else None)


_VALUES = st.one_of(
    st.sampled_from(["0", "1", "", "2", "true", "01", " 1", "64", "0.5", "nan", "inf", "-1"]),
    st.text(max_size=6),
)


@laws(400)
@given(
    environ=st.dictionaries(
        st.one_of(
            st.sampled_from(KNOWN_VARIABLES),
            st.sampled_from(["FASTPATH_HYBIRD_MODE", "FASTPATH_", "PATH", "fastpath_policy_v2"]),
        ),
        _VALUES,
        max_size=6,
    )
)
@example(environ={"FASTPATH_POLICY_V2": "1", "FASTPATH_BATCH_SIZE": "8"})
@example(environ={"FASTPATH_POLICY_V2": "1", "FASTPATH_COMPRESSION": "1"})
@example(environ={"FASTPATH_HYBRID_MODE": "1"})
def test_any_environment_gives_flags_or_a_flag_error_naming_the_variable(
    environ: dict[str, str],
) -> None:
    try:
        flags = Flags.from_environ(environ)
    except FlagError as error:
        refusal = str(error)
    else:
        refusal = ""
    if refusal:
        assert any(name in refusal for name in (*KNOWN_VARIABLES, "FASTPATH_")), refusal
        return
    # Accepted: every FASTPATH_* key is known, every boolean is 0/1, sub-flags have parents.
    fastpath = {k: v for k, v in environ.items() if k.startswith("FASTPATH_")}
    assert set(fastpath) <= set(KNOWN_VARIABLES)
    for name in BOOLEAN_FLAGS:
        assert fastpath.get(name, "0") in ("0", "1")
    assert flags.policy_v2 == (fastpath.get("FASTPATH_POLICY_V2") == "1")
    assert flags.hybrid_mode == (fastpath.get("FASTPATH_HYBRID_MODE") == "1")
    assert flags.compression == (fastpath.get("FASTPATH_COMPRESSION") == "1")
    if "FASTPATH_BATCH_SIZE" in fastpath:
        assert flags.parallel_processing
        assert flags.batch_size == int(fastpath["FASTPATH_BATCH_SIZE"]) > 0
    if "FASTPATH_ADAPTIVE_THRESHOLD" in fastpath:
        assert flags.hybrid_mode
        assert 0 < flags.adaptive_threshold <= 1
    assert flags.cache_dir == (fastpath.get("FASTPATH_CACHE_DIR") or None)


@laws(100)
@given(feature=st.sampled_from((*_FEATURES, "compression")))
def test_a_feature_without_the_policy_is_refused(feature: str) -> None:
    kwargs = {feature: True}
    if feature == "compression":
        kwargs["memory_optimization"] = True
    with pytest.raises(FlagError, match=r"=1 requires FASTPATH_POLICY_V2=1 \(the baseline has"):
        Flags(**kwargs)  # type: ignore[arg-type]


@laws(100)
@given(
    batch=st.one_of(st.integers(max_value=0), st.just(True)),
    threshold=st.one_of(
        st.floats(max_value=0.0, allow_nan=False), st.floats(min_value=1.0, exclude_min=True)
    ),
)
def test_batch_size_and_threshold_out_of_range_are_refused(batch: int, threshold: float) -> None:
    with pytest.raises(FlagError, match=r"^FASTPATH_BATCH_SIZE must be a positive integer, got "):
        Flags(batch_size=batch)
    with pytest.raises(
        FlagError, match=r"^FASTPATH_ADAPTIVE_THRESHOLD must be a number in \(0, 1]"
    ):
        Flags(adaptive_threshold=threshold)


@laws(60)
@given(
    text=st.one_of(
        st.sampled_from(["1", "1.0", "1e0", "0.5", ".25", "1e-3"]),
        st.floats(min_value=1e-9, max_value=1.0).map(repr),
    )
)
def test_every_threshold_in_the_half_open_unit_interval_is_accepted(text: str) -> None:
    environ = {"FASTPATH_POLICY_V2": "1", "FASTPATH_HYBRID_MODE": "1"}
    flags = Flags.from_environ({**environ, "FASTPATH_ADAPTIVE_THRESHOLD": text})
    assert flags.adaptive_threshold == float(text)
    assert Flags(adaptive_threshold=float(text)).adaptive_threshold == float(text)


_REFUSALS = [
    (
        {"FASTPATH_POLICY_V2": "1", "FASTPATH_COMPRESSION": "1"},
        r"^FASTPATH_COMPRESSION=1 requires FASTPATH_MEMORY_OPTIMIZATION=1$",
    ),
    (
        {"FASTPATH_POLICY_V2": "1", "FASTPATH_BATCH_SIZE": "8"},
        r"^FASTPATH_BATCH_SIZE requires FASTPATH_PARALLEL_PROCESSING=1$",
    ),
    (
        {"FASTPATH_POLICY_V2": "1", "FASTPATH_ADAPTIVE_THRESHOLD": "0.5"},
        r"^FASTPATH_ADAPTIVE_THRESHOLD requires FASTPATH_HYBRID_MODE=1$",
    ),
    ({"FASTPATH_X": "1"}, r"^unknown FastPath variable FASTPATH_X \(known: FASTPATH_POLICY_V2, "),
    ({"FASTPATH_HYBRID_MODE": "yes"}, r"^FASTPATH_HYBRID_MODE must be 0 or 1, got 'yes'$"),
    (
        {
            "FASTPATH_POLICY_V2": "1",
            "FASTPATH_PARALLEL_PROCESSING": "1",
            "FASTPATH_BATCH_SIZE": "x",
        },
        r"^FASTPATH_BATCH_SIZE must be a positive integer, got 'x'$",
    ),
    (
        {
            "FASTPATH_POLICY_V2": "1",
            "FASTPATH_HYBRID_MODE": "1",
            "FASTPATH_ADAPTIVE_THRESHOLD": "2",
        },
        r"^FASTPATH_ADAPTIVE_THRESHOLD must be a number in \(0, 1\], got '2'$",
    ),
]


@laws(30)
@given(refusal=st.sampled_from(_REFUSALS), noise=st.sampled_from([{}, {"PATH": "/bin"}]))
def test_each_inconsistency_is_refused_with_its_own_message(
    refusal: tuple[dict[str, str], str], noise: dict[str, str]
) -> None:
    environ, message = refusal
    with pytest.raises(FlagError, match=message):
        Flags.from_environ({**noise, **environ})


# --- counting ------------------------------------------------------------------------------

_LINES = st.lists(
    st.one_of(
        st.text(alphabet="ab (){}:=#'\"\t ,.é☕", max_size=12),
        st.sampled_from(["", " ", "  x", "\tdef f():", ")", "]]>", "```", "\r", "<|endoftext|>"]),
    ),
    min_size=1,
    max_size=40,
)


@laws(150)
@given(lines=_LINES, limit=st.integers(min_value=1, max_value=80))
def test_safe_cuts_rebuild_the_text_and_never_split_a_token(lines: list[str], limit: int) -> None:
    text = "\n".join(lines) + "\n"
    pieces = split_at_safe_cuts(text, limit)
    assert "".join(pieces) == text
    assert all(pieces)
    for before, after in itertools.pairwise(pieces):
        assert before.endswith("\n")
        assert is_safe_cut(after)
    for index, piece in enumerate(pieces[:-1]):
        # a piece runs past the limit only when no safe cut exists within it
        if len(piece) > limit:
            inner = [m.end() for m in re.finditer("\n", piece[: limit + 1])]
            assert not any(cut < len(piece) and is_safe_cut(piece[cut:]) for cut in inner), index
    assert sum(COUNTER.count_piece(piece) for piece in pieces) == COUNTER.count_piece(text)


@laws(100)
@given(lines=_LINES, limit=st.integers(min_value=1, max_value=200))
def test_long_texts_are_counted_exactly_in_pieces(lines: list[str], limit: int) -> None:
    text = "\n".join(lines) + "\n"
    parts = [line + "\n" for line in lines]
    with mock.patch.object(tokens_module, "MAX_PIECE_CHARS", limit):
        assert COUNTER.count(text) == COUNTER.count_piece(text)
        assert COUNTER.count_joined(parts) == COUNTER.count_piece(text)
        assert COUNTER.count_joined([]) == 0


# Parts that each start a line with a non-space: a cut before any of them is safe.
_PARTS = st.sampled_from(["x = 1\n", "def f():\n", "é" * 7 + "\n", "return\n"])


@laws(60)
@given(parts=st.lists(_PARTS, max_size=40), limit=st.integers(5, 60))
def test_joined_counting_holds_one_piece_at_a_time(parts: list[str], limit: int) -> None:
    """count_joined counts ``"".join(parts)`` exactly without building it whole."""
    seen: list[int] = []

    def spy(text: str) -> int:
        seen.append(len(text))
        return COUNTER.count_piece(text)

    counter = tokens_module.TokenCounter("cl100k_base", spy)
    with mock.patch.object(tokens_module, "MAX_PIECE_CHARS", limit):
        assert counter.count_joined(parts) == COUNTER.count_piece("".join(parts))
    longest = max((len(part) for part in parts), default=0)
    # every boundary is a safe cut, so no piece grows past the limit by more than one part
    assert all(size <= limit + longest for size in seen), (seen, limit)


@laws(5)
@given(encoding=st.sampled_from(SUPPORTED_ENCODINGS))
def test_the_compiled_extension_is_found_and_loaded_without_the_wrapper(encoding: str) -> None:
    import sys

    name = "bpe_openai._bindings"
    loaded = sys.modules.pop(name, None)
    try:
        module = tokens_module._load_bindings()
        assert module is not None
        assert module.__name__ == name
        assert sys.modules[name] is module
        assert tokens_module._load_bindings() is module  # found again, not loaded again
        counter = module.tokenizer_for_encoding(encoding)
        text = "def f(x):\n    return x  # café\n"
        assert counter.count(text) == load_public_counter(encoding).count(text)
    finally:
        if loaded is not None:
            sys.modules[name] = loaded


@laws(60)
@given(text=file_texts)
def test_the_fast_counter_agrees_with_the_public_encoder(text: str) -> None:
    for encoding in SUPPORTED_ENCODINGS:
        assert load_counter(encoding).count(text) == load_public_counter(encoding).count(text)


@laws(50)
@given(following=st.text(max_size=4))
def test_a_cut_is_safe_only_before_a_non_space(following: str) -> None:
    assert is_safe_cut(following) == (following != "" and not following[0].isspace())


@laws(30)
@given(name=st.text(max_size=12).filter(lambda name: name not in SUPPORTED_ENCODINGS))
def test_unknown_encodings_are_refused_by_name(name: str) -> None:
    with pytest.raises(PackError, match=r"^encoding must be one of cl100k_base, o200k_base, got "):
        load_counter(name)


@laws(5)
@given(encoding=st.sampled_from(SUPPORTED_ENCODINGS))
def test_a_counter_is_loaded_once_per_encoding(encoding: str) -> None:
    assert load_counter(encoding) is load_counter(encoding)
    assert load_counter(encoding).encoding == encoding
    assert 100_000 <= MAX_PIECE_CHARS < 1_000_000


# --- rendering -----------------------------------------------------------------------------

_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PATHS = st.sampled_from(["a.py", "docs/guide.md", "x/y/z.txt", 'we"ird&<>.rs', "tab\tname.js"])


def one_line(text: str) -> str:
    """A line as the packer holds it: decoded text (no ``\\r``) split at ``\\n``."""
    return text.replace("\n", " ").replace("\r", " ") + "\n"


@st.composite
def blocks_with_lines(draw: st.DrawFn) -> tuple[Block, list[str]]:
    """A file's lines and a block of increasing, non-overlapping spans over them."""
    lines = draw(st.lists(file_texts.map(one_line), min_size=1))
    cuts = sorted(draw(st.sets(st.integers(1, len(lines)), min_size=1, max_size=6)))
    segments = []
    for start, end in itertools.pairwise([*cuts, len(lines) + 1]):
        if draw(st.booleans()) or not segments:
            stop = draw(st.integers(start, end - 1))
            mode = draw(st.sampled_from(["full", "chunk", "signature"]))
            segments.append(Segment(start, stop, mode, 0.5, draw(st.integers(0, 50))))
    backticks = max((len(m.group()) for line in lines for m in re.finditer("`+", line)), default=0)
    block = Block(draw(_PATHS), tuple(segments), backticks, draw(st.integers(0, 9)))
    return block, lines


def markdown_of(block: Block, lines: Sequence[str]) -> str:
    """The Markdown block, as the module docstring of packrepo.render specifies it."""
    fence = "`" * max(3, block.backticks + 1)
    spans = ", ".join(f"{s.start}-{s.end} {s.mode}" for s in block.segments)
    body, previous = [], None
    for segment in block.segments:
        if previous is not None and segment.start > previous + 1:
            body.append("⋮\n")
        body.append("".join(lines[segment.start - 1 : segment.end]))
        previous = segment.end
    language = language_of(block.path)
    heading = header_text(block.path)
    return f"### {heading} (lines {spans})\n{fence}{language}\n{''.join(body)}{fence}\n\n"


@laws(150)
@given(case=blocks_with_lines())
def test_a_markdown_block_is_heading_fence_spans_and_gaps(case: tuple[Block, list[str]]) -> None:
    block, lines = case
    renderer = Renderer("markdown", "repo")
    text = renderer.block(block, lines)
    assert text == markdown_of(block, lines)
    assert label(block) == ", ".join(f"{s.start}-{s.end} {s.mode}" for s in block.segments)
    assert renderer.framing(block) == markdown_of(block, [""] * len(lines))
    assert text.count(GAP) >= sum(
        1 for a, b in itertools.pairwise(block.segments) if b.start > a.end + 1
    )


@laws(150)
@given(case=blocks_with_lines(), title=st.text(max_size=10))
def test_an_xml_block_parses_and_holds_each_span_verbatim(
    case: tuple[Block, list[str]], title: str
) -> None:
    block, lines = case
    renderer = Renderer("xml", title)
    document = renderer.header() + renderer.block(block, lines) + renderer.footer()
    root = ElementTree.fromstring(document.encode("utf-8"))
    assert root.tag == "repository"
    assert root.get("name") == _XML_FORBIDDEN.sub("\ufffd", header_text(title))
    (file_element,) = root.findall("file")
    assert file_element.get("path") == header_text(block.path)
    spans = file_element.findall("lines")
    assert len(spans) == len(block.segments)
    for element, segment in zip(spans, block.segments, strict=True):
        content = "".join(lines[segment.start - 1 : segment.end])
        assert element.text == "\n" + _XML_FORBIDDEN.sub("\ufffd", content)
        assert (element.get("from"), element.get("to")) == (str(segment.start), str(segment.end))
        assert element.get("mode") == segment.mode
    assert renderer.framing(block).count("<lines ") == len(block.segments)


@laws(100)
@given(name=st.text(max_size=30))
def test_header_text_hides_no_control_format_or_separator_character(name: str) -> None:
    shown = header_text(name)
    assert all(
        char == "\t" or unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Zl", "Zp"}
        for char in shown
    )
    assert shown == name or "\\u" in shown


@laws(100)
@given(title=st.text(max_size=30))
def test_headers_and_footers_are_fixed_and_end_in_a_newline(title: str) -> None:
    markdown, xml = Renderer("markdown", title), Renderer("xml", title)
    one_line = header_text(" ".join(title.split())) or "repository"
    assert markdown.header() == (
        f"# Repository pack: {one_line}\n\n"
        "Each file is headed by its path and the line spans shown; ⋮ marks omitted lines.\n\n"
    )
    assert markdown.footer() == ""
    assert xml.header().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<repository name="')
    assert xml.header().endswith('">\n')
    assert xml.footer() == "</repository>\n"


@laws(100)
@given(cases=st.lists(blocks_with_lines(), min_size=1, max_size=4), xml=st.booleans())
def test_a_document_counts_as_the_sum_of_its_parts(
    cases: list[tuple[Block, list[str]]], xml: bool
) -> None:
    """The law that lets V3 count a pack it never holds whole (packrepo.render docstring)."""
    renderer = Renderer("xml" if xml else "markdown", "repo")
    parts = [renderer.header(), *(renderer.block(b, lines) for b, lines in cases)]
    parts.append(renderer.footer())
    for part in parts[1:]:
        assert part == "" or (not part[0].isspace() and part.endswith("\n"))
    assert COUNTER.count_piece("".join(parts)) == sum(COUNTER.count_piece(p) for p in parts)


# --- selection -----------------------------------------------------------------------------


@st.composite
def analyses(draw: st.DrawFn) -> FileAnalysis:
    """A file's analysis whose chunks partition its lines, some with signatures."""
    line_count = draw(st.integers(1, 120))
    starts = sorted(draw(st.sets(st.integers(2, line_count), max_size=8)) | {1}) if (
        line_count > 1
    ) else [1]  # fmt: skip
    chunks = []
    for start, nxt in itertools.pairwise([*starts, line_count + 1]):
        end = nxt - 1
        tokens = draw(st.integers(1, 400))
        signature = (
            (start, min(end, start + draw(st.integers(0, 2)))) if draw(st.booleans()) else None
        )
        chunks.append(
            Chunk(start, end, "function", f"f{start}", tokens, signature, max(1, tokens // 5))
        )
    total = sum(chunk.tokens for chunk in chunks)
    return FileAnalysis(
        "python", line_count, total, draw(st.integers(0, 6)), False, (), False, tuple(chunks)
    )


@st.composite
def candidate_sets(draw: st.DrawFn, *, with_chunks: bool) -> list[Candidate]:
    names = draw(
        st.lists(st.sampled_from([f"m{i}.py" for i in range(12)]), min_size=1, unique=True)
    )
    candidates = []
    for name in sorted(names):
        analysis = draw(analyses())
        scores = tuple(
            draw(st.floats(0, 1, allow_nan=False)) for _ in analysis.chunks
        ) if with_chunks else ()  # fmt: skip
        candidates.append(Candidate(name, analysis, draw(st.floats(0, 1, allow_nan=False)), scores))
    return candidates


def estimate(block: Block) -> int:
    """A stand-in for the packer's estimate: framing per span plus the spans' tokens."""
    return 12 + 5 * (len(block.segments) - 1) + sum(segment.tokens for segment in block.segments)


def spans_are_well_formed(block: Block, candidate: Candidate) -> None:
    """Spans are real chunks or signatures of the file, scored as the selection documents."""
    analysis = candidate.analysis
    modes = [segment.mode for segment in block.segments]
    if "full" in modes:
        score = round(candidate.score, 6)
        assert block.segments == (Segment(1, analysis.line_count, "full", score, analysis.tokens),)
        return
    chunk_index = {(c.start, c.end): i for i, c in enumerate(analysis.chunks)}
    chunk_spans = {(c.start, c.end): c for c in analysis.chunks}
    signatures = {c.signature: c for c in analysis.chunks if c.signature}
    for before, after in itertools.pairwise(block.segments):
        assert before.end < after.start
    for segment in block.segments:
        assert 1 <= segment.start <= segment.end <= analysis.line_count
        if segment.mode == "chunk":
            assert chunk_spans[(segment.start, segment.end)].tokens == segment.tokens
            index = chunk_index[(segment.start, segment.end)]
            expected = candidate.chunk_scores[index] if candidate.chunk_scores else 0.0
            assert segment.score == round(expected, 6)
        else:
            assert segment.mode == "signature"
            assert signatures[(segment.start, segment.end)].signature_tokens == segment.tokens
            assert segment.score == round(candidate.score, 6)


@laws(200)
@given(candidates=candidate_sets(with_chunks=False), room=st.integers(0, 3000))
def test_whole_file_selection_fits_the_room_and_is_greedy(
    candidates: list[Candidate], room: int
) -> None:
    selection = select_whole_files(candidates, room, estimate)
    chosen, reserve = selection.chosen, selection.reserve
    assert sum(estimate(block) for block in chosen) <= room
    assert sorted(b.path for b in (*chosen, *reserve)) == sorted(c.path for c in candidates)
    assert [block.priority for block in chosen] == list(range(len(chosen)))
    leftover = room - sum(estimate(block) for block in chosen)
    assert all(estimate(block) > leftover for block in reserve)  # nothing left out fits
    by_path = {c.path: c for c in candidates}
    density = [by_path[b.path].score / max(1, estimate(b)) for b in (*chosen, *reserve)]
    assert [density[i] for i in range(len(chosen))] == sorted(density[: len(chosen)], reverse=True)
    assert density[len(chosen) :] == sorted(density[len(chosen) :], reverse=True)
    assert all(block.priority == 0 for block in reserve)  # unranked until topped up
    for block in (*chosen, *reserve):
        assert block == Block(block.path, full_block(by_path[block.path]).segments,
                              by_path[block.path].analysis.backticks, block.priority)  # fmt: skip
        spans_are_well_formed(block, by_path[block.path])


@laws(100)
@given(candidates=candidate_sets(with_chunks=False))
def test_files_that_fill_the_room_exactly_are_all_chosen(candidates: list[Candidate]) -> None:
    room = sum(estimate(full_block(candidate)) for candidate in candidates)
    selection = select_whole_files(candidates, room, estimate)
    assert len(selection.chosen) == len(candidates)
    assert selection.reserve == ()


@laws(200)
@given(
    candidates=candidate_sets(with_chunks=True),
    room=st.integers(0, 4000),
    threshold=st.floats(0.01, 1.0),
)
def test_the_ladder_fits_the_room_and_emits_only_real_spans(
    candidates: list[Candidate], room: int, threshold: float
) -> None:
    selection = select_ladder(candidates, room, estimate, threshold)
    by_path = {c.path: c for c in candidates}
    chosen_paths = [block.path for block in selection.chosen]
    assert len(set(chosen_paths)) == len(chosen_paths)
    assert sum(estimate(block) for block in selection.chosen) <= room
    assert [block.priority for block in selection.chosen] == sorted(
        block.priority for block in selection.chosen
    )
    assert len({block.priority for block in selection.chosen}) == len(selection.chosen)
    for block in selection.chosen:
        spans_are_well_formed(block, by_path[block.path])
    assert not set(chosen_paths) & {block.path for block in selection.reserve}
    for block in selection.reserve:
        assert [s.mode for s in block.segments] == ["full"]
    # the reserve is the rest of the whole-file order (score per token, then path)
    ranked = sorted(candidates, key=lambda c: (-c.score / max(1, estimate(full_block(c))), c.path))
    assert [b.path for b in selection.reserve] == [
        c.path for c in ranked if c.path not in set(chosen_paths)
    ]


@laws(100)
@given(candidates=candidate_sets(with_chunks=True), threshold=st.floats(0.01, 1.0))
def test_with_room_for_everything_the_ladder_keeps_every_file_whole(
    candidates: list[Candidate], threshold: float
) -> None:
    # Enough room for every full file and every partial block along the way.
    room = sum(estimate(full_block(c)) + 3 * estimate(full_block(c)) for c in candidates)
    selection = select_ladder(candidates, room, estimate, threshold)
    assert sorted(b.path for b in selection.chosen) == sorted(c.path for c in candidates)
    assert all([s.mode for s in b.segments] == ["full"] for b in selection.chosen)
    assert selection.reserve == ()


@laws(100)
@given(candidates=candidate_sets(with_chunks=True), threshold=st.floats(0.01, 1.0))
def test_with_no_room_nothing_is_chosen(candidates: list[Candidate], threshold: float) -> None:
    selection = select_ladder(candidates, 0, estimate, threshold)
    assert selection.chosen == ()
    assert len(selection.reserve) == len(candidates)
    assert select_whole_files(candidates, 0, estimate).chosen == ()


def _first_whole(candidates: Sequence[Candidate], room: int, threshold: float) -> set[str]:
    """Step 1 of the ladder: high scorers that are small enough go in whole."""
    chosen, left = set(), room
    for candidate in sorted(candidates, key=lambda c: (-c.score, c.path)):
        cost = estimate(full_block(candidate))
        if candidate.score >= threshold and cost <= (1 - threshold) * room and cost <= left:
            chosen.add(candidate.path)
            left -= cost
    return chosen


@laws(150)
@given(
    candidates=candidate_sets(with_chunks=True),
    room=st.integers(0, 4000),
    threshold=st.floats(0.05, 0.95),
)
def test_high_scoring_small_files_go_in_whole_first(
    candidates: list[Candidate], room: int, threshold: float
) -> None:
    selection = select_ladder(candidates, room, estimate, threshold)
    whole = {b.path for b in selection.chosen if b.segments[0].mode == "full"}
    assert _first_whole(candidates, room, threshold) <= whole
    first = sorted(_first_whole(candidates, room, threshold))
    priorities = {b.path: b.priority for b in selection.chosen}
    assert sorted(priorities[p] for p in first) == list(range(len(first)))


@laws(100)
@given(analysis=analyses(), threshold=st.floats(0.05, 0.95))
def test_a_relevant_file_too_large_to_go_whole_leaves_its_signatures(
    analysis: FileAnalysis, threshold: float
) -> None:
    """Rung 3: a file scoring at least 1 - threshold that cannot go whole gets its map."""
    signed = [chunk for chunk in analysis.chunks if chunk.signature is not None]
    assume(signed)
    top = Candidate("m.py", analysis, 0.97, tuple(0.0 for _ in analysis.chunks))
    spans = [(*chunk.signature, chunk.signature_tokens) for chunk in signed if chunk.signature]
    signatures = tuple(
        Segment(first, last, "signature", 0.97, tokens) for first, last, tokens in spans
    )
    room = estimate(Block("m.py", signatures, analysis.backticks, 0))
    assume(room < estimate(full_block(top)))
    (block,) = select_ladder([top], room, estimate, threshold).chosen
    assert block.segments == signatures
