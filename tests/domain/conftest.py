"""Fixtures only the domain tests use; the shared ones (`db`, `ui_db`) are in tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.db import SHARED, missing


@pytest.fixture
def shared_data() -> Path:
    """The real exported records in ../shared/data (absent from a user's own clone)."""
    path = SHARED / "data"
    if not path.is_dir():
        missing(f"{path} is not here: the shared folder comes with the team's checkout only")
    return path
