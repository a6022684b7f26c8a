"""One run at a time: the lock, and two runs started at once."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_pipeline import REGISTRY, ROOT, isolated_run, make_plan, simulated

from contracts.lock import LockHeldError, acquire, holder_pid, lock_path
from pipeline.promote import gate, run

__all__ = ["isolated_run"]  # the autouse fixture of test_pipeline applies here too


def test_the_lock_records_its_holder_and_excludes_a_second_taker(tmp_path: Path) -> None:
    path = lock_path(tmp_path)
    with acquire(path):
        assert holder_pid(path) == os.getpid()
        # flock belongs to an open file: a second open, even in this process, is refused.
        with pytest.raises(LockHeldError, match=f"pid {os.getpid()}") as raised:
            acquire(path)
        assert raised.value.holder_pid == os.getpid()
    assert path.read_text() == ""  # released: the pid is gone, the file stays
    with acquire(path):
        pass


def test_a_dead_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = lock_path(tmp_path)
    holder = "import sys; from contracts.lock import acquire; acquire(sys.argv[1]); sys.exit(0)"
    subprocess.run([sys.executable, "-c", holder, str(path)], cwd=ROOT, check=True)
    assert holder_pid(path) is not None  # it died holding: its pid is still written
    with acquire(path):
        assert holder_pid(path) == os.getpid()


def test_a_symlink_or_fifo_is_never_used_as_the_lock(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("precious")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(OSError):  # noqa: PT011 - the platform words it (ELOOP)
        acquire(tmp_path / "link")
    assert target.read_text() == "precious"
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError, match="not a regular file"):
        acquire(tmp_path / "fifo")  # and without blocking on the FIFO


FIRST_RUN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from packrepo.registry import load_registry
    from pipeline.plan import Options, build_plan
    from pipeline.promote import run
    from test_pipeline import simulated
    artifacts = Path({artifacts!r})
    registry = load_registry(Path("pyproject.toml"))
    # Sequential: while bench-V1 holds, every earlier session has ended and no other
    # runs, so nothing of the first run writes while the second one is tried.
    plan = build_plan(registry, Options(variants=("V1",), parallel=False), artifacts)
    actions = {{"bench-V1": "hold:{release}", "gates": "reject"}}
    sys.exit(run(plan, registry, command_for=simulated(artifacts, actions)))
    """
)


def snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``directory``: its content's digest and its mtime."""
    return {
        str(path.relative_to(directory)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def wait_for(condition: object, what: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    process.kill()
    process.communicate()
    pytest.fail(f"{what} never happened")


def test_a_second_run_exits_2_naming_the_holder_and_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "V1_benchmark.json").write_text('{"from": "an earlier run"}')
    release = tmp_path / "release"
    first = subprocess.Popen(
        [
            sys.executable,
            "-c",
            FIRST_RUN.format(
                tests=str(ROOT / "tests"), artifacts=str(artifacts), release=str(release)
            ),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = artifacts / "pipeline.log"
    wait_for(
        lambda: log.exists() and "simulated bench-V1: hold" in log.read_text(),
        "the first run's bench-V1",
        first,
    )
    before = snapshot(artifacts)

    second = make_plan(artifacts, variants=("V1",))
    code = run(second, REGISTRY, command_for=simulated(artifacts, {"gates": "promote"}))
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err]
    assert f"pid {first.pid}" in err
    assert str(artifacts / ".pipeline.lock") in err
    assert gate(second, command_for=simulated(artifacts, {"gates": "promote"})) == 2
    assert f"pid {first.pid}" in capsys.readouterr().err
    assert snapshot(artifacts) == before  # not a byte, not an mtime

    release.touch()
    _, first_err = first.communicate(timeout=60)
    assert first.returncode == 1, first_err  # the first run's own decision, undisturbed
    report = json.loads((artifacts / "pipeline_report.json").read_text())
    assert report["decision"] == "reject"
    assert (artifacts / "previous" / "V1_benchmark.json").read_text() == (
        '{"from": "an earlier run"}'
    )
    for session in ("boot", "bench-baseline", "bench-V1", "analyze", "gates"):
        assert (artifacts / f"{session}.done").exists()
    assert json.loads((artifacts / "timings.json").read_text())["steps"]
    assert (artifacts / ".pipeline.lock").read_text() == ""  # released at exit
