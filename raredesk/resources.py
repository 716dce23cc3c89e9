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


def load_json_resource(path, default: tuple[str, ...], what: str):
    """Read a JSON data file: ``path``, or the packaged ``resources/<default...>``.

    Returns ``(data, file)``. Every failure is an :class:`~raredesk.errors.InputError`
    naming the file and ``what`` it should have been (e.g. "ACMG thresholds").
    """
    import json

    from raredesk.errors import InputError

    if path is None:
        try:
            file = resource_path(*default)
        except FileNotFoundError as exc:
            raise InputError(str(exc)) from exc
    else:
        file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the {what} ({exc.strerror or exc})", str(file)) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"the {what} file is not UTF-8 text", str(file)) from exc
    try:
        return json.loads(text), file
    except json.JSONDecodeError as exc:
        raise InputError(f"the {what} file is not valid JSON (line {exc.lineno}: {exc.msg})", str(file)) from exc
