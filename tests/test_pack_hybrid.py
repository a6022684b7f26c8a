"""V4: the query steers the pack, the ladder demotes, and the import stays light."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packrepo import Flags, pack
from packrepo.chunking import python_facts
from packrepo.hybrid import ChunkStats, bm25, pagerank
from packrepo.terms import _WORD, query_term_counts, query_terms, split_identifier

V4 = Flags(policy_v2=True, hybrid_mode=True, adaptive_threshold=0.85)


def covered(result_items: list[dict[str, object]], path: str, line: int) -> bool:
    return any(
        item["path"] == path and int(item["start_line"]) <= line <= int(item["end_line"])  # type: ignore[call-overload]
        for item in result_items
    )


def targeted_line(root: Path, path: str, needle: str) -> int:
    lines = (root / path).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def test_query_pulls_the_targeted_function_into_a_tight_pack(tiny_repo: Path) -> None:
    budget = 1200  # a quarter of the tree
    line = targeted_line(tiny_repo, "pkg/budget_rules.py", "return tokens <= budget")
    with_query = pack(tiny_repo, budget, "where is the token budget enforced?", flags=V4)
    assert with_query.manifest["query_terms"] == ["token", "budget", "enforced"]
    ignored = pack(tiny_repo, budget, "where is the token budget enforced?", flags=Flags())
    assert ignored.manifest["query_terms"] == []  # the baseline never reads the query
    assert covered(with_query.manifest["items"], "pkg/budget_rules.py", line)
    other_query = pack(tiny_repo, budget, "step 3 of module 7", flags=V4)
    assert other_query.text != with_query.text
    baseline = pack(tiny_repo, budget, flags=Flags())
    assert not covered(baseline.manifest["items"], "pkg/budget_rules.py", line)


def test_query_about_a_function_brings_its_body(tiny_repo: Path) -> None:
    text = (tiny_repo / "pkg" / "mod7.py").read_text()
    name = next(line.split("(")[0][4:] for line in text.splitlines() if line.startswith("def "))
    result = pack(tiny_repo, 600, f"what does {name} compute?", flags=V4)
    chunks = [i for i in result.manifest["items"] if i["path"] == "pkg/mod7.py"]
    assert chunks
    assert any(i["mode"] in ("chunk", "full") for i in chunks)
    assert f"def {name}(" in result.text
    assert "return value" in result.text


def test_ladder_demotes_to_chunks_and_signatures(tiny_repo: Path) -> None:
    result = pack(tiny_repo, 900, "step value module", flags=V4)
    modes = {item["mode"] for item in result.manifest["items"]}
    assert "chunk" in modes or "signature" in modes
    for item in result.manifest["items"]:
        if item["mode"] == "signature":
            lines = (tiny_repo / item["path"]).read_text().splitlines()
            first = lines[item["start_line"] - 1].lstrip()
            assert first.startswith(("def ", "class ", "@", "async def", "#"))


def test_without_a_query_v4_still_packs_sensibly(tiny_repo: Path) -> None:
    result = pack(tiny_repo, 1500, flags=V4)
    assert 0.9 * 1500 <= result.tokens <= 1500
    assert result.manifest["items"][0]["path"] in {i["path"] for i in result.manifest["items"]}
    assert "README.md" in {item["path"] for item in result.manifest["items"]}


def test_identifier_splitting_and_query_terms() -> None:
    assert split_identifier("TokenCounter") == ("tokencounter", "token", "counter")
    assert split_identifier("parse_budgets") == ("parse_budget", "parse", "budget")
    assert query_terms("How does the TokenCounter count tokens?") == (
        "tokencounter", "token", "counter", "count",
    )  # fmt: skip


def test_bm25_prefers_the_rarer_term_and_the_shorter_chunk() -> None:
    chunks = {
        "both": [ChunkStats({"common": 1, "rare": 1}, 10)],
        "common": [ChunkStats({"common": 1}, 10)] * 3,
        "rare_short": [ChunkStats({"rare": 1}, 10)],
        "rare_long": [ChunkStats({"rare": 1}, 100)],
        "none": [ChunkStats({"other": 5}, 10)],
    }
    scores = bm25(chunks, ["rare", "common"])
    assert scores["both"][0] > scores["rare_short"][0]
    assert scores["rare_short"][0] > scores["common"][0] > 0  # rarer term, same length
    assert scores["rare_short"][0] > scores["rare_long"][0] > 0  # same term, shorter chunk
    assert scores["none"] == (0.0,)


def test_personalised_pagerank_flows_along_imports() -> None:
    graph = {"a.py": ("core.py",), "b.py": ("core.py",), "core.py": (), "lonely.py": ()}
    rank = pagerank(graph, {"a.py": 1.0})
    assert abs(sum(rank.values()) - 1.0) < 1e-9
    assert rank["core.py"] > rank["b.py"]
    assert rank["lonely.py"] == 0.0


def test_python_chunks_partition_the_file_with_signatures() -> None:
    source = (
        '"""Doc."""\nimport os\n\n\n@decorator\ndef f(\n    a,\n):\n'
        "    # comment\n    return a\n\n\n"
        "class C:\n    x = 1\n\n    def m(self):\n        pass\n\n    @property\n    def p(self):\n"
        "        return 2\n\n\nif __name__ == '__main__':\n    f(1)\n"
    )
    lines = source.splitlines(keepends=True)
    facts = python_facts(source, lines)
    assert facts is not None
    assert facts.has_main_guard
    assert facts.imports == ("0|os|",)
    spans = [(c.start, c.end, c.kind, c.name, c.signature) for c in facts.chunks]
    assert spans == [
        (1, 4, "module", "<module>", None),
        (5, 12, "function", "f", (5, 8)),
        (13, 15, "class", "C", (13, 13)),
        (16, 18, "method", "C.m", (16, 16)),
        (19, 23, "method", "C.p", (19, 20)),
        (24, 25, "module", "<module>", None),
    ]


def test_import_packrepo_does_not_pull_in_numpy_scipy_or_the_tokenizer() -> None:
    code = (
        "import sys, packrepo, packrepo.cli\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('numpy', 'scipy', 'bpe_openai')]\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@settings(max_examples=200, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(
            ["Token", "tokens", "_", "2", "counter", "Counters", " ", "\n", "x", "é", "SS"]
        ),
        max_size=40,
    ).map("".join),
    query=st.sampled_from(["token counter", "tokens", "x ss", "counter_token", "2x"]),
)
def test_query_term_counts_match_splitting_every_word(text: str, query: str) -> None:
    keep = frozenset(query_terms(query))
    naive = Counter(
        term for word in _WORD.findall(text) for term in split_identifier(word) if term in keep
    )
    [(counts, length)] = query_term_counts([text], keep)
    assert counts == dict(naive)
    assert length == len(text)


def test_v4_keeps_whole_files_on_a_tree_of_at_most_three_rooms(tmp_path: Path) -> None:
    """Where whole files fit, demoting them to chunks loses to the baseline (issue 15)."""
    body = "".join(
        f"def step_{n}(value):\n    \"\"\"Step {n}.\"\"\"\n" + "    value += 1\n" * 20
        + "    return value\n\n\n"
        for n in range(30)
    )  # fmt: skip
    (tmp_path / "big.py").write_text(body + "def parse_budget(text):\n    return int(text)\n")
    (tmp_path / "small.py").write_text("def helper():\n    return 1\n")
    hybrid = Flags(policy_v2=True, hybrid_mode=True)
    whole = pack(tmp_path, "1M").tokens
    small = pack(tmp_path, whole // 2, "parse budget", flags=hybrid)
    assert {item["mode"] for item in small.manifest["items"]} == {"full"}
    large = pack(tmp_path, whole // 5, "parse budget", flags=hybrid)
    assert {item["mode"] for item in large.manifest["items"]} != {"full"}


def _count_analyses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the packer's tree analyses (a recalled tree is not analysed again)."""
    from packrepo import packer

    calls: Counter[str] = Counter()
    real = packer.analyse_tree

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls["analyse"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(packer, "analyse_tree", counted)
    return calls


def test_a_second_query_reuses_the_tree_analysis_and_packs_the_same_bytes(
    tiny_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from packrepo import reuse

    calls = _count_analyses(monkeypatch)
    hybrid = Flags(policy_v2=True, hybrid_mode=True)
    reuse.forget()
    pack(tiny_repo, 1200, "token budget", flags=hybrid)
    second = pack(tiny_repo, 1200, "module step value", flags=hybrid)
    assert calls["analyse"] == 1
    reuse.forget()
    assert pack(tiny_repo, 1200, "module step value", flags=hybrid).text == second.text
    assert calls["analyse"] == 2
    (tiny_repo / "pkg" / "mod3.py").write_text("def changed():\n    return 3\n")
    changed = pack(tiny_repo, 1200, "module step value", flags=hybrid)
    assert calls["analyse"] == 3
    assert "def changed" in changed.text or "pkg/mod3.py" not in changed.text


@pytest.mark.parametrize(
    "arm",
    ["V4", "V4+V3", "V4+V3+compression", "V5"],
)
def test_every_query_aware_arm_reuses_the_tree_and_packs_the_cold_bytes(
    tiny_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arm: str
) -> None:
    from packrepo import reuse
    from packrepo.pipeline import CompressedStore, MemoryStore, RereadStore

    flags = {
        "V4": Flags(policy_v2=True, hybrid_mode=True),
        "V4+V3": Flags(policy_v2=True, hybrid_mode=True, memory_optimization=True),
        "V4+V3+compression": Flags(
            policy_v2=True, hybrid_mode=True, memory_optimization=True, compression=True
        ),
        "V5": Flags(
            policy_v2=True, hybrid_mode=True, memory_optimization=True, compression=True,
            aggressive_caching=True, parallel_processing=True, batch_size=4,
            cache_dir=str(tmp_path / "cache"),
        ),
    }[arm]  # fmt: skip
    kept = {"V4": MemoryStore, "V4+V3": RereadStore}.get(arm, CompressedStore)
    calls = _count_analyses(monkeypatch)
    reuse.forget()
    pack(tiny_repo, 1200, "token budget", flags=flags)
    assert isinstance(reuse._last.store, kept)  # V3 keeps what its store keeps, no more
    asked = [(q, b) for q in ("module step", "value") for b in (900, 1200)]
    warm = [pack(tiny_repo, b, q, flags=flags) for q, b in asked]
    assert calls["analyse"] == 1
    if flags.aggressive_caching:  # the kept tree stands for the V1 cache: every file a hit
        assert warm[0].manifest["cache"]["hits"] > 0
        assert warm[0].manifest["cache"]["misses"] == 0
    cold = []
    for q, b in asked:
        reuse.forget()
        cold.append(pack(tiny_repo, b, q, flags=flags))
    assert [p.text for p in warm] == [p.text for p in cold]
    assert [p.manifest["items"] for p in warm] == [p.manifest["items"] for p in cold]


def test_a_tree_kept_by_one_arm_is_never_recalled_by_another(tiny_repo: Path) -> None:
    from packrepo import reuse

    reuse.forget()
    pack(tiny_repo, 1200, "token budget", flags=Flags(policy_v2=True, hybrid_mode=True))
    key = reuse._last.key
    pack(tiny_repo, 1200, "token budget", flags=Flags(policy_v2=True, hybrid_mode=True,
                                                      memory_optimization=True))  # fmt: skip
    assert reuse._last.key != key  # V3 analysed afresh instead of holding the V4 texts
