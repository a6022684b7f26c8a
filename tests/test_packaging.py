"""Packaging basics, checked fast: one version source, the entry points, what the sdist ships,
pinned pre-commit hooks, a release workflow that checks its tag.

Building the wheel and installing it alone (then `packrepo --version`, `python -m packrepo
--help` and `mypy --strict` on tests/packaging/consumer.py) is `nox -s package`, a CI job
and a step of the release workflow: too slow for this suite.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import packrepo
from packrepo.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_version_is_written_once_and_the_build_reads_it() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project
    assert project["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "packrepo/__init__.py"
    assert re.fullmatch(r"\d+\.\d+\.\d+", packrepo.__version__)
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog


def test_version_and_help_from_the_command_and_the_module(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"packrepo {packrepo.__version__}\n"
    completed = subprocess.run(
        [sys.executable, "-m", "packrepo", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("usage: packrepo")


def test_the_package_is_typed_licensed_and_the_sdist_ships_no_tests() -> None:
    assert (ROOT / "packrepo" / "py.typed").is_file()
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert PYPROJECT["project"]["license"] == "MIT"
    assert license_text.startswith("MIT License")
    included = PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    assert not any("tests" in pattern for pattern in included)
    assert {"/packrepo", "/LICENSE", "/pyproject.toml"} <= set(included)
    urls = PYPROJECT["project"]["urls"]
    for target in urls.values():  # documents the sdist ships, never a guessed host
        assert (ROOT / target).is_file(), target
        assert f"/{target}" in included, target


def test_pre_commit_hooks_come_from_upstream_pinned_to_a_release() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    repos = config["repos"]
    assert repos
    for repo in repos:
        assert repo["repo"].startswith("https://"), repo["repo"]
        assert re.fullmatch(r"v\d+\.\d+\.\d+", repo["rev"]), repo
    hooks = {hook["id"] for repo in repos for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "mypy"} <= hooks


def test_the_release_workflow_checks_its_tag_and_says_where_releases_go() -> None:
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    build = [step.get("run", "") for step in workflow["jobs"]["build"]["steps"]]
    assert 'nox -s package -- --tag "$GITHUB_REF_NAME"' in build
    publish = workflow["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}  # trusted publishing, no token
    assert "vars.PUBLISH_TO_INDEX" in publish["if"]
    assert "GitHub Releases" in text.splitlines()[0]
    assert (ROOT / "docs" / "releasing.md").is_file()
