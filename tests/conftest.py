"""Shared fixtures. Real test data is read in place from ``$RAREDESK_TEST_DATA``
(default ``../shared/data`` beside the repository); tests that need it skip with
a clear reason when it is absent. Never copy that data into the repository."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _data_dir() -> Path:
    return Path(os.environ.get("RAREDESK_TEST_DATA", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Folder of real public test data (see its PROVENANCE.md)."""
    d = _data_dir()
    if not (d / "PROVENANCE.md").is_file():
        pytest.skip(f"real test data not found at {d} (set RAREDESK_TEST_DATA)")
    return d


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """RareDesk never opens a network connection: any attempt fails the test."""

    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)
        raise AssertionError(f"network connection attempted to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "create_connection",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError(f"network connection attempted: {a!r}")))
    yield
