"""The benchmark corpus: pinned source distributions, fetched once, verified, extracted once.

The pinned list (``benchmarks/corpus.json``) names real open-source Python
projects by exact version and the sha256 of their sdist. A session that needs
a tree calls :func:`ensure_tree`:

- the archive is fetched only when it is not already in the cache, straight from
  the package index pip is configured to use (:mod:`benchmarks.fetch`): no build,
  no code of the package runs, and the sha256 is checked as the bytes arrive,
  before the archive is opened or moved into the cache;
- it is extracted once, safely (regular files and directories only, every path
  inside the tree), and a manifest of every file's sha256 is written beside the
  tree (:mod:`benchmarks.treemanifest`);
- every later call (every run) checks the tree against its manifest and extracts
  it again when it differs, so what is measured is what was pinned.

A list may also name *local* trees (``"path"`` instead of ``"filename"`` and
``"sha256"``): the tiny handmade corpus of the test suite is such a list, so
the tests never need the network.

Cache layout under ``$PACKREPO_CORPUS_DIR`` (default ``~/.cache/packrepo/corpus``)::

    archives/<filename>                   verified sdists
    trees/<name>-<version>/               extracted roots
    trees/<name>-<version>.manifest.json  their per-file sha256 and tree digest
    prepared/...                          oracle copies, see benchmarks.oracle
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.fetch import ArchiveProgress, FetchError, download, find
from benchmarks.pipindex import IndexConfigError, index_config
from benchmarks.treemanifest import (
    TreeError,
    check_tree,
    digest_of,
    file_digests,
    manifest_path,
    sha256_file,
    write_manifest,
)
from contracts.documents import load_json, read_input
from contracts.errors import EvidenceError

CORPUS_LIST_SCHEMA = 1
CORPUS_LIST_KIND = "packrepo-corpus"
DEFAULT_CORPUS_LIST = Path(__file__).with_name("corpus.json")
CACHE_ENV = "PACKREPO_CORPUS_DIR"
# The largest pinned sdist extracts to about 30 MB; a tar bomb stops here.
MAX_EXTRACTED_BYTES = 1 << 30


class CorpusError(RuntimeError):
    """The corpus list is malformed, or a tree cannot be fetched, verified or extracted."""


@dataclass(frozen=True)
class CorpusEntry:
    """One pinned project: an sdist on the registry, or a local directory (tests)."""

    name: str
    version: str
    tokens: int
    style: str = ""
    filename: str | None = None
    sha256: str | None = None
    local_path: Path | None = None

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def key(self) -> str:
        """A file-system-safe name for this exact entry."""
        return f"{self.name}-{self.version}"

    @property
    def is_local(self) -> bool:
        return self.local_path is not None


@dataclass(frozen=True)
class Corpus:
    """A parsed corpus list, in its file order (the pinned list is smallest first)."""

    entries: tuple[CorpusEntry, ...]
    source: Path

    def __iter__(self) -> Iterator[CorpusEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, name: str) -> CorpusEntry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        known = ", ".join(e.name for e in self.entries)
        raise CorpusError(f"unknown corpus entry `{name}` (known: {known})")


def cache_dir() -> Path:
    """The corpus cache: ``$PACKREPO_CORPUS_DIR`` or ``~/.cache/packrepo/corpus``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "packrepo" / "corpus"


def load_corpus(path: Path | str = DEFAULT_CORPUS_LIST) -> Corpus:
    """Read and validate a corpus list (``schema`` 1; other versions are refused)."""
    path = Path(path)
    try:
        document = load_json(read_input(path), str(path))
    except EvidenceError as exc:
        raise CorpusError(f"corpus list {exc}") from None
    return parse_corpus(document, source=path)


def parse_corpus(document: Any, *, source: Path) -> Corpus:
    """Validate an already-decoded corpus list; local paths resolve against ``source``."""
    if not isinstance(document, dict):
        raise CorpusError(f"{source}: the corpus list must be a JSON object")
    if document.get("kind") != CORPUS_LIST_KIND:
        raise CorpusError(f"{source}: `kind` must be {CORPUS_LIST_KIND!r}")
    if document.get("schema") != CORPUS_LIST_SCHEMA:
        raise CorpusError(
            f"{source}: `schema` is {document.get('schema')!r};"
            f" this version understands {CORPUS_LIST_SCHEMA}"
        )
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise CorpusError(f"{source}: `entries` must be a non-empty list")
    entries = tuple(
        _parse_entry(raw, where=f"{source}: entries[{i}]", base=source.parent)
        for i, raw in enumerate(raw_entries)
    )
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise CorpusError(f"{source}: entry names must be unique, got {names}")
    return Corpus(entries=entries, source=source)


