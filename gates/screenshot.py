"""Render ``report.html`` in headless Chromium: ``python -m gates.screenshot HTML PNG``.

A check that the self-contained page really renders with nothing but the file:
every network feature Chromium would use on its own is switched off, and a
fresh profile directory is used and thrown away.
"""

from __future__ import annotations

import argparse
import shutil

# The Chromium binary only, with a fixed argument list.
import subprocess  # nosec B404
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from contracts.exitcodes import ExitCode

CHROMIUM = "/usr/bin/chromium"
WINDOW = (1280, 2400)
TIMEOUT_SECONDS = 120


class ScreenshotError(RuntimeError):
    """Chromium is missing, failed, or wrote no image."""


def chromium_command(
    chromium: str, page: Path, image: Path, profile: Path, window: tuple[int, int]
) -> list[str]:
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={window[0]},{window[1]}",
        f"--screenshot={image}",
        page.resolve().as_uri(),
    ]


def screenshot(
    page: Path, image: Path, *, chromium: str = CHROMIUM, window: tuple[int, int] = WINDOW
) -> Path:
    """Write a PNG of ``page`` to ``image``; raise ScreenshotError if none appears."""
    if shutil.which(chromium) is None:
        raise ScreenshotError(f"{chromium} not found (apt-get install chromium)")
    if not page.is_file():
        raise ScreenshotError(f"{page}: no such file")
    image = image.resolve()
    image.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="gates-chromium-") as profile:
        command = chromium_command(chromium, page, image, Path(profile), window)
        try:
            # A fixed argument list, no shell.
            completed = subprocess.run(  # nosec B603
                command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            raise ScreenshotError(f"chromium took more than {TIMEOUT_SECONDS} s") from None
    if not image.is_file() or image.stat().st_size == 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise ScreenshotError(f"chromium exited {completed.returncode} with no image: {last}")
    return image


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gates.screenshot", description=__doc__)
    parser.add_argument("page", type=Path, help="the HTML file, e.g. artifacts/report.html")
    parser.add_argument("image", type=Path, help="the PNG to write, e.g. artifacts/report.png")
    parser.add_argument("--height", type=int, default=WINDOW[1], help="window height in pixels")
    arguments = parser.parse_args(argv)
    try:
        written = screenshot(arguments.page, arguments.image, window=(WINDOW[0], arguments.height))
    except ScreenshotError as exc:
        print(f"gates.screenshot: error: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    print(f"gates.screenshot: wrote {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
