"""Where the GUI remembers things (window state, columns, recent cases, last filter per case).

Settings live in an INI file of the user scope under organisation ``RareDesk``
and application ``RareDesk`` (on Linux ``~/.config/RareDesk/RareDesk.ini``).
Tests redirect them with ``QSettings.setPath(IniFormat, UserScope, tmp_path)``.
Values are plain strings / JSON so the file stays readable.
"""

from __future__ import annotations

import hashlib
import json

from PySide6.QtCore import QSettings

ORGANIZATION = "RareDesk"
APPLICATION = "RareDesk"
MAX_RECENT = 10


def app_settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def get_json(s: QSettings, key: str, default):
    raw = s.value(key)
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return default


def set_json(s: QSettings, key: str, value) -> None:
    s.setValue(key, json.dumps(value))


def case_key(workspace: str, case: str) -> str:
    """A settings group name for one case of one workspace."""
    return "cases/" + hashlib.sha1(f"{workspace}\n{case}".encode()).hexdigest()[:16]


def push_recent(s: QSettings, key: str, item, limit: int = MAX_RECENT) -> list:
    items = [x for x in get_json(s, key, []) if x != item]
    items.insert(0, item)
    items = items[:limit]
    set_json(s, key, items)
    return items
