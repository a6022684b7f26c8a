"""Flag isolation: a worker sees exactly its own arm's FASTPATH_* flags, nothing leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.arms import (
    Arm,
    ArmWorker,
    WorkerError,
    expected_fastpath_env,
    plan_arms,
    worker_environment,
)
from packrepo.registry import RegistryError, load_registry

LEAKY_PARENT = {
    "PATH": "/usr/bin",
    "HOME": "/home/someone",
    "FASTPATH_HYBRID_MODE": "1",  # set in the runner's shell: must not reach any worker
    "FASTPATH_POLICY_V2": "1",
    "AWS_SECRET": "x",
}


def test_the_environment_holds_only_the_arms_flags_and_its_cache(tmp_path: Path) -> None:
    arm = Arm("baseline", "baseline", {"FASTPATH_POLICY_V2": "0"})
    environment = worker_environment(arm, LEAKY_PARENT, tmp_path)
    fastpath = {k: v for k, v in environment.items() if k.startswith("FASTPATH_")}
    assert fastpath == {"FASTPATH_POLICY_V2": "0", "FASTPATH_CACHE_DIR": str(tmp_path)}
    assert "AWS_SECRET" not in environment
    assert environment["PATH"] == "/usr/bin"


def test_every_worker_imports_alike(tmp_path: Path) -> None:
    # One hash seed, and no worker writes bytecode: otherwise the first worker in a new
    # virtualenv compiles what the second loads, and its ready RSS (the base of every
    # peak) carries the compiler's garbage. Measured: 0.77 MiB apart, A/A memory +0.53%;
    # with this, 0.02 MiB and -0.10% (README, "The A/A memory defect").
    arms = plan_arms(load_registry(), "baseline")
    environments = [worker_environment(arm, LEAKY_PARENT, tmp_path) for arm in arms]
    for environment in environments:
        assert environment["PYTHONHASHSEED"] == "0"
        assert environment["PYTHONDONTWRITEBYTECODE"] == "1"


def test_arms_come_from_the_registry() -> None:
    registry = load_registry()
    baseline, variant = plan_arms(registry, "V3")
    assert (baseline.name, variant.name) == ("baseline", "V3")
    assert variant.flags == registry.variant("V3").flags
    first, second = plan_arms(registry, "baseline")
    assert (first.name, second.name) == ("baseline", "baseline-2")
    assert first.flags == second.flags == registry.baseline.flags
    with pytest.raises(RegistryError, match="unknown variant"):
        plan_arms(registry, "V99")


def test_each_worker_reports_only_its_own_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in LEAKY_PARENT.items():
        if name.startswith("FASTPATH_"):
            monkeypatch.setenv(name, value)
    registry = load_registry()
    workers = [ArmWorker(arm, scratch=tmp_path) for arm in plan_arms(registry, "V4")]
    try:
        reports = [worker.start() for worker in workers]
    finally:
        for worker in workers:
            worker.stop()
    for worker, report in zip(workers, reports, strict=True):
        assert report["fastpath_env"] == expected_fastpath_env(worker.arm, worker.cache_dir)
    baseline, variant = reports
    assert "FASTPATH_HYBRID_MODE" not in baseline["fastpath_env"]
    assert baseline["effective_flags"]["FASTPATH_POLICY_V2"] == "0"
    assert variant["effective_flags"]["FASTPATH_HYBRID_MODE"] == "1"
    assert workers[0].cache_dir != workers[1].cache_dir


def test_a_worker_that_sees_other_flags_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulate a leak: the environment handed to the worker gains a flag the arm lacks.
    import benchmarks.arms as arms_module

    real = arms_module.worker_environment

    def leaky(arm: Arm, base: dict[str, str], cache_dir: Path) -> dict[str, str]:
        return {**real(arm, base, cache_dir), "FASTPATH_AGGRESSIVE_CACHING": "1"}

    monkeypatch.setattr(arms_module, "worker_environment", leaky)
    flags = load_registry().variant("V4").flags
    worker = ArmWorker(Arm("V4", "V4", dict(flags)), scratch=tmp_path)
    with pytest.raises(WorkerError, match="sees FASTPATH_"):
        worker.start()
    assert worker.process is None


def test_a_worker_whose_flags_packrepo_refuses_does_not_start(tmp_path: Path) -> None:
    arm = Arm("broken", "broken", {"FASTPATH_POLICY_V2": "0", "FASTPATH_COMPRESSION": "1"})
    worker = ArmWorker(arm, scratch=tmp_path)
    with pytest.raises(WorkerError, match="failed to start: FlagError"):
        worker.start()
    assert worker.process is None
