"""Filter tree -> parameterised SQL ``WHERE`` fragment for one case.

Semantics (see ``docs/filter-language.md``):

* a test on a missing value is false (``gnomad_af < 0.01`` does not match a
  variant without gnomAD data; write ``or gnomad_af is missing`` to keep them);
* ``not`` is the exact complement: ``not gnomad_af < 0.01`` matches the
  missing ones. The compiler pushes ``not`` down to the tests (De Morgan), so
  the positive tests keep their fast, pushed-down form;
* ``comp_het`` pairs a variant with a partner in the same gene that passes the
  *same* other conditions: the conditions joined to it by ``and`` on its way
  to the top of the expression (its "context"). ``rare and comp_het`` pairs
  rare variants with rare variants. For a plain trio the genes holding a pair
  are found while compiling (one query) and passed as a parameter, so the
  compiled filter reflects the data at that moment; recompile after the
  case's rows change.

With the case's query index (:mod:`raredesk.store.query_index`) built and
current, a filter is compiled for the index table instead: the same SQL for the
columns it copies, an integer test on a key for list columns (the list test is
evaluated once per distinct list value, here), and the precomputed column of an
inheritance mode judged with the default settings for the default target. A
filter naming a column the index does not copy is compiled for the variants
table as before. Either way :attr:`CompiledFilter.where` is valid over the
variants table; :attr:`CompiledFilter.index_where` is the faster form over the
index, for :class:`~raredesk.store.variant_query.VariantQuery`.

Only quoted column names from :class:`~raredesk.filters.fields.FieldCatalog`,
SQL keywords written here and ``?`` placeholders reach the SQL text; every
value of the user travels as a parameter.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from raredesk.errors import InputError, RareDeskError
from raredesk.filters import nodes as n
from raredesk.filters.errors import FilterError, suggest
from raredesk.filters.fields import AMP_JOINED, GT_CODES, GT_WORDS, Field, FieldCatalog
from raredesk.filters.inheritance import InheritanceSettings, ModeSQL, Pedigree, PedigreeProblem
from raredesk.filters.parser import INHERITANCE_MODES, parse
from raredesk.filters.sql import Frag, frag
from raredesk.io.genome import canonical_contig, contig_rank
from raredesk.store import query_index as qi
from raredesk.store.cases import Case, Sample
from raredesk.store.importer import q

INVERSE = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
SQL_OP = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
TRUE_WORDS = {"true": True, "yes": True, "false": False, "no": False}
SMALL_REGION_SET = 32   # up to this many intervals become plain range tests; more are joined on bins
BIN = 16384             # bin width of that join
LONG_VARIANT = 1000     # variants longer than this are joined to the regions without bins
END = "coalesce(sv_end, pos + length(ref) - 1)"   # last base of a variant
ROLES = ("proband", "mother", "father")
OTHER_RANK = contig_rank("not-a-primary-contig")   # contigs outside 1..22, X, Y, MT share this rank
# genotypes the target must have in each mode (all of them also need the target's genotype to pass quality)
TARGET_GENOTYPES = {"de_novo": {1, 2}, "ar_hom": {2}, "comp_het": {1}, "x_linked": {1, 2}, "ad_inherited": {1}}
PLAIN_WORD = re.compile(r"[A-Za-z0-9 _\-:/,=@#'\"]+")   # no regular-expression metacharacters
INLINE_KEYS = 2000        # up to this many list keys (integers of the index) are written into the SQL


class NotCovered(Exception):
    """The filter names a column the query index does not copy (it is compiled for the variants table)."""


@dataclass
class CompiledFilter:
    """A filter ready to run.

    Attributes
    ----------
    where : str
        SQL boolean expression over the columns of the case's variants table.
    params : list
        Positional parameters for the ``?`` in ``where``.
    text : str
        The filter as given (preset filter and user filter joined with ``and``).
    preset : str or None
    settings : InheritanceSettings
    index : QueryIndex or None
        The case's query index when the filter was compiled for it.
    index_where : str or None
        The filter over the index table (:attr:`QueryIndex.table`), with the same parameters; ``where`` is
        then either the same text (no derived column used) or a row-id semi-join on it.
    """

    where: str
    params: list
    text: str = ""
    preset: str | None = None
    settings: InheritanceSettings = field(default_factory=InheritanceSettings)
    index: object = None
    index_where: str | None = None


# ------------------------------------------------------------------------------------------------
# tree rewriting


def _leaf(node: n.Node) -> bool:
    return not isinstance(node, (n.And, n.Or, n.Not))


def to_nnf(node: n.Node, negated: bool = False) -> n.Node:
    """Push ``not`` down to the tests; the result has Not only directly above tests."""
    if isinstance(node, n.Not):
        return to_nnf(node.item, not negated)
    if isinstance(node, n.And):
        items = tuple(to_nnf(i, negated) for i in node.items)
        return n.Or(items, node.pos) if negated else n.And(items, node.pos)
    if isinstance(node, n.Or):
        items = tuple(to_nnf(i, negated) for i in node.items)
        return n.And(items, node.pos) if negated else n.Or(items, node.pos)
    return n.Not(node, node.pos) if negated else node


class Compiler:
    """Compiles filters for one case.

    Parameters
    ----------
    con : duckdb connection (a workspace cursor)
    case : Case
    settings : InheritanceSettings, optional
    """

    def __init__(self, con, case: Case, settings: InheritanceSettings | None = None, index=None):
        self.con = con
        self.case = case
        self.cat = FieldCatalog.for_case(con, case)
        self.settings = settings or InheritanceSettings()
        self.ped = Pedigree(case)
        self.main_table = q(case.table)
        # compile-time queries and subqueries read the index when there is one (it copies what they read)
        self.index = index
        self.table = index.table if index is not None else self.main_table
        self.derived = False      # a derived column of the index was used (the SQL is valid on the index only)
        self._list_value: str | None = None   # compiling a list test over one distinct list value
        self.text = ""
        self.source = "filter"
        self._ps_present: dict[int, bool] = {}
        self._contexts: dict[int, list[n.Node]] = {}

    # -- entry points -------------------------------------------------------------------------

    def compile_text(self, text: str, source: str = "filter") -> Frag:
        tree = parse(text, source)
        return self.compile_tree(tree, text, source)

    def compile_tree(self, tree: n.Node | None, text: str, source: str = "filter") -> Frag:
        self.text, self.source = text, source
        if tree is None:
            return Frag("TRUE")
        tree = self._expand(tree)
        self._contexts = {}
        self._collect_contexts(tree, [])
        return self._emit(to_nnf(tree))

    # -- errors ---------------------------------------------------------------------------------

    def err(self, problem: str, pos: int | None, suggestions=None, expected=None) -> FilterError:
        return FilterError(problem, text=self.text, position=pos, suggestions=suggestions, expected=expected,
                           source=self.source)

    # -- sample references ------------------------------------------------------------------

    def _samples_for(self, ref: n.SampleRef, func: str) -> tuple[str, list[Sample]]:
        """('one'|'any'|'all', samples) for a sample reference."""
        name = ref.name
        geno = self.ped.genotyped
        if not ref.quoted and name.lower() in ("any", "all"):
            if not geno:
                raise self.err(f"case {self.case.name!r} has no genotyped samples", ref.pos)
            return name.lower(), geno
        return "one", [self._one_sample(ref, func)]

    def _one_sample(self, ref: n.SampleRef, what: str) -> Sample:
        name = ref.name
        by_id = self.ped.by_id
        if name in by_id:
            s = by_id[name]
        elif not ref.quoted and name.lower() in ROLES + ("sibling", "child"):
            role = name.lower()
            hits = [s for s in self.case.samples if s.role == role]
            if not hits:
                present = sorted({s.role for s in self.case.samples if s.role})
                raise self.err(f"case {self.case.name!r} has no {role}"
                               + (f" (roles: {', '.join(present)})" if present else " (no PED was imported)"),
                               ref.pos)
            if len(hits) > 1:
                raise self.err(f"case {self.case.name!r} has {len(hits)} samples with the role {role} "
                               f"({', '.join(h.sample_id for h in hits)}); name one", ref.pos)
            s = hits[0]
        else:
            ids = [s.sample_id for s in self.case.samples]
            raise self.err(f"{what}: no sample or role {name!r} in case {self.case.name!r} "
                           f"(samples: {', '.join(ids[:8])}; roles: proband, mother, father, any, all)",
                           ref.pos, suggestions=suggest(name, ids + list(ROLES) + ["any", "all"]))
        if s.sample_index is None:
            raise self.err(f"{s.sample_id} is in the pedigree but has no genotypes in the VCF", ref.pos)
        return s

    # -- expansion: dotted sample fields, any/all -------------------------------------------------

    def _operand(self, op: n.Operand) -> n.Operand:
        if isinstance(op, n.FieldRef) and "." in op.name and self.cat.resolve(op.name) is None:
            who, fld = op.name.rsplit(".", 1)
            from raredesk.filters.parser import SAMPLE_FUNC_ALIASES, SAMPLE_FUNCS
            fld_l = SAMPLE_FUNC_ALIASES.get(fld.lower(), fld.lower())
            if fld_l in SAMPLE_FUNCS and who and not who.upper().startswith("INFO"):
                return n.SampleFieldRef(fld_l, n.SampleRef(who, op.pos), op.pos)
        return op

    def _expand(self, node: n.Node) -> n.Node:
        if isinstance(node, (n.And, n.Or)):
            return dataclasses.replace(node, items=tuple(self._expand(i) for i in node.items))
        if isinstance(node, n.Not):
            return dataclasses.replace(node, item=self._expand(node.item))
        operand = getattr(node, "operand", None)
        if operand is None or isinstance(node, n.InPanel):
            return node
        operand = self._operand(operand)
        node = dataclasses.replace(node, operand=operand)
        if isinstance(operand, n.SampleFieldRef):
            how, samples = self._samples_for(operand.sample, f"{operand.func}(...)")
            if how != "one":
                leaves = tuple(dataclasses.replace(node, operand=dataclasses.replace(
                    operand, sample=n.SampleRef(s.sample_id, operand.sample.pos, True))) for s in samples)
                return n.Or(leaves, node.pos) if how == "any" else n.And(leaves, node.pos)
        return node

    # -- emission ---------------------------------------------------------------------------------

    def _collect_contexts(self, node: n.Node, context: list[n.Node]) -> None:
        """Record, for each comp_het term, the conditions joined to it by ``and`` on its way to the top.

        Computed on the tree as written (``not`` is transparent), so that ``not (comp_het and X)``
        is exactly the complement of ``comp_het and X``.
        """
        if isinstance(node, n.And):
            for i, item in enumerate(node.items):
                self._collect_contexts(item, context + [x for j, x in enumerate(node.items) if j != i])
        elif isinstance(node, n.Or):
            for item in node.items:
                self._collect_contexts(item, context)
        elif isinstance(node, n.Not):
            self._collect_contexts(node.item, context)
        elif isinstance(node, n.Inheritance) and node.mode == "comp_het":
            self._contexts[id(node)] = context

    def _emit(self, node: n.Node, in_context: bool = False) -> Frag:
        if isinstance(node, n.And):
            return Frag.all([self._emit(item, in_context) for item in node.items])
        if isinstance(node, n.Or):
            alternatives = Frag.any([self._emit(item, in_context) for item in node.items])
            guard = None if in_context else self._common_guard(node.items)
            return Frag.all([guard, alternatives]) if guard is not None else alternatives
        negated = isinstance(node, n.Not)
        leaf = node.item if negated else node
        keyed = self._keyed_list(leaf)
        if keyed is not None:
            f = self._list_by_key(leaf, *keyed)
        elif isinstance(leaf, n.Inheritance) and leaf.mode == "comp_het":
            if in_context:
                return Frag("TRUE")
            f = self._comp_het(leaf, self._contexts.get(id(leaf), []))
        elif isinstance(leaf, n.Compare) and not negated:
            return self._compare(leaf, False)
        elif isinstance(leaf, n.Compare):
            return self._compare(leaf, True)
        else:
            f = self._leaf(leaf)
        return f.wrap("(({}) IS NOT TRUE)") if negated else f

    def _common_guard(self, items) -> Frag | None:
        """For ``ar_hom or comp_het`` (inheritance terms of one target, same settings): the target's
        genotype and quality tests they all need, as plain column tests DuckDB can push into the scan."""
        if not all(isinstance(i, n.Inheritance) and i.mode in TARGET_GENOTYPES for i in items):
            return None
        try:
            targets = {self._target(i).sample_id for i in items}
            settings = {self._settings_for(i) for i in items}
        except FilterError:
            return None  # the error is raised again, with its position, when the term itself is compiled
        if len(targets) != 1 or len(settings) != 1:
            return None
        if all(self._precomputed(i, next(iter(targets))) and (
                self.index.comp_het if i.mode == "comp_het" else i.mode in self.index.modes) for i in items):
            return None   # each term is one column of the index, which already holds these tests
        t = self.ped.by_id[targets.pop()]
        ms = ModeSQL(self.ped, settings.pop(), self.case.build)
        codes = sorted(set().union(*(TARGET_GENOTYPES[i.mode] for i in items)))
        return Frag.all([ms.gt_is(t, *codes), ms.q_ok(t)])

    def _leaf(self, node: n.Node) -> Frag:
        if isinstance(node, n.InList):
            return self._in_list(node)
        if isinstance(node, n.Has):
            return self._has(node)
        if isinstance(node, n.Match):
            return self._match(node)
        if isinstance(node, n.Between):
            return self._between(node)
        if isinstance(node, n.IsMissing):
            return self._is_missing(node)
        if isinstance(node, n.Truthy):
            return self._truthy(node)
        if isinstance(node, n.InPanel):
            return self._in_panel(node)
        if isinstance(node, n.InRegions):
            return self._regions([(self._contig(c), s, e if e is not None else s) for c, s, e, _ in node.regions])
        if isinstance(node, n.InBed):
            return self._in_bed(node)
        if isinstance(node, n.InRegionPanel):
            return self._in_region_panel(node)
        if isinstance(node, n.Inheritance):
            return self._inheritance(node)
        raise self.err(f"internal: unknown test {type(node).__name__}", getattr(node, "pos", None))

    # -- list columns through the index's keys ----------------------------------------------------

    def _keyed_list(self, leaf: n.Node) -> tuple[str, str] | None:
        """(list column, key column) when ``leaf`` tests a list column the index keys."""
        if self.index is None or isinstance(leaf, n.Inheritance):
            return None
        op = getattr(leaf, "operand", None)
        if not isinstance(op, n.FieldRef):
            return None
        f = self.cat.resolve(op.name)
        if f is None or f.column not in self.index.list_keys or not f.kind.startswith("list_"):
            return None
        return f.column, self.index.list_keys[f.column]

    def _list_by_key(self, leaf: n.Node, column: str, key: str) -> Frag:
        """The test, evaluated here on each distinct value of the list column, as an ``IN`` on its key.

        Every row has a key (a NULL list is one of the distinct values), so the key passes exactly
        when the test is true for the row's list, and ``not`` keeps its meaning.
        """
        self._list_value = column
        try:
            test = self._compare(leaf, False) if isinstance(leaf, n.Compare) else self._leaf(leaf)
        finally:
            self._list_value = None
        keys = [r[0] for r in self.con.execute(
            f"SELECT k FROM {self.index.lists} WHERE col = ? AND ({test.sql}) IS TRUE ORDER BY k",
            [column] + test.params).fetchall()]
        self.derived = True
        if not keys:
            return Frag("FALSE")
        if len(keys) <= INLINE_KEYS:   # integers of our own table: written out, DuckDB filters the scan with them
            return Frag(f"{key} IN ({', '.join(str(int(k)) for k in keys)})")
        return frag(f"{key} IN (SELECT unnest(?::INTEGER[]))", keys)

    # -- fields and values --------------------------------------------------------------------

    def _field(self, op: n.Operand) -> Field:
        if isinstance(op, n.SampleFieldRef):
            s = self._one_sample(op.sample, f"{op.func}(...)")
            try:
                return self._covered(self.cat.sample_field(op.func, s.sample_index))
            except KeyError:
                raise self.err(f"{op.func} is not stored for {s.sample_id}", op.pos) from None
        f = self._resolve(op)
        if self._list_value is not None and f.column == self._list_value:
            return Field(f.name, qi.LIST_VALUE, f.kind, f.column)
        return self._covered(f)

    def _covered(self, f: Field) -> Field:
        if self.index is not None and not self.index.covers(f.column):
            raise NotCovered(f.column)
        return f

    def _resolve(self, op: n.Operand) -> Field:
        f = self.cat.resolve(op.name)
        if f is None:
            names = self.cat.names()
            hint = suggest(op.name, names + [f"{s.sample_id}.{x}" for s in self.ped.genotyped
                                             for x in ("gt", "gq", "dp", "ab")] + list(INHERITANCE_MODES))
            raise self.err(f"unknown field {op.name!r}", op.pos, suggestions=hint,
                           expected="a field of this case (see docs/filter-language.md)")
        if f.kind == "other":
            raise self.err(f"{f.name} has a type the filter language cannot test", op.pos)
        return f

    @staticmethod
    def _desc(op: n.Operand) -> str:
        return op.name if isinstance(op, n.FieldRef) else f"{op.func}({op.sample.name})"

    def _number(self, v: n.Value, what: str):
        if v.kind == "number":
            return v.value
        if v.kind == "word" and v.value.lower() == "missing":
            raise self.err(f"to test for a missing {what}, write '{what} is missing'", v.pos)
        raise self.err(f"{what} is a number", v.pos, expected="a number", suggestions=None)

    def _text(self, v: n.Value, f: Field) -> str:
        return f.normalise(str(v.value) if v.kind != "number" else v.text)

    def _gt_code(self, v: n.Value):
        if v.kind == "word" and v.value.lower() in GT_WORDS:
            w = v.value.lower()
            return None if w == "missing" else GT_CODES[w]
        hint = suggest(str(v.value), GT_WORDS) if v.kind != "number" else []
        raise self.err(f"a genotype is one of {', '.join(GT_WORDS)}", v.pos, suggestions=hint,
                       expected="hom_ref, het, hom_alt or missing")

    def _bool(self, v: n.Value, f: Field) -> bool:
        if v.kind == "word" and v.value.lower() in TRUE_WORDS:
            return TRUE_WORDS[v.value.lower()]
        if v.kind == "number" and v.value in (0, 1):
            return bool(v.value)
        raise self.err(f"{f.name} is yes/no: compare it with true or false", v.pos, expected="true or false")

    def _check_regex(self, pattern: str, pos: int) -> None:
        try:
            self.con.execute("SELECT regexp_matches('', ?, 'i')", [pattern]).fetchone()
        except duckdb.Error as exc:
            msg = str(exc).split("Error:", 1)[-1].strip()
            raise self.err(f"not a valid regular expression ({msg})", pos) from None

    # -- tests ------------------------------------------------------------------------------------

    def _compare(self, node: n.Compare, negated: bool) -> Frag:
        f = self._field(node.operand)
        op, v, name = node.op, node.value, self._desc(node.operand)
        col = f.sql
        if f.kind == "gt":
            if op not in ("=", "!="):
                raise self.err(f"genotypes are compared with = or !=, not {op}", v.pos)
            code = self._gt_code(v)
            eq = (op == "=") != negated
            if code is None:
                return frag(f"{col} IS NULL" if eq else f"{col} IS NOT NULL")
            if negated:  # the complement includes the missing genotypes
                return frag(f"({col} {'=' if eq else '<>'} ? OR {col} IS NULL)", code)
            return frag(f"{col} {'=' if eq else '<>'} ?", code)
        if f.kind == "number":
            value = self._number(v, name)
            sop = SQL_OP[INVERSE[op]] if negated else SQL_OP[op]
            return frag(f"({col} {sop} ? OR {col} IS NULL)" if negated else f"{col} {sop} ?", value)
        if f.kind == "bool":
            if op not in ("=", "!="):
                raise self.err(f"{f.name} is yes/no: use = or !=", v.pos)
            want = self._bool(v, f) == (op == "=")
            if negated:
                return frag(f"({col} IS DISTINCT FROM ?)", want)
            return frag(f"{col} = ?", want)
        if f.kind == "text":
            if op not in ("=", "!="):
                raise self.err(f"{f.name} is text: compare it with =, !=, in, has or ~ (not {op})", v.pos)
            value = self._text(v, f)
            eq = (op == "=") != negated
            if negated:
                return frag(f"({col} {'=' if eq else '<>'} ? OR {col} IS NULL)", value)
            return frag(f"{col} {'=' if eq else '<>'} ?", value)
        # lists: the test holds when any element passes
        base = f.kind[5:]
        if base == "text":
            if op not in ("=", "!="):
                raise self.err(f"{f.name} is a list of text: use =, !=, in, has or ~", v.pos)
            t = frag(f"list_contains({col}, ?)", self._text(v, f))
            if op == "!=":
                t = frag(f"(NOT list_contains({col}, ?) AND len({col}) > 0)", self._text(v, f))
        elif base == "number":
            value = self._number(v, name)
            if op in ("<", "<=", ">", ">="):   # some element passes <=> the smallest / largest does (no lambda)
                t = frag(f"list_{'max' if op[0] == '>' else 'min'}({col}) {SQL_OP[op]} ?", value)
            else:
                t = frag(f"len(list_filter({col}, x -> x {SQL_OP[op]} ?)) > 0", value)
        else:
            want = self._bool(v, f) == (op == "=")
            t = frag(f"list_contains({col}, ?)", want)
        return t.wrap("(({}) IS NOT TRUE)") if negated else t

    def _list_has(self, f: Field, values: list) -> Frag:
        """Any of ``values`` is an element of the list field ``f``."""
        typ = "VARCHAR" if f.kind == "list_text" else "DOUBLE" if f.kind == "list_number" else "BOOLEAN"
        if f.sql == qi.LIST_VALUE:   # one distinct list value at a time (a few hundred rows)
            return frag(f"list_has_any({f.sql}, ?::{typ}[])", list(values))
        if len(values) <= 16:
            return Frag.any([frag(f"list_contains({f.sql}, ?)", v) for v in values])
        return frag(f"variant_id IN (SELECT variant_id FROM (SELECT variant_id, unnest({f.sql}) AS x "
                    f"FROM {self.table}) "
                    f"WHERE x IN (SELECT unnest(?::{typ}[])))", list(values))

    def _in_list(self, node: n.InList) -> Frag:
        f = self._field(node.operand)
        col = f.sql
        if f.kind == "gt":
            codes = [self._gt_code(v) for v in node.values]
            parts = []
            real = sorted({c for c in codes if c is not None})
            if real:
                parts.append(frag(f"{col} IN ({', '.join('?' for _ in real)})", *real))
            if None in codes:
                parts.append(frag(f"{col} IS NULL"))
            return Frag.any(parts)
        if f.kind == "number":
            vals = [self._number(v, f.name) for v in node.values]
            return frag(f"{col} IN ({', '.join('?' for _ in vals)})", *vals)
        if f.kind == "text":
            vals = [self._text(v, f) for v in node.values]   # duplicates kept: the SQL text never depends on values
            return frag(f"{col} IN ({', '.join('?' for _ in vals)})", *vals)
        if f.kind == "bool":
            vals = [self._bool(v, f) for v in node.values]
            return frag(f"{col} IN ({', '.join('?' for _ in vals)})", *vals)
        if f.kind == "list_text":
            return self._list_has(f, [self._text(v, f) for v in node.values])
        if f.kind == "list_number":
            return self._list_has(f, [self._number(v, f.name) for v in node.values])
        if f.kind == "list_bool":
            return self._list_has(f, [self._bool(v, f) for v in node.values])
        raise self.err(f"{f.name} cannot be tested with in", node.pos)

    def _has(self, node: n.Has) -> Frag:
        f = self._field(node.operand)
        col = f.sql
        if f.kind == "text":
            vals = [self._text(v, f) for v in node.values]
            if f.column in AMP_JOINED:
                elems = f"string_split({col}, '&')"
            else:
                elems = rf"regexp_split_to_array({col}, '\s*[&,;|]\s*')"
            if len(vals) == 1:
                return frag(f"list_contains({elems}, ?)", vals[0])
            # one split and one list test (four times faster than an OR of list_contains at 5 M rows)
            return frag(f"list_has_any({elems}, ?::VARCHAR[])", vals)
        if f.kind in ("list_text", "list_number", "list_bool"):
            return self._in_list(n.InList(node.operand, node.values, node.pos))
        raise self.err(f"'has' tests the elements of a list or of '&'-joined text; {f.name} is "
                       f"{'a number' if f.kind == 'number' else f.kind}: use = or in", node.pos)

    def _match(self, node: n.Match) -> Frag:
        f = self._field(node.operand)
        pat = node.pattern
        if pat.kind == "number":
            pattern = pat.text
        else:
            pattern = str(pat.value)
        self._check_regex(pattern, pat.pos)
        if f.kind == "text" and PLAIN_WORD.fullmatch(pattern):
            # no regular-expression syntax: the same test as a case-insensitive substring search, which
            # DuckDB runs 2-25x faster than a regular expression (measured at 5 M rows)
            return frag(f"contains(lower({f.sql}), ?)", pattern.lower())
        if f.kind == "text":
            return frag(f"regexp_matches({f.sql}, ?, 'i')", pattern)
        if f.kind == "list_text":
            return frag(f"len(list_filter({f.sql}, x -> regexp_matches(x, ?, 'i'))) > 0", pattern)
        kind = "a number" if f.kind == "number" else f.kind.replace("_", " of ")
        raise self.err(f"'~' searches text; {f.name} is {kind}", node.pos)

    def _between(self, node: n.Between) -> Frag:
        f = self._field(node.operand)
        if f.kind not in ("number", "list_number"):
            raise self.err(f"'between' needs a number field; {f.name} is {f.kind.replace('_', ' of ')}", node.pos)
        lo = self._number(node.low, f.name)
        hi = self._number(node.high, f.name)
        if lo > hi:
            raise self.err(f"the lower bound {node.low.text} is above the upper bound {node.high.text}",
                           node.low.pos)
        if f.kind == "number":
            return frag(f"{f.sql} BETWEEN ? AND ?", lo, hi)
        return frag(f"len(list_filter({f.sql}, x -> x BETWEEN ? AND ?)) > 0", lo, hi)

    def _is_missing(self, node: n.IsMissing) -> Frag:
        f = self._field(node.operand)
        if f.kind.startswith("list_"):
            return frag(f"({f.sql} IS NULL OR len({f.sql}) = 0)")
        return frag(f"{f.sql} IS NULL")

    def _truthy(self, node: n.Truthy) -> Frag:
        f = self._field(node.operand)
        if f.kind == "bool":
            return frag(f"{f.sql} = TRUE")
        what = self._desc(node.operand)
        raise self.err(f"'{what}' alone is not a condition: compare it (e.g. {what} = ..., {what} is missing)",
                       node.pos, expected="an operator after the field")

    # -- genes, panels, regions --------------------------------------------------------------------

    def _gene_test(self, f: Field, pos: int, symbols: list[str]) -> Frag:
        """The field is (text) or holds (list) one of ``symbols``; the symbols travel as one list parameter."""
        if f.kind == "text":
            # a plain expression (not an IN subquery, which DuckDB runs as a join after every other
            # condition): evaluated first, it spares the other tests 2-3x the rows at 5 M
            return frag(f"list_contains(?::VARCHAR[], {f.sql})", sorted(symbols))
        if f.kind == "list_text" and f.sql == qi.LIST_VALUE:
            return frag(f"list_has_any({f.sql}, ?::VARCHAR[])", sorted(symbols))
        if f.kind == "list_text":
            # unnest + semi-join: list_has_any against a long list is ~20x slower in DuckDB 1.5
            return frag(f"variant_id IN (SELECT variant_id FROM (SELECT variant_id, unnest({f.sql}) AS g "
                        f"FROM {self.table}) WHERE g IN (SELECT unnest(?::VARCHAR[])))", sorted(symbols))
        raise self.err(f"only text fields such as gene or genes can be in a panel; {f.name} is "
                       f"{f.kind.replace('_', ' of ')}", pos)

    def _in_panel(self, node: n.InPanel) -> Frag:
        f = self._field(self._operand(node.operand))
        from raredesk.filters import panels as pn
        if node.name is None:
            ids = [r[0] for r in self.con.execute(
                "SELECT panel_id FROM case_panels WHERE case_id = ?", [self.case.case_id]).fetchall()]
            if not ids:
                raise self.err(f"case {self.case.name!r} has no gene panels assigned; assign one with "
                               f"'raredesk panels assign --case {self.case.name} NAME' or write "
                               f"gene in panel \"NAME\"", node.name_pos)
            return self._gene_test(f, node.pos, [r[0] for r in self.con.execute(
                "SELECT DISTINCT pg.symbol FROM panel_genes pg JOIN case_panels cp ON cp.panel_id = pg.panel_id "
                "WHERE cp.case_id = ?", [self.case.case_id]).fetchall()])
        try:
            panel = pn.resolve_panel(self.con, node.name)
        except RareDeskError as exc:
            raise self.err(exc.problem, node.name_pos,
                           suggestions=suggest(node.name, pn.panel_names(self.con))) from None
        if panel.builtin:
            return self._gene_test(f, node.pos, sorted(panel.genes))
        if not panel.n_genes:
            raise self.err(f"panel {panel.name!r} holds regions, not genes: write in panel \"{panel.name}\"",
                           node.name_pos)
        return self._gene_test(f, node.pos, [r[0] for r in self.con.execute(
            "SELECT symbol FROM panel_genes WHERE panel_id = ?", [panel.panel_id]).fetchall()])

    def _contig(self, name: str) -> str:
        return canonical_contig(name)

    def _max_extent(self) -> int:
        """Longest variant of the case (end - pos), cached per table state: region tests can then bound
        ``pos`` from both sides, which lets DuckDB skip row groups."""
        from raredesk.filters.fields import _extents, case_key
        return _extents.get(case_key(self.case), lambda: int(self.con.execute(
            f"SELECT coalesce(max({END} - pos), 0) FROM {self.table}").fetchone()[0]))

    def _regions(self, regions: list[tuple[str, int, int]]) -> Frag:
        """Variants overlapping any of the 1-based inclusive regions (a variant spans ``pos`` to its end:
        ``sv_end`` for structural variants, else the last base of REF)."""
        merged = merge_regions(regions)
        if not merged:
            return Frag("FALSE")
        reach = self._max_extent()
        if len(merged) <= SMALL_REGION_SET:
            parts = []
            for c, s, e in merged:
                rank = contig_rank(c)
                name = frag("chrom = ? AND ", c) if rank == OTHER_RANK else Frag("")
                parts.append(name + frag(f"chrom_rank = {rank} AND pos BETWEEN ? AND ? AND {END} >= ?",
                                         max(s - reach, 1), e, s))
            return Frag.any([p.wrap("({})") for p in parts])
        # Many regions: an equi-join on 16 kb bins (the region's bins, widened by the longest variant up to
        # 1 kb), then the exact overlap test; variants longer than that are joined to the regions directly.
        # The regions travel as one text parameter (one per line), which DuckDB splits far faster than it
        # converts long list parameters.
        near = min(reach, LONG_VARIANT)
        text = "\n".join(f"{contig_rank(c)}\t{c}\t{s}\t{e}" for c, s, e in merged)
        regs = ("regs AS (SELECT CAST(split_part(x, chr(9), 1) AS BIGINT) AS rk, split_part(x, chr(9), 2) AS c, "
                "CAST(split_part(x, chr(9), 3) AS BIGINT) AS s, CAST(split_part(x, chr(9), 4) AS BIGINT) AS e "
                "FROM (SELECT unnest(string_split(?, chr(10))) AS x))")
        bins = (f"bins AS (SELECT rk * {1 << 20} + unnest(range(greatest(s - {near}, 1) // {BIN}, e // {BIN} + 1)) "
                f"AS k, c, s, e FROM regs)")
        vend = "coalesce(v.sv_end, v.pos + length(v.ref) - 1)"
        sql = (f"variant_id IN (WITH {regs}, {bins} SELECT v.variant_id FROM {self.table} v JOIN bins r "
               f"ON CAST(v.chrom_rank AS BIGINT) * {1 << 20} + v.pos // {BIN} = r.k "
               f"WHERE v.chrom = r.c AND v.pos <= r.e AND {vend} >= r.s")
        if reach > LONG_VARIANT:
            sql += (f" UNION ALL SELECT v.variant_id FROM (SELECT variant_id, chrom, pos, {END} AS vend "
                    f"FROM {self.table} WHERE {END} - pos > {LONG_VARIANT}) v JOIN regs r "
                    f"ON v.chrom = r.c AND v.pos <= r.e AND v.vend >= r.s")
        return frag(sql + ")", text)

    def _in_bed(self, node: n.InBed) -> Frag:
        from raredesk.io.bed import read_bed
        try:
            bed = read_bed(Path(node.path).expanduser())
        except InputError as exc:
            raise self.err(f"cannot use the BED file: {exc.one_line()}", node.path_pos) from None
        regions = [(self._contig(str(c)), int(s) + 1, int(e)) for c, s, e in zip(bed.chrom, bed.start, bed.end)
                   if int(e) > int(s)]
        return self._regions(regions)

    def _in_region_panel(self, node: n.InRegionPanel) -> Frag:
        from raredesk.filters import panels as pn
        try:
            panel = pn.resolve_panel(self.con, node.name)
        except RareDeskError as exc:
            raise self.err(exc.problem, node.name_pos,
                           suggestions=suggest(node.name, pn.panel_names(self.con))) from None
        if panel.builtin or not panel.n_regions:
            raise self.err(f"panel {panel.name!r} is a gene list without regions: write gene in panel "
                           f"\"{panel.name}\"", node.name_pos)
        rows = self.con.execute('SELECT chrom, "start", "end" FROM panel_regions WHERE panel_id = ?',
                                [panel.panel_id]).fetchall()
        return self._regions([(c, s + 1, e) for c, s, e in rows if e > s])

    # -- inheritance -------------------------------------------------------------------------------

    def _settings_for(self, node: n.Inheritance) -> InheritanceSettings:
        if not node.options:
            return self.settings
        st = self.settings
        for name, v, name_pos in node.options:
            if name not in InheritanceSettings.names():
                raise self.err(f"{node.mode} has no option {name!r} (options: "
                               f"{', '.join(InheritanceSettings.names())})", name_pos,
                               suggestions=suggest(name, InheritanceSettings.names()))
            try:
                st = st.updated({name: v.value})
            except (KeyError, ValueError) as exc:
                raise self.err(f"{node.mode}: {exc}", v.pos) from None
        return st

    def _target(self, node: n.Inheritance) -> Sample:
        if node.sample is not None:
            if not node.sample.quoted and node.sample.name.lower() in ("any", "all"):
                raise self.err(f"{node.mode} is judged for one individual; name a sample or a role",
                               node.sample.pos)
            return self._one_sample(node.sample, node.mode)
        try:
            return self.ped.default_target()
        except PedigreeProblem as exc:
            raise self.err(str(exc).replace("{mode}", node.mode), node.pos) from None

    def _inheritance(self, node: n.Inheritance) -> Frag:
        ms = ModeSQL(self.ped, self._settings_for(node), self.case.build)
        try:
            if node.mode == "mendelian_error":
                t = self._one_sample(node.sample, node.mode) if node.sample is not None else None
                flag = self._mode_flag(node, None if t is None else t.sample_id)
                return flag if flag is not None else ms.mendelian_error(t)
            t = self._target(node)
            flag = self._mode_flag(node, t.sample_id)
            return flag if flag is not None else getattr(ms, node.mode)(t)
        except PedigreeProblem as exc:
            raise self.err(str(exc), node.pos) from None

    def _precomputed(self, node: n.Inheritance, target: str | None) -> bool:
        """The index judged this mode for this target with these settings (the defaults)."""
        if self.index is None or self._settings_for(node) != InheritanceSettings():
            return False
        if node.mode == "mendelian_error":
            return target is None          # the flag is "any child with a parent", not one child
        return target is not None and target == self.index.target

    def _mode_flag(self, node: n.Inheritance, target: str | None) -> Frag | None:
        col = self.index.modes.get(node.mode) if self.index is not None else None
        if col is None or not self._precomputed(node, target):
            return None
        self.derived = True
        return Frag(col)

    def _ps_in(self, s: Sample) -> bool:
        k = int(s.sample_index)
        if k not in self._ps_present:
            self._ps_present[k] = bool(self.con.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {self.main_table} WHERE {q(f's{k}_ps')} IS NOT NULL LIMIT 1)"
            ).fetchone()[0])
        return self._ps_present[k]

    def _comp_het(self, node: n.Inheritance, context: list[n.Node]) -> Frag:
        ms = ModeSQL(self.ped, self._settings_for(node), self.case.build)
        t = self._target(node)
        ctx = self._emit(to_nnf(n.And(tuple(context), node.pos)), in_context=True) if context else Frag("TRUE")
        T = self.table
        if self.index is not None and self.index.comp_het and self._precomputed(node, t.sample_id):
            # the candidates and their parental haplotype are a column of the index (a plain pedigree)
            self.derived = True
            hap = qi.CH_HAP
            genes = [r[0] for r in self.con.execute(
                f"SELECT gene FROM {T} WHERE {hap} IS NOT NULL AND {ctx.sql} GROUP BY gene "
                f"HAVING min({hap}) = 0 AND max({hap}) = 1", ctx.params).fetchall()]
            if not genes:
                return Frag("FALSE")
            return frag(f"({hap} IS NOT NULL AND list_contains(?::VARCHAR[], gene))", sorted(genes))
        ps = self._ps_in(t)
        if self.index is not None and ps and self._settings_for(node).phase_by_ps:
            raise NotCovered("phase sets")   # PS haplotypes read columns the index does not copy
        parts = ms.comp_het_parts(t, ps)
        cand, hap, block, mask = parts["cand"], parts["hap"], parts["block"], parts["mask"]
        inner_where = Frag.all([cand, ctx])
        if parts["simple"]:
            # One phase block and nobody else to exclude: every candidate of a gene that has both haplotypes
            # pairs. The genes are found now, once, and travel as a list parameter, so that counting,
            # paging and re-sorting evaluate only row tests (and a Top-N can skip row groups).
            genes = [r[0] for r in self.con.execute(
                f"SELECT gene FROM (SELECT gene, {hap.sql} AS h FROM {T} WHERE {inner_where.sql}) "
                f"WHERE h IS NOT NULL GROUP BY gene HAVING min(h) = 0 AND max(h) = 1",
                hap.params + inner_where.params).fetchall()]
            if not genes:
                return Frag("FALSE")
            return Frag(f"({cand.sql} AND ({hap.sql}) IS NOT NULL AND list_contains(?::VARCHAR[], gene))",
                        cand.params + hap.params + [sorted(genes)])
        key = (f"struct_pack(g := gene, b := CAST({block.sql} AS BIGINT), h := CAST({hap.sql} AS INTEGER), "
               f"m := CAST({mask.sql} AS BIGINT))")
        key_params = block.params + hap.params + mask.params
        groups = Frag(f"SELECT DISTINCT gene AS g, CAST({block.sql} AS BIGINT) AS b, CAST({hap.sql} AS INTEGER) AS h, "
                      f"CAST({mask.sql} AS BIGINT) AS m FROM {T} WHERE {inner_where.sql}",
                      key_params + inner_where.params)
        good = Frag(f"SELECT struct_pack(g := a.g, b := a.b, h := a.h, m := a.m) FROM ({groups.sql}) a "
                    f"JOIN ({groups.sql}) o ON a.g = o.g AND a.b = o.b AND a.h <> o.h AND (a.m & o.m) = 0 "
                    f"WHERE a.h IS NOT NULL AND o.h IS NOT NULL", groups.params + groups.params)
        return Frag(f"({cand.sql} AND ({hap.sql}) IS NOT NULL AND {key} IN ({good.sql}))",
                    cand.params + hap.params + key_params + good.params)


def merge_regions(regions: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Sort and merge 1-based inclusive regions per contig (touching regions are joined)."""
    out: list[tuple[str, int, int]] = []
    for c, s, e in sorted(regions):
        if out and out[-1][0] == c and s <= out[-1][2] + 1:
            if e > out[-1][2]:
                out[-1] = (c, out[-1][1], e)
        else:
            out.append((c, s, e))
    return out


