"""The one error type of the filter language."""

from __future__ import annotations

import difflib

from raredesk.errors import RareDeskError


class FilterError(RareDeskError):
    """A filter expression that cannot be parsed or compiled.

    Attributes
    ----------
    text : str
        The filter as the user wrote it.
    position : int or None
        0-based character offset of the problem in ``text``.
    expected : str or None
        What the parser or compiler expected there, in plain words.
    found : str or None
        What it found instead.
    suggestions : list of str
        Close spellings of a misspelt name.
    source : str
        ``filter`` or ``preset <name>``: where the text came from.
    """

    def __init__(self, problem: str, *, text: str = "", position: int | None = None,
                 expected: str | None = None, found: str | None = None,
                 suggestions: list[str] | None = None, source: str = "filter"):
        self.text = text
        self.position = position
        self.expected = expected
        self.found = found
        self.suggestions = list(suggestions or [])
        self.source = source
        self.detail = problem
        super().__init__(self._message())

    def _message(self) -> str:
        where = self.source
        if self.position is not None:
            where += f", column {self.position + 1}"
        msg = f"{where}: {self.detail}"
        if self.suggestions:
            msg += f"; did you mean {' or '.join(self.suggestions)}?"
        if self.text and self.position is not None:
            msg += f" (at: {self.snippet()})"
        return msg

    def snippet(self, width: int = 30) -> str:
        """The text around the position, with ``⟨here⟩`` marking it (one line)."""
        if self.position is None:
            return self.text
        p = min(max(self.position, 0), len(self.text))
        left = self.text[max(0, p - width):p]
        right = self.text[p:p + width]
        left = ("…" if p - width > 0 else "") + left
        right = right + ("…" if p + width < len(self.text) else "")
        return (left + "⟨here⟩" + right).replace("\n", " ")

    def caret(self) -> str:
        """Two lines: the filter and a ``^`` under the position (for a terminal or a tooltip)."""
        if self.position is None:
            return self.text
        lines = self.text.split("\n")
        offset = 0
        for line in lines:
            if self.position <= offset + len(line):
                col = self.position - offset
                return line + "\n" + " " * col + "^"
            offset += len(line) + 1
        return self.text + "\n" + " " * len(self.text) + "^"


def suggest(name: str, candidates, n: int = 3) -> list[str]:
    """Close matches of ``name`` among ``candidates`` (case-insensitive)."""
    cands = list(dict.fromkeys(candidates))
    lower = {c.lower(): c for c in cands}
    hits = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.6)
    return [lower[h] for h in hits]
