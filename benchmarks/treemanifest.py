"""Per-file digest manifests of extracted trees, written beside them and checked on use.

A tree that is measured must be the tree that was verified. When a tree is made
(an sdist extracted, an oracle copy prepared) its manifest records the sha256 of
every file; each run checks the tree against it before measuring, and a tree that
differs in any way (a file edited, added or removed, a link or special file put
in) is reported and made again. The tree digest is one sha256 over the sorted
``(path, file sha256)`` pairs: the same value :func:`benchmarks.oracle.tree_digest`
has always given, so older question caches stay keyed as they were.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from contracts.documents import load_json, read_input, write_json_atomically
from contracts.errors import EvidenceError

MANIFEST_KIND = "packrepo-tree-manifest"
MANIFEST_SCHEMA = 1
MANIFEST_SUFFIX = ".manifest.json"


class TreeError(RuntimeError):
    """A tree holds something other than directories and regular files."""


@dataclass(frozen=True)
class Difference:
    """How a tree differs from its manifest (empty: it does not)."""

    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    special: str | None = None  # a link or special file found in the tree
    unreadable: str | None = None  # the manifest itself is missing or malformed

    def __bool__(self) -> bool:
        return bool(self.changed or self.added or self.removed or self.special or self.unreadable)

    def describe(self) -> str:
        if self.unreadable:
            return self.unreadable
        parts = [self.special] if self.special else []
        for label, paths in (("changed", self.changed), ("added", self.added)):
            if paths:
                parts.append(f"{len(paths)} {label} ({_examples(paths)})")
        if self.removed:
            parts.append(f"{len(self.removed)} removed ({_examples(self.removed)})")
        return ", ".join(parts)


def _examples(paths: tuple[str, ...]) -> str:
    return ", ".join(paths[:3]) + (", ..." if len(paths) > 3 else "")


def manifest_path(tree: Path) -> Path:
    """Beside the tree, never inside it: the tree holds the sdist's files and nothing else."""
    return tree.with_name(tree.name + MANIFEST_SUFFIX)


def file_digests(root: Path) -> dict[str, str]:
    """``relative posix path -> sha256`` of every file under ``root``, sorted by path.

    Links and special files are refused (:class:`TreeError`): an extracted tree
    never holds one, so one found there was put there.
    """
    digests: dict[str, str] = {}
    for directory, subdirectories, files in os.walk(root):
        base = Path(directory)
        for name in [*subdirectories, *files]:
            path = base / name
            mode = path.lstat().st_mode
            if stat.S_ISDIR(mode):
                continue
            relative = path.relative_to(root).as_posix()
            if not stat.S_ISREG(mode):
                raise TreeError(f"{relative} is not a regular file")
            digests[relative] = sha256_file(path)
    return dict(sorted(digests.items()))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def digest_of(files: dict[str, str]) -> str:
    """One sha256 over the sorted (path, file digest) pairs: the tree digest."""
    digest = hashlib.sha256()
    for relative in sorted(files):
        digest.update(relative.encode() + b"\0")
        digest.update(bytes.fromhex(files[relative]))
    return digest.hexdigest()


def write_manifest(tree: Path, *, source: str) -> str:
    """Record every file of ``tree`` beside it; returns the tree digest.

    ``source`` says what the tree was made from (the sdist's sha256, say).
    """
    files = file_digests(tree)
    tree_sha256 = digest_of(files)
    document = {
        "schema": MANIFEST_SCHEMA,
        "kind": MANIFEST_KIND,
        "source": source,
        "tree_sha256": tree_sha256,
        "files": files,
    }
    write_json_atomically(manifest_path(tree), document)
    return tree_sha256


@dataclass(frozen=True)
class Manifest:
    source: str
    tree_sha256: str
    files: dict[str, str]


def read_manifest(tree: Path) -> Manifest:
    where = manifest_path(tree)
    try:
        document = load_json(read_input(where), str(where))
    except (EvidenceError, OSError) as exc:
        raise TreeError(f"no readable manifest ({exc})") from None
    if not isinstance(document, dict) or document.get("kind") != MANIFEST_KIND:
        raise TreeError(f"{where} is not a tree manifest")
    if document.get("schema") != MANIFEST_SCHEMA:
        raise TreeError(f"{where} has schema {document.get('schema')!r}")
    files, source, tree_sha256 = (
        document.get("files"),
        document.get("source"),
        document.get("tree_sha256"),
    )
    if not (
        isinstance(files, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
        and isinstance(source, str)
        and isinstance(tree_sha256, str)
    ):
        raise TreeError(f"{where} is malformed")
    return Manifest(source, tree_sha256, files)


def check_tree(tree: Path, *, source: str) -> tuple[Difference, str | None]:
    """Compare ``tree`` with its manifest: the difference, and the tree digest when equal.

    A manifest made from another ``source`` counts as a difference too.
    """
    try:
        manifest = read_manifest(tree)
    except TreeError as exc:
        return Difference(unreadable=str(exc)), None
    if manifest.source != source:
        return Difference(unreadable=f"made from {manifest.source}, not {source}"), None
    if not tree.is_dir():
        return Difference(unreadable="the tree is missing"), None
    try:
        actual = file_digests(tree)
    except TreeError as exc:
        return Difference(special=str(exc)), None
    except OSError as exc:
        return Difference(unreadable=str(exc)), None
    expected = manifest.files
    difference = Difference(
        changed=tuple(p for p in actual if p in expected and actual[p] != expected[p]),
        added=tuple(p for p in actual if p not in expected),
        removed=tuple(p for p in expected if p not in actual),
    )
    if difference or digest_of(actual) != manifest.tree_sha256:
        return difference or Difference(unreadable="the manifest's digest is wrong"), None
    return difference, manifest.tree_sha256
