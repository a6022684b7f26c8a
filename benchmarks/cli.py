"""``python -m benchmarks``: run a benchmark, prepare the corpus, inspect questions or artifacts.

Every error the libraries raise becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.arms import WorkerError
from benchmarks.artifact import Artifact, ArtifactError, load_artifact
from benchmarks.corpus import (
    DEFAULT_CORPUS_LIST,
    CorpusError,
    cache_dir,
    ensure_tree,
    load_corpus,
    measure_tokens,
)
from benchmarks.looks import LookError, Monitor
from benchmarks.oracle import OracleError, ensure_question_set, question_capacity, tree_digest
from benchmarks.peers import PeerError
from benchmarks.peers_stage import PEERS_KIND, write_peers
from benchmarks.profiles import PROFILES, ProfileError, get_profile
from benchmarks.quality import QualityConfig, QualityError, default_jobs, evaluate_quality
from benchmarks.quality_table import quality_markdown
from benchmarks.resume import ResumeError
from benchmarks.runner import BenchmarkError, RunConfig, run_benchmark
from contracts.documents import read_document, write_json_atomically
from contracts.errors import EvidenceError, InputError, OneLineParser
from contracts.names import KINDS, QUALITY_FILE
from packrepo.registry import DEFAULT_PYPROJECT, Registry, RegistryError, load_registry

# Who watches a run's looks (the sequential design): the orchestrator's, since the
# statistics live downstream of this stage (``pipeline.monitored``). None: fixed design.
MonitorFactory = Callable[[Registry, str], Monitor | None]

EXIT_OK = 0
EXIT_ERROR = 2
_EXPECTED_ERRORS = (
    ArtifactError,
    BenchmarkError,
    CorpusError,
    OracleError,
    ProfileError,
    QualityError,
    EvidenceError,
    LookError,
    PeerError,
    RegistryError,
    ResumeError,
    WorkerError,
)


def _parser() -> argparse.ArgumentParser:
    # One line and exit 2 for a bad argument, as for any other bad input.
    parser = OneLineParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--registry", type=Path, default=DEFAULT_PYPROJECT, help="pyproject.toml")
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS_LIST, help="corpus list (JSON)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="corpus cache (default $PACKREPO_CORPUS_DIR)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="paired, interleaved trials of one variant")
    run.add_argument("--variant", required=True, help="a variant of [tool.fastpath.variants]")
    run.add_argument("--budgets", default=None, help="e.g. 50k,120k,200k (default: registry)")
    run.add_argument("--seed", type=int, default=None, help="default: the registry's seed")
    run.add_argument("--profile", default="standard", help=f"one of {', '.join(PROFILES)}")
    run.add_argument("--output", type=Path, required=True, help="artifact path (JSON)")
    run.add_argument("--trial-timeout", type=float, default=600.0, help="seconds per trial")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run whose trials are in <output>.jsonl"
        " (same variant, seed, profile, budgets, design and code; refused otherwise)",
    )
    run.add_argument(
        "--fixed",
        action="store_true",
        help="the fixed design: measure every unit, look once (the default here; the"
        " sequential design runs through `python -m pipeline.monitored run`)",
    )

    quality = commands.add_parser(
        "quality", help="R1q: score every arm on the whole question pool (untimed, cached)"
    )
    quality.add_argument("--profile", default="standard", help=f"one of {', '.join(PROFILES)}")
    quality.add_argument("--output", type=Path, required=True, help="quality.json path")
    quality.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    quality.add_argument(
        "--score-cache", type=Path, default=None, help="default: <corpus cache>/quality"
    )
    quality.add_argument("--seed", type=int, default=None, help="default: the registry's seed")
    quality.add_argument("--budgets", default=None, help="e.g. 50k,120k,200k (default: registry)")
    quality.add_argument(
        "--arms", default=None, help="only these arms, e.g. baseline (the analysis needs all)"
    )
    quality_table = commands.add_parser(
        "quality-table", help="QA/100k and recall per arm and budget of a quality.json"
    )
    quality_table.add_argument("quality", type=Path)
    quality_table.add_argument("--peers", type=Path, help="peers.json: the peers' reference lines")
    peers = commands.add_parser(
        "peers", help="score files-to-prompt's and gitingest's dumps on quality.json's questions"
    )
    peers.add_argument("--quality", type=Path, required=True, help="the quality stage's output")
    peers.add_argument("--output", type=Path, required=True, help="peers.json path")
    corpus = commands.add_parser("corpus", help="fetch and extract the corpus into the cache")
    corpus.add_argument("--measure", action="store_true", help="also count tokens")
    corpus.add_argument(
        "--capacity",
        type=_pool_sizes,
        metavar="POOLS",
        help="also the questions each repository gives at these pool sizes, e.g. 40,80,135"
        " (drawn in memory with the registry's seed; nothing is prepared)",
    )

    questions = commands.add_parser("questions", help="print a repository's questions")
    questions.add_argument("repository")
    questions.add_argument("--seed", type=int, default=None)

    validate = commands.add_parser("validate", help="check an artifact against the schema")
    validate.add_argument("artifact", type=Path)

    table = commands.add_parser("table", help="QA/100k and latency of artifacts, as markdown")
    table.add_argument("artifacts", type=Path, nargs="+")
    return parser


def _budgets(text: str | None, registry_budgets: Sequence[str]) -> tuple[int, ...]:
    from packrepo import BudgetError, parse_budget

    labels = [b for b in (text.split(",") if text else registry_budgets) if b.strip()]
    if not labels:
        raise BenchmarkError("no budget given")
    try:
        budgets = tuple(sorted({parse_budget(label.strip()) for label in labels}))
    except BudgetError as exc:
        raise BenchmarkError(f"--budgets: {exc}") from None
    return budgets


def _run(args: argparse.Namespace, monitor_for: MonitorFactory | None = None) -> int:
    registry = load_registry(args.registry)
    registry.variant(args.variant)  # unknown variants fail before anything is fetched
    profile = get_profile(args.profile)
    budgets = _budgets(args.budgets, profile.budgets or registry.budgets)
    config = RunConfig(
        variant=args.variant,
        budgets=budgets,
        seed=registry.seed if args.seed is None else args.seed,
        profile=profile,
        output=args.output,
        corpus=load_corpus(args.corpus),
        registry=registry,
        cache=args.cache_dir or cache_dir(),
        trial_timeout_s=args.trial_timeout,
        progress=not args.no_progress,
        config_path=args.registry,
        resume=args.resume,
        monitor=None if args.fixed or monitor_for is None else monitor_for(registry, args.variant),
    )
    artifact = run_benchmark(config)
    for summary in artifact.summaries:
        qa = "n/a" if summary.qa_per_100k is None else f"{summary.qa_per_100k:.3f}"
        p50 = "n/a" if summary.latency_p50_ns is None else f"{summary.latency_p50_ns / 1e6:.0f} ms"
        print(
            f"{summary.arm:>12} {summary.budget:>7}  QA/100k {qa:>8}  p50 {p50:>8}"
            f"  ok {summary.n_ok} failed {summary.n_failed}"
        )
    design = artifact.design
    if design.taken:
        print(
            f"{design.kind} design: stopped at look {design.stopped_at_look} of {design.looks},"
            f" {design.taken[-1].units} of {len(artifact.units)} units ({design.reason})"
        )
    print(f"wrote {config.output} ({artifact.timings['wall_seconds']:.0f} s)")
    return EXIT_OK


def _quality(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry)
    if args.arms:
        wanted = {name.strip() for name in args.arms.split(",") if name.strip()}
        for name in sorted(wanted):
            registry.variant(name)  # an unknown arm is a configuration error
        kept = {n: v for n, v in registry.variants.items() if n in wanted or v.is_baseline}
        registry = dataclasses.replace(registry, variants=kept)
    profile = get_profile(args.profile)
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        raise QualityError(f"--jobs must be at least 1, got {jobs}")
    cache = args.cache_dir or cache_dir()
    args.output.unlink(missing_ok=True)  # no stale quality.json survives a failed run
    config = QualityConfig(
        registry=registry,
        profile=profile,
        budgets=_budgets(args.budgets, profile.budgets or registry.budgets),
        seed=registry.seed if args.seed is None else args.seed,
        corpus=load_corpus(args.corpus),
        corpus_cache=cache,
        score_cache=args.score_cache or cache / "quality",
        jobs=jobs,
        config_path=args.registry,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    document = evaluate_quality(config)
    write_json_atomically(args.output, document)
    questions = len(document["questions"])
    errors = [f"{name}: {arm['error']}" for name, arm in document["arms"].items() if arm["error"]]
    print(
        f"wrote {args.output}: {questions} questions x {len(config.budgets)} budgets x"
        f" {len(document['arms'])} arms in {document['timings']['seconds']:.0f} s"
        f" ({document['cache']['hits']} cached tasks, {document['cache']['misses']} packed)"
    )
    for line in errors:
        print(f"  not the baseline's bytes: {line}")
    return EXIT_OK


def _quality_table(args: argparse.Namespace) -> int:
    peers = None if args.peers is None else read_document(args.peers, PEERS_KIND)
    print(quality_markdown(read_document(args.quality, KINDS[QUALITY_FILE]), peers))
    return EXIT_OK


def _peers(args: argparse.Namespace) -> int:
    write_peers(args.quality, args.output, args.registry, load_corpus(args.corpus),
                args.cache_dir or cache_dir())  # fmt: skip
    print(f"wrote {args.output}")
    return EXIT_OK


def _corpus(args: argparse.Namespace) -> int:
    corpus = load_corpus(args.corpus)
    cache = args.cache_dir or cache_dir()
    pools: list[int] = args.capacity or []
    seed = load_registry(args.registry).seed if pools else 0
    totals = [0] * len(pools)
    for entry in corpus:
        root = ensure_tree(entry, cache=cache)
        line = f"{entry.name}=={entry.version}: {root}"
        if args.measure:
            line += f" ({measure_tokens(root)} tokens; listed {entry.tokens})"
        if pools:
            counts = question_capacity(root, entry.name, seed, pools)
            totals = [t + c for t, c in zip(totals, counts, strict=True)]
            line += "; questions at pool " + ", ".join(
                f"{p}: {c}" for p, c in zip(pools, counts, strict=True)
            )
        print(line)
    if pools:
        print(
            "total questions at pool "
            + ", ".join(f"{p}: {t}" for p, t in zip(pools, totals, strict=True))
        )
    return EXIT_OK


def _pool_sizes(text: str) -> list[int]:
    """``40,80,135``: pool sizes of at least 1, for ``corpus --capacity``."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"pool sizes must be at least 1: {text!r}")
    return sizes


