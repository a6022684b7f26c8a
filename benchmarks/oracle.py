"""The QA oracle: an evidence-recall proxy for QA accuracy, with no LLM.

Construction (oracle version 1; ``benchmarks/ORACLE.md`` explains it and its limits):

1. *Targets* are module-level functions, classes and methods (any depth of class
   nesting, not functions nested in functions) of library code: files under
   test, documentation, example or tooling directories are not targets.
2. A target's *question* is the first sentence of its docstring with every
   identifier removed: inline code (reST roles and backticks), any token that
   looks like code (``_``, a dotted name, a call, CamelCase, digits or operator
   characters), the parts of the target's qualified name, and every name that a
   ``def`` or ``class`` binds anywhere in the repository. A question needs at
   least :data:`MIN_CONTENT_WORDS` content words left; a question text shared by
   two targets is ambiguous and neither is asked.
3. Questions are drawn in a seeded order (``random.Random(f"{seed}:{name}")``,
   stable across processes and Python versions, unlike the salted ``hash()``).
4. The *prepared* copy of the tree, which is what gets packed, has the drawn
   targets' docstrings removed (a docstring that is the only statement becomes
   ``...``), so the code stays valid. The gold evidence is the target's whole
   span, decorators through last line, in the prepared copy, checked by
   re-parsing it.
5. A drawn question is kept only if neither its text nor its source sentence
   occurs verbatim (case and whitespace normalised) anywhere in the prepared
   tree.

One question's score on one pack is the fraction of its gold lines that the
pack contains, counted from the manifest and checked against the pack text.
"""

from __future__ import annotations

import ast
import contextlib
import os
import random
import re
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import orjson

from benchmarks.corpus import iter_text_files
from benchmarks.treemanifest import check_tree, digest_of, file_digests, write_manifest
from contracts.documents import load_json, read_input
from contracts.errors import EvidenceError

ORACLE_VERSION = 1
QUESTIONS_SCHEMA = 1
QUESTIONS_KIND = "packrepo-oracle-questions"
# Questions prepared per repository; every profile asks a prefix of them, so the
# prepared tree (and each question's gold span) does not depend on the profile.
QUESTION_POOL = 40
MIN_CONTENT_WORDS = 5
MIN_GOLD_LINES = 2
MAX_GOLD_LINES = 200

# Directories and files whose code is not asked about: tests, docs, examples, tooling.
_NON_LIBRARY_DIRS = frozenset(
    {"test", "tests", "testing", "doc", "docs", "example", "examples", "bench",
     "benchmarks", "scripts", "tools", "fixtures"}
)  # fmt: skip
_NON_LIBRARY_FILES = frozenset({"setup.py", "conftest.py", "noxfile.py", "tasks.py", "conf.py"})
# str.splitlines() breaks on these, "\n"-splitting and ast do not: targets in files holding
# any of them are skipped so that every reader agrees on line numbers.
_AMBIGUOUS_LINE_BREAKS = frozenset("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_INLINE_CODE = re.compile(r":[\w:+.-]+:`[^`]*`|``[^`]*``|`[^`]*`")
_CALL = re.compile(r"\w\(")
_DOTTED = re.compile(r"\w\.\w")
_CAMEL = re.compile(r"[a-z][A-Z]|[A-Z]{2,}[a-z]{2,}")
_CODE_CHARS = frozenset("_`=<>[]{}@#$%^&*|\\/~+")
_EDGE_PUNCTUATION = ".,;:!?\"'()[]{}*-"
_SENTENCE = re.compile(r"(.+?[.!?])(?=\s|$)")
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each either
    else etc few for from further had has have having here how however if in into is it its
    itself just may might more most must no nor not now of off on once only or other otherwise
    our out over own same shall should so some such than that the their them then there these
    they this those through thus to too under until up upon very via was we were what when
    where whether which while who whom why will with within without would yet you your"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


class OracleError(RuntimeError):
    """A question set cannot be built, read or scored."""


