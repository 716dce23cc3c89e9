"""Inheritance terms on the real trios, checked against an independent computation.

The reference side reads the original VCF with cyvcf2 (not the workspace), splits the ALT alleles
itself, codes the genotypes, qualities and allele depths per allele, reads the PED itself, and
applies the mode definitions of docs/filter-language.md in plain Python. Only the picked gene and
impact of each allele (the importer's annotation choice, which is not what is under test here) are
taken from the workspace, by a plain SELECT keyed on the original CHROM/POS/REF/ALT.
"""

from __future__ import annotations

from dataclasses import dataclass

import cyvcf2
import pytest

from raredesk.filters import FilterError, compile_for_case
from raredesk.store.cases import get_case

MISSING = -2147483600  # cyvcf2 integer missing/end-of-vector sentinels are below this
PAR37 = {"X": ((60001, 2699520), (154931044, 155260560)), "Y": ((10001, 2649520), (59034050, 59363566))}


@dataclass
class Settings:
    min_gq: int = 20
    min_dp: int = 10
    min_ab: float = 0.2
    max_ab: float = 0.8
    max_parent_alt: int = 2


@dataclass
class Call:
    gt: int | None
    gq: int | None
    dp: int | None
    ad_ref: int | None
    ad_alt: int | None
    ab: float | None


def read_ped(path):
    people = {}
    for line in open(path):
        if not line.strip() or line.startswith("#"):
            continue
        fam, ind, fa, mo, sex, phen = line.split()[:6]
        people[ind] = {"father": None if fa == "0" else fa, "mother": None if mo == "0" else mo,
                       "sex": {"1": "male", "2": "female"}.get(sex, "unknown"),
                       "affected": {"2": True, "1": False}.get(phen)}
    return people


def _int(x):
    x = int(x)
    return None if x < MISSING else x


def read_calls(path):
    """{(chrom, pos, ref, alt): {sample: Call}} for every ALT allele of every record."""
    vcf = cyvcf2.VCF(str(path))
    samples = vcf.samples
    out = {}
    for v in vcf:
        fmt = set(v.FORMAT)
        gq = v.format("GQ") if "GQ" in fmt else None
        dp = v.format("DP") if "DP" in fmt else None
        ad = v.format("AD") if "AD" in fmt else None
        for ai, alt in enumerate(v.ALT, start=1):
            calls = {}
            for si, s in enumerate(samples):
                g = v.genotypes[si]
                alleles = g[:-1]
                if not any(a >= 0 for a in alleles):
                    code = None
                else:
                    n_this = sum(1 for a in alleles if a == ai)
                    if n_this == 0:
                        code = None if any(a < 0 for a in alleles) else 0
                    elif n_this == len(alleles):
                        code = 2
                    else:
                        code = 1
                ads = [_int(x) for x in ad[si]] if ad is not None else []
                ad_ref = ads[0] if ads else None
                ad_alt = ads[ai] if len(ads) > ai else None
                total = sum(x for x in ads if x is not None)
                ab = ad_alt / total if total > 0 and ad_alt is not None else None
                calls[s] = Call(code, _int(gq[si][0]) if gq is not None else None,
                                _int(dp[si][0]) if dp is not None else None, ad_ref, ad_alt, ab)
            out[(v.CHROM, v.POS, v.REF, alt)] = calls
    return out


