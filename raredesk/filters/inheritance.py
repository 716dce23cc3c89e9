"""Inheritance modes from the pedigree, as SQL over the per-sample genotype columns.

Every mode is defined for a *target* individual: the sample named in the term
(``de_novo(HG002)``), else the case's proband, else the first affected
individual with genotypes. Relatives are taken from the PED: parents by the
father/mother columns, affected and unaffected status from the phenotype
column (unknown phenotype constrains nothing). Relatives without genotypes in
the VCF ("missing parents") are skipped; a mode that cannot be judged without
them (de novo without both parents) is an error that says so.

Genotype codes (``s<k>_gt``): 0 hom_ref, 1 het, 2 hom_alt (a haploid ``1`` is
2), NULL missing. "Quality-passing" means ``GQ >= min_gq`` and depth (``DP``,
else the sum of ``AD``) ``>= min_dp``; a genotype without GQ or depth does not
pass. Allele balance and parental alt-read limits apply where the caller wrote
allele depths.

Chromosome classes: autosomes and the pseudo-autosomal regions (PAR1/PAR2 of
X and Y for the case's build; both builds' PARs when the build is unknown)
follow diploid rules; X outside the PARs is hemizygous in males; Y outside
the PARs is paternal, MT maternal.

The definitions, mode by mode, are in ``docs/filter-language.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from raredesk.filters.sql import Frag, frag
from raredesk.io.genome import contig_rank
from raredesk.store.cases import Case, Sample

# 1-based inclusive pseudo-autosomal regions (GRC assembly reports)
PAR = {
    "GRCh37": {"X": ((60001, 2699520), (154931044, 155260560)),
               "Y": ((10001, 2649520), (59034050, 59363566))},
    "GRCh38": {"X": ((10001, 2781479), (155701383, 156030895)),
               "Y": ((10001, 2781479), (56887903, 57217415))},
}
# Unknown build: the union of both builds' PARs (a variant in either is judged by diploid rules).
PAR[None] = {c: tuple(sorted(set(PAR["GRCh37"][c]) | set(PAR["GRCh38"][c]))) for c in ("X", "Y")}

MODES = ("de_novo", "ar_hom", "comp_het", "x_linked", "ad_inherited", "mendelian_error")


@dataclass(frozen=True)
class InheritanceSettings:
    """Thresholds of the inheritance modes (all configurable per preset or per term).

    Attributes
    ----------
    min_gq : int
        Genotype quality a genotype needs to count (0 turns the check off).
    min_dp : int
        Read depth a genotype needs (DP, else the sum of AD; 0 turns it off).
    min_ab, max_ab : float
        Allele balance (alt reads / all reads) of a heterozygous call that is
        claimed de novo or X-linked in a female.
    max_parent_alt : int
        Most alt reads a parent may show and still count as hom_ref for a de novo call.
    phase_by_ps : int
        1 to pair compound heterozygotes by phase set (PS) where the parents
        cannot phase them, 0 not to.
    """

    min_gq: int = 20
    min_dp: int = 10
    min_ab: float = 0.2
    max_ab: float = 0.8
    max_parent_alt: int = 2
    phase_by_ps: int = 1

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def updated(self, values: dict) -> "InheritanceSettings":
        """A copy with ``values`` applied; unknown names raise KeyError, bad values ValueError."""
        changes = {}
        for k, v in values.items():
            if k not in self.names():
                raise KeyError(k)
            cur = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{k} must be a number")
            if v < 0:
                raise ValueError(f"{k} cannot be negative")
            if isinstance(cur, int) and not isinstance(cur, bool):
                if float(v) != int(v):
                    raise ValueError(f"{k} must be a whole number")
                v = int(v)
            else:
                v = float(v)
            changes[k] = v
        new = replace(self, **changes)
        if new.min_ab > new.max_ab:
            raise ValueError("min_ab is larger than max_ab")
        if new.max_ab > 1:
            raise ValueError("max_ab is at most 1")
        return new


class PedigreeProblem(Exception):
    """A mode cannot be evaluated for this pedigree (the compiler adds the position)."""


class Pedigree:
    """The members of a case as the inheritance modes see them."""

    def __init__(self, case: Case):
        self.case = case
        self.by_id: dict[str, Sample] = {s.sample_id: s for s in case.samples}

    # -- lookups ------------------------------------------------------------------------

    @property
    def genotyped(self) -> list[Sample]:
        return [s for s in self.case.samples if s.sample_index is not None]

    def genotyped_parent(self, s: Sample, which: str) -> Sample | None:
        pid = s.father_id if which == "father" else s.mother_id
        p = self.by_id.get(pid) if pid else None
        return p if p is not None and p.sample_index is not None else None

    def parents(self, s: Sample) -> list[Sample]:
        return [p for p in (self.genotyped_parent(s, "father"), self.genotyped_parent(s, "mother")) if p]

    def default_target(self) -> Sample:
        c = self.case
        if c.proband and c.proband in self.by_id and self.by_id[c.proband].sample_index is not None:
            return self.by_id[c.proband]
        for s in self.genotyped:
            if s.affected:
                return s
        names = ", ".join(s.sample_id for s in self.genotyped[:6])
        raise PedigreeProblem(f"case {c.name!r} has no proband and no affected individual with genotypes; name the "
                              f"individual, e.g. {{mode}}({self.genotyped[0].sample_id if self.genotyped else 'ID'})"
                              + (f" (samples: {names})" if names else ""))

    def others(self, t: Sample, exclude: list[Sample]) -> tuple[list[Sample], list[Sample]]:
        """Genotyped affected and unaffected individuals other than ``t`` and ``exclude``."""
        skip = {t.sample_id} | {e.sample_id for e in exclude}
        aff = [s for s in self.genotyped if s.sample_id not in skip and s.affected is True]
        una = [s for s in self.genotyped if s.sample_id not in skip and s.affected is False]
        return aff, una


def _is_male(s: Sample) -> bool:
    return s.sex == "male"


class ModeSQL:
    """Builds the SQL of each mode for one case and one settings object."""

    def __init__(self, ped: Pedigree, settings: InheritanceSettings, build: str | None):
        self.ped = ped
        self.st = settings
        self.par = PAR.get(build if build in PAR else None)

    # -- building blocks ------------------------------------------------------------------

    @staticmethod
    def col(s: Sample, name: str) -> str:
        # s<k>_<name>: k is an integer from the samples table, name is one of ours
        return f"s{int(s.sample_index)}_{name}"

    def gt_is(self, s: Sample, *codes: int) -> Frag:
        c = self.col(s, "gt")
        if len(codes) == 1:
            return frag(f"{c} = {int(codes[0])}")
        return frag(f"{c} IN ({', '.join(str(int(x)) for x in codes)})")

    def not_carrier(self, s: Sample) -> Frag:
        """hom_ref or missing."""
        return frag(f"coalesce({self.col(s, 'gt')}, 0) = 0")

    def not_hom_alt(self, s: Sample) -> Frag:
        return frag(f"{self.col(s, 'gt')} IS DISTINCT FROM 2")

    def q_ok(self, s: Sample) -> Frag:
        parts = []
        if self.st.min_gq > 0:
            parts.append(frag(f"{self.col(s, 'gq')} >= ?", self.st.min_gq))
        if self.st.min_dp > 0:
            parts.append(frag(f"coalesce({self.col(s, 'dp')}, {self.col(s, 'ad_ref')} + {self.col(s, 'ad_alt')}) >= ?",
                              self.st.min_dp))
        return Frag.all(parts)

    def ab_ok(self, s: Sample) -> Frag:
        ab = self.col(s, "ab")
        return frag(f"({ab} IS NULL OR {ab} BETWEEN ? AND ?)", self.st.min_ab, self.st.max_ab)

    def alt_ok(self, s: Sample) -> Frag:
        return frag(f"coalesce({self.col(s, 'ad_alt')}, 0) <= ?", self.st.max_parent_alt)

    def ref_ok(self, s: Sample) -> Frag:
        """A parent that is confidently hom_ref."""
        return Frag.all([self.gt_is(s, 0), self.q_ok(s), self.alt_ok(s)])

    def het_ok(self, s: Sample) -> Frag:
        return Frag.all([self.gt_is(s, 1), self.q_ok(s), self.ab_ok(s)])

    def carrier_ok(self, s: Sample) -> Frag:
        return Frag.all([self.gt_is(s, 1, 2), self.q_ok(s)])

    # Chromosome classes use chrom_rank (an integer; the table is in position order, so equality on it
    # prunes row groups) and never compare contig names row by row.
    X, Y, MT = contig_rank("X"), contig_rank("Y"), contig_rank("MT")

    def _par(self, chrom: str) -> str:
        rank = self.X if chrom == "X" else self.Y
        ranges = " OR ".join(f"pos BETWEEN {int(a)} AND {int(b)}" for a, b in self.par[chrom])
        return f"(chrom_rank = {rank} AND ({ranges}))"

    def diploid(self) -> Frag:
        """Autosomes, other contigs and the PARs."""
        return frag(f"(chrom_rank NOT IN ({self.X}, {self.Y}, {self.MT}) OR {self._par('X')} OR {self._par('Y')})")

    def x_nonpar(self) -> Frag:
        return frag(f"(chrom_rank = {self.X} AND NOT {self._par('X')})")

    def y_nonpar(self) -> Frag:
        return frag(f"(chrom_rank = {self.Y} AND NOT {self._par('Y')})")

    def mt(self) -> Frag:
        return frag(f"chrom_rank = {self.MT}")

    def code(self, samples: list[Sample], allowed: list[tuple]) -> Frag:
        """The genotypes of ``samples`` are one of the ``allowed`` tuples (codes 0/1/2).

        Written as one integer test, ``s_a * 9 + s_b * 3 + s_c IN (...)``: missing genotypes make it
        NULL (false), and DuckDB evaluates it far faster than the equivalent and/or tree.
        """
        if len(allowed) == 1:
            # one pattern: plain equalities, which DuckDB pushes into the scan when they are top-level
            return Frag.all([self.gt_is(smp, v) for smp, v in zip(samples, allowed[0])])
        n = len(samples)
        terms = " + ".join(f"{self.col(s, 'gt')} * {3 ** (n - 1 - i)}" if i < n - 1 else self.col(s, "gt")
                           for i, s in enumerate(samples))
        values = sorted({sum(v * 3 ** (n - 1 - i) for i, v in enumerate(a)) for a in allowed})
        if len(values) == 1:
            return frag(f"({terms}) = {values[0]}")
        return frag(f"({terms}) IN ({', '.join(str(v) for v in values)})")

    # -- modes --------------------------------------------------------------------------------

    def de_novo(self, t: Sample) -> Frag:
        f = self.ped.genotyped_parent(t, "father")
        m = self.ped.genotyped_parent(t, "mother")
        if f is None or m is None:
            missing = [w for w, p in (("father", f), ("mother", m)) if p is None]
            raise PedigreeProblem(f"de_novo needs both parents of {t.sample_id} with genotypes; the "
                                  f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the VCF "
                                  f"or not in the PED")
        trio_ok = [self.q_ok(t), self.ab_ok(t), self.q_ok(f), self.alt_ok(f), self.q_ok(m), self.alt_ok(m)]
        # Each branch starts with its most selective cheap test: genotypes for the autosomes, the
        # chromosome for X, Y and MT (few rows), so that rows failing a branch fail it early.
        branches = []
        if _is_male(t):
            branches.append(Frag.all([self.code([t, f, m], [(1, 0, 0)]), self.diploid()] + trio_ok))
            branches.append(Frag.all([self.x_nonpar(), self.gt_is(m, 0), self.q_ok(t), self.q_ok(m),
                                      self.alt_ok(m)]))
            branches.append(Frag.all([self.y_nonpar(), self.gt_is(f, 0), self.q_ok(t), self.q_ok(f),
                                      self.alt_ok(f)]))
        else:
            branches.append(Frag.all([self.code([t, f, m], [(1, 0, 0)]),
                                      frag(f"({self.diploid().sql} OR {self.x_nonpar().sql})")] + trio_ok))
        branches.append(Frag.all([self.mt(), self.gt_is(m, 0), self.q_ok(t), self.q_ok(m), self.alt_ok(m)]))
        _, una = self.ped.others(t, [f, m])
        # conditions every branch needs come first, as top-level column tests DuckDB pushes into the scan
        first = [self.gt_is(t, 1, 2), self.q_ok(t), frag(f"({self.col(f, 'gt')} = 0 OR {self.col(m, 'gt')} = 0)")]
        return Frag.all(first + [Frag.any(branches)] + [self.not_carrier(u) for u in una])

    def ar_hom(self, t: Sample) -> Frag:
        parents = self.ped.parents(t)
        aff, una = self.ped.others(t, parents)
        parts = [self.gt_is(t, 2)]
        if parents:
            parts.append(self.code([t] + parents, [(2,) + (1,) * len(parents)]))
        parts += [self.diploid(), self.q_ok(t)] + [self.q_ok(p) for p in parents]
        parts += [self.gt_is(a, 2) for a in aff]
        parts += [self.not_hom_alt(u) for u in una]
        return Frag.all(parts)

    def x_linked(self, t: Sample) -> Frag:
        f = self.ped.genotyped_parent(t, "father")
        m = self.ped.genotyped_parent(t, "mother")
        parents = [p for p in (f, m) if p]
        parts = [self.gt_is(t, 1, 2), self.x_nonpar()]
        if _is_male(t):
            parts += [self.gt_is(t, 2), self.q_ok(t)]
            if m is not None:
                parts.append(Frag.any([self.carrier_ok(m), self.ref_ok(m)]))
        else:
            parts += [self.q_ok(t),
                      frag(f"({self.col(t, 'gt')} = 2 OR {self.col(t, 'ab')} IS NULL OR {self.col(t, 'ab')} "
                           f"BETWEEN ? AND ?)", self.st.min_ab, self.st.max_ab)]
            if parents:
                inherited = [self.carrier_ok(p) for p in parents]
                de_novo = Frag.all([self.ref_ok(p) for p in parents])
                parts.append(Frag.any(inherited + [de_novo]))
        aff, una = self.ped.others(t, [])
        for a in aff:
            parts.append(self.gt_is(a, 2) if _is_male(a) else self.gt_is(a, 1, 2))
        for u in una:
            parts.append(self.not_carrier(u) if _is_male(u) else self.not_hom_alt(u))
        return Frag.all(parts)

    def ad_inherited(self, t: Sample) -> Frag:
        parents = self.ped.parents(t)
        affected_parents = [p for p in parents if p.affected is True]
        if not affected_parents:
            raise PedigreeProblem(f"ad_inherited needs an affected parent of {t.sample_id} with genotypes; the PED "
                                  f"marks none")
        aff, una = self.ped.others(t, [])
        parts = [self.gt_is(t, 1), self.diploid(), self.q_ok(t),
                 Frag.any([self.carrier_ok(p) for p in affected_parents])]
        parts += [self.gt_is(a, 1, 2) for a in aff if a not in affected_parents]
        parts += [self.not_carrier(u) for u in una]
        return Frag.all(parts)

    def mendelian_error(self, t: Sample | None) -> Frag:
        children = [t] if t is not None else self.ped.genotyped
        trios = []
        for c in children:
            f = self.ped.genotyped_parent(c, "father")
            m = self.ped.genotyped_parent(c, "mother")
            if f is None and m is None:
                continue
            trios.append((c, self._mendel(c, f, m)))
        if not trios:
            who = t.sample_id if t is not None else f"case {self.ped.case.name!r}"
            raise PedigreeProblem(f"mendelian_error needs a child with at least one genotyped parent; {who} has none")
        if len(trios) == 1:  # one child: its quality is a top-level (pushed-down) condition
            c, sql = trios[0]
            return Frag.all([self.q_ok(c), sql])
        return Frag.any([sql for _, sql in trios])

    OPPOSITE = [(0, 2), (2, 0)]
    TRIO_ERRORS = [(c, f, m) for c in range(3) for f in range(3) for m in range(3)
                   if (c == 0 and 2 in (f, m)) or (c == 2 and 0 in (f, m)) or (c == 1 and f == m and f != 1)]

    def _mendel(self, c: Sample, f: Sample | None, m: Sample | None) -> Frag:
        quality = [self.q_ok(c)] + [self.q_ok(p) for p in (f, m) if p]
        if f is not None and m is not None:
            diploid_rule = self.code([c, f, m], self.TRIO_ERRORS)
        else:
            diploid_rule = self.code([c, f or m], self.OPPOSITE)
        branches = []
        if _is_male(c):
            branches.append(Frag.all([diploid_rule, self.diploid()] + quality))
            if m is not None:
                branches.append(Frag.all([self.x_nonpar(), self.code([c, m], self.OPPOSITE), self.q_ok(c),
                                          self.q_ok(m)]))
            if f is not None:
                branches.append(Frag.all([self.y_nonpar(), self.code([c, f], self.OPPOSITE), self.q_ok(c),
                                          self.q_ok(f)]))
        else:
            branches.append(Frag.all([diploid_rule, frag(f"({self.diploid().sql} OR {self.x_nonpar().sql})")]
                                     + quality))
        if m is not None:
            branches.append(Frag.all([self.mt(), self.code([c, m], self.OPPOSITE), self.q_ok(c), self.q_ok(m)]))
        return Frag.any(branches)

    # -- compound heterozygotes ---------------------------------------------------------------

    def comp_het_parts(self, t: Sample, ps_present: bool) -> dict:
        """Row-level pieces of the compound-het test for target ``t``.

        Returns a dict with ``cand`` (the row can be one half of a pair), ``hap``
        (0 paternal / 1 maternal, or the PS haplotype; NULL when unphased),
        ``block`` (-1 for phase by inheritance, else the PS), ``mask`` (bit i set
        when the i-th unaffected non-parent carries the variant; a pair whose
        masks share a bit is carried by that person too and is dropped) and
        ``simple`` (no PS, no masks: a gene with both haplotypes qualifies as a whole).
        """
        f = self.ped.genotyped_parent(t, "father")
        m = self.ped.genotyped_parent(t, "mother")
        parents = [p for p in (f, m) if p]
        aff, una = self.ped.others(t, parents)
        chrom_ok = self.diploid() if _is_male(t) else frag(f"({self.diploid().sql} OR {self.x_nonpar().sql})")
        cand = Frag.all([frag(f"{self.col(t, 'gt')} = 1"), self.q_ok(t), frag("gene IS NOT NULL"), chrom_ok]
                        + [self.gt_is(a, 1) for a in aff] + [self.not_hom_alt(u) for u in una])

        def het_q(p):
            return Frag.all([self.gt_is(p, 1), self.q_ok(p)])

        def ref_q(p):
            return Frag.all([self.gt_is(p, 0), self.q_ok(p)])

        if f is not None and m is not None:
            fm = f"({self.col(f, 'gt')} * 3 + {self.col(m, 'gt')})"
            qq = Frag.all([self.q_ok(f), self.q_ok(m)])
            inh = Frag(f"CASE WHEN {fm} = 3 AND {qq.sql} THEN 0 WHEN {fm} = 1 AND {qq.sql} THEN 1 END",
                       qq.params + qq.params)
        elif f is not None:
            a, b = het_q(f), ref_q(f)
            inh = Frag(f"CASE WHEN {a.sql} THEN 0 WHEN {b.sql} THEN 1 END", a.params + b.params)
        elif m is not None:
            a, b = het_q(m), ref_q(m)
            inh = Frag(f"CASE WHEN {a.sql} THEN 1 WHEN {b.sql} THEN 0 END", a.params + b.params)
        else:
            inh = Frag("CAST(NULL AS INTEGER)")
        use_ps = bool(self.st.phase_by_ps) and ps_present
        if use_ps:
            gt_raw, ps, ph = self.col(t, "gt_raw"), self.col(t, "ps"), self.col(t, "phased")
            ps_hap = (f"CASE WHEN {ph} AND {ps} IS NOT NULL AND contains({gt_raw}, '|') THEN "
                      f"CASE WHEN split_part({gt_raw}, '|', 1) = CAST(allele_index AS VARCHAR) THEN 0 ELSE 1 END END")
            hap = Frag(f"coalesce({inh.sql}, {ps_hap})", inh.params)
            block = Frag(f"CASE WHEN ({inh.sql}) IS NOT NULL THEN -1 ELSE {ps} END", inh.params)
        else:
            hap = inh
            block = Frag("-1")
        if una:
            bits = " + ".join(f"(CASE WHEN {self.col(u, 'gt')} IN (1, 2) THEN {1 << i} ELSE 0 END)"
                              for i, u in enumerate(una[:60]))
            mask = Frag(f"({bits})")
        else:
            mask = Frag("0")
        return {"cand": cand, "hap": hap, "block": block, "mask": mask, "simple": not use_ps and not una}
