"""Which INFO keys or annotation sub-fields carry the scores RareDesk types.

Annotation pipelines spell the same quantity many ways (``gnomAD_AF``,
``GNOMADAF``, ``gnomADe_AF``, ``CADD_PHRED``, ``REVEL_score``, ...). Each
canonical score below lists the spellings it recognises, matched
case-insensitively against whole names. Ranked scores (``*_rankscore``) are
deliberately not mapped to the raw score.
"""

from __future__ import annotations

import re

POPULATIONS = ("afr", "amr", "asj", "eas", "fin", "nfe", "sas", "oth", "mid", "ami")

# canonical -> list of full-match regular expressions (case-insensitive)
SCORE_PATTERNS: dict[str, list[str]] = {
    "gnomad_af": [r"gnomad_?af", r"gnomad[eg]_af", r"gnomad_(exomes|genomes)_af", r"af_gnomad(_exomes|_genomes)?",
                  r"gnomad(_exome|_genome)?_af"],
    "gnomad_grpmax_af": [r"gnomad_?af_?(popmax|grpmax)", r"gnomad[eg]?_(popmax|grpmax)(_af)?",
                         r"af_(popmax|grpmax)", r"gnomad[eg]?_af_(popmax|grpmax)", r"max_af"],
    "gnomad_nhomalt": [r"gnomad[eg]?_?nhomalt", r"nhomalt", r"gnomad[eg]?_hom"],
    "cadd_phred": [r"cadd", r"cadd_phred", r"cadd_phred_score", r"cadd_scaled"],
    "revel": [r"revel", r"revel_score"],
    "alphamissense": [r"am_pathogenicity", r"alphamissense(_score)?"],
    "alphamissense_class": [r"am_class", r"alphamissense_(class|pred)"],
    "spliceai_ds": [r"spliceai_pred_ds_(ag|al|dg|dl)", r"spliceai_ds_(ag|al|dg|dl)", r"spliceai_max(_ds)?"],
    "sift": [r"sift", r"sift_pred"],
    "sift_score": [r"sift_score"],
    "polyphen": [r"polyphen", r"polyphen_pred", r"polyphen2?_hvar_pred"],
    "polyphen_score": [r"polyphen_score", r"polyphen2?_hvar_score"],
    "clinvar_sig": [r"clnsig", r"clin_sig", r"clinvar_clnsig", r"clinvar_sig", r"clinvar_significance"],
    "clinvar_revstat": [r"clnrevstat", r"clinvar_clnrevstat", r"clinvar_revstat", r"clinvar_review_status"],
}
for _pop in POPULATIONS:
    SCORE_PATTERNS[f"gnomad_af_{_pop}"] = [
        rf"gnomad[eg]?_{_pop}_af", rf"gnomad[eg]?_af_{_pop}", rf"af_{_pop}", rf"gnomad_af_{_pop}"]

_COMPILED = {k: [re.compile(p, re.IGNORECASE) for p in v] for k, v in SCORE_PATTERNS.items()}

NUMERIC_SCORES = ["gnomad_af", "gnomad_grpmax_af", "gnomad_nhomalt", "cadd_phred", "revel", "alphamissense",
                  "spliceai_ds", "sift_score", "polyphen_score"] + [f"gnomad_af_{p}" for p in POPULATIONS]
TEXT_SCORES = ["alphamissense_class", "sift", "polyphen", "clinvar_sig", "clinvar_revstat"]


def match_scores(names: list[str]) -> dict[str, list[str]]:
    """Canonical score -> the names (from ``names``) that carry it."""
    out: dict[str, list[str]] = {}
    for name in names:
        for canon, pats in _COMPILED.items():
            if any(p.fullmatch(name) for p in pats):
                out.setdefault(canon, []).append(name)
                break
    return out


# Old ClinVar VCFs (and pipelines built on them, e.g. MIP/Scout) code CLNSIG as numbers.
CLNSIG_CODES = {"0": "Uncertain significance", "1": "not provided", "2": "Benign", "3": "Likely benign",
                "4": "Likely pathogenic", "5": "Pathogenic", "6": "drug response", "7": "histocompatibility",
                "255": "other"}

REVIEW_STARS = {
    "practice guideline": 4,
    "reviewed by expert panel": 3,
    "criteria provided, multiple submitters, no conflicts": 2,
    "criteria provided, conflicting interpretations": 1,
    "criteria provided, conflicting classifications": 1,
    "criteria provided, single submitter": 1,
    "no assertion criteria provided": 0,
    "no assertion provided": 0,
    "no interpretation for the single variant": 0,
    "no classification provided": 0,
    "no classification for the single variant": 0,
    "flagged submission": 0,
}