def _parse_entry(raw: Any, *, where: str, base: Path) -> CorpusEntry:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where} must be an object")
    for field_name in ("name", "version"):
        if not isinstance(raw.get(field_name), str) or not raw[field_name]:
            raise CorpusError(f"{where}.{field_name} must be a non-empty string")
    tokens = raw.get("tokens", 0)
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
        raise CorpusError(f"{where}.tokens must be a non-negative integer")
    common = {
        "name": raw["name"],
        "version": raw["version"],
        "tokens": tokens,
        "style": str(raw.get("style", "")),
    }
    if "path" in raw:
        if not isinstance(raw["path"], str):
            raise CorpusError(f"{where}.path must be a string")
        return CorpusEntry(**common, local_path=(base / raw["path"]).resolve())
    filename, sha256 = raw.get("filename"), raw.get("sha256")
    if not isinstance(filename, str) or not filename.endswith((".tar.gz", ".tgz")):
        raise CorpusError(f"{where}.filename must name a .tar.gz source distribution")
    if "/" in filename or "\\" in filename:
        raise CorpusError(f"{where}.filename must be a bare file name")
    if not isinstance(sha256, str) or len(sha256) != 64 or not _is_hex(sha256):
        raise CorpusError(f"{where}.sha256 must be 64 hex digits")
    return CorpusEntry(**common, filename=filename, sha256=sha256.lower())


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


# ---------------------------------------------------------------------------
# Fetch, verify, extract
# ---------------------------------------------------------------------------


def ensure_tree(
    entry_or_name: CorpusEntry | str,
    *,
    corpus: Corpus | None = None,
    cache: Path | None = None,
    progress: ArchiveProgress | None = None,
) -> Path:
    """Return the extracted root of a corpus entry, fetching and extracting it only once.

    A name is looked up in ``corpus`` (default: the pinned list). Local entries
    are returned as they are. An extracted tree is checked against its manifest
    on every call (each run starts with this check); a tree that differs from it
    is reported on stderr and extracted again from the verified archive. Raises
    :class:`CorpusError` when the archive is neither cached nor fetchable, or
    fails its hash.
    """
    return ensure_verified_tree(entry_or_name, corpus=corpus, cache=cache, progress=progress)[0]


def ensure_verified_tree(
    entry_or_name: CorpusEntry | str,
    *,
    corpus: Corpus | None = None,
    cache: Path | None = None,
    progress: ArchiveProgress | None = None,
) -> tuple[Path, str]:
    """:func:`ensure_tree`, with the tree digest its manifest records (a local tree's
    digest is computed on the spot)."""
    entry = (
        (corpus or load_corpus()).entry(entry_or_name)
        if isinstance(entry_or_name, str)
        else entry_or_name
    )
    if entry.local_path is not None:
        if not entry.local_path.is_dir():
            raise CorpusError(f"local corpus tree {entry.local_path} does not exist")
        try:
            return entry.local_path, digest_of(file_digests(entry.local_path))
        except TreeError as exc:
            raise CorpusError(f"local corpus tree {entry.local_path}: {exc}") from None
    cache = cache_dir() if cache is None else cache
    tree = cache / "trees" / entry.key
    source = f"sha256:{entry.sha256}"
    difference, tree_sha256 = check_tree(tree, source=source)
    if tree_sha256 is not None:
        return tree, tree_sha256
    if tree.exists() and not difference.unreadable:
        print(
            f"corpus: {entry.key} differs from its manifest ({difference.describe()});"
            " extracting it again",
            file=sys.stderr,
        )
    archive = ensure_archive(entry, cache=cache, progress=progress)
    return _extract(archive, entry, tree)


