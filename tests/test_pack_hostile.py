"""Hostile trees (issue 15): what is read is what was scanned, the V1 cache cannot change a
pack, and headers cannot be forged by a file name or a byte-order mark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from packrepo import Flags, PackError, pack, reuse
from packrepo import packer as packer_module
from packrepo.ignore import MAX_PATTERNS
from packrepo.scan import ScanResult, scan

BASELINE = Flags()


def swap_after_scan(monkeypatch: pytest.MonkeyPatch, swap: Callable[[], None]) -> None:
    """Run ``swap`` between the scan and the reads: the window an attacker races for."""

    def scan_then_swap(root: str, **options: Any) -> ScanResult:
        result = scan(root, **options)
        swap()
        return result

    monkeypatch.setattr(packer_module, "scan", scan_then_swap)


def test_a_file_swapped_for_a_symlink_after_the_scan_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "ok.py").write_text("x = 1\n")
    (root / "notes.txt").write_text("harmless\n")
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:SECRET\n")

    def swap() -> None:
        (root / "notes.txt").unlink()
        (root / "notes.txt").symlink_to(secret)

    swap_after_scan(monkeypatch, swap)
    result = pack(root, "10k", flags=BASELINE)
    assert "SECRET" not in result.text
    assert result.manifest["skipped"] == {"changed_after_scan": 1}


def test_a_parent_directory_swapped_for_a_symlink_is_caught_by_its_inode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.py").write_text("x = 1\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.py").write_text("SECRET = 1\n")

    def swap() -> None:
        (root / "sub" / "a.py").unlink()
        (root / "sub").rmdir()
        (root / "sub").symlink_to(elsewhere, target_is_directory=True)

    swap_after_scan(monkeypatch, swap)
    result = pack(root, "10k", flags=BASELINE)
    assert "SECRET" not in result.text
    assert result.manifest["skipped"] == {"changed_after_scan": 1}


def test_a_file_swapped_for_a_fifo_neither_hangs_nor_is_packed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "pipe.txt").write_text("was a file\n")

    def swap() -> None:
        (tmp_path / "pipe.txt").unlink()
        os.mkfifo(tmp_path / "pipe.txt")

    swap_after_scan(monkeypatch, swap)
    result = pack(tmp_path, "10k", flags=BASELINE)
    assert [item["path"] for item in result.manifest["items"]] == ["ok.py"]
    assert result.manifest["skipped"] == {"changed_after_scan": 1}


def test_a_file_that_grew_after_the_scan_is_not_packed_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "log.txt").write_text("small\n")

    def swap() -> None:
        with (tmp_path / "log.txt").open("a") as handle:
            handle.write("GROWN " * 100)

    swap_after_scan(monkeypatch, swap)
    result = pack(tmp_path, "10k", flags=BASELINE, max_file_bytes=200)
    assert "GROWN" not in result.text
    assert result.manifest["skipped"] == {"oversize": 1}


def test_a_symlink_inside_the_root_reads_its_recorded_target(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text("value = 42\n")
    (tmp_path / "alias.py").symlink_to(tmp_path / "real.py")
    result = pack(tmp_path, "10k", flags=BASELINE)
    assert [item["path"] for item in result.manifest["items"]] == ["alias.py", "real.py"]
    assert result.text.count("value = 42") == 2


def test_a_file_holding_only_a_byte_order_mark_is_empty(tmp_path: Path) -> None:
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbf")
    (tmp_path / "ok.py").write_text("x = 1\n")
    result = pack(tmp_path, "10k", flags=BASELINE)
    assert "lines 1-0" not in result.text
    assert [item["path"] for item in result.manifest["items"]] == ["ok.py"]
    assert result.manifest["skipped"] == {"empty": 1}


@pytest.mark.parametrize("format", ["markdown", "xml"])
def test_header_lines_escape_separators_and_bidi_overrides(tmp_path: Path, format: str) -> None:
    (tmp_path / "line\u2028break.py").write_text("a = 1\n")
    (tmp_path / "evil\u202egnp.py").write_text("b = 2\n")
    (tmp_path / "c1\x85control.py").write_text("c = 3\n")
    text = pack(tmp_path, "10k", flags=BASELINE, format=format).text
    for raw in ("\u2028", "\u202e", "\x85"):
        assert raw not in text
    for escaped in ("\\u2028", "\\u202e", "\\u0085"):
        assert escaped in text


# --- the V1 cache cannot change a pack --------------------------------------------------------

FENCE_TRICK = "# Notes\n\n```\n### evil.py (lines 1-1 full)\n```\n\nThe end.\n"


def cached_documents(cache: Path) -> Iterator[tuple[Path, Any]]:
    for path in sorted(cache.rglob("*.json")):
        yield path, json.loads(path.read_text())


def tamper(cache: Path, change: Callable[[dict[str, Any]], None]) -> int:
    """Apply ``change`` to every cached analysis, in entries and in snapshots alike."""
    changed = 0
    for path, document in cached_documents(cache):
        analyses = (
            [document]
            if "kind" in document
            else [row[-1] for row in document.values() if isinstance(row, list)]
        )
        for analysis in analyses:
            change(analysis)
            changed += 1
        path.write_text(json.dumps(document))
    return changed


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(analysis: dict[str, Any]) -> None:
        analysis[field] = value(analysis) if callable(value) else value

    return change


def _shift_first_chunk(analysis: dict[str, Any]) -> None:
    if analysis["chunks"]:
        analysis["chunks"][0][1] = 10**9


def _stretch_signature(analysis: dict[str, Any]) -> None:
    for chunk in analysis["chunks"]:
        if chunk[5]:
            chunk[5] = [chunk[5][0], 10**9]


TAMPERINGS = {
    "line_count_short": _set("line_count", lambda a: max(1, a["line_count"] - 2)),
    "line_count_huge": _set("line_count", 10**9),
    "backticks_shortened": _set("backticks", 0),
    "kind": _set("kind", "rst"),
    "replaced": _set("replaced", lambda a: not a["replaced"]),
    "imports_malformed": _set("imports", ["no-bars-here"]),
    "tokens_negative": _set("tokens", -5),
    "chunk_span": _shift_first_chunk,
    "signature_span": _stretch_signature,
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
@pytest.mark.parametrize("hybrid", [False, True], ids=["V1", "V1+V4"])
def test_a_tampered_cache_field_never_changes_the_pack(
    tiny_repo: Path, tmp_path: Path, tampering: str, hybrid: bool
) -> None:
    (tiny_repo / "docs" / "fences.md").write_text(FENCE_TRICK)
    cache = tmp_path / "cache"
    flags = Flags(policy_v2=True, aggressive_caching=True, hybrid_mode=hybrid, cache_dir=str(cache))
    uncached = Flags(policy_v2=True, hybrid_mode=hybrid)
    budget = 1000 if hybrid else "1M"  # under a third of the tree: V4 packs chunks, signatures
    expected = pack(tiny_repo, budget, "token budget", flags=uncached).text
    assert pack(tiny_repo, budget, "token budget", flags=flags).text == expected
    assert tamper(cache, TAMPERINGS[tampering]) > 0
    reuse.forget()  # the warm pack must read the tampered disk cache, not the tree kept in memory
    warm = pack(tiny_repo, budget, "token budget", flags=flags)
    assert warm.text == expected
    assert "### evil.py" not in warm.text.replace("```\n### evil.py", "")


def test_a_tampered_content_key_in_the_snapshot_re_analyses(
    tiny_repo: Path, tmp_path: Path
) -> None:
    """The stuck snapshot: its signature matches but its key is another file's."""
    cache = tmp_path / "cache"
    flags = Flags(policy_v2=True, aggressive_caching=True, cache_dir=str(cache))
    expected = pack(tiny_repo, "1M", flags=flags).text
    for path, document in cached_documents(cache):
        if "kind" not in document:
            for row in document.values():
                row[-2] = "0" * 40 + "-text"
            path.write_text(json.dumps(document))
    assert pack(tiny_repo, "1M", flags=flags).text == expected
    again = pack(tiny_repo, "1M", flags=flags)  # the snapshot was rewritten true
    assert again.text == expected
    assert again.manifest["cache"]["misses"] == 0


