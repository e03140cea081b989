"""Textual stylesheets shipped as package data: the app's, for every screen (`STYLESHEETS`,
loaded by the App). Screens hold no CSS; `DEFAULT_CSS` is for reusable widgets only."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
STYLESHEETS = [
    HERE / "app.tcss",
    HERE / "configuration.tcss",
    HERE / "transfer.tcss",
    HERE / "attachments.tcss",
    HERE / "jobs.tcss",
]