def ensure_archive(
    entry: CorpusEntry, *, cache: Path | None = None, progress: ArchiveProgress | None = None
) -> Path:
    """Return the verified sdist of ``entry`` in the cache, downloading it if absent.

    The download is verified while it streams and moved into the cache only if its
    sha256 is the pinned one; nothing of it is opened before that.
    """
    if entry.filename is None or entry.sha256 is None:
        raise CorpusError(f"{entry.name} is a local tree and has no archive")
    cache = cache_dir() if cache is None else cache
    archive = cache / "archives" / entry.filename
    if archive.is_file():
        _verify(archive, entry)
        return archive
    try:
        config = index_config()
        found = find(config, entry.name, entry.filename)
        archive.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".fetch-") as scratch:
            downloaded = Path(scratch) / entry.filename
            download(found, downloaded, sha256=entry.sha256, config=config, progress=progress)
            os.replace(downloaded, archive)
    except (IndexConfigError, FetchError) as exc:
        raise CorpusError(f"cannot fetch {entry.requirement}: {exc}") from None
    except OSError as exc:
        raise CorpusError(f"cannot write {archive}: {exc.strerror or exc}") from None
    return archive


def sha256_of(path: Path) -> str:
    return sha256_file(path)


def _verify(archive: Path, entry: CorpusEntry) -> None:
    actual = sha256_of(archive)
    if actual != entry.sha256:
        raise CorpusError(
            f"{archive} has sha256 {actual}, the pinned list says {entry.sha256}; "
            "delete it to fetch it again"
        )


def _extract(archive: Path, entry: CorpusEntry, tree: Path) -> tuple[Path, str]:
    """Extract into a scratch directory, move it into place, then write its manifest.

    The manifest is written last: a tree without one (cut short) is extracted again.
    """
    tree.parent.mkdir(parents=True, exist_ok=True)
    source = f"sha256:{entry.sha256}"
    with tempfile.TemporaryDirectory(dir=tree.parent, prefix=".extract-") as scratch:
        scratch_path = Path(scratch)
        _safe_extract(archive, scratch_path)
        tops = list(scratch_path.iterdir())
        root = tops[0] if len(tops) == 1 and tops[0].is_dir() else scratch_path
        _, tree_sha256 = check_tree(tree, source=source)
        if tree_sha256 is not None:
            return tree, tree_sha256  # another process extracted it meanwhile
        manifest_path(tree).unlink(missing_ok=True)
        if tree.exists():
            shutil.rmtree(tree)  # cut short, or differing from its manifest
        os.replace(root, tree)
    return tree, write_manifest(tree, source=source)


def _safe_extract(archive: Path, destination: Path) -> None:
    """Regular files and directories only, every path inside ``destination``, capped in size."""
    total = 0
    try:
        with tarfile.open(archive, "r:gz") as bundle:
            members = []
            for member in bundle.getmembers():
                if _safe_member(member, archive):
                    total += member.size
                    members.append(member)
            if total > MAX_EXTRACTED_BYTES:
                raise CorpusError(f"{archive} would extract to {total} bytes, over the cap")
            if hasattr(tarfile, "data_filter"):
                # Members checked by _safe_member, then the "data" filter on top.
                bundle.extractall(destination, members=members, filter="data")
            else:  # pragma: no cover - Python < 3.10.12 has no extraction filters
                bundle.extractall(destination, members=members)  # noqa: S202  # nosec B202
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CorpusError(f"{archive} cannot be extracted: {exc}") from None


def _safe_member(member: tarfile.TarInfo, archive: Path) -> bool:
    """Refuse path traversal; keep regular files and directories only (links and
    special files are skipped: an sdist needs neither)."""
    parts = Path(member.name).parts
    if member.name.startswith(("/", "\\")) or ".." in parts:
        raise CorpusError(f"{archive} contains an unsafe path: {member.name!r}")
    return member.isfile() or member.isdir()


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


def iter_text_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every UTF-8 text file under ``root`` (no NUL byte), in sorted path order."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            yield path, data.decode("utf-8")
        except UnicodeDecodeError:
            continue


def measure_tokens(root: Path, encoding_name: str = "cl100k_base") -> int:
    """Tokens of every text file under ``root`` (how ``tokens`` in the list was measured)."""
    import bpe_openai

    encoding = bpe_openai.get_encoding(encoding_name)
    return sum(
        len(encoding.encode(text, disallowed_special=())) for _, text in iter_text_files(root)
    )
