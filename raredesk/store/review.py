"""Reviewer decisions per variant: a flag, tags and a free-text note.

Keyed by case and normalised variant key (``vkey``), so a decision stays with
the variant when the same calls are imported again. Each change is written
at once, in its own transaction, under the workspace's write lock, together
with a row in ``variant_review_log`` (old and new value, when, who); there is
no "save" to forget. Writers return a :class:`Changes` value saying what
changed so each view refreshes only that.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field
from typing import Iterable

from raredesk.errors import RareDeskError

TABLE = "variant_review"
LOG_TABLE = "variant_review_log"
MAX_TAG_LENGTH = 64
MAX_TAGS = 32
MAX_NOTE_LENGTH = 100_000
SUGGESTED_TAGS = ("candidate", "report", "artefact", "not relevant", "confirm by Sanger", "incidental",
                  "discuss at MDT")


@dataclass(frozen=True)
class Review:
    """What the reviewer recorded on one variant of one case.

    Attributes
    ----------
    case_id : int
    vkey : str
        Normalised variant key ``chrom:pos:ref:alt``.
    flagged : bool
    tags : tuple of str
        In the order they were added; no duplicates.
    note : str
    updated_at : datetime or None
        None when nothing was ever recorded.
    updated_by : str or None
    """

    case_id: int
    vkey: str
    flagged: bool = False
    tags: tuple[str, ...] = ()
    note: str = ""
    updated_at: object = None
    updated_by: str | None = None

    @property
    def empty(self) -> bool:
        return not self.flagged and not self.tags and not self.note


@dataclass(frozen=True)
class Changes:
    """What a write changed.

    Attributes
    ----------
    tables : frozenset of str
        Tables written (empty when the write changed nothing).
    case_id : int
    vkeys : tuple of str
        Variants whose review changed.
    review : Review or None
        The review as stored after the write (one-variant writes).
    """

    tables: frozenset = frozenset()
    case_id: int | None = None
    vkeys: tuple[str, ...] = ()
    review: Review | None = None

    @property
    def changed(self) -> bool:
        return bool(self.tables)


def clean_tag(tag: str) -> str:
    """A tag as stored: trimmed, inner whitespace collapsed; rejects empty or overlong tags."""
    text = " ".join(str(tag).split())
    if not text:
        raise RareDeskError("a tag cannot be empty")
    if len(text) > MAX_TAG_LENGTH:
        raise RareDeskError(f"a tag is at most {MAX_TAG_LENGTH} characters (got {len(text)})")
    return text


def _author(author: str | None) -> str:
    if author:
        return author
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): still record something honest
        return "unknown"


def _row_to_review(case_id: int, vkey: str, row) -> Review:
    if row is None:
        return Review(case_id, vkey)
    flagged, tags, note, updated_at, updated_by = row
    return Review(case_id, vkey, bool(flagged), tuple(tags or ()), note or "", updated_at, updated_by)


def get_review(con, case_id: int, vkey: str) -> Review:
    """The review of one variant (an empty :class:`Review` when none was recorded)."""
    row = con.execute(f"SELECT flagged, tags, note, updated_at, updated_by FROM {TABLE} "
                      "WHERE case_id = ? AND vkey = ?", [case_id, vkey]).fetchone()
    return _row_to_review(case_id, vkey, row)


def reviews_for(con, case_id: int, vkeys: Iterable[str]) -> dict[str, Review]:
    """Reviews of the given variants that have one (vkey -> Review)."""
    keys = list(dict.fromkeys(vkeys))
    if not keys:
        return {}
    rows = con.execute(f"SELECT vkey, flagged, tags, note, updated_at, updated_by FROM {TABLE} "
                       "WHERE case_id = ? AND vkey IN (SELECT unnest(?::VARCHAR[]))", [case_id, keys]).fetchall()
    return {r[0]: _row_to_review(case_id, r[0], r[1:]) for r in rows}


def case_tags(con, case_id: int) -> list[tuple[str, int]]:
    """Tags used in a case with how many variants carry each, most used first."""
    return [(t, n) for t, n in con.execute(
        f"SELECT t, count(*) AS n FROM (SELECT unnest(tags) AS t FROM {TABLE} WHERE case_id = ?) "
        "GROUP BY t ORDER BY n DESC, t", [case_id]).fetchall()]


def reviewed_filter(case_id: int, *, flagged: bool = False, tag: str | None = None,
                    vkey_sql: str = "vkey") -> tuple[str, list]:
    """A WHERE fragment (and its parameters) keeping variants flagged and/or carrying ``tag``.

    ``vkey_sql`` is the (trusted, caller-built) expression of the variant key in the outer query.
    """
    conds, params = ["case_id = ?"], [case_id]
    if flagged:
        conds.append("flagged")
    if tag:
        conds.append("list_contains(tags, ?)")
        params.append(clean_tag(tag))
    return f"{vkey_sql} IN (SELECT vkey FROM {TABLE} WHERE {' AND '.join(conds)})", params


def history(con, case_id: int, vkey: str) -> list[tuple]:
    """Changes of one variant's review, oldest first: (field, old, new, changed_at, changed_by)."""
    return con.execute(f"SELECT field, old_value, new_value, changed_at, changed_by FROM {LOG_TABLE} "
                       "WHERE case_id = ? AND vkey = ? ORDER BY event_id", [case_id, vkey]).fetchall()


# ------------------------------------------------------------------------------------------
# writes


def _check_case(con, case_id: int) -> None:
    if con.execute("SELECT count(*) FROM cases WHERE case_id = ?", [case_id]).fetchone()[0] == 0:
        raise RareDeskError(f"no case with id {case_id} in this workspace")


