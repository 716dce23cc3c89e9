"""Evidence rules: which ACMG/AMP criteria a variant's annotations support, and why.

Each rule reads a `VariantEvidence` (plain data gathered from the store by
`gather_evidence`) and the thresholds in ``resources/acmg/thresholds.json``, and
returns one `Suggestion` per criterion: the code, the strength it proposes, a
plain-English reason that names the numbers it used, and caveats that list what
the annotation could not settle. Missing data never fails a rule silently:

``met``
    The rule proposes the criterion at ``strength``.
``not_met``
    The data were there and do not support it (the reason says which values).
``missing``
    The data needed are absent (the reason says which, and how to add them).
``manual``
    No rule: the criterion needs knowledge RareDesk does not hold (functional
    studies, case-control data, phenotype fit, gene lists) or is retired.

The rules never decide a class; `EvidenceReport.classification` combines the met
suggestions with `raredesk.acmg.combine.classify` so the reviewer sees the class
the suggestions would give. The reviewer accepts, rejects or changes each one
(`raredesk.acmg.review`).

This module is Qt-free. Its rule functions are pure; `gather_evidence` and
`suggest_for_variant` read a workspace through a DuckDB cursor.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Sequence

from raredesk.acmg.catalogue import ACMG_2015_CODES, STRENGTHS, Catalogue, default_catalogue
from raredesk.acmg.combine import Classification, classify, parse_criterion
from raredesk.errors import InputError, RareDeskError

__all__ = [
    "AUTOMATIC_CODES",
    "MANUAL_CODES",
    "MET",
    "NOT_MET",
    "MISSING",
    "MANUAL",
    "STATUSES",
    "ClinVarAssertion",
    "EvidenceReport",
    "GenotypeCall",
    "OtherVariant",
    "ParentageCheck",
    "PopulationFrequency",
    "ProteinChange",
    "Suggestion",
    "Thresholds",
    "TranscriptAnnotation",
    "VariantEvidence",
    "default_thresholds",
    "evaluate",
    "find_variant_row",
    "gather_evidence",
    "load_thresholds",
    "normalise_key",
    "parentage_confirmed",
    "parse_protein_change",
    "parse_thresholds",
    "significance_tier",
    "suggest_for_variant",
]

MET = "met"
NOT_MET = "not_met"
MISSING = "missing"
MANUAL = "manual"
STATUSES = (MET, NOT_MET, MISSING, MANUAL)

_RANK = {s: i for i, s in enumerate(STRENGTHS)}
_SCHEMA_VERSION = 1

# Pseudo-autosomal regions (1-based, inclusive): genotypes there are diploid in males.
_PAR = {
    "GRCh37": {"X": ((60001, 2699520), (154931044, 155260560)), "Y": ((10001, 2649520), (59034050, 59363566))},
    "GRCh38": {"X": ((10001, 2781479), (155701383, 156030895)), "Y": ((10001, 2781479), (56887903, 57217415))},
}


# =============================================================================================
# Thresholds
# =============================================================================================

_SECTIONS = ("frequency", "BA1", "BS1", "PM2", "BS2", "PVS1", "predictors", "SpliceAI", "PM4_BP3", "PM1",
             "PS1_PM5", "genotype_quality", "parentage", "de_novo", "PM3", "segregation")
_GENE_KEYS = set(_SECTIONS) | {"inheritance"}
_INHERITANCE = ("AD", "AR", "XL", "MT")
_LOF_LEVELS = {"established": 0, "moderate": 1, "limited": 2, "unknown": 0}


def _tfail(problem: str, path: str | None) -> InputError:
    return InputError(f"ACMG thresholds: {problem}", path)


def _need_number(section: Mapping, key: str, where: str, path: str | None, *, low: float | None = None,
                 high: float | None = None) -> None:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _tfail(f"{where}.{key} must be a number", path)
    if (low is not None and value < low) or (high is not None and value > high):
        raise _tfail(f"{where}.{key} must lie in [{low}, {high}], not {value}", path)


def _need_strength(section: Mapping, key: str, where: str, code: str, cat: Catalogue, path: str | None) -> None:
    strength = section.get(key)
    if strength not in cat.criterion(code).allowed_strengths:
        raise _tfail(f"{where}.{key}: {code} cannot be applied at {strength!r} "
                     f"(allowed: {', '.join(cat.criterion(code).allowed_strengths)})", path)


def _need_list(section: Mapping, key: str, where: str, path: str | None) -> None:
    value = section.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _tfail(f"{where}.{key} must be a list of non-empty strings", path)


def _check_ladder(section: Mapping, key: str, where: str, code: str, cat: Catalogue, path: str | None) -> None:
    ladder = section.get(key)
    if not isinstance(ladder, list) or not ladder:
        raise _tfail(f"{where}.{key} must be a non-empty list of [minimum, strength] pairs", path)
    last = None
    for item in ladder:
        if (not isinstance(item, list) or len(item) != 2 or isinstance(item[0], bool)
                or not isinstance(item[0], (int, float)) or item[1] not in cat.criterion(code).allowed_strengths):
            raise _tfail(f"{where}.{key}: bad entry {item!r} (a [number, allowed {code} strength] pair)", path)
        if last is not None and item[0] >= last:
            raise _tfail(f"{where}.{key} must list the highest minimum first", path)
        last = item[0]


def _check_sources(section: Mapping, where: str, sources: Mapping, path: str | None) -> None:
    cited = section.get("sources")
    if not isinstance(cited, list) or not cited:
        raise _tfail(f"{where}.sources must name at least one source", path)
    for name in cited:
        if name not in sources:
            raise _tfail(f"{where}: source {name!r} is not listed in 'sources'", path)


def _check_intervals(tool: str, spec: Mapping, cat: Catalogue, sources: Mapping, path: str | None) -> None:
    where = f"predictors.tools.{tool}"
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise _tfail(f"{where} must be an object with a 'name'", path)
    if spec.get("source") not in sources:
        raise _tfail(f"{where}.source must be listed in 'sources'", path)
    intervals = spec.get("intervals")
    if not isinstance(intervals, list) or not intervals:
        raise _tfail(f"{where}.intervals must be a non-empty list", path)
    for iv in intervals:
        if not isinstance(iv, dict) or iv.get("code") not in ("PP3", "BP4"):
            raise _tfail(f"{where}: each interval needs code PP3 or BP4", path)
        if iv.get("band") not in STRENGTHS:
            raise _tfail(f"{where}: unknown band {iv.get('band')!r}", path)
        applied = iv.get("strength", iv["band"])
        if applied not in cat.criterion(iv["code"]).allowed_strengths:
            raise _tfail(f"{where}: {iv['code']} cannot be applied at {applied!r}; give a capped 'strength'", path)
        if "min" not in iv and "max" not in iv:
            raise _tfail(f"{where}: an interval needs 'min' or 'max'", path)
        for bound in ("min", "max"):
            if bound in iv and (isinstance(iv[bound], bool) or not isinstance(iv[bound], (int, float))):
                raise _tfail(f"{where}: {bound} must be a number", path)
            if bound in iv and not isinstance(iv.get(f"{bound}_inclusive"), bool):
                raise _tfail(f"{where}: {bound}_inclusive must be true or false", path)
    # Bands of one tool must not overlap: a score maps to at most one (code, strength).
    probes = sorted({iv[b] for iv in intervals for b in ("min", "max") if b in iv})
    points = probes + [(a + b) / 2 for a, b in zip(probes, probes[1:])]
    for x in points:
        hits = [iv for iv in intervals if _in_interval(x, iv)]
        if len(hits) > 1:
            raise _tfail(f"{where}: intervals overlap at {x}", path)


def _validate(data: Mapping, cat: Catalogue, path: str | None) -> None:
    if data.get("schema_version") != _SCHEMA_VERSION:
        raise _tfail(f"schema_version must be {_SCHEMA_VERSION}, found {data.get('schema_version')!r}", path)
    sources = data.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise _tfail("'sources' must map short names to citations", path)
    for name in _SECTIONS:
        if not isinstance(data.get(name), dict):
            raise _tfail(f"section {name!r} is missing", path)
        _check_sources(data[name], name, sources, path)
    f = data["frequency"]
    _need_list(f, "continental_populations", "frequency", path)
    _need_list(f, "other_populations", "frequency", path)
    fields = f.get("case_info_fields")
    if not isinstance(fields, list) or not all(isinstance(x, dict) and {"field", "dataset", "population"} <= set(x)
                                               for x in fields):
        raise _tfail("frequency.case_info_fields must list {field, dataset, population} objects", path)
    _need_number(data["BA1"], "af_above", "BA1", path, low=0, high=1)
    _need_number(data["BA1"], "min_alleles", "BA1", path, low=0)
    for ex in data["BA1"].get("exceptions", None) or []:
        if not isinstance(ex, dict) or not isinstance(ex.get("gene"), str) or not (ex.get("hgvsc") or ex.get("hgvsp")):
            raise _tfail("BA1.exceptions: each entry needs 'gene' and 'hgvsc' or 'hgvsp'", path)
    if not isinstance(data["BA1"].get("exceptions"), list):
        raise _tfail("BA1.exceptions must be a list", path)
    _need_number(data["BS1"], "af_above", "BS1", path, low=0, high=1)
    _need_strength(data["BS1"], "strength", "BS1", "BS1", cat, path)
    _need_number(data["PM2"], "af_at_most", "PM2", path, low=0, high=1)
    _need_strength(data["PM2"], "strength", "PM2", "PM2", cat, path)
    if data["PM2"]["af_at_most"] >= data["BS1"]["af_above"]:
        raise _tfail("PM2.af_at_most must be below BS1.af_above", path)
    if data["BS1"]["af_above"] > data["BA1"]["af_above"]:
        raise _tfail("BS1.af_above must not exceed BA1.af_above", path)
    for key in ("min_homozygotes", "min_hemizygotes"):
        _need_number(data["BS2"], key, "BS2", path, low=1)
    _need_strength(data["BS2"], "strength", "BS2", "BS2", cat, path)
    for key in ("nonsense", "frameshift", "canonical_splice", "start_loss", "whole_transcript", "exon_loss"):
        _need_list(data["PVS1"], key, "PVS1", path)
    _need_number(data["PVS1"], "min_removed_fraction_strong", "PVS1", path, low=0, high=1)
    if data["PVS1"].get("lof_mechanism") not in (*_LOF_LEVELS, "none"):
        raise _tfail("PVS1.lof_mechanism must be established, moderate, limited, none or unknown", path)
    p = data["predictors"]
    _need_list(p, "missense_order", "predictors", path)
    tools = p.get("tools")
    if not isinstance(tools, dict):
        raise _tfail("predictors.tools must be an object", path)
    for tool in p["missense_order"]:
        if tool not in tools:
            raise _tfail(f"predictors.missense_order names {tool!r}, which has no entry in predictors.tools", path)
    for tool, spec in tools.items():
        _check_intervals(tool, spec, cat, sources, path)
    s = data["SpliceAI"]
    for key in ("pp3_at_least", "bp4_at_most", "bp7_at_most"):
        _need_number(s, key, "SpliceAI", path, low=0, high=1)
    for key in ("bp7_donor_offset", "bp7_acceptor_offset"):
        _need_number(s, key, "SpliceAI", path, low=1)
    if s["bp4_at_most"] >= s["pp3_at_least"]:
        raise _tfail("SpliceAI.bp4_at_most must be below SpliceAI.pp3_at_least", path)
    if not isinstance(s.get("bp4_with_bp7"), bool):
        raise _tfail("SpliceAI.bp4_with_bp7 must be true or false", path)
    _need_list(data["PM4_BP3"], "consequences", "PM4_BP3", path)
    _need_list(data["PM4_BP3"], "repeat_fields", "PM4_BP3", path)
    _need_strength(data["PM4_BP3"], "strength", "PM4_BP3", "PM4", cat, path)
    m = data["PM1"]
    _need_list(m, "domain_databases", "PM1", path)
    _need_strength(m, "domain_strength", "PM1", "PM1", cat, path)
    _need_strength(m, "hotspot_strength", "PM1", "PM1", cat, path)
    for key in ("hotspot_window", "hotspot_min_pathogenic", "hotspot_max_benign"):
        _need_number(m, key, "PM1", path, low=0)
    c = data["PS1_PM5"]
    _need_number(c, "clinvar_min_stars", "PS1_PM5", path, low=0, high=4)
    for key, code in (("ps1_strength", "PS1"), ("ps1_strength_likely", "PS1"), ("pm5_strength", "PM5"),
                      ("pm5_strength_likely", "PM5")):
        _need_strength(c, key, "PS1_PM5", code, cat, path)
    if not isinstance(c.get("use_knowledge_base"), bool):
        raise _tfail("PS1_PM5.use_knowledge_base must be true or false", path)
    g = data["genotype_quality"]
    for key in ("min_dp", "min_gq", "max_parent_alt_reads"):
        _need_number(g, key, "genotype_quality", path, low=0)
    for key in ("min_het_ab", "max_het_ab"):
        _need_number(g, key, "genotype_quality", path, low=0, high=1)
    _need_number(data["parentage"], "min_informative_sites", "parentage", path, low=1)
    _need_number(data["parentage"], "max_inconsistent_fraction", "parentage", path, low=0, high=1)
    d = data["de_novo"]
    fits = ("highly_specific", "consistent", "non_specific", "inconsistent")
    if d.get("phenotype") not in fits:
        raise _tfail(f"de_novo.phenotype must be one of {', '.join(fits)}", path)
    for key in ("points_confirmed", "points_assumed"):
        if not isinstance(d.get(key), dict) or set(d[key]) != set(fits):
            raise _tfail(f"de_novo.{key} must give points for {', '.join(fits)}", path)
        for fit in fits:
            _need_number(d[key], fit, f"de_novo.{key}", path, low=0)
    _check_ladder(d, "strength_by_points", "de_novo", "PS2", cat, path)
    _check_ladder(d, "strength_by_points", "de_novo", "PM6", cat, path)
    pm3 = data["PM3"]
    for key in ("points_trans_pathogenic", "points_trans_likely_pathogenic", "points_unknown_pathogenic",
                "points_unknown_likely_pathogenic", "points_homozygous", "max_homozygous_points"):
        _need_number(pm3, key, "PM3", path, low=0)
    _check_ladder(pm3, "strength_by_points", "PM3", "PM3", cat, path)
    _check_ladder(data["segregation"], "pp1_meioses", "segregation", "PP1", cat, path)
    _need_strength(data["segregation"], "bs4_strength", "segregation", "BS4", cat, path)
    genes = data.get("genes")
    if not isinstance(genes, dict):
        raise _tfail("'genes' must map gene symbols to per-gene overrides", path)
    for gene, override in genes.items():
        if not isinstance(override, dict):
            raise _tfail(f"genes.{gene} must be an object", path)
        unknown = set(override) - _GENE_KEYS
        if unknown:
            raise _tfail(f"genes.{gene}: unknown keys {', '.join(sorted(unknown))}", path)
        if "inheritance" in override and override["inheritance"] not in _INHERITANCE:
            raise _tfail(f"genes.{gene}.inheritance must be one of {', '.join(_INHERITANCE)}", path)
        for section, values in override.items():
            if section != "inheritance" and not isinstance(values, dict):
                raise _tfail(f"genes.{gene}.{section} must be an object", path)


def _merge(base: Mapping, override: Mapping) -> dict:
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class Thresholds:
    """Validated thresholds (``resources/acmg/thresholds.json``), optionally per gene.

    Parameters
    ----------
    data : Mapping
        The decoded JSON document (validated on construction).
    catalogue : Catalogue, optional
        Strengths are checked against it; defaults to the packaged catalogue.
    path : str, optional
        Where the data came from, for messages.

    Attributes
    ----------
    data : Mapping
        The whole document (read-only view).
    path : str or None
    """

    def __init__(self, data: Mapping, catalogue: Catalogue | None = None, path: str | None = None):
        cat = catalogue or default_catalogue()
        if not isinstance(data, Mapping):
            raise _tfail("top level must be a JSON object", path)
        _validate(data, cat, path)
        # Every gene override must itself give a valid document.
        for gene, override in data["genes"].items():
            merged = _merge({k: v for k, v in data.items() if k != "genes"}, override)
            merged["genes"] = {}
            _validate(merged, cat, path)
        self._data = copy.deepcopy(dict(data))
        self._catalogue = cat
        self.path = path

    @property
    def data(self) -> Mapping:
        return MappingProxyType(self._data)

    def section(self, name: str, gene: str | None = None) -> Mapping:
        """One section, with the gene's overrides applied when ``gene`` has any."""
        base = self._data[name]
        override = self._data["genes"].get(gene or "", {}).get(name)
        return MappingProxyType(_merge(base, override) if override else copy.deepcopy(base))

    def inheritance(self, gene: str | None) -> str | None:
        """The mode of inheritance set for ``gene`` (AD, AR, XL, MT), or None."""
        return self._data["genes"].get(gene or "", {}).get("inheritance")

    def with_overrides(self, overrides: Mapping) -> "Thresholds":
        """A new, validated `Thresholds` with ``overrides`` deep-merged in.

        Examples
        --------
        >>> t = default_thresholds().with_overrides({"PM2": {"af_at_most": 0.00002}})
        >>> t.section("PM2")["af_at_most"]
        2e-05
        """
        return Thresholds(_merge(self._data, overrides), self._catalogue, self.path)

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON, recorded with every engine snapshot."""
        import hashlib

        text = json.dumps(self._data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_thresholds(data: object, path: str | Path | None = None, catalogue: Catalogue | None = None) -> Thresholds:
    """Validate decoded thresholds JSON; raise `InputError` naming the problem."""
    return Thresholds(data, catalogue, None if path is None else str(path))  # type: ignore[arg-type]


def load_thresholds(path: str | Path | None = None, catalogue: Catalogue | None = None) -> Thresholds:
    """Read and validate a thresholds file (default: the packaged one).

    Raises
    ------
    InputError
        If the file cannot be read, is not JSON, or breaks a rule of the format.
    """
    from raredesk.resources import load_json_resource

    data, file = load_json_resource(path, ("acmg", "thresholds.json"), "ACMG thresholds")
    return parse_thresholds(data, file, catalogue)


@lru_cache(maxsize=1)
def default_thresholds() -> Thresholds:
    """The packaged thresholds, read once per process."""
    return load_thresholds()


# =============================================================================================
# Data the rules read
# =============================================================================================

@dataclass(frozen=True)
class ProteinChange:
    """A protein change parsed from HGVS p. (three-letter codes).

    Attributes
    ----------
    ref : str
        Reference residue (``"Arg"``).
    position : int
        Residue number.
    alt : str
        New residue, ``"Ter"`` for a stop, ``"fs"`` for a frameshift, ``"del"``,
        ``"dup"``, ``"ins"``, ``"delins"``, ``"="`` for synonymous, ``"?"`` unknown.
    end : int or None
        Last residue of a range change (in-frame deletions, delins).
    fs_ter : int or None
        For frameshifts, the codon of the new stop counted from ``position``.
    """

    ref: str
    position: int
    alt: str
    end: int | None = None
    fs_ter: int | None = None

    @property
    def is_missense(self) -> bool:
        return self.end is None and len(self.alt) == 3 and self.alt not in ("Ter", "del", "dup", "ins") \
            and self.alt != self.ref

    @property
    def short(self) -> str:
        """``p.Arg100Trp`` (range changes shortened to their first residue)."""
        return f"p.{self.ref}{self.position}{self.alt}"


_AA3 = ("Ala Arg Asn Asp Cys Gln Glu Gly His Ile Leu Lys Met Phe Pro Ser Thr Trp Tyr Val Ter Sec Pyl Xaa").split()
_AA1 = dict(zip("ARNDCQEGHILKMFPSTWYV*UOX", _AA3))
_P_SIMPLE = re.compile(r"^p\.\(?([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2}|\*|=|\?)\)?$")
_P_FS = re.compile(r"^p\.\(?([A-Z][a-z]{2})(\d+)(?:[A-Z][a-z]{2})?fs(?:Ter|\*|X)?(\d+)?\)?$")
_P_RANGE = re.compile(r"^p\.\(?([A-Z][a-z]{2})(\d+)(?:_([A-Z][a-z]{2})(\d+))?(del|dup|ins|delins)[A-Za-z*]*\)?$")
_P_ONE = re.compile(r"^p\.\(?([A-Z*])(\d+)([A-Z*=])\)?$")


def parse_protein_change(hgvsp: str | None) -> ProteinChange | None:
    """Parse the protein part of an HGVS p. string; None when absent or not understood.

    Accepts a transcript/protein prefix (``ENSP00000319417.5:p.Arg27Ter``), the
    forms VEP, SnpEff and ClinVar write (``p.Arg27Ter``, ``p.Arg27*``,
    ``p.Phe296CysfsTer41``, ``p.Phe296fs``, ``p.Glu270del``, ``p.(Arg27Ter)``)
    and one-letter codes (``p.R27*``). Multi-residue changes such as
    ``p.MetLys997ArgGlu`` give None: they are not a single-residue substitution.

    Examples
    --------
    >>> parse_protein_change("ENSP00000368678.2:p.Asp1785Asn")
    ProteinChange(ref='Asp', position=1785, alt='Asn', end=None, fs_ter=None)
    """
    if not hgvsp:
        return None
    text = hgvsp.split(":", 1)[1] if ":" in hgvsp else hgvsp
    text = text.strip().replace("%3D", "=")
    if "(p.=)" in text or text.endswith("p.="):
        return None
    m = _P_SIMPLE.match(text)
    if m:
        alt = {"*": "Ter"}.get(m.group(3), m.group(3))
        return ProteinChange(m.group(1), int(m.group(2)), alt)
    m = _P_FS.match(text)
    if m:
        return ProteinChange(m.group(1), int(m.group(2)), "fs", fs_ter=int(m.group(3)) if m.group(3) else None)
    m = _P_RANGE.match(text)
    if m:
        end = int(m.group(4)) if m.group(4) else None
        return ProteinChange(m.group(1), int(m.group(2)), m.group(5), end=end)
    m = _P_ONE.match(text)
    if m and m.group(1) in _AA1 and (m.group(3) in _AA1 or m.group(3) == "="):
        alt = "=" if m.group(3) == "=" else _AA1[m.group(3)]
        return ProteinChange(_AA1[m.group(1)], int(m.group(2)), alt)
    return None


@dataclass(frozen=True)
class TranscriptAnnotation:
    """One transcript consequence of the variant (VEP, SnpEff, bcftools csq).

    Attributes
    ----------
    source, gene, transcript, biotype : str or None
    consequences : tuple of str
        SO terms.
    hgvsc, hgvsp : str or None
    exon, intron : tuple (number, total) or None
        Parsed from ``"12/27"``.
    canonical : bool
    mane_select : str or None
    protein_position : int or None
    protein_length : int or None
        When the annotation gives ``pos/len`` (SnpEff).
    lof : str or None
        LOFTEE ``HC`` or ``LC``.
    lof_filter, lof_flags, lof_info : str or None
        LOFTEE sub-fields as written.
    domains : str or None
        VEP ``DOMAINS``.
    """

    source: str | None
    gene: str | None
    transcript: str | None
    biotype: str | None
    consequences: tuple[str, ...]
    hgvsc: str | None = None
    hgvsp: str | None = None
    exon: tuple[int, int] | None = None
    intron: tuple[int, int] | None = None
    canonical: bool = False
    mane_select: str | None = None
    protein_position: int | None = None
    protein_length: int | None = None
    lof: str | None = None
    lof_filter: str | None = None
    lof_flags: str | None = None
    lof_info: str | None = None
    domains: str | None = None

    @property
    def transcript_id(self) -> str | None:
        """The transcript without its version (``ENST00000314759``)."""
        return _unversioned(self.transcript)

    @property
    def protein_change(self) -> ProteinChange | None:
        return parse_protein_change(self.hgvsp)

    def has(self, terms: Iterable[str]) -> bool:
        wanted = set(terms)
        return any(c in wanted for c in self.consequences)

    @property
    def loftee_position(self) -> float | None:
        """LOFTEE ``POSITION`` (relative position of the variant in the coding sequence)."""
        m = re.search(r"POSITION:([0-9.]+)", self.lof_info or "")
        return float(m.group(1)) if m else None


@dataclass(frozen=True)
class PopulationFrequency:
    """One allele frequency from a population dataset.

    Attributes
    ----------
    dataset : str
        ``gnomAD``, ``ExAC``, ``1000 Genomes``, ``ESP``, ``SweGen`` ...
    population : str
        ``afr`` ... ``sas``, ``global``, ``popmax`` or ``national``.
    af : float or None
    an, ac, homozygotes, hemizygotes : int or None
    field : str
        The column it was read from.
    """

    dataset: str
    population: str
    af: float | None
    an: int | None = None
    ac: int | None = None
    homozygotes: int | None = None
    hemizygotes: int | None = None
    field: str = ""

    @property
    def label(self) -> str:
        return f"{self.dataset} {self.population}"


@dataclass(frozen=True)
class GenotypeCall:
    """A sample's genotype at the variant.

    Attributes
    ----------
    sample_id : str
    role : str or None
        ``proband``, ``father``, ``mother`` ...
    sex : str or None
    affected : bool or None
    gt : int or None
        0 hom-ref, 1 het, 2 hom-alt, None missing.
    gt_raw : str or None
    phased : bool
    ps : int or None
    ad_ref, ad_alt, dp, gq : int or None
    """

    sample_id: str
    role: str | None
    sex: str | None
    affected: bool | None
    gt: int | None
    gt_raw: str | None = None
    phased: bool = False
    ps: int | None = None
    ad_ref: int | None = None
    ad_alt: int | None = None
    dp: int | None = None
    gq: int | None = None

    @property
    def allele_balance(self) -> float | None:
        if self.ad_ref is None or self.ad_alt is None or self.ad_ref + self.ad_alt == 0:
            return None
        return self.ad_alt / (self.ad_ref + self.ad_alt)

    def phase_index(self) -> int | None:
        """For a phased heterozygote, the haplotype (0 or 1) carrying the ALT allele."""
        if not self.phased or self.gt != 1 or not self.gt_raw or "|" not in self.gt_raw:
            return None
        parts = self.gt_raw.split("|")
        for i, a in enumerate(parts[:2]):
            if a not in ("0", "."):
                return i
        return None

    def describe(self) -> str:
        bits = [f"GT {self.gt_raw or _GT_TEXT.get(self.gt, '?')}"]
        if self.dp is not None:
            bits.append(f"DP {self.dp}")
        if self.gq is not None:
            bits.append(f"GQ {self.gq}")
        if self.ad_ref is not None and self.ad_alt is not None:
            bits.append(f"AD {self.ad_ref},{self.ad_alt}")
        return f"{self.sample_id} ({self.role or 'member'}): " + ", ".join(bits)


_GT_TEXT = {0: "0/0", 1: "0/1", 2: "1/1", None: "./."}


@dataclass(frozen=True)
class ClinVarAssertion:
    """A classified variant usable as a comparator (local ClinVar or RareDesk knowledge base).

    Attributes
    ----------
    vkey : str
    gene : str or None
    significance : str
        As written (``Pathogenic``, ``Likely pathogenic``, ``Pathogenic, Benign`` ...).
    stars : int or None
        ClinVar review stars; None for the knowledge base.
    source : str
        E.g. ``ClinVar 2019-10-07`` or ``RareDesk knowledge base``.
    changes : tuple of (transcript_id, hgvsp) pairs
        Protein annotations known for the variant (transcript without version).
    consequence : str or None
        Molecular consequence when known (ClinVar ``MC``).
    reference : str or None
        Where to look it up (ClinVar id, classification id).
    """

    vkey: str
    gene: str | None
    significance: str
    stars: int | None
    source: str
    changes: tuple[tuple[str, str], ...] = ()
    consequence: str | None = None
    reference: str | None = None

    @property
    def tier(self) -> str | None:
        """``P``, ``LP``, ``B``, ``LB``, ``VUS`` or None (conflicting / other)."""
        return significance_tier(self.significance)

    @property
    def from_knowledge_base(self) -> bool:
        return self.stars is None


@dataclass(frozen=True)
class OtherVariant:
    """Another variant of the same gene in the case, for PM3/BP2 (phase in the family).

    Attributes
    ----------
    vkey : str
    hgvsp : str or None
    calls : tuple of GenotypeCall
    classification : str or None
        Class from the knowledge base or ClinVar, spelled as in Richards 2015.
    classification_source : str or None
    """

    vkey: str
    hgvsp: str | None
    calls: tuple[GenotypeCall, ...]
    classification: str | None = None
    classification_source: str | None = None


@dataclass(frozen=True)
class ParentageCheck:
    """Mendelian consistency of the proband with one parent over the whole case.

    Attributes
    ----------
    parent : str
        Sample id.
    informative : int
        Autosomal sites with trusted genotypes where an opposite homozygote could show.
    inconsistent : int
        Sites where parent and proband are opposite homozygotes.
    """

    parent: str
    informative: int
    inconsistent: int

    @property
    def fraction(self) -> float | None:
        return self.inconsistent / self.informative if self.informative else None


@dataclass
class VariantEvidence:
    """Everything the rules read about one variant in one case (plain data).

    Build it with `gather_evidence` from a workspace, or by hand in tests.

    Attributes
    ----------
    vkey, chrom : str
    pos : int
    ref, alt : str
    build : str or None
    vtype : str or None
        ``SNV``, ``MNV``, ``insertion``, ``deletion``, ``SV`` ...
    picked : TranscriptAnnotation or None
        The case's picked transcript (MANE Select > canonical > most severe).
    transcripts : list of TranscriptAnnotation
    scores : dict
        ``revel``, ``alphamissense``, ``cadd_phred``, ``polyphen_score``,
        ``sift_score``, ``spliceai_ds`` (None when absent).
    uncalibrated : dict
        Scores present but not usable with calibrated thresholds (rank scores).
    frequencies : list of PopulationFrequency
    frequency_coverage : dict
        Dataset -> number of the case's variants on this chromosome and of
        the same region class (coding / non-coding) with a value (0 when the
        dataset does not cover them): tells "absent" from "not annotated".
    annotation_coverage : dict
        Column -> number of the case's variants with a value (``spliceai_ds``,
        ``revel``, ``domains`` ...).
    genotypes : list of GenotypeCall
    proband : str or None
        Sample id of the proband.
    parentage : list of ParentageCheck
    parentage_confirmed : bool or None
        A reviewer's statement; None lets the genotype check decide.
    clinvar : list of ClinVarAssertion
        Comparators in the same gene (local ClinVar, knowledge base).
    clinvar_loaded : bool
        Whether the workspace holds any ClinVar data or knowledge-base classifications.
    own_clinvar : ClinVarAssertion or None
        ClinVar's own entry for this variant, shown for context only (PP5 is retired).
    other_variants : list of OtherVariant
    phenotype_fit : str or None
        ``highly_specific``, ``consistent``, ``non_specific`` or ``inconsistent``
        for PS2/PM6 (default from the thresholds).
    segregation_meioses : int or None
        A reviewer-entered count of co-segregating meioses (replaces the count
        from genotypes).
    repeat : str or None
        Repeat annotation at the site, when any was found.
    repeat_annotated : bool
        Whether the case carries a repeat annotation at all.
    n_case_variants, n_chrom_variants : int
        Variants in the case, and on this variant's chromosome in the same region class.
    region : str
        ``coding`` (coding or splice-region consequence), ``non-coding``, or
        ``unannotated`` (no consequence in the case's annotation).
    """

    vkey: str
    chrom: str
    pos: int
    ref: str
    alt: str
    build: str | None = None
    vtype: str | None = None
    picked: TranscriptAnnotation | None = None
    transcripts: list[TranscriptAnnotation] = field(default_factory=list)
    scores: dict[str, float | None] = field(default_factory=dict)
    uncalibrated: dict[str, float] = field(default_factory=dict)
    frequencies: list[PopulationFrequency] = field(default_factory=list)
    frequency_coverage: dict[str, int] = field(default_factory=dict)
    annotation_coverage: dict[str, int] = field(default_factory=dict)
    genotypes: list[GenotypeCall] = field(default_factory=list)
    proband: str | None = None
    parentage: list[ParentageCheck] = field(default_factory=list)
    parentage_confirmed: bool | None = None
    clinvar: list[ClinVarAssertion] = field(default_factory=list)
    clinvar_loaded: bool = False
    own_clinvar: ClinVarAssertion | None = None
    other_variants: list[OtherVariant] = field(default_factory=list)
    phenotype_fit: str | None = None
    segregation_meioses: int | None = None
    repeat: str | None = None
    repeat_annotated: bool = False
    n_case_variants: int = 0
    n_chrom_variants: int = 0
    region: str = "coding"

    @property
    def gene(self) -> str | None:
        return self.picked.gene if self.picked else None

    def call(self, sample_id: str | None) -> GenotypeCall | None:
        for c in self.genotypes:
            if c.sample_id == sample_id:
                return c
        return None

    @property
    def proband_call(self) -> GenotypeCall | None:
        return self.call(self.proband)

    def parent_calls(self) -> dict[str, GenotypeCall]:
        return {c.role: c for c in self.genotypes if c.role in ("father", "mother")}

    def in_par(self) -> bool:
        for start, end in _PAR.get(self.build or "", {}).get(self.chrom, ()):
            if start <= self.pos <= end:
                return True
        return False


# =============================================================================================
# Suggestions
# =============================================================================================

@dataclass(frozen=True)
class Suggestion:
    """What one rule says about one criterion.

    Attributes
    ----------
    code : str
        The 2015 code (``"PVS1"``).
    status : str
        ``met``, ``not_met``, ``missing`` or ``manual``.
    strength : str or None
        Proposed strength when met.
    reason : str
        Plain English with the numbers used; says what was missing when it was.
    values : Mapping
        The numbers and facts used, for display and for the audit snapshot.
    caveats : tuple of str
        Steps the annotation could not settle, for the reviewer to check.
    sources : tuple of str
        Short names of the papers behind the rule.
    """

    code: str
    status: str
    strength: str | None
    reason: str
    values: Mapping[str, Any] = field(default_factory=dict)
    caveats: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def met(self) -> bool:
        return self.status == MET

    @property
    def label(self) -> str | None:
        """``CODE`` at its 2015 strength, else ``CODE_Strength``; None when not met."""
        if not self.met:
            return None
        return parse_criterion(f"{self.code}_{self.strength}").label

    def to_dict(self) -> dict:
        return {"code": self.code, "status": self.status, "strength": self.strength, "label": self.label,
                "reason": self.reason, "values": _jsonable(dict(self.values)), "caveats": list(self.caveats),
                "sources": list(self.sources)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _met(code: str, strength: str, reason: str, values: Mapping | None = None, caveats: Sequence[str] = (),
         sources: Sequence[str] = ()) -> Suggestion:
    return Suggestion(code, MET, strength, reason, dict(values or {}), tuple(caveats), tuple(sources))


def _not(code: str, reason: str, values: Mapping | None = None, caveats: Sequence[str] = (),
         sources: Sequence[str] = ()) -> Suggestion:
    return Suggestion(code, NOT_MET, None, reason, dict(values or {}), tuple(caveats), tuple(sources))


def _missing(code: str, reason: str, values: Mapping | None = None, caveats: Sequence[str] = (),
             sources: Sequence[str] = ()) -> Suggestion:
    return Suggestion(code, MISSING, None, reason, dict(values or {}), tuple(caveats), tuple(sources))


def _manual(code: str, reason: str, sources: Sequence[str] = ()) -> Suggestion:
    return Suggestion(code, MANUAL, None, reason, {}, (), tuple(sources))


# --- small helpers ----------------------------------------------------------------------------

def _unversioned(transcript: str | None) -> str | None:
    if not transcript:
        return None
    return transcript.split(".", 1)[0] if re.match(r"^(ENS[A-Z]*[TP]\d+|[NX][MRP]_\d+)\.\d+$", transcript) \
        else transcript


def _fmt_af(af: float | None) -> str:
    if af is None:
        return "n/a"
    if af == 0:
        return "0"
    if af >= 0.001:
        return f"{af:.4g}".rstrip("0").rstrip(".") if "e" not in f"{af:.4g}" else f"{af:.4g}"
    return f"{af:.2e}"


def _fmt_n(n: int | float | None) -> str:
    return "n/a" if n is None else f"{n:,}"


def _lower(strength: str, levels: int) -> str | None:
    """``strength`` lowered by ``levels`` steps (None when below Supporting)."""
    i = _RANK[strength] - levels
    return STRENGTHS[i] if i >= 0 else None


def _weaker(a: str, b: str) -> str:
    return a if _RANK[a] <= _RANK[b] else b


def _ladder(value: float, ladder: Sequence[Sequence]) -> str | None:
    for minimum, strength in ladder:
        if value >= minimum:
            return strength
    return None


def _in_interval(x: float, iv: Mapping) -> bool:
    if "min" in iv:
        if x < iv["min"] or (x == iv["min"] and not iv["min_inclusive"]):
            return False
    if "max" in iv:
        if x > iv["max"] or (x == iv["max"] and not iv["max_inclusive"]):
            return False
    return True


def _interval_text(iv: Mapping) -> str:
    lo, hi = iv.get("min"), iv.get("max")
    if lo is not None and hi is not None:
        if lo == hi:
            return f"= {lo:g}"
        return f"{'[' if iv['min_inclusive'] else '('}{lo:g}, {hi:g}{']' if iv['max_inclusive'] else ')'}"
    if lo is not None:
        return f"{'>=' if iv['min_inclusive'] else '>'} {lo:g}"
    return f"{'<=' if iv['max_inclusive'] else '<'} {hi:g}"


def significance_tier(text: str | None) -> str | None:
    """Map a ClinVar/RareDesk significance to ``P``, ``LP``, ``VUS``, ``LB``, ``B`` or None.

    Conflicting or mixed entries (``Pathogenic, Benign``, ``Conflicting
    interpretations``) give None: they are no comparator. ``Pathogenic/Likely
    pathogenic`` counts as LP, the weaker of the two.
    """
    if not text:
        return None
    t = text.strip().lower().replace("_", " ")
    if "conflicting" in t:
        return None
    parts = {p.strip() for p in re.split(r"[,;|]", t) if p.strip()}
    parts -= {"other", "not provided", "risk factor", "association", "drug response", "protective",
              "affects", "low penetrance"}
    if not parts:
        return None
    tiers = set()
    for p in parts:
        if p in ("pathogenic",):
            tiers.add("P")
        elif p in ("likely pathogenic", "pathogenic/likely pathogenic", "pathogenic / likely pathogenic"):
            tiers.add("LP")
        elif p in ("benign",):
            tiers.add("B")
        elif p in ("likely benign", "benign/likely benign", "benign / likely benign"):
            tiers.add("LB")
        elif p in ("uncertain significance", "vus"):
            tiers.add("VUS")
        else:
            return None
    if len(tiers) == 1:
        return tiers.pop()
    if tiers <= {"P", "LP"}:
        return "LP"
    if tiers <= {"B", "LB"}:
        return "LB"
    return None


_CLASS_TIER = {"Pathogenic": "P", "Likely pathogenic": "LP", "Uncertain significance": "VUS",
               "Likely benign": "LB", "Benign": "B"}


def _tier_name(tier: str) -> str:
    return {"P": "Pathogenic", "LP": "Likely pathogenic", "B": "Benign", "LB": "Likely benign",
            "VUS": "Uncertain significance"}[tier]


def _call_trusted(call: GenotypeCall | None, gq_cfg: Mapping) -> tuple[bool, str]:
    """Whether a call passes the genotype thresholds, and why not."""
    if call is None:
        return False, "not genotyped"
    if call.gt is None:
        return False, "no genotype call"
    problems = []
    if call.dp is None:
        problems.append("DP missing")
    elif call.dp < gq_cfg["min_dp"]:
        problems.append(f"DP {call.dp} < {gq_cfg['min_dp']}")
    if call.gq is None:
        problems.append("GQ missing")
    elif call.gq < gq_cfg["min_gq"]:
        problems.append(f"GQ {call.gq} < {gq_cfg['min_gq']}")
    return (not problems), "; ".join(problems)


def _carries(call: GenotypeCall | None) -> bool | None:
    if call is None or call.gt is None:
        return None
    return call.gt >= 1


def _haploid(ev: VariantEvidence, call: GenotypeCall) -> bool:
    """Whether the sample has one copy of this locus (male X/Y outside the PARs, or MT)."""
    if ev.chrom == "MT":
        return True
    if ev.chrom in ("X", "Y") and (call.sex or "").lower() == "male" and not ev.in_par():
        return True
    return False


# =============================================================================================
# Rules
# =============================================================================================

Rule = Callable[[VariantEvidence, Thresholds], Suggestion]


def _continental(ev: VariantEvidence, th: Thresholds) -> list[PopulationFrequency]:
    cfg = th.section("frequency", ev.gene)
    keep = set(cfg["continental_populations"]) | {"global", "popmax"}
    return [f for f in ev.frequencies if f.population in keep and f.af is not None]


def _freq_summary(freqs: Sequence[PopulationFrequency], limit: int = 4) -> str:
    ordered = sorted(freqs, key=lambda f: -(f.af or 0))[:limit]
    return ", ".join(f"{f.label} {_fmt_af(f.af)}" + (f" (AN {_fmt_n(f.an)})" if f.an is not None else "")
                     for f in ordered)


def _frequency_datasets(ev: VariantEvidence) -> dict[str, int]:
    return {k: v for k, v in ev.frequency_coverage.items() if v}


def _exception_match(ev: VariantEvidence, th: Thresholds) -> dict | None:
    for ex in th.section("BA1", ev.gene)["exceptions"]:
        for t in ev.transcripts or ([ev.picked] if ev.picked else []):
            if t is None or (t.gene or "").upper() != ex["gene"].upper():
                continue
            c = (t.hgvsc or "").split(":", 1)[-1]
            p = (t.hgvsp or "").split(":", 1)[-1].strip("()").replace("p.(", "p.")
            if (ex.get("hgvsc") and c == ex["hgvsc"]) or (ex.get("hgvsp") and p == ex["hgvsp"]):
                return dict(ex)
    return None


def rule_ba1(ev: VariantEvidence, th: Thresholds) -> Suggestion:
    """BA1: allele frequency above 5% in a continental population with enough alleles (Ghosh 2018)."""
    cfg = th.section("BA1", ev.gene)
    src = ("Ghosh 2018",)
    ex = _exception_match(ev, th)
    if ex:
        name = " ".join(x for x in (ex["gene"], ex.get("hgvsc"), ex.get("hgvsp")) if x)
        return _not("BA1", f"{name} is on the Ghosh 2018 BA1 exception list: common, but not benign by frequency "
                    f"alone.", {"exception": ex}, sources=src)
    freqs = _continental(ev, th)
    if not freqs:
        return _no_frequency("BA1", ev, src)
    over = [f for f in freqs if f.af > cfg["af_above"]]
    if not over:
        top = max(freqs, key=lambda f: f.af)
        return _not("BA1", f"Highest continental allele frequency {top.label} {_fmt_af(top.af)} is not above "
                    f"{_fmt_af(cfg['af_above'])}.", {"max_af": top.af, "dataset": top.label,
                                                     "threshold": cfg["af_above"]}, sources=src)
    enough = [f for f in over if f.an is not None and f.an >= cfg["min_alleles"]]
    unknown = [f for f in over if f.an is None]
    small = [f for f in over if f.an is not None and f.an < cfg["min_alleles"]]
    values = {"threshold": cfg["af_above"], "min_alleles": cfg["min_alleles"],
              "over": [{"dataset": f.label, "af": f.af, "an": f.an} for f in over]}
    if enough:
        best = max(enough, key=lambda f: f.af)
        return _met("BA1", "StandAlone", f"{best.label} allele frequency {_fmt_af(best.af)} > "
                    f"{_fmt_af(cfg['af_above'])} with {_fmt_n(best.an)} alleles (>= {_fmt_n(cfg['min_alleles'])}).",
                    values, sources=src)
    if unknown:
        best = max(unknown, key=lambda f: f.af)
        return _met("BA1", "StandAlone", f"{best.label} allele frequency {_fmt_af(best.af)} > "
                    f"{_fmt_af(cfg['af_above'])}.", values,
                    caveats=[f"The allele number behind {best.label} is not recorded, so the Ghosh 2018 condition of "
                             f">= {_fmt_n(cfg['min_alleles'])} observed alleles could not be checked."], sources=src)
    return _not("BA1", f"Allele frequency above {_fmt_af(cfg['af_above'])} only in groups with fewer than "
                f"{_fmt_n(cfg['min_alleles'])} alleles: {_freq_summary(small)}.", values, sources=src)


def _absent_from(ev: VariantEvidence) -> str | None:
    """When no continental value exists but the case's datasets cover this chromosome: the text saying so."""
    datasets = _frequency_datasets(ev)
    if not datasets:
        return None
    return ", ".join(f"{k} ({_fmt_n(n)} of {_fmt_n(ev.n_chrom_variants)} {ev.region} variants on chromosome "
                     f"{ev.chrom} have a value)" for k, n in datasets.items())


def _no_frequency(code: str, ev: VariantEvidence, src: Sequence[str]) -> Suggestion:
    other = [f for f in ev.frequencies if f.af is not None]
    extra = f" Only non-continental values: {_freq_summary(other)}." if other else ""
    absent = _absent_from(ev)
    if absent:
        return _not(code, f"Absent from controls: no allele frequency for this variant in {absent}.{extra}",
                    {"datasets": _frequency_datasets(ev)}, sources=src)
    return _missing(code, f"No population frequency data for chromosome {ev.chrom} in this case (no gnomAD, ExAC, "
                    f"1000 Genomes or ESP values); join a gnomAD VCF with 'raredesk annotate --gnomad'." + extra,
                    sources=src)


def rule_bs1(ev: VariantEvidence, th: Thresholds) -> Suggestion:
    """BS1: allele frequency greater than expected for the disorder."""
    cfg = th.section("BS1", ev.gene)
    src = ("Richards 2015", "Whiffin 2017")
    freqs = [f for f in _continental(ev, th)
             if f.an is None or f.an >= th.section("BA1", ev.gene)["min_alleles"]]
    if not freqs:
        return _no_frequency("BS1", ev, src)
    top = max(freqs, key=lambda f: f.af)
    values = {"max_af": top.af, "dataset": top.label, "threshold": cfg["af_above"]}
    generic = th.data["genes"].get(ev.gene or "", {}).get("BS1") is None
    caveats = [f"{_fmt_af(cfg['af_above'])} is the generic default; a disease-specific maximum credible allele "
               f"frequency (Whiffin 2017) for {ev.gene or 'this gene'} should replace it."] if generic else []
    if top.af > cfg["af_above"]:
        return _met("BS1", cfg["strength"], f"Highest continental allele frequency {top.label} {_fmt_af(top.af)} "
                    f"is above the expected maximum {_fmt_af(cfg['af_above'])} for the disorder.", values,
                    caveats, src)
    return _not("BS1", f"Highest continental allele frequency {top.label} {_fmt_af(top.af)} is not above "
                f"{_fmt_af(cfg['af_above'])}.", values, caveats, src)


def rule_pm2(ev: VariantEvidence, th: Thresholds) -> Suggestion:
    """PM2 (Supporting by default): absent from controls or extremely rare."""
    cfg = th.section("PM2", ev.gene)
    src = ("SVI PM2 v1.0",)
    freqs = _continental(ev, th)
    if freqs:
        top = max(freqs, key=lambda f: f.af)
        values = {"max_af": top.af, "dataset": top.label, "threshold": cfg["af_at_most"]}
        if top.af <= cfg["af_at_most"]:
            what = "absent from" if top.af == 0 else "extremely rare in"
            return _met("PM2", cfg["strength"], f"{what.capitalize()} controls: highest continental allele "
                        f"frequency {top.label} {_fmt_af(top.af)} <= {_fmt_af(cfg['af_at_most'])}.", values,
                        ["Coverage of the site in the population data was not checked."], src)
        return _not("PM2", f"Not rare enough: {top.label} allele frequency {_fmt_af(top.af)} > "
                    f"{_fmt_af(cfg['af_at_most'])}.", values, sources=src)
    absent = _absent_from(ev)
    others = [f for f in ev.frequencies if f.af is not None and f.af > cfg["af_at_most"]]
    if absent and others:
        return _not("PM2", f"No continental allele frequency, but not rare elsewhere: {_freq_summary(others)}.",
                    {"datasets": _frequency_datasets(ev), "threshold": cfg["af_at_most"]}, sources=src)
    if absent:
        return _met("PM2", cfg["strength"], f"Absent from controls: no allele frequency for this variant in "
                    f"{absent}.", {"datasets": _frequency_datasets(ev), "threshold": cfg["af_at_most"]},
                    ["Absence is read from a missing value: check that the site is covered in the population data."],
                    src)
    return _missing("PM2", f"No population frequency data for chromosome {ev.chrom} in this case, so absence from "
                    f"controls cannot be told from missing annotation; join a gnomAD VCF with 'raredesk annotate "
                    f"--gnomad'.", sources=src)


def rule_bs2(ev: VariantEvidence, th: Thresholds) -> Suggestion:
    """BS2: homozygous/hemizygous in healthy individuals (population data or unaffected relatives)."""
    cfg = th.section("BS2", ev.gene)
    gq = th.section("genotype_quality", ev.gene)
    src = ("Richards 2015",)
    inheritance = th.inheritance(ev.gene)
    values: dict[str, Any] = {"min_homozygotes": cfg["min_homozygotes"], "min_hemizygotes": cfg["min_hemizygotes"]}
    notes = []
    # Population homozygotes / hemizygotes.
    homs = [f for f in ev.frequencies if f.homozygotes is not None]
    hemis = [f for f in ev.frequencies if f.hemizygotes is not None]
    pop_caveat = ("Population datasets are not screened for the disorder: BS2 assumes full penetrance at an early "
                  "age.")
    if homs:
        best = max(homs, key=lambda f: f.homozygotes)
        values["homozygotes"] = best.homozygotes
        if best.homozygotes >= cfg["min_homozygotes"]:
            return _met("BS2", cfg["strength"], f"{best.homozygotes} homozygotes in {best.label} "
                        f"(>= {cfg['min_homozygotes']}).", values, [pop_caveat], src)
        notes.append(f"{best.homozygotes} homozygotes in {best.label}")
    if hemis and ev.chrom in ("X", "Y"):
        best = max(hemis, key=lambda f: f.hemizygotes)
        values["hemizygotes"] = best.hemizygotes
        if best.hemizygotes >= cfg["min_hemizygotes"]:
            return _met("BS2", cfg["strength"], f"{best.hemizygotes} hemizygotes in {best.label} "
                        f"(>= {cfg['min_hemizygotes']}).", values, [pop_caveat], src)
        notes.append(f"{best.hemizygotes} hemizygotes in {best.label}")
    # Unaffected relatives in the case.
    unaffected = [c for c in ev.genotypes if c.affected is False]
    for c in unaffected:
        ok, why = _call_trusted(c, gq)
        if not ok or not c.gt:
            continue
        if c.gt == 2 or (_haploid(ev, c) and c.gt >= 1):
            zyg = "homoplasmic" if ev.chrom == "MT" else "hemizygous" if _haploid(ev, c) else "homozygous"
            return _met("BS2", cfg["strength"], f"Unaffected {c.role or 'relative'} {c.sample_id} is {zyg} "
                        f"({c.describe()}).", values,
                        [f"Assumes the disorder is fully penetrant by the age of {c.sample_id}."], src)
        if inheritance == "AD" and c.gt == 1:
            return _met("BS2", cfg["strength"], f"Unaffected {c.role or 'relative'} {c.sample_id} is heterozygous "
                        f"and {ev.gene} is set as dominant ({c.describe()}).", values,
                        [f"Assumes full penetrance by the age of {c.sample_id}."], src)
        if c.gt == 1:
            notes.append(f"unaffected {c.role or 'relative'} {c.sample_id} heterozygous (counts only for a "
                         f"dominant disorder; no inheritance mode set for {ev.gene or 'this gene'})")
    if not homs and not hemis and not unaffected:
        return _missing("BS2", "No homozygote/hemizygote counts in the population data of this case and no "
                        "unaffected relative genotyped.", values, sources=src)
    reason = "; ".join(notes) if notes else "No homozygous or hemizygous observation in healthy individuals"
    if not homs and not hemis:
        reason += "; the population data carry no homozygote counts"
    return _not("BS2", reason[0].upper() + reason[1:] + ".", values, sources=src)


# --- PVS1 ---------------------------------------------------------------------------------------

def _null_kind(t: TranscriptAnnotation, cfg: Mapping) -> str | None:
    for kind in ("whole_transcript", "exon_loss", "nonsense", "frameshift", "canonical_splice", "start_loss"):
        if t.has(cfg[kind]):
            return kind
    return None


def _protein_length(ev: VariantEvidence, t: TranscriptAnnotation) -> int | None:
    if t.protein_length:
        return t.protein_length
    for other in ev.transcripts:
        if other.transcript_id == t.transcript_id and other.protein_length:
            return other.protein_length
    return None


def _removed_fraction(ev: VariantEvidence, t: TranscriptAnnotation) -> tuple[float | None, str]:
    """Fraction of the protein lost after a premature stop, and where the number came from."""
    change = t.protein_change
    length = _protein_length(ev, t)
    if change and length:
        stop = change.position + (change.fs_ter - 1 if change.alt == "fs" and change.fs_ter else 0)
        return max(0.0, (length - stop) / length), f"stop at residue {stop} of {length}"
    pos = t.loftee_position
    if pos is not None:
        return max(0.0, 1.0 - pos), f"LOFTEE POSITION {pos:.3f}"
    return None, "no protein length or LOFTEE position in the annotation"


def _nmd(ev: VariantEvidence, t: TranscriptAnnotation) -> tuple[bool | None, str]:
    """Whether nonsense-mediated decay is predicted for a premature stop in ``t``."""
    if t.exon is None:
        return None, "exon number not annotated"
    n, total = t.exon
    if total == 1:
        return False, "single-exon transcript (no exon junction downstream)"
    if n == total:
        return False, f"exon {n}/{total} is the last exon"
    change = t.protein_change
    beyond = ""
    if change and change.alt == "fs" and change.fs_ter:
        beyond = f"; the new stop lies {change.fs_ter} codons downstream, assumed in the same exon"
    if n == total - 1:
        m = re.search(r"50_BP_RULE:(PASS|FAIL)", t.lof_info or "")
        if m:
            return (m.group(1) == "PASS"), f"penultimate exon {n}/{total}; LOFTEE 50_BP_RULE {m.group(1)}" + beyond
        return None, (f"penultimate exon {n}/{total}: whether the stop lies in its 3'-most 50 nt is not in the "
                      f"annotation") + beyond
    return True, f"exon {n}/{total}, upstream of the penultimate exon" + beyond


def _pvs1_relevant_transcript(ev: VariantEvidence, cfg: Mapping) -> tuple[TranscriptAnnotation | None, list[str]]:
    """The transcript the tree is read on: the picked one if it is null, else none (with the others listed)."""
    picked = ev.picked
    if picked and _null_kind(picked, cfg):
        return picked, []
    others = sorted({f"{t.transcript} ({'&'.join(t.consequences)})" for t in ev.transcripts
                     if t.biotype in (None, "protein_coding") and _null_kind(t, cfg)
                     and (not picked or t.gene == picked.gene)})
    return None, others


def rule_pvs1(ev: VariantEvidence, th: Thresholds) -> Suggestion:
    """PVS1 through the Abou Tayoun 2018 tree, as far as the annotation allows."""
    cfg = th.section("PVS1", ev.gene)
    src = ("Abou Tayoun 2018",)
    t, others = _pvs1_relevant_transcript(ev, cfg)
    if ev.picked is None and not ev.transcripts:
        return _missing("PVS1", "No transcript consequence in this case's annotation (no VEP CSQ, SnpEff ANN or "
                        "bcftools BCSQ); annotate the VCF to assess null variants.", sources=src)
    if t is None:
        picked = ev.picked
        desc = f"{picked.transcript} ({'&'.join(picked.consequences)})" if picked else "the picked transcript"
        if others:
            return _not("PVS1", f"Null only in other transcripts ({'; '.join(others[:4])}), not in the "
                        f"biologically relevant {desc}: N/A by the decision tree.", {"other_null": others},
                        ["Check whether the exon is present in a clinically relevant transcript."], src)
        return _not("PVS1", f"Not a null variant in {desc}.", sources=src)
    kind = _null_kind(t, cfg)
    values: dict[str, Any] = {"transcript": t.transcript, "consequence": "&".join(t.consequences), "kind": kind,
                              "exon": f"{t.exon[0]}/{t.exon[1]}" if t.exon else None,
                              "intron": f"{t.intron[0]}/{t.intron[1]}" if t.intron else None,
                              "loftee": t.lof}
    caveats: list[str] = []
    steps: list[str] = []
    min_frac = cfg["min_removed_fraction_strong"]
    where = f"{t.gene or '?'} " + (f"{t.transcript}" + (" (MANE Select)" if t.mane_select else
                                                        " (canonical)" if t.canonical else "")
                                   if t.transcript else f"({t.source or 'no transcript'})")
    if kind == "whole_transcript":
        strength = "VeryStrong"
        steps.append("whole transcript deleted")
        caveats.append("Confirm the deletion covers the whole gene (breakpoints).")
    elif kind in ("nonsense", "frameshift"):
        nmd, why = _nmd(ev, t)
        steps.append(why)
        values["nmd"] = nmd
        frac, frac_why = _removed_fraction(ev, t)
        values["removed_fraction"] = None if frac is None else round(frac, 4)
        if nmd:
            strength = "VeryStrong"
            steps.append("NMD predicted")
            caveats.append("Check that the exon is present in biologically relevant transcripts.")
        else:
            by_fraction = None if frac is None else ("Strong" if frac >= min_frac else "Moderate")
            if nmd is None:
                steps.append("NMD not decidable")
                strength = _weaker("VeryStrong", by_fraction or "Moderate")
                caveats.append("If the stop lies before the 3'-most 50 nt of the penultimate exon, NMD is "
                               "predicted: PVS1 (Very strong).")
            else:
                steps.append("no NMD")
                strength = by_fraction or "Moderate"
            if frac is not None:
                steps.append(f"{frac:.0%} of the protein removed ({frac_why}; Strong from "
                             f"{min_frac:.0%})")
            else:
                steps.append(f"fraction of the protein removed unknown ({frac_why}): weakest branch, Moderate")
            caveats.append("If the truncated region is critical to protein function, PVS1_Strong applies; if LoF "
                           "variants are frequent in this exon or the exon is not in relevant transcripts, PVS1 "
                           "does not apply.")
    elif kind == "canonical_splice":
        if t.intron is not None:
            i, total_introns = t.intron
            donor = "splice_donor_variant" in t.consequences
            exon = i if donor else i + 1
            total = total_introns + 1
            steps.append(f"canonical {'donor' if donor else 'acceptor'} site of intron {i}/{total_introns}: exon "
                         f"{exon}/{total} would be skipped")
            values["skipped_exon"] = f"{exon}/{total}"
            if exon == total:
                steps.append("the last exon: no NMD")
            else:
                steps.append("whether skipping it shifts the reading frame is not in the annotation (exon length "
                             "unknown)")
            caveats.append("If exon skipping shifts the frame and NMD is predicted (exon not last), PVS1 (Very "
                           "strong) applies; if it is in-frame, Strong when the region is critical or >= 10% of "
                           "the protein is lost, otherwise Moderate. RNA evidence settles it.")
        else:
            steps.append("intron number not annotated")
            caveats.append("Intron number missing: the splice branch of the tree could not be followed.")
        strength = "Moderate"
        steps.append("weakest branch still possible: Moderate")
    elif kind == "exon_loss":
        strength = "Moderate"
        steps.append("exon deletion: frame and NMD unknown, weakest branch Moderate")
        caveats.append("Follow the deletion branch of the tree with the exon boundaries and reading frame.")
    else:  # start loss
        strength = "Supporting"
        steps.append("start loss: no alternative start transcript and no pathogenic variant upstream of the next "
                     "in-frame Met known to RareDesk: Supporting")
        starts = [a for a in ev.clinvar if a.tier in ("P", "LP") and any(
            (pc := parse_protein_change(h)) is not None and pc.position == 1 and pc.ref == "Met"
            for _, h in a.changes)]
        if starts:
            values["pathogenic_start_loss"] = [a.vkey for a in starts]
            steps.append(f"{len(starts)} P/LP start-loss variants in {ev.gene} in the local ClinVar/knowledge base")
        caveats.append("Moderate if >= 1 pathogenic variant lies upstream of the closest in-frame Met; not "
                       "applicable if an alternative start transcript exists.")
    # LOFTEE's view, for context.
    if t.lof:
        steps.append(f"LOFTEE {t.lof}" + (f" ({t.lof_filter})" if t.lof_filter else ""))
        if t.lof == "LC":
            caveats.append(f"LOFTEE calls this low confidence ({t.lof_filter or 'no filter given'}).")
    # LoF-mechanism gate.
    mechanism = cfg["lof_mechanism"]
    values["lof_mechanism"] = mechanism
    if mechanism == "none":
        return _not("PVS1", f"{where}: {'; '.join(steps)}; but loss of function is set as not a disease "
                    f"mechanism for {ev.gene}.", values, caveats, src)
    lowered = _lower(strength, _LOF_LEVELS[mechanism])
    if lowered is None:
        return _not("PVS1", f"{where}: {'; '.join(steps)}; lowered below Supporting by the gene's "
                    f"{mechanism} loss-of-function evidence.", values, caveats, src)
    if _LOF_LEVELS[mechanism]:
        steps.append(f"lowered {_LOF_LEVELS[mechanism]} level(s): {mechanism} LoF evidence for {ev.gene}")
    if mechanism == "unknown":
        caveats.insert(0, f"Loss of function as the disease mechanism for {ev.gene or 'this gene'} is not recorded "
                       f"in RareDesk: PVS1 applies only if it is established.")
    return _met("PVS1", lowered, f"{where}: {'; '.join(steps)}.", values, caveats, src)


# --- PP3 / BP4 / BP7 (in silico) --------------------------------------------------------------------

def _variant_kind(ev: VariantEvidence, th: Thresholds) -> str:
    """``null``, ``missense``, ``inframe``, ``synonymous`` or ``other`` (by the picked transcript)."""
    t = ev.picked
    if t is None:
        return "unknown"
    pv = th.section("PVS1", ev.gene)
    if _null_kind(t, pv):
        return "null"
    if "missense_variant" in t.consequences:
        return "missense"
    if t.has(th.section("PM4_BP3", ev.gene)["consequences"]):
        return "inframe"
    if "synonymous_variant" in t.consequences:
        return "synonymous"
    return "other"


def _missense_call(ev: VariantEvidence, th: Thresholds) -> tuple[str, float, dict | None] | None:
    cfg = th.section("predictors", ev.gene)
    for tool in cfg["missense_order"]:
        value = ev.scores.get(tool)
        if value is None:
            continue
        for iv in cfg["tools"][tool]["intervals"]:
            if _in_interval(value, iv):
                return tool, value, dict(iv)
        return tool, value, None
    return None


def _splice_score(ev: VariantEvidence) -> float | None:
    return ev.scores.get("spliceai_ds")


def _coverage_note(ev: VariantEvidence, column: str, name: str) -> str:
    n = ev.annotation_coverage.get(column, 0)
    if n:
        return f"{name} has no value for this variant ({_fmt_n(n)} of {_fmt_n(ev.n_case_variants)} variants in the " \
               f"case have one)"
    return f"the case has no {name} annotation"


def _uncalibrated_note(ev: VariantEvidence) -> str:
    if not ev.uncalibrated:
        return ""
    items = ", ".join(f"{k} {v:g}" for k, v in ev.uncalibrated.items())
    return f" Present but not calibrated, so not used: {items} (Pejaver 2022 calibrated raw scores, not rank scores)."


def rule_pp3_bp4(ev: VariantEvidence, th: Thresholds) -> tuple[Suggestion, Suggestion]:
    """PP3 and BP4 from one calibrated predictor (Pejaver 2022) or SpliceAI (Walker 2023)."""
    cfg = th.section("predictors", ev.gene)
    sp = th.section("SpliceAI", ev.gene)
    src = ("Pejaver 2022", "Walker 2023")
    kind = _variant_kind(ev, th)
    splice = _splice_score(ev)
    if kind == "unknown":
        r = "No transcript consequence in the annotation, so no predictor can be chosen."
        return _missing("PP3", r, sources=src), _missing("BP4", r, sources=src)
    if kind == "null":
        r = "Null variant: its effect is weighed under PVS1, so PP3/BP4 are not applied (no double counting)."
        return _not("PP3", r, sources=src), _not("BP4", r, sources=src)
    splice_values = {"spliceai_ds": splice, "pp3_at_least": sp["pp3_at_least"], "bp4_at_most": sp["bp4_at_most"]}
    if kind == "missense":
        call = _missense_call(ev, th)
        unused = [f"{cfg['tools'][k]['name']} {ev.scores[k]:g}" for k in cfg["missense_order"]
                  if ev.scores.get(k) is not None and (call is None or k != call[0])]
        unused_note = f" Not used (one predictor per variant, Pejaver 2022): {', '.join(unused)}." if unused else ""
        unused_note += _uncalibrated_note(ev)
        splice_pp3 = splice is not None and splice >= sp["pp3_at_least"]
        if call is None:
            tried = ", ".join(cfg["tools"][k]["name"] for k in cfg["missense_order"])
            reason = f"No calibrated missense predictor for this variant (tried {tried})." + unused_note
            if splice_pp3:
                return (_met("PP3", "Supporting", f"SpliceAI {splice:g} >= {sp['pp3_at_least']:g} (splicing). "
                             + reason, splice_values, sources=src),
                        _not("BP4", f"SpliceAI {splice:g} predicts a splicing effect. " + reason, splice_values,
                             sources=src))
            return _missing("PP3", reason, sources=src), _missing("BP4", reason, sources=src)
        tool, value, iv = call
        name = cfg["tools"][tool]["name"]
        values = {"tool": name, "score": value, "source": cfg["tools"][tool]["source"], **splice_values}
        if iv is None:
            reason = (f"{name} {value:g} lies between the BP4 and PP3 bands (indeterminate)." + unused_note)
            if splice_pp3:
                return (_met("PP3", "Supporting", f"SpliceAI {splice:g} >= {sp['pp3_at_least']:g} (splicing); "
                             + reason, values, sources=src), _not("BP4", reason, values, sources=src))
            return _not("PP3", reason, values, sources=src), _not("BP4", reason, values, sources=src)
        band = iv["band"]
        strength = iv.get("strength", band)
        capped = f" (the {band} band, capped at {strength})" if strength != band else ""
        text = f"{name} {value:g} in the {iv['code']} {band} band {_interval_text(iv)}{capped}."
        values["band"] = band
        if iv["code"] == "PP3":
            return (_met("PP3", strength, text + unused_note, values, sources=src),
                    _not("BP4", text, values, sources=src))
        # Benign missense call: splicing must not be predicted (Walker 2023).
        if splice is not None and splice > sp["bp4_at_most"]:
            if splice_pp3:
                return (_met("PP3", "Supporting", f"SpliceAI {splice:g} >= {sp['pp3_at_least']:g} predicts a "
                             f"splicing effect, although {text[:-1]}.", values, sources=src),
                        _not("BP4", f"{text[:-1]}, but SpliceAI {splice:g} predicts a splicing effect.", values,
                             sources=src))
            return (_not("PP3", text, values, sources=src),
                    _not("BP4", f"{text[:-1]}, but SpliceAI {splice:g} > {sp['bp4_at_most']:g} does not rule out a "
                         f"splicing effect.", values, sources=src))
        caveats = [] if splice is not None else [
            f"Splicing impact not assessed: {_coverage_note(ev, 'spliceai_ds', 'SpliceAI')}."]
        return (_not("PP3", text, values, sources=src),
                _met("BP4", strength, text + unused_note, values, caveats, src))
    # Not missense: only SpliceAI is calibrated (Walker 2023).
    what = {"inframe": "in-frame indel / stop loss", "synonymous": "synonymous variant"}.get(kind, "non-coding or "
                                                                                                  "other variant")
    if splice is None:
        reason = (f"For a {what} only SpliceAI is calibrated (Walker 2023), and "
                  f"{_coverage_note(ev, 'spliceai_ds', 'SpliceAI')}." + _uncalibrated_note(ev))
        if kind == "inframe":
            reason = ("No calibrated predictor for in-frame indels or stop loss (Pejaver 2022 covers missense "
                      "variants); " + reason[0].lower() + reason[1:])
        return _missing("PP3", reason, splice_values, sources=src), _missing("BP4", reason, splice_values,
                                                                            sources=src)
    if splice >= sp["pp3_at_least"]:
        return (_met("PP3", "Supporting", f"SpliceAI {splice:g} >= {sp['pp3_at_least']:g}: splicing effect "
                     f"predicted for this {what}.", splice_values, sources=src),
                _not("BP4", f"SpliceAI {splice:g} predicts a splicing effect.", splice_values, sources=src))
    if splice <= sp["bp4_at_most"]:
        return (_not("PP3", f"SpliceAI {splice:g} <= {sp['bp4_at_most']:g}: no splicing effect predicted.",
                     splice_values, sources=src),
                _met("BP4", "Supporting", f"SpliceAI {splice:g} <= {sp['bp4_at_most']:g}: no splicing effect "
                     f"predicted for this {what}.", splice_values, sources=src))
    r = f"SpliceAI {splice:g} lies between {sp['bp4_at_most']:g} and {sp['pp3_at_least']:g} (indeterminate)."
    return _not("PP3", r, splice_values, sources=src), _not("BP4", r, splice_values, sources=src)


_HGVSC_INTRON = re.compile(r"c\.[-*]?\d+([+-])(\d+)")


def rule_bp7(ev: VariantEvidence, th: Thresholds) -> Suggestion:
    """BP7: synonymous or deep intronic with no predicted splicing effect (Walker 2023)."""
    sp = th.section("SpliceAI", ev.gene)
    src = ("Richards 2015", "Walker 2023")
    t = ev.picked
    if t is None:
        return _missing("BP7", "No transcript consequence in the annotation.", sources=src)
    splice = _splice_score(ev)
    site = None
    if "synonymous_variant" in t.consequences:
        site = "synonymous"
    elif "intron_variant" in t.consequences and not t.has(th.section("PVS1", ev.gene)["canonical_splice"]):
        m = _HGVSC_INTRON.search(t.hgvsc or "")
        if m:
            offset = int(m.group(2))
            side = "donor" if m.group(1) == "+" else "acceptor"
            limit = sp["bp7_donor_offset"] if side == "donor" else sp["bp7_acceptor_offset"]
            if offset >= limit:
                site = f"intronic at {m.group(1)}{offset} ({side} side, at or beyond {m.group(1)}{limit})"
            else:
                return _not("BP7", f"Intronic at {m.group(1)}{offset}, inside the {side}-side splice region "
                            f"(BP7 from {m.group(1)}{limit} outward, Walker 2023).", {"offset": offset}, sources=src)
        else:
            return _missing("BP7", "Intronic, but the HGVS c. offset from the exon is not annotated.",
                            sources=src)
    if site is None:
        return _not("BP7", f"Not synonymous or deep intronic ({'&'.join(t.consequences)}).", sources=src)
    values = {"spliceai_ds": splice, "bp7_at_most": sp["bp7_at_most"], "site": site}
    if splice is None:
        return _missing("BP7", f"{site.capitalize()}, but the splicing impact cannot be judged: "
                        f"{_coverage_note(ev, 'spliceai_ds', 'SpliceAI')}.", values, sources=src)
    if splice <= sp["bp7_at_most"]:
        return _met("BP7", "Supporting", f"{site.capitalize()} with SpliceAI {splice:g} <= {sp['bp7_at_most']:g} "
                    f"(no splicing effect predicted).", values, sources=src)
    return _not("BP7", f"{site.capitalize()}, but SpliceAI {splice:g} > {sp['bp7_at_most']:g}.", values,
                sources=src)


# --- PM4 / BP3 ------------------------------------------------------------------------------------

def rule_pm4_bp3(ev: VariantEvidence, th: Thresholds) -> tuple[Suggestion, Suggestion]:
    """PM4 (protein length change outside repeats, stop loss) and BP3 (in-frame indel in a repeat)."""
    cfg = th.section("PM4_BP3", ev.gene)
    src = ("Richards 2015",)
    t = ev.picked
    if t is None:
        r = "No transcript consequence in the annotation."
        return _missing("PM4", r, sources=src), _missing("BP3", r, sources=src)
    if not t.has(cfg["consequences"]):
        r = f"Not an in-frame indel or stop loss ({'&'.join(t.consequences)})."
        return _not("PM4", r, sources=src), _not("BP3", r, sources=src)
    what = "stop loss" if "stop_lost" in t.consequences else "in-frame " + \
        ("deletion" if any("deletion" in c for c in t.consequences) else "insertion")
    change = t.hgvsp.split(":", 1)[-1] if t.hgvsp else "protein change not annotated"
    values = {"consequence": "&".join(t.consequences), "hgvsp": t.hgvsp, "repeat": ev.repeat}
    if what == "stop loss":
        return (_met("PM4", cfg["strength"], f"Stop loss extends the protein ({change}).", values, sources=src),
                _not("BP3", "Stop loss, not an in-frame indel.", values, sources=src))
    if ev.repeat:
        return (_not("PM4", f"{what.capitalize()} ({change}) in a repeat ({ev.repeat}).", values, sources=src),
                _met("BP3", "Supporting", f"{what.capitalize()} ({change}) in a repeat region ({ev.repeat}).",
                     values, ["BP3 needs the repeat to have no known function."], src))
    if ev.repeat_annotated:
        return (_met("PM4", cfg["strength"], f"{what.capitalize()} ({change}) outside annotated repeats.", values,
                     sources=src),
                _not("BP3", f"{what.capitalize()} outside annotated repeats.", values, sources=src))
    caveat = "Repeat context is not annotated in this case: if the indel lies in a repeat without known function, " \
             "BP3 applies instead of PM4."
    return (_met("PM4", cfg["strength"], f"{what.capitalize()} changes the protein length ({change}).", values,
                 [caveat], src),
            _missing("BP3", f"{what.capitalize()} ({change}), but the case has no repeat annotation (e.g. "
                     f"RepeatMasker), so a repeat context cannot be recognised.", values, sources=src))


# --- PM1 -----------------------------------------------------------------------------------------

def _domains(t: TranscriptAnnotation | None, databases: Sequence[str]) -> list[str]:
    if t is None or not t.domains:
        return []
    wanted = set(databases)
    out = []
    for item in re.split(r"[&,]", t.domains):
        db, _, ident = item.partition(":")
        if db in wanted and ident:
            out.append(f"{db}:{ident}")
    return sorted(set(out))


def _comparators(ev: VariantEvidence, th: Thresholds) -> tuple[list[tuple[ClinVarAssertion, ProteinChange]],
                                                                list[ClinVarAssertion], list[ClinVarAssertion]]:
    """(usable protein-level comparators on this variant's transcripts, entries without a protein change,
    entries excluded for too few review stars)."""
    cfg = th.section("PS1_PM5", ev.gene)
    mine = {t.transcript_id for t in ev.transcripts if t.transcript_id} | \
        ({ev.picked.transcript_id} if ev.picked and ev.picked.transcript_id else set())
    usable, no_protein, low_stars = [], [], []
    for a in ev.clinvar:
        if a.vkey == ev.vkey:
            continue
        if a.from_knowledge_base and not cfg["use_knowledge_base"]:
            continue
        if not a.from_knowledge_base and (a.stars or 0) < cfg["clinvar_min_stars"]:
            low_stars.append(a)
            continue
        found = None
        for tx, hgvsp in a.changes:
            if _unversioned(tx) in mine:
                pc = parse_protein_change(hgvsp)
                if pc is not None:
                    found = (tx, pc)
                    break
        if found is None:
            if not a.changes:
                no_protein.append(a)
            continue
        usable.append((a, found[1]))
    return usable, no_protein, low_stars


def _query_changes(ev: VariantEvidence) -> dict[str, ProteinChange]:
    out = {}
    for t in ([ev.picked] if ev.picked else []) + list(ev.transcripts):
        pc = t.protein_change if t else None
        if t and t.transcript_id and pc is not None:
            out.setdefault(t.transcript_id, pc)
    return out


def _comparator_change(a: ClinVarAssertion, transcript_id: str) -> ProteinChange | None:
    for tx, hgvsp in a.changes:
        if _unversioned(tx) == transcript_id:
            return parse_protein_change(hgvsp)
    return None


def rule_pm1(ev: VariantEvidence, th: Thresholds) -> Suggestion:
    """PM1: missense in a mutational hot spot or an annotated functional domain."""
    cfg = th.section("PM1", ev.gene)
    src = ("Richards 2015",)
    if _variant_kind(ev, th) != "missense":
        return _not("PM1", "PM1 is assessed for missense variants only.", sources=src)
    t = ev.picked
    pc = t.protein_change if t else None
    values: dict[str, Any] = {"window": cfg["hotspot_window"]}
    hotspot_note = ""
    if pc is not None and pc.is_missense and (ev.clinvar_loaded or ev.clinvar):
        usable, _, _ = _comparators(ev, th)
        path, ben = [], []
        for a, _pc in usable:
            other = _comparator_change(a, t.transcript_id)
            if other is None or not other.is_missense:
                continue
            if abs(other.position - pc.position) <= cfg["hotspot_window"]:
                if a.tier in ("P", "LP"):
                    path.append(f"{other.short} ({a.source})")
                elif a.tier in ("B", "LB"):
                    ben.append(f"{other.short} ({a.source})")
        values.update({"pathogenic_nearby": path, "benign_nearby": ben})
        if len(path) >= cfg["hotspot_min_pathogenic"] and len(ben) <= cfg["hotspot_max_benign"]:
            return _met("PM1", cfg["hotspot_strength"], f"Mutational hot spot: {len(path)} P/LP missense variants "
                        f"within {cfg['hotspot_window']} residues of {pc.short} ({', '.join(path[:5])}) and "
                        f"{len(ben)} benign.", values, sources=src)
        hotspot_note = (f" {len(path)} P/LP and {len(ben)} B/LB missense variants within {cfg['hotspot_window']} "
                        f"residues in the local ClinVar/knowledge base (hot spot needs "
                        f">= {cfg['hotspot_min_pathogenic']} P/LP, <= {cfg['hotspot_max_benign']} benign).")
    domains = _domains(t, cfg["domain_databases"])
    values["domains"] = domains
    if domains:
        return _met("PM1", cfg["domain_strength"], f"Missense in an annotated protein domain ({', '.join(domains)})."
                    + hotspot_note, values,
                    ["Whether the domain is critical and free of benign variation is not known to RareDesk; "
                     "raise to Moderate only if it is."], src)
    if not ev.annotation_coverage.get("domains"):
        return _missing("PM1", "The case has no protein-domain annotation (VEP DOMAINS), and no hot spot was found "
                        "in the local ClinVar/knowledge base." + hotspot_note, values, sources=src)
    return _not("PM1", "Not in an annotated protein domain (VEP DOMAINS)." + hotspot_note, values, sources=src)


# --- PS1 / PM5 ---------------------------------------------------------------------------------------

def rule_ps1_pm5(ev: VariantEvidence, th: Thresholds) -> tuple[Suggestion, Suggestion]:
    """PS1 (same amino-acid change) and PM5 (other missense at the same residue) against P/LP comparators."""
    cfg = th.section("PS1_PM5", ev.gene)
    src = ("Richards 2015",)
    kind = _variant_kind(ev, th)
    if kind != "missense":
        r = "PS1/PM5 compare missense changes; this variant is not missense."
        return _not("PS1", r, sources=src), _not("PM5", r, sources=src)
    mine = _query_changes(ev)
    if not any(pc.is_missense for pc in mine.values()):
        r = "Missense, but the protein change is not annotated as a single-residue substitution " \
            f"({ev.picked.hgvsp if ev.picked else 'no HGVS p.'})."
        return _missing("PS1", r, sources=src), _missing("PM5", r, sources=src)
    if not ev.clinvar_loaded and not ev.clinvar:
        r = "No local ClinVar and no reviewed classifications in the knowledge base to compare with; import a " \
            "ClinVar VCF ('raredesk annotate --clinvar')."
        return _missing("PS1", r, sources=src), _missing("PM5", r, sources=src)
    usable, no_protein, low_stars = _comparators(ev, th)
    ps1, pm5 = [], []
    for a, _ in usable:
        if a.tier not in ("P", "LP"):
            continue
        for tx, pc in mine.items():
            other = _comparator_change(a, tx)
            if other is None or not pc.is_missense or other.position != pc.position or other.ref != pc.ref:
                continue
            entry = {"vkey": a.vkey, "change": other.short, "transcript": tx, "significance": a.significance,
                     "tier": a.tier, "source": a.source, "stars": a.stars, "reference": a.reference}
            if other.alt == pc.alt:
                ps1.append(entry)
            elif other.is_missense:
                pm5.append(entry)
            break
    values = {"comparators": len(usable), "without_protein_change": len(no_protein),
              "below_min_stars": len(low_stars), "clinvar_min_stars": cfg["clinvar_min_stars"]}
    notes = []
    if no_protein:
        notes.append(f"{len(no_protein)} ClinVar entries in {ev.gene} have no protein change in the workspace "
                     f"(the ClinVar VCF carries no HGVS p.; they count once an annotated case or a VEP-annotated "
                     f"ClinVar holds them)")
    if low_stars:
        notes.append(f"{len(low_stars)} entries with fewer than {cfg['clinvar_min_stars']} review star(s) not used")
    tail = (" " + "; ".join(notes) + ".") if notes else ""
    query = next(pc for pc in mine.values() if pc.is_missense)
    splice_caveat = ["Check that neither variant has a predicted splicing effect (Walker 2023)."]

    def best(entries: list[dict], strong: str, likely: str) -> tuple[str, dict]:
        p = [e for e in entries if e["tier"] == "P"]
        chosen = p[0] if p else entries[0]
        return (strong if p else likely), chosen

    if ps1:
        strength, chosen = best(ps1, cfg["ps1_strength"], cfg["ps1_strength_likely"])
        s_ps1 = _met("PS1", strength, f"Same amino-acid change {chosen['change']} as {chosen['vkey']}, "
                     f"{chosen['significance']} in {chosen['source']}" +
                     (f" ({chosen['stars']} star(s))" if chosen['stars'] is not None else "") +
                     f", from a different nucleotide change." + tail, {**values, "matches": ps1}, splice_caveat, src)
        s_pm5 = _not("PM5", f"PS1 applies (same amino-acid change {chosen['change']}); PM5 is not added on top.",
                     {**values, "matches": pm5}, sources=src)
        return s_ps1, s_pm5
    s_ps1 = _not("PS1", f"No P/LP variant with the same amino-acid change {query.short} among {len(usable)} "
                 f"comparators." + tail, values, sources=src)
    if pm5:
        strength, chosen = best(pm5, cfg["pm5_strength"], cfg["pm5_strength_likely"])
        return s_ps1, _met("PM5", strength, f"Different missense change at the same residue: {chosen['change']} "
                           f"({chosen['vkey']}) is {chosen['significance']} in {chosen['source']}." + tail,
                           {**values, "matches": pm5}, splice_caveat, src)
    return s_ps1, _not("PM5", f"No P/LP missense variant at residue {query.ref}{query.position} among "
                       f"{len(usable)} comparators." + tail, values, sources=src)


# --- PS2 / PM6 (de novo) ----------------------------------------------------------------------------

_NO_PROBAND = ("No proband genotype: the case has no sample marked as proband (import it with a PED file or "
               "--proband).")

def parentage_confirmed(ev: VariantEvidence, th: Thresholds) -> tuple[bool, str]:
    """Whether parentage counts as confirmed (reviewer statement, else the genotype check)."""
    if ev.parentage_confirmed is not None:
        return ev.parentage_confirmed, ("confirmed by the reviewer" if ev.parentage_confirmed
                                        else "stated as not confirmed by the reviewer")
    cfg = th.section("parentage", ev.gene)
    parents = ev.parent_calls()
    if not ev.parentage or not parents:
        return False, "no parentage check available"
    texts, ok = [], True
    checks = {p.parent: p for p in ev.parentage}
    for role, call in parents.items():
        p = checks.get(call.sample_id)
        if p is None or p.informative < cfg["min_informative_sites"]:
            ok = False
            texts.append(f"{role}: {p.informative if p else 0} informative sites "
                         f"(< {cfg['min_informative_sites']})")
            continue
        frac = p.fraction or 0.0
        texts.append(f"{role}: {p.inconsistent}/{p.informative} opposite homozygotes")
        if frac > cfg["max_inconsistent_fraction"]:
            ok = False
    return ok, "; ".join(texts)


def rule_ps2_pm6(ev: VariantEvidence, th: Thresholds) -> tuple[Suggestion, Suggestion]:
    """PS2 (confirmed) or PM6 (assumed) de novo, scored with the SVI de novo points."""
    gq = th.section("genotype_quality", ev.gene)
    cfg = th.section("de_novo", ev.gene)
    src = ("SVI de novo v1.1",)
    proband = ev.proband_call
    if proband is None:
        r = _NO_PROBAND
        return _missing("PS2", r, sources=src), _missing("PM6", r, sources=src)
    if ev.chrom == "MT":
        r = "Mitochondrial variant: maternal inheritance and heteroplasmy make the de novo criteria not applicable " \
            "from genotypes."
        return _not("PS2", r, sources=src), _not("PM6", r, sources=src)
    if not _carries(proband):
        r = f"The proband does not carry the variant ({proband.describe()})."
        return _not("PS2", r, sources=src), _not("PM6", r, sources=src)
    parents = ev.parent_calls()
    # Which parents pass the allele on at this locus.
    needed = ["father", "mother"]
    if ev.chrom == "X" and not ev.in_par() and (proband.sex or "").lower() == "male":
        needed = ["mother"]
    elif ev.chrom == "Y" and not ev.in_par():
        needed = ["father"]
    absent = [r for r in needed if r not in parents]
    if absent:
        r = f"{' and '.join(absent).capitalize()} not genotyped: a de novo origin cannot be shown."
        return _missing("PS2", r, sources=src), _missing("PM6", r, sources=src)
    problems = []
    ok, why = _call_trusted(proband, gq)
    if not ok:
        problems.append(f"proband {why}")
    ab = proband.allele_balance
    if proband.gt == 1 and ab is not None and not (gq["min_het_ab"] <= ab <= gq["max_het_ab"]) \
            and not _haploid(ev, proband):
        problems.append(f"proband allele balance {ab:.2f} outside [{gq['min_het_ab']}, {gq['max_het_ab']}]")
    for role in needed:
        call = parents[role]
        if call.gt is None:
            problems.append(f"{role} has no genotype call")
            continue
        if call.gt >= 1:
            r = f"Inherited: the {role} carries it ({call.describe()})."
            return _not("PS2", r, sources=src), _not("PM6", r, sources=src)
        ok, why = _call_trusted(call, gq)
        if not ok:
            problems.append(f"{role} {why}")
        if call.ad_alt is not None and call.ad_alt > gq["max_parent_alt_reads"]:
            problems.append(f"{role} shows {call.ad_alt} ALT reads (> {gq['max_parent_alt_reads']}: possible "
                            f"mosaicism or a missed call)")
    calls = "; ".join([proband.describe()] + [parents[r].describe() for r in needed])
    values = {"proband": proband.describe(), **{r: parents[r].describe() for r in needed}}
    if problems:
        r = f"Absent from the parents, but the genotypes are not trustworthy enough: {'; '.join(problems)} ({calls})."
        return _not("PS2", r, values, sources=src), _not("PM6", r, values, sources=src)
    if proband.affected is False:
        r = "The proband is recorded as unaffected."
        return _not("PS2", r, values, sources=src), _not("PM6", r, values, sources=src)
    unaffected_parents = all(parents[r].affected is not True for r in needed)
    fit = ev.phenotype_fit or cfg["phenotype"]
    confirmed, how = parentage_confirmed(ev, th)
    points = cfg["points_confirmed" if confirmed else "points_assumed"][fit]
    values.update({"parentage": "confirmed" if confirmed else "assumed", "parentage_check": how,
                   "phenotype_fit": fit, "points": points})
    code = "PS2" if confirmed else "PM6"
    other = "PM6" if confirmed else "PS2"
    strength = _ladder(points, cfg["strength_by_points"])
    caveats = [f"Phenotype fit taken as '{fit}'"
               + (" (the default)" if ev.phenotype_fit is None else "")
               + f": {cfg['points_confirmed']['highly_specific']:g} points (confirmed) if the phenotype is highly "
               f"specific for {ev.gene or 'the gene'}, which raises the strength."]
    if not unaffected_parents:
        caveats.append("A parent is recorded as affected, which argues against a de novo disease cause.")
    text = (f"De novo: present in the proband, absent from the {' and '.join(needed)} ({calls}); parentage "
            f"{'confirmed' if confirmed else 'assumed'} ({how}); {points:g} point(s) for a '{fit}' phenotype")
    if strength is None:
        return (_not(code, text + " - below the Supporting threshold.", values, caveats, src),
                _not(other, f"See {code}.", values, sources=src))
    return (_met(code, strength, text + f" -> {strength}.", values, caveats, src),
            _not(other, f"{code} applies instead (parentage {'confirmed' if confirmed else 'assumed'}).", values,
                 sources=src))


# --- PM3 / BP2 (phase) ------------------------------------------------------------------------------

def _phase(ev: VariantEvidence, other: OtherVariant) -> tuple[str, str]:
    """``trans``, ``cis`` or ``unknown`` for the query variant and ``other`` in the proband, and how."""
    proband = ev.proband_call
    other_p = next((c for c in other.calls if c.sample_id == ev.proband), None)
    if proband is None or other_p is None or not _carries(other_p):
        return "unknown", "not carried together by the proband"
    # Read-backed / statistical phasing in the VCF.
    if proband.ps is not None and proband.ps == other_p.ps:
        a, b = proband.phase_index(), other_p.phase_index()
        if a is not None and b is not None:
            return ("cis" if a == b else "trans"), f"phased in the VCF (phase set {proband.ps})"
    # Parental genotypes.
    parents = ev.parent_calls()
    other_parents = {c.role: c for c in other.calls if c.role in ("father", "mother")}
    if len(parents) == 2 and len(other_parents) == 2:
        def origin(calls: Mapping[str, GenotypeCall]) -> str | None:
            f, m = _carries(calls["father"]), _carries(calls["mother"])
            if f and m is False:
                return "father"
            if m and f is False:
                return "mother"
            return None

        o1, o2 = origin(parents), origin(other_parents)
        if o1 and o2:
            return ("cis" if o1 == o2 else "trans"), f"from parental genotypes ({o1} / {o2})"
        return "unknown", "parental genotypes do not separate the two variants"
    return "unknown", "no phasing and no parental genotypes for both variants"


def rule_pm3_bp2(ev: VariantEvidence, th: Thresholds) -> tuple[Suggestion, Suggestion]:
    """PM3 (in trans with a P/LP variant, SVI points) and BP2 (in cis with one)."""
    cfg = th.section("PM3", ev.gene)
    gq = th.section("genotype_quality", ev.gene)
    src = ("SVI PM3 v1.0",)
    proband = ev.proband_call
    if proband is None:
        r = _NO_PROBAND
        return _missing("PM3", r, sources=src), _missing("BP2", r, sources=src)
    if not _carries(proband):
        r = f"The proband does not carry the variant ({proband.describe()})."
        return _not("PM3", r, sources=src), _not("BP2", r, sources=src)
    inheritance = th.inheritance(ev.gene)
    points = 0.0
    found, bp2 = [], []
    ok, why = _call_trusted(proband, gq)
    if proband.gt == 2 and not _haploid(ev, proband):
        if ok:
            hom = min(cfg["points_homozygous"], cfg["max_homozygous_points"])
            points += hom
            found.append(f"homozygous in the proband ({hom:g})")
        else:
            found.append(f"homozygous call not trusted ({why})")
    classified = [o for o in ev.other_variants if o.classification in ("Pathogenic", "Likely pathogenic")]
    unclassified = len(ev.other_variants) - len(classified)
    for o in classified:
        phase, how = _phase(ev, o)
        tier = "P" if o.classification == "Pathogenic" else "LP"
        if phase == "cis":
            bp2.append(f"{o.vkey} ({o.classification}, {o.classification_source}) in cis, {how}")
            continue
        if phase == "trans":
            p = cfg["points_trans_pathogenic" if tier == "P" else "points_trans_likely_pathogenic"]
        else:
            p = cfg["points_unknown_pathogenic" if tier == "P" else "points_unknown_likely_pathogenic"]
        points += p
        found.append(f"{o.vkey} {o.hgvsp.split(':', 1)[-1] if o.hgvsp else ''} ({o.classification}, "
                     f"{o.classification_source}) {phase}, {how}: {p:g}")
        if phase == "trans" and inheritance == "AD" and tier == "P":
            bp2.append(f"{o.vkey} (Pathogenic) in trans in a dominant gene, {how}")
    values = {"points": points, "other_variants_in_gene": len(ev.other_variants),
              "classified_pathogenic": len(classified), "inheritance": inheritance}
    strength = _ladder(points, cfg["strength_by_points"])
    caveat = [f"PM3 assumes a recessive disorder" + (f" ({ev.gene} is not set as AR)" if inheritance != "AR" else "")
              + "; points are per proband and add up across probands (SVI PM3 v1.0)."]
    if strength:
        pm3 = _met("PM3", strength, f"{'; '.join(found)} -> {points:g} point(s), {strength}.", values, caveat, src)
    elif found:
        pm3 = _not("PM3", f"{'; '.join(found)} -> {points:g} point(s), below Supporting.", values, sources=src)
    elif ev.other_variants:
        pm3 = _not("PM3", f"{len(ev.other_variants)} other variant(s) of {ev.gene} in the proband, none classified "
                   f"P/LP in the knowledge base or the local ClinVar ({unclassified} unclassified).", values,
                   sources=src)
    else:
        pm3 = _not("PM3", f"No other variant of {ev.gene or 'this gene'} in the proband and not homozygous.", values,
                   sources=src)
    if bp2:
        bp2_s = _met("BP2", "Supporting", "; ".join(bp2) + ".", values,
                     ["In cis with a pathogenic variant counts for any inheritance; in trans only for a fully "
                      "penetrant dominant disorder."], src)
    else:
        bp2_s = _not("BP2", "No P/LP variant of the same gene found in cis (or in trans in a dominant gene).", values,
                     sources=src)
    return pm3, bp2_s


# --- PP1 / BS4 (segregation hooks) -----------------------------------------------------------------

def rule_pp1_bs4(ev: VariantEvidence, th: Thresholds) -> tuple[Suggestion, Suggestion]:
    """PP1 (co-segregation) and BS4 (non-segregation) hooks for families with several affected members."""
    cfg = th.section("segregation", ev.gene)
    gq = th.section("genotype_quality", ev.gene)
    src = ("Jarvik & Browning 2016",)
    if not any(c.affected is not None for c in ev.genotypes):
        r = "Affection status is not recorded for any genotyped member (import the case with a PED file)."
        return _missing("PP1", r, sources=src), _missing("BS4", r, sources=src)
    proband = ev.proband_call
    if proband is not None and _carries(proband) is False:
        r = f"The proband does not carry the variant ({proband.describe()}): the family is not informative for " \
            f"its segregation."
        return _not("PP1", r, sources=src), _not("BS4", r, sources=src)
    affected = [c for c in ev.genotypes if c.affected is True]
    relatives = [c for c in affected if c.sample_id != ev.proband]
    trusted = [(c, _call_trusted(c, gq)) for c in affected]
    carriers = [c for c, (ok, _) in trusted if ok and _carries(c)]
    non_carriers = [c for c, (ok, _) in trusted if ok and _carries(c) is False and c.sample_id != ev.proband]
    untrusted = [f"{c.sample_id} ({why})" for c, (ok, why) in trusted if not ok]
    unaffected_carriers = [c for c in ev.genotypes if c.affected is False and _carries(c)]
    values = {"affected_genotyped": len(affected), "affected_carriers": len(carriers),
              "affected_non_carriers": len(non_carriers), "unaffected_carriers": len(unaffected_carriers)}
    if non_carriers:
        bs4 = _met("BS4", cfg["bs4_strength"], "Does not segregate: affected " + ", ".join(
            f"{c.role or 'relative'} {c.sample_id} lacks it ({c.describe()})" for c in non_carriers) + ".", values,
            ["Phenocopies, locus heterogeneity and a wrong genotype can mimic non-segregation."], src)
    elif not relatives:
        bs4 = _not("BS4", "No affected relative genotyped besides the proband; BS4 needs an affected relative "
                   "without the variant.", values, sources=src)
    else:
        bs4 = _not("BS4", f"Every affected member with a trusted genotype carries it ({len(carriers)})."
                   + (f" Untrusted genotypes: {', '.join(untrusted)}." if untrusted else ""), values, sources=src)
    if ev.segregation_meioses is not None:
        meioses, how = ev.segregation_meioses, "entered by the reviewer"
    else:
        meioses, how = max(0, len(carriers) - 1), "affected carriers minus one"
    values["meioses"] = meioses
    if non_carriers:
        pp1 = _not("PP1", "An affected relative lacks the variant (see BS4).", values, sources=src)
    elif ev.segregation_meioses is None and not relatives:
        pp1 = _not("PP1", "No affected relative genotyped besides the proband: PP1 needs co-segregation in several "
                   "affected relatives.", values, sources=src)
    else:
        strength = _ladder(meioses, cfg["pp1_meioses"])
        tail = f" Untrusted genotypes: {', '.join(untrusted)}." if untrusted else ""
        caveats = ["Meiosis counts assume a dominant model; count informative meioses from the pedigree and enter "
                   "them if it is more complex."]
        if unaffected_carriers:
            caveats.append(f"{len(unaffected_carriers)} unaffected carrier(s): reduced penetrance or age of onset "
                           f"must be considered.")
        if strength:
            pp1 = _met("PP1", strength, f"Co-segregates: {meioses} meiosis(es) ({how}) -> {strength}." + tail,
                       values, caveats, src)
        else:
            lowest = cfg["pp1_meioses"][-1][0]
            pp1 = _not("PP1", f"{meioses} co-segregating meiosis(es) ({how}), fewer than {lowest}." + tail, values,
                       caveats, src)
    return pp1, bs4


# --- criteria no rule can suggest -----------------------------------------------------------------

_MANUAL = {
    "PS3": ("Needs functional studies with a validated assay (Brnich 2019); enter it with the OddsPath-based "
            "strength.", ("Brnich 2019",)),
    "BS3": ("Needs well-established functional studies showing no damaging effect (Brnich 2019); enter it with "
            "the OddsPath-based strength.", ("Brnich 2019",)),
    "PS4": ("Needs case-control data or a count of affected probands (prevalence in affected individuals "
            "against controls).", ("Richards 2015",)),
    "PP2": ("Needs a gene-level list of genes with low benign missense variation where missense is a common "
            "mechanism; RareDesk holds none.", ("Richards 2015",)),
    "PP4": ("Needs the reviewer's judgement that the phenotype or family history is highly specific for the "
            "gene.", ("Richards 2015",)),
    "BP1": ("Needs a gene-level list of genes where only truncating variants cause disease.", ("Richards 2015",)),
    "BP5": ("Needs a case with an alternate molecular basis for disease, judged by the reviewer.",
            ("Richards 2015",)),
    "PP5": ("Retired by ClinGen SVI (Biesecker & Harrison 2018): a reputable source's classification is not "
            "evidence; weigh the evidence behind it instead.", ("Biesecker & Harrison 2018",)),
    "BP6": ("Retired by ClinGen SVI (Biesecker & Harrison 2018).", ("Biesecker & Harrison 2018",)),
}

#: Criteria RareDesk can suggest from annotations and genotypes, and those it never suggests.
AUTOMATIC_CODES = tuple(c for c in ACMG_2015_CODES if c not in _MANUAL)
MANUAL_CODES = tuple(c for c in ACMG_2015_CODES if c in _MANUAL)


# =============================================================================================
# All rules together
# =============================================================================================

def _post_process(out: dict[str, Suggestion], th: Thresholds, ev: VariantEvidence) -> None:
    """Remove double counting between rules (each case documented in docs/acmg.md)."""
    if out["BA1"].met and out["BS1"].met:
        s = out["BS1"]
        out["BS1"] = _not("BS1", "The frequency is already counted by BA1 (stand-alone); BS1 is not added. "
                          + s.reason, s.values, s.caveats, s.sources)
    # A common variant's biallelic occurrence says nothing about pathogenicity (PM3 needs a rare variant).
    common = [c for c in ("BA1", "BS1") if out[c].met]
    if out["PM3"].met and common:
        s = out["PM3"]
        out["PM3"] = _not("PM3", f"Too common for PM3 ({' and '.join(common)} met). " + s.reason, s.values,
                          s.caveats, s.sources)
    if out["BP7"].met and out["BP4"].met and not th.section("SpliceAI", ev.gene)["bp4_with_bp7"]:
        s = out["BP4"]
        out["BP4"] = _not("BP4", "BP7 uses the same SpliceAI score; BP4 is not added (bp4_with_bp7 is off). "
                          + s.reason, s.values, s.caveats, s.sources)
    # Pejaver 2022: PP3 + PM1 together at most Strong.
    if out["PP3"].met and out["PM1"].met:
        cat = default_catalogue()
        pp3 = cat.point_value("pathogenic", out["PP3"].strength)
        pm1 = cat.point_value("pathogenic", out["PM1"].strength)
        cap = cat.point_value("pathogenic", "Strong")
        if pp3 + pm1 > cap:
            room = cap - pp3
            fitting = [s for s in cat.criterion("PM1").allowed_strengths
                       if cat.point_value("pathogenic", s) <= room]
            s = out["PM1"]
            if fitting:
                new = fitting[-1]
                out["PM1"] = _met("PM1", new, s.reason + f" Lowered to {new}: PP3 + PM1 are capped at Strong "
                                  f"(Pejaver 2022).", s.values, s.caveats, s.sources)
            else:
                out["PM1"] = _not("PM1", s.reason + f" Not added: {out['PP3'].label} already reaches the Strong cap "
                                  f"for PP3 + PM1 (Pejaver 2022).", s.values, s.caveats, s.sources)


def evaluate(ev: VariantEvidence, thresholds: Thresholds | None = None) -> tuple[Suggestion, ...]:
    """Run every rule; one `Suggestion` per ACMG/AMP criterion, in paper order.

    Parameters
    ----------
    ev : VariantEvidence
    thresholds : Thresholds, optional
        Defaults to the packaged thresholds.

    Returns
    -------
    tuple of Suggestion
        28 suggestions; ``met`` ones carry a strength the catalogue allows.
    """
    th = thresholds or default_thresholds()
    out: dict[str, Suggestion] = {}
    out["PVS1"] = rule_pvs1(ev, th)
    out["BA1"] = rule_ba1(ev, th)
    out["BS1"] = rule_bs1(ev, th)
    out["PM2"] = rule_pm2(ev, th)
    out["BS2"] = rule_bs2(ev, th)
    out["PP3"], out["BP4"] = rule_pp3_bp4(ev, th)
    out["BP7"] = rule_bp7(ev, th)
    out["PM4"], out["BP3"] = rule_pm4_bp3(ev, th)
    out["PM1"] = rule_pm1(ev, th)
    out["PS1"], out["PM5"] = rule_ps1_pm5(ev, th)
    out["PS2"], out["PM6"] = rule_ps2_pm6(ev, th)
    out["PM3"], out["BP2"] = rule_pm3_bp2(ev, th)
    out["PP1"], out["BS4"] = rule_pp1_bs4(ev, th)
    for code, (reason, sources) in _MANUAL.items():
        out[code] = _manual(code, reason, sources)
    _post_process(out, th, ev)
    missing = set(ACMG_2015_CODES) - set(out)
    assert not missing, f"no rule for {missing}"
    cat = default_catalogue()
    for s in out.values():
        if s.met:
            # A rule proposing a strength the catalogue refuses is a bug, not user input.
            assert s.strength in cat.criterion(s.code).allowed_strengths, (s.code, s.strength)
    return tuple(out[c] for c in ACMG_2015_CODES)


@dataclass(frozen=True)
class EvidenceReport:
    """The suggestions for one variant of one case.

    Attributes
    ----------
    case : str
    vkey : str
    build : str or None
    gene, transcript, hgvsc, hgvsp : str or None
    suggestions : tuple of Suggestion
        One per criterion, paper order.
    thresholds_sha256 : str
        Fingerprint of the thresholds used.
    own_clinvar : ClinVarAssertion or None
        ClinVar's entry for the variant itself (context only; PP5 is retired).
    """

    case: str
    vkey: str
    build: str | None
    gene: str | None
    transcript: str | None
    hgvsc: str | None
    hgvsp: str | None
    suggestions: tuple[Suggestion, ...]
    thresholds_sha256: str
    own_clinvar: ClinVarAssertion | None = None

    @property
    def met(self) -> tuple[Suggestion, ...]:
        return tuple(s for s in self.suggestions if s.met)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.met)

    def get(self, code: str) -> Suggestion:
        for s in self.suggestions:
            if s.code == code:
                return s
        raise KeyError(code)

    def classification(self) -> Classification:
        """The class the met suggestions would give (all three schemes)."""
        return classify(list(self.labels))

    def to_dict(self) -> dict:
        own = None
        if self.own_clinvar is not None:
            own = {"significance": self.own_clinvar.significance, "stars": self.own_clinvar.stars,
                   "source": self.own_clinvar.source}
        return {"case": self.case, "vkey": self.vkey, "build": self.build, "gene": self.gene,
                "transcript": self.transcript, "hgvsc": self.hgvsc, "hgvsp": self.hgvsp,
                "suggested": list(self.labels), "classification": self.classification().to_dict(),
                "suggestions": [s.to_dict() for s in self.suggestions], "clinvar": own,
                "thresholds_sha256": self.thresholds_sha256}