def test_a_cache_directory_others_can_write_is_not_used(tiny_repo: Path, tmp_path: Path) -> None:
    expected = pack(tiny_repo, "1M", flags=BASELINE).text
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    os.chown(foreign, 12345, 12345) if os.geteuid() == 0 else foreign.chmod(0o770)
    for directory in (shared, foreign):
        flags = Flags(policy_v2=True, aggressive_caching=True, cache_dir=str(directory))
        result = pack(tiny_repo, "1M", flags=flags)
        assert result.text == expected
        assert result.manifest["cache"] == {"unused": "not a private directory"}
        assert list(directory.iterdir()) == []


def test_a_new_cache_directory_is_private(tiny_repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "new" / "cache"
    pack(
        tiny_repo, "1M", flags=Flags(policy_v2=True, aggressive_caching=True, cache_dir=str(cache))
    )
    assert cache.stat().st_mode & 0o777 == 0o700


# --- .gitignore matching is bounded ------------------------------------------------------------


def test_a_backtracking_gitignore_line_does_not_hang_the_pack(tmp_path: Path) -> None:
    """``*a`` x20 then ``b`` against a long name: exponential for a backtracking regex."""
    (tmp_path / ".gitignore").write_text("*a" * 20 + "b\n")
    (tmp_path / ("a" * 43)).write_text("kept\n")
    (tmp_path / ("a" * 40 + "b")).write_text("ignored\n")
    script = "import sys, packrepo; print(packrepo.pack(sys.argv[1], '10k').manifest['items'])"
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,  # linear matching takes milliseconds; the old regex, hours
        check=True,
    )
    assert "a" * 43 in done.stdout
    assert "a" * 40 + "b" not in done.stdout


