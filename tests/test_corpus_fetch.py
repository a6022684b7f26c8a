"""Fetching the corpus: from pip's configured index, verified while streaming, no code run.

A local simple index (a temporary directory, or a loopback HTTP server for the JSON
API) stands in for the real one; no test touches the network.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.cli import main
from benchmarks.fetch import JSON_TYPE, ArchiveProgress, download, find
from benchmarks.pipindex import IndexConfig, IndexConfigError, index_config, pip_default_index

# An sdist whose build backend would leave a mark if anything ran it: pip's
# `download --no-binary` used to, to read the metadata.
HOSTILE = {
    "demo-1.0/setup.py": "import pathlib\npathlib.Path({mark!r}).write_text('ran')\n",
    "demo-1.0/pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
    'build-backend = "setuptools.build_meta"\n',
    "demo-1.0/demo/__init__.py": '"""Demo."""\n',
}


def _sdist(path: Path, files: dict[str, str]) -> str:
    with tarfile.open(path, "w:gz") as bundle:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def no_spawn(monkeypatch: pytest.MonkeyPatch) -> None:
    def spawn(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the corpus fetch spawned a process: {args}")

    monkeypatch.setattr(subprocess, "Popen", spawn)
    monkeypatch.setattr(os, "system", spawn)


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_spawn: None) -> Path:
    root = tmp_path / "index"
    (root / "demo").mkdir(parents=True)
    (root / "files").mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", root.as_uri())
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    return root


def _publish(index: Path, sdist: Path, listed_sha256: str | None) -> None:
    shutil.copy(sdist, index / "files" / sdist.name)
    fragment = f"#sha256={listed_sha256}" if listed_sha256 else ""
    (index / "demo" / "index.html").write_text(
        f'<a href="../files/{sdist.name}{fragment}">{sdist.name}</a>\n'
    )


def _corpus_list(path: Path, sha256: str) -> Path:
    entry = {"name": "demo", "version": "1.0", "filename": "demo-1.0.tar.gz", "sha256": sha256}
    path.write_bytes(orjson.dumps({"schema": 1, "kind": "packrepo-corpus", "entries": [entry]}))
    return path


def test_the_fetch_runs_no_build_backend_and_extracts_the_verified_tree(
    tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mark = tmp_path / "backend-ran"
    sdist = tmp_path / "demo-1.0.tar.gz"
    files = {name: text.format(mark=str(mark)) for name, text in HOSTILE.items()}
    sha = _sdist(sdist, files)
    _publish(index, sdist, sha)
    cache = tmp_path / "cache"
    listing = _corpus_list(tmp_path / "corpus.json", sha)
    assert main(["--corpus", str(listing), "--cache-dir", str(cache), "corpus"]) == 0
    assert not mark.exists(), "no code of the sdist ran"
    tree = cache / "trees" / "demo-1.0"
    assert sorted(p.name for p in tree.iterdir()) == ["demo", "pyproject.toml", "setup.py"]
    captured = capsys.readouterr()
    assert "corpus: fetched demo-1.0.tar.gz:" in captured.err
    assert "sha256 verified" in captured.err
    assert f"demo==1.0: {tree}" in captured.out


@pytest.mark.parametrize("listed", [True, False], ids=["listed-sha-differs", "unlisted-sha"])
def test_a_file_with_another_sha256_is_refused_and_nothing_is_left(
    tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str], listed: bool
) -> None:
    sdist = tmp_path / "demo-1.0.tar.gz"
    served = _sdist(sdist, {"demo-1.0/a.py": "x = 1\n"})
    _publish(index, sdist, served if listed else None)
    cache = tmp_path / "cache"
    listing = _corpus_list(tmp_path / "corpus.json", "ab" * 32)
    assert main(["--corpus", str(listing), "--cache-dir", str(cache), "corpus"]) == 2
    err = capsys.readouterr().err
    assert err.count("benchmarks: error:") == 1
    assert err.strip().splitlines()[-1].startswith("benchmarks: error: cannot fetch demo==1.0:")
    assert "Traceback" not in err
    assert f"sha256 {served}" in err
    assert "the pinned list says " + "ab" * 32 in err
    left = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert left == [], "no archive, scratch file or tree is left behind"


class _Index(http.server.BaseHTTPRequestHandler):
    """A PEP 691 JSON simple index serving one file, on the loopback interface."""

    archive: bytes = b""

    def do_GET(self) -> None:
        if self.path == "/simple/demo/":
            files = [{"filename": "demo-1.0.tar.gz", "url": "/files/demo-1.0.tar.gz", "hashes": {}}]
            body = orjson.dumps({"meta": {"api-version": "1.0"}, "name": "demo", "files": files})
            self._send(body, JSON_TYPE)
        elif self.path == "/files/demo-1.0.tar.gz":
            self._send(self.archive, "application/octet-stream")
        else:
            self.send_error(404)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_index(tmp_path: Path) -> Iterator[tuple[str, str]]:
    sdist = tmp_path / "demo-1.0.tar.gz"
    sha = _sdist(sdist, {"demo-1.0/a.py": "x = 1\n" * 1000})
    handler = type("Handler", (_Index,), {"archive": sdist.read_bytes()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple", sha
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_json_api_finds_the_file_and_the_progress_line_gives_its_size(
    tmp_path: Path, http_index: tuple[str, str], no_spawn: None
) -> None:
    url, sha = http_index
    # The first index does not have the project: the next one is asked.
    config = IndexConfig((str(tmp_path / "empty"), url), timeout_s=5.0)
    found = find(config, "Demo", "demo-1.0.tar.gz")
    assert found.url == url.replace("/simple", "/files/demo-1.0.tar.gz")
    lines, got = io.StringIO(), tmp_path / "got" / "demo-1.0.tar.gz"
    got.parent.mkdir()
    download(found, got, sha256=sha, config=config, progress=ArchiveProgress(lines))
    assert hashlib.sha256(got.read_bytes()).hexdigest() == sha
    text = lines.getvalue()
    assert "corpus: fetching demo-1.0.tar.gz (0.0 MB) from 127.0.0.1:" in text
    assert "corpus: fetched demo-1.0.tar.gz: 0.0 MB in" in text


def _conf(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_index_is_read_from_pip_configuration_in_pip_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("PIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "site"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user"))
    _conf(tmp_path / "site" / "pip" / "pip.conf", "[global]\nindex-url = file:///site\n")
    assert index_config().urls[0] == "file:///site"
    _conf(
        tmp_path / "user" / "pip" / "pip.conf",
        "[global]\nindex_url = file:///user-global\nextra-index-url = file:///x file:///y\n"
        "cert = /ca.pem\n[download]\nindex-url = file:///user-download\n",
    )
    config = index_config()
    assert config.urls == ("file:///user-download", "file:///x", "file:///y")
    assert config.cert == "/ca.pem"
    monkeypatch.setenv("PIP_INDEX_URL", "file:///env")
    assert index_config().urls[0] == "file:///env"
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # pip then reads no file at all
    assert index_config().urls == ("file:///env",)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(IndexConfigError, match="no-index"):
        index_config()


def test_with_nothing_configured_pip_itself_names_its_default_index() -> None:
    pytest.importorskip("pip")
    default = pip_default_index()
    assert default.startswith("https://")
    assert default.rstrip("/").endswith("/simple")


def test_corpus_capacity_prints_the_oracle_s_draw_per_repository_and_in_all(
    tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks.oracle import question_capacity

    shelf = Path(__file__).parent / "data" / "corpus" / "shelf"
    files = {
        f"demo-1.0/{p.relative_to(shelf)}": p.read_text(encoding="utf-8")
        for p in sorted(shelf.rglob("*"))
        if p.is_file()
    }
    sdist = tmp_path / "demo-1.0.tar.gz"
    sha = _sdist(sdist, files)
    _publish(index, sdist, sha)
    listing = _corpus_list(tmp_path / "corpus.json", sha)
    cache = tmp_path / "cache"
    arguments = ["--corpus", str(listing), "--cache-dir", str(cache), "corpus"]
    assert main([*arguments, "--capacity", "1,2,1000"]) == 0
    tree = cache / "trees" / "demo-1.0"
    seed = 1337  # the registry's
    expected = question_capacity(tree, "demo", seed, [1, 2, 1000])
    assert expected[:2] == [1, 2]
    assert expected[2] >= 3  # the shelf has a few eligible targets
    out = capsys.readouterr().out.splitlines()
    counts = f"1: {expected[0]}, 2: {expected[1]}, 1000: {expected[2]}"
    assert out == [
        f"demo==1.0: {tree}; questions at pool {counts}",
        f"total questions at pool {counts}",
    ]