# =============================================================================================
# Gathering evidence from a workspace
# =============================================================================================

_SCORE_COLUMNS = ("revel", "alphamissense", "cadd_phred", "polyphen_score", "sift_score", "spliceai_ds")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(cur, sql: str, params: Sequence | None = None) -> list[dict]:
    cur.execute(sql, list(params or []))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _columns(cur, table: str) -> dict[str, str]:
    return {n: t for n, t in cur.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
        "AND database_name = current_database()", [table]).fetchall()}


def _num(value: Any) -> float | None:
    if isinstance(value, (list, tuple)):
        nums = [_num(v) for v in value]
        nums = [v for v in nums if v is not None]
        return max(nums) if nums else None
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out else None  # NaN -> None


def _int(value: Any) -> int | None:
    v = _num(value)
    return None if v is None else int(v)


def _fraction(text: Any) -> tuple[int, int] | None:
    if not isinstance(text, str):
        return None
    m = re.match(r"^\s*(\d+)\s*/\s*(\d+)\s*$", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _position(text: Any) -> tuple[int | None, int | None]:
    if text is None:
        return None, None
    m = re.match(r"^\s*(\d+)(?:-\d+)?(?:\s*/\s*(\d+))?\s*$", str(text))
    if not m:
        return None, None
    return int(m.group(1)), (int(m.group(2)) if m.group(2) else None)


def _transcript(row: Mapping, *, vep_prefix: str = "vep_") -> TranscriptAnnotation:
    pos, length = _position(row.get("protein_position"))
    return TranscriptAnnotation(
        source=row.get("source") or row.get("annotation_source"),
        gene=row.get("gene"),
        transcript=row.get("transcript"),
        biotype=row.get("biotype"),
        consequences=tuple(c for c in (row.get("consequence") or "").split("&") if c),
        hgvsc=row.get("hgvsc"),
        hgvsp=row.get("hgvsp"),
        exon=_fraction(row.get("exon")),
        intron=_fraction(row.get("intron")),
        canonical=bool(row.get("canonical")),
        mane_select=row.get("mane_select"),
        protein_position=pos,
        protein_length=length,
        lof=row.get("lof"),
        lof_filter=row.get(f"{vep_prefix}LoF_filter"),
        lof_flags=row.get(f"{vep_prefix}LoF_flags"),
        lof_info=row.get(f"{vep_prefix}LoF_info"),
        domains=row.get(f"{vep_prefix}DOMAINS"),
    )


def _ci(row: Mapping, name: str) -> Any:
    """A value by case-insensitive column name (None when absent)."""
    if name in row:
        return row[name]
    low = name.lower()
    for k, v in row.items():
        if k.lower() == low:
            return v
    return None


def _frequencies(row: Mapping, th: Thresholds, *, gnomad_row: bool,
                 dataset: str = "gnomAD") -> list[PopulationFrequency]:
    """Population frequencies in one row (a case row, or a knowledge gnomAD row when ``gnomad_row``)."""
    from raredesk.store import scores as sc

    out = []
    pops = th.section("frequency")
    for p in sc.POPULATIONS:
        af = _num(row.get(f"gnomad_af_{p}"))
        an = _int(_ci(row, f"info_AN_{p}"))
        if af is None and an is None:
            continue
        out.append(PopulationFrequency(dataset, p, af, an=an, ac=_int(_ci(row, f"info_AC_{p}")),
                                       homozygotes=_int(_ci(row, f"info_Hom_{p}") if _ci(row, f"info_Hom_{p}")
                                                        is not None else _ci(row, f"info_nhomalt_{p}")),
                                       hemizygotes=_int(_ci(row, f"info_Hemi_{p}")), field=f"gnomad_af_{p}"))
    grpmax = _num(row.get("gnomad_grpmax_af"))
    if grpmax is not None:
        an = _int(_ci(row, "info_AN_POPMAX")) if _ci(row, "info_AN_POPMAX") is not None else \
            _int(_ci(row, "info_AN_grpmax"))
        pop = _ci(row, "info_POPMAX") or _ci(row, "info_grpmax")
        # Older gnomAD releases let a founder group (e.g. FIN) be the popmax: then it is not continental.
        label = f"popmax-{str(pop).lower()}" if pop and str(pop).lower() in pops["other_populations"] else "popmax"
        out.append(PopulationFrequency(dataset, label, grpmax, an=an, field="gnomad_grpmax_af"))
    glob = _num(row.get("gnomad_af"))
    hom = _int(row.get("gnomad_nhomalt"))
    an_glob = None
    hemi = None
    if gnomad_row:
        if glob is None:
            glob = _num(_ci(row, "info_AF"))
        an_glob = _int(_ci(row, "info_AN"))
        if hom is None:
            hom = _int(_ci(row, "info_nhomalt")) if _ci(row, "info_nhomalt") is not None else _int(_ci(row, "info_Hom"))
        hemi = _int(_ci(row, "info_nhemi")) if _ci(row, "info_nhemi") is not None else _int(_ci(row, "info_Hemi"))
    if glob is not None or hom is not None or hemi is not None:
        out.append(PopulationFrequency(dataset, "global", glob, an=an_glob, homozygotes=hom, hemizygotes=hemi,
                                       field="gnomad_af"))
    if not gnomad_row:
        for spec in pops["case_info_fields"]:
            v = _ci(row, f"info_{spec['field']}")
            af = _num(v)
            if af is not None:
                out.append(PopulationFrequency(spec["dataset"], spec["population"], af,
                                               field=f"info_{spec['field']}"))
    return out


# SO terms of coding or canonical-splice-region variants: exome datasets cover these, not deep introns.
_CODING_RE = ("missense|synonymous|stop_|start_|frameshift|inframe|splice_donor|splice_acceptor|splice_region|"
              "protein_altering|coding_sequence|initiator_codon")


def _region_class(consequence: str | None) -> str:
    if not consequence:
        return "unannotated"
    return "coding" if re.search(_CODING_RE, consequence) else "non-coding"


def _region_sql(region: str) -> tuple[str, list]:
    if region == "unannotated":
        return "consequence IS NULL", []
    return "consequence IS NOT NULL AND regexp_matches(consequence, ?) = ?", [_CODING_RE, region == "coding"]


def _frequency_coverage(cur, table: str, cols: Mapping[str, str], th: Thresholds, chrom: str,
                        region: str) -> dict[str, int]:
    """Dataset -> number of the case's variants on ``chrom`` of the same region class with a value from it.

    Counted per chromosome and per region class (coding vs non-coding): a dataset without MT
    (ExAC), a file cut to one chromosome, or an exome dataset without deep introns must not
    make a variant it never looked at seem "absent"."""
    from raredesk.store import scores as sc

    groups: dict[str, list[str]] = {"gnomAD": []}
    for c in ["gnomad_af", "gnomad_grpmax_af"] + [f"gnomad_af_{p}" for p in sc.POPULATIONS]:
        if c in cols:
            groups["gnomAD"].append(c)
    lower = {k.lower(): k for k in cols}
    for spec in th.section("frequency")["case_info_fields"]:
        col = lower.get(f"info_{spec['field']}".lower())
        # Only datasets that count as controls (global or popmax values) can show absence.
        if col and spec["population"] in ("global", "popmax"):
            groups.setdefault(spec["dataset"], []).append(col)
    parts = []
    names = []
    for dataset, columns in groups.items():
        if not columns:
            continue
        cond = " OR ".join(f"{_q(c)} IS NOT NULL" for c in columns)
        parts.append(f"count(*) FILTER (WHERE {cond})")
        names.append(dataset)
    if not parts:
        return {}
    cond, params = _region_sql(region)
    row = cur.execute(f"SELECT {', '.join(parts)} FROM {_q(table)} WHERE chrom = ? AND {cond}",
                      [chrom, *params]).fetchone()
    return dict(zip(names, (int(x) for x in row)))


def _knowledge_gnomad_rows(cur, case_id: int, vkey: str) -> list[dict]:
    """Rows for ``vkey`` in the knowledge gnomAD sources joined into this case (for AN, Hom, Hemi)."""
    from raredesk.store.importer import variants_table

    out = []
    sources = cur.execute(
        "SELECT DISTINCT ks.sha256 FROM case_annotations ca JOIN knowledge_sources ks USING (source_id) "
        "WHERE ca.case_id = ? AND ks.kind = 'gnomad'", [case_id]).fetchall()
    for (sha,) in sources:
        kc = cur.execute("SELECT case_id FROM cases WHERE name = ?", [f"knowledge:gnomad:{sha[:16]}"]).fetchone()
        if kc:
            out += _rows(cur, f"SELECT * FROM {_q(variants_table(kc[0]))} WHERE vkey = ?", [vkey])
    return out


def _case_tables(cur, build: str | None) -> list[tuple[int, str, str | None]]:
    """(case_id, name, build) of every case whose build is compatible with ``build``."""
    rows = cur.execute("SELECT case_id, name, build FROM cases ORDER BY case_id").fetchall()
    return [(cid, name, b) for cid, name, b in rows if build is None or b is None or b == build]


def _clinvar_label(cur, name: str, cache: dict) -> str:
    if name in cache:
        return cache[name]
    label = f"ClinVar (case {name})"
    if name.startswith("knowledge:clinvar:"):
        row = cur.execute("SELECT file_date FROM knowledge_sources WHERE kind = 'clinvar' AND sha256 LIKE ?",
                          [name.split(":")[-1] + "%"]).fetchone()
        label = f"ClinVar {row[0]}" if row and row[0] else "ClinVar (local file)"
    cache[name] = label
    return label


def _clinvar_index(cur, build: str | None, gene: str | None, case_id: int) -> tuple[list[ClinVarAssertion], bool]:
    """ClinVar assertions for ``gene`` across the workspace, with any protein change known for each variant."""
    from raredesk.store.importer import record_id_of, transcripts_table, variants_table

    if not gene:
        return [], False
    loaded = False
    raw: dict[tuple[str, str], dict] = {}
    labels: dict[str, str] = {}
    tables = _case_tables(cur, build)
    for cid, name, _b in tables:
        table = variants_table(cid)
        cols = _columns(cur, table)
        if "clinvar_sig" not in cols:
            continue
        if cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM {_q(table)} WHERE clinvar_sig IS NOT NULL LIMIT 1)"
                       ).fetchone()[0]:
            loaded = True
        gene_cond = ["gene = ?"]
        params: list[Any] = [gene]
        if "genes" in cols:
            gene_cond.append("list_contains(genes, ?)")
            params.append(gene)
        if "info_GENEINFO" in cols:
            gene_cond.append("info_GENEINFO LIKE ? OR info_GENEINFO LIKE ?")
            params += [f"{gene}:%", f"%|{gene}:%"]
        mc = "info_MC" if "info_MC" in cols else "NULL"
        rows = _rows(cur, f"SELECT vkey, clinvar_sig, clinvar_stars, coalesce(clinvar_id, vcf_id) AS ref, "
                          f"consequence, {mc} AS mc FROM {_q(table)} WHERE clinvar_sig IS NOT NULL AND "
                          f"({' OR '.join(gene_cond)})", params)
        label = _clinvar_label(cur, name, labels)
        for r in rows:
            key = (r["vkey"], label)
            mc_text = r["mc"]
            if isinstance(mc_text, list):
                mc_text = ",".join(mc_text)
            cons = r["consequence"] or (re.sub(r"SO:\d+\|", "", mc_text) if mc_text else None)
            raw.setdefault(key, {"vkey": r["vkey"], "sig": r["clinvar_sig"], "stars": r["clinvar_stars"],
                                 "ref": r["ref"], "consequence": cons, "source": label})
    if not raw:
        return [], loaded
    # Protein changes for those variants, from any annotated case of the workspace.
    vkeys = sorted({k[0] for k in raw})
    changes: dict[str, set[tuple[str, str]]] = {}
    for cid, _name, _b in tables:
        vt, tt = variants_table(cid), transcripts_table(cid)
        if not _columns(cur, tt):
            continue
        ids = {r[0]: r[1] for r in cur.execute(
            f"SELECT variant_id, vkey FROM {_q(vt)} WHERE vkey IN (SELECT unnest(?::VARCHAR[]))", [vkeys]).fetchall()}
        if not ids:
            continue
        # the transcripts view is read fast through record_id (see raredesk.store.annotations)
        records = sorted({record_id_of(v) for v in ids})
        for r in cur.execute(
                f"SELECT variant_id, transcript, hgvsp FROM {_q(tt)} WHERE record_id IN ({', '.join(map(str, records))}) "
                f"AND hgvsp IS NOT NULL AND transcript IS NOT NULL").fetchall():
            if r[0] in ids:
                changes.setdefault(ids[r[0]], set()).add((_unversioned(r[1]), r[2]))
    out = []
    for (vkey, label), r in sorted(raw.items()):
        out.append(ClinVarAssertion(vkey=vkey, gene=gene, significance=r["sig"], stars=r["stars"], source=label,
                                    changes=tuple(sorted(changes.get(vkey, ()))), consequence=r["consequence"],
                                    reference=r["ref"]))
    return out, loaded


