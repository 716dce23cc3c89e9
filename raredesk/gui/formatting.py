"""How values look in the table and the detail panel (Qt-free, so workers can pre-format).

Conventions reviewers expect from seqr / IGV / VarSeq: allele frequencies in
scientific notation, positions with thousands separators, HGVS without the
transcript prefix in the cell (the full string in the tooltip), genotypes as
VCF writes them.
"""

from __future__ import annotations

import math

MISSING = ""
GT_TEXT = {0: "0/0", 1: "0/1", 2: "1/1", None: "./."}
GT_NAME = {0: "hom ref", 1: "het", 2: "hom alt", None: "missing"}
IMPACT_ORDER = ("HIGH", "MODERATE", "LOW", "MODIFIER")


def fmt_af(v) -> str:
    """Allele frequency: ``0`` stays ``0``; otherwise 3 significant digits, scientific below 0.01."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return MISSING
    v = float(v)
    if v == 0:
        return "0"
    if v < 0.01:
        return f"{v:.2e}"
    return f"{v:.3f}"


def fmt_float(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return MISSING
    return f"{float(v):.{digits}g}" if abs(float(v)) >= 1000 else f"{float(v):.{digits}f}".rstrip("0").rstrip(".")


def fmt_int(v) -> str:
    if v is None:
        return MISSING
    return f"{int(v):,}"


def fmt_list(v) -> str:
    if v is None:
        return MISSING
    if isinstance(v, (list, tuple)):
        return ", ".join("." if x is None else str(x) for x in v)
    return str(v)


def fmt_consequence(v) -> str:
    if not v:
        return MISSING
    return str(v).replace("&", ", ")


def short_hgvs(v) -> str:
    """``ENST0001.3:c.770A>C`` -> ``c.770A>C`` (the table cell; the tooltip keeps it whole)."""
    if not v:
        return MISSING
    text = str(v)
    head, sep, tail = text.partition(":")
    return tail if sep and tail[:2] in ("c.", "p.", "n.", "g.", "m.", "r.") else text


def fmt_gt(code, raw) -> str:
    """The genotype as the VCF wrote it (``0|1``, ``1/2`` of a split multi-allelic), else from the code."""
    return str(raw) if raw else GT_TEXT.get(code, "./.")


def gt_tooltip(sample: str, code, raw, ad_ref, ad_alt, dp, gq, ab) -> str:
    ad = f"{'.' if ad_ref is None else ad_ref},{'.' if ad_alt is None else ad_alt}"
    ab_text = "." if ab is None else f"{ab:.2f}"
    return (f"{sample}: {raw or GT_TEXT.get(code)} ({GT_NAME.get(code, '?')})\n"
            f"AD {ad}   DP {'.' if dp is None else dp}   GQ {'.' if gq is None else gq}   AB {ab_text}")


def fmt_recount(rec) -> str:
    """A sample's read recount in a cell: ``REF/ALT`` reads (``!`` when it failed, ``–`` when not countable)."""
    if rec is None:
        return MISSING
    if rec.status == "ok":
        return f"{rec.ref_count}/{rec.alt_count}"
    return "–" if rec.status == "unsupported" else "!"


def recount_tooltip(sample: str, rec, flag_text: dict) -> str:
    """What a recount cell means: counts by strand, the VCF's view, and any disagreement."""
    if rec is None:
        return f"{sample}: not recounted yet (counted for the rows on screen)"
    if rec.status != "ok":
        return f"{sample}: {rec.message or rec.status}"
    ad = f"{'.' if rec.vcf_ad_ref is None else rec.vcf_ad_ref},{'.' if rec.vcf_ad_alt is None else rec.vcf_ad_alt}"
    lines = [f"{sample}: reads REF {rec.ref_count} (+{rec.ref_fwd} −{rec.ref_rev}), "
             f"ALT {rec.alt_count} (+{rec.alt_fwd} −{rec.alt_rev}), other {rec.other_fwd + rec.other_rev}",
             f"VCF: {GT_TEXT.get(rec.vcf_gt, './.')} AD {ad}"
             + ("" if rec.vaf is None else f"   reads VAF {rec.vaf:.2f}"),
             f"(base quality ≥ {rec.min_bq}, MAPQ ≥ {rec.min_mapq})"]
    lines += [f"≠ {flag_text.get(f, f)}" for f in rec.flags]
    return "\n".join(lines)


def fmt_generic(v) -> str:
    if v is None:
        return MISSING
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return MISSING
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return fmt_list(v)
    return str(v)


def clinvar_class(sig: str | None) -> str | None:
    """``pathogenic``, ``likely_pathogenic``, ``vus``, ``conflicting``, ``benign`` or None (for colours)."""
    if not sig:
        return None
    s = sig.lower()
    if "conflicting" in s:
        return "conflicting"
    if "likely pathogenic" in s or "likely_pathogenic" in s:
        return "likely_pathogenic"
    if "pathogenic" in s:
        return "pathogenic"
    if "uncertain" in s:
        return "vus"
    if "benign" in s:
        return "benign"
    return None


def stars(n) -> str:
    if n is None:
        return ""
    n = max(0, min(4, int(n)))
    return "★" * n + "☆" * (4 - n)