class Reference:
    """The mode definitions, written again from the documentation."""

    def __init__(self, people, build_par=PAR37, st: Settings | None = None):
        self.people = people
        self.par = build_par
        self.st = st or Settings()

    def q(self, c: Call) -> bool:
        depth = c.dp if c.dp is not None else (c.ad_ref + c.ad_alt if c.ad_ref is not None and c.ad_alt is not None
                                               else None)
        return (self.st.min_gq == 0 or (c.gq is not None and c.gq >= self.st.min_gq)) and \
            (self.st.min_dp == 0 or (depth is not None and depth >= self.st.min_dp))

    def ref_ok(self, c):
        return c.gt == 0 and self.q(c) and (c.ad_alt or 0) <= self.st.max_parent_alt

    def het_ok(self, c):
        return c.gt == 1 and self.q(c) and (c.ab is None or self.st.min_ab <= c.ab <= self.st.max_ab)

    def carrier_ok(self, c):
        return c.gt in (1, 2) and self.q(c)

    def klass(self, chrom, pos):
        for c in ("X", "Y"):
            if chrom == c:
                return "diploid" if any(a <= pos <= b for a, b in self.par[c]) else c
        return "MT" if chrom == "MT" else "diploid"

    def others(self, calls, t, exclude):
        aff = [s for s in calls if s != t and s not in exclude and self.people[s]["affected"] is True]
        una = [s for s in calls if s != t and s not in exclude and self.people[s]["affected"] is False]
        return aff, una

    def de_novo(self, key, calls, t):
        f, m = self.people[t]["father"], self.people[t]["mother"]
        F, M, T = calls[f], calls[m], calls[t]
        k = self.klass(key[0], key[1])
        male = self.people[t]["sex"] == "male"
        if k == "diploid" or (k == "X" and not male):
            ok = self.het_ok(T) and self.ref_ok(F) and self.ref_ok(M)
        elif k == "X":
            ok = self.carrier_ok(T) and self.ref_ok(M)
        elif k == "Y":
            ok = male and self.carrier_ok(T) and self.ref_ok(F)
        else:
            ok = self.carrier_ok(T) and self.ref_ok(M)
        _, una = self.others(calls, t, [f, m])
        return ok and all((calls[u].gt or 0) == 0 for u in una)

    def ar_hom(self, key, calls, t):
        if self.klass(key[0], key[1]) != "diploid":
            return False
        parents = [p for p in (self.people[t]["father"], self.people[t]["mother"]) if p in calls]
        aff, una = self.others(calls, t, parents)
        return calls[t].gt == 2 and self.q(calls[t]) \
            and all(calls[p].gt == 1 and self.q(calls[p]) for p in parents) \
            and all(calls[a].gt == 2 for a in aff) and all(calls[u].gt != 2 for u in una)

    def x_linked(self, key, calls, t):
        if self.klass(key[0], key[1]) != "X":
            return False
        T = calls[t]
        f, m = self.people[t]["father"], self.people[t]["mother"]
        parents = [p for p in (f, m) if p in calls]
        if self.people[t]["sex"] == "male":
            ok = T.gt == 2 and self.q(T)
            if m in calls:
                ok = ok and (self.carrier_ok(calls[m]) or self.ref_ok(calls[m]))
        else:
            ok = T.gt in (1, 2) and self.q(T) and \
                (T.gt == 2 or T.ab is None or self.st.min_ab <= T.ab <= self.st.max_ab)
            if parents:
                ok = ok and (any(self.carrier_ok(calls[p]) for p in parents) or all(self.ref_ok(calls[p])
                                                                                   for p in parents))
        aff, una = self.others(calls, t, [])
        for a in aff:
            ok = ok and (calls[a].gt == 2 if self.people[a]["sex"] == "male" else calls[a].gt in (1, 2))
        for u in una:
            ok = ok and ((calls[u].gt or 0) == 0 if self.people[u]["sex"] == "male" else calls[u].gt != 2)
        return ok

    def mendelian_error(self, key, calls):
        k = self.klass(key[0], key[1])
        for c in calls:
            f, m = self.people[c]["father"], self.people[c]["mother"]
            f = f if f in calls else None
            m = m if m in calls else None
            if f is None and m is None:
                continue
            C = calls[c].gt
            involved = [calls[c]] + [calls[p] for p in (f, m) if p]
            male = self.people[c]["sex"] == "male"

            def opposite(p):
                P = calls[p].gt
                return (C == 0 and P == 2) or (C == 2 and P == 0)

            err = False
            if k == "diploid" or (k == "X" and not male):
                if f and m:
                    F, M = calls[f].gt, calls[m].gt
                    err = (C == 0 and (F == 2 or M == 2)) or (C == 2 and (F == 0 or M == 0)) or \
                          (C == 1 and ((F == 0 and M == 0) or (F == 2 and M == 2)))
                else:
                    err = opposite(f or m)
                err = err and all(self.q(x) for x in involved)
            elif k == "X" and m:
                err = opposite(m) and self.q(calls[c]) and self.q(calls[m])
            elif k == "Y" and f and male:
                err = opposite(f) and self.q(calls[c]) and self.q(calls[f])
            elif k == "MT" and m:
                err = opposite(m) and self.q(calls[c]) and self.q(calls[m])
            if err:
                return True
        return False

    def comp_het(self, all_calls, t, gene_of, context):
        f, m = self.people[t]["father"], self.people[t]["mother"]
        male = self.people[t]["sex"] == "male"
        cand = {}
        for key, calls in all_calls.items():
            if key not in gene_of:
                continue
            parents = [p for p in (f, m) if p in calls]
            aff, una = self.others(calls, t, parents)
            k = self.klass(key[0], key[1])
            T = calls[t]
            if not (T.gt == 1 and self.q(T) and gene_of[key] is not None and
                    (k == "diploid" or (k == "X" and not male)) and all(calls[a].gt == 1 for a in aff)
                    and all(calls[u].gt != 2 for u in una) and context(key)):
                continue
            F, M = calls.get(f), calls.get(m)
            hap = None
            if F is not None and M is not None:
                if F.gt == 1 and self.q(F) and M.gt == 0 and self.q(M):
                    hap = 0
                elif M.gt == 1 and self.q(M) and F.gt == 0 and self.q(F):
                    hap = 1
            if hap is not None:
                cand[key] = (gene_of[key], hap)
        genes = {}
        for g, h in cand.values():
            genes.setdefault(g, set()).add(h)
        return {key for key, (g, h) in cand.items() if genes[g] == {0, 1}}


