"""Which package indexes pip would use, read from pip's own configuration.

The corpus is fetched from the index the user's pip is configured for (a mirror,
a proxy, a company index), and no index address is written into this repository.
The configuration is read as pip 23-25 reads it (``pip config list`` shows the same
values): the files ``$PIP_CONFIG_FILE``, then the site-wide ones (each of
``$XDG_CONFIG_DIRS``, default ``/etc/xdg``, then ``/etc``), then the user's
(``~/.pip/pip.conf``, then ``$XDG_CONFIG_HOME/pip/pip.conf``), then the active
environment's (``sys.prefix/pip.conf``), each overriding the one before; in each,
the ``[download]`` section overrides ``[global]``; ``PIP_*`` environment variables
override every file. ``PIP_CONFIG_FILE=/dev/null`` (``os.devnull``) skips the files.

When nothing names an index, pip's own default is asked of pip itself
(``pip download --help`` states it), so that default is not repeated here either.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess  # nosec B404  # `pip download --help` of this interpreter, no shell
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

COMMAND_SECTION = "download"  # the pip command whose settings apply to fetching an sdist
CONFIG_BASENAME = "pip.conf"
_HELP_TIMEOUT_S = 60
_DEFAULT_IN_HELP = re.compile(r"--index-url <url>.*?\(default\s+(\S+?)\)")


class IndexConfigError(RuntimeError):
    """pip is configured with no usable index, or its default cannot be asked of it."""


@dataclass(frozen=True)
class IndexConfig:
    """The indexes to try, in order (``index-url`` first, then ``extra-index-url``)."""

    urls: tuple[str, ...]
    cert: str | None = None  # a CA bundle for HTTPS (pip's `cert`)
    timeout_s: float = 15.0  # per socket operation (pip's `timeout`, default 15)
    source: str = "pip configuration"


def config_files() -> list[Path]:
    """pip's configuration files, lowest priority first (pip's ``iter_config_files``)."""
    env_file = os.environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    files = [Path(env_file)] if env_file else []
    xdg_dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files += [Path(d).expanduser() / "pip" / CONFIG_BASENAME for d in xdg_dirs.split(os.pathsep)]
    files.append(Path("/etc") / CONFIG_BASENAME)
    if not (env_file and Path(env_file).exists()):
        home = Path.home()
        config_home = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
        files += [home / ".pip" / CONFIG_BASENAME, Path(config_home) / "pip" / CONFIG_BASENAME]
    files.append(Path(sys.prefix) / CONFIG_BASENAME)
    return files


def _normalise(key: str) -> str:
    return key.lower().replace("_", "-")


def read_settings(files: list[Path] | None = None) -> dict[str, str]:
    """The effective ``key -> value`` of pip's settings that matter for a download."""
    settings: dict[str, str] = {}
    for path in config_files() if files is None else files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise IndexConfigError(f"pip configuration {path} is unreadable: {exc}") from None
        for section in ("global", COMMAND_SECTION):
            if parser.has_section(section):
                settings.update((_normalise(k), v) for k, v in parser.items(section))
    for name, value in os.environ.items():
        if name.startswith("PIP_") and name != "PIP_CONFIG_FILE":
            settings[_normalise(name[4:])] = value
    return settings


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def index_config(settings: dict[str, str] | None = None) -> IndexConfig:
    """The configured indexes, with pip's own default first when none is configured."""
    settings = read_settings() if settings is None else settings
    if _true(settings.get("no-index")):
        raise IndexConfigError(
            "pip is configured with no-index, so the corpus cannot be fetched; "
            "unset PIP_NO_INDEX / no-index, or put the sdists in the corpus cache"
        )
    primary = settings.get("index-url", "").strip()
    source = "pip configuration"
    if not primary:
        primary, source = pip_default_index(), "pip's default index"
    extra = settings.get("extra-index-url", "").split()
    try:
        timeout = float(settings.get("timeout") or settings.get("default-timeout") or 15.0)
    except ValueError:
        timeout = 15.0
    urls = tuple(dict.fromkeys([primary, *extra]))  # in order, once each
    return IndexConfig(urls, cert=settings.get("cert") or None, timeout_s=timeout, source=source)


@lru_cache(maxsize=1)
def pip_default_index() -> str:
    """The index pip uses when none is configured, as ``pip download --help`` states it.

    Only reached when no configuration names an index. Runs pip's help, never a
    build: nothing of any package is executed.
    """
    command = [sys.executable, "-m", "pip", "download", "--help"]
    # An isolated pip shows its built-in default, not a configured value.
    environment = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_ISOLATED_MODE": "1"}
    environment = {k: v for k, v in environment.items() if k != "PIP_INDEX_URL"}
    try:
        completed = subprocess.run(  # nosec B603  # pip's help, fixed arguments
            command,
            capture_output=True,
            text=True,
            timeout=_HELP_TIMEOUT_S,
            check=False,
            env=environment,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise IndexConfigError(f"no index configured and pip cannot be asked ({exc})") from None
    match = _DEFAULT_IN_HELP.search(" ".join(completed.stdout.split()))
    if completed.returncode != 0 or match is None:
        raise IndexConfigError(
            "no package index is configured (PIP_INDEX_URL or index-url in pip.conf) and "
            "pip is not installed here to state its default"
        )
    return match.group(1)