@dataclass(frozen=True)
class GoldSpan:
    """A question's evidence: lines ``start_line..end_line`` (1-based, inclusive) of ``path``."""

    path: str
    start_line: int
    end_line: int

    @property
    def line_count(self) -> int:
        return self.end_line - self.start_line + 1


@dataclass(frozen=True)
class Question:
    id: str
    repository: str
    text: str
    target: str  # qualified name, e.g. "Request.get_json"
    kind: str  # function | method | class
    gold: GoldSpan
    source_sentence: str  # the docstring sentence it was made from (removed from the tree)


@dataclass(frozen=True)
class QuestionSet:
    """The questions of one repository and the prepared tree they are asked about."""

    repository: str
    version: str
    source_digest: str
    seed: int
    tree: Path
    questions: tuple[Question, ...]
    eligible_targets: int
    dropped_verbatim: int

    def gold_lines(self, question: Question) -> list[str]:
        """The prepared file of ``question``'s gold span, split into lines."""
        return (self.tree / question.gold.path).read_text(encoding="utf-8").split("\n")


@dataclass(frozen=True)
class _Candidate:
    path: str
    qualname: str
    kind: str
    start_line: int  # first decorator, or the def/class line
    end_line: int
    doc_start: int
    doc_end: int
    doc_only_statement: bool
    text: str
    source_sentence: str


# ---------------------------------------------------------------------------
# Questions from docstrings (pure)
# ---------------------------------------------------------------------------


def first_sentence(docstring: str) -> str:
    """The first sentence of a docstring's first paragraph, whitespace collapsed."""
    paragraph = docstring.strip().split("\n\n")[0]
    flat = " ".join(paragraph.split())
    match = _SENTENCE.match(flat)
    return match.group(1) if match else flat


def name_parts(qualname: str) -> frozenset[str]:
    """Lower-cased components of a qualified name and their snake/Camel parts (3+ letters)."""
    parts: set[str] = set()
    for component in qualname.split("."):
        parts.add(component.lower())
        for piece in re.split(r"_+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", component):
            if len(piece) >= 3:
                parts.add(piece.lower())
    return frozenset(parts)


def looks_like_code(token: str) -> bool:
    core = token.strip(_EDGE_PUNCTUATION)
    return (
        any(c in _CODE_CHARS for c in token)
        or bool(_CALL.search(token))
        or bool(_DOTTED.search(core))
        or bool(_CAMEL.search(core))
        or any(c.isdigit() for c in core)
    )


def make_question(sentence: str, qualname: str, defined_names: frozenset[str]) -> str:
    """Remove identifiers from a docstring sentence; what is left is the question text."""
    parts = name_parts(qualname)
    kept: list[str] = []
    for token in _INLINE_CODE.sub(" ", sentence).split():
        core = token.strip(_EDGE_PUNCTUATION)
        if not core or looks_like_code(token) or token.startswith(":"):
            continue
        if core in defined_names and not core.islower():
            continue  # a class or constant name; lower-case ones are mostly plain words
        lowered = core.lower()
        if lowered in parts or lowered.removesuffix("s") in parts:
            continue
        kept.append(token)
    return " ".join(kept)


def content_words(text: str) -> list[str]:
    words = (token.strip(_EDGE_PUNCTUATION).lower() for token in text.split())
    return [w for w in words if len(w) >= 3 and w.isalpha() and w not in STOPWORDS]


def normalise(text: str) -> str:
    """Case- and whitespace-normalised text, for the verbatim checks."""
    return " ".join(text.lower().split())


# ---------------------------------------------------------------------------
# Targets in a parsed module (pure)
# ---------------------------------------------------------------------------

_Definition: TypeAlias = "ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef"
_DEFINITION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def is_library_path(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        name.endswith(".py")
        and not any(p.lower() in _NON_LIBRARY_DIRS for p in parts[:-1])
        and name not in _NON_LIBRARY_FILES
        and not name.startswith("test_")
        and not name.endswith("_test.py")
    )