@pytest.fixture(scope="module", params=["variants table", "query index"])
def con(request):
    """Every reference test runs on the variants table and on the query index (flags, keys, haplotypes)."""
    ws = request.getfixturevalue("ro_ws" if request.param == "variants table" else "indexed_ws")
    return ws.cursor()


def db_keys(con, case, text):
    where, params = compile_for_case(con, case, text, None)
    return set(con.execute(f'SELECT orig_chrom, orig_pos, orig_ref, orig_alt FROM "{case.table}" WHERE {where}',
                           params).fetchall())


def annotations(con, case):
    return {r[:4]: (r[4], r[5]) for r in con.execute(
        f'SELECT orig_chrom, orig_pos, orig_ref, orig_alt, gene, impact FROM "{case.table}"').fetchall()}


@pytest.fixture(scope="module")
def trios(data_dir):
    out = {}
    for name, (vcf, ped) in {"ashk": ("slivar/ashk-trio.vcf.gz", "slivar/ashk-trio.ped"),
                             "scout": ("scout/643594.clinical.vcf.gz", "scout/643594.ped"),
                             "ceph": ("deeptrio/derived_trio.bcftools.20_10000000_10010000.vcf.gz",
                                      "deeptrio/derived_trio.ped")}.items():
        out[name] = (read_calls(data_dir / vcf), read_ped(data_dir / ped))
    return out


PROBAND = {"ashk": "HG002", "scout": "ADM1059A2"}
RELAXED = Settings(min_gq=0, min_dp=0, min_ab=0.2, max_ab=0.8, max_parent_alt=2)


def _restrict(calls, case_keys):
    return {k: v for k, v in calls.items() if k in case_keys}


@pytest.mark.parametrize("case_name", ["ashk", "scout"])
@pytest.mark.parametrize("mode", ["de_novo", "ar_hom", "x_linked"])
@pytest.mark.parametrize("relaxed", [False, True])
def test_mode_matches_reference(con, trios, case_name, mode, relaxed):
    case = get_case(con, case_name)
    calls, people = trios[case_name]
    keys = set(annotations(con, case))
    calls = _restrict(calls, keys)
    assert len(calls) == len(keys) == case.n_variants
    ref = Reference(people, st=RELAXED if relaxed else Settings())
    t = PROBAND[case_name]
    want = {k for k, c in calls.items() if getattr(ref, mode)(k, c, t)}
    text = f"{mode}(min_gq=0, min_dp=0)" if relaxed else mode
    got = db_keys(con, case, text)
    assert got == want
    if (case_name, mode) in (("ashk", "de_novo"), ("ashk", "ar_hom"), ("scout", "ar_hom")):
        assert want, "expected positive calls in this trio"


def test_counts_are_plausible(con, trios):
    # independent sanity: the relaxed de novo calls include the strict ones
    case = get_case(con, "ashk")
    strict = db_keys(con, case, "de_novo")
    relaxed = db_keys(con, case, "de_novo(min_gq=0, min_dp=0)")
    assert strict <= relaxed and len(relaxed) > len(strict)


