"""Walk a tree the way git would see it, defensively.

The walk is iterative (deep trees cannot exhaust the stack), honours ``.gitignore`` files
at every level (a deeper file overrides a shallower one, negations included, and an
ignored directory is not entered, as in git; the matching is linear-time, see
:mod:`packrepo.ignore`), and never follows a symlink out of the root.
Symlinked directories are not followed at all (the only way a walk can loop); a symlinked
file is kept only when it resolves to a regular file inside the root. Nothing here reads a
file's content except ``.gitignore`` files.
"""

from __future__ import annotations

import os
import stat
import time
from collections import Counter
from dataclasses import dataclass, field

from packrepo.errors import PackError
from packrepo.ignore import IgnoreFile, PatternError, parse_ignore_file, parse_rule
from packrepo.reading import read_small_regular
from packrepo.text import has_binary_suffix

# Version-control metadata and tool caches: never source, and often huge.
DEFAULT_IGNORED_DIRS = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
DEFAULT_MAX_FILE_BYTES = 1_000_000
# A walk longer than this is a hostile or unpackable tree: one clear error, not a hang.
DEFAULT_SCAN_SECONDS = 120.0


@dataclass(frozen=True)
class ScannedFile:
    """A regular file to analyse: its POSIX path under the root, where to read it (a link's
    resolved target), and the identity a later read must find there."""

    path: str
    abspath: str
    size: int
    mtime_ns: int = 0
    inode: int = 0
    device: int = 0
    ctime_ns: int = 0

    @property
    def signature(self) -> tuple[int, int, int, int, int]:
        """(size, mtime_ns, ctime_ns, inode, device): unchanged means the content almost
        surely is too. ctime is in it because no unprivileged call can set it back, so a
        same-size edit that restores the mtime still changes the signature."""
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode, self.device)


@dataclass(frozen=True)
class ScanResult:
    files: tuple[ScannedFile, ...]
    skipped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Ignore:
    base: str  # directory of the .gitignore, '' for the root
    rules: IgnoreFile


@dataclass(frozen=True)
class _Walk:
    root: str
    max_file_bytes: int
    deadline: float
    include: IgnoreFile | None = None  # --include: only files these patterns match
    exclude: IgnoreFile | None = None  # --exclude: as if added to the root .gitignore
    files: list[ScannedFile] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def scan(
    root: str,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    time_limit: float = DEFAULT_SCAN_SECONDS,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
) -> ScanResult:
    """List the files of ``root`` to pack, sorted by path, and count what was skipped.

    Raises PackError when the walk takes longer than ``time_limit`` seconds (a tree or a
    ``.gitignore`` too large to pack in reasonable time) or a ``.gitignore`` holds more
    patterns than :data:`packrepo.ignore.MAX_PATTERNS`. ``include`` and ``exclude`` are
    gitignore-style patterns relative to the root (``exclude`` wins; a file is included
    when it or a directory above it matches an ``include`` pattern).
    """
    real_root = os.path.realpath(root)
    if not os.path.isdir(real_root):
        raise PackError(f"{root} is not a directory")
    walk = _Walk(
        root=real_root,
        max_file_bytes=max_file_bytes,
        deadline=time.monotonic() + time_limit,
        include=_user_patterns("--include", include),
        exclude=_user_patterns("--exclude", exclude),
    )
    pending: list[tuple[str, tuple[_Ignore, ...]]] = [("", ())]
    while pending:
        if time.monotonic() > walk.deadline:
            raise PackError(
                f"scanning {root} took longer than {time_limit:g} s; pack a smaller tree"
                " or ignore more of it"
            )
        directory, ignores = pending.pop()
        pending.extend(_visit(walk, directory, ignores))
    files = tuple(sorted(walk.files, key=lambda scanned: scanned.path))
    return ScanResult(files=files, skipped=dict(sorted(walk.skipped.items())))


def _visit(
    walk: _Walk, directory: str, ignores: tuple[_Ignore, ...]
) -> list[tuple[str, tuple[_Ignore, ...]]]:
    """Classify one directory's entries; return its subdirectories to visit."""
    absdir = os.path.join(walk.root, directory)
    try:
        with os.scandir(absdir) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        walk.skipped["unreadable"] += 1
        return []
    local = _read_gitignore(absdir, directory)
    if local is not None:
        ignores = (*ignores, local)
    subdirectories = []
    for entry in entries:
        rel = f"{directory}/{entry.name}" if directory else entry.name
        reason = _classify(walk, entry, rel, ignores)
        if reason == "directory":
            subdirectories.append((rel, ignores))
        elif reason:
            walk.skipped[reason] += 1
    return subdirectories


