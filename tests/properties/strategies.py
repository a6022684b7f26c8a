"""Hypothesis strategies and tree helpers shared by the property tests.

Trees are dictionaries from POSIX paths to file contents (``str`` for text, ``bytes`` for
anything else) and are written to a fresh temporary directory per example: hypothesis
reruns a test body many times, so a function-scoped pytest fixture would be shared.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from packrepo.flags import Flags

Tree = Mapping[str, "str | bytes"]

# ``nox -s advanced`` runs this suite with PACKREPO_HYPOTHESIS=derandomized, once for
# property coverage and once per mutant: few examples, derandomised and without the
# example database, so that a figure (and whether a mutant is killed) depends neither on
# the luck of one run nor on examples an earlier run saved; and no shrinking, which is for
# people reading a failure and can take a mutant past its time limit (a failure is
# enough to kill it). ``nox -s tests`` runs more examples, and shrinks.
DERANDOMIZED = os.environ.get("PACKREPO_HYPOTHESIS") == "derandomized"
_TOLERATED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def laws(max_examples: int) -> settings:
    """Settings of one property: ``max_examples`` normally, at most 8 derandomised."""
    if DERANDOMIZED:
        return settings(
            max_examples=min(max_examples, 8),
            derandomize=True,
            database=None,
            phases=(Phase.explicit, Phase.generate),
            deadline=None,
            suppress_health_check=_TOLERATED,
        )
    return settings(max_examples=max_examples, deadline=None, suppress_health_check=_TOLERATED)


# Pieces that stress the renderer and the counter: fences, CDATA ends, XML specials, CRs,
# special-token text, non-ASCII, control characters, and code that the ranker reads.
_PIECES = [
    *"abcxyz _():=.,\n\n\t#",
    "é",
    "☕",
    "𝄞",
    "<",
    ">",
    "&",
    '"',
    "`",
    "```",
    "]]>",
    "<![CDATA[",
    "\r\n",
    "\r",
    "\x0c",
    "\u2028",
    "\x00",
    "\ufeff",
    "<|endoftext|>",
    "def f",
    "class K",
    "token budget",
    "import os\n",
    "from pkg import mod\n",
    "# Title\n",
    "Title\n=====\n",
    "if __name__ == '__main__':\n",
]

file_texts = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)

# Characters ``str.splitlines`` breaks lines at but ``\n``-splitting (and ``ast``) do not:
# the manifest numbers lines at ``\n`` only (test_laws_pack.py found a pack that did not).
AMBIGUOUS_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")

_IDENTIFIERS = st.sampled_from(
    ["alpha", "beta", "token_budget", "TokenCounter", "render_block", "parse", "item", "shelf"]
)


@st.composite
def python_modules(draw: st.DrawFn) -> str:
    """A small, valid Python module: imports, functions, a class with methods, a guard."""
    lines = [f'"""Module {draw(_IDENTIFIERS)}."""\n']
    for name in draw(st.lists(st.sampled_from(["os", "pkg.mod_a", "pkg.mod_b"]), max_size=2)):
        lines.append(f"import {name}\n")
    for index in range(draw(st.integers(0, 3))):
        name = draw(_IDENTIFIERS)
        body = draw(st.integers(1, 12))
        lines.append(f'\n\ndef {name}_{index}(value):\n    """Work on {name}."""\n')
        lines.extend(f"    value = value + {step}  # {name}\n" for step in range(body))
        lines.append("    return value\n")
    if draw(st.booleans()):
        lines.append(f"\n\nclass {draw(_IDENTIFIERS).title()}Box:\n    size = 1\n")
        for method in range(draw(st.integers(1, 3))):
            lines.append(f"\n    def m{method}(self):\n        return self.size * {method}\n")
    if draw(st.booleans()):
        lines.append("\n\nif __name__ == '__main__':\n    print('main')\n")
    return "".join(lines)


_TEXT_PATHS = st.sampled_from(
    [
        "README.md",
        "notes.txt",
        "docs/guide.md",
        "docs/index.rst",
        "web/app.js",
        "data/table.csv",
        "setup.cfg",
        "deep/er/still/file.txt",
        "tests/test_mod_a.py",
        "é/ünïcode.md",
        "with space.txt",
    ]
)
_PYTHON_PATHS = st.sampled_from(
    ["pkg/__init__.py", "pkg/mod_a.py", "pkg/mod_b.py", "main.py", "src/lib/core.py"]
)


@st.composite
def trees(draw: st.DrawFn, *, min_files: int = 1, max_files: int = 8) -> dict[str, str | bytes]:
    """A small repository: Python modules that import each other, docs, text."""
    count = draw(st.integers(min_files, max_files))
    tree: dict[str, str | bytes] = {}
    for _ in range(count):
        if draw(st.booleans()):
            tree[draw(_PYTHON_PATHS)] = draw(python_modules())
        else:
            tree[draw(_TEXT_PATHS)] = draw(file_texts)
    return _without_file_dir_clashes(tree)


def _without_file_dir_clashes(tree: dict[str, str | bytes]) -> dict[str, str | bytes]:
    """Drop files whose path is also a directory of another file (cannot both exist)."""
    directories = {
        "/".join(path.split("/")[:i]) for path in tree for i in range(1, path.count("/") + 1)
    }
    return {path: content for path, content in tree.items() if path not in directories}


budgets = st.integers(min_value=1, max_value=4000)

queries = st.one_of(
    st.none(),
    st.sampled_from(["token budget", "How is a block rendered?", "shelf item", "zzzqqq", "the"]),
    st.sampled_from(["", " ", "\t\n"]),  # no query at all
    st.text(max_size=30),
)


def write_tree(root: Path, tree: Tree) -> Path:
    """Write ``tree`` under ``root`` (created) and return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, content in tree.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_bytes(content.encode("utf-8", "surrogatepass"))
    return root


@contextmanager
def written(tree: Tree, name: str = "repo") -> Iterator[Path]:
    """A temporary directory holding ``tree`` under ``name``, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="prop-") as scratch:
        yield write_tree(Path(scratch) / name, tree)


@contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="prop-") as scratch:
        yield Path(scratch)


# --- the arms, as the packer sees them (V2's process pool is exercised separately) -------


def arm_flags(name: str, cache_dir: Path, threshold: float = 0.85) -> Flags:
    """Flags of one arm; V1 and V5 get the given cache directory."""
    cache = os.fspath(cache_dir)
    arms = {
        "baseline": Flags(),
        "V1": Flags(policy_v2=True, aggressive_caching=True, cache_dir=cache),
        "V3": Flags(policy_v2=True, memory_optimization=True, compression=True),
        "V3-reread": Flags(policy_v2=True, memory_optimization=True),
        "V4": Flags(policy_v2=True, hybrid_mode=True, adaptive_threshold=threshold),
        "V5-serial": Flags(
            policy_v2=True,
            aggressive_caching=True,
            memory_optimization=True,
            compression=True,
            hybrid_mode=True,
            adaptive_threshold=threshold,
            cache_dir=cache,
        ),
    }
    return arms[name]


PERFORMANCE_ARMS = ("V1", "V3", "V3-reread")
ALL_ARMS = ("baseline", *PERFORMANCE_ARMS, "V4", "V5-serial")
arms = st.sampled_from(ALL_ARMS)
thresholds = st.floats(min_value=0.01, max_value=1.0, allow_nan=False)
formats = st.sampled_from(["markdown", "xml"])
