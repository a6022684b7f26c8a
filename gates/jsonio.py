"""The JSON edge: read versioned artifacts with typed access, write outputs atomically.

Every artifact the pipeline exchanges carries ``"schema": 1`` and a ``"kind"``.
A reader refuses a schema it does not know (as pyperf refuses an unknown
``_JSON_VERSION``) rather than guess what a newer producer meant.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import orjson

from gates.errors import EvidenceError

SCHEMA = 1


def read_object(path: Path) -> Fields:
    """Parse ``path`` as a JSON object; any failure names the file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_object(raw, str(path))


def parse_object(raw: bytes, where: str) -> Fields:
    """Parse bytes already read as a JSON object."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise EvidenceError(f"{where}: not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise EvidenceError(f"{where}: expected a JSON object, got {type(document).__name__}")
    return Fields(document, where)


def parse_document(raw: bytes, where: str, kind: str) -> Fields:
    """Parse a versioned artifact of the given ``kind``; refuse other schemas and kinds."""
    fields = parse_object(raw, where)
    schema = fields.raw.get("schema")
    if schema != SCHEMA:
        raise EvidenceError(f"{where}: unknown schema {schema!r} (this version reads {SCHEMA})")
    found = fields.raw.get("kind")
    if found != kind:
        raise EvidenceError(f"{where}: kind is {found!r}, expected {kind!r}")
    return fields


class Fields:
    """Typed access to one JSON object; errors name the file and the key path.

    ``text``/``number``/... require the key and a non-null value; the ``maybe_``
    forms require the key but accept ``null`` (the producer says "not
    computable" explicitly instead of leaving a key out by accident).
    """

    def __init__(self, raw: Mapping[str, object], where: str) -> None:
        self.raw = raw
        self.where = where

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def error(self, key: str, problem: str) -> EvidenceError:
        return EvidenceError(f"{self.where}: `{key}` {problem}")

    def _get(self, key: str) -> object:
        if key not in self.raw:
            raise self.error(key, "is missing")
        return self.raw[key]

    def _wrong(self, key: str, value: object, label: str) -> EvidenceError:
        # bool is an int in Python but never a count or a measurement in JSON.
        found = "a boolean" if isinstance(value, bool) else type(value).__name__
        return self.error(key, f"must be {label}, got {found}")

    def text(self, key: str) -> str:
        value = self._get(key)
        if isinstance(value, str):
            return value
        raise self._wrong(key, value, "a string")

    def maybe_text(self, key: str) -> str | None:
        value = self._get(key)
        return None if value is None else self.text(key)

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if isinstance(value, bool):
            return value
        raise self._wrong(key, value, "true or false")

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise self._wrong(key, value, "an integer")

    def maybe_integer(self, key: str) -> int | None:
        value = self._get(key)
        return None if value is None else self.integer(key)

    def number(self, key: str) -> float:
        value = self._get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._wrong(key, value, "a number")
        if not math.isfinite(value):
            raise self.error(key, "must be finite")
        return float(value)

    def maybe_number(self, key: str) -> float | None:
        value = self._get(key)
        return None if value is None else self.number(key)

    def child(self, key: str) -> Fields:
        value = self._get(key)
        if isinstance(value, dict):
            return Fields(value, f"{self.where}.{key}")
        raise self._wrong(key, value, "an object")

    def maybe_child(self, key: str) -> Fields | None:
        value = self._get(key)
        return None if value is None else self.child(key)

    def _list(self, key: str) -> list[object]:
        value = self._get(key)
        if isinstance(value, list):
            return value
        raise self._wrong(key, value, "a list")

    def children(self, key: str) -> Iterator[tuple[str, Fields]]:
        """The entries of an object whose values are objects, in document order."""
        return self.child(key).entries()

    def entries(self) -> Iterator[tuple[str, Fields]]:
        """This object's own entries, each of which must be an object."""
        for name in self.raw:
            yield name, self.child(name)

    def items(self, key: str) -> Iterator[Fields]:
        """The entries of a list of objects."""
        for index, item in enumerate(self._list(key)):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{index}]", "must be an object")
            yield Fields(item, f"{self.where}.{key}[{index}]")

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._list(key)
        texts = tuple(item for item in value if isinstance(item, str))
        if len(texts) != len(value):
            raise self.error(key, "must be a list of strings")
        return texts

    def numbers(self, key: str) -> dict[str, float]:
        """An object mapping names to numbers."""
        table = self.child(key)
        return {name: table.number(name) for name in table.raw}


def dumps(document: Mapping[str, object]) -> bytes:
    """Serialise deterministically: fixed indentation, a trailing newline."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def write_all_atomically(outputs: Mapping[Path, bytes]) -> None:
    """Write every output to a temporary sibling first, then move each into place.

    Rendering failures happen before this is called, and a write failure
    leaves no temporary file behind, so readers never see a truncated artifact.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for target, payload in outputs.items():
            staged.append((_stage(target, payload), target))
        for temporary, target in staged:
            os.replace(temporary, target)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)


def _stage(target: Path, payload: bytes) -> Path:
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary
