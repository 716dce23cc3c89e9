"""The ACMG/AMP criteria catalogue: ``resources/acmg/criteria.json`` loaded and checked.

The catalogue is data, not code, so that a reviewer can read which strengths each
criterion may take and which ClinGen SVI notes apply without reading Python. This
module refuses a catalogue that is inconsistent (a missing criterion, a strength
without a point value, a default that is not allowed ...) instead of letting the
combining engine guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Iterator, Mapping

from raredesk.errors import InputError
from raredesk.resources import load_json_resource

__all__ = [
    "BENIGN",
    "PATHOGENIC",
    "STRENGTHS",
    "ACMG_2015_CODES",
    "Catalogue",
    "Criterion",
    "default_catalogue",
    "load_catalogue",
    "parse_catalogue",
]

PATHOGENIC = "pathogenic"
BENIGN = "benign"
DIRECTIONS = (PATHOGENIC, BENIGN)

#: Strength names, weakest first, spelled as in the ClinGen SVI ``CODE_Strength``
#: nomenclature (``PVS1_Strong``, ``PM3_VeryStrong``, ``BA1_StandAlone``).
STRENGTHS = ("Supporting", "Moderate", "Strong", "VeryStrong", "StandAlone")

#: The 28 criteria of Richards 2015 (Tables 3 and 4), in the order of the paper.
ACMG_2015_CODES = (
    "PVS1", "PS1", "PS2", "PS3", "PS4",
    "PM1", "PM2", "PM3", "PM4", "PM5", "PM6",
    "PP1", "PP2", "PP3", "PP4", "PP5",
    "BA1", "BS1", "BS2", "BS3", "BS4",
    "BP1", "BP2", "BP3", "BP4", "BP5", "BP6", "BP7",
)

# The code's prefix names its 2015 direction and strength; checking the catalogue
# against it catches a typo such as PM5 marked Strong or BS2 marked pathogenic.
_PREFIX = {
    "PVS": (PATHOGENIC, "VeryStrong"),
    "PS": (PATHOGENIC, "Strong"),
    "PM": (PATHOGENIC, "Moderate"),
    "PP": (PATHOGENIC, "Supporting"),
    "BA": (BENIGN, "StandAlone"),
    "BS": (BENIGN, "Strong"),
    "BP": (BENIGN, "Supporting"),
}
_CODE_RE = re.compile(r"^(PVS|PS|PM|PP|BA|BS|BP)([1-9])$")
_STATUSES = ("active", "retired")
_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Criterion:
    """One ACMG/AMP criterion as described by the catalogue.

    Attributes
    ----------
    code : str
        The 2015 code, e.g. ``"PVS1"``.
    direction : str
        ``"pathogenic"`` or ``"benign"``.
    base_strength : str
        The Richards 2015 strength; what the bare code means.
    default_strength : str
        The strength RareDesk proposes when applying the criterion (differs from
        ``base_strength`` only where ClinGen SVI changed it, i.e. PM2).
    allowed_strengths : tuple of str
        Strengths at which the code may be applied, weakest first.
    status : str
        ``"active"``, or ``"retired"`` for criteria ClinGen SVI says not to use.
    definition : str
        Short paraphrase of the criterion.
    svi_notes : tuple of str
        ClinGen SVI and later recommendations that apply.
    sources : tuple of str
        Short names of the papers behind the entry (keys of ``Catalogue.sources``).
    """

    code: str
    direction: str
    base_strength: str
    default_strength: str
    allowed_strengths: tuple[str, ...]
    status: str
    definition: str
    svi_notes: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def retired(self) -> bool:
        return self.status == "retired"


@dataclass(frozen=True)
class Catalogue:
    """The validated catalogue.

    Attributes
    ----------
    criteria : Mapping[str, Criterion]
        Criteria by code, in catalogue (paper) order.
    points : Mapping[str, Mapping[str, int or None]]
        Point value per direction and strength (Tavtigian 2020); ``None`` for
        StandAlone, which has no point value.
    sources : Mapping[str, str]
        Full citation for each short source name.
    path : str or None
        The file the catalogue was read from, if any.
    """

    criteria: Mapping[str, Criterion]
    points: Mapping[str, Mapping[str, int | None]]
    sources: Mapping[str, str]
    path: str | None = None

    def __contains__(self, code: object) -> bool:
        return code in self.criteria

    def __iter__(self) -> Iterator[Criterion]:
        return iter(self.criteria.values())

    def __len__(self) -> int:
        return len(self.criteria)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.criteria)

    def criterion(self, code: str) -> Criterion:
        """Return the criterion for an exact, upper-case code; ``KeyError`` if unknown."""
        return self.criteria[code]

    def point_value(self, direction: str, strength: str) -> int | None:
        """Points for one item of ``direction`` at ``strength`` (``None`` for StandAlone).

        Parameters
        ----------
        direction : str
            ``"pathogenic"`` or ``"benign"``.
        strength : str
            One of `STRENGTHS`.

        Returns
        -------
        int or None
        """
        return self.points[direction][strength]


def _fail(problem: str, path: str | None) -> InputError:
    return InputError(f"ACMG criteria catalogue: {problem}", path)


def _str_list(value: object, what: str, path: str | None, *, allow_empty: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(f"{what} must be a list of non-empty strings", path)
    if not value and not allow_empty:
        raise _fail(f"{what} must not be empty", path)
    return tuple(value)


def _parse_points(raw: object, path: str | None) -> dict[str, dict[str, int | None]]:
    if not isinstance(raw, dict) or set(raw) != set(DIRECTIONS):
        raise _fail("'points' must have exactly the keys 'pathogenic' and 'benign'", path)
    points: dict[str, dict[str, int | None]] = {}
    for direction in DIRECTIONS:
        table = raw[direction]
        if not isinstance(table, dict):
            raise _fail(f"points.{direction} must be an object", path)
        sign = 1 if direction == PATHOGENIC else -1
        checked: dict[str, int | None] = {}
        for strength, value in table.items():
            if strength not in STRENGTHS:
                raise _fail(f"points.{direction}: unknown strength {strength!r}", path)
            if strength == "StandAlone":
                # BA1 sits outside the points scale (Tavtigian 2020); a number here
                # would silently turn the override into an ordinary score.
                if direction != BENIGN or value is not None:
                    raise _fail("StandAlone has no point value: only points.benign.StandAlone = null is allowed", path)
                checked[strength] = None
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value * sign <= 0:
                raise _fail(f"points.{direction}.{strength} must be a {'positive' if sign > 0 else 'negative'} integer",
                            path)
            checked[strength] = value
        ordered = [checked[s] for s in STRENGTHS if s in checked and checked[s] is not None]
        if [abs(v) for v in ordered] != sorted(abs(v) for v in ordered):
            raise _fail(f"points.{direction} must grow with strength", path)
        points[direction] = checked
    return points


def _parse_criterion(raw: object, points: Mapping[str, Mapping[str, int | None]],
                     sources: Mapping[str, str], path: str | None) -> Criterion:
    if not isinstance(raw, dict):
        raise _fail("each entry of 'criteria' must be an object", path)
    code = raw.get("code")
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise _fail(f"bad criterion code {code!r}", path)
    expected = {"code", "direction", "base_strength", "default_strength", "allowed_strengths",
                "status", "definition", "svi_notes", "sources"}
    if set(raw) != expected:
        missing = sorted(expected - set(raw))
        extra = sorted(set(raw) - expected)
        detail = "; ".join(filter(None, [f"missing {', '.join(missing)}" if missing else "",
                                         f"unexpected {', '.join(extra)}" if extra else ""]))
        raise _fail(f"{code}: {detail}", path)
    prefix = _CODE_RE.match(code).group(1)
    prefix_direction, prefix_strength = _PREFIX[prefix]
    direction = raw["direction"]
    if direction != prefix_direction:
        raise _fail(f"{code}: direction must be {prefix_direction!r}, not {direction!r}", path)
    if raw["base_strength"] != prefix_strength:
        raise _fail(f"{code}: base_strength must be {prefix_strength!r} (the Richards 2015 strength of a "
                    f"{prefix} code), not {raw['base_strength']!r}", path)
    allowed = _str_list(raw["allowed_strengths"], f"{code}: allowed_strengths", path, allow_empty=False)
    if len(set(allowed)) != len(allowed):
        raise _fail(f"{code}: allowed_strengths repeats a strength", path)
    for strength in allowed:
        if strength not in STRENGTHS:
            raise _fail(f"{code}: unknown strength {strength!r}", path)
        if strength not in points[direction]:
            raise _fail(f"{code}: strength {strength} has no {direction} point value", path)
        if (strength == "StandAlone") != (prefix == "BA"):
            raise _fail(f"{code}: only BA codes are StandAlone, and BA codes are only StandAlone", path)
    for key in ("base_strength", "default_strength"):
        if raw[key] not in allowed:
            raise _fail(f"{code}: {key} {raw[key]!r} is not in allowed_strengths", path)
    if raw["status"] not in _STATUSES:
        raise _fail(f"{code}: status must be one of {', '.join(_STATUSES)}", path)
    if not isinstance(raw["definition"], str) or not raw["definition"].strip():
        raise _fail(f"{code}: definition must be a non-empty string", path)
    notes = _str_list(raw["svi_notes"], f"{code}: svi_notes", path, allow_empty=True)
    cited = _str_list(raw["sources"], f"{code}: sources", path, allow_empty=False)
    for name in cited:
        if name not in sources:
            raise _fail(f"{code}: source {name!r} is not listed in 'sources'", path)
    return Criterion(
        code=code,
        direction=direction,
        base_strength=raw["base_strength"],
        default_strength=raw["default_strength"],
        allowed_strengths=tuple(s for s in STRENGTHS if s in allowed),
        status=raw["status"],
        definition=raw["definition"].strip(),
        svi_notes=notes,
        sources=cited,
    )


def parse_catalogue(data: object, path: str | Path | None = None) -> Catalogue:
    """Validate decoded catalogue JSON and build a `Catalogue`.

    Parameters
    ----------
    data : object
        The decoded JSON document.
    path : str or Path, optional
        Where it came from, for error messages.

    Returns
    -------
    Catalogue

    Raises
    ------
    InputError
        If the document breaks any rule of the format (see ``docs/acmg.md``).
    """
    where = None if path is None else str(path)
    if not isinstance(data, dict):
        raise _fail("top level must be a JSON object", where)
    if data.get("schema_version") != _SCHEMA_VERSION:
        raise _fail(f"schema_version must be {_SCHEMA_VERSION}, found {data.get('schema_version')!r}", where)
    if data.get("strengths") != list(STRENGTHS):
        raise _fail(f"'strengths' must be {list(STRENGTHS)}", where)
    sources = data.get("sources")
    if not isinstance(sources, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in sources.items()):
        raise _fail("'sources' must map short names to citations", where)
    points = _parse_points(data.get("points"), where)
    raw_criteria = data.get("criteria")
    if not isinstance(raw_criteria, list):
        raise _fail("'criteria' must be a list", where)
    criteria: dict[str, Criterion] = {}
    for raw in raw_criteria:
        criterion = _parse_criterion(raw, points, sources, where)
        if criterion.code in criteria:
            raise _fail(f"{criterion.code} is listed twice", where)
        criteria[criterion.code] = criterion
    missing = [c for c in ACMG_2015_CODES if c not in criteria]
    extra = [c for c in criteria if c not in ACMG_2015_CODES]
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + \
                ([f"not an ACMG/AMP 2015 code: {', '.join(extra)}"] if extra else [])
        raise _fail("; ".join(parts), where)
    ordered = {code: criteria[code] for code in ACMG_2015_CODES}
    return Catalogue(
        criteria=MappingProxyType(ordered),
        points=MappingProxyType({d: MappingProxyType(t) for d, t in points.items()}),
        sources=MappingProxyType(dict(sources)),
        path=where,
    )


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and validate a catalogue file.

    Parameters
    ----------
    path : str or Path, optional
        Defaults to the packaged ``resources/acmg/criteria.json``.

    Returns
    -------
    Catalogue

    Raises
    ------
    InputError
        If the file cannot be read, is not JSON, or is not a valid catalogue.
    """
    data, file = load_json_resource(path, ("acmg", "criteria.json"), "ACMG criteria catalogue")
    return parse_catalogue(data, file)


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The packaged catalogue, read once per process (it is immutable)."""
    return load_catalogue()
