"""Measure every arm of the registry on one tree, each in a fresh process.

    python -m benchmarks.packer_bench --sdist sphinx==7.2.6 --budget 120k \
        --query "How does autodoc import the module it documents?"

For each arm a new interpreter gets exactly that arm's ``FASTPATH_*`` flags (and a cache
directory of its own), packs once and reports: tokens, fill, the sha256 of the text (equal
to the baseline's or not), the wall time of the ``pack()`` call (tokenizer loading
included, interpreter start-up and imports excluded), the CPU time it used (user + system,
worker processes included: steadier than wall time on a shared machine), ``ru_maxrss``,
and, in another fresh process because tracing slows everything down, the ``tracemalloc``
peak. Every latency is a median of ``--repeats`` runs. An arm with a cache runs cold
``--repeats`` times, each on an empty cache, then warm ``--repeats`` times on the last
one's cache. Arms with hybrid mode are packed again with a second query and with none,
to show whether the query changes the pack.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics

# subprocess runs this interpreter and its pip with fixed arguments, never a shell.
import subprocess  # nosec B404
import sys
import tarfile
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packrepo.registry import Registry, Variant, load_registry

OTHER_QUERY = "How are configuration values validated and where do defaults come from?"
SDIST_CACHE = Path.home() / ".cache" / "packrepo" / "packer-bench"


@dataclass(frozen=True)
class Run:
    """One pack in one fresh process."""

    tokens: int
    budget: int
    sha256: str
    seconds: float
    cpu_seconds: float
    maxrss_mb: float
    tracemalloc_mb: float | None
    items: int
    files_scanned: int
    cache_hits: int | None


# --- the child: one pack, one JSON line -----------------------------------------------------


def child(tree: str, budget: str, query: str | None, trace: bool) -> dict[str, Any]:
    import packrepo

    pack = packrepo.pack  # importing the packer is start-up, not the request
    if trace:
        tracemalloc.start()
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    result = pack(tree, budget, query)  # flags from this process's environment
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    cache = result.manifest.get("cache") or {}
    return {
        "tokens": result.tokens,
        "budget": result.manifest["budget"],
        "sha256": hashlib.sha256(result.text.encode("utf-8")).hexdigest(),
        "seconds": seconds,
        "cpu_seconds": cpu,
        # Linux reports ru_maxrss in KiB.
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tracemalloc_mb": peak,
        "items": len(result.manifest["items"]),
        "files_scanned": result.manifest["files_scanned"],
        "cache_hits": cache.get("hits"),
    }


def _cpu_seconds() -> float:
    """User + system time of this process and of its reaped children (V2's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# --- the parent: arms, processes, table -----------------------------------------------------


def run_arm(
    variant: Variant, tree: Path, budget: str, query: str | None, cache_dir: Path, trace: bool
) -> Run:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FASTPATH_")}
    environment.update(variant.flags)
    environment["FASTPATH_CACHE_DIR"] = str(cache_dir)
    command = [sys.executable, "-m", "benchmarks.packer_bench", "--child", str(tree)]
    command += ["--budget", budget] + (["--query", query] if query else [])
    command += ["--trace"] if trace else []
    completed = subprocess.run(  # nosec B603
        command, env=environment, capture_output=True, text=True, check=False, timeout=1800
    )
    if completed.returncode != 0:
        raise SystemExit(f"arm {variant.name} failed: {completed.stderr.strip()[-2000:]}")
    return Run(**json.loads(completed.stdout.strip().splitlines()[-1]))


@dataclass(frozen=True)
class ArmReport:
    name: str
    runs: list[Run]  # latency runs (warm ones for a caching arm)
    traced: Run
    colds: list[Run] = field(default_factory=list)  # caching arms: each on an empty cache
    other_query_sha: str | None = None
    no_query_sha: str | None = None

    @property
    def first(self) -> Run:
        return self.runs[0]

    @property
    def latency(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(run.cpu_seconds for run in self.runs)

    @property
    def cold_latency(self) -> float:
        return statistics.median(run.seconds for run in self.colds)

    @property
    def cold_cpu(self) -> float:
        return statistics.median(run.cpu_seconds for run in self.colds)


def measure(
    registry: Registry, tree: Path, budget: str, query: str | None, repeats: int, scratch: Path
) -> list[ArmReport]:
    reports = []
    for variant in registry.variants.values():
        caching = variant.flags.get("FASTPATH_AGGRESSIVE_CACHING") == "1"
        hybrid = variant.flags.get("FASTPATH_HYBRID_MODE") == "1"
        cache_dir = scratch / f"cache-{variant.name}"
        colds = []
        if caching:  # every cold run on an empty cache; the last one's cache serves the warm
            for attempt in range(repeats):
                cache_dir = scratch / f"cache-{variant.name}-{attempt}"
                colds.append(run_arm(variant, tree, budget, query, cache_dir, False))
        runs = [run_arm(variant, tree, budget, query, cache_dir, False) for _ in range(repeats)]
        traced = run_arm(variant, tree, budget, query, scratch / f"trace-{variant.name}", True)
        other = none = None
        if hybrid:
            other = run_arm(variant, tree, budget, OTHER_QUERY, cache_dir, False).sha256
            none = run_arm(variant, tree, budget, None, cache_dir, False).sha256
        reports.append(
            ArmReport(variant.name, runs, traced, colds, other_query_sha=other, no_query_sha=none)
        )
        print(f"measured {variant.name}", file=sys.stderr)
    return reports


def table(reports: list[ArmReport], baseline: str) -> str:
    base = next(report for report in reports if report.name == baseline)
    rows = [
        "| arm | tokens | fill | = baseline | wall s (median) | CPU s (median) | ru_maxrss MB"
        " | tracemalloc peak MB | query changes pack |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for report in reports:
        run = report.first
        same = "yes" if run.sha256 == base.first.sha256 else "no"
        query_effect = "n/a"
        if report.other_query_sha is not None:
            differs = {run.sha256, report.other_query_sha, report.no_query_sha}
            query_effect = "yes" if len(differs) == 3 else "no"
        rows.append(
            f"| {report.name} | {run.tokens} | {100 * run.tokens / run.budget:.1f}% | {same}"
            f" | {report.latency:.2f} | {report.cpu:.2f} | {run.maxrss_mb:.0f}"
            f" | {report.traced.tracemalloc_mb or 0:.1f} | {query_effect} |"
        )
    lines = ["\n".join(rows), ""]
    for report in reports:
        if report.colds:
            cold_wall, cold_cpu = report.cold_latency, report.cold_cpu
            lines.append(
                f"- {report.name}: cold {cold_wall:.2f} s wall / {cold_cpu:.2f} s CPU, warm"
                f" {report.latency:.2f} s / {report.cpu:.2f} s (medians of {len(report.runs)});"
                f" cold/warm = {cold_wall / report.latency:.1f}x wall,"
                f" {cold_cpu / report.cpu:.1f}x CPU"
            )
    for report in reports:
        if report.name == "V3":
            lines.append(
                f"- V3/baseline: ru_maxrss {report.first.maxrss_mb / base.first.maxrss_mb:.2f},"
                f" tracemalloc peak"
                f" {(report.traced.tracemalloc_mb or 0) / (base.traced.tracemalloc_mb or 1):.2f}"
            )
    return "\n".join(lines)


def sdist_tree(requirement: str) -> Path:
    """The extracted sdist: from the pinned corpus when listed there, else pip + tarfile."""
    name, _, version = requirement.partition("==")
    if not version:
        raise SystemExit("--sdist needs NAME==VERSION")
    try:
        from benchmarks import corpus

        pinned = corpus.load_corpus()
        entry = next((e for e in pinned if e.name == name and e.version == version), None)
        if entry is not None:
            return corpus.ensure_tree(entry)
    except ImportError:  # the pinned corpus needs the pipeline dependencies
        pass
    return _download_and_extract(name, version)


def _download_and_extract(name: str, version: str) -> Path:
    tree = SDIST_CACHE / "trees" / f"{name}-{version}"
    if (tree.parent / f"{tree.name}.done").exists():
        return tree
    archives = SDIST_CACHE / "archives"
    archives.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # nosec B603
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "--quiet", f"{name}=={version}", "-d", str(archives)],
        check=True, timeout=900,
    )  # fmt: skip
    candidates = sorted(archives.glob(f"{name}-{version}.tar.gz")) or sorted(
        archives.glob(f"{name.replace('-', '_')}-{version}.tar.gz")
    )
    if not candidates:
        raise SystemExit(f"pip saved no sdist for {name}=={version} in {archives}")
    with (
        tempfile.TemporaryDirectory(dir=SDIST_CACHE) as scratch,
        tarfile.open(candidates[0]) as tar,
    ):
        if not hasattr(tarfile, "data_filter"):  # pragma: no cover - before 3.10.12/3.11.4
            raise SystemExit(
                "this Python has no tarfile extraction filters; extract it and use --tree"
            )
        tar.extractall(scratch, filter="data")  # the "data" filter refuses escaping members
        (root,) = Path(scratch).iterdir()
        tree.parent.mkdir(parents=True, exist_ok=True)
        os.replace(root, tree)
    (tree.parent / f"{tree.name}.done").write_text("extracted\n")
    return tree


def _load() -> str:
    """The 1-minute load average: latency on a shared machine means little without it."""
    return f"{os.getloadavg()[0]:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.packer_bench")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--tree", type=Path, help="an already extracted source tree")
    where.add_argument("--sdist", help="NAME==VERSION, fetched with pip and extracted")
    where.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--budget", default="120k")
    parser.add_argument("--query", default=None)
    parser.add_argument("--repeats", type=int, default=3, help="latency runs per arm")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw runs here")
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        print(
            json.dumps(child(arguments.child, arguments.budget, arguments.query, arguments.trace))
        )
        return 0
    tree = arguments.tree if arguments.tree else sdist_tree(arguments.sdist)
    registry = load_registry()
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="packer-bench-") as scratch:
        reports = measure(
            registry, tree, arguments.budget, arguments.query, arguments.repeats, Path(scratch)
        )
    print(f"tree: {tree} ({reports[0].first.files_scanned} files packed from)")
    print(f"budget: {arguments.budget}, query: {arguments.query!r}")
    print(f"load average before/after: {load_before} / {_load()}\n")
    print(table(reports, registry.baseline.name))
    if arguments.json is not None:
        raw = {r.name: [run.__dict__ for run in [*r.colds, *r.runs, r.traced]] for r in reports}
        arguments.json.write_text(json.dumps(raw, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
