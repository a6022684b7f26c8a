"""The corpus: the pinned list, fetching once, hash checks, safe extraction. Never the network."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from benchmarks.corpus import (
    CorpusEntry,
    CorpusError,
    ensure_archive,
    ensure_tree,
    ensure_verified_tree,
    load_corpus,
    parse_corpus,
)
from benchmarks.oracle import tree_digest

DATA = Path(__file__).parent / "data"


def _sdist(path: Path, files: dict[str, str]) -> str:
    """Write a .tar.gz with ``files`` and return its sha256."""
    with tarfile.open(path, "w:gz") as bundle:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _entry(sha256: str, filename: str = "demo-1.0.tar.gz") -> CorpusEntry:
    return CorpusEntry(name="demo", version="1.0", tokens=1, filename=filename, sha256=sha256)


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip's configuration names one index, a local directory laid out as a simple index
    (empty until a test serves a file); no pip.conf is read and nothing may be spawned."""
    root = tmp_path / "index"
    root.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", root.as_uri())
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)

    def spawn(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the corpus fetch spawned a process: {args}")

    monkeypatch.setattr(subprocess, "Popen", spawn)
    monkeypatch.setattr(os, "system", spawn)
    return root


def _serve(index: Path, sdist: Path, sha256: str | None = None) -> None:
    """Publish ``sdist`` on the local index as project ``demo`` (PEP 503 HTML)."""
    files = index / "files"
    files.mkdir(exist_ok=True)
    shutil.copy(sdist, files / sdist.name)
    fragment = f"#sha256={sha256}" if sha256 else ""
    (index / "demo").mkdir(exist_ok=True)
    (index / "demo" / "index.html").write_text(
        f'<html><body><a href="../files/{sdist.name}{fragment}">{sdist.name}</a></body></html>'
    )


def test_the_pinned_list_has_eight_or_more_large_projects() -> None:
    corpus = load_corpus()
    assert len(corpus) >= 8
    names = [entry.name for entry in corpus]
    assert len(set(names)) == len(names)
    for entry in corpus:
        assert entry.tokens >= 250_000, entry.name
        assert entry.sha256 is not None
        assert len(entry.sha256) == 64
        assert entry.filename is not None
        assert entry.filename.endswith(".tar.gz")
    tokens = [entry.tokens for entry in corpus]
    assert tokens == sorted(tokens), "profiles take a prefix: the list is smallest first"
    assert max(tokens) > 2 * min(tokens), "the corpus mixes sizes"


def test_the_test_corpus_is_local() -> None:
    corpus = load_corpus(DATA / "corpus.json")
    assert [e.name for e in corpus] == ["shelf", "wordsmith"]
    assert all(e.is_local and ensure_tree(e).is_dir() for e in corpus)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"kind": "packrepo-corpus", "schema": 2, "entries": []}, "schema"),
        ({"kind": "other", "schema": 1, "entries": []}, "kind"),
        (
            {"kind": "packrepo-corpus", "schema": 1, "entries": [{"name": "x", "version": "1"}]},
            r"entries\[0\]\.filename",
        ),
        (
            {
                "kind": "packrepo-corpus",
                "schema": 1,
                "entries": [
                    {"name": "x", "version": "1", "filename": "x-1.tar.gz", "sha256": "abc"}
                ],
            },
            r"entries\[0\]\.sha256",
        ),
    ],
)
def test_a_malformed_list_is_refused(document: object, message: str) -> None:
    with pytest.raises(CorpusError, match=message):
        parse_corpus(document, source=Path("list.json"))


