"""The reviewer workflow as commands: every decision is one transaction with its audit record.

A classification belongs to one variant of one case. It starts as a **draft**
holding the engine's suggestions (`raredesk.acmg.evidence`); the reviewer
accepts or rejects each one, adds criteria the engine cannot suggest, changes
strengths and comments per criterion, and sets the final class with a summary
sentence. Then:

``draft -> reviewed``  (`mark_reviewed`: every suggestion decided, final class and summary set)
``reviewed -> signed``  (`sign`: optionally under the two-person rule, signer != analyst)

Editing a reviewed classification sends it back to draft. A signed one is locked;
`amend` starts a new draft that supersedes it.

Every write function takes the workspace and the actor's name, runs under
``ws.write_lock`` in one transaction that also appends the audit record
(`raredesk.acmg.audit`) and the undo entry, and returns a `Changes` value.
`undo` reverses the newest command of a classification (also a command, also
audited). Nothing here issues SQL on behalf of a widget: the GUI calls these.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from raredesk.acmg import audit, knowledge
from raredesk.acmg.catalogue import default_catalogue
from raredesk.acmg.combine import CLASSES, Classification, CriterionError, classify, parse_criterion
from raredesk.acmg.evidence import EvidenceReport, Thresholds, find_variant_row, suggest_for_variant
from raredesk.acmg.knowledge import Changes
from raredesk.errors import RareDeskError

__all__ = [
    "STATUSES",
    "Changes",
    "ClassificationRecord",
    "CommandRecord",
    "CriterionRecord",
    "ReviewError",
    "accept",
    "add_criterion",
    "amend",
    "find_classification",
    "get_classification",
    "history",
    "mark_reviewed",
    "reject",
    "set_comment",
    "set_final",
    "set_strength",
    "set_two_person_rule",
    "sign",
    "start_classification",
    "two_person_rule",
    "undo",
]

STATUSES = ("draft", "reviewed", "signed")
CRITERION_STATES = ("suggested", "accepted", "rejected")


class ReviewError(RareDeskError):
    """A workflow step that is not allowed (wrong status, two-person rule, unknown criterion ...)."""


# --- records -----------------------------------------------------------------------------------

_CLS_COLUMNS = ("classification_id", "case_id", "variant_id", "build", "vkey", "gene", "transcript", "hgvsc",
                "hgvsp", "status", "analyst", "reviewer", "signer", "final_class", "summary", "computed_class",
                "points", "criteria_labels", "supersedes", "created_at", "updated_at", "reviewed_at", "signed_at")
_CRIT_COLUMNS = ("classification_id", "code", "state", "origin", "strength", "suggested_strength", "reason",
                 "evidence", "comment", "updated_by", "updated_at")
_SETTING_COLUMNS = ("key", "value")
_TABLES = {"acmg_classifications": (_CLS_COLUMNS, ("classification_id",)),
           "acmg_criteria": (_CRIT_COLUMNS, ("classification_id", "code")),
           "acmg_settings": (_SETTING_COLUMNS, ("key",))}


@dataclass(frozen=True)
class CriterionRecord:
    """One criterion of a classification.

    Attributes
    ----------
    code : str
    state : str
        ``suggested`` (undecided), ``accepted`` or ``rejected``.
    origin : str
        ``engine``, ``reviewer`` or ``previous`` (copied from another classification).
    strength : str
        Current strength.
    suggested_strength : str or None
        The engine's strength, when the engine suggested it.
    reason : str or None
        The engine's reason, or the reviewer's justification.
    evidence : dict
        The numbers and caveats behind the suggestion.
    comment : str or None
    updated_by, updated_at : str or None
    """

    code: str
    state: str
    origin: str
    strength: str
    suggested_strength: str | None
    reason: str | None
    evidence: dict
    comment: str | None
    updated_by: str | None
    updated_at: str | None

    @property
    def label(self) -> str:
        return parse_criterion(f"{self.code}_{self.strength}").label

    @property
    def applied(self) -> bool:
        return self.state == "accepted"


@dataclass(frozen=True)
class ClassificationRecord:
    """A classification with its criteria.

    Attributes
    ----------
    classification_id, case_id : int
    case_name : str
    variant_id : int or None
    build : str or None
    vkey : str
    gene, transcript, hgvsc, hgvsp : str or None
    status : str
    analyst : str
        Who started it.
    reviewer, signer : str or None
    final_class, summary : str or None
    supersedes : int or None
    created_at, updated_at, reviewed_at, signed_at : str or None
    criteria : tuple of CriterionRecord
        In paper order.
    engine : dict
        The engine's snapshot at start (all suggestions with reasons, thresholds fingerprint).
    """

    classification_id: int
    case_id: int
    case_name: str
    variant_id: int | None
    build: str | None
    vkey: str
    gene: str | None
    transcript: str | None
    hgvsc: str | None
    hgvsp: str | None
    status: str
    analyst: str
    reviewer: str | None
    signer: str | None
    final_class: str | None
    summary: str | None
    supersedes: int | None
    created_at: str | None
    updated_at: str | None
    reviewed_at: str | None
    signed_at: str | None
    criteria: tuple[CriterionRecord, ...]
    engine: dict

    @property
    def applied_labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.criteria if c.applied)

    @property
    def undecided(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.criteria if c.state == "suggested")

    def computed(self) -> Classification:
        """The class of the accepted criteria under all three schemes (live in the panel)."""
        return classify(list(self.applied_labels))

    def criterion(self, code: str) -> CriterionRecord | None:
        return next((c for c in self.criteria if c.code == code.upper()), None)

    def to_dict(self) -> dict:
        computed = self.computed()
        return {
            "classification_id": self.classification_id, "case": self.case_name, "vkey": self.vkey,
            "build": self.build, "gene": self.gene, "hgvsc": self.hgvsc, "hgvsp": self.hgvsp, "status": self.status,
            "analyst": self.analyst, "reviewer": self.reviewer, "signer": self.signer,
            "final_class": self.final_class, "summary": self.summary, "supersedes": self.supersedes,
            "created_at": self.created_at, "updated_at": self.updated_at, "reviewed_at": self.reviewed_at,
            "signed_at": self.signed_at, "applied": list(self.applied_labels), "undecided": list(self.undecided),
            "computed": computed.to_dict(),
            "criteria": [{"code": c.code, "label": c.label, "state": c.state, "origin": c.origin,
                          "strength": c.strength, "suggested_strength": c.suggested_strength, "reason": c.reason,
                          "comment": c.comment, "updated_by": c.updated_by, "updated_at": c.updated_at}
                         for c in self.criteria],
        }


@dataclass(frozen=True)
class CommandRecord:
    """One entry of a classification's command history."""

    command_id: int
    kind: str
    actor: str
    at: str
    undone_by: int | None
    undoes: int | None
    audit_seq: int | None


