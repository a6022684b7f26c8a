"""R4 shadow traffic: the manifest check, the seeded requests, the judging, the artifact,
and a short run of real arm workers on the handmade corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import shadow
from benchmarks.shadow import (
    POOL_WEIGHT,
    ArmReport,
    PackOutcome,
    PackRequest,
    RepositoryPool,
    ShadowError,
    Subtree,
    choose_subtrees,
    draw_requests,
    file_lines,
    judge,
    manifest_problems,
    subtree_sizes,
    variant_weights,
)
from contracts.names import SHADOW_FILE
from gates.load import evidence_from_files
from packrepo import Flags, pack
from packrepo.tokens import load_counter

REPOSITORY = Path(__file__).resolve().parent.parent
TINY_CORPUS = REPOSITORY / "tests" / "data" / "corpus.json"
COUNT = load_counter("cl100k_base").count


def lines_of(root: Path) -> shadow.LinesOf:
    def read(relative: str) -> list[str] | None:
        path = root / relative
        return file_lines(path.read_bytes()) if path.is_file() else None

    return read


# --- the manifest check --------------------------------------------------------------------


def test_file_lines_follow_the_packers_contract() -> None:
    assert file_lines(b"a\r\nb\rc") == ["a\n", "b\n", "c\n"]
    assert file_lines("\ufeffé\n".encode()) == ["é\n"]
    assert file_lines(b"\xff\n") == ["\ufffd\n"]
    assert file_lines(b"page\x0cbreak\n") == ["page\x0cbreak\n"]  # \n only ends a line
    assert file_lines(b"") == []


@pytest.mark.parametrize("format", ["markdown", "xml"])
def test_a_real_pack_has_no_problems(tiny_repo: Path, format: str) -> None:
    for flags in (Flags(), Flags(policy_v2=True, hybrid_mode=True)):
        result = pack(tiny_repo, 1500, "token budget", flags=flags, format=format)
        assert result.manifest["items"]
        problems = manifest_problems(
            result.text, result.manifest, count=COUNT, lines_of=lines_of(tiny_repo)
        )
        assert problems == ()


def _tampered(tiny_repo: Path) -> tuple[str, dict[str, object]]:
    result = pack(tiny_repo, 1500, flags=Flags())
    return result.text, json.loads(json.dumps(result.manifest))


def _problems(text: str, manifest: dict[str, object], root: Path) -> tuple[str, ...]:
    return manifest_problems(text, manifest, count=COUNT, lines_of=lines_of(root))


def test_every_kind_of_disagreement_is_named(tiny_repo: Path) -> None:
    text, manifest = _tampered(tiny_repo)
    items = manifest["items"]
    assert isinstance(items, list)

    wrong_tokens = {**manifest, "tokens": manifest["tokens"] + 1}  # type: ignore[operator]
    assert any("the text counts" in p for p in _problems(text, wrong_tokens, tiny_repo))

    reordered = {**manifest, "items": list(reversed(items))}
    assert any("out of order" in p for p in _problems(text, reordered, tiny_repo))

    past_end = {**manifest, "items": [{**items[0], "end_line": 10_000}, *items[1:]]}
    assert any("runs past the file" in p for p in _problems(text, past_end, tiny_repo))

    shifted = {**manifest, "items": [{**items[0], "start_line": 2}, *items[1:]]}
    assert _problems(text, shifted, tiny_repo)

    packed = {**manifest, "files_packed": 0}
    assert any("files_packed" in p for p in _problems(text, packed, tiny_repo))

    over = {**manifest, "items": [{**items[0], "tokens": items[0]["tokens"] + 5}, *items[1:]]}
    assert any("items claim" in p for p in _problems(text, over, tiny_repo))

    broken = {**manifest, "items": [{"path": 3}, *items[1:]]}
    assert any("malformed" in p for p in _problems(text, broken, tiny_repo))

    missing = {**manifest, "items": [{**items[0], "path": "nope.py"}]}
    assert any("cannot be read" in p for p in _problems(text, missing, tiny_repo))

    not_a_list = {**manifest, "items": {}}
    assert "items is not a list" in _problems(text, not_a_list, tiny_repo)

    assert _problems(text.replace("```", "~~~", 1), manifest, tiny_repo)


# --- requests ------------------------------------------------------------------------------


def _tree(root: Path) -> Path:
    for relative, size in {"a/x.py": 10, "a/b/y.py": 20, "a/b/z.md": 5, "c/big.txt": 900}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
    return root


def test_subtree_sizes_sum_files_and_bytes_below_each_directory(tmp_path: Path) -> None:
    sizes = subtree_sizes(_tree(tmp_path))
    assert sizes["a/b"] == (2, 25)
    assert sizes["a"] == (3, 35)
    assert sizes["c"] == (1, 900)
    assert sizes[""] == (4, 935)


def test_subtrees_are_small_seeded_and_never_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path)
    monkeypatch.setattr(shadow, "MAX_SUBTREE_BYTES", 100)
    chosen = choose_subtrees("r", root, subtree_sizes(root), seed=1, count=5)
    assert [s.relative for s in chosen] == ["a", "a/b"]  # c is too large, the root excluded
    assert chosen[0] == Subtree("r", "a", str(root / "a"), 3, 35)
    one = choose_subtrees("r", root, subtree_sizes(root), seed=1, count=1)
    assert one == choose_subtrees("r", root, subtree_sizes(root), seed=1, count=1)


def _pools() -> list[RepositoryPool]:
    subtrees = tuple(Subtree("r", f"d{i}", f"/t/d{i}", 1, 10) for i in range(4))
    return [RepositoryPool("r", subtrees, ("How are items priced?", "What is stored?"))]


def test_requests_are_seeded_and_follow_the_weights() -> None:
    weights = {"V1": 1.0, "V2": POOL_WEIGHT, "V4": 0.0}
    first = draw_requests(_pools(), weights, 2000, seed=7)
    assert first == draw_requests(_pools(), weights, 2000, seed=7)
    assert first != draw_requests(_pools(), weights, 2000, seed=8)
    assert [r.index for r in first] == list(range(2000))
    counts = {name: sum(r.variant == name for r in first) for name in weights}
    assert counts["V4"] == 0
    assert 0 < counts["V2"] < 0.1 * counts["V1"]
    assert all(shadow.MIN_BUDGET <= r.budget <= shadow.MAX_BUDGET for r in first)
    assert {r.format for r in first} == {"markdown", "xml"}
    assert None in {r.query for r in first}
    assert 0 < sum(r.replay for r in first) < 0.1 * len(first)


def test_requests_need_a_pool_and_a_candidate() -> None:
    with pytest.raises(ShadowError, match="no repository has a sub-tree"):
        draw_requests([RepositoryPool("r", (), ())], {"V1": 1.0}, 10, seed=1)
    with pytest.raises(ShadowError, match="no candidate variant"):
        draw_requests(_pools(), {}, 10, seed=1)


def test_only_a_pool_without_a_cache_is_down_weighted() -> None:
    weights = variant_weights(
        {
            "V1": {"FASTPATH_AGGRESSIVE_CACHING": "1"},
            "V2": {"FASTPATH_PARALLEL_PROCESSING": "1"},
            "V5": {"FASTPATH_PARALLEL_PROCESSING": "1", "FASTPATH_AGGRESSIVE_CACHING": "1"},
        }
    )
    assert weights == {"V1": 1.0, "V2": POOL_WEIGHT, "V5": 1.0}


# --- judging -------------------------------------------------------------------------------


def _request(index: int, variant: str, *, replay: bool = False) -> PackRequest:
    return PackRequest(index, "r", "d", "/t/d", 100, None, "markdown", variant, replay)


def _ok(index: int, sha: str = "s", **changes: object) -> PackOutcome:
    fields: dict[str, object] = {
        "index": index, "status": "ok", "sha256": sha, "manifest_sha256": "m",
        "budget": 100, "recount": 90,
    }  # fmt: skip
    fields.update(changes)
    return PackOutcome(**fields)  # type: ignore[arg-type]


def test_judge_counts_each_violation_once_and_identity_only_where_promised() -> None:
    requests = [
        _request(0, "V1"),
        _request(1, "V1"),
        _request(2, "V4"),
        _request(3, "V4", replay=True),
        _request(4, "V1"),
        _request(5, "V4"),
        _request(6, "V1"),
    ]
    baseline = {r.index: _ok(r.index) for r in requests}
    baseline[6] = PackOutcome(6, "crash", error="boom")
    variants = {
        0: _ok(0, sha="other"),  # V1 must match: mismatch
        1: _ok(1, recount=101),  # over budget
        2: _ok(2, sha="other", problems=("items[0] ...",)),  # V4 may differ; bad manifest
        3: _ok(3, replay_digest="x/y"),  # nondeterministic
        4: PackOutcome(4, "refused", error="too small"),  # refused alone: a crash
        5: PackOutcome(5, "crash", error="ValueError: no"),
        6: _ok(6),
    }
    outcomes = {"baseline": baseline, "V1": variants, "V4": variants}
    base, reports = judge(requests, outcomes, baseline="baseline", must_match=frozenset({"V1"}))
    assert base.requests == 7
    assert base.violations["crash"] == 1
    v1, v4 = reports["V1"], reports["V4"]
    assert (v1.requests, v4.requests) == (4, 3)
    assert v1.violations == {"mismatch": 1, "over_budget": 1, "crash": 1}
    assert v4.violations == {"invalid_manifest": 1, "nondeterministic": 1, "crash": 1}
    assert v4.differs_from_baseline == 1
    assert not v1.clean
    assert v1.examples["mismatch"][0]["request"] == 0
    entry = v1.to_json()
    assert set(entry["violations"]) == set(shadow.VIOLATION_KINDS)
    assert entry["clean"] is False


def test_an_arm_without_requests_is_not_clean() -> None:
    assert not ArmReport(shadow.VIOLATION_KINDS).clean


# --- a short real run ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_setting(tmp_path_factory: pytest.TempPathFactory) -> shadow.Setting:
    return shadow.load_setting(
        REPOSITORY / "pyproject.toml",
        corpus=TINY_CORPUS,
        profile="standard",
        cache=tmp_path_factory.mktemp("corpus-cache"),
        variants="V1,V4",
        seed=None,
    )


def test_a_short_run_on_the_handmade_corpus_is_clean_and_readable_by_the_gates(
    tiny_setting: shadow.Setting, tmp_path: Path
) -> None:
    pools = shadow.pools_of(tiny_setting, per_repository=3)
    assert [pool.repository for pool in pools] == ["shelf", "wordsmith"]
    run = shadow.run_shadow(tiny_setting, 40, pools)
    assert run.baseline.clean
    assert set(run.variants) <= {"V1", "V4"}
    assert all(report.clean for report in run.variants.values()), {
        name: report.to_json() for name, report in run.variants.items()
    }
    document = shadow.shadow_document(run, tiny_setting.provenance("benchmarks.shadow"))
    assert document["requests"] == 40
    parsed = evidence_from_files({SHADOW_FILE: json.dumps(document).encode()}, None).shadow
    assert not isinstance(parsed, type(None))
    assert parsed.requests == 40  # type: ignore[union-attr]


def test_a_lane_refuses_a_worker_that_sees_other_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arm = shadow.Arm("V1", "V1", {"FASTPATH_POLICY_V2": "1", "FASTPATH_AGGRESSIVE_CACHING": "1"})
    monkeypatch.setattr(
        shadow, "expected_fastpath_env", lambda arm, cache: {"FASTPATH_POLICY_V2": "0"}
    )
    with pytest.raises(ShadowError, match="worker of arm V1 sees FASTPATH_"):
        shadow.open_lane(arm, tmp_path)


def test_the_cli_refuses_bad_input_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert shadow.main(["--requests", "0"]) == 2
    assert (
        capsys.readouterr().err == "benchmarks.shadow: error: --requests must be positive, got 0\n"
    )
    assert shadow.main(["--config", "/nonexistent/pyproject.toml"]) == 2
    assert capsys.readouterr().err.startswith("benchmarks.shadow: error: cannot read registry")
