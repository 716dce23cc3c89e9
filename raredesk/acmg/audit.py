"""Append-only, hash-chained audit log of every classification decision.

Each record holds who, when, what (action, entity, id) and the state before and
after, and the SHA-256 of all of that together with the previous record's hash.
`verify` recomputes the chain and reports

* an **edit**: a record whose stored hash no longer matches its content;
* a **deletion** or **insertion**: a gap or a repeat in the sequence numbers, or
  a record whose ``prev_hash`` is not the hash of the record before it;
* a **reordering**: sequence numbers or timestamps swapped between records
  (both are hashed, so the records fail as edits and the chain breaks);
* a **truncated tail**: the ``audit_head`` row, updated in the same transaction
  as every append, names a later record than the last one present.

Limit: someone who can write to the database *and* recomputes every hash and the
head after a change leaves a consistent chain. Against that, keep the head hash
somewhere else (``raredesk audit verify`` prints it; signed reports can carry it)
and check it with ``expected_head``.

Writers call `append` inside their own transaction, under ``ws.write_lock``, so
a decision and its audit record are committed together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = ["GENESIS", "AuditRecord", "VerifyResult", "append", "canonical_json", "now", "record_hash", "records",
           "verify"]

#: ``prev_hash`` of the first record.
GENESIS = "0" * 64


def now() -> str:
    """UTC time as ISO 8601 text with microseconds (what the log stores and hashes)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def canonical_json(value: Any) -> str | None:
    """JSON with sorted keys and no spaces (stable input for the hash); None stays None."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def record_hash(seq: int, at: str, actor: str, action: str, entity: str, entity_id: str | None,
                before: str | None, after: str | None, prev_hash: str) -> str:
    """SHA-256 (hex) of one record's fields and the previous hash."""
    payload = json.dumps([seq, at, actor, action, entity, entity_id, before, after, prev_hash],
                         separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """One audit record.

    Attributes
    ----------
    seq : int
        1, 2, 3 ... in the order written.
    at : str
        UTC ISO 8601 time.
    actor : str
    action : str
        E.g. ``start``, ``accept``, ``set_strength``, ``sign``, ``undo``.
    entity : str
        E.g. ``acmg_classification``, ``report``, ``acmg_settings``.
    entity_id : str or None
    before, after : str or None
        Canonical JSON of the state before and after.
    prev_hash, hash : str
    """

    seq: int
    at: str
    actor: str
    action: str
    entity: str
    entity_id: str | None
    before: str | None
    after: str | None
    prev_hash: str
    hash: str

    @property
    def before_value(self) -> Any:
        return None if self.before is None else json.loads(self.before)

    @property
    def after_value(self) -> Any:
        return None if self.after is None else json.loads(self.after)


_COLUMNS = "seq, logged_at, actor, action, entity, entity_id, before, after, prev_hash, hash"


def append(cur, actor: str, action: str, entity: str, entity_id: Any, before: Any = None, after: Any = None,
           at: str | None = None) -> AuditRecord:
    """Append one record; call inside the caller's transaction.

    Parameters
    ----------
    cur : duckdb cursor
        With a transaction open (the decision and its record commit together).
    actor : str
        Who decided; must not be empty.
    action, entity : str
    entity_id : any
        Stored as text.
    before, after : JSON-serialisable, optional
        State before and after the change.
    at : str, optional
        Timestamp (default: now, UTC).

    Returns
    -------
    AuditRecord
    """
    if not actor or not str(actor).strip():
        raise ValueError("an audit record needs an actor")
    last = cur.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    head = cur.execute("SELECT seq, hash FROM audit_head").fetchone()
    # The head is authoritative: appending after a truncated tail would hide the truncation.
    seq, prev = (head[0] + 1, head[1]) if head else ((last[0] + 1, last[1]) if last else (1, GENESIS))
    at = at or now()
    eid = None if entity_id is None else str(entity_id)
    b, a = canonical_json(before), canonical_json(after)
    digest = record_hash(seq, at, str(actor), action, entity, eid, b, a, prev)
    cur.execute(f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [seq, at, str(actor), action, entity, eid, b, a, prev, digest])
    cur.execute("DELETE FROM audit_head")
    cur.execute("INSERT INTO audit_head (seq, hash) VALUES (?, ?)", [seq, digest])
    return AuditRecord(seq, at, str(actor), action, entity, eid, b, a, prev, digest)


def records(cur, entity: str | None = None, entity_id: Any = None) -> list[AuditRecord]:
    """Records in sequence order, optionally for one entity."""
    sql = f"SELECT {_COLUMNS} FROM audit_log"
    params: list[Any] = []
    if entity is not None:
        sql += " WHERE entity = ?"
        params.append(entity)
        if entity_id is not None:
            sql += " AND entity_id = ?"
            params.append(str(entity_id))
    sql += " ORDER BY seq, rowid"
    return [AuditRecord(*r) for r in cur.execute(sql, params).fetchall()]


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of `verify`.

    Attributes
    ----------
    ok : bool
    n_records : int
    head_hash : str
        Hash of the last record (GENESIS for an empty log): keep it outside the
        workspace to detect a rewritten chain later.
    problems : tuple of str
        One line per problem, naming the record.
    """

    ok: bool
    n_records: int
    head_hash: str
    problems: tuple[str, ...] = field(default=())


def verify(cur, expected_head: str | None = None) -> VerifyResult:
    """Recompute the hash chain and report every edit, deletion, insertion or reordering.

    Parameters
    ----------
    cur : duckdb cursor
    expected_head : str, optional
        A head hash recorded earlier; the current chain must contain it.

    Returns
    -------
    VerifyResult
    """
    rows = [AuditRecord(*r) for r in cur.execute(f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq, rowid").fetchall()]
    problems: list[str] = []
    prev_hash = GENESIS
    expected_seq = 1
    seen: set[int] = set()
    for r in rows:
        if r.seq in seen:
            problems.append(f"record {r.seq} appears more than once (inserted or copied record)")
        seen.add(r.seq)
        if r.seq > expected_seq:
            missing = f"{expected_seq}" if r.seq == expected_seq + 1 else f"{expected_seq}-{r.seq - 1}"
            problems.append(f"record(s) {missing} missing (deleted)")
        expected_seq = max(expected_seq, r.seq + 1)
        recomputed = record_hash(r.seq, r.at, r.actor, r.action, r.entity, r.entity_id, r.before, r.after,
                                 r.prev_hash)
        if recomputed != r.hash:
            problems.append(f"record {r.seq} was edited (its content no longer matches its hash)")
        if r.prev_hash != prev_hash:
            problems.append(f"chain broken at record {r.seq}: it does not follow the record before it "
                            f"(deleted, inserted or reordered records)")
        prev_hash = r.hash
    head = cur.execute("SELECT seq, hash FROM audit_head").fetchall()
    last_seq = rows[-1].seq if rows else 0
    last_hash = rows[-1].hash if rows else GENESIS
    if len(head) > 1:
        problems.append("the audit head was tampered with (more than one head row)")
    elif head:
        h_seq, h_hash = head[0]
        if h_seq != last_seq or h_hash != last_hash:
            if h_seq > last_seq:
                problems.append(f"the log ends at record {last_seq} but the head names record {h_seq}: "
                                f"the last record(s) were deleted")
            else:
                problems.append(f"the head (record {h_seq}) does not match the last record ({last_seq})")
    elif rows:
        problems.append("the audit head is missing")
    if expected_head is not None and expected_head not in {r.hash for r in rows} | {GENESIS}:
        problems.append(f"the expected head {expected_head[:16]}... is not in the chain (the log was rewritten "
                        f"or truncated)")
    for a, b in zip(rows, rows[1:]):
        if b.at < a.at and b.seq == a.seq + 1:
            problems.append(f"record {b.seq} is dated before record {a.seq} (reordered)")
    return VerifyResult(not problems, len(rows), last_hash, tuple(dict.fromkeys(problems)))
