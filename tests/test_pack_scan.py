"""Scanning: hostile trees are survived, .gitignore is honoured the way git does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from packrepo import Flags, pack
from packrepo import pipeline as pipeline_module
from packrepo.reading import FileSkipped
from packrepo.scan import ScannedFile, scan

BASELINE = Flags()


@pytest.mark.smoke
def test_hostile_tree_is_packed_and_every_hazard_skipped(hostile_tree: Path) -> None:
    result = pack(hostile_tree, "50k", flags=BASELINE)
    packed = {item["path"] for item in result.manifest["items"]}
    deep = "/".join(f"d{level}" for level in range(120)) + "/bottom.md"
    assert packed == {"ok.py", "latin1.txt", deep}
    skipped = result.manifest["skipped"]
    assert skipped["symlink_outside_root"] == 1
    assert skipped["symlink_broken"] == 3  # loop_a, loop_b, dangling
    assert skipped["symlink_dir"] == 1
    assert skipped["binary"] == 1
    assert skipped["oversize"] == 1
    assert skipped["empty"] == 1
    assert "SECRET-OUTSIDE-ROOT" not in result.text
    assert "caf\ufffd cr\ufffdme" in result.text  # invalid UTF-8 survives as U+FFFD
    assert result.manifest["files_with_replacement_chars"] == 1


def test_binary_content_without_a_binary_suffix_is_sniffed(tmp_path: Path) -> None:
    (tmp_path / "blob.txt").write_bytes(b"text then \x00 a NUL byte")
    (tmp_path / "fine.txt").write_text("fine\n")
    result = pack(tmp_path, 1000, flags=BASELINE)
    assert [item["path"] for item in result.manifest["items"]] == ["fine.txt"]
    assert result.manifest["skipped"] == {"binary": 1}


def test_symlink_inside_the_root_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text("x = 1\n")
    (tmp_path / "alias.py").symlink_to(tmp_path / "real.py")
    assert [f.path for f in scan(str(tmp_path)).files] == ["alias.py", "real.py"]


def test_unreadable_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads any mode bits, so the failing read is injected at the I/O edge."""
    (tmp_path / "secret.py").write_text("x = 1\n")
    (tmp_path / "open.py").write_text("y = 2\n")
    real_read = pipeline_module.read_scanned

    def refusing_read(scanned: ScannedFile, limit: int) -> bytes:
        if scanned.path == "secret.py":
            raise FileSkipped("unreadable")
        return real_read(scanned, limit)

    monkeypatch.setattr(pipeline_module, "read_scanned", refusing_read)
    result = pack(tmp_path, 1000, flags=BASELINE)
    assert [item["path"] for item in result.manifest["items"]] == ["open.py"]
    assert result.manifest["skipped"] == {"unreadable": 1}


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a file whatever its mode bits")
def test_unreadable_file_by_permissions(tmp_path: Path) -> None:
    secret = tmp_path / "secret.py"
    secret.write_text("x = 1\n")
    secret.chmod(0)
    assert pack(tmp_path, 1000, flags=BASELINE).manifest["skipped"] == {"unreadable": 1}


def test_unsupported_file_names_are_skipped(tmp_path: Path) -> None:
    os.close(
        os.open(os.path.join(os.fsencode(tmp_path), b"bad\xffname.py"), os.O_CREAT | os.O_WRONLY)
    )
    (tmp_path / "line\nbreak.py").write_text("x = 1\n")
    (tmp_path / "good.py").write_text("x = 1\n")
    result = scan(str(tmp_path))
    assert [f.path for f in result.files] == ["good.py"]
    assert result.skipped == {"unsupported_name": 2}


def write(root: Path, relative: str, text: str = "content\n") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_gitignore_nested_negation_and_directories(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.log\n!keep.log\nbuild/\n/top_only.txt\n")
    for name in ("a.log", "keep.log", "build/out.py", "top_only.txt", "sub/top_only.txt"):
        write(tmp_path, name)
    write(tmp_path, "sub/.gitignore", "*.py\n!important.py\nkeep.log\n")
    for name in ("sub/x.py", "sub/important.py", "sub/keep.log", "sub/deeper/y.py"):
        write(tmp_path, name)
    write(tmp_path, "sub/deeper/.gitignore", "!y.py\n")
    write(tmp_path, ".git/config", "[core]\n")
    write(tmp_path, "pkg/__pycache__/m.cpython-311.pyc", "x")
    paths = [f.path for f in scan(str(tmp_path)).files]
    assert paths == [
        ".gitignore",
        "keep.log",
        "sub/.gitignore",
        "sub/deeper/.gitignore",
        "sub/deeper/y.py",
        "sub/important.py",
        "sub/top_only.txt",
    ]


def test_file_inside_an_ignored_directory_cannot_be_re_included(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "vendor/\n!vendor/keep.py\n")
    write(tmp_path, "vendor/keep.py")
    write(tmp_path, "main.py")
    assert [f.path for f in scan(str(tmp_path)).files] == [".gitignore", "main.py"]


def test_scanning_a_file_or_nothing_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.py")
    with pytest.raises(ValueError, match="not a directory"):
        pack(tmp_path / "a.py", 100, flags=BASELINE)
    with pytest.raises(ValueError, match="no such directory"):
        pack(tmp_path / "missing", 100, flags=BASELINE)


def test_an_unparsable_gitignore_pattern_is_skipped_as_git_does(tmp_path: Path) -> None:
    """black's sdist ships a .gitignore holding a lone ``!``; git ignores that line."""
    (tmp_path / ".gitignore").write_text("!\n*.log\n")
    (tmp_path / "kept.py").write_text("x = 1\n")
    (tmp_path / "dropped.log").write_text("noise\n")
    paths = [entry.path for entry in scan(str(tmp_path)).files]
    assert "kept.py" in paths
    assert "dropped.log" not in paths
