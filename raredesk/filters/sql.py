"""SQL fragments with their positional parameters kept in step."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Frag:
    """SQL text with ``?`` placeholders and the parameters for them, in order.

    Only code writes ``sql``: quoted identifiers from the field whitelist,
    keywords and ``?``. Every value from the user is in ``params``.
    """

    sql: str
    params: list = field(default_factory=list)

    @staticmethod
    def join(sep: str, parts: list["Frag"], empty: str = "TRUE") -> "Frag":
        parts = [p for p in parts if p is not None]
        if not parts:
            return Frag(empty)
        if len(parts) == 1:
            return parts[0]
        params: list = []
        for p in parts:
            params += p.params
        return Frag("(" + f" {sep} ".join(p.sql for p in parts) + ")", params)

    @staticmethod
    def all(parts: list["Frag"]) -> "Frag":
        return Frag.join("AND", parts, "TRUE")

    @staticmethod
    def any(parts: list["Frag"]) -> "Frag":
        return Frag.join("OR", parts, "FALSE")

    def wrap(self, template: str) -> "Frag":
        """``template`` with ``{}`` replaced by this fragment's SQL (params kept)."""
        return Frag(template.replace("{}", self.sql), list(self.params))

    def __add__(self, other: "Frag") -> "Frag":
        return Frag(self.sql + other.sql, self.params + other.params)


def frag(sql: str, *params) -> Frag:
    return Frag(sql, list(params))


def cat(*parts) -> Frag:
    """Concatenate strings (SQL written by code) and fragments."""
    out = Frag("")
    for p in parts:
        out = out + (p if isinstance(p, Frag) else Frag(p))
    return out
