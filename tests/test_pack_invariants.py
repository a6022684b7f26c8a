"""The hard invariants: the budget, determinism, and a manifest that agrees with the text."""

from __future__ import annotations

import re
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packrepo import Flags, PackResult, pack
from packrepo.tokens import load_counter

BASELINE = Flags()
HYBRID = Flags(policy_v2=True, hybrid_mode=True)


def assert_items_appear_verbatim(result: PackResult, root: Path) -> None:
    """Every line of every item is in the text, in order, as the file has it."""
    position = 0
    for item in result.manifest["items"]:
        lines = (root / item["path"]).read_text(encoding="utf-8", errors="replace").splitlines()
        wanted = "\n".join(lines[item["start_line"] - 1 : item["end_line"]]) + "\n"
        found = result.text.find(wanted, position)
        assert found >= 0, (item, wanted[:200])
        position = found + len(wanted) - 1


_FILE_TEXT = st.lists(
    st.sampled_from([*"abc xyz_():=\n\n\t`#é☕<>&]", "<|endoftext|>", "```", "\r\n", "def f"]),
    max_size=200,
).map("".join)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # fmt: skip
@given(
    files=st.dictionaries(
        st.sampled_from(["a.py", "b.md", "c.txt", "d/e.py", "d/f.rst", "g/h/i.js", "README.md"]),
        _FILE_TEXT,
        min_size=1,
    ),
    budget=st.integers(min_value=40, max_value=1500),
    hybrid=st.booleans(),
    markdown=st.booleans(),
)
def test_pack_never_exceeds_the_budget(
    files: dict[str, str], budget: int, hybrid: bool, markdown: bool
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        result = pack(
            root, budget, "abc xyz" if hybrid else None,
            flags=HYBRID if hybrid else BASELINE, format="markdown" if markdown else "xml",
        )  # fmt: skip
        exact = load_counter("cl100k_base").count_piece(result.text)
        assert exact == result.tokens <= budget
        if markdown:
            assert_items_appear_verbatim(result, root)


def test_fills_the_budget_when_the_tree_is_larger(tiny_repo: Path) -> None:
    for flags in (BASELINE, HYBRID):
        whole = pack(tiny_repo, "1M", flags=flags)
        budget = whole.tokens // 2
        result = pack(tiny_repo, budget, "token budget", flags=flags)
        assert 0.9 * budget <= result.tokens <= budget


@pytest.mark.smoke
def test_same_input_gives_byte_identical_output(tiny_repo: Path) -> None:
    for flags in (BASELINE, HYBRID):
        first = pack(tiny_repo, 3000, "step value", flags=flags)
        second = pack(tiny_repo, 3000, "step value", flags=flags)
        assert first.text == second.text
        assert first.manifest == second.manifest
        assert first.manifest["items"]


def test_manifest_agrees_with_the_text(tiny_repo: Path) -> None:
    result = pack(tiny_repo, 4000, flags=BASELINE)
    manifest = result.manifest
    assert manifest["encoding"] == "cl100k_base"
    assert manifest["budget"] == 4000
    assert manifest["tokens"] == result.tokens
    assert set(manifest) >= {"items", "skipped", "flags", "tokens", "encoding", "budget"}
    header = load_counter("cl100k_base").count_piece(result.text.split("### ", 1)[0])
    assert sum(item["tokens"] for item in manifest["items"]) + header == result.tokens
    assert_items_appear_verbatim(result, tiny_repo)
    paths = [item["path"] for item in manifest["items"]]
    assert paths == sorted(paths)  # emission order
    headings = re.findall(r"^### (\S+) \(lines ", result.text, flags=re.MULTILINE)
    assert headings == paths


def test_whole_tree_fits_and_every_file_is_full(tiny_repo: Path) -> None:
    result = pack(tiny_repo, "200k", flags=BASELINE)
    files = sorted(p.relative_to(tiny_repo).as_posix() for p in tiny_repo.rglob("*") if p.is_file())
    assert [item["path"] for item in result.manifest["items"]] == files
    assert {item["mode"] for item in result.manifest["items"]} == {"full"}


def test_fence_outgrows_backticks_in_the_content(tmp_path: Path) -> None:
    (tmp_path / "doc.md").write_text("Example:\n\n`````\ncode\n`````\n")
    text = pack(tmp_path, 1000, flags=BASELINE).text
    assert "``````markdown\n" in text
    assert text.count("``````\n") == 1


def test_xml_format_parses_and_keeps_code_verbatim(tmp_path: Path) -> None:
    source = 'if a < b and c & d:\n    s = "]]>"\n    t = "<![CDATA["\n'
    (tmp_path / "x.py").write_text(source)
    (tmp_path / 'we"ird&.md').write_text("# T\n")
    result = pack(tmp_path, 1000, flags=BASELINE, format="xml")
    root = ElementTree.fromstring(result.text)
    files = {f.get("path"): f for f in root.iter("file")}
    assert set(files) == {"x.py", 'we"ird&.md'}
    lines = files["x.py"].find("lines")
    assert lines is not None
    assert lines.text == "\n" + source
    assert lines.get("mode") == "full"
    assert lines.get("from") == "1"
    assert lines.get("to") == "3"


def test_special_token_text_is_counted_as_plain_text(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("<|endoftext|>\n" * 50)
    result = pack(tmp_path, 2000, flags=BASELINE)
    assert result.text.count("<|endoftext|>") == 50
    assert load_counter("cl100k_base").count_piece(result.text) == result.tokens <= 2000
