"""V4 against the baseline on sdists outside the corpus: QA/100k, and the second query.

    python -m benchmarks.outside_bench                    # the three pinned sdists
    python -m benchmarks.outside_bench --sdist requests --questions 10

For each pinned sdist (fetched with pip, refused unless its sha256 matches the pin) the QA
oracle of the pipeline (``benchmarks/oracle.py``: docstring questions, gold spans in a
prepared copy) draws its questions; every question is packed by the baseline and by V4 at
each budget and scored by the fraction of its gold lines the pack holds. QA/100k is
100000 x the sum of scores / the sum of pack tokens, as in ``benchmarks/summary.py``.
The baseline is query-agnostic, so one pack per budget serves all its questions.

The second query: in a fresh process V4 packs the first question, then the second (the
per-tree analysis is reused, ``packrepo/reuse.py``); the speed-up is the first pack's
time over the second's. Another fresh process packs the second question alone, and its
text must be byte-identical to the reused one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math

# subprocess runs this interpreter with fixed arguments, never a shell.
import subprocess  # nosec B404
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.oracle import QuestionSet, ensure_question_set, score_evidence, tree_digest
from benchmarks.packer_bench import SDIST_CACHE, _download_and_extract
from packrepo.registry import load_registry


@dataclass(frozen=True)
class PinnedSdist:
    name: str
    version: str
    sha256: str
    note: str


# Outside the corpus (benchmarks/corpus.json) and the packer benchmark's sphinx.
SDISTS = (
    PinnedSdist(
        "requests", "2.32.3",
        "55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760", "about 0.12M tokens",
    ),
    PinnedSdist(
        "jinja2", "3.1.4",
        "4a3aee7acbbe7303aede8e9648d13b8bf88a429282aa6122a993f0ac800cb369", "about 0.21M tokens",
    ),
    PinnedSdist(
        "transformers", "4.46.3",
        "8ee4b3ae943fe33e82afff8e837f4b052058b07ca9be3cb5b729ed31295f72cc", "about 10.1M tokens",
    ),
)  # fmt: skip
SEED = 1337


def fetch(sdist: PinnedSdist) -> Path:
    """The extracted sdist, its archive checked against the pinned sha256 first."""
    tree = _download_and_extract(sdist.name, sdist.version)
    archives = sorted((SDIST_CACHE / "archives").glob(f"*-{sdist.version}.tar.gz"))
    matching = [a for a in archives if a.name.lower().startswith(sdist.name.lower() + "-")]
    if len(matching) != 1:
        raise SystemExit(f"{sdist.name} {sdist.version}: no single archive in {SDIST_CACHE}")
    digest = hashlib.sha256(matching[0].read_bytes()).hexdigest()
    if digest != sdist.sha256:
        raise SystemExit(f"{matching[0]}: sha256 {digest}, pinned {sdist.sha256}")
    return tree


def arm_flags(name: str) -> dict[str, str]:
    return dict(load_registry().variant(name).flags)


# --- the child: packs in one process, one JSON line -----------------------------------------


def child(request: dict[str, Any]) -> dict[str, Any]:
    import packrepo

    flags = packrepo.Flags.from_environ(request["flags"])
    packs = []
    for query, budget in request["packs"]:
        started = time.perf_counter()
        result = packrepo.pack(request["tree"], budget, query, flags=flags)
        packs.append(
            {
                "seconds": time.perf_counter() - started,
                "tokens": result.tokens,
                "sha256": hashlib.sha256(result.text.encode()).hexdigest(),
                "items": result.manifest["items"],
                "text": result.text if request.get("texts") else None,
            }
        )
    return {"packs": packs}


def in_fresh_process(request: dict[str, Any]) -> list[dict[str, Any]]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(request, handle)
    completed = subprocess.run(  # nosec B603
        [sys.executable, "-m", "benchmarks.outside_bench", "--child", handle.name],
        capture_output=True, text=True, check=False, timeout=7200,
    )  # fmt: skip
    Path(handle.name).unlink()
    if completed.returncode != 0:
        raise SystemExit(f"child failed: {completed.stderr.strip()[-2000:]}")
    packs: list[dict[str, Any]] = json.loads(completed.stdout.splitlines()[-1])["packs"]
    return packs


# --- QA/100k ------------------------------------------------------------------------------


def qa_per_100k(questions: QuestionSet, count: int, arm: str, budget: str) -> tuple[float, float]:
    """(QA/100k, mean score) of ``arm`` over the first ``count`` questions."""
    asked = questions.questions[:count]
    query_aware = arm_flags(arm).get("FASTPATH_HYBRID_MODE") == "1"
    queries = [q.text for q in asked] if query_aware else [None]
    packs = in_fresh_process(
        {
            "tree": str(questions.tree),
            "flags": arm_flags(arm),
            "packs": [[query, budget] for query in queries],
            "texts": True,
        }
    )
    scores, tokens = [], []
    for index, question in enumerate(asked):
        pack = packs[index] if query_aware else packs[0]
        lines = (questions.tree / question.gold.path).read_text(encoding="utf-8").split("\n")
        score = score_evidence(question.gold, lines, pack["items"], pack["text"]).score
        scores.append(score)
        tokens.append(pack["tokens"])
    return 100_000 * math.fsum(scores) / sum(tokens), math.fsum(scores) / len(scores)


def second_query(questions: QuestionSet, budget: str) -> dict[str, Any]:
    first, second = questions.questions[0].text, questions.questions[1].text
    flags = arm_flags("V4")
    together = in_fresh_process(
        {"tree": str(questions.tree), "flags": flags, "packs": [[first, budget], [second, budget]]}
    )
    alone = in_fresh_process(
        {"tree": str(questions.tree), "flags": flags, "packs": [[second, budget]]}
    )
    return {
        "first_s": together[0]["seconds"],
        "second_s": together[1]["seconds"],
        "speedup": together[0]["seconds"] / together[1]["seconds"],
        "identical": together[1]["sha256"] == alone[0]["sha256"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.outside_bench")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sdist", action="append", help="names from SDISTS (default: all)")
    parser.add_argument("--budgets", default="50k,120k")
    parser.add_argument("--questions", type=int, default=40, help="per sdist (at most 40)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    arguments = parser.parse_args(argv)
    if arguments.child:
        print(json.dumps(child(json.loads(Path(arguments.child).read_text()))))
        return 0
    chosen = [s for s in SDISTS if not arguments.sdist or s.name in arguments.sdist]
    figures: dict[str, Any] = {}
    print("| sdist | budget | baseline QA/100k | V4 QA/100k | V4/baseline |")
    print("|---|---:|---:|---:|---:|")
    for sdist in chosen:
        tree = fetch(sdist)
        questions = ensure_question_set(
            tree, name=sdist.name, version=sdist.version, digest=tree_digest(tree),
            seed=SEED, cache=SDIST_CACHE,
        )  # fmt: skip
        for budget in arguments.budgets.split(","):
            base, _ = qa_per_100k(questions, arguments.questions, "baseline", budget)
            hybrid, _ = qa_per_100k(questions, arguments.questions, "V4", budget)
            figures[f"{sdist.name}@{budget}"] = {"baseline": base, "V4": hybrid}
            print(f"| {sdist.name} {sdist.version} | {budget} | {base:.3f} | {hybrid:.3f}"
                  f" | {hybrid / base:.2f}x |", flush=True)  # fmt: skip
    print("\n| sdist | first query s | second query s | speed-up | byte-identical |")
    print("|---|---:|---:|---:|---|")
    for sdist in chosen:
        questions = ensure_question_set(
            fetch(sdist), name=sdist.name, version=sdist.version,
            digest=tree_digest(fetch(sdist)), seed=SEED, cache=SDIST_CACHE,
        )  # fmt: skip
        reuse = second_query(questions, "120k")
        figures[f"{sdist.name}@second_query"] = reuse
        identical = "yes" if reuse["identical"] else "NO"
        print(f"| {sdist.name} | {reuse['first_s']:.2f} | {reuse['second_s']:.2f}"
              f" | {reuse['speedup']:.1f}x | {identical} |", flush=True)  # fmt: skip
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