def _order(code: str) -> int:
    return list(default_catalogue().codes).index(code)


def get_classification(cur, classification_id: int) -> ClassificationRecord:
    """Read one classification; `ReviewError` if there is none with this id."""
    row = cur.execute(f"SELECT {', '.join('c.' + c for c in _CLS_COLUMNS)}, cs.name, c.engine_snapshot "
                      f"FROM acmg_classifications c LEFT JOIN cases cs USING (case_id) WHERE c.classification_id = ?",
                      [int(classification_id)]).fetchone()
    if row is None:
        raise ReviewError(f"no classification {classification_id}")
    values = dict(zip(_CLS_COLUMNS, row[: len(_CLS_COLUMNS)]))
    crit_rows = cur.execute(f"SELECT {', '.join(_CRIT_COLUMNS)} FROM acmg_criteria WHERE classification_id = ?",
                            [int(classification_id)]).fetchall()
    criteria = []
    for r in crit_rows:
        d = dict(zip(_CRIT_COLUMNS, r))
        criteria.append(CriterionRecord(d["code"], d["state"], d["origin"], d["strength"], d["suggested_strength"],
                                        d["reason"], json.loads(d["evidence"]) if d["evidence"] else {},
                                        d["comment"], d["updated_by"], d["updated_at"]))
    criteria.sort(key=lambda c: _order(c.code))
    return ClassificationRecord(
        classification_id=values["classification_id"], case_id=values["case_id"],
        case_name=row[len(_CLS_COLUMNS)] or f"case {values['case_id']}", variant_id=values["variant_id"],
        build=values["build"], vkey=values["vkey"], gene=values["gene"], transcript=values["transcript"],
        hgvsc=values["hgvsc"], hgvsp=values["hgvsp"], status=values["status"], analyst=values["analyst"],
        reviewer=values["reviewer"], signer=values["signer"], final_class=values["final_class"],
        summary=values["summary"], supersedes=values["supersedes"], created_at=values["created_at"],
        updated_at=values["updated_at"], reviewed_at=values["reviewed_at"], signed_at=values["signed_at"],
        criteria=tuple(criteria), engine=json.loads(row[-1]) if row[-1] else {})