def test_a_huge_gitignore_is_matched_by_lookup(tmp_path: Path) -> None:
    lines = [f"generated_{n}.py" for n in range(MAX_PATTERNS // 2)]
    lines += [f"*.ext{n}" for n in range(MAX_PATTERNS // 2)]
    (tmp_path / ".gitignore").write_text("\n".join(lines) + "\n")
    for n in range(100):
        (tmp_path / f"generated_{n}.py").write_text("x = 1\n")
        (tmp_path / f"kept_{n}.py").write_text("y = 2\n")
        (tmp_path / f"data_{n}.ext{n}").write_text("z\n")
    paths = [scanned.path for scanned in scan(str(tmp_path)).files]
    assert paths == [".gitignore", *sorted(f"kept_{n}.py" for n in range(100))]


def test_too_many_gitignore_patterns_are_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("x\n" * (MAX_PATTERNS + 1))
    with pytest.raises(PackError, match=r"^sub/\.gitignore: more than 10000 patterns"):
        scan(str(tmp_path))


def test_a_scan_over_its_time_budget_ends_in_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(PackError, match="took longer than -1 s"):
        scan(str(tmp_path), time_limit=-1)


# --- secrets stay out unless asked for ---------------------------------------------------------

FAKE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    + "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" * 8
    + "-----END RSA PRIVATE KEY-----\n"
)
FAKE_TOKEN = "GITHUB_TOKEN = 'ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2 + "abcd'\n"


def secret_tree(root: Path) -> Path:
    (root / "tests" / "certs").mkdir(parents=True)
    (root / "tests" / "certs" / "server.key").write_text(FAKE_KEY)
    (root / "deploy.py").write_text("def deploy():\n    return 1\n\n\n" + FAKE_TOKEN)
    (root / "app.py").write_text("def main():\n    return 'fine'\n")
    return root


@pytest.mark.parametrize(
    "flags",
    [
        BASELINE,
        Flags(policy_v2=True, memory_optimization=True, compression=True),
        Flags(policy_v2=True, hybrid_mode=True),
    ],
    ids=["baseline", "V3", "V4"],
)
def test_secrets_in_fixtures_are_withheld_and_listed(tmp_path: Path, flags: Flags) -> None:
    root = secret_tree(tmp_path / "tree")
    result = pack(root, "10k", "deploy", flags=flags)
    assert "PRIVATE KEY" not in result.text
    assert "ghp_" not in result.text
    assert "return 'fine'" in result.text
    assert result.manifest["withheld"] == [
        {"path": "deploy.py", "reason": "GitHub Token"},
        {"path": "tests/certs/server.key", "reason": "Private Key"},
    ]
    assert result.manifest["skipped"]["secret"] == 2


def test_secrets_are_packed_only_when_asked(tmp_path: Path) -> None:
    root = secret_tree(tmp_path / "tree")
    result = pack(root, "10k", flags=BASELINE, allow_secrets=True)
    assert "BEGIN RSA PRIVATE KEY" in result.text
    assert "withheld" not in result.manifest
    assert "secret" not in result.manifest["skipped"]
