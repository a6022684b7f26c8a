"""The packer's laws end to end, on generated trees: the budget is never exceeded, a pack
is deterministic, and the manifest agrees with the text; V1 and V3 never change a pack."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from benchmarks.shadow import file_lines, manifest_problems
from packrepo import BudgetError, Flags, PackError, PackResult, pack
from packrepo.render import FORMATS, Block, Renderer, Segment
from packrepo.text import decode, has_binary_suffix, longest_backtick_run
from packrepo.tokens import load_public_counter
from tests.properties.strategies import (
    ALL_ARMS,
    AMBIGUOUS_BREAKS,
    PERFORMANCE_ARMS,
    arm_flags,
    budgets,
    formats,
    laws,
    queries,
    scratch_dir,
    thresholds,
    trees,
    write_tree,
)

PUBLIC = load_public_counter("cl100k_base")


def lines_reader(root: Path):  # type: ignore[no-untyped-def]
    def lines_of(relative: str) -> list[str] | None:
        try:
            return file_lines((root / relative).read_bytes())
        except OSError:
            return None

    return lines_of


def checked_pack(
    root: Path, budget: int, query: str | None, flags: Flags, format: str
) -> PackResult | None:
    """Pack and check every law; None when the budget cannot hold the header."""
    renderer = Renderer(format, root.name)
    fixed = PUBLIC.count(renderer.header()) + PUBLIC.count(renderer.footer())
    if fixed >= budget:
        with pytest.raises(BudgetError, match=rf"^budget {budget} is too small: the pack's "):
            pack(root, budget, query, flags=flags, format=format)
        return None
    result = pack(root, budget, query, flags=flags, format=format)
    assert PUBLIC.count(result.text) == result.tokens == result.manifest["tokens"] <= budget
    problems = manifest_problems(
        result.text, result.manifest, count=PUBLIC.count, lines_of=lines_reader(root)
    )
    assert problems == (), problems
    manifest = result.manifest
    assert manifest["schema"] == 1
    assert (manifest["budget"], manifest["format"], manifest["encoding"]) == (
        budget,
        format,
        "cl100k_base",
    )
    assert manifest["query"] == (query if query and query.strip() else None)
    assert manifest["root"] == root.name
    assert manifest["flags"] == flags.to_manifest()
    assert manifest["files_packed"] <= manifest["files_scanned"]
    assert result.text.startswith(renderer.header())
    assert result.text.endswith(renderer.footer())
    if format == "xml":
        ElementTree.fromstring(result.text.encode("utf-8"))
    else:
        headings = re.findall(r"^### (.+) \(lines [^\n]*\)$", result.text, flags=re.MULTILINE)
        assert len(headings) >= manifest["files_packed"]
    return result


@laws(40)
@given(
    tree=trees(),
    budget=budgets,
    query=queries,
    arm=st.sampled_from(ALL_ARMS),
    format=formats,
    threshold=thresholds,
)
@example(tree={"a.py": "x = 1\n"}, budget=1, query=None, arm="baseline", format="markdown",
         threshold=0.85)  # fmt: skip
def test_every_arm_fits_the_budget_and_its_manifest_agrees_with_the_text(
    tree: dict[str, str | bytes],
    budget: int,
    query: str | None,
    arm: str,
    format: str,
    threshold: float,
) -> None:
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", tree)
        checked_pack(root, budget, query, arm_flags(arm, scratch / "cache", threshold), format)


@laws(25)
@given(tree=trees(), budget=budgets, query=queries, arm=st.sampled_from(ALL_ARMS), format=formats)
def test_packing_again_gives_the_same_bytes(
    tree: dict[str, str | bytes], budget: int, query: str | None, arm: str, format: str
) -> None:
    """Deterministic: the same request twice, and (V1) a cold then a warm cache, agree."""
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", tree)
        flags = arm_flags(arm, scratch / "cache")
        budget = max(budget, 200)
        first = pack(root, budget, query, flags=flags, format=format)
        second = pack(root, budget, query, flags=flags, format=format)
        assert first.text == second.text
        without_cache = {k: v for k, v in first.manifest.items() if k != "cache"}
        assert without_cache == {k: v for k, v in second.manifest.items() if k != "cache"}
        if "cache" in second.manifest:
            assert second.manifest["cache"]["misses"] == 0  # the warm run read nothing anew


@laws(30)
@given(
    tree=trees(),
    budget=budgets,
    arm=st.sampled_from(PERFORMANCE_ARMS),
    format=formats,
    query=queries,
)
def test_performance_variants_never_change_the_pack(
    tree: dict[str, str | bytes], budget: int, arm: str, format: str, query: str | None
) -> None:
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", tree)
        budget = max(budget, 200)
        baseline = pack(root, budget, query, flags=Flags(), format=format)
        flags = arm_flags(arm, scratch / "cache")
        for _ in range(2):  # V1: cold, then warm
            variant = pack(root, budget, query, flags=flags, format=format)
            assert variant.text == baseline.text
            assert variant.manifest["items"] == baseline.manifest["items"]
            assert variant.manifest["skipped"] == baseline.manifest["skipped"]


@pytest.mark.slow
@laws(3)
@given(tree=trees(min_files=2), budget=st.integers(300, 3000), format=formats)
def test_the_process_pool_never_changes_the_pack(
    tree: dict[str, str | bytes], budget: int, format: str
) -> None:
    """V2: analysis on a spawned process pool in small batches gives the baseline's bytes."""
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", tree)
        baseline = pack(root, budget, flags=Flags(), format=format)
        pooled = Flags(policy_v2=True, parallel_processing=True, batch_size=2)
        assert pack(root, budget, flags=pooled, format=format).text == baseline.text


