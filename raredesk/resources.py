"""Locate packaged resources (criteria catalogue, gene lists, presets, fonts)."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The ``resources/`` folder: beside the package in a source or editable
    install, under ``<prefix>/share/raredesk/resources`` in a frozen or data-files install."""
    candidates = [
        Path(__file__).resolve().parent.parent / "resources",
        Path(sys.prefix) / "share" / "raredesk" / "resources",
        Path(getattr(sys, "_MEIPASS", "")) / "resources",
    ]
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError("RareDesk resources folder not found; reinstall RareDesk")


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