def _knowledge_comparators(cur, build: str | None, gene: str | None) -> list[ClinVarAssertion]:
    from raredesk.acmg import knowledge

    if not gene:
        return []
    out = []
    for prior in knowledge.latest_classifications(cur, build, gene=gene):
        if not prior.final_class:
            continue
        changes = ((_unversioned(prior.transcript), prior.hgvsp),) if prior.transcript and prior.hgvsp else ()
        out.append(ClinVarAssertion(vkey=prior.vkey, gene=gene, significance=prior.final_class, stars=None,
                                    source="RareDesk knowledge base", changes=changes,
                                    reference=f"classification {prior.classification_id} ({prior.case_name}, "
                                              f"{prior.status})"))
    return out


def _calls(row: Mapping, case) -> list[GenotypeCall]:
    out = []
    for s in case.samples:
        k = s.sample_index
        if k is None or f"s{k}_gt" not in row:
            continue
        out.append(GenotypeCall(
            sample_id=s.sample_id, role=s.role, sex=s.sex, affected=s.affected, gt=_int(row.get(f"s{k}_gt")),
            gt_raw=row.get(f"s{k}_gt_raw"), phased=bool(row.get(f"s{k}_phased")), ps=_int(row.get(f"s{k}_ps")),
            ad_ref=_int(row.get(f"s{k}_ad_ref")), ad_alt=_int(row.get(f"s{k}_ad_alt")),
            dp=_int(row.get(f"s{k}_dp")), gq=_int(row.get(f"s{k}_gq"))))
    return out