def find_classification(cur, case_name: str, key: str | int) -> ClassificationRecord | None:
    """The newest classification of a variant in a case, or None."""
    from raredesk.store.cases import get_case

    case = get_case(cur, case_name)
    vkey = find_variant_row(cur, case, key)["vkey"]
    row = cur.execute("SELECT classification_id FROM acmg_classifications WHERE case_id = ? AND vkey = ? "
                      "ORDER BY classification_id DESC LIMIT 1", [case.case_id, vkey]).fetchone()
    return get_classification(cur, row[0]) if row else None


def history(cur, classification_id: int) -> list[CommandRecord]:
    """The commands applied to a classification, oldest first."""
    return [CommandRecord(*r) for r in cur.execute(
        "SELECT command_id, kind, actor, done_at, undone_by, undoes, audit_seq FROM acmg_commands "
        "WHERE classification_id = ? ORDER BY command_id", [int(classification_id)]).fetchall()]


def two_person_rule(cur) -> bool:
    """Whether signing requires a signer other than the analyst (workspace setting, default off)."""
    row = cur.execute("SELECT value FROM acmg_settings WHERE key = 'two_person_rule'").fetchone()
    return bool(row) and row[0] == "true"


# --- row-level change machinery (generic, so undo is generic) ------------------------------------------

def _where(key: dict) -> tuple[str, list]:
    return " AND ".join(f"{k} = ?" for k in key), list(key.values())


def _get(cur, table: str, key: dict) -> dict | None:
    cols, _ = _TABLES[table]
    where, params = _where(key)
    row = cur.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE {where}", params).fetchall()
    if len(row) > 1:
        raise ReviewError(f"{table}: more than one row for {key} (the store is inconsistent)")
    return dict(zip(cols, row[0])) if row else None


def _put(cur, table: str, key: dict, values: dict | None) -> None:
    """Make the row at ``key`` equal ``values`` (None deletes it)."""
    cols, _ = _TABLES[table]
    where, params = _where(key)
    exists = _get(cur, table, key) is not None
    if values is None:
        if exists:
            cur.execute(f"DELETE FROM {table} WHERE {where}", params)
        return
    if exists:
        sets = [c for c in cols if c not in key]
        cur.execute(f"UPDATE {table} SET {', '.join(c + ' = ?' for c in sets)} WHERE {where}",
                    [values.get(c) for c in sets] + params)
    else:
        cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                    [values.get(c) for c in cols])


class _Recorder:
    """Collects row changes of one command, merging repeated changes of the same row."""

    def __init__(self, cur):
        self.cur = cur
        self.changes: list[dict] = []

    def set(self, table: str, key: dict, values: dict | None) -> None:
        before = _get(self.cur, table, key)
        cols, _ = _TABLES[table]
        merged = None if values is None else {**(before or {}), **values, **key}
        after = None if merged is None else {c: merged.get(c) for c in cols}
        if before == after:
            return
        _put(self.cur, table, key, after)
        for ch in self.changes:
            if ch["table"] == table and ch["key"] == key:
                ch["after"] = after
                return
        self.changes.append({"table": table, "key": key, "before": before, "after": after})

    def update(self, table: str, key: dict, **values: Any) -> None:
        if _get(self.cur, table, key) is None:
            raise ReviewError(f"{table}: no row {key}")
        self.set(table, key, values)


@contextmanager
def _transaction(ws) -> Iterator[Any]:
    with ws.write_lock:
        cur = ws.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise


def _actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip():
        raise ReviewError("every decision needs the name of who made it (actor)")
    return actor.strip()


