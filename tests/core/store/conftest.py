"""Fixtures of the store tests."""

from __future__ import annotations

import pytest

from raredesk.store.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    """A new, empty workspace, closed after the test."""
    w = Workspace(tmp_path / "ws")
    yield w
    w.close()