def _proband_id(case) -> str | None:
    for s in case.samples:
        if s.role == "proband" and s.sample_index is not None:
            return s.sample_id
    if case.proband and any(s.sample_id == case.proband and s.sample_index is not None for s in case.samples):
        return case.proband
    genotyped = [s for s in case.samples if s.sample_index is not None]
    return genotyped[0].sample_id if len(genotyped) == 1 else None


def _parentage(cur, table: str, case, proband: str | None, th: Thresholds) -> list[ParentageCheck]:
    if proband is None:
        return []
    gq = th.section("genotype_quality")
    p = next(s for s in case.samples if s.sample_id == proband)
    out = []
    for s in case.samples:
        if s.role not in ("father", "mother") or s.sample_index is None:
            continue
        a, b = f"s{s.sample_index}", f"s{p.sample_index}"
        good = (f"{a}_gt IS NOT NULL AND {b}_gt IS NOT NULL AND {a}_dp >= {int(gq['min_dp'])} AND "
                f"{b}_dp >= {int(gq['min_dp'])} AND {a}_gq >= {int(gq['min_gq'])} AND {b}_gq >= {int(gq['min_gq'])} "
                f"AND chrom NOT IN ('X', 'Y', 'MT')")
        informative, inconsistent = cur.execute(
            f"SELECT count(*) FILTER (WHERE {a}_gt = 2 OR {b}_gt = 2), "
            f"count(*) FILTER (WHERE ({a}_gt = 2 AND {b}_gt = 0) OR ({a}_gt = 0 AND {b}_gt = 2)) "
            f"FROM {_q(table)} WHERE {good}").fetchone()
        out.append(ParentageCheck(s.sample_id, int(informative), int(inconsistent)))
    return out