def _questions(args: argparse.Namespace) -> int:
    corpus = load_corpus(args.corpus)
    entry = corpus.entry(args.repository)
    cache = args.cache_dir or cache_dir()
    root = ensure_tree(entry, cache=cache)
    seed = load_registry(args.registry).seed if args.seed is None else args.seed
    question_set = ensure_question_set(
        root,
        name=entry.name,
        version=entry.version,
        digest=entry.sha256 or tree_digest(root),
        seed=seed,
        cache=cache,
    )
    print(
        f"{entry.name}: {question_set.eligible_targets} eligible targets,"
        f" {question_set.dropped_verbatim} dropped by the verbatim check;"
        f" prepared tree {question_set.tree}"
    )
    for question in question_set.questions:
        gold = question.gold
        print(f"{question.id}  [{gold.path}:{gold.start_line}-{gold.end_line}]")
        print(f"    Q: {question.text}")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    artifact = load_artifact(args.artifact)
    print(
        f"{args.artifact}: valid ({artifact.variant}, {len(artifact.trials)} trials,"
        f" {len(artifact.units)} units)"
    )
    return EXIT_OK


def markdown_table(artifacts: Sequence[Artifact]) -> str:
    """One row per run and arm: QA/100k and p50 latency per budget, failures, wall time."""
    budgets = sorted({b for a in artifacts for b in a.budgets})
    header = ["run", "arm"] + [f"QA/100k @{b // 1000}k" for b in budgets]
    header += [f"p50 ms @{b // 1000}k" for b in budgets] + ["failed", "run time"]
    rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for artifact in artifacts:
        for arm in artifact.arms:
            cells = [artifact.variant, arm.name]
            summaries = [artifact.summary(arm.name, b) for b in budgets]
            cells += ["n/a" if s.qa_per_100k is None else f"{s.qa_per_100k:.3f}" for s in summaries]
            cells += [
                "n/a" if s.latency_p50_ns is None else f"{s.latency_p50_ns / 1e6:.0f}"
                for s in summaries
            ]
            cells.append(str(sum(s.n_failed for s in summaries)))
            cells.append(f"{artifact.timings.get('wall_seconds', 0):.0f} s")
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _table(args: argparse.Namespace) -> int:
    print(markdown_table([load_artifact(path) for path in args.artifacts]))
    return EXIT_OK


def main(
    argv: Sequence[str] | None = None,
    *,
    monitor_for: MonitorFactory | None = None,
    expected_errors: tuple[type[Exception], ...] = (),
) -> int:
    """The CLI; ``monitor_for`` (from ``pipeline.monitored``) gives runs a sequential monitor."""
    try:
        args = _parser().parse_args(argv)
    except InputError as exc:
        print(f"benchmarks: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    command: dict[str, Callable[[argparse.Namespace], int]] = {
        "run": lambda parsed: _run(parsed, monitor_for),
        "quality": _quality,
        "quality-table": _quality_table,
        "peers": _peers,
        "corpus": _corpus,
        "questions": _questions,
        "validate": _validate,
        "table": _table,
    }
    try:
        return command[args.command](args)
    except _EXPECTED_ERRORS + expected_errors as exc:
        print(f"benchmarks: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(
            "benchmarks: interrupted; the trials measured so far are in the .jsonl:"
            " the same command with --resume continues the run",
            file=sys.stderr,
        )
        return EXIT_ERROR
