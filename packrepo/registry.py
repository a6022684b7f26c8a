"""The ``[tool.fastpath]`` registry: variants (arms) and gate thresholds.

``pyproject.toml`` is the single place where variants, their flags and intent,
and the acceptance thresholds are written down. Everything else (nox sessions,
benchmarks, gates) asks this module.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

REGISTRY_SCHEMA = 1
INTENTS = ("baseline", "quality", "performance")
DEFAULT_PYPROJECT = Path("pyproject.toml")


class RegistryError(ValueError):
    """The registry is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Variant:
    """One arm of the experiment: a name, its environment flags and its intent."""

    name: str
    intent: str
    flags: dict[str, str]
    metric: str | None = None
    description: str = ""

    @property
    def is_baseline(self) -> bool:
        return self.intent == "baseline"


@dataclass(frozen=True)
class Registry:
    """The parsed ``[tool.fastpath]`` table."""

    variants: dict[str, Variant]
    gates: dict[str, Any]
    encoding: str
    budgets: tuple[str, ...]
    seed: int
    config_sha256: str = field(default="", compare=False)

    @property
    def baseline(self) -> Variant:
        return next(v for v in self.variants.values() if v.is_baseline)

    @property
    def candidates(self) -> list[Variant]:
        """Every variant except the baseline, in registry order."""
        return [v for v in self.variants.values() if not v.is_baseline]

    def variant(self, name: str) -> Variant:
        try:
            return self.variants[name]
        except KeyError:
            known = ", ".join(self.variants)
            raise RegistryError(f"unknown variant `{name}` (known: {known})") from None


def packaged_registry_path() -> Path:
    """The registry of this packrepo: the copy of ``pyproject.toml`` its wheel ships as
    ``packrepo/_registry.toml`` (the same file, not a second registry), or in a source
    checkout the ``pyproject.toml`` beside the package."""
    package = Path(__file__).resolve().parent
    shipped = package / "_registry.toml"
    return shipped if shipped.is_file() else package.parent / "pyproject.toml"


def load_registry(path: Path | str = DEFAULT_PYPROJECT) -> Registry:
    """Read and validate ``[tool.fastpath]`` from a ``pyproject.toml``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RegistryError(f"cannot read registry {path}: {exc.strerror}") from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path} is not valid TOML: {exc}") from None
    table = document.get("tool", {}).get("fastpath")
    if not isinstance(table, dict):
        raise RegistryError(f"{path} has no [tool.fastpath] table")
    registry = parse_registry(table)
    return Registry(
        variants=registry.variants,
        gates=registry.gates,
        encoding=registry.encoding,
        budgets=registry.budgets,
        seed=registry.seed,
        config_sha256=hashlib.sha256(raw).hexdigest(),
    )


def parse_registry(table: dict[str, Any]) -> Registry:
    """Validate an already-parsed ``[tool.fastpath]`` table."""
    schema = table.get("schema")
    if schema != REGISTRY_SCHEMA:
        raise RegistryError(
            f"[tool.fastpath] `schema` is {schema!r}; this version understands {REGISTRY_SCHEMA}"
        )
    variants_table = table.get("variants")
    if not isinstance(variants_table, dict) or not variants_table:
        raise RegistryError("[tool.fastpath.variants] is missing or empty")
    variants = {name: _parse_variant(name, spec) for name, spec in variants_table.items()}
    baselines = [v.name for v in variants.values() if v.is_baseline]
    if len(baselines) != 1:
        raise RegistryError(f"exactly one variant must have intent `baseline`, found {baselines}")
    gates = table.get("gates")
    if not isinstance(gates, dict):
        raise RegistryError("[tool.fastpath.gates] is missing")
    budgets = table.get("budgets", [])
    if not isinstance(budgets, list) or not all(isinstance(b, str) for b in budgets):
        raise RegistryError("[tool.fastpath] `budgets` must be a list of strings like '120k'")
    seed = table.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise RegistryError("[tool.fastpath] `seed` must be an integer")
    encoding = table.get("encoding", "cl100k_base")
    if not isinstance(encoding, str):
        raise RegistryError("[tool.fastpath] `encoding` must be a string")
    return Registry(
        variants=variants, gates=dict(gates), encoding=encoding, budgets=tuple(budgets), seed=seed
    )


def _parse_variant(name: str, spec: Any) -> Variant:
    where = f"[tool.fastpath.variants.{name}]"
    if not isinstance(spec, dict):
        raise RegistryError(f"{where} must be a table")
    intent = spec.get("intent")
    if intent not in INTENTS:
        raise RegistryError(f"{where} `intent` must be one of {INTENTS}, got {intent!r}")
    flags = spec.get("flags")
    if not isinstance(flags, dict) or not all(
        isinstance(k, str) and k.startswith("FASTPATH_") and isinstance(v, str)
        for k, v in flags.items()
    ):
        raise RegistryError(f"{where} `flags` must map FASTPATH_* names to string values")
    metric = spec.get("metric")
    if metric is not None and not isinstance(metric, str):
        raise RegistryError(f"{where} `metric` must be a string")
    return Variant(
        name=name,
        intent=intent,
        flags=dict(flags),
        metric=metric,
        description=str(spec.get("description", "")),
    )
