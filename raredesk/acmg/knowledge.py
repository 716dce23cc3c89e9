"""Cross-case knowledge base: classifications keyed by genome build + normalised variant key.

A classification made in one case comes back in every other case that holds the
same variant (same build, same ``chrom:pos:ref:alt`` after the importer's
trimming): its class, criteria, analyst, reviewer, signer and dates. The
knowledge base also says in how many cases the variant was seen, and keeps the
report citations: when a variant's signed class changes, `stale_citations`
lists the signed reports that cited the old one.

Reads take a DuckDB cursor; the one write here (`cite_in_report`) runs in a
transaction with its audit record, like every decision in `raredesk.acmg.review`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from raredesk.acmg import audit
from raredesk.acmg.evidence import normalise_key
from raredesk.errors import RareDeskError

__all__ = ["Changes", "Citation", "PriorClassification", "VariantKnowledge", "cite_in_report", "citations",
           "classifications_for_variant", "latest_class_by_vkey", "latest_classifications", "normalise_key",
           "seen_in_cases", "stale_citations", "variant_knowledge"]

KNOWLEDGE_PREFIX = "knowledge:"
#: Statuses whose class is used as knowledge (drafts are work in progress).
DECIDED = ("reviewed", "signed")


@dataclass(frozen=True)
class Changes:
    """What a write changed, so each view refreshes only what it shows.

    Attributes
    ----------
    tables : tuple of str
        Tables written.
    classification_id : int or None
        The classification concerned (a new one for start/amend).
    command_id : int or None
        The undoable command recorded (None for non-undoable writes).
    audit_seq : int or None
        The audit record written with it.
    stale_citations : tuple of Citation
        Signed reports citing a class that this change superseded.
    """

    tables: tuple[str, ...]
    classification_id: int | None = None
    command_id: int | None = None
    audit_seq: int | None = None
    stale_citations: tuple["Citation", ...] = field(default=())


@dataclass(frozen=True)
class PriorClassification:
    """A stored classification, as the knowledge base shows it.

    Attributes
    ----------
    classification_id, case_id : int
    case_name : str
    build : str or None
    vkey : str
    gene, transcript, hgvsc, hgvsp : str or None
    status : str
        ``draft``, ``reviewed`` or ``signed``.
    final_class : str or None
    computed_class : str or None
        The engine's class for the accepted criteria, recorded at review/sign.
    points : int or None
    criteria : tuple of str
        Applied criteria labels (accepted or added).
    summary : str or None
    analyst, reviewer, signer : str or None
    created_at, reviewed_at, signed_at : str or None
    supersedes : int or None
    """

    classification_id: int
    case_id: int
    case_name: str
    build: str | None
    vkey: str
    gene: str | None
    transcript: str | None
    hgvsc: str | None
    hgvsp: str | None
    status: str
    final_class: str | None
    computed_class: str | None
    points: int | None
    criteria: tuple[str, ...]
    summary: str | None
    analyst: str | None
    reviewer: str | None
    signer: str | None
    created_at: str | None
    reviewed_at: str | None
    signed_at: str | None
    supersedes: int | None

    @property
    def decided_at(self) -> str | None:
        return self.signed_at or self.reviewed_at or self.created_at

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


_PRIOR_SQL = """
SELECT c.classification_id, c.case_id, cs.name AS case_name, c.build, c.vkey, c.gene, c.transcript, c.hgvsc,
       c.hgvsp, c.status, c.final_class, c.computed_class, c.points, c.criteria_labels, c.summary, c.analyst,
       c.reviewer, c.signer, c.created_at, c.reviewed_at, c.signed_at, c.supersedes
