"""The abstract syntax tree of a filter.

The parser builds these from text without looking at any case; the compiler
resolves names against one case and turns the tree into SQL. Every node keeps
the offset of the text it came from, so that a compile error can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Value:
    """A literal value.

    Attributes
    ----------
    kind : str
        ``number``, ``string`` (quoted) or ``word`` (bare).
    value : object
        ``int``/``float`` for numbers, ``str`` otherwise.
    text : str
        As written.
    pos : int
    """

    kind: str
    value: object
    text: str
    pos: int


@dataclass(frozen=True)
class FieldRef:
    """A field of the variant row (``gnomad_af``, ``INFO/DP``, ``HG002.gq``).

    Attributes
    ----------
    name : str
    pos : int
    """

    name: str
    pos: int


@dataclass(frozen=True)
class SampleRef:
    """A sample named in ``gt(...)`` and friends: an id, a role, ``any`` or ``all``."""

    name: str
    pos: int
    quoted: bool = False


@dataclass(frozen=True)
class SampleFieldRef:
    """A per-sample field: ``gt(proband)``, ``gq(mother)``, ``dp(any)``.

    Attributes
    ----------
    func : str
        ``gt``, ``gq``, ``dp``, ``ab``, ``ad_ref``, ``ad_alt``, ``ps``, ``phased``, ``gt_raw``.
    sample : SampleRef
    pos : int
    """

    func: str
    sample: SampleRef
    pos: int


Operand = FieldRef | SampleFieldRef


class Node:
    """Base of all condition nodes."""

    pos: int


@dataclass(frozen=True)
class And(Node):
    items: tuple
    pos: int = 0


@dataclass(frozen=True)
class Or(Node):
    items: tuple
    pos: int = 0


@dataclass(frozen=True)
class Not(Node):
    item: Node
    pos: int = 0


@dataclass(frozen=True)
class Compare(Node):
    """``field op value`` with op one of ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``."""

    operand: Operand
    op: str
    value: Value
    pos: int


@dataclass(frozen=True)
class InList(Node):
    """``field in (v1, v2, ...)``."""

    operand: Operand
    values: tuple
    pos: int


@dataclass(frozen=True)
class Has(Node):
    """``field has v`` or ``field has (v1, v2)``: any of the values is an element of the field."""

    operand: Operand
    values: tuple
    pos: int


@dataclass(frozen=True)
class Match(Node):
    """``field ~ pattern``: case-insensitive regular-expression search (a word is a substring)."""

    operand: Operand
    pattern: Value
    pos: int


@dataclass(frozen=True)
class Between(Node):
    """``field between lo and hi`` (both ends included)."""

    operand: Operand
    low: Value
    high: Value
    pos: int


@dataclass(frozen=True)
class IsMissing(Node):
    """``field is missing``."""

    operand: Operand
    pos: int


@dataclass(frozen=True)
class Truthy(Node):
    """A bare yes/no field used as a condition (``canonical``, ``INFO/DB``)."""

    operand: Operand
    pos: int


@dataclass(frozen=True)
class InPanel(Node):
    """``gene in panel "name"`` (``name`` None means the case's assigned panels: ``gene in case_panels``)."""

    operand: FieldRef
    name: str | None
    pos: int
    name_pos: int = 0


@dataclass(frozen=True)
class InRegions(Node):
    """``in 20:10000000-10100000`` (one or more regions; 1-based, inclusive)."""

    regions: tuple          # of (chrom, start, end, pos)
    pos: int


@dataclass(frozen=True)
class InBed(Node):
    """``in bed "targets.bed"``."""

    path: str
    pos: int
    path_pos: int = 0


@dataclass(frozen=True)
class InRegionPanel(Node):
    """``in panel "name"``: overlaps the regions of a BED panel."""

    name: str
    pos: int
    name_pos: int = 0


@dataclass(frozen=True)
class Inheritance(Node):
    """An inheritance term: ``de_novo``, ``ar_hom``, ``comp_het``, ``x_linked``,
    ``ad_inherited``, ``mendelian_error``, optionally ``de_novo(HG002, min_gq=30)``."""

    mode: str
    sample: SampleRef | None
    options: tuple = field(default=())   # of (name, Value, name position)
    pos: int = 0