def normalise_key(text: str) -> str:
    """A user-typed variant key in the store's form ``chrom:pos:ref:alt``.

    Accepts ``chr1-100-A-G``, ``1:100:A:G``, ``chrM_...``; trims shared
    bases the same way the importer does (suffix first, then prefix).

    Examples
    --------
    >>> normalise_key("chr1-949392-C-T")
    '1:949392:C:T'
    >>> normalise_key("1:100:CTT:CT")
    '1:100:CT:C'
    """
    from raredesk.io.genome import canonical_contig

    parts = [p for p in re.split(r"[:\-_\s]+", text.strip()) if p]
    if len(parts) != 4 or not parts[1].isdigit():
        raise RareDeskError(f"variant key {text!r} is not chrom:pos:ref:alt (e.g. 1:949392:C:T)")
    chrom, pos, ref, alt = canonical_contig(parts[0]), int(parts[1]), parts[2].upper(), parts[3].upper()
    if not re.fullmatch(r"[ACGTN]+", ref) or not re.fullmatch(r"[ACGTN*]+", alt):
        return f"{chrom}:{pos}:{ref}:{alt}"
    if len(ref) > 1 or len(alt) > 1:
        sfx = 0
        while sfx < min(len(ref), len(alt)) - 1 and ref[-1 - sfx] == alt[-1 - sfx]:
            sfx += 1
        ref, alt = ref[: len(ref) - sfx], alt[: len(alt) - sfx]
        pfx = 0
        while pfx < min(len(ref), len(alt)) - 1 and ref[pfx] == alt[pfx]:
            pfx += 1
        ref, alt, pos = ref[pfx:], alt[pfx:], pos + pfx
    return f"{chrom}:{pos}:{ref}:{alt}"


