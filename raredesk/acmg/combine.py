"""Combine applied ACMG/AMP criteria into a classification.

Three schemes are computed side by side for every criteria set:

``rules``
    Richards 2015 Table 5, as written.
``rules_svi``
    The same rules plus the ClinGen SVI PM2 v1.0 amendment: PVS1 + PM2_Supporting,
    which meets no 2015 rule, is Likely pathogenic.
``points``
    Tavtigian 2020 points (Supporting 1, Moderate 2, Strong 4, Very strong 8;
    benign negative) with its class bands. This is the default scheme
    (`DEFAULT_SCHEME`); ``docs/acmg.md`` says why.

Choices the papers leave open, made here and documented in ``docs/acmg.md``:

- A strength-modified code counts at its applied strength (``PVS1_Strong`` is a
  Strong item, ``PP3_Moderate`` a Moderate one).
- A stronger item may fill a weaker slot of a rule. With at most one Very strong
  item this never changes a Table 5 result (the tests check it); it matters only for
  two Very strong items (e.g. PVS1 + PS2_VeryStrong), which then meet P (i)(a).
- Table 5 has no benign Moderate level; benign Moderate items (BP4_Moderate,
  BS3_Moderate) count as supporting-level benign items in the rules.
- "Contradictory" evidence (Uncertain significance (ii)) means that a pathogenic and
  a benign class are both reached. Evidence in both directions where only one side
  reaches a class keeps that class, and the result says there is a conflict.
- BA1 has no point value. In the points scheme it overrides to Benign; in the rules
  it is Benign (i), so with a pathogenic class it is contradictory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from raredesk.acmg.catalogue import BENIGN, PATHOGENIC, STRENGTHS, Catalogue, default_catalogue
from raredesk.errors import RareDeskError

__all__ = [
    "CLASS_PATHOGENIC",
    "CLASS_LIKELY_PATHOGENIC",
    "CLASS_UNCERTAIN",
    "CLASS_LIKELY_BENIGN",
    "CLASS_BENIGN",
    "CLASSES",
    "DEFAULT_SCHEME",
    "SCHEMES",
    "AppliedCriterion",
    "Classification",
    "CriterionError",
    "PointsResult",
    "RulesResult",
    "classify",
    "classify_points",
    "classify_rules",
    "parse_criteria",
    "parse_criterion",
    "points_class",
]

CLASS_PATHOGENIC = "Pathogenic"
CLASS_LIKELY_PATHOGENIC = "Likely pathogenic"
CLASS_UNCERTAIN = "Uncertain significance"
CLASS_LIKELY_BENIGN = "Likely benign"
CLASS_BENIGN = "Benign"
#: The five classes, most pathogenic first, spelled as in Richards 2015.
CLASSES = (CLASS_PATHOGENIC, CLASS_LIKELY_PATHOGENIC, CLASS_UNCERTAIN, CLASS_LIKELY_BENIGN, CLASS_BENIGN)

SCHEMES = ("rules", "rules_svi", "points")
#: The scheme whose class RareDesk reports as *the* class (see docs/acmg.md).
DEFAULT_SCHEME = "points"

# Tavtigian 2020 Table 3 class bands (lowest score of each band); below the LB band is Benign.
_POINTS_BANDS = (
    (10, CLASS_PATHOGENIC, ">= 10"),
    (6, CLASS_LIKELY_PATHOGENIC, "6 to 9"),
    (0, CLASS_UNCERTAIN, "0 to 5"),
    (-6, CLASS_LIKELY_BENIGN, "-1 to -6"),
)
_BENIGN_BAND = "<= -7"

_RANK = {s: i for i, s in enumerate(STRENGTHS)}
_TOKEN_RE = re.compile(r"^([A-Za-z]+[0-9]+)(?:_([A-Za-z]+))?$")
_SPLIT_RE = re.compile(r"[,\s]+")
_SUFFIXES = {s.lower(): s for s in STRENGTHS}


class CriterionError(RareDeskError):
    """A criterion code the engine cannot accept (unknown, disallowed strength, repeated)."""


@dataclass(frozen=True)
class AppliedCriterion:
    """A criterion applied at a strength.

    Attributes
    ----------
    code : str
        Upper-case 2015 code, e.g. ``"PM2"``.
    strength : str
        Applied strength, one of ``STRENGTHS``.
    direction : str
        ``"pathogenic"`` or ``"benign"``.
    base_strength : str
        The Richards 2015 strength of the code, which decides how `label` is written.
    """

    code: str
    strength: str
    direction: str
    base_strength: str

    @property
    def label(self) -> str:
        """Normalised spelling: the bare code at its 2015 strength, else ``CODE_Strength``."""
        return self.code if self.strength == self.base_strength else f"{self.code}_{self.strength}"

    def __str__(self) -> str:
        return self.label


def parse_criterion(text: str, catalogue: Catalogue | None = None) -> AppliedCriterion:
    """Parse one code such as ``"PVS1"``, ``"PM2_Supporting"`` or ``"BA1_StandAlone"``.

    Codes and suffixes are case-insensitive. A bare code means the Richards 2015
    strength (ClinGen SVI nomenclature), so ``"PM2"`` is PM2 at Moderate.

    Parameters
    ----------
    text : str
        The code, optionally with ``_Supporting``, ``_Moderate``, ``_Strong``,
        ``_VeryStrong`` or (BA1 only) ``_StandAlone``.
    catalogue : Catalogue, optional
        Defaults to the packaged catalogue.

    Returns
    -------
    AppliedCriterion

    Raises
    ------
    CriterionError
        If the code is unknown or the strength is not allowed for it.
    """
    cat = catalogue or default_catalogue()
    token = text.strip()
    match = _TOKEN_RE.match(token)
    if not match:
        raise CriterionError(f"cannot read criterion {token!r}: expected CODE or CODE_Strength, e.g. PM2_Supporting")
    code = match.group(1).upper()
    if code not in cat:
        raise CriterionError(f"unknown ACMG criterion {token!r} (the 28 ACMG/AMP 2015 codes are PVS1, PS1-PS4, "
                             f"PM1-PM6, PP1-PP5, BA1, BS1-BS4, BP1-BP7)")
    criterion = cat.criterion(code)
    suffix = match.group(2)
    if suffix is None:
        strength = criterion.base_strength
    else:
        strength = _SUFFIXES.get(suffix.lower())
        if strength is None:
            raise CriterionError(f"unknown strength {suffix!r} in {token!r} (use Supporting, Moderate, Strong, "
                                 f"VeryStrong, or StandAlone for BA1)")
    if strength not in criterion.allowed_strengths:
        raise CriterionError(f"{code} cannot be applied at {strength} ({token!r}); allowed: "
                             f"{', '.join(criterion.allowed_strengths)}")
    return AppliedCriterion(code, strength, criterion.direction, criterion.base_strength)


def parse_criteria(criteria: str | Iterable[str | AppliedCriterion],
                   catalogue: Catalogue | None = None) -> tuple[AppliedCriterion, ...]:
    """Parse and check a criteria set.

    Parameters
    ----------
    criteria : str or iterable of (str or AppliedCriterion)
        A comma- (or space-) separated string, or codes one by one. An empty string
        is the empty set.
    catalogue : Catalogue, optional
        Defaults to the packaged catalogue.

    Returns
    -------
    tuple of AppliedCriterion
        In catalogue (paper) order, so that equal sets compare and print equal.

    Raises
    ------
    CriterionError
        For an unknown code, a disallowed strength, or a criterion given twice
        (each criterion is applied once, at one strength).
    """
    cat = catalogue or default_catalogue()
    if isinstance(criteria, str):
        items: list[str | AppliedCriterion] = [t for t in _SPLIT_RE.split(criteria) if t]
    else:
        items = list(criteria)
    parsed: dict[str, AppliedCriterion] = {}
    for item in items:
        if isinstance(item, AppliedCriterion):
            applied = item
            if applied.code not in cat or applied.strength not in cat.criterion(applied.code).allowed_strengths:
                # Re-check against this catalogue: the object may come from another one.
                applied = parse_criterion(f"{applied.code}_{applied.strength}", cat)
        elif isinstance(item, str):
            applied = parse_criterion(item, cat)
        else:
            raise CriterionError(f"criterion must be text, not {type(item).__name__}")
        if applied.code in parsed:
            raise CriterionError(f"{applied.code} is given twice ({parsed[applied.code].label}, {applied.label}); "
                                 f"apply each criterion once, at one strength")
        parsed[applied.code] = applied
    order = {code: i for i, code in enumerate(cat.codes)}
    return tuple(sorted(parsed.values(), key=lambda a: order[a.code]))


# --- Richards 2015 Table 5 ------------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    name: str            # as numbered in Table 5, e.g. "Likely pathogenic (ii)"
    classification: str
    needs: Mapping[str, int]   # minimum items per strength (stronger items may fill weaker slots)
    text: str            # plain-English statement of the rule


def _rule(classification: str, number: str, text: str, **needs: int) -> _Rule:
    return _Rule(f"{classification} {number}", classification, needs, text)


# Table 5 bounds such as "1 Strong" or "1-2 Moderate" are read as minimums: every
# set above a likely-pathogenic upper bound already meets a Pathogenic rule, and the
# Pathogenic rules are tried first, so the result is the same and the code stays flat.
_PATHOGENIC_RULES = (
    _rule(CLASS_PATHOGENIC, "(i)(a)", "1 Very strong and >=1 Strong", VeryStrong=1, Strong=1),
    _rule(CLASS_PATHOGENIC, "(i)(b)", "1 Very strong and >=2 Moderate", VeryStrong=1, Moderate=2),
    _rule(CLASS_PATHOGENIC, "(i)(c)", "1 Very strong, 1 Moderate and 1 Supporting", VeryStrong=1, Moderate=1,
          Supporting=1),
    _rule(CLASS_PATHOGENIC, "(i)(d)", "1 Very strong and >=2 Supporting", VeryStrong=1, Supporting=2),
    _rule(CLASS_PATHOGENIC, "(ii)", ">=2 Strong", Strong=2),
    _rule(CLASS_PATHOGENIC, "(iii)(a)", "1 Strong and >=3 Moderate", Strong=1, Moderate=3),
    _rule(CLASS_PATHOGENIC, "(iii)(b)", "1 Strong, 2 Moderate and >=2 Supporting", Strong=1, Moderate=2,
          Supporting=2),
    _rule(CLASS_PATHOGENIC, "(iii)(c)", "1 Strong, 1 Moderate and >=4 Supporting", Strong=1, Moderate=1,
          Supporting=4),
    _rule(CLASS_LIKELY_PATHOGENIC, "(i)", "1 Very strong and 1 Moderate", VeryStrong=1, Moderate=1),
    _rule(CLASS_LIKELY_PATHOGENIC, "(ii)", "1 Strong and 1-2 Moderate", Strong=1, Moderate=1),
    _rule(CLASS_LIKELY_PATHOGENIC, "(iii)", "1 Strong and >=2 Supporting", Strong=1, Supporting=2),
    _rule(CLASS_LIKELY_PATHOGENIC, "(iv)", ">=3 Moderate", Moderate=3),
    _rule(CLASS_LIKELY_PATHOGENIC, "(v)", "2 Moderate and >=2 Supporting", Moderate=2, Supporting=2),
    _rule(CLASS_LIKELY_PATHOGENIC, "(vi)", "1 Moderate and >=4 Supporting", Moderate=1, Supporting=4),
)
_BENIGN_RULES = (
    _rule(CLASS_BENIGN, "(i)", "1 Stand-alone (BA1)", StandAlone=1),
    _rule(CLASS_BENIGN, "(ii)", ">=2 Strong benign", Strong=2),
    _rule(CLASS_LIKELY_BENIGN, "(i)", "1 Strong and 1 Supporting benign", Strong=1, Supporting=1),
    _rule(CLASS_LIKELY_BENIGN, "(ii)", ">=2 Supporting benign", Supporting=2),
)
_SVI_PM2_RULE = _Rule("SVI PM2 v1.0", CLASS_LIKELY_PATHOGENIC, {}, "PVS1 + PM2_Supporting is Likely pathogenic")
_VUS_NONE = f"{CLASS_UNCERTAIN} (i)"
_VUS_CONTRADICTORY = f"{CLASS_UNCERTAIN} (ii)"

_RULE_TEXT = {r.name: r.text for r in (*_PATHOGENIC_RULES, *_BENIGN_RULES, _SVI_PM2_RULE)}
_RULE_TEXT[_VUS_NONE] = "no rule met"
_RULE_TEXT[_VUS_CONTRADICTORY] = "pathogenic and benign classes both met"


def _meets(counts: Mapping[str, int], needs: Mapping[str, int]) -> bool:
    # Strengths form a chain, so "every slot can take an item at least as strong"
    # reduces to: going from the strongest level down, the items seen so far always
    # cover the slots seen so far (Hall's condition on nested sets).
    surplus = 0
    for strength in reversed(STRENGTHS):
        surplus += counts.get(strength, 0) - needs.get(strength, 0)
        if surplus < 0:
            return False
    return True


def _first_rule(rules: Iterable[_Rule], counts: Mapping[str, int]) -> _Rule | None:
    return next((r for r in rules if _meets(counts, r.needs)), None)


@dataclass(frozen=True)
class RulesResult:
    """Outcome of the Richards 2015 rules (optionally with the SVI PM2 amendment).

    Attributes
    ----------
    classification : str
        One of `CLASSES`.
    rule : str
        The rule that gave the class, e.g. ``"Likely pathogenic (ii)"``,
        ``"SVI PM2 v1.0"``, ``"Uncertain significance (i)"`` (none met) or
        ``"Uncertain significance (ii)"`` (contradictory).
    pathogenic_rule : str or None
        First pathogenic-side rule met, if any.
    benign_rule : str or None
        First benign-side rule met, if any.
    svi : bool
        Whether the SVI PM2 amendment was in force.
    svi_amendment_applied : bool
        Whether the amendment is what made the pathogenic side reach a class.
    """

    classification: str
    rule: str
    pathogenic_rule: str | None
    benign_rule: str | None
    svi: bool
    svi_amendment_applied: bool

    @property
    def contradictory(self) -> bool:
        return self.pathogenic_rule is not None and self.benign_rule is not None

    @property
    def rule_text(self) -> str:
        """Plain-English statement of `rule`."""
        return _RULE_TEXT[self.rule]


def _coerce(criteria, catalogue: Catalogue | None) -> tuple[AppliedCriterion, ...]:
    # Always re-validate: AppliedCriterion objects may come from another catalogue.
    return parse_criteria(criteria, catalogue)


def classify_rules(criteria: str | Iterable[str | AppliedCriterion], svi: bool = False,
                   catalogue: Catalogue | None = None) -> RulesResult:
    """Classify with Richards 2015 Table 5.

    Parameters
    ----------
    criteria : str or iterable of (str or AppliedCriterion)
        The applied criteria (see `parse_criteria`).
    svi : bool, default False
        Add the ClinGen SVI PM2 v1.0 amendment: PVS1 (at Very strong) with
        PM2_Supporting, which meets no 2015 rule, is Likely pathogenic.
    catalogue : Catalogue, optional
        Defaults to the packaged catalogue.

    Returns
    -------
    RulesResult
    """
    applied = _coerce(criteria, catalogue)
    pathogenic: dict[str, int] = {}
    benign: dict[str, int] = {}
    for a in applied:
        if a.direction == PATHOGENIC:
            pathogenic[a.strength] = pathogenic.get(a.strength, 0) + 1
        else:
            # Table 5 knows no benign Moderate; such items count at the supporting level.
            level = "Supporting" if a.strength == "Moderate" else a.strength
            benign[level] = benign.get(level, 0) + 1

    p_rule = _first_rule(_PATHOGENIC_RULES, pathogenic)
    amended = False
    if p_rule is None and svi:
        labels = {a.label for a in applied}
        # Only reachable when PVS1 and PM2_Supporting are the sole pathogenic items:
        # adding any other pathogenic item meets P (i)(a), (i)(c) or (i)(d).
        if "PVS1" in labels and "PM2_Supporting" in labels:
            p_rule, amended = _SVI_PM2_RULE, True
    b_rule = _first_rule(_BENIGN_RULES, benign)

    if p_rule and b_rule:
        classification, rule = CLASS_UNCERTAIN, _VUS_CONTRADICTORY
    elif p_rule or b_rule:
        met = p_rule or b_rule
        classification, rule = met.classification, met.name
    else:
        classification, rule = CLASS_UNCERTAIN, _VUS_NONE
    return RulesResult(
        classification=classification,
        rule=rule,
        pathogenic_rule=p_rule.name if p_rule else None,
        benign_rule=b_rule.name if b_rule else None,
        svi=svi,
        svi_amendment_applied=amended,
    )


# --- Tavtigian 2020 points -----------------------------------------------------------------

def points_class(points: int) -> str:
    """Class for a points total (Tavtigian 2020 Table 3).

    >= 10 Pathogenic; 6 to 9 Likely pathogenic; 0 to 5 Uncertain significance;
    -1 to -6 Likely benign; <= -7 Benign.
    """
    for lowest, classification, _band in _POINTS_BANDS:
        if points >= lowest:
            return classification
    return CLASS_BENIGN


def _points_band(points: int) -> str:
    for lowest, _classification, band in _POINTS_BANDS:
        if points >= lowest:
            return band
    return _BENIGN_BAND


@dataclass(frozen=True)
class PointsResult:
    """Outcome of the points scheme.

    Attributes
    ----------
    points : int
        Sum of the point values of every applied criterion except BA1, which has none.
    classification : str
        ``points_class(points)``, or Benign when BA1 is applied.
    ba1_override : bool
        Whether BA1 decided the class.
    """

    points: int
    classification: str
    ba1_override: bool

    @property
    def band(self) -> str:
        """The Tavtigian 2020 band the total falls in, e.g. ``"6 to 9"``."""
        return _points_band(self.points)


def classify_points(criteria: str | Iterable[str | AppliedCriterion],
                    catalogue: Catalogue | None = None) -> PointsResult:
    """Classify with Tavtigian 2020 points.

    Parameters
    ----------
    criteria : str or iterable of (str or AppliedCriterion)
        The applied criteria (see `parse_criteria`).
    catalogue : Catalogue, optional
        Supplies the point values; defaults to the packaged catalogue.

    Returns
    -------
    PointsResult
    """
    cat = catalogue or default_catalogue()
    applied = _coerce(criteria, catalogue)
    total = 0
    ba1 = False
    for a in applied:
        value = cat.point_value(a.direction, a.strength)
        if value is None:
            # Stand-alone evidence has no place on the scale (Tavtigian 2020).
            ba1 = True
            continue
        total += value
    return PointsResult(total, CLASS_BENIGN if ba1 else points_class(total), ba1)


# --- Everything together ---------------------------------------------------------------------

@dataclass(frozen=True)
class Classification:
    """A criteria set classified under every scheme.

    Attributes
    ----------
    criteria : tuple of AppliedCriterion
        The normalised criteria, in catalogue order.
    rules : RulesResult
        Richards 2015 Table 5.
    rules_svi : RulesResult
        Table 5 with the ClinGen SVI PM2 amendment.
    points : PointsResult
        Tavtigian 2020 points.
    default_scheme : str
        Which of `SCHEMES` gives `default`.
    warnings : tuple of str
        Notes on criteria ClinGen SVI advises against (retired codes, PM2 at
        Moderate, PP3 + PM1 above Strong). They never change a class.
    """

    criteria: tuple[AppliedCriterion, ...]
    rules: RulesResult
    rules_svi: RulesResult
    points: PointsResult
    default_scheme: str = DEFAULT_SCHEME
    warnings: tuple[str, ...] = field(default=())

    @property
    def default(self) -> str:
        """The class under `default_scheme`."""
        return self.by_scheme()[self.default_scheme]

    def by_scheme(self) -> dict[str, str]:
        return {"rules": self.rules.classification, "rules_svi": self.rules_svi.classification,
                "points": self.points.classification}

    @property
    def conflict(self) -> bool:
        """Whether pathogenic and benign evidence are both present."""
        directions = {a.direction for a in self.criteria}
        return directions == {PATHOGENIC, BENIGN}

    @property
    def disagreement(self) -> bool:
        """Whether the schemes give different classes."""
        return len(set(self.by_scheme().values())) > 1

    @property
    def explanation(self) -> str:
        """A few plain-English (ASCII) sentences: the default class, the rule met, any conflict."""
        return _explain(self)

    def to_dict(self) -> dict:
        """The JSON shape printed by ``raredesk classify --format json``."""
        return {
            "criteria": [a.label for a in self.criteria],
            "rules": self.rules.classification,
            "rules_svi": self.rules_svi.classification,
            "points": self.points.points,
            "points_class": self.points.classification,
            "default": self.default,
            "default_scheme": self.default_scheme,
            "rules_met": {"rules": self.rules.rule, "rules_svi": self.rules_svi.rule},
            "conflict": self.conflict,
            "disagreement": self.disagreement,
            "explanation": self.explanation,
            "warnings": list(self.warnings),
        }


def _warnings(applied: tuple[AppliedCriterion, ...], cat: Catalogue) -> tuple[str, ...]:
    notes = []
    for a in applied:
        criterion = cat.criterion(a.code)
        if criterion.retired:
            notes.append(f"{a.code} is retired by ClinGen SVI (Biesecker & Harrison 2018); "
                         f"counted at {a.strength} as in Richards 2015")
        elif a.strength == criterion.base_strength != criterion.default_strength:
            notes.append(f"{a.code} applied at {a.strength} (Richards 2015); ClinGen SVI recommends "
                         f"{a.code}_{criterion.default_strength}")
    by_code = {a.code: a for a in applied}
    if "PP3" in by_code and "PM1" in by_code:
        combined = sum(cat.point_value(PATHOGENIC, by_code[c].strength) for c in ("PP3", "PM1"))
        if combined > cat.point_value(PATHOGENIC, "Strong"):
            notes.append(f"{by_code['PP3'].label} + {by_code['PM1'].label} exceed Strong together; "
                         f"Pejaver 2022 caps PP3 + PM1 at Strong")
    return tuple(notes)


def classify(criteria: str | Iterable[str | AppliedCriterion], catalogue: Catalogue | None = None) -> Classification:
    """Classify a criteria set under every scheme.

    Parameters
    ----------
    criteria : str or iterable of (str or AppliedCriterion)
        E.g. ``"PVS1,PM2_Supporting"`` or ``["PS3", "PM2_Supporting"]``.
    catalogue : Catalogue, optional
        Defaults to the packaged catalogue.

    Returns
    -------
    Classification

    Raises
    ------
    CriterionError
        If a code is unknown, given twice, or applied at a strength it does not allow.

    Examples
    --------
    >>> result = classify("PVS1,PM2_Supporting")
    >>> result.rules.classification, result.rules_svi.classification, result.points.points
    ('Uncertain significance', 'Likely pathogenic', 9)
    """
    cat = catalogue or default_catalogue()
    applied = parse_criteria(criteria, cat)
    return Classification(
        criteria=applied,
        rules=classify_rules(applied, svi=False, catalogue=cat),
        rules_svi=classify_rules(applied, svi=True, catalogue=cat),
        points=classify_points(applied, catalogue=cat),
        default_scheme=DEFAULT_SCHEME,
        warnings=_warnings(applied, cat),
    )


def _labels(applied: Iterable[AppliedCriterion], direction: str) -> str:
    return ", ".join(a.label for a in applied if a.direction == direction)


def _rules_sentence(result: RulesResult) -> str:
    if result.rule == _VUS_CONTRADICTORY:
        return (f"{result.classification} (rule {result.rule}: {result.pathogenic_rule} and "
                f"{result.benign_rule} both met, contradictory)")
    if result.rule == _VUS_NONE:
        return f"{result.classification} (no rule met)"
    return f"{result.classification} (rule {result.rule}: {result.rule_text})"


def _explain(c: Classification) -> str:
    if not c.criteria:
        return "No criteria applied: Uncertain significance under every scheme (0 points; no Table 5 rule met)."
    p = c.points
    if p.ba1_override:
        others = f" (other criteria sum to {p.points:+d})" if len(c.criteria) > 1 else ""
        sentences = [f"Points: Benign, as BA1 is stand-alone benign evidence outside the points scale{others}."]
    else:
        sentences = [f"Points: {p.points:+d}, band {p.band} -> {p.classification} (Tavtigian 2020)."]
    sentences.append(f"Richards 2015: {_rules_sentence(c.rules)}.")
    if c.rules_svi.svi_amendment_applied or c.rules_svi.classification != c.rules.classification:
        sentences.append(f"With the ClinGen SVI PM2 amendment: {_rules_sentence(c.rules_svi)}.")
    if c.conflict:
        # Discuss the scheme whose result the amendment changed, and say so.
        amended = c.rules_svi.svi_amendment_applied
        r = c.rules_svi if amended else c.rules
        if r.contradictory:
            outcome = "both sides meet a rule, so the rules give Uncertain significance"
        elif r.pathogenic_rule:
            outcome = "only the pathogenic side meets a rule, so its class stands"
        elif r.benign_rule:
            outcome = "only the benign side meets a rule, so its class stands"
        else:
            outcome = "neither side meets a rule"
        scope = "with the SVI amendment, " if amended else ""
        sentences.append(f"Conflict: pathogenic ({_labels(c.criteria, PATHOGENIC)}) and benign "
                         f"({_labels(c.criteria, BENIGN)}) evidence both present; {scope}{outcome}.")
    if c.disagreement:
        sentences.append(f"The schemes disagree; default ({c.default_scheme}): {c.default}.")
    return " ".join(sentences)
