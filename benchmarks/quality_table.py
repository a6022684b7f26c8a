"""``python -m benchmarks quality-table quality.json``: QA/100k and recall per arm and budget.

QA/100k is 100000 x the sum of scores over the sum of pack tokens; recall is the
mean score per question (the share of its gold lines a pack holds). Both are
needed: QA/100k alone rewards small packs.
"""

from __future__ import annotations

import math

from contracts.documents import Fields
from contracts.names import budget_label


def quality_markdown(document: Fields, peers: Fields | None = None) -> str:
    budgets = [int(b) for b in document.raw["budgets"]]  # type: ignore[union-attr]
    labels = [budget_label(b) for b in budgets]
    header = ["arm"] + [f"QA/100k @{label}" for label in labels]
    header += [f"recall @{label}" for label in labels]
    rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    questions = len(list(document.items("questions")))
    lines = [
        (name + (" (query-aware)" if arm.flag("query_aware") else ""), arm.child("budgets"))
        for name, arm in document.children("arms")
    ]
    if peers is not None:
        lines += [
            (f"{name} {peer.text('version')} (peer, reference only)", peer.child("budgets"))
            for name, peer in peers.children("peers")
        ]
    for label, columns in lines:
        qa, recall = [], []
        for budget in budgets:
            cell = columns.child(str(budget)).raw
            scores = [float(x) for x in cell["score"]]  # type: ignore[index,union-attr]
            tokens = [float(x) for x in cell["tokens"]]  # type: ignore[index,union-attr]
            qa.append(f"{100_000 * math.fsum(scores) / math.fsum(tokens):.3f}")
            recall.append(f"{math.fsum(scores) / len(scores):.1%}")
        rows.append("| " + " | ".join([label, *qa, *recall]) + " |")
    rows.append(
        f"\n{questions} questions in {len(list(document.items('repositories')))} repositories,"
        f" {document.text('profile')} profile."
    )
    return "\n".join(rows)
