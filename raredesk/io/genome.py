"""Contig naming and genome build detection from contig lengths."""

from __future__ import annotations

from raredesk.errors import InputError

# Primary assembly lengths (UCSC / GRC), canonical names without "chr".
GRCH37 = {
    "1": 249250621, "2": 243199373, "3": 198022430, "4": 191154276, "5": 180915260, "6": 171115067,
    "7": 159138663, "8": 146364022, "9": 141213431, "10": 135534747, "11": 135006516, "12": 133851895,
    "13": 115169878, "14": 107349540, "15": 102531392, "16": 90354753, "17": 81195210, "18": 78077248,
    "19": 59128983, "20": 63025520, "21": 48129895, "22": 51304566, "X": 155270560, "Y": 59373566,
}
GRCH38 = {
    "1": 248956422, "2": 242193529, "3": 198295559, "4": 190214555, "5": 181538259, "6": 170805979,
    "7": 159345973, "8": 145138636, "9": 138394717, "10": 133797422, "11": 135086622, "12": 133275309,
    "13": 114364328, "14": 107043718, "15": 101991189, "16": 90338345, "17": 83257441, "18": 80373285,
    "19": 58617616, "20": 64444167, "21": 46709983, "22": 50818468, "X": 156040895, "Y": 57227415,
}
RCRS_LENGTH = 16569          # GRCh37 MT and GRCh38 chrM (NC_012920.1)
HG19_CHRM_LENGTH = 16571     # hg19 chrM (NC_001807): a different sequence
BUILDS = ("GRCh37", "GRCh38")
BUILD_ALIASES = {"grch37": "GRCh37", "hg19": "GRCh37", "b37": "GRCh37", "hs37d5": "GRCh37",
                 "grch38": "GRCh38", "hg38": "GRCh38", "b38": "GRCh38"}

ORDER = [str(i) for i in range(1, 23)] + ["X", "Y", "MT"]


def canonical_contig(name: str) -> str:
    """``chr1`` -> ``1``, ``chrM``/``M`` -> ``MT``, ``chrX`` -> ``X``; others unchanged."""
    n = name[3:] if name[:3].lower() == "chr" else name
    if n in ("M", "MT", "m", "mt"):
        return "MT"
    if n in ("x", "y"):
        return n.upper()
    return n


def contig_rank(canonical: str) -> int:
    """Sort rank: 1..22, X, Y, MT first, then everything else."""
    try:
        return ORDER.index(canonical)
    except ValueError:
        return 1000


def normalise_build(text: str | None) -> str | None:
    if text is None:
        return None
    b = BUILD_ALIASES.get(text.strip().lower())
    if b is None:
        raise InputError(f"unknown genome build {text!r} (use GRCh37 or GRCh38)")
    return b


def build_from_reference_line(lines: list[str]) -> str | None:
    """Build named by a ``##reference=`` or ``##assembly=`` header line (used when
    contigs carry no lengths), e.g. ``##reference=GRCh37`` or ``file:///.../hs37d5.fa``."""
    import re

    for line in lines:
        if line.startswith(("##reference=", "##assembly=")):
            text = line.split("=", 1)[1].lower()
            if re.search(r"grch38|hg38|b38|hs38", text):
                return "GRCh38"
            if re.search(r"grch37|hg19|b37|hs37|human_g1k_v37", text):
                return "GRCh37"
    return None


def detect_build(contigs: list[tuple[str, int | None]]) -> tuple[str | None, list[str]]:
    """Genome build from ``(name, length)`` pairs, and notes on what was seen.

    Returns (build or None, notes). A contig whose length matches one build
    only votes for that build; contradictory votes give None with a note.
    """
    votes = {"GRCh37": 0, "GRCh38": 0}
    notes: list[str] = []
    for name, length in contigs:
        if not length:
            continue
        c = canonical_contig(name)
        if c == "MT":
            if length == HG19_CHRM_LENGTH:
                notes.append(f"{name} has the hg19 chrM length (NC_001807, not rCRS)")
                votes["GRCh37"] += 1
            continue
        if GRCH37.get(c) == length:
            votes["GRCh37"] += 1
        elif GRCH38.get(c) == length:
            votes["GRCh38"] += 1
    if votes["GRCh37"] and votes["GRCh38"]:
        notes.append(f"contig lengths match both builds ({votes['GRCh37']} GRCh37, {votes['GRCh38']} GRCh38)")
        return None, notes
    for b in BUILDS:
        if votes[b]:
            return b, notes
    return None, notes
