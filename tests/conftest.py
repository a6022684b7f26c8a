"""Shared fixtures: tiny and hostile trees, built fresh in ``tmp_path``."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

# Derandomised by default: the README's test command (nox -s tests) and CI cannot fail by
# chance, and a failure reproduces on every machine. PACKREPO_HYPOTHESIS=explore draws new
# examples each run: R2 (nox -s advanced) explores that way, where a failure is a finding.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(
    "explore" if os.environ.get("PACKREPO_HYPOTHESIS") == "explore" else "repeatable"
)

TreeFactory = Callable[..., Path]


def write_tiny_repo(root: Path, *, seed: int = 7, modules: int = 12) -> Path:
    """A small Python project: a package whose modules import each other, docs, tests."""
    rng = random.Random(seed)
    package = root / "pkg"
    package.mkdir(parents=True)
    (root / "README.md").write_text("# Tiny\n\nA tiny project.\n\n## Usage\n\nRun `tiny`.\n")
    (root / "docs").mkdir()
    (root / "docs" / "guide.md").write_text("# Guide\n\n" + "Some words here.\n" * 30)
    (package / "__init__.py").write_text('"""The package."""\n')
    for index in range(modules):
        imports = "".join(
            f"from pkg import mod{other}\n" for other in sorted(rng.sample(range(modules), 2))
        )
        body = "".join(
            f"\n\ndef step_{index}_{n}(value: int) -> int:\n"
            f'    """Step {n} of module {index}."""\n'
            + "".join(
                f"    value = value * {rng.randint(2, 9)} + {k}\n"
                for k in range(rng.randint(2, 12))
            )
            + "    return value\n"
            for n in range(rng.randint(1, 5))
        )
        (package / f"mod{index}.py").write_text(f'"""Module {index}."""\n\n{imports}{body}')
    (package / "budget_rules.py").write_text(
        '"""Where budgets are checked."""\n\n\n'
        "def enforce_token_budget(tokens: int, budget: int) -> bool:\n"
        '    """Refuse a pack whose tokens exceed the budget."""\n'
        + "".join(f"    checked_{n} = tokens * {n} - budget  # bookkeeping\n" for n in range(40))
        + "    return tokens <= budget\n"
    )
    (root / "tests").mkdir()
    (root / "tests" / "test_mod0.py").write_text(
        "from pkg import mod0\n\n\ndef test_it():\n    assert mod0\n"
    )
    (root / "notes.txt").write_text("".join(f"note line {n}\n" for n in range(200)))
    return root


@pytest.fixture
def tiny_repo(tmp_path: Path) -> Path:
    return write_tiny_repo(tmp_path / "tiny")


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Path:
    """A tree with one of everything a scanner must survive, plus two ordinary files."""
    root = tmp_path / "hostile"
    root.mkdir()
    (root / "ok.py").write_text("def fine():\n    return 1\n")
    (root / "loop_a").symlink_to(root / "loop_b")
    (root / "loop_b").symlink_to(root / "loop_a")
    (root / "dir_loop").symlink_to(root, target_is_directory=True)
    outside = tmp_path / "outside_secret.txt"
    outside.write_text("SECRET-OUTSIDE-ROOT\n")
    (root / "escape.txt").symlink_to(outside)
    (root / "dangling").symlink_to(root / "missing")
    (root / "image.dat").write_bytes(b"\x89PNG\r\n\x00\x00binary\xff\xfe" * 10)
    (root / "latin1.txt").write_bytes("caf\xe9 cr\xe8me\n".encode("latin-1") + b"\xff\xfe tail\n")
    with (root / "huge.txt").open("w") as handle:
        handle.write(("huge " * 20 + "\n") * 30_000)  # about 3 MB, over the size limit
    deep = root
    for level in range(120):
        deep = deep / f"d{level}"
    deep.mkdir(parents=True)
    (deep / "bottom.md").write_text("# Bottom\n\nThe deepest file.\n")
    (root / "empty.py").write_text("")
    return root