# ------------------------------------------------------------------------------------------------


def compile_filter(con, case: Case, filter_text: str | None = None, preset: str | None = None, *,
                   settings: InheritanceSettings | dict | None = None, index="auto") -> CompiledFilter:
    """Compile a filter (and/or a preset) for a case.

    Parameters
    ----------
    con : duckdb connection
        A cursor of the workspace.
    case : Case
    filter_text : str, optional
        An expression of the filter language.
    preset : str, optional
        A shipped or saved preset; joined to ``filter_text`` with ``and``.
    settings : InheritanceSettings or dict, optional
        Inheritance thresholds; a preset's own settings apply first.
    index : QueryIndex, None or "auto"
        Compile for this query index (see :mod:`raredesk.store.query_index`); "auto" (the default)
        uses the case's index when it is built and current; None never uses one.

    Returns
    -------
    CompiledFilter

    Raises
    ------
    FilterError
        The text or the preset is invalid for this case.
    """
    from raredesk.filters.presets import get_preset

    if index == "auto":
        index = qi.query_index(con, case)
    st = InheritanceSettings()
    texts = []
    trees = []
    if preset:
        p = get_preset(con, preset)
        if p.requires_consent and not case.consent_secondary:
            raise FilterError(f"preset {p.name!r} reports secondary findings, but case {case.name!r} has no consent "
                              f"for them (import with --consent-secondary)", source=f"preset {p.name}")
        try:
            st = st.updated(p.settings)
        except (KeyError, ValueError) as exc:
            raise FilterError(f"invalid inheritance setting in the preset: {exc}", source=f"preset {p.name}") from None
        trees.append((parse(p.filter, f"preset {p.name}"), p.filter, f"preset {p.name}"))
        texts.append(f"({p.filter.strip()})")
    if isinstance(settings, dict):
        try:
            st = st.updated(settings)
        except (KeyError, ValueError) as exc:
            raise FilterError(f"invalid inheritance setting: {exc}") from None
    elif settings is not None:
        st = settings
    if filter_text and filter_text.strip():
        trees.append((parse(filter_text, "filter"), filter_text, "filter"))
        texts.append(f"({filter_text.strip()})")
    trees = [(t, txt, src) for t, txt, src in trees if t is not None]
    text = " and ".join(texts)
    if not trees:
        return CompiledFilter("TRUE", [], "", preset, st)
    if index is not None:
        comp = Compiler(con, case, st, index)
        try:
            f = _compile_trees(comp, trees)
        except NotCovered:
            pass
        else:
            # With a derived column the SQL reads the index only; the variants table gets it as a row-id
            # semi-join. Otherwise the text is valid on both tables (the index copies under the same names).
            where = f"rowid IN (SELECT rid FROM {index.table} WHERE {f.sql})" if comp.derived else f.sql
            return CompiledFilter(where, f.params, text, preset, st, index, f.sql)
    f = _compile_trees(Compiler(con, case, st), trees)
    return CompiledFilter(f.sql, f.params, text, preset, st)


def _compile_trees(comp: Compiler, trees) -> Frag:
    if len(trees) == 1:
        tree, txt, src = trees[0]
        return comp.compile_tree(tree, txt, src)
    # preset and filter are one conjunction (so that comp_het sees both as its context);
    # errors still point into the text they came from
    return _compile_joined(comp, trees)


def _compile_joined(comp: Compiler, trees) -> Frag:
    expanded = []
    for tree, txt, src in trees:
        comp.text, comp.source = txt, src
        expanded.append((comp._expand(tree), txt, src))
    comp._contexts = {}
    for i, (tree, _, _) in enumerate(expanded):
        comp._collect_contexts(tree, [t for j, (t, _, _) in enumerate(expanded) if j != i])
    parts = []
    for tree, txt, src in expanded:
        comp.text, comp.source = txt, src
        parts.append(comp._emit(to_nnf(tree)))
    return Frag.all(parts)


def compile_for_case(con, case: Case, filter_text: str | None = None,
                     preset_name: str | None = None) -> tuple[str, list]:
    """``(where_sql, params)`` for ``raredesk query --filter EXPR --preset NAME``.

    Parameters
    ----------
    con : duckdb connection
        A workspace cursor.
    case : Case
    filter_text : str or None
    preset_name : str or None

    Returns
    -------
    tuple of (str, list)
        A boolean SQL expression over the case's variants table and its
        positional parameters.

    Raises
    ------
    FilterError
    """
    cf = compile_filter(con, case, filter_text, preset_name)
    return cf.where, cf.params
