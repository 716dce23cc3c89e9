"""Which fields a filter may name for one case, with their SQL and their kind.

This is the whitelist: a name resolves to a quoted identifier of a column the
case's table really has, or it is an error. No other text of the user ever
becomes SQL.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from raredesk.io.genome import canonical_contig
from raredesk.store.cases import Case, info_fields, variant_columns
from raredesk.store.importer import q

HIDDEN = {"record_index", "file_id", "format", "allele_index", "n_alleles"}
ALIASES = {
    "clinvar": "clinvar_sig",
    "clnsig": "clinvar_sig",
    "revstat": "clinvar_revstat",
    "stars": "clinvar_stars",
    "cadd": "cadd_phred",
    "spliceai": "spliceai_ds",
    "gnomad": "gnomad_af",
    "grpmax": "gnomad_grpmax_af",
    "popmax": "gnomad_grpmax_af",
    "nhomalt": "gnomad_nhomalt",
    "type": "vtype",
    "symbol": "gene",
    "csq": "consequence",
    "polyphen": "polyphen_pred",
    "sift": "sift_pred",
    "id": "vcf_id",
    "chr": "chrom",
    "position": "pos",
}
SAMPLE_FIELD_TYPES = {
    "gt": "gt", "gq": "number", "dp": "number", "ab": "number", "ad_ref": "number", "ad_alt": "number",
    "ps": "number", "phased": "bool", "gt_raw": "text",
}
GT_CODES = {"hom_ref": 0, "het": 1, "hom_alt": 2}
GT_WORDS = ("hom_ref", "het", "hom_alt", "missing")
# fields whose text holds '&'-joined terms (SO consequences)
AMP_JOINED = {"consequence", "worst_consequence"}


def kind_of(duck_type: str) -> str:
    """``number``, ``text``, ``bool``, ``list_number``, ``list_text``, ``list_bool`` or ``other``."""
    t = duck_type.upper()
    if t.endswith("[]"):
        base = kind_of(t[:-2])
        return "list_" + base if base in ("number", "text", "bool") else "other"
    if t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "DOUBLE", "FLOAT", "REAL", "UBIGINT",
             "UINTEGER", "USMALLINT", "UTINYINT") or t.startswith("DECIMAL"):
        return "number"
    if t in ("VARCHAR", "TEXT", "STRING") or t.startswith("VARCHAR"):
        return "text"
    if t == "BOOLEAN":
        return "bool"
    return "other"


@dataclass(frozen=True)
class Field:
    """A resolved field.

    Attributes
    ----------
    name : str
        The canonical user-facing name.
    sql : str
        A quoted column (or a column expression built only from quoted columns).
    kind : str
        See :func:`kind_of`; per-sample genotypes are ``gt``.
    column : str
        The underlying column.
    """

    name: str
    sql: str
    kind: str
    column: str

    def normalise(self, value: str) -> str:
        """Canonical spelling of a text value for this field (contig names, impact)."""
        if self.column == "chrom":
            return canonical_contig(value)
        if self.column in ("impact", "worst_impact"):
            return value.upper()
        return value


def case_key(case: Case) -> tuple:
    """Identifies one state of a case's table: an import that adds columns changes
    ``updated_at`` and ``n_variants`` (reading the catalog costs ~10 ms per query at 200+ columns)."""
    return (case.case_id, case.table, str(case.updated_at), case.n_variants,
            tuple((s.sample_id, s.sample_index, s.role) for s in case.samples))


class _LRU:
    def __init__(self, size: int = 16):
        self.size = size
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, make):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = make()
        with self.lock:
            self.data[key] = value
            while len(self.data) > self.size:
                self.data.popitem(last=False)
        return value


_catalogs = _LRU()
_extents = _LRU()   # case_key -> longest variant (end - pos) of the case


class FieldCatalog:
    """Every field a filter may name for one case.

    Parameters
    ----------
    con : duckdb connection
    case : Case
    """

    @classmethod
    def for_case(cls, con, case: Case) -> "FieldCatalog":
        """A cached catalog (per table state, see :func:`case_key`)."""
        return _catalogs.get(case_key(case), lambda: cls(con, case))

    def __init__(self, con, case: Case):
        self.case = case
        self.columns = variant_columns(con, case)
        self.info = info_fields(con, case)
        self.plain: dict[str, Field] = {}
        for col, typ in self.columns.items():
            if col in HIDDEN or col.startswith("info_") or (col[:1] == "s" and col[1:2].isdigit()):
                continue
            self.plain[col] = Field(col, q(col), kind_of(typ), col)
        self.info_by_name: dict[str, Field] = {}
        for name, (col, stored) in self.info.items():
            if col in self.columns:
                self.info_by_name[name] = Field(f"INFO/{name}", q(col), kind_of(self.columns[col]), col)

    def names(self) -> list[str]:
        """User-facing names, for suggestions and for the GUI's completion."""
        out = list(self.plain) + [a for a, t in ALIASES.items() if t in self.plain]
        out += [f"INFO/{n}" for n in self.info_by_name]
        return out

    def resolve(self, name: str) -> Field | None:
        """The field called ``name``, or None."""
        if name in self.plain:
            return self.plain[name]
        low = name.lower()
        if low in self.plain:
            return self.plain[low]
        if low in ALIASES and ALIASES[low] in self.plain:
            return self.plain[ALIASES[low]]
        for prefix in ("INFO/", "info/", "INFO.", "info."):
            if name.startswith(prefix):
                key = name[len(prefix):]
                if key in self.info_by_name:
                    return self.info_by_name[key]
                matches = [k for k in self.info_by_name if k.lower() == key.lower()]
                return self.info_by_name[matches[0]] if len(matches) == 1 else None
        if name in self.info_by_name:
            return self.info_by_name[name]
        return None

    def sample_field(self, func: str, sample_index: int) -> Field:
        col = f"s{sample_index}_{func}"
        if col not in self.columns:
            raise KeyError(col)
        return Field(f"{func}", q(col), SAMPLE_FIELD_TYPES[func], col)
