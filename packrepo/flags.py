"""FastPath flags: read once from the environment, validated, frozen.

Every ``FASTPATH_*`` variable is known here. An unknown one is refused rather than
ignored, because a typo such as ``FASTPATH_HYBIRD_MODE`` would otherwise silently run
the baseline and spoil an experiment. A sub-flag whose parent is off is refused too
(it would be a silent no-op): every feature flag needs ``FASTPATH_POLICY_V2=1``,
``FASTPATH_BATCH_SIZE`` needs parallel processing, ``FASTPATH_COMPRESSION`` needs memory
optimisation, and ``FASTPATH_ADAPTIVE_THRESHOLD`` needs hybrid mode.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from packrepo.errors import FlagError

POLICY_V2 = "FASTPATH_POLICY_V2"
AGGRESSIVE_CACHING = "FASTPATH_AGGRESSIVE_CACHING"
PARALLEL_PROCESSING = "FASTPATH_PARALLEL_PROCESSING"
BATCH_SIZE = "FASTPATH_BATCH_SIZE"
MEMORY_OPTIMIZATION = "FASTPATH_MEMORY_OPTIMIZATION"
COMPRESSION = "FASTPATH_COMPRESSION"
HYBRID_MODE = "FASTPATH_HYBRID_MODE"
ADAPTIVE_THRESHOLD = "FASTPATH_ADAPTIVE_THRESHOLD"
# Where the V1 cache lives; a location, not a behaviour, so it is not in the manifest.
CACHE_DIR = "FASTPATH_CACHE_DIR"

BOOLEAN_FLAGS = (
    POLICY_V2,
    AGGRESSIVE_CACHING,
    PARALLEL_PROCESSING,
    MEMORY_OPTIMIZATION,
    COMPRESSION,
    HYBRID_MODE,
)
KNOWN_VARIABLES = (*BOOLEAN_FLAGS, BATCH_SIZE, ADAPTIVE_THRESHOLD, CACHE_DIR)
DEFAULT_BATCH_SIZE = 64
DEFAULT_THRESHOLD = 0.85


@dataclass(frozen=True)
class Flags:
    """The effective FastPath flags of one pack.

    ``Flags()`` is the baseline. Constructing an inconsistent instance raises
    :class:`FlagError` exactly as the environment parser does.
    """

    policy_v2: bool = False
    aggressive_caching: bool = False
    parallel_processing: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    memory_optimization: bool = False
    compression: bool = False
    hybrid_mode: bool = False
    adaptive_threshold: float = DEFAULT_THRESHOLD
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or self.batch_size <= 0:
            raise FlagError(f"{BATCH_SIZE} must be a positive integer, got {self.batch_size!r}")
        if not (0.0 < self.adaptive_threshold <= 1.0):
            raise FlagError(
                f"{ADAPTIVE_THRESHOLD} must be a number in (0, 1], got {self.adaptive_threshold!r}"
            )
        features = {
            AGGRESSIVE_CACHING: self.aggressive_caching,
            PARALLEL_PROCESSING: self.parallel_processing,
            MEMORY_OPTIMIZATION: self.memory_optimization,
            COMPRESSION: self.compression,
            HYBRID_MODE: self.hybrid_mode,
        }
        enabled = [name for name, on in features.items() if on]
        if enabled and not self.policy_v2:
            raise FlagError(f"{enabled[0]}=1 requires {POLICY_V2}=1 (the baseline has no variants)")
        if self.compression and not self.memory_optimization:
            raise FlagError(f"{COMPRESSION}=1 requires {MEMORY_OPTIMIZATION}=1")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Flags:
        """Parse every ``FASTPATH_*`` variable of ``environ`` (e.g. ``os.environ``)."""
        given = {key: value for key, value in environ.items() if key.startswith("FASTPATH_")}
        unknown = sorted(set(given) - set(KNOWN_VARIABLES))
        if unknown:
            raise FlagError(
                f"unknown FastPath variable {unknown[0]} (known: {', '.join(KNOWN_VARIABLES)})"
            )
        booleans = {name: _parse_boolean(name, given.get(name)) for name in BOOLEAN_FLAGS}
        if BATCH_SIZE in given and not booleans[PARALLEL_PROCESSING]:
            raise FlagError(f"{BATCH_SIZE} requires {PARALLEL_PROCESSING}=1")
        if ADAPTIVE_THRESHOLD in given and not booleans[HYBRID_MODE]:
            raise FlagError(f"{ADAPTIVE_THRESHOLD} requires {HYBRID_MODE}=1")
        cache_dir = given.get(CACHE_DIR) or None
        return cls(
            policy_v2=booleans[POLICY_V2],
            aggressive_caching=booleans[AGGRESSIVE_CACHING],
            parallel_processing=booleans[PARALLEL_PROCESSING],
            batch_size=_parse_batch_size(given.get(BATCH_SIZE)),
            memory_optimization=booleans[MEMORY_OPTIMIZATION],
            compression=booleans[COMPRESSION],
            hybrid_mode=booleans[HYBRID_MODE],
            adaptive_threshold=_parse_threshold(given.get(ADAPTIVE_THRESHOLD)),
            cache_dir=cache_dir,
        )

    def to_manifest(self) -> dict[str, str | None]:
        """The effective flags as environment values; ``None`` marks a value not in effect."""
        return {
            POLICY_V2: _bit(self.policy_v2),
            AGGRESSIVE_CACHING: _bit(self.aggressive_caching),
            PARALLEL_PROCESSING: _bit(self.parallel_processing),
            BATCH_SIZE: str(self.batch_size) if self.parallel_processing else None,
            MEMORY_OPTIMIZATION: _bit(self.memory_optimization),
            COMPRESSION: _bit(self.compression),
            HYBRID_MODE: _bit(self.hybrid_mode),
            ADAPTIVE_THRESHOLD: repr(self.adaptive_threshold) if self.hybrid_mode else None,
        }


def _bit(value: bool) -> str:
    return "1" if value else "0"


def _parse_boolean(name: str, value: str | None) -> bool:
    if value is None or value == "0":
        return False
    if value == "1":
        return True
    raise FlagError(f"{name} must be 0 or 1, got {value!r}")


def _parse_batch_size(value: str | None) -> int:
    if value is None:
        return DEFAULT_BATCH_SIZE
    if not value.isascii() or not value.isdigit() or int(value) <= 0:
        raise FlagError(f"{BATCH_SIZE} must be a positive integer, got {value!r}")
    return int(value)


def _parse_threshold(value: str | None) -> float:
    if value is None:
        return DEFAULT_THRESHOLD
    try:
        threshold = float(value)
    except ValueError:
        threshold = math.nan
    if not (0.0 < threshold <= 1.0):
        raise FlagError(f"{ADAPTIVE_THRESHOLD} must be a number in (0, 1], got {value!r}")
    return threshold