def find_variant_row(cur, case, key: str | int) -> dict:
    """The variants-table row of ``key`` (a variant key or a variant_id) in ``case``."""
    table = case.table
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        rows = _rows(cur, f"SELECT * FROM {_q(table)} WHERE variant_id = ?", [int(key)])
        if rows:
            return rows[0]
    vkey = normalise_key(str(key))
    rows = _rows(cur, f"SELECT * FROM {_q(table)} WHERE vkey = ? ORDER BY variant_id LIMIT 1", [vkey])
    if not rows:
        raise RareDeskError(f"case {case.name!r} has no variant {vkey}")
    return rows[0]


def gather_evidence(cur, case_name: str, key: str | int, thresholds: Thresholds | None = None, *,
                    parentage_confirmed: bool | None = None, phenotype_fit: str | None = None,
                    segregation_meioses: int | None = None) -> VariantEvidence:
    """Read everything the rules need about one variant of a stored case.

    Parameters
    ----------
    cur : duckdb cursor
        From ``Workspace.cursor()``.
    case_name : str
    key : str or int
        Variant key (``1:949392:C:T``, ``chr1-949392-C-T``) or variant_id.
    thresholds : Thresholds, optional
    parentage_confirmed : bool, optional
        The reviewer's statement on parentage (None: decided from genotypes).
    phenotype_fit : str, optional
        ``highly_specific``, ``consistent``, ``non_specific`` or ``inconsistent``.
    segregation_meioses : int, optional
        Co-segregating meioses counted by the reviewer.

    Returns
    -------
    VariantEvidence
    """
    from raredesk.store.cases import get_case
    from raredesk.store.importer import record_id_of, transcripts_table

    th = thresholds or default_thresholds()
    case = get_case(cur, case_name)
    row = find_variant_row(cur, case, key)
    vkey = row["vkey"]
    cols = _columns(cur, case.table)
    tt = transcripts_table(case.case_id)
    tcols = _columns(cur, tt)
    transcripts = []
    raw_tx: list[dict] = []
    if tcols:
        raw_tx = _rows(cur, f"SELECT * FROM {_q(tt)} WHERE record_id = ? AND variant_id = ? ORDER BY entry_index",
                       [record_id_of(row["variant_id"]), row["variant_id"]])
        transcripts = [_transcript(r) for r in raw_tx]
    picked = None
    if row.get("transcript") or row.get("consequence"):
        match = next((r for r in raw_tx if r.get("transcript") == row.get("transcript")
                      and (r.get("source") == row.get("annotation_source") or not row.get("annotation_source"))),
                     None)
        merged = dict(match or {})
        for k in ("gene", "transcript", "biotype", "consequence", "hgvsc", "hgvsp", "exon", "intron", "canonical",
                  "mane_select"):
            if row.get(k) is not None or k not in merged:
                merged[k] = row.get(k)
        merged.setdefault("source", row.get("annotation_source"))
        picked = _transcript(merged)
    elif "info_MC" in cols and row.get("info_MC"):
        # Sites-only ClinVar: the molecular consequence is all there is.
        mc = row["info_MC"] if isinstance(row["info_MC"], list) else [row["info_MC"]]
        cons = "&".join(sorted({re.sub(r"^SO:\d+\|", "", m) for m in mc if m}))
        gene = (row.get("info_GENEINFO") or "").split(":", 1)[0] or None
        picked = TranscriptAnnotation(source="ClinVar MC", gene=gene, transcript=None, biotype=None,
                                      consequences=tuple(c.replace("nonsense", "stop_gained")
                                                         for c in cons.split("&") if c))
    scores = {c: _num(row.get(c)) for c in _SCORE_COLUMNS}
    # Fill from the picked transcript's own scores where the row has none.
    if picked and raw_tx:
        tx = next((r for r in raw_tx if r.get("transcript") == picked.transcript), None)
        for c in _SCORE_COLUMNS:
            if scores.get(c) is None and tx is not None and tx.get(c) is not None:
                scores[c] = _num(tx.get(c))
    uncalibrated = {}
    picked_raw = [r for r in raw_tx if picked is not None and r.get("transcript") == picked.transcript][:1]
    for r in picked_raw + [row]:
        for k, v in r.items():
            if re.search(r"rank_?score", k, re.IGNORECASE) and _num(v) is not None:
                uncalibrated[re.sub(r"^(vep_|info_)", "", k)] = _num(v)
    region = _region_class(row.get("consequence"))
    cond, cond_params = _region_sql(region)
    n_case, n_chrom = cur.execute(
        f"SELECT count(*), count(*) FILTER (WHERE chrom = ? AND {cond}) FROM {_q(case.table)}",
        [row["chrom"], *cond_params]).fetchone()
    coverage = {}
    present = [c for c in _SCORE_COLUMNS if c in cols]
    if present:
        counts = cur.execute("SELECT " + ", ".join(f"count({_q(c)})" for c in present) +
                             f" FROM {_q(case.table)}").fetchone()
        coverage.update(dict(zip(present, (int(x) for x in counts))))
    if "vep_DOMAINS" in tcols:
        coverage["domains"] = int(cur.execute(f"SELECT count(DISTINCT variant_id) FROM {_q(tt)} WHERE vep_DOMAINS "
                                              f"IS NOT NULL").fetchone()[0])
    frequencies = _frequencies(row, th, gnomad_row=False)
    for krow in _knowledge_gnomad_rows(cur, case.case_id, vkey):
        extra = _frequencies(krow, th, gnomad_row=True)
        known = {(f.dataset, f.population) for f in frequencies}
        merged_freqs = []
        for f in frequencies:
            better = next((e for e in extra if (e.dataset, e.population) == (f.dataset, f.population)), None)
            merged_freqs.append(f if better is None else PopulationFrequency(
                f.dataset, f.population, f.af if f.af is not None else better.af, better.an or f.an,
                better.ac or f.ac, f.homozygotes if f.homozygotes is not None else better.homozygotes,
                f.hemizygotes if f.hemizygotes is not None else better.hemizygotes, f.field))
        frequencies = merged_freqs + [e for e in extra if (e.dataset, e.population) not in known]
    fcov = _frequency_coverage(cur, case.table, cols, th, row["chrom"], region)
    proband = _proband_id(case)
    gene = picked.gene if picked else row.get("gene")
    clinvar, loaded = _clinvar_index(cur, case.build, gene, case.case_id)
    kb = _knowledge_comparators(cur, case.build, gene)
    own = None
    if row.get("clinvar_sig"):
        own = ClinVarAssertion(vkey, gene, row["clinvar_sig"], _int(row.get("clinvar_stars")),
                               row.get("clinvar_source") or "ClinVar", reference=row.get("clinvar_id"))
    # Other variants of the gene carried by the proband (PM3/BP2).
    others: list[OtherVariant] = []
    if gene and proband:
        pidx = next(s.sample_index for s in case.samples if s.sample_id == proband)
        orows = _rows(cur, f"SELECT * FROM {_q(case.table)} WHERE gene = ? AND vkey <> ? AND s{pidx}_gt >= 1 "
                           f"ORDER BY pos", [gene, vkey])
        from raredesk.acmg import knowledge

        kb_classes = knowledge.latest_class_by_vkey(cur, case.build, [r["vkey"] for r in orows])
        min_stars = th.section("PS1_PM5", gene)["clinvar_min_stars"]
        cv_by_key = {}
        for a in clinvar:
            if (a.stars or 0) >= min_stars and a.tier in ("P", "LP"):
                cv_by_key.setdefault(a.vkey, a)
        for r in orows:
            cls, src = None, None
            if r["vkey"] in kb_classes:
                cls, src = kb_classes[r["vkey"]]
            else:
                tier = significance_tier(r.get("clinvar_sig"))
                stars = _int(r.get("clinvar_stars")) or 0
                if tier in ("P", "LP") and stars >= min_stars:
                    cls, src = _tier_name(tier), f"ClinVar ({stars} star(s))"
                elif r["vkey"] in cv_by_key:
                    a = cv_by_key[r["vkey"]]
                    cls, src = _tier_name(a.tier), a.source
            others.append(OtherVariant(r["vkey"], r.get("hgvsp"), tuple(_calls(r, case)), cls, src))
    repeat = None
    repeat_annotated = False
    lower = {k.lower(): k for k in list(cols) + list(tcols)}
    for name in th.section("PM4_BP3", gene)["repeat_fields"]:
        for prefix in ("info_", "vep_", ""):
            col = lower.get(f"{prefix}{name}".lower())
            if col is None:
                continue
            repeat_annotated = True
            value = row.get(col)
            if value is None and raw_tx:
                value = next((r.get(col) for r in raw_tx if r.get(col)), None)
            if value not in (None, "", []):
                repeat = str(value)
    return VariantEvidence(
        vkey=vkey, chrom=row["chrom"], pos=int(row["pos"]), ref=row["ref"], alt=row["alt"], build=case.build,
        vtype=row.get("vtype"), picked=picked, transcripts=transcripts, scores=scores, uncalibrated=uncalibrated,
        frequencies=frequencies, frequency_coverage=fcov, annotation_coverage=coverage,
        genotypes=_calls(row, case), proband=proband,
        parentage=_parentage(cur, case.table, case, proband, th), parentage_confirmed=parentage_confirmed,
        clinvar=clinvar + kb, clinvar_loaded=loaded or bool(kb), own_clinvar=own, other_variants=others,
        phenotype_fit=phenotype_fit, segregation_meioses=segregation_meioses, repeat=repeat,
        repeat_annotated=repeat_annotated, n_case_variants=int(n_case), n_chrom_variants=int(n_chrom),
        region=region)


def suggest_for_variant(cur, case_name: str, key: str | int, thresholds: Thresholds | None = None,
                        **options: Any) -> EvidenceReport:
    """Gather the evidence for one variant of a case and run every rule.

    Parameters
    ----------
    cur : duckdb cursor
    case_name : str
    key : str or int
        Variant key or variant_id.
    thresholds : Thresholds, optional
    **options
        Passed to `gather_evidence` (``parentage_confirmed``, ``phenotype_fit``,
        ``segregation_meioses``).

    Returns
    -------
    EvidenceReport
    """
    th = thresholds or default_thresholds()
    ev = gather_evidence(cur, case_name, key, th, **options)
    t = ev.picked
    return EvidenceReport(case=case_name, vkey=ev.vkey, build=ev.build, gene=ev.gene,
                          transcript=t.transcript if t else None, hgvsc=t.hgvsc if t else None,
                          hgvsp=t.hgvsp if t else None, suggestions=evaluate(ev, th),
                          thresholds_sha256=th.fingerprint(), own_clinvar=ev.own_clinvar)
