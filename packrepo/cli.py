"""``packrepo pack PATH --budget 120k [--query TEXT] [--format markdown|xml] [-o FILE]
[--manifest FILE.json]``: the only place errors become one line on stderr and exit 2.

Output files are written to a temporary file beside the target and moved into place only
when the pack succeeded, so a failed run never leaves a half-written file behind.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any, TextIO, TypeVar

from packrepo import __version__
from packrepo.errors import PackError
from packrepo.packer import DEFAULT_ENCODING, pack_to
from packrepo.render import FORMATS
from packrepo.tokens import SUPPORTED_ENCODINGS

EXIT_OK = 0
EXIT_USAGE = 2
T = TypeVar("T")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="packrepo", description="Pack a repository into one text that fits a token budget."
    )
    parser.add_argument("--version", action="version", version=f"packrepo {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser("pack", help="pack a repository into a token budget")
    packing.add_argument("path", help="root of the tree to pack")
    packing.add_argument("--budget", required=True, help="tokens, e.g. 120k, 1.5M or 50000")
    packing.add_argument("--query", default=None, help="question the pack should answer (V4)")
    packing.add_argument("--format", choices=FORMATS, default="markdown")
    packing.add_argument("--encoding", choices=SUPPORTED_ENCODINGS, default=DEFAULT_ENCODING)
    packing.add_argument(
        "-o", "--output", default=None, help="write the pack here (default: stdout)"
    )
    packing.add_argument("--manifest", default=None, help="write the manifest JSON here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        return _pack(arguments)
    except PackError as error:
        print(f"packrepo: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # writing the output: a missing directory, a full disk
        print(f"packrepo: error: {error.filename or ''}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE


def _pack(arguments: argparse.Namespace) -> int:
    def run(out: TextIO) -> dict[str, Any]:
        return pack_to(
            arguments.path,
            arguments.budget,
            out,
            arguments.query,
            format=arguments.format,
            encoding=arguments.encoding,
        )

    if arguments.output is None and isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(encoding="utf-8")  # the pack is UTF-8 whatever the locale
    manifest = run(sys.stdout) if arguments.output is None else _atomic_write(arguments.output, run)
    if arguments.manifest is not None:
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        _atomic_write(arguments.manifest, lambda out: out.write(text))
    return EXIT_OK


def _atomic_write(path: str, write: Callable[[TextIO], T]) -> T:
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".packrepo-")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as out:
            result = write(out)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return result


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


if __name__ == "__main__":
    sys.exit(main())
