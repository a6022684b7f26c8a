"""The JSON edge of every stage: one reader for inputs, one atomic writer for outputs.

Every artifact the pipeline exchanges carries ``"schema": <int>`` and a ``"kind"``.
A reader refuses a schema it does not know (as pyperf refuses an unknown
``_JSON_VERSION``) rather than guess what a newer producer meant; ``true`` and
``1.0`` are not the integer 1.

:func:`read_input` is the only way a stage reads an artifact's bytes. It opens
without blocking (a link is followed to what it names, then judged), refuses
anything but a regular file (a FIFO would hang the reader, a device never ends), caps the
size it reads and how far a ``.gz`` may inflate, and turns every way the bytes
can be unusable into :class:`~contracts.errors.EvidenceError`.

Why hand-written :class:`Fields` and not msgspec structs: measured on a
standard-profile benchmark artifact (78 kB, 160 trials), orjson plus the full
validator takes 3.4 ms and a msgspec typed decode 0.2 ms, some 20 ms per
analysis of six artifacts that takes seconds; and the checks that matter here
(cross-field consistency, summaries recomputed, killed/total, digests) are not
type checks, so msgspec would not remove them. Not worth a dependency.
"""

from __future__ import annotations

import math
import os
import stat
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import orjson

from contracts.errors import EvidenceError, UnreadableError

SCHEMA = 2
"""2: every document's ``provenance`` carries the chain of custody (dirty, producer,
command, run id, input digests). Schema 1 documents are refused, not guessed at."""
MAX_INPUT_BYTES = 256 * 1024 * 1024
"""No artifact of this pipeline comes near this; a larger file is not one of ours."""
MAX_INFLATED_BYTES = 256 * 1024 * 1024
_READ_CHUNK = 1 << 20