def _definitions(
    body: Sequence[ast.stmt], prefix: str, in_class: bool
) -> Iterator[tuple[str, str, _Definition]]:
    """(qualname, kind, node) of defs and classes, through if/try/with blocks, not into defs."""
    for statement in body:
        if isinstance(statement, _DEFINITION_TYPES):
            qualname = f"{prefix}{statement.name}"
            if isinstance(statement, ast.ClassDef):
                yield qualname, "class", statement
                yield from _definitions(statement.body, f"{qualname}.", True)
            else:
                yield qualname, "method" if in_class else "function", statement
        else:
            for block in _nested_blocks(statement):
                yield from _definitions(block, prefix, in_class)


def _nested_blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    if isinstance(statement, (ast.If, ast.With, ast.AsyncWith)):
        return [statement.body, getattr(statement, "orelse", [])]
    if isinstance(statement, ast.Try):
        return [statement.body, statement.orelse, statement.finalbody] + [
            handler.body for handler in statement.handlers
        ]
    return []


def defined_names(module: ast.Module) -> set[str]:
    """Every name a ``def`` or ``class`` binds in a module, at any depth."""
    return {node.name for node in ast.walk(module) if isinstance(node, _DEFINITION_TYPES)}


def _candidate(
    path: str,
    lines: Sequence[str],
    qualname: str,
    kind: str,
    node: _Definition,
    defined: frozenset[str],
) -> _Candidate | None:
    docstring = ast.get_docstring(node)
    if not docstring:
        return None
    doc = node.body[0]
    if doc.end_lineno is None or doc.end_col_offset is None:
        return None  # positions are always set by ast.parse; hand-made nodes are skipped
    # The docstring must own its lines, so that removing them leaves the rest intact.
    if lines[doc.lineno - 1][: doc.col_offset].strip():
        return None
    if lines[doc.end_lineno - 1][doc.end_col_offset :].strip():
        return None
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    end = node.end_lineno or node.lineno
    doc_lines = doc.end_lineno - doc.lineno + 1
    gold_lines = end - start + 1 - doc_lines + (1 if len(node.body) == 1 else 0)
    if not MIN_GOLD_LINES <= gold_lines <= MAX_GOLD_LINES:
        return None
    sentence = first_sentence(docstring)
    text = make_question(sentence, qualname, defined)
    if len(content_words(text)) < MIN_CONTENT_WORDS:
        return None
    return _Candidate(
        path=path,
        qualname=qualname,
        kind=kind,
        start_line=start,
        end_line=end,
        doc_start=doc.lineno,
        doc_end=doc.end_lineno,
        doc_only_statement=len(node.body) == 1,
        text=text,
        source_sentence=sentence,
    )


# ---------------------------------------------------------------------------
# Building a question set
# ---------------------------------------------------------------------------


@dataclass
class _Source:
    """The text files of a tree, and what the oracle learned from its Python files."""

    texts: dict[str, str]
    modules: dict[str, ast.Module] = field(default_factory=dict)
    defined: set[str] = field(default_factory=set)


def _read_source(root: Path) -> _Source:
    source = _Source(texts={p.relative_to(root).as_posix(): t for p, t in iter_text_files(root)})
    for path, text in source.texts.items():
        if not path.endswith(".py"):
            continue
        try:
            module = ast.parse(text)
        except (SyntaxError, ValueError):
            continue  # fixtures of formatters and linters need not be valid Python
        source.modules[path] = module
        if is_library_path(path):  # test doubles (class A, class Foo) are not the library's names
            source.defined |= defined_names(module)
    return source


def find_candidates(source: _Source) -> list[_Candidate]:
    """Every eligible target with its question, sorted by path and line."""
    defined = frozenset(source.defined)
    found: list[_Candidate] = []
    for path, module in sorted(source.modules.items()):
        text = source.texts[path]
        if not is_library_path(path) or any(c in _AMBIGUOUS_LINE_BREAKS for c in text):
            continue
        lines = text.split("\n")
        for qualname, kind, node in _definitions(module.body, "", False):
            candidate = _candidate(path, lines, qualname, kind, node, defined)
            if candidate is not None:
                found.append(candidate)
    counts = Counter(normalise(c.text) for c in found)
    return [c for c in found if counts[normalise(c.text)] == 1]