FROM acmg_classifications c LEFT JOIN cases cs ON cs.case_id = c.case_id
"""


def _labels(cur, classification_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    if not classification_ids:
        return {}
    from raredesk.acmg.combine import parse_criteria

    rows = cur.execute("SELECT classification_id, code, strength FROM acmg_criteria WHERE classification_id IN "
                       "(SELECT unnest(?::INTEGER[])) AND state = 'accepted'", [list(classification_ids)]).fetchall()
    by_id: dict[int, list[str]] = {}
    for cid, code, strength in rows:
        by_id.setdefault(cid, []).append(f"{code}_{strength}")
    return {cid: tuple(a.label for a in parse_criteria(codes)) for cid, codes in by_id.items()}


def _priors(cur, where: str, params: Sequence[Any]) -> list[PriorClassification]:
    rows = cur.execute(_PRIOR_SQL + where, list(params)).fetchall()
    labels = _labels(cur, [r[0] for r in rows if r[9] != "signed" or not r[13]])
    out = []
    for r in rows:
        snap = tuple(x for x in (r[13] or "").split(",") if x) if r[9] == "signed" and r[13] else None
        out.append(PriorClassification(
            classification_id=r[0], case_id=r[1], case_name=r[2] or f"case {r[1]}", build=r[3], vkey=r[4],
            gene=r[5], transcript=r[6], hgvsc=r[7], hgvsp=r[8], status=r[9], final_class=r[10],
            computed_class=r[11], points=r[12], criteria=snap if snap is not None else labels.get(r[0], ()),
            summary=r[14], analyst=r[15], reviewer=r[16], signer=r[17], created_at=r[18], reviewed_at=r[19],
            signed_at=r[20], supersedes=r[21]))
    return out


def classifications_for_variant(cur, build: str | None, vkey: str, *, exclude_case: str | None = None,
                                include_drafts: bool = True) -> list[PriorClassification]:
    """Every classification of ``vkey`` on ``build`` in the workspace, newest first.

    Parameters
    ----------
    cur : duckdb cursor
    build : str or None
    vkey : str
        Any spelling `normalise_key` accepts.
    exclude_case : str, optional
        Leave out the classifications of this case (the one being worked on).
    include_drafts : bool
    """
    where = " WHERE c.build IS NOT DISTINCT FROM ? AND c.vkey = ?"
    params: list[Any] = [build, normalise_key(vkey)]
    if exclude_case is not None:
        where += " AND cs.name IS DISTINCT FROM ?"
        params.append(exclude_case)
    if not include_drafts:
        where += " AND c.status IN ('reviewed', 'signed')"
    where += " ORDER BY coalesce(c.signed_at, c.reviewed_at, c.updated_at) DESC, c.classification_id DESC"
    return _priors(cur, where, params)


def latest_classifications(cur, build: str | None, *, gene: str | None = None,
                           statuses: Iterable[str] = DECIDED) -> list[PriorClassification]:
    """The newest decided classification of each variant (optionally of one gene)."""
    wanted = list(statuses)
    where = (" WHERE c.build IS NOT DISTINCT FROM ? AND c.status IN (SELECT unnest(?::VARCHAR[]))"
             + (" AND c.gene = ?" if gene else "")
             + " ORDER BY c.vkey, coalesce(c.signed_at, c.reviewed_at, c.updated_at) DESC, c.classification_id DESC")
    params: list[Any] = [build, wanted] + ([gene] if gene else [])
    seen: set[str] = set()
    out = []
    for p in _priors(cur, where, params):
        if p.vkey not in seen:
            seen.add(p.vkey)
            out.append(p)
    return out


def latest_class_by_vkey(cur, build: str | None, vkeys: Iterable[str]) -> dict[str, tuple[str, str]]:
    """vkey -> (final class, source text) for variants with a decided classification."""
    keys = sorted(set(vkeys))
    if not keys:
        return {}
    where = (" WHERE c.build IS NOT DISTINCT FROM ? AND c.vkey IN (SELECT unnest(?::VARCHAR[])) AND c.status IN "
             "('reviewed', 'signed') AND c.final_class IS NOT NULL ORDER BY c.vkey, "
             "coalesce(c.signed_at, c.reviewed_at, c.updated_at) DESC, c.classification_id DESC")
    out: dict[str, tuple[str, str]] = {}
    for p in _priors(cur, where, [build, keys]):
        out.setdefault(p.vkey, (p.final_class, f"RareDesk classification {p.classification_id} ({p.case_name}, "
                                               f"{p.status} {(p.decided_at or '')[:10]})"))
    return out


def seen_in_cases(cur, build: str | None, vkey: str) -> list[str]:
    """Names of the cases (same build, knowledge sources excluded) that hold ``vkey``."""
    from raredesk.store.importer import variants_table

    key = normalise_key(vkey)
    cases = cur.execute("SELECT case_id, name FROM cases WHERE build IS NOT DISTINCT FROM ? AND name NOT LIKE ? "
                        "ORDER BY name", [build, KNOWLEDGE_PREFIX + "%"]).fetchall()
    existing = {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = "
                                          "current_database()").fetchall()}
    parts, params = [], []
    for cid, name in cases:
        table = variants_table(cid)
        if table in existing:
            parts.append(f"SELECT ? AS name FROM (SELECT 1 FROM {table} WHERE vkey = ? LIMIT 1)")
            params += [name, key]
    if not parts:
        return []
    return [r[0] for r in cur.execute(" UNION ALL ".join(parts), params).fetchall()]


@dataclass(frozen=True)
class VariantKnowledge:
    """What the workspace knows about one variant.

    Attributes
    ----------
    build : str or None
    vkey : str
    cases : tuple of str
        Cases holding the variant ("seen in N cases").
    classifications : tuple of PriorClassification
        Newest first.
    """

    build: str | None
    vkey: str
    cases: tuple[str, ...]
    classifications: tuple[PriorClassification, ...]

    @property
    def n_cases(self) -> int:
        return len(self.cases)

    @property
    def current(self) -> PriorClassification | None:
        """The newest signed classification, if any."""
        return next((c for c in self.classifications if c.status == "signed"), None)

    def to_dict(self) -> dict:
        cur = self.current
        return {"build": self.build, "vkey": self.vkey, "seen_in_cases": self.n_cases, "cases": list(self.cases),
                "current": cur.to_dict() if cur else None,
                "classifications": [c.to_dict() for c in self.classifications]}


def variant_knowledge(cur, build: str | None, vkey: str, *, exclude_case: str | None = None) -> VariantKnowledge:
    """Seen-in cases and previous classifications of a variant (for the ACMG panel's history)."""
    key = normalise_key(vkey)
    return VariantKnowledge(build, key, tuple(seen_in_cases(cur, build, key)),
                            tuple(classifications_for_variant(cur, build, key, exclude_case=exclude_case)))


# --- report citations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Citation:
    """A report's citation of a classification.

    Attributes
    ----------
    report_id : str
    case_id : int or None
    classification_id : int
    build : str or None
    vkey : str
    cited_class : str
        The class the report stated.
    report_status : str
        ``signed`` for a signed report.
    cited_by, cited_at : str
    """

    report_id: str
    case_id: int | None
    classification_id: int
    build: str | None
    vkey: str
    cited_class: str
    report_status: str
    cited_by: str
    cited_at: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


_CITE_COLS = "report_id, case_id, classification_id, build, vkey, cited_class, report_status, cited_by, cited_at"


def cite_in_report(ws, report_id: str, classification_ids: Iterable[int], actor: str, *,
                   report_status: str = "signed") -> Changes:
    """Record that report ``report_id`` cites these signed classifications.

    The report module calls this when it signs a report. Each citation keeps the
    class the report stated, so a later change of the variant's class can name
    the reports to revisit (`stale_citations`).

    Raises
    ------
    RareDeskError
        If a classification is unknown or not signed, or the report id is empty.
    """
    if not report_id or not str(report_id).strip():
        raise RareDeskError("a report citation needs a report id")
    if not actor or not str(actor).strip():
        raise RareDeskError("a report citation needs the name of who cites")
    ids = list(dict.fromkeys(int(i) for i in classification_ids))
    if not ids:
        raise RareDeskError("a report citation needs at least one classification")
    with ws.write_lock:
        cur = ws.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            rows = []
            at = audit.now()
            for cid in ids:
                r = cur.execute("SELECT case_id, build, vkey, status, final_class FROM acmg_classifications "
                                "WHERE classification_id = ?", [cid]).fetchone()
                if r is None:
                    raise RareDeskError(f"no classification {cid}")
                if r[3] != "signed":
                    raise RareDeskError(f"classification {cid} is {r[3]}, not signed: a report cites signed "
                                        f"classifications only")
                row = [str(report_id), r[0], cid, r[1], r[2], r[4], report_status, str(actor), at]
                cur.execute(f"INSERT INTO report_citations ({_CITE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                rows.append(dict(zip(_CITE_COLS.split(", "), row)))
            rec = audit.append(cur, actor, "cite", "report", report_id, None, {"citations": rows}, at=at)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    return Changes(("report_citations", "audit_log"), None, None, rec.seq)


def citations(cur, build: str | None = None, vkey: str | None = None, *,
              report_id: str | None = None) -> list[Citation]:
    """Report citations, optionally of one variant or one report."""
    sql = f"SELECT {_CITE_COLS} FROM report_citations WHERE TRUE"
    params: list[Any] = []
    if vkey is not None:
        sql += " AND build IS NOT DISTINCT FROM ? AND vkey = ?"
        params += [build, normalise_key(vkey)]
    if report_id is not None:
        sql += " AND report_id = ?"
        params.append(report_id)
    sql += " ORDER BY cited_at, report_id, classification_id"
    return [Citation(*r) for r in cur.execute(sql, params).fetchall()]


def stale_citations(cur, build: str | None, vkey: str, current_class: str | None = None) -> list[Citation]:
    """Signed reports that cite a class of ``vkey`` other than its current one.

    Parameters
    ----------
    current_class : str, optional
        Defaults to the final class of the newest signed classification.
    """
    key = normalise_key(vkey)
    if current_class is None:
        latest = next((c for c in classifications_for_variant(cur, build, key) if c.status == "signed"), None)
        if latest is None:
            return []
        current_class = latest.final_class
    return [c for c in citations(cur, build, key) if c.report_status == "signed" and c.cited_class != current_class]
