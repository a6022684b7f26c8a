"""The command line people expect (issue 15): outputs that respect what is there, SIGTERM,
--variant, --query, --include/--exclude, --overview, --version, python -m, --help."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from packrepo.cli import main
from packrepo.registry import load_registry

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FASTPATH_")}
    return subprocess.run(
        [sys.executable, "-m", "packrepo", *args],
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        timeout=120,
        check=False,
    )


@pytest.fixture(autouse=True)
def no_fastpath_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FASTPATH_"):
            monkeypatch.delenv(name)


# --- outputs ------------------------------------------------------------------------------


def test_output_to_a_character_device_leaves_a_character_device(
    tiny_repo: Path, tmp_path: Path
) -> None:
    """Our own null-like device (1, 3), never the machine's /dev/null."""
    device = tmp_path / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    assert main(["pack", str(tiny_repo), "--budget", "2k", "-o", str(device)]) == 0
    assert stat.S_ISCHR(device.lstat().st_mode)
    assert os.major(device.lstat().st_rdev) == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".packrepo-")] == []


def test_output_to_a_fifo_reaches_its_reader(tiny_repo: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert main(["pack", str(tiny_repo), "--budget", "2k", "-o", str(fifo)]) == 0
    reader.join(timeout=60)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received[0].startswith(b"# Repository pack: tiny")


def test_output_to_a_socket_is_sent_through_it(tiny_repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    received: list[bytes] = []

    def accept() -> None:
        connection, _ = server.accept()
        with connection:
            received.append(b"".join(iter(lambda: connection.recv(65536), b"")))

    listener = threading.Thread(target=accept)
    listener.start()
    try:
        assert main(["pack", str(tiny_repo), "--budget", "2k", "-o", str(path)]) == 0
        listener.join(timeout=60)
    finally:
        server.close()
    assert stat.S_ISSOCK(path.lstat().st_mode)
    assert received[0].startswith(b"# Repository pack: tiny")


def test_output_through_a_symlink_replaces_its_target_not_the_link(
    tiny_repo: Path, tmp_path: Path
) -> None:
    target = tmp_path / "real.md"
    target.write_text("old\n")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    assert main(["pack", str(tiny_repo), "--budget", "2k", "-o", str(link)]) == 0
    assert link.is_symlink()
    assert target.read_text().startswith("# Repository pack: tiny")


def test_a_failed_manifest_leaves_no_output_behind(
    tiny_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pack.md"
    bad = tmp_path / "missing-dir" / "manifest.json"
    code = main(["pack", str(tiny_repo), "--budget", "2k", "-o", str(out), "--manifest", str(bad)])
    assert code == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tiny_repo]
    assert capsys.readouterr().err.startswith(f"packrepo: error: {bad}:")


def test_a_directory_as_output_is_refused(tiny_repo: Path, tmp_path: Path) -> None:
    assert main(["pack", str(tiny_repo), "--budget", "2k", "-o", str(tmp_path)]) == 2


# --- SIGTERM --------------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table in /proc")
def test_sigterm_stops_the_pool_removes_temporary_files_and_exits_143(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for n in range(300):
        (tree / f"m{n}.py").write_text(f"def f{n}(x):\n    return x * {n}\n" * 40)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cache = tmp_path / "cache"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FASTPATH_")}
    environment.update(FASTPATH_CACHE_DIR=str(cache))
    command = [sys.executable, "-m", "packrepo", "pack", str(tree), "--budget", "50k"]
    command += ["--variant", "V5", "-o", str(out_dir / "pack.md")]
    command += ["--manifest", str(out_dir / "pack.json")]
    process = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while not workers and time.monotonic() < deadline and process.poll() is None:
        workers = _children(process.pid)
        time.sleep(0.005)
    assert workers, "the pool never started"
    # Frozen, the pack cannot finish before the signal: the test does not race it.
    process.send_signal(signal.SIGSTOP)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert stderr.strip() == "packrepo: terminated"
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
    assert list(out_dir.iterdir()) == []
    assert [p for p in cache.rglob("*") if p.name.startswith(".tmp-")] == []


# --- flags: --variant and --query ----------------------------------------------------------


def test_variant_applies_the_registry_arms_flags(tiny_repo: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    args = ["pack", str(tiny_repo), "--budget", "1500", "--variant", "V4"]
    assert main([*args, "--query", "token budget", "--manifest", str(manifest)]) == 0
    flags = json.loads(manifest.read_text())["flags"]
    expected = load_registry(ROOT / "pyproject.toml").variant("V4").flags
    assert {name: flags[name] for name in expected} == expected
    assert json.loads(manifest.read_text())["query_terms"] == ["token", "budget"]


def test_an_unknown_variant_or_a_mix_with_the_environment_is_refused(
    tiny_repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["pack", str(tiny_repo), "--budget", "2k", "--variant", "V9"]) == 2
    assert "unknown variant `V9` (known: baseline, V1" in capsys.readouterr().err
    monkeypatch.setenv("FASTPATH_POLICY_V2", "1")
    assert main(["pack", str(tiny_repo), "--budget", "2k", "--variant", "V1"]) == 2
    assert "use one or the other" in capsys.readouterr().err


def test_a_query_without_a_query_aware_policy_is_an_error_that_says_how(
    tiny_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pack", str(tiny_repo), "--budget", "2k", "--query", "tokens"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "--variant V4" in error
    assert "FASTPATH_HYBRID_MODE=1" in error


# --- what goes in --------------------------------------------------------------------------


def test_include_and_exclude_globs(tiny_repo: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    args = ["pack", str(tiny_repo), "--budget", "1M", "--manifest", str(manifest), "-o"]
    args += [str(tmp_path / "p.md"), "--include", "pkg/", "--include", "*.md"]
    assert main([*args, "--exclude", "mod1*.py", "--exclude", "docs/"]) == 0
    document = json.loads(manifest.read_text())
    paths = {item["path"] for item in document["items"]}
    assert "README.md" in paths
    assert "pkg/mod0.py" in paths
    assert not paths & {"pkg/mod1.py", "pkg/mod10.py", "pkg/mod11.py", "docs/guide.md"}
    assert not any(path.startswith("tests/") or path == "notes.txt" for path in paths)
    assert document["skipped"]["excluded"] == 4
    assert document["skipped"]["not_included"] == 2


def test_a_bad_include_pattern_is_one_line(
    tiny_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pack", str(tiny_repo), "--budget", "2k", "--include", "[a-"]) == 2
    assert capsys.readouterr().err == "packrepo: error: --include '[a-': unclosed bracket\n"


def test_the_overview_is_counted_in_the_budget(tiny_repo: Path, tmp_path: Path) -> None:
    from packrepo import pack
    from packrepo.tokens import load_counter

    counter = load_counter("cl100k_base")
    for budget in (600, 3000, "1M"):
        result = pack(tiny_repo, budget, overview=True)
        assert counter.count(result.text) == result.tokens <= result.manifest["budget"]
        assert "## Directory overview" in result.text
    full = pack(tiny_repo, "1M", overview=True).text
    assert "\n  mod11.py\n" in full
    assert "\npkg/\n" in full
    small = pack(tiny_repo, 600, overview=True).text
    assert "mod11.py" not in small.split("### ")[0]  # directories only when space is short
    xml = pack(tiny_repo, "1M", overview=True, format="xml").text
    assert "<overview><![CDATA[\n" in xml


# --- the basics people reach for --------------------------------------------------------------


def test_version_python_dash_m_and_help() -> None:
    version = run("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("packrepo ")
    helped = run("pack", "--help")
    assert helped.returncode == 0
    for name in ("FASTPATH_POLICY_V2", "FASTPATH_HYBRID_MODE", "FASTPATH_ADAPTIVE_THRESHOLD"):
        assert name in helped.stdout
    for variant in load_registry(ROOT / "pyproject.toml").variants:
        assert f"  # {variant}: " in helped.stdout
