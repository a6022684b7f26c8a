"""B2: a pytest plugin that writes ``smoke_tests.json`` (kind ``fastpath-smoke``).

``pytest -p pipeline.smoke --smoke-report artifacts/smoke_tests.json -k "smoke or basic"``
counts passed, failed and errored tests and stamps the result with the
provenance the gates check for staleness (see gates/INPUTS.md).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--smoke-report", default=None, help="write the fastpath-smoke JSON here")


def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption("--smoke-report")
    if target:
        config.pluginmanager.register(SmokeReport(Path(target), config.rootpath), "smoke-report")


class SmokeReport:
    def __init__(self, target: Path, rootpath: Path) -> None:
        self.target = target
        self.rootpath = rootpath
        self.counts: Counter[str] = Counter(passed=0, failed=0, errors=0, skipped=0)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            self.counts["skipped"] += 1
        elif report.when == "call":
            self.counts["passed" if report.passed else "failed"] += 1
        elif report.failed:  # setup or teardown broke: an error, not a failure
            self.counts["errors"] += 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from contracts.documents import SCHEMA, write_json_atomically
        from contracts.provenance import current_provenance

        provenance = current_provenance(self.rootpath / "pyproject.toml", producer="pipeline.smoke")
        document = {
            "schema": SCHEMA,
            "kind": "fastpath-smoke",
            **dict(sorted(self.counts.items())),
            "exitstatus": int(exitstatus),
            "provenance": provenance.to_json(),
        }
        self.target.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(self.target, document, sort_keys=True)
