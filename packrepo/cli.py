"""``packrepo pack PATH --budget 120k [options]``: the only place errors become one line on
stderr and exit 2.

Outputs are staged and committed only when the whole run succeeded
(:mod:`packrepo.output`), so a failed run never leaves a half-written file behind, and a
device, FIFO or socket given as ``-o`` is written into, never replaced. SIGTERM stops the
run: the V2 pool is shut down, staged files are removed, and the exit code is 143.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any, TextIO

from packrepo import __version__
from packrepo.errors import FlagError, PackError
from packrepo.flags import Flags
from packrepo.output import StagedOutput, stage
from packrepo.packer import DEFAULT_ENCODING, pack_to
from packrepo.registry import Registry, RegistryError, load_registry, packaged_registry_path
from packrepo.render import FORMATS
from packrepo.termination import Terminated, terminate
from packrepo.tokens import SUPPORTED_ENCODINGS

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, what a shell reports for a SIGTERM death

FLAG_HELP = {
    "FASTPATH_POLICY_V2": "0|1: the variant policy; 1 alone packs what the baseline packs",
    "FASTPATH_AGGRESSIVE_CACHING": "0|1: V1, persistent cache of per-file analysis",
    "FASTPATH_CACHE_DIR": "path: where V1 caches (default $XDG_CACHE_HOME/packrepo)",
    "FASTPATH_PARALLEL_PROCESSING": "0|1: V2, analysis on a process pool",
    "FASTPATH_BATCH_SIZE": "integer > 0: V2, files per batch (64)",
    "FASTPATH_MEMORY_OPTIMIZATION": "0|1: V3, no text held, output streamed",
    "FASTPATH_COMPRESSION": "0|1: V3, keep text zlib-compressed",
    "FASTPATH_HYBRID_MODE": "0|1: V4, query-aware BM25 + PageRank, demotion ladder",
    "FASTPATH_ADAPTIVE_THRESHOLD": "(0, 1]: V4, score a file needs to stay whole (0.85)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="packrepo", description="Pack a repository into one text that fits a token budget."
    )
    parser.add_argument("--version", action="version", version=f"packrepo {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser(
        "pack",
        help="pack a repository into a token budget",
        description="Pack a repository into one text that fits a token budget.",
        epilog=_flags_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    packing.add_argument("path", help="root of the tree to pack")
    packing.add_argument("--budget", required=True, help="tokens, e.g. 120k, 1.5M or 50000")
    packing.add_argument(
        "--query", default=None, help="question the pack should answer (needs V4 or V5)"
    )
    packing.add_argument(
        "--variant",
        default=None,
        metavar="NAME",
        help="apply a registry arm's FASTPATH_* flags (baseline, V1 ... V5)",
    )
    packing.add_argument("--registry", default=None, help=argparse.SUPPRESS)
    packing.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="pack only files matching this gitignore-style pattern (repeatable)",
    )
    packing.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out files matching this gitignore-style pattern (repeatable)",
    )
    packing.add_argument(
        "--overview",
        action="store_true",
        help="start with a directory overview (counted in the budget, at most 10%%)",
    )
    packing.add_argument(
        "--include-secrets",
        action="store_true",
        help="pack files holding private keys, tokens or credentials (withheld by default)",
    )
    packing.add_argument("--format", choices=FORMATS, default="markdown")
    packing.add_argument("--encoding", choices=SUPPORTED_ENCODINGS, default=DEFAULT_ENCODING)
    packing.add_argument(
        "-o", "--output", default=None, help="write the pack here (default: stdout)"
    )
    packing.add_argument("--manifest", default=None, help="write the manifest JSON here")
    return parser


def _flags_epilog() -> str:
    lines = ["FastPath flags (environment variables, or --variant):"]
    lines += [f"  {name:<30} {text}" for name, text in FLAG_HELP.items()]
    try:
        registry = load_registry(packaged_registry_path())
    except RegistryError:
        return "\n".join(lines)
    lines += ["", "Examples, one per registry arm (--variant NAME sets the same flags):"]
    for variant in registry.variants.values():
        assignments = " ".join(f"{name}={value}" for name, value in variant.flags.items())
        query = ' --query "How are tokens counted?"' if _query_aware(variant.flags) else ""
        lines.append(f"  # {variant.name}: {variant.description}")
        lines.append(f"  {assignments} packrepo pack . --budget 120k{query}")
    return "\n".join(lines)


def _query_aware(flags: dict[str, str]) -> bool:
    return flags.get("FASTPATH_HYBRID_MODE") == "1"


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        with _terminate_on_sigterm():
            return _pack(arguments)
    except Terminated:
        print("packrepo: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except (PackError, RegistryError) as error:
        print(f"packrepo: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # writing the output: a missing directory, a full disk
        print(f"packrepo: error: {error.filename or ''}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE


@contextlib.contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        terminate()

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread: leave signals to the host program
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _flags(arguments: argparse.Namespace) -> Flags:
    """The environment's flags, or the ``--variant``'s, never a silent mix of both."""
    if arguments.variant is None:
        flags = Flags.from_environ(os.environ)
    else:
        set_here = sorted(name for name in os.environ if name.startswith("FASTPATH_"))
        if set(set_here) - {"FASTPATH_CACHE_DIR"}:
            raise FlagError(
                f"--variant {arguments.variant} and {set_here[0]} in the environment:"
                " use one or the other"
            )
        registry: Registry = load_registry(arguments.registry or packaged_registry_path())
        variant = registry.variant(arguments.variant)
        flags = Flags.from_environ({**variant.flags, **_cache_dir_only(os.environ)})
    if arguments.query and not flags.hybrid_mode:
        raise PackError(
            "--query needs a query-aware policy, and these flags pack the same text for any"
            " query: add --variant V4 (or set FASTPATH_POLICY_V2=1 FASTPATH_HYBRID_MODE=1)"
        )
    return flags


def _cache_dir_only(environ: os._Environ[str]) -> dict[str, str]:
    return {key: environ[key] for key in ("FASTPATH_CACHE_DIR",) if key in environ}


def _pack(arguments: argparse.Namespace) -> int:
    flags = _flags(arguments)
    staged: list[StagedOutput] = []
    try:
        # Both outputs exist as staged files before the pack starts: a --manifest that
        # cannot be written fails here, before any -o is produced.
        output = stage(arguments.output) if arguments.output is not None else None
        if output is not None:
            staged.append(output)
        manifest_out = stage(arguments.manifest) if arguments.manifest is not None else None
        if manifest_out is not None:
            staged.append(manifest_out)
        manifest = _run(arguments, flags, output)
        if manifest_out is not None:
            text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
            manifest_out.handle.write(text.encode("utf-8"))
        for pending in staged:
            pending.commit()
    except BaseException:
        for pending in staged:
            pending.discard()
        raise
    return EXIT_OK


def _run(
    arguments: argparse.Namespace, flags: Flags, output: StagedOutput | None
) -> dict[str, Any]:
    def run(out: TextIO) -> dict[str, Any]:
        return pack_to(
            arguments.path,
            arguments.budget,
            out,
            arguments.query,
            flags=flags,
            format=arguments.format,
            encoding=arguments.encoding,
            include=arguments.include,
            exclude=arguments.exclude,
            overview=arguments.overview,
            allow_secrets=arguments.include_secrets,
        )

    if output is None:
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(encoding="utf-8")  # the pack is UTF-8 whatever the locale
        return run(sys.stdout)
    text = io.TextIOWrapper(output.handle, encoding="utf-8", newline="", write_through=True)
    try:
        return run(text)
    finally:
        text.flush()
        text.detach()  # the staged handle stays open for commit


if __name__ == "__main__":
    sys.exit(main())
