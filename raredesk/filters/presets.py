"""Filter presets: shipped ones (``resources/presets/*.toml``) and the user's own (workspace).

A preset is a named filter expression with optional inheritance settings and a
default sort. Names are compared ignoring case, and ``-``, ``_`` and spaces are one. A user preset
cannot take a shipped preset's name (so that a name means the same in every
workspace). Saved filters belong to one case (or to all) and remember the sort
and columns as well.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field

from raredesk.errors import RareDeskError
from raredesk.filters.errors import FilterError, suggest
from raredesk.filters.inheritance import InheritanceSettings
from raredesk.filters.parser import parse
from raredesk.resources import resource_path

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,79}$")


@dataclass
class Preset:
    """A filter preset.

    Attributes
    ----------
    name : str
    title : str
    description : str
    filter : str
        An expression of the filter language.
    settings : dict
        Inheritance thresholds (see :class:`~raredesk.filters.inheritance.InheritanceSettings`).
    sort : list of str
        Default sort (``column`` or ``column:desc``).
    requires_consent : bool
        Secondary findings: only for cases whose patient consented.
    builtin : bool
        Shipped with RareDesk (read-only).
    """

    name: str
    title: str
    description: str
    filter: str
    settings: dict = field(default_factory=dict)
    sort: list = field(default_factory=list)
    requires_consent: bool = False
    builtin: bool = False


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "-", name.strip().lower())


def shipped_presets() -> dict[str, Preset]:
    """The presets in ``resources/presets`` by name."""
    try:
        folder = resource_path("presets")
    except FileNotFoundError:
        return {}
    out = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RareDeskError(f"shipped preset is unreadable ({exc})", str(path)) from None
        p = Preset(name=data.get("name", path.stem), title=data.get("title", path.stem),
                   description=" ".join((data.get("description") or "").split()), filter=data["filter"],
                   settings=dict(data.get("settings") or {}), sort=list(data.get("sort") or []),
                   requires_consent=bool(data.get("requires_consent", False)), builtin=True)
        out[p.name] = p
    return out


def _user_rows(con, key: str | None = None):
    sql = "SELECT name, title, description, filter, settings, sort FROM filter_presets"
    rows = con.execute(sql + " ORDER BY lower(name)").fetchall()
    out = []
    for r in rows:
        if key is not None and _key(r[0]) != key:
            continue
        settings = json.loads(r[4]) if r[4] else {}
        out.append(Preset(r[0], r[1] or r[0], r[2] or "", r[3], settings,
                          [s for s in (r[5] or "").split(",") if s], False, False))
    return out


def list_presets(con) -> list[Preset]:
    """Shipped presets, then the workspace's."""
    return list(shipped_presets().values()) + _user_rows(con)


def get_preset(con, name: str) -> Preset:
    """A preset by name; an unknown name raises FilterError with suggestions."""
    key = _key(name)
    for p in shipped_presets().values():
        if _key(p.name) == key:
            return p
    rows = _user_rows(con, key)
    if rows:
        return rows[0]
    names = [p.name for p in list_presets(con)]
    raise FilterError(f"no preset named {name!r} (presets: {', '.join(names)})", source="preset",
                      suggestions=suggest(name, names))


def save_preset(ws, name: str, filter_text: str, *, title: str | None = None, description: str | None = None,
                settings: dict | None = None, sort: list[str] | None = None, replace: bool = False) -> Preset:
    """Save a user preset in the workspace (the filter is parsed first: a bad one is not saved).

    Raises
    ------
    FilterError
        The filter does not parse, or the settings are invalid.
    RareDeskError
        The name is taken by a shipped preset, or by a user preset and ``replace`` is false.
    """
    name = name.strip()
    if not NAME_RE.match(name):
        raise RareDeskError(f"preset name {name!r}: use letters, digits, spaces, '-', '_' or '.' (at most 80)")
    if any(_key(p) == _key(name) for p in shipped_presets()):
        raise RareDeskError(f"{name!r} is a shipped preset; choose another name")
    if parse(filter_text, f"preset {name}") is None:
        raise FilterError("a preset needs a filter", source=f"preset {name}")
    try:
        InheritanceSettings().updated(settings or {})
    except (KeyError, ValueError) as exc:
        raise FilterError(f"invalid inheritance setting: {exc}", source=f"preset {name}") from None
    con = ws.cursor()
    with ws.write_lock:
        con.execute("BEGIN TRANSACTION")
        try:
            existing = [r[0] for r in con.execute("SELECT name FROM filter_presets").fetchall()
                        if _key(r[0]) == _key(name)]
            if existing and not replace:
                raise RareDeskError(f"a preset named {existing[0]!r} exists; use replace to overwrite it")
            for e in existing:
                con.execute("DELETE FROM filter_presets WHERE name = ?", [e])
            con.execute("INSERT INTO filter_presets (name, title, description, filter, settings, sort) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [name, title, description, filter_text, json.dumps(settings or {}), ",".join(sort or [])])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return get_preset(con, name)


def delete_preset(ws, name: str) -> None:
    con = ws.cursor()
    if any(_key(p) == _key(name) for p in shipped_presets()):
        raise RareDeskError(f"{name!r} is a shipped preset and cannot be deleted")
    rows = _user_rows(con, _key(name))
    if not rows:
        raise RareDeskError(f"no user preset named {name!r}")
    with ws.write_lock:
        con.execute("DELETE FROM filter_presets WHERE name = ?", [rows[0].name])


# ------------------------------------------------------------------------------------------------
# saved filters (per case)


@dataclass
class SavedFilter:
    """A named filter of a case (``case_id`` None: of every case)."""

    filter_id: int
    case_id: int | None
    name: str
    filter: str | None
    preset: str | None
    sort: list
    columns: list


def save_filter(ws, name: str, *, case_id: int | None, filter_text: str | None = None, preset: str | None = None,
                sort: list[str] | None = None, columns: list[str] | None = None) -> SavedFilter:
    """Save (or overwrite) a named filter; the text is parsed first."""
    name = name.strip()
    if not NAME_RE.match(name):
        raise RareDeskError(f"filter name {name!r}: use letters, digits, spaces, '-', '_' or '.' (at most 80)")
    if filter_text:
        parse(filter_text)
    con = ws.cursor()
    if preset:
        get_preset(con, preset)
    with ws.write_lock:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM saved_filters WHERE name = ? AND case_id IS NOT DISTINCT FROM ?", [name, case_id])
            fid = con.execute("SELECT nextval('saved_filter_id_seq')").fetchone()[0]
            con.execute("INSERT INTO saved_filters (filter_id, case_id, name, filter, preset, sort, columns) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [fid, case_id, name, filter_text, preset, ",".join(sort or []), ",".join(columns or [])])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return SavedFilter(fid, case_id, name, filter_text, preset, list(sort or []), list(columns or []))


def list_saved_filters(con, case_id: int | None) -> list[SavedFilter]:
    """The case's saved filters and those saved for every case."""
    rows = con.execute("SELECT filter_id, case_id, name, filter, preset, sort, columns FROM saved_filters "
                       "WHERE case_id IS NULL OR case_id = ? ORDER BY lower(name)", [case_id]).fetchall()
    return [SavedFilter(r[0], r[1], r[2], r[3], r[4], [s for s in (r[5] or "").split(",") if s],
                        [c for c in (r[6] or "").split(",") if c]) for r in rows]


def delete_saved_filter(ws, filter_id: int) -> None:
    con = ws.cursor()
    with ws.write_lock:
        con.execute("DELETE FROM saved_filters WHERE filter_id = ?", [filter_id])