@laws(20)
@given(tree=trees(), arm=st.sampled_from(ALL_ARMS), threshold=thresholds, query=queries)
def test_with_room_for_everything_every_text_file_is_packed_whole(
    tree: dict[str, str | bytes], arm: str, threshold: float, query: str | None
) -> None:
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", tree)
        result = pack(root, "1M", query, flags=arm_flags(arm, scratch / "cache", threshold))
        items = result.manifest["items"]
        assert {item["mode"] for item in items} <= {"full"}
        packed = {item["path"] for item in items}
        texts = {
            path
            for path, content in tree.items()
            if content and (isinstance(content, str) and "\x00" not in content[:8192])
        }
        assert packed == texts
        lines = lines_reader(root)
        for item in items:
            assert item["start_line"] == 1
            assert item["end_line"] == len(lines(item["path"]) or [])


@laws(25)
@given(tree=trees(), budget=st.integers(100, 4000), arm=st.sampled_from(ALL_ARMS))
def test_a_streamed_pack_is_the_assembled_pack(
    tree: dict[str, str | bytes], budget: int, arm: str
) -> None:
    """pack_to writes exactly the text pack returns, whatever the arm (V3 streams it)."""
    import io

    from packrepo import pack_to

    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", tree)
        flags = arm_flags(arm, scratch / "cache")
        out = io.StringIO()
        manifest = pack_to(root, budget, out, flags=flags)
        again = pack(root, budget, flags=flags)
        assert out.getvalue() == again.text
        assert manifest["items"] == again.manifest["items"]
        assert os.path.basename(root) == manifest["root"]


@laws(30)
@given(format=st.text(max_size=8).filter(lambda name: name not in FORMATS))
def test_an_unknown_format_is_refused_by_name(format: str) -> None:
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", {"a.py": "x = 1\n"})
        message = rf"^format must be one of markdown, xml, got {re.escape(repr(format))}$"
        with pytest.raises(PackError, match=message):
            pack(root, 100, format=format)


def whole_block_tokens(root: Path, path: str, renderer: Renderer) -> int | None:
    """Tokens of ``path`` rendered whole, or None if the scan skips it."""
    data = (root / path).read_bytes()
    if not data or b"\x00" in data[:8192] or has_binary_suffix(path):
        return None
    text = decode(data).text
    lines = text.split("\n")[:-1]
    segment = Segment(1, len(lines), "full", 0.0, 0)
    block = Block(path, (segment,), longest_backtick_run(text), 0)
    return PUBLIC.count(renderer.block(block, [line + "\n" for line in lines]))


@laws(40)
@given(tree=trees(min_files=2), budget=st.integers(60, 3000), format=formats)
def test_no_file_left_out_of_a_baseline_pack_would_still_fit(
    tree: dict[str, str | bytes], budget: int, format: str
) -> None:
    """The greedy pass and the top-up leave no whole file that fits in the slack."""
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", tree)
        try:
            result = pack(root, budget, flags=Flags(), format=format)
        except BudgetError:
            return
        packed = {item["path"] for item in result.manifest["items"]}
        slack = budget - result.tokens
        renderer = Renderer(format, root.name)
        for path in sorted(set(tree) - packed):
            tokens = whole_block_tokens(root, path, renderer)
            assert tokens is None or tokens > slack, (path, tokens, slack)


@laws(20)
@given(
    before=st.integers(0, 3),
    after=st.integers(1, 3),
    brk=st.sampled_from(AMBIGUOUS_BREAKS),
    arm=st.sampled_from(ALL_ARMS),
)
@example(before=1, after=2, brk="\x0c", arm="baseline")
def test_lines_are_numbered_by_newlines_only(before: int, after: int, brk: str, arm: str) -> None:
    text = "".join(f"x{n} = {n}\n" for n in range(before)) + f"{brk}\n"
    text += "".join(f"y{n} = {n}\n" for n in range(after))
    with scratch_dir() as scratch:
        root = write_tree(scratch / "repo", {"page.py": text})
        checked_pack(root, 2000, None, arm_flags(arm, scratch / "cache"), "markdown")
