"""Time from launch to the login screen drawn, against a bare Textual app that draws one label.

    python -m bench.startup [--runs 7]

Prints `startup_s`, `bare_startup_s` and `startup_ratio` (target <= 1.5), medians of --runs
launches each, in a real 80x24 pseudo-terminal.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from bench.common import ADMIN, ADMIN_PASSWORD, REPO
from bench.pty_app import PtyApp

BARE = """
from textual.app import App
from textual.widgets import Label

class Bare(App):
    def compose(self):
        yield Label("bare-app-ready")

Bare().run()
"""


def launch(argv: list[str], marker: str) -> float:
    app = PtyApp(argv, cwd=REPO)
    try:
        return app.wait_for(marker)
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="patrondesk-startup-"))
    db = folder / "startup.db"
    import subprocess

    subprocess.run(
        [sys.executable, "-m", "tui.cli", "--db", str(db), "init", "--admin", ADMIN,
         "--password-stdin"],
        input=ADMIN_PASSWORD + "\n", text=True, check=True, cwd=REPO, capture_output=True,
    )  # fmt: skip
    # An installed package has its modules compiled (pip writes the .pyc files); a checkout
    # run with PYTHONDONTWRITEBYTECODE would compile them at every launch instead.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "tui", "models", "screens", "styles"],
        check=True, cwd=REPO,
    )  # fmt: skip
    app_argv = [sys.executable, "-m", "tui.cli", "--db", str(db)]
    bare_argv = [sys.executable, "-c", BARE]
    launch(app_argv, "Log in to PatronDesk")  # warm the file cache once
    launch(bare_argv, "bare-app-ready")
    app_times, bare_times = [], []
    for _ in range(args.runs):  # interleaved, so machine noise hits both alike
        app_times.append(launch(app_argv, "Log in to PatronDesk"))
        bare_times.append(launch(bare_argv, "bare-app-ready"))
    app_s, bare_s = statistics.median(app_times), statistics.median(bare_times)
    print(f"startup_s: {app_s:.3f}")
    print(f"bare_startup_s: {bare_s:.3f}")
    print(f"startup_ratio: {app_s / bare_s:.2f}")


if __name__ == "__main__":
    main()
