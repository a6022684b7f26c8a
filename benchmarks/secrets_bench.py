"""Which detect-secrets detectors packrepo should use: files flagged and time, per detector.

    python -m benchmarks.secrets_bench --tree path/to/requests-2.32.3 --tree path/to/django

Every detector detect-secrets ships runs over every text file of the trees (as packrepo
reads them: at most 1 MB, UTF-8). A detector worth using flags the files that hold real
credentials and little else, at a cost small beside packing. ``packrepo/secrets.py``
records the choice this measurement supports.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

from packrepo.secrets import DETECTORS

MAX_FILE_BYTES = 1_000_000


def texts(root: Path) -> list[tuple[str, str]]:
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            try:
                if os.path.getsize(path) > MAX_FILE_BYTES:
                    continue
                with open(path, encoding="utf-8") as handle:
                    found.append((os.path.relpath(path, root), handle.read()))
            except (OSError, UnicodeDecodeError):
                continue
    return found


def measure(root: Path) -> list[tuple[str, int, float, str]]:
    """(detector, files flagged, seconds, an example path) for every detector."""
    files = texts(root)
    rows = []
    for detector_class in sorted(get_mapping_from_secret_type_to_class().values(), key=str):
        detector = detector_class()
        flagged: Counter[str] = Counter()
        started = time.perf_counter()
        for path, text in files:
            for _ in detector.analyze_string(text):
                flagged[path] += 1
                break
        seconds = time.perf_counter() - started
        example = min(flagged, default="")
        rows.append((detector_class.__name__, len(flagged), seconds, example))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.secrets_bench")
    parser.add_argument("--tree", type=Path, action="append", required=True)
    arguments = parser.parse_args(argv)
    used = {type(detector).__name__ for detector in DETECTORS}
    for root in arguments.tree:
        print(f"\n{root} ({len(texts(root))} text files)")
        print("| detector | used | files flagged | seconds | e.g. |")
        print("|---|---|---:|---:|---|")
        for name, flagged, seconds, example in measure(root):
            mark = "yes" if name in used else "no"
            print(f"| {name} | {mark} | {flagged} | {seconds:.2f} | {example} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
