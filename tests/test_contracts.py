"""The contract layer: the one input reader and the one atomic writer."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pytest

from contracts.documents import (
    check_header,
    read_input,
    write_all_atomically,
    write_json_atomically,
)
from contracts.errors import EvidenceError, UnreadableError


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b'{"x": 1}')
    assert read_input(path) == b'{"x": 1}'


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "stream.json"
    os.mkfifo(fifo)  # made here, never a system node
    with pytest.raises(EvidenceError, match="not a regular file \\(a FIFO\\)"):
        read_input(fifo)


def test_a_directory_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="a directory"):
        read_input(tmp_path)
    with pytest.raises(UnreadableError, match="cannot read"):
        read_input(tmp_path / "missing.json")


def test_the_size_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 101)
    assert read_input(path, limit=101) == b"x" * 101
    with pytest.raises(EvidenceError, match="larger than 100 bytes"):
        read_input(path, limit=100)


def test_gzip_members_and_padding_are_read_under_one_cap(tmp_path: Path) -> None:
    path = tmp_path / "suite.json.gz"
    path.write_bytes(
        gzip.compress(b'{"a": ', mtime=0) + gzip.compress(b"1}", mtime=0) + b"\0" * 512
    )
    assert read_input(path) == b'{"a": 1}'


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        # mtime=0: the same bytes in every process (xdist collects in each worker).
        (gzip.compress(b"{}" * 1000, mtime=0)[:-12], "truncated gzip data"),
        (b"\x1f\x8b\x08\x00not gzip at all", "corrupt gzip data"),
        (gzip.compress(b"{}", mtime=0) + b"garbage", "corrupt gzip data"),
    ],
    ids=["truncated", "not-gzip", "trailing-garbage"],
)
def test_broken_gzip_is_refused(tmp_path: Path, payload: bytes, problem: str) -> None:
    path = tmp_path / "suite.json.gz"
    path.write_bytes(payload)
    with pytest.raises(EvidenceError, match=problem):
        read_input(path)


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        (True, "`schema` must be the integer 2, got True"),
        (2.0, "`schema` must be the integer 2, got 2.0"),
        (1, "unknown schema 1 \\(this version reads 2\\)"),
        (None, "`schema` must be the integer 2, got None"),
    ],
)
def test_only_the_integer_schema_matches(schema: object, problem: str) -> None:
    with pytest.raises(EvidenceError, match=problem):
        check_header({"schema": schema, "kind": "k"}, "f.json", "k", 2)
    check_header({"schema": 2, "kind": "k"}, "f.json", "k", 2)


def test_outputs_get_the_usual_mode_and_leave_no_temporary_file(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_json_atomically(tmp_path / "out.json", {"b": 1, "a": 2}, sort_keys=True)
    finally:
        os.umask(previous)
    path = tmp_path / "out.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_bytes() == b'{\n  "a": 2,\n  "b": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_special_file_is_never_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    with pytest.raises(EvidenceError, match="will not replace a FIFO"):
        write_all_atomically({fifo: b"{}", tmp_path / "other.json": b"{}"})
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert not (tmp_path / "other.json").exists(), "all or nothing"
