"""V1, V2 and V3 change how the pack is made, never what it is; the V1 cache is sound."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from packrepo import Flags, pack, pack_to
from packrepo.cache import AnalysisCache, default_cache_dir

BASELINE = Flags()


def v1(cache: Path) -> Flags:
    return Flags(policy_v2=True, aggressive_caching=True, cache_dir=str(cache))


V2 = Flags(policy_v2=True, parallel_processing=True, batch_size=3)
V3_COMPRESSED = Flags(policy_v2=True, memory_optimization=True, compression=True)
V3_REREAD = Flags(policy_v2=True, memory_optimization=True)


@pytest.mark.parametrize("budget", [800, 3000, "1M"])
def test_performance_variants_are_byte_identical_to_the_baseline(
    tiny_repo: Path, tmp_path: Path, budget: int | str
) -> None:
    baseline = pack(tiny_repo, budget, flags=BASELINE)
    assert baseline.manifest["items"]
    policy_only = Flags(policy_v2=True)
    cache = tmp_path / "cache"
    for flags in (policy_only, v1(cache), v1(cache), V2, V3_COMPRESSED, V3_REREAD):
        variant = pack(tiny_repo, budget, flags=flags)
        assert variant.text == baseline.text, flags
        assert variant.manifest["items"] == baseline.manifest["items"]


def test_v3_streams_the_same_bytes(tiny_repo: Path, tmp_path: Path) -> None:
    expected = pack(tiny_repo, 2500, flags=BASELINE)
    target = tmp_path / "out.md"
    with target.open("w", encoding="utf-8", newline="") as out:
        manifest = pack_to(tiny_repo, 2500, out, flags=V3_REREAD)
    assert target.read_text(encoding="utf-8") == expected.text
    assert manifest["tokens"] == expected.tokens


def test_v5_combination_is_deterministic(tiny_repo: Path, tmp_path: Path) -> None:
    v5 = Flags(
        policy_v2=True, aggressive_caching=True, parallel_processing=True, batch_size=4,
        memory_optimization=True, compression=True, hybrid_mode=True, adaptive_threshold=0.9,
        cache_dir=str(tmp_path / "cache"),
    )  # fmt: skip
    v4 = Flags(policy_v2=True, hybrid_mode=True, adaptive_threshold=0.9)
    cold = pack(tiny_repo, 2000, "token budget", flags=v5)
    warm = pack(tiny_repo, 2000, "token budget", flags=v5)
    plain = pack(tiny_repo, 2000, "token budget", flags=v4)
    assert cold.text == warm.text == plain.text
    assert warm.manifest["cache"]["misses"] == 0


def test_cache_warm_run_hits_and_content_change_invalidates(
    tiny_repo: Path, tmp_path: Path
) -> None:
    flags = v1(tmp_path / "cache")
    cold = pack(tiny_repo, "1M", flags=flags)
    files = cold.manifest["files_scanned"]
    assert cold.manifest["cache"]["misses"] > 0
    warm = pack(tiny_repo, "1M", flags=flags)
    assert warm.manifest["cache"] == {"hits": files, "misses": 0, "write_errors": 0}
    changed = tiny_repo / "pkg" / "mod1.py"
    changed.write_text(changed.read_text() + "\n\ndef brand_new() -> None:\n    pass\n")
    after = pack(tiny_repo, "1M", flags=flags)
    assert after.manifest["cache"]["misses"] == 1
    assert "brand_new" in after.text
    assert after.text == pack(tiny_repo, "1M", flags=BASELINE).text


def test_same_size_same_mtime_edit_is_re_analysed(tiny_repo: Path, tmp_path: Path) -> None:
    """The stat pre-check sees the edit through ctime; nothing is stuck."""
    flags = v1(tmp_path / "cache")
    pack(tiny_repo, "1M", flags=flags)
    target = tiny_repo / "README.md"
    before = target.stat()
    target.write_text(target.read_text().replace("tiny", "TINY"))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = pack(tiny_repo, "1M", flags=flags)
    assert "TINY" in after.text
    assert after.text == pack(tiny_repo, "1M", flags=BASELINE).text


def test_encoding_change_uses_other_entries(tiny_repo: Path, tmp_path: Path) -> None:
    flags = v1(tmp_path / "cache")
    pack(tiny_repo, "1M", flags=flags)
    other = pack(tiny_repo, "1M", flags=flags, encoding="o200k_base")
    assert other.manifest["cache"]["hits"] == 0
    assert other.manifest["encoding"] == "o200k_base"
    assert other.text == pack(tiny_repo, "1M", flags=BASELINE, encoding="o200k_base").text


def test_corrupt_cache_entries_are_ignored(tiny_repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    flags = v1(cache)
    expected = pack(tiny_repo, 3000, flags=flags).text
    entries = sorted(p for p in cache.rglob("*.json"))
    assert entries
    for number, entry in enumerate(entries):
        garbage = [b"", b"{not json", b'{"kind": 3}', b"[1, 2, 3]", b"\xff\xfe\x00"]
        entry.write_bytes(garbage[number % len(garbage)])
    repaired = pack(tiny_repo, 3000, flags=flags)
    assert repaired.text == expected
    assert repaired.manifest["cache"]["hits"] == 0
    again = pack(tiny_repo, 3000, flags=flags)  # the corrupt entries were rewritten
    assert again.manifest["cache"]["misses"] == 0


def test_unwritable_cache_costs_speed_not_correctness(tiny_repo: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    result = pack(tiny_repo, 3000, flags=v1(blocker))
    assert result.text == pack(tiny_repo, 3000, flags=BASELINE).text
    assert result.manifest["cache"] == {"unused": "not a private directory"}


def test_cache_directory_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert default_cache_dir({"FASTPATH_CACHE_DIR": "/x"}, None) == Path("/x")
    assert default_cache_dir({"FASTPATH_CACHE_DIR": "/x"}, "/y") == Path("/y")
    assert default_cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/packrepo")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir({}) == tmp_path / ".cache" / "packrepo"


def test_cache_entries_are_json_written_atomically(tiny_repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    pack(tiny_repo, 3000, flags=v1(cache))
    leftovers = [p for p in cache.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []
    entry = next(cache.rglob("file/*/*.json"))
    assert json.loads(entry.read_text())["kind"] in {"python", "markdown", "text", "rst"}
    assert AnalysisCache.open(cache, "cl100k_base").directory.endswith("cl100k_base")


def test_concurrent_processes_share_one_cache(tiny_repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "shared-cache"
    script = (
        "import sys, packrepo\n"
        "flags = packrepo.Flags(policy_v2=True, aggressive_caching=True, cache_dir=sys.argv[2])\n"
        "sys.stdout.write(packrepo.pack(sys.argv[1], '1M', flags=flags).text)\n"
    )
    command = [sys.executable, "-c", script, str(tiny_repo), str(cache)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs)
    expected = pack(tiny_repo, "1M", flags=BASELINE).text
    assert outputs == [expected] * 3
    warm = pack(tiny_repo, "1M", flags=v1(cache))
    assert warm.text == expected
    assert warm.manifest["cache"]["misses"] == 0  # every entry the racers wrote is whole