def _line_mapper(removals: Sequence[tuple[int, int, int]]) -> Any:
    """Old line -> new line after removing ranges ``(a, b, kept)``; ``kept`` lines remain."""

    def new_line(old: int) -> int:
        removed_before = 0
        for first, last, kept in removals:
            if last < old:
                removed_before += last - first + 1 - kept
            elif first <= old:
                return first - removed_before  # inside a range: its replacement line
        return old - removed_before

    return new_line


def strip_docstrings(
    text: str, candidates: Sequence[_Candidate]
) -> tuple[str, dict[str, GoldSpan]]:
    """Remove the candidates' docstrings from one file; return the text and the gold spans."""
    lines = text.split("\n")
    removals = sorted((c.doc_start, c.doc_end, int(c.doc_only_statement)) for c in candidates)
    for first, last, kept in reversed(removals):
        indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
        lines[first - 1 : last] = [f"{indent}..."] if kept else []
    new_line = _line_mapper(removals)
    spans = {
        c.qualname: GoldSpan(c.path, new_line(c.start_line), new_line(c.end_line))
        for c in candidates
    }
    return "\n".join(lines), spans


def _check_spans(path: str, text: str, spans: Mapping[str, GoldSpan]) -> None:
    """Re-parse a prepared file: each gold span must be exactly one definition's span."""
    try:
        module = ast.parse(text)
    except SyntaxError as exc:
        raise OracleError(f"removing docstrings broke {path}: {exc}") from None
    found = {
        (qualname, min([n.lineno] + [d.lineno for d in n.decorator_list]), n.end_lineno)
        for qualname, _, n in _definitions(module.body, "", False)
    }
    for qualname, span in spans.items():
        if (qualname, span.start_line, span.end_line) not in found:
            raise OracleError(f"{path}: gold span of {qualname} does not match the prepared code")


@dataclass(frozen=True)
class _Draw:
    """One attempt: which docstrings are stripped and which questions survive."""

    texts: dict[str, str]
    modified: frozenset[str]
    spans: dict[tuple[str, str], GoldSpan]
    accepted: list[_Candidate]
    dropped_verbatim: int


def _draw(source: _Source, stripped: Sequence[_Candidate], pool: int) -> _Draw:
    by_path: dict[str, list[_Candidate]] = {}
    for candidate in stripped:
        by_path.setdefault(candidate.path, []).append(candidate)
    texts = dict(source.texts)
    spans: dict[tuple[str, str], GoldSpan] = {}
    for path, group in by_path.items():
        texts[path], file_spans = strip_docstrings(source.texts[path], group)
        _check_spans(path, texts[path], file_spans)
        spans.update({(path, q): s for q, s in file_spans.items()})
    haystack = "\n".join(normalise(t) for _, t in sorted(texts.items()))
    accepted: list[_Candidate] = []
    dropped = 0
    for candidate in stripped:
        if len(accepted) == pool:
            break
        if normalise(candidate.text) in haystack or normalise(candidate.source_sentence) in (
            haystack
        ):
            dropped += 1
        else:
            accepted.append(candidate)
    return _Draw(
        texts=texts,
        modified=frozenset(by_path),
        spans=spans,
        accepted=accepted,
        dropped_verbatim=dropped,
    )


def draw_questions(source: _Source, name: str, seed: int, pool: int = QUESTION_POOL) -> _Draw:
    """Seeded draw of up to ``pool`` questions that pass the verbatim checks."""
    candidates = find_candidates(source)
    # Sampling questions, not security.
    order = random.Random(f"{seed}:{name}")  # noqa: S311  # nosec B311
    order.shuffle(candidates)
    take = min(len(candidates), 2 * pool)
    while True:
        draw = _draw(source, candidates[:take], pool)
        if len(draw.accepted) == pool or take == len(candidates):
            return draw
        take = min(len(candidates), take + pool)


