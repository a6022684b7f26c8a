"""B0: the environment manifest of a hermetic session, ``artifacts/boot_env.json``.

``python -m benchmarks.boot --output artifacts/boot_env.json`` records what the
session's virtualenv actually holds (every installed distribution and its
version), the interpreter, the machine (the same fingerprint fields as a
benchmark run), the commit and the registry's hash, and the FastPath flags of
every arm. Reproducing a decision starts from this file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.environment import cpu_model, git_state
from contracts.documents import write_json_atomically
from packrepo.registry import Registry, RegistryError, load_registry

KIND = "fastpath-boot-env"
SCHEMA = 1


def installed_distributions() -> dict[str, str]:
    """Every distribution importable from this interpreter, name -> version, sorted."""
    found: dict[str, str] = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            found[name.lower()] = distribution.version
    return dict(sorted(found.items()))


def manifest(registry: Registry) -> dict[str, Any]:
    import platform

    return {
        "schema": SCHEMA,
        "kind": KIND,
        "created_unix": time.time(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "prefix": sys.prefix,
            "in_virtualenv": sys.prefix != sys.base_prefix,
        },
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpu_model": cpu_model(),
            "cpu_count": os.cpu_count(),
        },
        "git": git_state(),
        "config_sha256": registry.config_sha256,
        "encoding": registry.encoding,
        "arms": {name: dict(variant.flags) for name, variant in registry.variants.items()},
        "fastpath_env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("FASTPATH_")},
        "distributions": installed_distributions(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.boot", description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("artifacts/boot_env.json"))
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args(argv)
    try:
        registry = load_registry(args.config)
    except RegistryError as exc:
        print(f"boot: {exc}", file=sys.stderr)
        return 2
    document = manifest(registry)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(args.output, document, sort_keys=True)
    count = len(document["distributions"])
    print(f"boot: {count} distributions, python {document['python']['version']} -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
