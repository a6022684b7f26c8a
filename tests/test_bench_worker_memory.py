"""The worker's peak memory: measured above its own ready RSS, so two workers compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import worker as worker_module


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "mod.py").write_text('def answer():\n    """The answer."""\n    return 42\n')
    return tree


def _request(tree: Path) -> dict[str, object]:
    return {
        "op": "pack",
        "tree": str(tree),
        "budget": 50_000,
        "query": None,
        "gold": {"path": "mod.py", "start_line": 1, "end_line": 3},
    }


def _fake_status(ready: int, peak: int) -> object:
    """/proc/self/status as a worker started at ``ready`` bytes and peaking at ``peak`` sees it."""

    def status_bytes(field: str) -> int:
        return {"VmRSS": ready, "VmHWM": peak}[field]

    return status_bytes


@pytest.mark.parametrize("offset", [0, 1 << 20])
def test_two_workers_with_different_start_rss_report_the_same_peak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offset: int
) -> None:
    # Two workers of one arm: the second started 1 MiB larger (its environment, its
    # address-space layout); a pack that grows each by 40 MiB must read the same in both.
    monkeypatch.setattr(worker_module, "_reset_peak_rss", lambda: True)
    ready = 80 << 20
    monkeypatch.setattr(
        worker_module, "_status_bytes", _fake_status(ready + offset, ready + offset + (40 << 20))
    )
    worker = worker_module._Worker()
    response = worker.pack(_request(_tree(tmp_path)))
    assert response["ok"] is True
    assert response["memory_method"] == "linux-vmhwm-above-ready"
    assert response["peak_rss_bytes"] == 40 << 20
    assert worker.ready()["rss_ready_bytes"] == ready + offset


def test_a_peak_below_the_ready_rss_reads_zero_never_negative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "_reset_peak_rss", lambda: True)
    monkeypatch.setattr(worker_module, "_status_bytes", _fake_status(80 << 20, 79 << 20))
    response = worker_module._Worker().pack(_request(_tree(tmp_path)))
    assert response["peak_rss_bytes"] == 0


def test_on_this_machine_the_peak_is_the_growth_not_the_whole_process(tmp_path: Path) -> None:
    worker = worker_module._Worker()
    if worker.memory_method != "linux-vmhwm-above-ready":
        pytest.skip("no /proc/self/clear_refs here")
    response = worker.pack(_request(_tree(tmp_path)))
    whole_process = worker_module._status_bytes("VmRSS")
    assert whole_process is not None
    # The interpreter, pytest and packrepo alone hold more than a small pack's growth.
    assert 0 <= response["peak_rss_bytes"] < whole_process
    assert worker.ready()["rss_ready_bytes"] > 0


def test_without_proc_the_whole_process_peak_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "_status_bytes", lambda field: None)
    monkeypatch.setattr(worker_module, "_ru_maxrss_bytes", lambda: 123 << 20)
    worker = worker_module._Worker()
    response = worker.pack(_request(_tree(tmp_path)))
    assert response["memory_method"] == "ru-maxrss-since-start"
    assert response["peak_rss_bytes"] == 123 << 20
    assert worker.ready()["rss_ready_bytes"] is None