def question_capacity(root: Path, name: str, seed: int, pools: Sequence[int]) -> list[int]:
    """How many questions ``root`` gives at each pool size: the draw a prepared tree would
    make, counted in memory (nothing is written). A sizing aid: more questions per
    repository than its eligible targets allow cannot be had."""
    source = _read_source(root)
    return [len(draw_questions(source, name, seed, pool).accepted) for pool in pools]


def build_question_set(
    root: Path, *, name: str, version: str, digest: str, seed: int, destination: Path
) -> QuestionSet:
    """Prepare the tree of ``root`` into ``destination``/tree and write its questions.json."""
    source = _read_source(root)
    draw = draw_questions(source, name, seed)
    questions = tuple(
        Question(
            id=f"{c.path}::{c.qualname}",
            repository=name,
            text=c.text,
            target=c.qualname,
            kind=c.kind,
            gold=draw.spans[(c.path, c.qualname)],
            source_sentence=c.source_sentence,
        )
        for c in draw.accepted
    )
    if not questions:
        raise OracleError(f"{name}: no eligible question (is there documented library code?)")
    tree = destination / "tree"
    shutil.copytree(root, tree, symlinks=True)
    for path in draw.modified:
        (tree / path).write_text(draw.texts[path], encoding="utf-8")
    question_set = QuestionSet(
        repository=name,
        version=version,
        source_digest=digest,
        seed=seed,
        tree=tree,
        questions=questions,
        eligible_targets=len(find_candidates(source)),
        dropped_verbatim=draw.dropped_verbatim,
    )
    (destination / "questions.json").write_bytes(
        orjson.dumps(question_set_to_json(question_set), option=orjson.OPT_INDENT_2)
    )
    return question_set


def tree_digest(root: Path) -> str:
    """sha256 over the relative paths and contents of every file under ``root``."""
    return digest_of(file_digests(root))


def ensure_question_set(
    root: Path, *, name: str, version: str, digest: str, seed: int, cache: Path
) -> QuestionSet:
    """The question set of a tree, built once into ``cache``/prepared and reused.

    The prepared copy is what the benchmarks pack, so it gets a manifest like an
    extracted tree: a copy that differs from it (or has none) is built again.
    """
    slot = cache / "prepared" / f"{name}-{version}-{digest[:12]}-oracle{ORACLE_VERSION}-seed{seed}"
    source = f"oracle {ORACLE_VERSION} seed {seed} from {digest}"
    if (slot / "questions.json").is_file():
        difference, _ = check_tree(slot / "tree", source=source)
        if not difference:
            with contextlib.suppress(OracleError):
                return load_question_set(slot)
        elif not difference.unreadable:
            print(
                f"oracle: {slot.name}/tree differs from its manifest ({difference.describe()});"
                " preparing it again",
                file=sys.stderr,
            )
        shutil.rmtree(slot)  # stale, cut short or changed: rebuild
    slot.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=slot.parent, prefix=".prepare-"))
    try:
        build_question_set(
            root, name=name, version=version, digest=digest, seed=seed, destination=scratch
        )
        write_manifest(scratch / "tree", source=source)
        if not (slot / "questions.json").is_file():  # another process may have won the race
            if slot.exists():
                shutil.rmtree(slot)
            os.replace(scratch, slot)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return load_question_set(slot)


# ---------------------------------------------------------------------------
# questions.json (versioned)
# ---------------------------------------------------------------------------