def _record_command(cur, cid: int | None, kind: str, actor: str, at: str, changes: list[dict],
                    audit_extra: dict | None = None, undoes: int | None = None,
                    entity: str = "acmg_classification") -> tuple[int, int]:
    before = [{"table": c["table"], "key": c["key"], "row": c["before"]} for c in changes]
    after = [{"table": c["table"], "key": c["key"], "row": c["after"]} for c in changes]
    after_doc: dict[str, Any] = {"changes": after}
    if audit_extra:
        after_doc.update(audit_extra)
    rec = audit.append(cur, actor, kind, entity, cid if entity == "acmg_classification" else
                       (audit_extra or {}).get("entity_id", cid), {"changes": before}, after_doc, at=at)
    command_id = cur.execute("SELECT nextval('acmg_command_id_seq')").fetchone()[0]
    cur.execute("INSERT INTO acmg_commands (command_id, classification_id, kind, actor, done_at, changes, undone_by, "
                "undoes, audit_seq) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                [command_id, cid, kind, actor, at, audit.canonical_json(changes), undoes, rec.seq])
    return int(command_id), rec.seq


def _tables(changes: list[dict]) -> tuple[str, ...]:
    return tuple(sorted({c["table"] for c in changes} | {"audit_log", "acmg_commands"}))


def _run(ws, classification_id: int, kind: str, actor: str,
         mutate: Callable[[Any, ClassificationRecord, _Recorder, str, str], dict | None],
         *, reopen: bool = True) -> Changes:
    """Apply one command: load, check, mutate, bump the status back to draft if needed, audit, log for undo."""
    who = _actor(actor)
    with _transaction(ws) as cur:
        rec = get_classification(cur, classification_id)
        if rec.status == "signed":
            raise ReviewError(f"classification {rec.classification_id} is signed and locked; amend it to make "
                              f"changes")
        at = audit.now()
        recorder = _Recorder(cur)
        extra = mutate(cur, rec, recorder, who, at) or {}
        if not recorder.changes:
            raise ReviewError("nothing to change")
        key = {"classification_id": rec.classification_id}
        if reopen and rec.status == "reviewed":
            recorder.update("acmg_classifications", key, status="draft", reviewer=None, reviewed_at=None)
            extra["reopened"] = "a reviewed classification was edited and is a draft again"
        recorder.update("acmg_classifications", key, updated_at=at)
        stale = tuple(extra.pop("_stale", ()))
        command_id, seq = _record_command(cur, rec.classification_id, kind, who, at, recorder.changes, extra)
    return Changes(_tables(recorder.changes), rec.classification_id, command_id, seq, stale)


# --- starting a classification -------------------------------------------------------------------

def _insert_suggestions(recorder: _Recorder, cid: int, report: EvidenceReport, actor: str, at: str) -> None:
    for s in report.met:
        recorder.set("acmg_criteria", {"classification_id": cid, "code": s.code}, {
            "state": "suggested", "origin": "engine", "strength": s.strength, "suggested_strength": s.strength,
            "reason": s.reason, "evidence": audit.canonical_json({"values": s.to_dict()["values"],
                                                                  "caveats": list(s.caveats),
                                                                  "sources": list(s.sources)}),
            "comment": None, "updated_by": actor, "updated_at": at})


def _engine_snapshot(report: EvidenceReport) -> str:
    return audit.canonical_json(report.to_dict())


def start_classification(ws, case_name: str, key: str | int, analyst: str, *,
                         thresholds: Thresholds | None = None, report: EvidenceReport | None = None,
                         copy_from: int | None = None, **options: Any) -> Changes:
    """Open a draft classification of a variant with the engine's suggestions.

    Parameters
    ----------
    ws : Workspace
    case_name : str
    key : str or int
        Variant key or variant_id.
    analyst : str
        Who starts it (the "analyst" of the two-person rule).
    thresholds : Thresholds, optional
    report : EvidenceReport, optional
        Suggestions computed earlier (e.g. shown in the panel); recomputed if absent.
    copy_from : int, optional
        Another classification (e.g. from another case, found in the knowledge
        base) whose applied criteria are added as undecided suggestions.
    **options
        Passed to `raredesk.acmg.evidence.gather_evidence`.

    Returns
    -------
    Changes
        ``classification_id`` is the new draft.

    Raises
    ------
    ReviewError
        If the variant already has an open (draft/reviewed) or signed
        classification in this case.
    """
    from raredesk.store.cases import get_case

    who = _actor(analyst)
    cur = ws.cursor()
    case = get_case(cur, case_name)
    row = find_variant_row(cur, case, key)
    report = report or suggest_for_variant(cur, case_name, row["vkey"], thresholds, **options)
    if report.vkey != row["vkey"]:
        raise ReviewError(f"the suggestions are for {report.vkey}, not {row['vkey']}")
    prior = None
    with _transaction(ws) as cur:
        existing = cur.execute("SELECT classification_id, status FROM acmg_classifications WHERE case_id = ? AND "
                               "vkey = ? ORDER BY classification_id DESC LIMIT 1",
                               [case.case_id, row["vkey"]]).fetchone()
        if existing and existing[1] in ("draft", "reviewed"):
            raise ReviewError(f"classification {existing[0]} of {row['vkey']} in {case_name} is still {existing[1]}; "
                              f"continue it")
        if existing and existing[1] == "signed":
            raise ReviewError(f"classification {existing[0]} of {row['vkey']} in {case_name} is signed; amend it to "
                              f"change it")
        if copy_from is not None:
            prior = get_classification(cur, copy_from)
            if prior.vkey != row["vkey"] or prior.build != case.build:
                raise ReviewError(f"classification {copy_from} is of {prior.vkey} ({prior.build}), not "
                                  f"{row['vkey']} ({case.build})")
        cid = int(cur.execute("SELECT nextval('acmg_classification_id_seq')").fetchone()[0])
        at = audit.now()
        recorder = _Recorder(cur)
        recorder.set("acmg_classifications", {"classification_id": cid}, {
            "case_id": case.case_id, "variant_id": row["variant_id"], "build": case.build, "vkey": row["vkey"],
            "gene": report.gene, "transcript": report.transcript, "hgvsc": report.hgvsc, "hgvsp": report.hgvsp,
            "status": "draft", "analyst": who, "created_at": at, "updated_at": at})
        cur.execute("UPDATE acmg_classifications SET engine_snapshot = ? WHERE classification_id = ?",
                    [_engine_snapshot(report), cid])
        _insert_suggestions(recorder, cid, report, who, at)
        if prior is not None:
            note = (f"from classification {prior.classification_id} ({prior.case_name}, {prior.status}"
                    f"{' by ' + (prior.signer or prior.reviewer or prior.analyst) if prior.status != 'draft' else ''}"
                    f", {(prior.signed_at or prior.reviewed_at or prior.created_at or '')[:10]})")
            for c in prior.criteria:
                if not c.applied:
                    continue
                k = {"classification_id": cid, "code": c.code}
                mine = _get(cur, "acmg_criteria", k)
                if mine is not None:
                    recorder.update("acmg_criteria", k, reason=(mine["reason"] or "") + f" Also applied {note} at "
                                    f"{c.strength}.")
                    continue
                recorder.set("acmg_criteria", k, {
                    "state": "suggested", "origin": "previous", "strength": c.strength, "suggested_strength": None,
                    "reason": f"{c.label} {note}: {c.reason or ''}".strip(), "evidence": audit.canonical_json(
                        c.evidence), "comment": c.comment, "updated_by": who, "updated_at": at})
        extra = {"suggested": list(report.labels), "thresholds_sha256": report.thresholds_sha256,
                 "copy_from": copy_from}
        command_id, seq = _record_command(cur, cid, "start", who, at, recorder.changes, extra)
    return Changes(_tables(recorder.changes), cid, command_id, seq)


def amend(ws, classification_id: int, actor: str, *, thresholds: Thresholds | None = None) -> Changes:
    """Start a new draft that supersedes a signed classification, keeping its criteria decisions.

    The criteria are copied with their states and strengths (origin ``previous``);
    engine suggestions for criteria not in the signed one are added, undecided.
    The final class and summary must be set again.
    """
    who = _actor(actor)
    cur = ws.cursor()
    old = get_classification(cur, classification_id)
    if old.status != "signed":
        raise ReviewError(f"classification {old.classification_id} is {old.status}; only a signed classification "
                          f"is amended (edit this one directly)")
    report = suggest_for_variant(cur, old.case_name, old.vkey, thresholds)
    with _transaction(ws) as cur:
        newer = cur.execute("SELECT classification_id FROM acmg_classifications WHERE supersedes = ?",
                            [old.classification_id]).fetchone()
        if newer:
            raise ReviewError(f"classification {old.classification_id} was already amended by {newer[0]}")
        cid = int(cur.execute("SELECT nextval('acmg_classification_id_seq')").fetchone()[0])
        at = audit.now()
        recorder = _Recorder(cur)
        recorder.set("acmg_classifications", {"classification_id": cid}, {
            "case_id": old.case_id, "variant_id": old.variant_id, "build": old.build, "vkey": old.vkey,
            "gene": report.gene, "transcript": report.transcript, "hgvsc": report.hgvsc, "hgvsp": report.hgvsp,
            "status": "draft", "analyst": who, "supersedes": old.classification_id, "created_at": at,
            "updated_at": at})
        cur.execute("UPDATE acmg_classifications SET engine_snapshot = ? WHERE classification_id = ?",
                    [_engine_snapshot(report), cid])
        for c in old.criteria:
            recorder.set("acmg_criteria", {"classification_id": cid, "code": c.code}, {
                "state": c.state, "origin": "previous", "strength": c.strength,
                "suggested_strength": c.suggested_strength, "reason": c.reason,
                "evidence": audit.canonical_json(c.evidence), "comment": c.comment, "updated_by": who,
                "updated_at": at})
        have = {c.code for c in old.criteria}
        for s in report.met:
            if s.code not in have:
                _insert_suggestions_one(recorder, cid, s, who, at)
        command_id, seq = _record_command(cur, cid, "amend", who, at, recorder.changes,
                                          {"supersedes": old.classification_id})
    return Changes(_tables(recorder.changes), cid, command_id, seq)


def _insert_suggestions_one(recorder: _Recorder, cid: int, s, actor: str, at: str) -> None:
    recorder.set("acmg_criteria", {"classification_id": cid, "code": s.code}, {
        "state": "suggested", "origin": "engine", "strength": s.strength, "suggested_strength": s.strength,
        "reason": s.reason, "evidence": audit.canonical_json({"values": s.to_dict()["values"],
                                                              "caveats": list(s.caveats)}),
        "comment": None, "updated_by": actor, "updated_at": at})


# --- criterion decisions ---------------------------------------------------------------------------------

def _code(text: str) -> str:
    code = (text or "").strip().upper()
    if code not in default_catalogue():
        raise ReviewError(f"unknown ACMG criterion {text!r}")
    return code


def _criterion_or_fail(rec: ClassificationRecord, code: str) -> CriterionRecord:
    c = rec.criterion(code)
    if c is None:
        raise ReviewError(f"{code} is not among the criteria of classification {rec.classification_id}; "
                          f"add it with add_criterion")
    return c


def accept(ws, classification_id: int, code: str, actor: str, *, comment: str | None = None) -> Changes:
    """Accept a suggested (or previously rejected) criterion at its current strength."""
    code = _code(code)

    def mutate(cur, rec, r, who, at):
        c = _criterion_or_fail(rec, code)
        if c.state == "accepted":
            raise ReviewError(f"{c.label} is already accepted")
        values = {"state": "accepted", "updated_by": who, "updated_at": at}
        if comment is not None:
            values["comment"] = comment.strip() or None
        r.update("acmg_criteria", {"classification_id": rec.classification_id, "code": code}, **values)
        return {"criterion": c.label}

    return _run(ws, classification_id, "accept", actor, mutate)


def reject(ws, classification_id: int, code: str, actor: str, *, comment: str | None = None) -> Changes:
    """Reject a criterion (suggested or accepted); the comment says why."""
    code = _code(code)

    def mutate(cur, rec, r, who, at):
        c = _criterion_or_fail(rec, code)
        if c.state == "rejected":
            raise ReviewError(f"{c.label} is already rejected")
        values = {"state": "rejected", "updated_by": who, "updated_at": at}
        if comment is not None:
            values["comment"] = comment.strip() or None
        r.update("acmg_criteria", {"classification_id": rec.classification_id, "code": code}, **values)
        return {"criterion": c.label}

    return _run(ws, classification_id, "reject", actor, mutate)


def add_criterion(ws, classification_id: int, label: str, actor: str, *, reason: str) -> Changes:
    """Add a criterion the engine did not suggest (e.g. ``PS3_Moderate``, ``PP4``), accepted.

    Parameters
    ----------
    label : str
        ``CODE`` (its Richards 2015 strength) or ``CODE_Strength``.
    reason : str
        The reviewer's justification; required.

    Raises
    ------
    ReviewError
        Unknown or retired code, disallowed strength, criterion already listed, no reason.
    """
    try:
        applied = parse_criterion(label)
    except CriterionError as exc:
        raise ReviewError(exc.problem) from None
    if default_catalogue().criterion(applied.code).retired:
        raise ReviewError(f"{applied.code} is retired by ClinGen SVI (Biesecker & Harrison 2018) and is not added")
    if not reason or not reason.strip():
        raise ReviewError(f"adding {applied.label} needs a reason")

    def mutate(cur, rec, r, who, at):
        existing = rec.criterion(applied.code)
        if existing is not None:
            raise ReviewError(f"{applied.code} is already listed ({existing.label}, {existing.state}); accept it or "
                              f"change its strength")
        r.set("acmg_criteria", {"classification_id": rec.classification_id, "code": applied.code}, {
            "state": "accepted", "origin": "reviewer", "strength": applied.strength, "suggested_strength": None,
            "reason": reason.strip(), "evidence": None, "comment": None, "updated_by": who, "updated_at": at})
        return {"criterion": applied.label}

    return _run(ws, classification_id, "add", actor, mutate)


def set_strength(ws, classification_id: int, code: str, strength: str, actor: str) -> Changes:
    """Change a criterion's strength (checked against the catalogue's allowed strengths)."""
    code = _code(code)
    try:
        applied = parse_criterion(f"{code}_{strength}")
    except CriterionError as exc:
        raise ReviewError(exc.problem) from None

    def mutate(cur, rec, r, who, at):
        c = _criterion_or_fail(rec, code)
        if c.strength == applied.strength:
            raise ReviewError(f"{c.label} is already at {applied.strength}")
        r.update("acmg_criteria", {"classification_id": rec.classification_id, "code": code},
                 strength=applied.strength, updated_by=who, updated_at=at)
        return {"from": c.label, "to": applied.label}

    return _run(ws, classification_id, "set_strength", actor, mutate)


def set_comment(ws, classification_id: int, code: str, text: str | None, actor: str) -> Changes:
    """Set (or clear, with an empty text) the reviewer's comment on a criterion."""
    code = _code(code)
    value = (text or "").strip() or None

    def mutate(cur, rec, r, who, at):
        _criterion_or_fail(rec, code)
        r.update("acmg_criteria", {"classification_id": rec.classification_id, "code": code}, comment=value,
                 updated_by=who, updated_at=at)
        return {"criterion": code}

    # A comment does not change the evidence: a reviewed classification stays reviewed.
    return _run(ws, classification_id, "comment", actor, mutate, reopen=False)


def set_final(ws, classification_id: int, final_class: str, summary: str, actor: str) -> Changes:
    """Set the final class (one of the five Richards 2015 classes) and the summary sentence."""
    if final_class not in CLASSES:
        raise ReviewError(f"final class must be one of: {', '.join(CLASSES)}")
    if not summary or not summary.strip():
        raise ReviewError("the final class needs a summary sentence")

    def mutate(cur, rec, r, who, at):
        r.update("acmg_classifications", {"classification_id": rec.classification_id}, final_class=final_class,
                 summary=summary.strip())
        computed = rec.computed()
        return {"final_class": final_class, "computed_class": computed.default,
                "differs_from_computed": final_class != computed.default}

    return _run(ws, classification_id, "set_final", actor, mutate)


# --- status ------------------------------------------------------------------------------------------------

def _snapshot_values(rec: ClassificationRecord) -> dict:
    computed = rec.computed()
    return {"computed_class": computed.default, "points": computed.points.points,
            "criteria_labels": ",".join(rec.applied_labels)}


def mark_reviewed(ws, classification_id: int, actor: str) -> Changes:
    """draft -> reviewed: every suggestion decided, final class and summary set."""

    def mutate(cur, rec, r, who, at):
        if rec.status != "draft":
            raise ReviewError(f"classification {rec.classification_id} is {rec.status}, not draft")
        if rec.undecided:
            raise ReviewError(f"undecided suggestions: {', '.join(rec.undecided)}; accept or reject them first")
        if not rec.final_class or not rec.summary:
            raise ReviewError("set the final class and its summary sentence first")
        r.update("acmg_classifications", {"classification_id": rec.classification_id}, status="reviewed",
                 reviewer=who, reviewed_at=at, **_snapshot_values(rec))
        return {"status": "reviewed"}

    return _run(ws, classification_id, "review", actor, mutate, reopen=False)


def sign(ws, classification_id: int, actor: str) -> Changes:
    """reviewed -> signed. Under the two-person rule the signer must not be the analyst.

    Returns
    -------
    Changes
        ``stale_citations`` lists signed reports that cite an earlier class of
        this variant that the new signed class replaces.
    """

    def mutate(cur, rec, r, who, at):
        if rec.status != "reviewed":
            raise ReviewError(f"classification {rec.classification_id} is {rec.status}; mark it reviewed before "
                              f"signing")
        if two_person_rule(cur) and who == rec.analyst:
            raise ReviewError(f"two-person rule: {who} started this classification and cannot also sign it")
        r.update("acmg_classifications", {"classification_id": rec.classification_id}, status="signed",
                 signer=who, signed_at=at, **_snapshot_values(rec))
        stale = knowledge.stale_citations(cur, rec.build, rec.vkey, rec.final_class)
        previous = [p for p in knowledge.classifications_for_variant(cur, rec.build, rec.vkey)
                    if p.status == "signed" and p.classification_id != rec.classification_id]
        extra: dict[str, Any] = {"status": "signed", "two_person_rule": two_person_rule(cur)}
        if previous and previous[0].final_class != rec.final_class:
            extra["class_changed"] = {"from": previous[0].final_class, "to": rec.final_class,
                                      "previous_classification": previous[0].classification_id}
        if stale:
            extra["stale_reports"] = sorted({c.report_id for c in stale})
        extra["_stale"] = stale
        return extra

    # Citations travel in Changes (``_stale`` is taken out before the audit record is written).
    return _run(ws, classification_id, "sign", actor, mutate, reopen=False)


def set_two_person_rule(ws, enabled: bool, actor: str) -> Changes:
    """Turn the two-person rule on or off for the workspace (audited)."""
    who = _actor(actor)
    with _transaction(ws) as cur:
        at = audit.now()
        recorder = _Recorder(cur)
        recorder.set("acmg_settings", {"key": "two_person_rule"}, {"value": "true" if enabled else "false"})
        if not recorder.changes:
            raise ReviewError(f"the two-person rule is already {'on' if enabled else 'off'}")
        command_id, seq = _record_command(cur, None, "setting", who, at, recorder.changes,
                                          {"entity_id": "two_person_rule"}, entity="acmg_settings")
    return Changes(_tables(recorder.changes), None, command_id, seq)


# --- undo ---------------------------------------------------------------------------------------------------

def undo(ws, classification_id: int, actor: str) -> Changes:
    """Reverse the newest not-yet-undone command of a classification (itself an audited command).

    Raises
    ------
    ReviewError
        Nothing to undo, or the classification is signed (signing is final;
        amend instead).
    """
    who = _actor(actor)
    with _transaction(ws) as cur:
        rec = get_classification(cur, classification_id)
        if rec.status == "signed":
            raise ReviewError(f"classification {rec.classification_id} is signed; signing cannot be undone (amend "
                              f"it instead)")
        row = cur.execute("SELECT command_id, kind, changes FROM acmg_commands WHERE classification_id = ? AND "
                          "undone_by IS NULL AND kind <> 'undo' ORDER BY command_id DESC LIMIT 1",
                          [rec.classification_id]).fetchone()
        if row is None:
            raise ReviewError(f"nothing to undo for classification {rec.classification_id}")
        command_id, kind, text = row
        changes = json.loads(text)
        at = audit.now()
        recorder = _Recorder(cur)
        for ch in reversed(changes):
            current = _get(cur, ch["table"], ch["key"])
            if current != ch["after"]:
                raise ReviewError(f"cannot undo {kind}: {ch['table']} {ch['key']} changed since")
            recorder.set(ch["table"], ch["key"], ch["before"])
        new_id, seq = _record_command(cur, rec.classification_id, "undo", who, at, recorder.changes,
                                      {"undoes": command_id, "undone_kind": kind}, undoes=command_id)
        cur.execute("UPDATE acmg_commands SET undone_by = ? WHERE command_id = ?", [new_id, command_id])
    return Changes(_tables(recorder.changes), rec.classification_id, new_id, seq)
