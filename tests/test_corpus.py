"""The corpus: the pinned list, fetching once, hash checks, safe extraction. Never the network."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
from pathlib import Path

import pytest

import benchmarks.corpus as corpus_module
from benchmarks.corpus import (
    CorpusEntry,
    CorpusError,
    ensure_archive,
    ensure_tree,
    load_corpus,
    parse_corpus,
)

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
def no_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to fetch fails at once, as on a machine without the registry."""
    failing = [sys.executable, "-c", "import sys; print('no index', file=sys.stderr); sys.exit(1)"]
    monkeypatch.setattr(corpus_module, "_pip_command", lambda: failing)


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
    tmp_path: Path, no_pip: None
) -> None:
    cache = tmp_path / "cache"
    (cache / "archives").mkdir(parents=True)
    sha = _sdist(cache / "archives" / "demo-1.0.tar.gz", {"demo-1.0/pkg/a.py": "x = 1\n"})
    entry = _entry(sha)
    tree = ensure_tree(entry, cache=cache)
    assert (tree / "pkg" / "a.py").read_text() == "x = 1\n"
    assert not any(p.name.startswith(".") for p in tree.iterdir()), "nothing added to the tree"
    (tree / "pkg" / "a.py").write_text("changed\n")
    assert ensure_tree(entry, cache=cache) == tree
    assert (tree / "pkg" / "a.py").read_text() == "changed\n", "extracted once, not again"


def test_an_archive_with_the_wrong_hash_is_refused(tmp_path: Path, no_pip: None) -> None:
    cache = tmp_path / "cache"
    (cache / "archives").mkdir(parents=True)
    _sdist(cache / "archives" / "demo-1.0.tar.gz", {"demo-1.0/a.py": "x = 1\n"})
    with pytest.raises(CorpusError, match="sha256"):
        ensure_archive(_entry("0" * 64), cache=cache)


def test_an_unfetchable_uncached_archive_is_a_clear_error(tmp_path: Path, no_pip: None) -> None:
    with pytest.raises(CorpusError, match=r"cannot fetch demo==1\.0 .*not cached in"):
        ensure_tree(_entry("0" * 64), cache=tmp_path / "empty")


def test_a_fetched_archive_is_checked_then_moved_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "served.tar.gz"
    sha = _sdist(source, {"demo-1.0/a.py": "x = 1\n"})
    # A stand-in for pip: copies the archive into the directory given after -d.
    copier = (
        "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[sys.argv.index('-d') + 1]"
        " + '/demo-1.0.tar.gz')"
    )
    monkeypatch.setattr(
        corpus_module, "_pip_command", lambda: [sys.executable, "-c", copier, str(source)]
    )
    cache = tmp_path / "cache"
    archive = ensure_archive(_entry(sha), cache=cache)
    assert archive == cache / "archives" / "demo-1.0.tar.gz"
    assert [p.name for p in archive.parent.iterdir()] == ["demo-1.0.tar.gz"]
    with pytest.raises(CorpusError, match="sha256"):
        ensure_archive(_entry("1" * 64, filename="other-1.0.tar.gz"), cache=cache)
    assert not (cache / "archives" / "other-1.0.tar.gz").exists(), "a bad download is not kept"


def test_path_traversal_in_an_archive_is_refused(tmp_path: Path, no_pip: None) -> None:
    cache = tmp_path / "cache"
    (cache / "archives").mkdir(parents=True)
    sha = _sdist(cache / "archives" / "demo-1.0.tar.gz", {"../evil.py": "x = 1\n"})
    with pytest.raises(CorpusError, match="unsafe path"):
        ensure_tree(_entry(sha), cache=cache)
    assert not (tmp_path / "cache" / "evil.py").exists()
