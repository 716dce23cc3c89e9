"""Reading cases, their samples and their variant columns."""

from __future__ import annotations

from dataclasses import dataclass, field

from raredesk.errors import RareDeskError
from raredesk.store.importer import SAMPLE_COLUMNS, variants_table

KNOWLEDGE_PREFIX = "knowledge:"
GT_NAMES = {0: "hom_ref", 1: "het", 2: "hom_alt", None: "missing"}


@dataclass
class Sample:
    """A member of a case.

    Attributes
    ----------
    sample_id : str
    sample_index : int or None
        Column group ``s<i>_*`` in the variants table; None for pedigree
        members without genotypes.
    role : str or None
        ``proband``, ``father``, ``mother``, ``sibling``, ``child``, ``relative``.
    sex : str or None
    affected : bool or None
    father_id, mother_id : str or None
    alignment_path : str or None
    """

    sample_id: str
    sample_index: int | None
    role: str | None
    sex: str | None
    affected: bool | None
    father_id: str | None = None
    mother_id: str | None = None
    alignment_path: str | None = None


@dataclass
class Case:
    """A case and its members.

    Attributes
    ----------
    case_id : int
    name : str
    proband : str or None
    build : str or None
    status : str
    n_variants : int
    samples : list of Sample
    hpo_terms : list of str
    indication : str or None
    consent_secondary : bool
    """

    case_id: int
    name: str
    proband: str | None
    build: str | None
    status: str
    n_variants: int
    sex: str | None = None
    indication: str | None = None
    hpo_terms: list[str] = field(default_factory=list)
    consent_secondary: bool = False
    updated_at: object = None
    samples: list[Sample] = field(default_factory=list)

    @property
    def table(self) -> str:
        return variants_table(self.case_id)

    def sample(self, key: str) -> Sample:
        """A sample by id or by role (``proband``, ``mother``, ``father``)."""
        for s in self.samples:
            if s.sample_id == key:
                return s
        for s in self.samples:
            if s.role == key:
                return s
        raise RareDeskError(f"case {self.name!r} has no sample or role {key!r} "
                            f"(samples: {', '.join(s.sample_id for s in self.samples)})")

    @property
    def genotyped(self) -> list[Sample]:
        return [s for s in self.samples if s.sample_index is not None]


def list_cases(con) -> list[Case]:
    rows = con.execute(
        "SELECT case_id, name, proband, build, status, n_variants, sex, indication, hpo_terms, consent_secondary, "
        "updated_at FROM cases WHERE name NOT LIKE ? AND status <> 'importing' ORDER BY updated_at DESC, name",
        [KNOWLEDGE_PREFIX + "%"]).fetchall()
    cases = [Case(*r[:6], sex=r[6], indication=r[7], hpo_terms=list(r[8] or []), consent_secondary=bool(r[9]),
                  updated_at=r[10]) for r in rows]
    for c in cases:
        c.samples = _samples(con, c.case_id)
    return cases


def _samples(con, case_id: int) -> list[Sample]:
    return [Sample(*r) for r in con.execute(
        "SELECT sample_id, sample_index, role, sex, affected, father_id, mother_id, alignment_path FROM samples "
        "WHERE case_id = ? ORDER BY sample_index NULLS LAST, sample_id", [case_id]).fetchall()]


def get_case(con, name: str) -> Case:
    r = con.execute(
        "SELECT case_id, name, proband, build, status, n_variants, sex, indication, hpo_terms, consent_secondary, "
        "updated_at FROM cases WHERE name = ?", [name]).fetchone()
    if r is None:
        names = [c[0] for c in con.execute("SELECT name FROM cases WHERE name NOT LIKE ? ORDER BY name",
                                           [KNOWLEDGE_PREFIX + "%"]).fetchall()]
        hint = f" (cases: {', '.join(names[:10])})" if names else " (the workspace has no cases yet)"
        raise RareDeskError(f"no case named {name!r}{hint}")
    case = Case(*r[:6], sex=r[6], indication=r[7], hpo_terms=list(r[8] or []), consent_secondary=bool(r[9]),
                updated_at=r[10])
    if case.status == "importing":
        raise RareDeskError(f"case {name!r} is still being imported")
    case.samples = _samples(con, case.case_id)
    return case


def variant_columns(con, case: Case) -> dict[str, str]:
    """Column name -> DuckDB type for the case's variants table."""
    return {n: t for n, t in con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
        "AND database_name = current_database() ORDER BY column_index", [case.table]).fetchall()}


def info_fields(con, case: Case) -> dict[str, tuple[str, str]]:
    """INFO name -> (column, stored type)."""
    return {n: (c, t) for n, c, t in con.execute(
        "SELECT name, column_name, stored_type FROM info_fields WHERE case_id = ?", [case.case_id]).fetchall()}


SAMPLE_FIELDS = [n for n, _ in SAMPLE_COLUMNS]