def test_a_cached_archive_is_verified_extracted_once_and_never_fetched(
    tmp_path: Path, index: Path
) -> None:
    cache = tmp_path / "cache"
    (cache / "archives").mkdir(parents=True)
    sha = _sdist(cache / "archives" / "demo-1.0.tar.gz", {"demo-1.0/pkg/a.py": "x = 1\n"})
    entry = _entry(sha)
    tree, tree_sha256 = ensure_verified_tree(entry, cache=cache)
    assert (tree / "pkg" / "a.py").read_text() == "x = 1\n"
    assert not any(p.name.startswith(".") for p in tree.iterdir()), "nothing added to the tree"
    assert (tree.parent / "demo-1.0.manifest.json").is_file(), "the manifest sits beside it"
    assert tree_sha256 == tree_digest(tree)
    marker = tree / "pkg" / "a.py"
    before = marker.stat().st_mtime_ns
    assert ensure_verified_tree(entry, cache=cache) == (tree, tree_sha256)
    assert marker.stat().st_mtime_ns == before, "an intact tree is not extracted again"


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        (lambda tree: (tree / "pkg" / "a.py").write_text("changed\n"), "1 changed (pkg/a.py)"),
        (lambda tree: (tree / "pkg" / "b.py").write_text("extra\n"), "1 added (pkg/b.py)"),
        (lambda tree: (tree / "pkg" / "a.py").unlink(), "1 removed (pkg/a.py)"),
        (lambda tree: (tree / "pkg" / "link").symlink_to("/etc"), "not a regular file"),
    ],
    ids=["edited", "added", "removed", "link"],
)
def test_a_tampered_tree_is_detected_and_extracted_again(
    tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str], tamper: Any, said: str
) -> None:
    cache = tmp_path / "cache"
    (cache / "archives").mkdir(parents=True)
    sha = _sdist(cache / "archives" / "demo-1.0.tar.gz", {"demo-1.0/pkg/a.py": "x = 1\n"})
    tree, tree_sha256 = ensure_verified_tree(_entry(sha), cache=cache)
    tamper(tree)
    assert ensure_verified_tree(_entry(sha), cache=cache) == (tree, tree_sha256)
    assert sorted(p.name for p in (tree / "pkg").iterdir()) == ["a.py"]
    assert (tree / "pkg" / "a.py").read_text() == "x = 1\n"
    err = capsys.readouterr().err
    assert "demo-1.0 differs from its manifest" in err
    assert said in err


def test_an_archive_with_the_wrong_hash_is_refused(tmp_path: Path, index: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "archives").mkdir(parents=True)
    _sdist(cache / "archives" / "demo-1.0.tar.gz", {"demo-1.0/a.py": "x = 1\n"})
    with pytest.raises(CorpusError, match="sha256"):
        ensure_archive(_entry("0" * 64), cache=cache)


def test_an_unfetchable_uncached_archive_is_a_clear_error(tmp_path: Path, index: Path) -> None:
    with pytest.raises(CorpusError, match=r"cannot fetch demo==1\.0: .* on none of the indexes"):
        ensure_tree(_entry("0" * 64), cache=tmp_path / "empty")


def test_a_fetched_archive_is_checked_then_moved_into_the_cache(
    tmp_path: Path, index: Path
) -> None:
    sdist = tmp_path / "demo-1.0.tar.gz"
    sha = _sdist(sdist, {"demo-1.0/a.py": "x = 1\n"})
    _serve(index, sdist, sha)
    cache = tmp_path / "cache"
    archive = ensure_archive(_entry(sha), cache=cache)
    assert archive == cache / "archives" / "demo-1.0.tar.gz"
    assert [p.name for p in archive.parent.iterdir()] == ["demo-1.0.tar.gz"]
    assert archive.read_bytes() == sdist.read_bytes()


def test_path_traversal_in_an_archive_is_refused(tmp_path: Path, index: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "archives").mkdir(parents=True)
    sha = _sdist(cache / "archives" / "demo-1.0.tar.gz", {"../evil.py": "x = 1\n"})
    with pytest.raises(CorpusError, match="unsafe path"):
        ensure_tree(_entry(sha), cache=cache)
    assert not (tmp_path / "cache" / "evil.py").exists()