def question_set_to_json(question_set: QuestionSet) -> dict[str, Any]:
    return {
        "schema": QUESTIONS_SCHEMA,
        "kind": QUESTIONS_KIND,
        "oracle_version": ORACLE_VERSION,
        "repository": question_set.repository,
        "version": question_set.version,
        "source_digest": question_set.source_digest,
        "seed": question_set.seed,
        "eligible_targets": question_set.eligible_targets,
        "dropped_verbatim": question_set.dropped_verbatim,
        "questions": [
            {
                "id": q.id,
                "text": q.text,
                "target": q.target,
                "kind": q.kind,
                "gold": {
                    "path": q.gold.path,
                    "start_line": q.gold.start_line,
                    "end_line": q.gold.end_line,
                },
                "source_sentence": q.source_sentence,
            }
            for q in question_set.questions
        ],
    }


def load_question_set(slot: Path) -> QuestionSet:
    """Read ``slot``/questions.json; other schema or oracle versions are refused."""
    where = slot / "questions.json"
    try:
        document = load_json(read_input(where), str(where))
    except EvidenceError as exc:
        raise OracleError(f"cannot read question set: {exc}") from None
    if not isinstance(document, dict) or document.get("kind") != QUESTIONS_KIND:
        raise OracleError(f"{where}: not a question set")
    if type(document.get("schema")) is not int or document.get("schema") != QUESTIONS_SCHEMA:
        raise OracleError(f"{where}: unknown schema {document.get('schema')!r}")
    if document.get("oracle_version") != ORACLE_VERSION:
        raise OracleError(f"{where}: built by oracle version {document.get('oracle_version')!r}")
    try:
        questions = tuple(
            Question(
                id=q["id"],
                repository=document["repository"],
                text=q["text"],
                target=q["target"],
                kind=q["kind"],
                gold=GoldSpan(q["gold"]["path"], q["gold"]["start_line"], q["gold"]["end_line"]),
                source_sentence=q["source_sentence"],
            )
            for q in document["questions"]
        )
        return QuestionSet(
            repository=document["repository"],
            version=document["version"],
            source_digest=document["source_digest"],
            seed=document["seed"],
            tree=slot / "tree",
            questions=questions,
            eligible_targets=document["eligible_targets"],
            dropped_verbatim=document["dropped_verbatim"],
        )
    except (KeyError, TypeError) as exc:
        raise OracleError(f"{where}: malformed ({exc!r})") from None


# ---------------------------------------------------------------------------
# Scoring one pack (pure)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceScore:
    """Gold lines found in a pack: claimed by the manifest *and* present in the text."""

    score: float
    gold_lines: int
    present_lines: int
    unverified_lines: int  # claimed by the manifest but not found verbatim in the text


def score_evidence(
    gold: GoldSpan,
    file_lines: Sequence[str],
    items: Sequence[Mapping[str, Any]],
    pack_text: str,
) -> EvidenceScore:
    """Fraction of ``gold``'s lines present in a pack.

    ``file_lines`` are the lines of the gold file (``text.split("\\n")``);
    ``items`` are the pack manifest's items. Each item's overlap with the gold
    span counts only when that block of lines occurs verbatim in ``pack_text``,
    so a manifest cannot claim evidence the text does not hold.
    """
    present: set[int] = set()
    unverified: set[int] = set()
    for index, item in enumerate(items):
        path, start, end = _item_range(item, index)
        if path != gold.path:
            continue
        low, high = max(start, gold.start_line), min(end, gold.end_line)
        if low > high:
            continue
        block = "\n".join(file_lines[low - 1 : high])
        (present if block in pack_text else unverified).update(range(low, high + 1))
    unverified -= present
    return EvidenceScore(
        score=len(present) / gold.line_count,
        gold_lines=gold.line_count,
        present_lines=len(present),
        unverified_lines=len(unverified),
    )


def _item_range(item: Mapping[str, Any], index: int) -> tuple[str, int, int]:
    path, start, end = item.get("path"), item.get("start_line"), item.get("end_line")
    if not isinstance(path, str) or not isinstance(start, int) or not isinstance(end, int):
        raise OracleError(f"manifest items[{index}] needs `path`, `start_line` and `end_line`")
    return path, start, end
