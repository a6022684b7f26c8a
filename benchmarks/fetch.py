"""Fetch one pinned file from a package index: find it, stream it, check its sha256.

Nothing is built and nothing of the package runs: the index's project page (the
simple API, PEP 691 JSON or PEP 503 HTML) names the file's URL, the file is
streamed to a scratch path while its sha256 is computed, and a file whose digest
is not the pinned one is deleted before anyone opens it. Indexes come from pip's
configuration (:mod:`benchmarks.pipindex`); ``file:`` URLs and local directories
laid out as a simple index work too (the tests serve one from a temporary directory).
"""

from __future__ import annotations

import hashlib
import json
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import IO

from benchmarks.pipindex import IndexConfig

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024  # the largest pinned sdist is under 20 MB
MAX_PAGE_BYTES = 64 * 1024 * 1024
_CHUNK = 1 << 16


class FetchError(RuntimeError):
    """The file is on no index, cannot be downloaded, or is not the pinned file."""


@dataclass(frozen=True)
class Found:
    url: str
    index: str
    listed_sha256: str | None
    size: int | None


def project_page(index_url: str, project: str) -> str:
    """The simple-API page of ``project`` (PEP 503 name normalisation)."""
    return index_url.rstrip("/") + "/" + re.sub(r"[-_.]+", "-", project).lower() + "/"


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (href, text)
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def _local_path(url: str) -> Path | None:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and sys.platform == "win32"):
        return Path(url)
    return None


def _open(url: str, config: IndexConfig, accept: str | None = None) -> IO[bytes]:
    local = _local_path(url)
    if local is not None:
        if local.is_dir():
            local = local / "index.html"  # as pip reads a local simple index
        try:
            return local.open("rb")
        except OSError as exc:
            raise FileNotFoundError(str(local)) from exc
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise FetchError(f"unsupported index URL scheme in {url}")
    headers = {"Accept": accept} if accept else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310  # http(s), checked
    context = ssl.create_default_context(cafile=config.cert) if config.cert else None
    try:
        response: IO[bytes] = urllib.request.urlopen(  # noqa: S310  # nosec B310  # http(s) only
            request, timeout=config.timeout_s, context=context
        )
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            raise FileNotFoundError(url) from None
        raise
    return response


def find(config: IndexConfig, project: str, filename: str) -> Found:
    """The first index of ``config`` that lists ``filename`` for ``project``."""
    problems = []
    for index in config.urls:
        page = project_page(index, project)
        try:
            with _open(page, config, ACCEPT) as response:
                body = response.read(MAX_PAGE_BYTES)
                content_type = getattr(response, "headers", {}).get("Content-Type", "")
                base = getattr(response, "url", page) or page
        except FileNotFoundError:
            problems.append(f"{_host(index)}: no such project")
            continue
        except (OSError, urllib.error.URLError) as exc:
            problems.append(f"{_host(index)}: {getattr(exc, 'reason', exc)}")
            continue
        found = _listed(body, content_type, base, filename, index)
        if found is not None:
            return found
        problems.append(f"{_host(index)}: not listed")
    raise FetchError(f"{filename} is on none of the indexes ({'; '.join(problems)})")


def _listed(body: bytes, content_type: str, base: str, filename: str, index: str) -> Found | None:
    if content_type.split(";")[0].strip() == JSON_TYPE:
        try:
            files = json.loads(body).get("files", [])
        except (ValueError, AttributeError):
            return None
        for entry in files:
            if isinstance(entry, dict) and entry.get("filename") == filename:
                size = entry.get("size")
                hashes = entry.get("hashes") or {}
                return Found(
                    urllib.parse.urljoin(base, str(entry.get("url", ""))),
                    index,
                    hashes.get("sha256"),
                    size if isinstance(size, int) else None,
                )
        return None
    anchors = _Anchors()
    anchors.feed(body.decode("utf-8", errors="replace"))
    for href, text in anchors.links:
        url, _, fragment = href.partition("#")
        if text == filename or url.rsplit("/", 1)[-1] == filename:
            listed = fragment[len("sha256=") :] if fragment.startswith("sha256=") else None
            return Found(urllib.parse.urljoin(base, url), index, listed, None)
    return None


def _host(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    return parsed.netloc or url


class ArchiveProgress:
    """One progress line per archive with its sizes, on stderr.

    On a terminal the line is redrawn as bytes arrive; elsewhere (a log, a pipe) it
    is printed when the download starts and again when it is verified.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = sys.stderr if stream is None else stream
        self._tty = self._stream.isatty()
        self._shown = 0.0

    def start(self, filename: str, total: int | None, index: str) -> None:
        self._filename, self._total, self._started = filename, total, time.monotonic()
        if not self._tty:
            size = "" if total is None else f" ({_mb(total)})"
            print(f"corpus: fetching {filename}{size} from {_host(index)}", file=self._stream)

    def advance(self, done: int) -> None:
        now = time.monotonic()
        if self._tty and now - self._shown >= 0.1:
            self._shown = now
            total = "" if self._total is None else f" of {_mb(self._total)}"
            line = f"\rcorpus: fetching {self._filename}: {_mb(done)}{total}"
            print(line, end="", file=self._stream)
            self._stream.flush()

    def finish(self, done: int) -> None:
        seconds = time.monotonic() - self._started
        line = f"corpus: fetched {self._filename}: {_mb(done)} in {seconds:.1f} s, sha256 verified"
        print(("\r\x1b[K" if self._tty else "") + line, file=self._stream, flush=True)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def download(
    found: Found,
    destination: Path,
    *,
    sha256: str,
    config: IndexConfig,
    progress: ArchiveProgress | None = None,
) -> None:
    """Stream ``found`` to ``destination``, verifying its sha256 as it arrives.

    ``destination`` must not exist; it is created exclusively and deleted again
    unless every byte arrived and the digest is ``sha256``.
    """
    if found.listed_sha256 is not None and found.listed_sha256.lower() != sha256:
        raise FetchError(
            f"{_host(found.index)} lists sha256 {found.listed_sha256} for"
            f" {found.url.rsplit('/', 1)[-1]}; the pinned list says {sha256}"
        )
    progress = progress or ArchiveProgress()
    digest, done = hashlib.sha256(), 0
    try:
        with _open(found.url, config) as response, destination.open("xb") as sink:
            length = getattr(response, "headers", {}).get("Content-Length")
            total = int(length) if length and length.isdigit() else found.size
            progress.start(destination.name, total, found.index)
            while block := response.read(_CHUNK):
                done += len(block)
                if done > MAX_ARCHIVE_BYTES:
                    raise FetchError(f"{found.url} is larger than {_mb(MAX_ARCHIVE_BYTES)}")
                digest.update(block)
                sink.write(block)
                progress.advance(done)
        if digest.hexdigest() != sha256:
            raise FetchError(
                f"{found.url} has sha256 {digest.hexdigest()}; the pinned list says {sha256}"
            )
    except BaseException as exc:
        destination.unlink(missing_ok=True)
        if isinstance(exc, (OSError, urllib.error.URLError)) and not isinstance(exc, FetchError):
            reason = getattr(exc, "reason", exc)
            raise FetchError(f"cannot download {found.url}: {reason}") from None
        raise
    progress.finish(done)
