"""FastPath flags: parsed once, validated, and refused through the CLI with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from packrepo import FlagError, Flags
from packrepo.cli import main
from packrepo.registry import load_registry

REPO = Path(__file__).parent.parent


def test_empty_environment_is_the_baseline() -> None:
    assert Flags.from_environ({}) == Flags()
    assert Flags.from_environ({"PATH": "/bin", "FASTPATH_POLICY_V2": "0"}) == Flags()


def test_every_registry_arm_parses_to_its_own_flags() -> None:
    registry = load_registry(REPO / "pyproject.toml")
    parsed = {name: Flags.from_environ(v.flags) for name, v in registry.variants.items()}
    assert len(set(parsed.values())) == len(parsed)  # six distinct arms
    assert parsed["V2"].parallel_processing
    assert parsed["V2"].batch_size == 64
    assert parsed["V3"].memory_optimization
    assert parsed["V3"].compression
    assert parsed["V4"].hybrid_mode
    assert parsed["V4"].adaptive_threshold == 0.85
    v5 = parsed["V5"]
    assert v5.aggressive_caching
    assert v5.parallel_processing
    assert v5.memory_optimization
    assert v5.hybrid_mode
    assert v5.adaptive_threshold == 0.90


def test_manifest_flags_show_only_values_in_effect() -> None:
    flags = Flags.from_environ({"FASTPATH_POLICY_V2": "1", "FASTPATH_HYBRID_MODE": "1"})
    shown = flags.to_manifest()
    assert shown["FASTPATH_HYBRID_MODE"] == "1"
    assert shown["FASTPATH_ADAPTIVE_THRESHOLD"] == "0.85"
    assert shown["FASTPATH_BATCH_SIZE"] is None


BAD_ENVIRONMENTS = [
    ({"FASTPATH_POLICY_V2": "yes"}, "FASTPATH_POLICY_V2"),
    ({"FASTPATH_POLICY_V2": "1", "FASTPATH_HYBRID_MODE": "true"}, "FASTPATH_HYBRID_MODE"),
    ({"FASTPATH_POLICY_V2": " 1"}, "FASTPATH_POLICY_V2"),
    (
        {
            "FASTPATH_POLICY_V2": "1",
            "FASTPATH_PARALLEL_PROCESSING": "1",
            "FASTPATH_BATCH_SIZE": "abc",
        },
        "FASTPATH_BATCH_SIZE",
    ),
    (
        {
            "FASTPATH_POLICY_V2": "1",
            "FASTPATH_PARALLEL_PROCESSING": "1",
            "FASTPATH_BATCH_SIZE": "0",
        },
        "FASTPATH_BATCH_SIZE",
    ),
    (
        {
            "FASTPATH_POLICY_V2": "1",
            "FASTPATH_PARALLEL_PROCESSING": "1",
            "FASTPATH_BATCH_SIZE": "-3",
        },
        "FASTPATH_BATCH_SIZE",
    ),
    (
        {
            "FASTPATH_POLICY_V2": "1",
            "FASTPATH_HYBRID_MODE": "1",
            "FASTPATH_ADAPTIVE_THRESHOLD": "0",
        },
        "FASTPATH_ADAPTIVE_THRESHOLD",
    ),
    (
        {
            "FASTPATH_POLICY_V2": "1",
            "FASTPATH_HYBRID_MODE": "1",
            "FASTPATH_ADAPTIVE_THRESHOLD": "1.5",
        },
        "FASTPATH_ADAPTIVE_THRESHOLD",
    ),
    (
        {
            "FASTPATH_POLICY_V2": "1",
            "FASTPATH_HYBRID_MODE": "1",
            "FASTPATH_ADAPTIVE_THRESHOLD": "nan",
        },
        "FASTPATH_ADAPTIVE_THRESHOLD",
    ),
    ({"FASTPATH_HYBIRD_MODE": "1"}, "FASTPATH_HYBIRD_MODE"),  # the typo that motivated it
    ({"FASTPATH_HYBRID_MODE": "1"}, "FASTPATH_HYBRID_MODE"),  # needs POLICY_V2=1
    (
        {"FASTPATH_POLICY_V2": "0", "FASTPATH_AGGRESSIVE_CACHING": "1"},
        "FASTPATH_AGGRESSIVE_CACHING",
    ),
    ({"FASTPATH_POLICY_V2": "1", "FASTPATH_BATCH_SIZE": "8"}, "FASTPATH_BATCH_SIZE"),
    ({"FASTPATH_POLICY_V2": "1", "FASTPATH_COMPRESSION": "1"}, "FASTPATH_COMPRESSION"),
    (
        {"FASTPATH_POLICY_V2": "1", "FASTPATH_ADAPTIVE_THRESHOLD": "0.9"},
        "FASTPATH_ADAPTIVE_THRESHOLD",
    ),
]


@pytest.mark.parametrize(("environ", "variable"), BAD_ENVIRONMENTS)
def test_bad_flags_raise_naming_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(FlagError, match=variable):
        Flags.from_environ(environ)


@pytest.mark.parametrize(("environ", "variable"), BAD_ENVIRONMENTS)
def test_cli_refuses_bad_flags_with_one_line_and_exit_2(
    environ: dict[str, str],
    variable: str,
    tiny_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    output = tiny_repo.parent / "pack.md"
    assert main(["pack", str(tiny_repo), "--budget", "10k", "-o", str(output)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert variable in lines[0]
    assert not output.exists()


def test_flags_constructed_directly_are_validated_too() -> None:
    with pytest.raises(FlagError, match="FASTPATH_POLICY_V2"):
        Flags(hybrid_mode=True)
    with pytest.raises(FlagError, match="FASTPATH_BATCH_SIZE"):
        Flags(policy_v2=True, parallel_processing=True, batch_size=0)


@pytest.mark.smoke
def test_cli_subprocess_bad_flag_exits_2_without_traceback(tiny_repo: Path) -> None:
    environment = {"PATH": "/usr/bin:/bin", "FASTPATH_POLICY_V2": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "packrepo.cli", "pack", str(tiny_repo), "--budget", "5k"],
        capture_output=True, text=True, env=environment, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "FASTPATH_POLICY_V2" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        (["--budget", "12q"], "budget"),
        (["--budget", "0"], "budget"),
        (["--budget", "5"], "too small"),
    ],
)
def test_cli_refuses_bad_budgets(
    arguments: list[str], needle: str, tiny_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tiny_repo.parent / "manifest.json"
    code = main(["pack", str(tiny_repo), *arguments, "--manifest", str(manifest)])
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err
    assert len(err.splitlines()) == 1
    assert not manifest.exists()


def test_cli_refuses_a_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pack", str(tmp_path / "nowhere"), "--budget", "1k"]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err
    assert len(err.splitlines()) == 1