def read_input(path: Path, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file at ``path``, inflated when it ends in ``.gz``.

    Raises :class:`EvidenceError` naming the file for: a missing or unreadable
    file, anything that is not a regular file (FIFO, socket, device,
    directory), a file larger than ``limit``, and a ``.gz`` that is truncated,
    corrupt or inflates past :data:`MAX_INFLATED_BYTES`.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise UnreadableError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise EvidenceError(f"{path}: not a regular file ({_file_kind(mode)})")
        raw = _read_capped(descriptor, limit, path)
    except OSError as exc:
        raise UnreadableError(f"{path}: cannot read: {exc.strerror}") from None
    finally:
        os.close(descriptor)
    return _inflate(raw, path) if path.suffix == ".gz" else raw


def _file_kind(mode: int) -> str:
    for test, label in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return label
    return "not a regular file"


def _read_capped(descriptor: int, limit: int, path: Path) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := os.read(descriptor, _READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise EvidenceError(f"{path}: larger than {limit:,} bytes, not an artifact of ours")
        chunks.append(chunk)
    return b"".join(chunks)


def _inflate(raw: bytes, path: Path) -> bytes:
    """Every gzip member of ``raw``, inflated under one cap for all of them together."""
    inflated = bytearray()
    rest = raw
    while rest:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing
        room = MAX_INFLATED_BYTES + 1 - len(inflated)
        try:
            inflated += inflater.decompress(rest, room)
        except zlib.error as exc:
            raise EvidenceError(f"{path}: corrupt gzip data ({exc})") from None
        if len(inflated) > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
            raise EvidenceError(f"{path}: inflates past {MAX_INFLATED_BYTES:,} bytes")
        if not inflater.eof:
            raise EvidenceError(f"{path}: truncated gzip data")
        # gzip(1) allows zero padding after the last member (tape blocks); so do we.
        rest = inflater.unused_data
        if not rest.strip(b"\0"):
            break
    return bytes(inflated)


def load_json(raw: bytes, where: str) -> object:
    """Parse JSON bytes; every failure (nesting too deep included) is an EvidenceError."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise EvidenceError(f"{where}: {json_problem(raw, exc)}") from None
    except RecursionError:  # pragma: no cover - orjson reports depth as a JSONDecodeError
        raise EvidenceError(f"{where}: nested too deeply") from None


def json_problem(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """Why ``raw`` is not JSON; NaN and Infinity (not JSON) are named, not located."""
    message = str(exc)
    if "recursion" in message.lower() or "depth limit" in message.lower():
        return "not valid JSON (nested too deeply)"
    for constant in (b"NaN", b"Infinity"):
        if constant in raw:
            return f"contains {constant.decode()} (JSON has no NaN or Infinity)"
    if "infinity" in message.lower():
        return "contains a number too large to be finite"
    if not raw.strip():
        return "the file is empty"
    return f"not valid JSON ({message})"


def read_object(path: Path) -> Fields:
    """Read and parse ``path`` as a JSON object; any failure names the file."""
    return parse_object(read_input(path), str(path))


def parse_object(raw: bytes, where: str) -> Fields:
    """Parse bytes already read as a JSON object."""
    document = load_json(raw, where)
    if not isinstance(document, dict):
        raise EvidenceError(f"{where}: expected a JSON object, got {type(document).__name__}")
    return Fields(document, where)


def check_header(document: Mapping[str, object], where: str, kind: str, schema: int) -> None:
    """Refuse a document of another ``kind`` or ``schema``; only the integer matches."""
    found_schema = document.get("schema")
    if type(found_schema) is not int:
        raise EvidenceError(f"{where}: `schema` must be the integer {schema}, got {found_schema!r}")
    if found_schema != schema:
        raise EvidenceError(
            f"{where}: unknown schema {found_schema!r} (this version reads {schema})"
        )
    found = document.get("kind")
    if found != kind:
        raise EvidenceError(f"{where}: kind is {found!r}, expected {kind!r}")


def parse_document(raw: bytes, where: str, kind: str, schema: int = SCHEMA) -> Fields:
    """Parse a versioned artifact of the given ``kind``; refuse other schemas and kinds."""
    fields = parse_object(raw, where)
    check_header(fields.raw, where, kind, schema)
    return fields


def read_document(path: Path, kind: str, schema: int = SCHEMA) -> Fields:
    """:func:`read_input` then :func:`parse_document`."""
    return parse_document(read_input(path), str(path), kind, schema)


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

    def count(self, key: str, *, minimum: int = 0) -> int:
        """An integer of at least ``minimum`` (a count of units, trials, requests)."""
        value = self.integer(key)
        if value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def fraction(self, key: str) -> float:
        """A number in [0, 1] (a score, a coverage, a power)."""
        value = self.number(key)
        if not 0.0 <= value <= 1.0:
            raise self.error(key, f"must be a fraction in [0, 1], got {value}")
        return value

    def maybe_fraction(self, key: str) -> float | None:
        value = self._get(key)
        return None if value is None else self.fraction(key)

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


def dumps(document: Mapping[str, object], *, sort_keys: bool = False) -> bytes:
    """Serialise deterministically: fixed indentation, a trailing newline; keys in
    insertion order (which the producers fix) or sorted."""
    option = orjson.OPT_INDENT_2 | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    return orjson.dumps(document, option=option) + b"\n"


def write_json_atomically(
    path: Path, document: Mapping[str, object], *, sort_keys: bool = False
) -> None:
    write_all_atomically({path: dumps(document, sort_keys=sort_keys)})


def write_text_atomically(path: Path, text: str) -> None:
    write_all_atomically({path: text.encode("utf-8")})


def write_all_atomically(outputs: Mapping[Path, bytes]) -> None:
    """Write every output to a temporary sibling first, then move each into place.

    Rendering failures happen before this is called, and a write failure
    leaves no temporary file behind, so readers never see a truncated
    artifact. Outputs get the mode a plain ``open()`` would give (0666 less
    the umask), not mkstemp's 0600. Only regular files are replaced: an
    output path that is a device, FIFO, socket or directory is refused
    (replacing ``/dev/null`` with a file broke a machine once).
    """
    for target in outputs:
        _refuse_special(target)
    staged: list[tuple[Path, Path]] = []
    try:
        for target, payload in outputs.items():
            staged.append((_stage(target, payload), target))
        for temporary, target in staged:
            os.replace(temporary, target)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)


def _refuse_special(target: Path) -> None:
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise EvidenceError(f"{target}: will not replace {_file_kind(mode)} with an artifact")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stage(target: Path, payload: bytes) -> Path:
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    temporary = Path(name)
    try:
        os.fchmod(descriptor, 0o666 & ~_umask())
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary
