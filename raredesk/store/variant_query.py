"""The variant query the GUI's table model uses: count, ordered ids, pages, facets.

One :class:`VariantQuery` is one filter plus one sort over one case. It is
built for a Qt table model that asks for ``rows(first, n)`` at any position:

1. :meth:`~VariantQuery.count` is one ``count(*)`` (exact).
2. The first rows come from a Top-N query (``ORDER BY ... LIMIT head``), so
   the first page needs no full sort.
3. Any other position materialises the order once: the row ids of the filtered
   rows, sorted, are written to a temporary table whose own row number *is*
   the position. A page is then a range of that table (``rowid BETWEEN first
   AND last``: keyset on the position, never ``OFFSET``) joined back to the
   variants by row id. DuckDB prunes the join to the row groups that hold
   the page, which for the position sort (the table's physical order) is a
   handful; for a sort that scatters the page over the whole table it is a
   scan of the displayed columns, so pages are fetched in chunks
   (:data:`CHUNK` rows) and cached. Reading rows costs DuckDB some milliseconds per
   row group they lie in, so :meth:`~VariantQuery.prepare_pages` (a worker calls it
   after the order) copies the displayed columns of the chunks whose rows are
   scattered over the table into a temporary table in view order, and those
   chunks become range reads of it.
4. :meth:`~VariantQuery.page_after` is true keyset pagination on the sort key
   (``WHERE (sort key, chrom_rank, pos, variant_id) > last key``) for
   sequential reading without materialising (exports, scripts).

With the case's query index (:mod:`raredesk.store.query_index`) and a filter
compiled for it (:func:`raredesk.filters.compile_filter`), counting, the Top-N
and the materialised order read the narrow index table instead of the variants
table (when the sort columns are among those it copies); pages are still read
from the variants table by row id.

Ties in every sort are broken by (chrom_rank, pos, variant_id), so the order
is total and stable (contigs outside 1..22, X, Y, MT share one rank and are
ordered by position, then id).

Threads: a VariantQuery keeps a temporary table on the connection it was
given; use it from one thread at a time, with a cursor of that thread
(``ws.cursor()``), and :meth:`close` it when the filter or sort changes.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass

from raredesk.filters.fields import _LRU, case_key
from raredesk.store.cases import GT_NAMES, Case
from raredesk.store.importer import q
from raredesk.store.query import Column, ColumnCatalog

TIE_BREAK = ("chrom_rank", "pos", "variant_id")
HEAD = 512        # rows served by the Top-N query before the order is materialised
PREFIX = 100_000  # a filtered, sorted query orders up to this many rows in its first pass
CHUNK = 1024      # rows fetched per chunk once materialised
TOP = 256         # rows of the first page read from an order on their own (not a whole chunk)
CACHE_CHUNKS = 64
ROW_GROUP = 122_880          # DuckDB's rows per row group
SCATTERED_SPAN = 2 * ROW_GROUP   # a chunk whose row ids span more than this is read from the page copy
FACETS = ("impact", "consequence", "chrom")
LIST_FACETS = {"consequences", "genes"}
SPLIT_FACETS = {"consequence": "&", "worst_consequence": "&"}
_ids = itertools.count(1)
_ids_lock = threading.Lock()
_catalogs = _LRU()


def catalog(con, case: Case) -> ColumnCatalog:
    """The case's column catalog, cached per table state (reading it costs ~10 ms at 200+ columns)."""
    return _catalogs.get(case_key(case), lambda: ColumnCatalog.load(con, case))


@dataclass(frozen=True)
class SortKey:
    """One sort column.

    Attributes
    ----------
    column : Column
        Resolved through the case's column whitelist.
    descending : bool
    """

    column: Column
    descending: bool = False


def parse_sort(cat: ColumnCatalog, sort: list[str] | None) -> list[SortKey]:
    """``["cadd_phred:desc", "-gnomad_af", "gene"]`` -> sort keys (unknown names raise RareDeskError)."""
    keys = []
    for item in sort or []:
        name, desc = item.strip(), False
        for suffix, d in ((":desc", True), (":asc", False)):
            if name.lower().endswith(suffix):
                name, desc = name[: -len(suffix)], d
        if name.startswith("-"):
            name, desc = name[1:], True
        keys.append(SortKey(cat.resolve(name), desc))
    return keys


class VariantQuery:
    """One filter and sort of a case.

    Parameters
    ----------
    con : duckdb connection
        A cursor owned by the calling thread (temporary tables live on it).
    case : Case
    where : str
        A boolean SQL fragment from :func:`raredesk.filters.compile_for_case` (or ``TRUE``).
    params : list
        Its parameters.
    sort : list of str, optional
        ``column``, ``column:desc`` or ``-column``; ties by position.
    columns : list of str, optional
        Columns of the rows returned (user-facing names, e.g. ``gene``, ``HG002.gt``);
        the catalog's default columns when absent.
    index : QueryIndex, optional
        The query index ``index_where`` was compiled for.
    index_where : str, optional
        The same filter over the index table (same parameters), from
        :attr:`raredesk.filters.CompiledFilter.index_where`.

    Attributes
    ----------
    columns : list of Column
        The columns of each row, after the leading ``variant_id``.
    """

    def __init__(self, con, case: Case, where: str = "TRUE", params: list | None = None, *,
                 sort: list[str] | None = None, columns: list[str] | None = None, cat: ColumnCatalog | None = None,
                 index=None, index_where: str | None = None):
        self.con = con
        self.case = case
        self.where = where or "TRUE"
        self.params = list(params or [])
        self.cat = cat or catalog(con, case)
        self.sort_keys = parse_sort(self.cat, sort)
        self.columns = [self.cat.resolve(c) for c in columns] if columns else self.cat.default_columns()
        self.table = q(case.table)
        # Where the filter and the sort run: the index table when the filter was compiled for it and it
        # copies the sort columns, else the variants table. ``_rid`` is the variants row id in it.
        self.index = index if index is not None and index_where and self._covers(index, self.sort_keys) else None
        if self.index is not None:
            self._src, self._cond, self._rid = self.index.table, index_where, "rid"
        else:
            self._src, self._cond, self._rid = self.table, self.where, "rowid"
        self._count: int | None = None
        self._head: list[tuple] | None = None
        self._head_complete = False
        self._rank: str | None = None      # temporary table of ordered row ids (rowid = position)
        self._rank_rows = 0                 # rows it holds
        self._rank_complete = False         # it holds the whole order (else a prefix of it)
        self._chunks: OrderedDict[int, list[tuple]] = OrderedDict()
        self._top: list[tuple] | None = None   # the first TOP rows, read from the order
        self._pages: str | None = None      # temporary copy of the displayed columns of scattered chunks
        self._paged: set[int] = set()       # the chunks it holds
        self._gt_idx = [i + 1 for i, c in enumerate(self.columns) if c.kind == "gt"]
        # A filter with a subquery over the variants is evaluated once, into the ordered row ids, and the
        # count and the first page come from there; others run a count and a Top-N (which skips row groups).
        self.eager = _expensive(self._cond)
        # A filtered query with a sort of its own cannot skip row groups in a Top-N, so counting and the
        # first page would be two full passes; one Top-N of PREFIX rows instead orders the whole result
        # when it is that small (the count is then its size) and otherwise its first PREFIX rows.
        self.prefix = bool(self.sort_keys) and not self.eager and self._cond.strip().upper() != "TRUE"
        self._prefix_tried = False

    @classmethod
    def from_filter(cls, con, case: Case, filter_text: str | None = None, preset: str | None = None, *,
                    sort: list[str] | None = None, columns: list[str] | None = None) -> "VariantQuery":
        """Compile a filter and/or preset and open a query on it (the preset's sort when none is given)."""
        from raredesk.filters import compile_filter
        from raredesk.filters.presets import get_preset

        cf = compile_filter(con, case, filter_text, preset)
        if sort is None and preset:
            sort = get_preset(con, preset).sort or None
        return cls.from_compiled(con, case, cf, sort=sort, columns=columns)

    @classmethod
    def from_compiled(cls, con, case: Case, cf, *, sort: list[str] | None = None, columns: list[str] | None = None,
                      cat: ColumnCatalog | None = None) -> "VariantQuery":
        """A query on a :class:`~raredesk.filters.CompiledFilter` (on the query index when it was compiled for one)."""
        return cls(con, case, cf.where, cf.params, sort=sort, columns=columns, cat=cat, index=cf.index,
                   index_where=cf.index_where)

    @staticmethod
    def _covers(index, keys: list[SortKey]) -> bool:
        return all(index.covers(_bare(k.column.sql)) for k in keys) and all(
            index.covers(c) for c in TIE_BREAK)

    # -- SQL pieces -----------------------------------------------------------------------

    def _order_terms(self, alias: str = "") -> list[str]:
        a = f"{alias}." if alias else ""
        terms = []
        for k in self.sort_keys:
            expr = k.column.sql if not alias else _qualify(k.column.sql, alias)
            terms.append(f"{expr} {'DESC' if k.descending else 'ASC'} NULLS LAST")
        terms += [f"{a}{c}" for c in TIE_BREAK]
        return terms

    def order_by(self) -> str:
        """The ORDER BY list (whitelisted columns only)."""
        return ", ".join(self._order_terms())

    def _select_list(self, alias: str = "t") -> list[str]:
        return [f"{alias}.variant_id"] + [_qualify(c.sql, alias) for c in self.columns]

    def _select(self, alias: str = "t") -> str:
        return ", ".join(self._select_list(alias))

    def _convert(self, rows: list[tuple]) -> list[tuple]:
        if not self._gt_idx:
            return [tuple(r) for r in rows]
        out = []
        for r in rows:
            r = list(r)
            for i in self._gt_idx:
                r[i] = GT_NAMES.get(r[i], r[i])
            out.append(tuple(r))
        return out

    # -- count, head, rows ------------------------------------------------------------------

    def count(self) -> int:
        """Exact number of variant rows passing the filter.

        The first page is read first: when fewer rows than a page pass, that read (a Top-N, which
        has to see every row then) already gives the count, and no second pass is needed.
        """
        if self._count is None and self.eager:
            self.materialise()
        if self._count is None and self.prefix and not self._prefix_tried:
            self._load_prefix()
        if self._count is None and self._head is None and self._rank is None:
            self._load_head()
        if self._count is None:
            self._count = self.con.execute(f"SELECT count(*) FROM {self._src} WHERE {self._cond}",
                                           self.params).fetchone()[0]
        return self._count

    def _load_head(self) -> None:
        if not self.sort_keys and self.index is None:
            # position order: a plain Top-N; the table is (mostly) in this order already
            sql = (f"SELECT {self._select('t')} FROM {self.table} t WHERE {self.where} "
                   f"ORDER BY {', '.join(self._order_terms('t'))} LIMIT {HEAD}")
        else:
            # late materialisation: Top-N over the sort key and row id only, then the displayed columns
            # of those rows (half the time of a Top-N carrying every column, at 5 M rows)
            sql = (f"WITH r AS (SELECT {self._rid} AS rid FROM {self._src} WHERE {self._cond} "
                   f"ORDER BY {self.order_by()} LIMIT {HEAD}) SELECT {self._select('t')} FROM r "
                   f"JOIN {self.table} t ON t.rowid = r.rid ORDER BY {', '.join(self._order_terms('t'))}")
        rows = self.con.execute(sql, self.params).fetchall()
        self._head = self._convert(rows)
        self._head_complete = len(rows) < HEAD
        if self._head_complete:
            self._count = len(rows)

    def _load_prefix(self) -> None:
        self._prefix_tried = True
        name = self._ordered_ids(PREFIX + 1)
        n = self.con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        self._set_rank(name, n, n <= PREFIX)

    def _ordered_ids(self, limit: int | None = None) -> str:
        """A new temporary table of the row ids passing the filter, in order (the first ``limit``)."""
        with _ids_lock:
            name = f"rd_rank_{next(_ids)}"
        # CREATE TABLE AS with ORDER BY keeps the order, so the new table's rowid is the position.
        self.con.execute(f"CREATE TEMP TABLE {name} AS SELECT {self._rid} AS rid FROM {self._src} "
                         f"WHERE {self._cond} ORDER BY {self.order_by()}"
                         + (f" LIMIT {int(limit)}" if limit is not None else ""), self.params)
        return name

    def _set_rank(self, name: str, n: int, complete: bool) -> None:
        self._drop_rank()
        self._rank, self._rank_rows, self._rank_complete = name, n, complete
        if complete:
            self._count = n

    def _drop_rank(self) -> None:
        for name in (self._rank, self._pages):
            if name is not None:
                try:
                    self.con.execute(f"DROP TABLE IF EXISTS {name}")
                except Exception:  # the connection may already be closed; the table died with it
                    pass
        self._rank, self._rank_rows, self._rank_complete = None, 0, False
        self._pages, self._paged = None, set()
        self._chunks.clear()

    def first_page(self, n: int = 256) -> list[tuple]:
        """The first ``n`` rows (``n`` at most :data:`HEAD` without materialising)."""
        return self.rows(0, n)

    def rows(self, first: int, n: int) -> list[tuple]:
        """Rows ``first .. first + n - 1`` in sort order: ``(variant_id, *column values)``.

        Genotype columns come as ``hom_ref``/``het``/``hom_alt``/``missing``.
        """
        if first < 0 or n < 0:
            raise ValueError("first and n must not be negative")
        if n == 0:
            return []
        if self.prefix and not self._prefix_tried:
            self._load_prefix()
        if self._rank is None and first + n <= HEAD and not self.eager:
            if self._head is None:
                self._load_head()
            return self._head[first:first + n]
        if self._rank is None and self._head is not None and self._head_complete:
            return self._head[first:first + n]
        if first + n <= TOP and self._rank is not None and (self._rank_complete or TOP <= self._rank_rows):
            # the first page alone: a chunk would read 4x the rows, which a sort may scatter over the table
            if self._top is None and 0 not in self._chunks:
                self._top = [r[1:] for r in self._read_positions(0, TOP - 1)]
            if self._top is not None:
                return self._top[first:first + n]
        # a prefix of the order serves the chunks it holds whole
        if not (self._rank is not None and (self._rank_complete
                                            or ((first + n - 1) // CHUNK + 1) * CHUNK <= self._rank_rows)):
            self.materialise()
        total = self.count()
        last = min(first + n, total)
        if first >= last:
            return []
        out: list[tuple] = []
        c0, c1 = first // CHUNK, (last - 1) // CHUNK
        missing = [c for c in range(c0, c1 + 1) if c not in self._chunks]
        for run in _runs(missing):
            self._fetch_chunks(run[0], run[-1])
        for c in range(c0, c1 + 1):
            self._chunks.move_to_end(c)
            rows = self._chunks[c]
            lo = max(first - c * CHUNK, 0)
            hi = min(last - c * CHUNK, len(rows))
            out += rows[lo:hi]
        return out

    def _fetch_chunks(self, c0: int, c1: int) -> None:
        for run in _split(list(range(c0, c1 + 1)), lambda c: c in self._paged):
            self._fetch_run(run[0], run[-1], run[0] in self._paged)

    def _read_positions(self, lo: int, hi: int, paged: bool = False) -> list[tuple]:
        """Rows at positions ``lo .. hi`` of the order, each led by its position."""
        if paged:
            sql = f"SELECT * FROM {self._pages} WHERE rn BETWEEN ? AND ? ORDER BY rn"
        else:
            sql = (f"SELECT r.rn, {self._select('t')} FROM (SELECT rowid AS rn, rid FROM {self._rank} "
                   f"WHERE rowid BETWEEN ? AND ?) r JOIN {self.table} t ON t.rowid = r.rid ORDER BY r.rn")
        rows = self.con.execute(sql, [lo, hi]).fetchall()
        return [(r[0],) + row for r, row in zip(rows, self._convert([r[1:] for r in rows]))]

    def _fetch_run(self, c0: int, c1: int, paged: bool) -> None:
        lo, hi = c0 * CHUNK, (c1 + 1) * CHUNK - 1
        got = self._read_positions(lo, hi, paged)
        rows, conv = got, [r[1:] for r in got]
        for c in range(c0, c1 + 1):
            base = c * CHUNK
            self._chunks[c] = [row for r, row in zip(rows, conv) if base <= r[0] < base + CHUNK]
        while len(self._chunks) > CACHE_CHUNKS:
            self._chunks.popitem(last=False)

    def ids(self, first: int = 0, n: int | None = None) -> list[int]:
        """Ordered variant ids (all of them when ``n`` is None)."""
        self.materialise()
        total = self.count()
        n = total - first if n is None else n
        sql = (f"SELECT t.variant_id FROM (SELECT rowid AS rn, rid FROM {self._rank} WHERE rowid BETWEEN ? AND ?) r "
               f"JOIN {self.table} t ON t.rowid = r.rid ORDER BY r.rn")
        return [r[0] for r in self.con.execute(sql, [first, first + n - 1]).fetchall()]

    def position_of(self, variant_id: int) -> int | None:
        """Row position of a variant in this query's order, or None when the filter excludes it."""
        self.materialise()
        r = self.con.execute(f"SELECT r.rowid FROM {self._rank} r JOIN {self.table} t ON t.rowid = r.rid "
                             f"WHERE t.variant_id = ?", [variant_id]).fetchone()
        return None if r is None else int(r[0])

    @property
    def materialised(self) -> bool:
        return self._rank is not None and self._rank_complete

    def materialise(self) -> None:
        """Write the sorted row ids of the filter to a temporary table (once).

        A worker may call this right after the first page is shown, so that
        later page turns are range reads.
        """
        if self.materialised:
            return
        name = self._ordered_ids()
        self._set_rank(name, self.con.execute(f"SELECT count(*) FROM {name}").fetchone()[0], True)

    def prepare_pages(self) -> int:
        """Make every page turn a short read: copy the displayed columns of the chunks whose rows are
        scattered over the table (a sort by a score or by text) into a temporary table, in view order.

        Materialises the order first. A worker calls this after the order; it takes about as long as
        the order (seconds for millions of scattered rows). Nothing is copied in an encrypted workspace
        whose temporary files are not encrypted (the copy may spill to disk).

        Returns
        -------
        int
            Chunks copied.
        """
        self.materialise()
        if self._pages is not None or self._rank_rows <= CHUNK or not _may_spill_rows(self.con):
            return len(self._paged)
        chunks = [r[0] for r in self.con.execute(
            f"SELECT rowid // {CHUNK} AS c FROM {self._rank} GROUP BY c "
            f"HAVING max(rid) - min(rid) > {SCATTERED_SPAN} ORDER BY c").fetchall()]
        if not chunks:
            return 0
        with _ids_lock:
            name = f"rd_pages_{next(_ids)}"
        cols = ", ".join(f"{e} AS c{i}" for i, e in enumerate(self._select_list("t")))
        self.con.execute(f"CREATE TEMP TABLE {name} AS SELECT r.rn, {cols} FROM (SELECT rowid AS rn, rid "
                         f"FROM {self._rank} WHERE rowid // {CHUNK} IN (SELECT unnest(?::BIGINT[]))) r "
                         f"JOIN {self.table} t ON t.rowid = r.rid ORDER BY r.rn", [chunks])
        self._pages, self._paged = name, set(chunks)
        for c in chunks:
            self._chunks.pop(c, None)
        return len(chunks)

    # -- keyset on the sort key ---------------------------------------------------------------

    def _key_exprs(self) -> list[tuple[str, bool, bool]]:
        """(expression, descending, nullable) of the full sort key."""
        out = [(k.column.sql, k.descending, True) for k in self.sort_keys]
        out += [(c, False, False) for c in TIE_BREAK]
        return out

    def page_after(self, key: tuple | None, n: int = 256) -> tuple[list[tuple], tuple | None]:
        """Keyset pagination: the ``n`` rows after sort key ``key`` (None: from the start).

        Returns the rows and the key of the last one, to pass to the next call
        (None when there are no more rows).
        """
        exprs = self._key_exprs()
        key_sql = ", ".join(e for e, _, _ in exprs)
        cond, params = "TRUE", []
        if key is not None:
            if len(key) != len(exprs):
                raise ValueError(f"the key has {len(key)} parts; this sort has {len(exprs)}")
            ors = []
            for i, (expr, desc, nullable) in enumerate(exprs):
                ands, p = [], []
                for (e2, _, _), v in zip(exprs[:i], key[:i]):
                    ands.append(f"{e2} IS NOT DISTINCT FROM ?")
                    p.append(v)
                v = key[i]
                if v is None:
                    continue  # nothing sorts after NULL (NULLS LAST) at this level
                cmp = "<" if desc else ">"
                ands.append(f"({expr} {cmp} ? OR {expr} IS NULL)" if nullable else f"{expr} {cmp} ?")
                p.append(v)
                ors.append("(" + " AND ".join(ands) + ")")
                params += p
            cond = "(" + " OR ".join(ors) + ")" if ors else "FALSE"
        sql = (f"SELECT {self._select('t')}, {key_sql} FROM {self.table} t WHERE ({self.where}) AND {cond} "
               f"ORDER BY {self.order_by()} LIMIT {int(n)}")
        rows = self.con.execute(sql, self.params + params).fetchall()
        width = 1 + len(self.columns)
        data = self._convert([r[:width] for r in rows])
        last = tuple(rows[-1][width:]) if rows else None
        return data, last

    # -- facets ----------------------------------------------------------------------------

    def facets(self, names=FACETS, limit: int = 50) -> dict[str, list[tuple]]:
        """Counts of the filtered variants by value of each facet column.

        Parameters
        ----------
        names : sequence of str
            Column names (``impact``, ``consequence``, ``chrom``, ``vtype``, ``clinvar_sig``,
            ``gene``, ``filter``, ``HG002.gt`` ...). ``consequence`` counts each SO term of
            the '&'-joined text; list columns (``consequences``, ``genes``) count each element.
        limit : int
            Most values per facet (by count); chromosomes come in genome order.

        Returns
        -------
        dict of str to list of (value, count)
        """
        # One pass: GROUPING SETS over every facet column (a split or list facet is grouped by its whole
        # value, which has few distinct values, and split here), instead of one unnest per facet.
        cols = [(name, self.cat.resolve(name)) for name in names]
        uniq: list[Column] = []
        for _, c in cols:
            if c.sql not in [u.sql for u in uniq]:
                uniq.append(c)
        sets = ", ".join(f"({c.sql})" for c in uniq)
        groups = ", ".join(f"GROUPING({c.sql})" for c in uniq)
        k = len(uniq)
        on_index = self.index is not None and all(self.index.covers(_bare(c.sql)) for c in uniq)
        src, cond = (self._src, self._cond) if on_index else (self.table, self.where)
        rows = self.con.execute(
            f"SELECT {', '.join(c.sql for c in uniq)}, count(*), min(chrom_rank), {groups} FROM {src} "
            f"WHERE {cond} GROUP BY GROUPING SETS ({sets})", self.params).fetchall()
        out: dict[str, list[tuple]] = {}
        for name, col in cols:
            i = [u.sql for u in uniq].index(col.sql)
            mine = [r for r in rows if r[k + 2 + i] == 0 and all(r[k + 2 + j] == 1 for j in range(k) if j != i)]
            bare = col.sql.strip('"')
            if bare in LIST_FACETS or bare in SPLIT_FACETS:
                counts: dict = {}
                for r in mine:
                    v = r[i]
                    elems = (v or []) if bare in LIST_FACETS else (v.split(SPLIT_FACETS[bare]) if v else [])
                    for e in set(elems):
                        counts[e] = counts.get(e, 0) + r[k]
                vals = [(v, c, None) for v, c in counts.items()]
            else:
                vals = [(r[i], r[k], r[k + 1]) for r in mine]
            if col.sql == '"chrom"':
                vals.sort(key=lambda x: (x[2] if x[2] is not None else 10**6, str(x[0])))
            else:
                vals.sort(key=lambda x: (-x[1], "" if x[0] is None else str(x[0])))
            vals = vals[:limit]
            if col.kind == "gt":
                out[name] = [(GT_NAMES.get(v, v), c) for v, c, _ in vals]
            else:
                out[name] = [(v, c) for v, c, _ in vals]
        return {name: out[name] for name in names}

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Drop the temporary table (safe to call twice)."""
        self._drop_rank()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _expensive(where: str) -> bool:
    """A filter with a subquery over the variants (compound hets with siblings or phase sets, gene lists
    of list columns, many regions): evaluating it twice (count, then page) costs more than sorting what
    passes it once."""
    w = where.upper()
    return "FROM \"" in w and "SELECT" in w


def _bare(sql: str) -> str:
    """``"col"`` -> ``col`` (a quoted single column of the catalog); other expressions unchanged."""
    if sql.startswith('"') and sql.endswith('"') and '"' not in sql[1:-1].replace('""', ''):
        return sql[1:-1].replace('""', '"')
    return sql


def _qualify(sql: str, alias: str) -> str:
    """``"col"`` -> ``alias."col"`` for the quoted single columns the catalog returns."""
    if sql.startswith('"') and sql.endswith('"') and sql.count('"') % 2 == 0:
        return f"{alias}.{sql}"
    return sql


def _may_spill_rows(con) -> bool:
    """Variant rows may go to temporary files: the workspace is not encrypted, or its temporary files are."""
    enc = con.execute("SELECT encrypted FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    if not (enc and enc[0]):
        return True
    return str(con.execute("SELECT current_setting('temp_file_encryption')").fetchone()[0]).lower() == "true"


def _split(items: list[int], flag) -> list[list[int]]:
    """Consecutive runs of ``items`` with the same ``flag``."""
    out: list[list[int]] = []
    for x in items:
        if out and flag(out[-1][-1]) == flag(x):
            out[-1].append(x)
        else:
            out.append([x])
    return out


def _runs(chunks: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for c in chunks:
        if out and c == out[-1][-1] + 1:
            out[-1].append(c)
        else:
            out.append([c])
    return out
