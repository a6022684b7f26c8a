"""Stamp a foreign artifact with provenance: ``python -m gates.stamp artifacts/bandit.json``.

Bandit's JSON has no room for our provenance, so the lint stage runs this
right after bandit. It writes ``bandit.provenance.json`` beside it, holding
the commit, the registry's hash and the sha256 of the exact bytes stamped, so
that neither a stale report nor a stale stamp can pass the security gate.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

from contracts.documents import SCHEMA, dumps, read_input, write_all_atomically
from contracts.errors import InputError
from contracts.exitcodes import ExitCode
from contracts.names import BANDIT_PROVENANCE_FILE, KINDS, stamp_file
from contracts.provenance import Provenance, current_provenance
from packrepo.registry import RegistryError


def sidecar_path(subject: Path) -> Path:
    """``bandit.json`` -> ``bandit.provenance.json``."""
    return subject.with_name(stamp_file(subject.name))


def sidecar_document(subject: Path, payload: bytes, provenance: Provenance) -> dict[str, object]:
    return {
        "schema": SCHEMA,
        "kind": KINDS[BANDIT_PROVENANCE_FILE],
        "subject": subject.name,
        "subject_sha256": hashlib.sha256(payload).hexdigest(),
        "provenance": provenance.to_json(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gates.stamp", description=__doc__)
    parser.add_argument("subject", type=Path, help="the artifact, e.g. artifacts/bandit.json")
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    arguments = parser.parse_args(argv)
    try:
        payload = read_input(arguments.subject)
        provenance = current_provenance(
            arguments.config,
            producer="gates.stamp",
            inputs={arguments.subject.name: hashlib.sha256(payload).hexdigest()},
        )
        document = sidecar_document(arguments.subject, payload, provenance)
        write_all_atomically({sidecar_path(arguments.subject): dumps(document)})
    except OSError as exc:
        print(f"gates.stamp: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except (RegistryError, InputError) as exc:
        print(f"gates.stamp: error: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    print(f"gates.stamp: wrote {sidecar_path(arguments.subject)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
