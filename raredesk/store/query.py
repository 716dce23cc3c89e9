"""Variant table reads: columns by user-facing name, sorting, limits, counts.

User text never reaches SQL as SQL: column names are resolved against the
case's actual columns (a whitelist) and quoted; values travel as parameters.
The filter language (issue: query engine) compiles to a ``where`` fragment
plus parameters that this module accepts.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from raredesk.errors import RareDeskError
from raredesk.store.cases import GT_NAMES, SAMPLE_FIELDS, Case, info_fields, variant_columns
from raredesk.store.importer import q

DEFAULT_COLUMNS = ["chrom", "pos", "ref", "alt", "gene", "consequence", "impact", "hgvsc", "hgvsp", "gnomad_af",
                   "clinvar_sig"]
HIDDEN = {"record_index", "file_id", "chrom_rank", "format"}


@dataclass
class Column:
    """A resolved output column.

    Attributes
    ----------
    name : str
        As the user wrote it / as shown in headers.
    sql : str
        The SQL expression (quoted identifiers only).
    kind : str
        ``plain``, ``gt`` (genotype code to text), ``info``.
    """

    name: str
    sql: str
    kind: str = "plain"


@dataclass
class ColumnCatalog:
    """Every column a user may name for one case."""

    case: Case
    columns: dict[str, str]
    info: dict[str, tuple[str, str]]
    names: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, con, case: Case) -> "ColumnCatalog":
        cat = cls(case, variant_columns(con, case), info_fields(con, case))
        names = [c for c in cat.columns if not c.startswith("s") or not c[1:2].isdigit()]
        names = [c for c in names if not c.startswith("info_") and c not in HIDDEN]
        names += [f"INFO/{n}" for n in cat.info]
        for s in case.genotyped:
            names += [f"{s.sample_id}.{f}" for f in SAMPLE_FIELDS]
        cat.names = names
        return cat

    def resolve(self, name: str) -> Column:
        """Resolve a user-facing column name; unknown names get a suggestion."""
        name = name.strip()
        if name in self.columns and name not in HIDDEN and not name.startswith("info_") \
                and not (name.startswith("s") and name[1:2].isdigit()):
            return Column(name, q(name))
        for prefix in ("INFO/", "info.", "INFO."):
            if name.startswith(prefix):
                key = name[len(prefix):]
                if key in self.info:
                    return Column(name, q(self.info[key][0]), "info")
        if "." in name:
            who, fld = name.rsplit(".", 1)
            if fld in SAMPLE_FIELDS:
                try:
                    s = self.case.sample(who)
                except RareDeskError:
                    s = None
                if s is not None and s.sample_index is not None:
                    col = f"s{s.sample_index}_{fld}"
                    return Column(name, q(col), "gt" if fld == "gt" else "plain")
        if name in self.info:
            return Column(name, q(self.info[name][0]), "info")
        close = difflib.get_close_matches(name, self.names, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise RareDeskError(f"unknown column {name!r}{hint}")

    def default_columns(self) -> list[Column]:
        cols = [self.resolve(c) for c in DEFAULT_COLUMNS]
        for s in self.case.genotyped:
            cols.append(self.resolve(f"{s.sample_id}.gt"))
        return cols


def order_by(cat: ColumnCatalog, sort: list[str] | None) -> str:
    """ORDER BY clause; ties are always broken by position and id."""
    terms = []
    for item in sort or []:
        desc = False
        name = item
        for suffix, d in ((":desc", True), (":asc", False)):
            if item.lower().endswith(suffix):
                name, desc = item[: -len(suffix)], d
        if name.startswith("-"):
            name, desc = name[1:], True
        col = cat.resolve(name)
        terms.append(f"{col.sql} {'DESC' if desc else 'ASC'} NULLS LAST")
    terms += ["chrom_rank", "chrom", "pos", "variant_id"]
    return ", ".join(terms)


def fetch(con, case: Case, columns: list[Column], *, where: str = "TRUE", params: list | None = None,
          sort: list[str] | None = None, limit: int | None = None, cat: ColumnCatalog | None = None):
    """Rows as lists of Python values, genotype codes turned into names."""
    cat = cat or ColumnCatalog.load(con, case)
    select = ", ".join(c.sql for c in columns)
    sql = f"SELECT {select} FROM {q(case.table)} WHERE {where} ORDER BY {order_by(cat, sort)}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = con.execute(sql, params or []).fetchall()
    gt_idx = [i for i, c in enumerate(columns) if c.kind == "gt"]
    if gt_idx:
        rows = [list(r) for r in rows]
        for r in rows:
            for i in gt_idx:
                r[i] = GT_NAMES.get(r[i], r[i])
    return rows


def count(con, case: Case, *, where: str = "TRUE", params: list | None = None) -> int:
    return con.execute(f"SELECT count(*) FROM {q(case.table)} WHERE {where}", params or []).fetchone()[0]