def _check_vkey(vkey: str) -> str:
    if not isinstance(vkey, str) or vkey.count(":") < 3:
        raise RareDeskError(f"not a variant key (chrom:pos:ref:alt): {vkey!r}")
    return vkey


def _write(ws, case_id: int, vkey: str, author: str | None, change) -> Changes:
    """Read the current review, let ``change`` return the new one, store it and log the difference."""
    vkey = _check_vkey(vkey)
    if getattr(ws, "read_only", False):
        raise RareDeskError("the workspace is open read-only; reviews cannot be saved")
    who = _author(author)
    with ws.write_lock:
        con = ws.cursor()
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                _check_case(con, case_id)
                old = get_review(con, case_id, vkey)
                new = change(old)
                diffs = []
                if new.flagged != old.flagged:
                    diffs.append(("flag", json.dumps(old.flagged), json.dumps(new.flagged)))
                if new.tags != old.tags:
                    diffs.append(("tags", json.dumps(list(old.tags)), json.dumps(list(new.tags))))
                if new.note != old.note:
                    diffs.append(("note", old.note, new.note))
                if not diffs:
                    con.execute("ROLLBACK")
                    return Changes(case_id=case_id, review=old)
                con.execute(
                    f"INSERT INTO {TABLE} (case_id, vkey, flagged, tags, note, updated_at, updated_by) "
                    "VALUES (?, ?, ?, ?::VARCHAR[], ?, current_timestamp, ?) "
                    "ON CONFLICT (case_id, vkey) DO UPDATE SET flagged = excluded.flagged, tags = excluded.tags, "
                    "note = excluded.note, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    [case_id, vkey, new.flagged, list(new.tags), new.note, who])
                for fld, before, after in diffs:
                    con.execute(f"INSERT INTO {LOG_TABLE} (case_id, vkey, field, old_value, new_value, changed_by) "
                                "VALUES (?, ?, ?, ?, ?, ?)", [case_id, vkey, fld, before, after, who])
                con.execute("UPDATE cases SET updated_at = current_timestamp WHERE case_id = ?", [case_id])
                stored = get_review(con, case_id, vkey)
                con.execute("COMMIT")
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except Exception:
                    pass
                raise
        finally:
            con.close()
    return Changes(frozenset({TABLE, LOG_TABLE, "cases"}), case_id, (vkey,), stored)


def _replace(r: Review, **kw) -> Review:
    d = {"flagged": r.flagged, "tags": r.tags, "note": r.note}
    d.update(kw)
    return Review(r.case_id, r.vkey, d["flagged"], tuple(d["tags"]), d["note"])


def set_flag(ws, case_id: int, vkey: str, flagged: bool, *, author: str | None = None) -> Changes:
    """Flag or unflag a variant.

    Parameters
    ----------
    ws : raredesk.store.workspace.Workspace
    case_id : int
    vkey : str
    flagged : bool
    author : str, optional
        Recorded as who changed it (default: the login name).

    Returns
    -------
    Changes
    """
    return _write(ws, case_id, vkey, author, lambda r: _replace(r, flagged=bool(flagged)))


def set_tags(ws, case_id: int, vkey: str, tags: Iterable[str], *, author: str | None = None) -> Changes:
    """Replace a variant's tags (cleaned, duplicates dropped, order kept)."""
    cleaned = tuple(dict.fromkeys(clean_tag(t) for t in tags))
    if len(cleaned) > MAX_TAGS:
        raise RareDeskError(f"at most {MAX_TAGS} tags per variant")
    return _write(ws, case_id, vkey, author, lambda r: _replace(r, tags=cleaned))


def add_tag(ws, case_id: int, vkey: str, tag: str, *, author: str | None = None) -> Changes:
    """Add one tag (no-op when present)."""
    tag = clean_tag(tag)

    def change(r: Review) -> Review:
        if tag in r.tags:
            return r
        if len(r.tags) >= MAX_TAGS:
            raise RareDeskError(f"at most {MAX_TAGS} tags per variant")
        return _replace(r, tags=r.tags + (tag,))
    return _write(ws, case_id, vkey, author, change)


def remove_tag(ws, case_id: int, vkey: str, tag: str, *, author: str | None = None) -> Changes:
    """Remove one tag (no-op when absent)."""
    tag = clean_tag(tag)
    return _write(ws, case_id, vkey, author, lambda r: _replace(r, tags=tuple(t for t in r.tags if t != tag)))


def set_note(ws, case_id: int, vkey: str, note: str, *, author: str | None = None) -> Changes:
    """Replace a variant's free-text note (trailing whitespace trimmed)."""
    text = (note or "").rstrip()
    if len(text) > MAX_NOTE_LENGTH:
        raise RareDeskError(f"a note is at most {MAX_NOTE_LENGTH:,} characters (got {len(text):,})")
    return _write(ws, case_id, vkey, author, lambda r: _replace(r, note=text))


@dataclass
class ReviewSummary:
    """Counts of reviewed variants in a case (for the case browser)."""

    flagged: int = 0
    tagged: int = 0
    noted: int = 0
    tags: list = field(default_factory=list)


def summary(con, case_id: int) -> ReviewSummary:
    r = con.execute(f"SELECT count(*) FILTER (WHERE flagged), count(*) FILTER (WHERE len(tags) > 0), "
                    f"count(*) FILTER (WHERE note <> '') FROM {TABLE} WHERE case_id = ?", [case_id]).fetchone()
    return ReviewSummary(r[0] or 0, r[1] or 0, r[2] or 0, case_tags(con, case_id))