@pytest.mark.parametrize("case_name", ["ashk", "scout"])
def test_mendelian_errors_match_reference(con, trios, case_name):
    case = get_case(con, case_name)
    calls, people = trios[case_name]
    calls = _restrict(calls, set(annotations(con, case)))
    ref = Reference(people)
    want = {k for k, c in calls.items() if ref.mendelian_error(k, c)}
    assert db_keys(con, case, "mendelian_error") == want
    if case_name == "ashk":
        assert want


@pytest.mark.parametrize("case_name, context_text, context", [
    ("ashk", None, lambda ann: lambda k: True),
    ("ashk", "impact in (HIGH, MODERATE)", lambda ann: lambda k: ann[k][1] in ("HIGH", "MODERATE")),
    ("scout", None, lambda ann: lambda k: True),
])
def test_comp_het_matches_reference(con, trios, case_name, context_text, context):
    case = get_case(con, case_name)
    calls, people = trios[case_name]
    ann = annotations(con, case)
    calls = _restrict(calls, set(ann))
    ref = Reference(people)
    want = ref.comp_het(calls, PROBAND[case_name], {k: g for k, (g, _) in ann.items()}, context(ann))
    text = "comp_het" if context_text is None else f"{context_text} and comp_het"
    got = db_keys(con, case, text)
    assert got == want and want
    # the partner must pass the context too: the filtered pairs are not just the unfiltered ones cut down
    if context_text:
        unfiltered = db_keys(con, case, "comp_het")
        cut = {k for k in unfiltered if context(ann)(k)}
        assert got <= cut
        assert got != cut, "the context changed nothing: the test would not see a context bug"


def test_comp_het_in_or_branch_uses_only_and_context(con, trios):
    case = get_case(con, "ashk")
    calls, people = trios["ashk"]
    ann = annotations(con, case)
    calls = _restrict(calls, set(ann))
    ref = Reference(people)
    ctx = lambda k: ann[k][1] in ("HIGH", "MODERATE")  # noqa: E731
    ch = ref.comp_het(calls, "HG002", {k: g for k, (g, _) in ann.items()}, ctx)
    hom = {k for k, c in calls.items() if ref.ar_hom(k, c, "HG002")}
    want = {k for k in ch | hom if ctx(k)}
    assert db_keys(con, case, "impact in (HIGH, MODERATE) and (ar_hom or comp_het)") == want


def test_negated_mode_is_the_complement(con):
    case = get_case(con, "ashk")
    a = db_keys(con, case, "comp_het and impact = MODERATE")
    b = db_keys(con, case, "not comp_het and impact = MODERATE")
    c = db_keys(con, case, "impact = MODERATE")
    assert a and not a & b and a | b == c


def test_pedigree_without_affected_needs_a_named_child(con, trios):
    case = get_case(con, "ceph")
    with pytest.raises(FilterError) as ei:
        compile_for_case(con, case, "gene is missing and de_novo", None)
    assert ei.value.position == 20 and "de_novo(HG001)" in str(ei.value)
    calls, people = trios["ceph"]
    calls = _restrict(calls, set(annotations(con, case)))
    for st, text in ((Settings(), "de_novo(HG001)"), (RELAXED, "de_novo(HG001, min_gq=0, min_dp=0)")):
        ref = Reference(people, st=st)
        want = {k for k, c in calls.items() if ref.de_novo(k, c, "HG001")}
        assert db_keys(con, case, text) == want
    assert want, "the relaxed check finds a de novo call"
    for st, text in ((Settings(), "mendelian_error"), (RELAXED, "mendelian_error(min_gq=0, min_dp=0)")):
        ref = Reference(people, st=st)
        want = {k for k, c in calls.items() if ref.mendelian_error(k, c)}
        assert db_keys(con, case, text) == want
    assert want, "the relaxed check finds the one error of this trio"


def test_modes_needing_relatives_say_so(con):
    case = get_case(con, "scout")
    with pytest.raises(FilterError) as ei:
        compile_for_case(con, case, "ad_inherited", None)
    assert "affected parent" in str(ei.value) and ei.value.position == 0
    with pytest.raises(FilterError) as ei:
        compile_for_case(con, case, "de_novo(ADM1059A1)", None)
    assert "both parents" in str(ei.value)