def _classify(walk: _Walk, entry: os.DirEntry[str], rel: str, ignores: tuple[_Ignore, ...]) -> str:
    """'' when the entry was added as a file, 'directory' to descend, else a skip reason."""
    if not _is_supported_name(entry.name):
        return "unsupported_name"
    try:
        is_link = entry.is_symlink()
        is_dir = not is_link and entry.is_dir(follow_symlinks=False)
    except OSError:
        return "unreadable"
    if is_dir and entry.name in DEFAULT_IGNORED_DIRS:
        return "default_ignored"
    if _is_ignored(rel, is_dir, ignores):
        return "gitignored"
    if walk.exclude is not None and walk.exclude.decide(rel, is_dir):
        return "excluded"
    if is_dir:
        return "directory"
    if walk.include is not None and not _included(walk.include, rel):
        return "not_included"
    return _classify_file(walk, entry, rel, is_link)


def _user_patterns(option: str, patterns: tuple[str, ...]) -> IgnoreFile | None:
    if not patterns:
        return None
    rules = []
    for pattern in patterns:
        try:
            rule = parse_rule(pattern)
        except PatternError as error:
            raise PackError(f"{option} {pattern!r}: {error}") from None
        if rule is None or rule.negated:
            raise PackError(f"{option} {pattern!r} is not a pattern (blank, comment or '!')")
        rules.append(rule)
    return IgnoreFile(rules)


def _included(include: IgnoreFile, rel: str) -> bool:
    parts = rel.split("/")
    return bool(include.decide(rel, False)) or any(
        include.decide("/".join(parts[:depth]), True) for depth in range(1, len(parts))
    )


def _classify_file(walk: _Walk, entry: os.DirEntry[str], rel: str, is_link: bool) -> str:
    try:
        info = (
            _resolve_link(walk.root, entry.path) if is_link else entry.stat(follow_symlinks=False)
        )
    except _SkipEntry as skip:
        return skip.reason
    except OSError:
        return "unreadable"
    if not stat.S_ISREG(info.st_mode):
        return "not_regular"
    if info.st_size == 0:
        return "empty"
    if has_binary_suffix(rel):
        return "binary"
    if info.st_size > walk.max_file_bytes:
        return "oversize"
    where = os.path.realpath(entry.path) if is_link else entry.path
    walk.files.append(
        ScannedFile(
            rel, where, info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev, info.st_ctime_ns
        )
    )
    return ""


class _SkipEntry(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _resolve_link(root: str, path: str) -> os.stat_result:
    target = os.path.realpath(path)
    if os.path.commonpath([root, target]) != root:
        raise _SkipEntry("symlink_outside_root")
    try:
        info = os.stat(path)  # follows the link; a loop or a dangling link raises
    except OSError:
        raise _SkipEntry("symlink_broken") from None
    if stat.S_ISDIR(info.st_mode):
        raise _SkipEntry("symlink_dir")
    return info


def _is_supported_name(name: str) -> bool:
    """Names must survive UTF-8 and a one-line header: no surrogates, no control chars."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(char) < 32 or ord(char) == 127 for char in name)


def _read_gitignore(absdir: str, directory: str) -> _Ignore | None:
    data = read_small_regular(os.path.join(absdir, ".gitignore"), DEFAULT_MAX_FILE_BYTES)
    if data is None:
        return None
    lines = data.decode("utf-8", "replace").split("\n")
    try:
        rules = parse_ignore_file(lines)
    except PatternError as error:
        where = f"{directory}/.gitignore" if directory else ".gitignore"
        raise PackError(f"{where}: {error}; refusing to guess what it ignores") from None
    return _Ignore(base=directory, rules=rules)


def _is_ignored(rel: str, is_dir: bool, ignores: tuple[_Ignore, ...]) -> bool:
    """Git's rule: the deepest .gitignore with a matching pattern decides, last pattern wins."""
    ignored = False
    for ignore in ignores:
        local = rel[len(ignore.base) + 1 :] if ignore.base else rel
        decision = ignore.rules.decide(local, is_dir)
        if decision is not None:
            ignored = decision
    return ignored
