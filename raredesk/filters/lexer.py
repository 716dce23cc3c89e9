"""Tokens of the filter language.

The lexer never interprets a word: keywords, field names and bare values are
all ``WORD`` tokens and the parser decides what each one is. Every token keeps
its character offset so that errors can point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from raredesk.filters.errors import FilterError

MAX_LENGTH = 20_000  # characters; a filter is typed or saved by a person


@dataclass(frozen=True)
class Token:
    """One token.

    Attributes
    ----------
    kind : str
        ``WORD``, ``NUMBER``, ``STRING``, ``REGION``, ``OP``, ``(``, ``)``, ``,``, ``=`` or ``END``.
    text : str
        The characters as written.
    value : object
        ``float``/``int`` for numbers, the unescaped text for strings, ``(chrom, start, end)``
        for regions (1-based, inclusive; ``end`` is None for a single position), else ``text``.
    pos : int
        0-based offset of the first character.
    """

    kind: str
    text: str
    value: object
    pos: int

    @property
    def end(self) -> int:
        return self.pos + len(self.text)

    def describe(self) -> str:
        if self.kind == "END":
            return "the end of the filter"
        if self.kind == "STRING":
            return f"the text {self.text}"
        return f"'{self.text}'"


_GROUPED = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
_REGION = re.compile(rf"([A-Za-z0-9_.]+):({_GROUPED})(?:-({_GROUPED}))?(?![A-Za-z0-9_.:])")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z0-9_])")
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/+*#]*")
_OPS = ("<=", ">=", "!=", "<>", "==", "!~", "=~", "<", ">", "=", "~")


def tokenize(text: str, source: str = "filter") -> list[Token]:
    """Split a filter into tokens; the last token is ``END``.

    Raises
    ------
    FilterError
        An unterminated string, a character that belongs to no token, or a
        filter longer than :data:`MAX_LENGTH`.
    """
    if not isinstance(text, str):
        raise FilterError("the filter must be text", text="", source=source)
    if len(text) > MAX_LENGTH:
        raise FilterError(f"the filter is {len(text):,} characters long; the limit is {MAX_LENGTH:,}",
                          text=text[:200], position=None, source=source)
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == "#":  # a comment to the end of the line (presets explain themselves); '#' inside a word is kept
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if c in "(),":
            out.append(Token(c, c, c, i))
            i += 1
            continue
        if c in "\"'":
            j = i + 1
            buf = []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n and text[j + 1] in (c, "\\"):
                    buf.append(text[j + 1])
                    j += 2
                    continue
                if text[j] == "\n":
                    break
                buf.append(text[j])
                j += 1
            if j >= n or text[j] != c:
                raise FilterError(f"this text has no closing {c}", text=text, position=i,
                                  expected=f"a closing {c}", found="the end of the line", source=source)
            out.append(Token("STRING", text[i:j + 1], "".join(buf), i))
            i = j + 1
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op is not None:
            # "-1" after an operator is a number, not an operator; '+'/'-' are never operators
            out.append(Token("OP", op, {"==": "=", "<>": "!=", "=~": "~"}.get(op, op), i))
            i += len(op)
            continue
        m = _REGION.match(text, i)
        if m:
            chrom = m.group(1)
            start = int(m.group(2).replace(",", ""))
            end = int(m.group(3).replace(",", "")) if m.group(3) else None
            out.append(Token("REGION", m.group(0), (chrom, start, end), i))
            i = m.end()
            continue
        m = _NUMBER.match(text, i)
        if m:
            t = m.group(0)
            try:
                v: object = int(t)
            except ValueError:
                v = float(t)
            out.append(Token("NUMBER", t, v, i))
            i = m.end()
            continue
        m = _WORD.match(text, i)
        if m:
            out.append(Token("WORD", m.group(0), m.group(0), i))
            i = m.end()
            continue
        what = "a semicolon" if c == ";" else f"the character {c!r}"
        hint = ("; the filter language has no statements: combine conditions with and / or"
                if c == ";" else "")
        raise FilterError(f"{what} cannot appear here{hint}", text=text, position=i,
                          expected="a field, a value, an operator or a parenthesis", found=repr(c), source=source)
    out.append(Token("END", "", None, n))
    return out
