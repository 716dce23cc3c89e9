"""PED pedigree files (6 columns: family, individual, father, mother, sex, phenotype)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from raredesk.errors import InputError

SEX = {"1": "male", "2": "female", "0": "unknown", "male": "male", "female": "female", "m": "male",
       "f": "female", "unknown": "unknown", "-9": "unknown", "other": "unknown"}
AFFECTED = {"2": True, "1": False, "0": None, "-9": None, "affected": True, "unaffected": False}


@dataclass
class Individual:
    """One PED row.

    Attributes
    ----------
    family_id, individual_id : str
    father_id, mother_id : str or None
        None where the PED says 0.
    sex : str
        ``male``, ``female`` or ``unknown``.
    affected : bool or None
        None where unknown.
    """

    family_id: str
    individual_id: str
    father_id: str | None
    mother_id: str | None
    sex: str
    affected: bool | None


def read_ped(path: str | Path) -> list[Individual]:
    """Read a PED file; a malformed line raises InputError naming file and line."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", str(path)) from None
    people: list[Individual] = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        cols = [c.strip() for c in cols]
        if len(cols) < 6:
            raise InputError(f"line {n}: expected 6 columns (family, individual, father, mother, sex, "
                             f"phenotype), found {len(cols)}", str(path))
        fam, ind, fa, mo, sex, phen = cols[:6]
        if n == 1 and sex.lower() == "sex":
            continue  # a header line without '#'
        if ind in seen:
            raise InputError(f"line {n}: individual {ind!r} appears twice", str(path))
        if sex.lower() not in SEX:
            raise InputError(f"line {n}: sex {sex!r} is not 1, 2 or 0", str(path))
        if phen.lower() not in AFFECTED:
            raise InputError(f"line {n}: phenotype {phen!r} is not 2 (affected), 1 (unaffected) or 0", str(path))
        seen.add(ind)
        people.append(Individual(fam, ind, None if fa in ("0", "", ".") else fa,
                                 None if mo in ("0", "", ".") else mo, SEX[sex.lower()], AFFECTED[phen.lower()]))
    if not people:
        raise InputError("no individuals in the PED file", str(path))
    ids = {i.individual_id for i in people}
    for i in people:
        if i.father_id == i.individual_id or i.mother_id == i.individual_id:
            raise InputError(f"individual {i.individual_id!r} is their own parent", str(path))
    by_id = {i.individual_id: i for i in people}
    for i in people:
        if i.father_id in by_id and by_id[i.father_id].sex == "female":
            raise InputError(f"{i.father_id!r} is the father of {i.individual_id!r} but is female", str(path))
        if i.mother_id in by_id and by_id[i.mother_id].sex == "male":
            raise InputError(f"{i.mother_id!r} is the mother of {i.individual_id!r} but is male", str(path))
    del ids
    return people


def pick_proband(people: list[Individual], requested: str | None = None) -> str | None:
    """The proband: the requested id, else the first affected individual with
    both parents listed, else the first affected individual."""
    ids = {p.individual_id for p in people}
    if requested:
        if requested not in ids:
            raise InputError(f"proband {requested!r} is not in the pedigree")
        return requested
    affected = [p for p in people if p.affected]
    for p in affected:
        if p.father_id in ids and p.mother_id in ids:
            return p.individual_id
    return affected[0].individual_id if affected else None


def roles(people: list[Individual], proband: str | None) -> dict[str, str]:
    """Role of each individual relative to the proband."""
    out = {p.individual_id: "relative" for p in people}
    if proband is None:
        return out
    by = {p.individual_id: p for p in people}
    pb = by[proband]
    out[proband] = "proband"
    if pb.father_id in out:
        out[pb.father_id] = "father"
    if pb.mother_id in out:
        out[pb.mother_id] = "mother"
    for p in people:
        if p.individual_id == proband:
            continue
        if (p.father_id and p.father_id == pb.father_id) or (p.mother_id and p.mother_id == pb.mother_id):
            out[p.individual_id] = "sibling"
        elif p.father_id == proband or p.mother_id == proband:
            out[p.individual_id] = "child"
    return out
