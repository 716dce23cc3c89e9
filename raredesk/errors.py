"""Errors that reach the user as one line: ``error: <file>: <problem>``."""

from __future__ import annotations


class RareDeskError(Exception):
    """An error the user can act on; printed as one line, never as a traceback.

    Attributes
    ----------
    path : str or None
        The file the problem is about, if any.
    problem : str
        What is wrong, in plain words.
    """

    def __init__(self, problem: str, path: str | None = None):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(self.one_line())

    def one_line(self) -> str:
        if self.path:
            return f"{self.path}: {self.problem}"
        return self.problem


class InputError(RareDeskError):
    """A file given by the user is unreadable, malformed or inconsistent."""


class WorkspaceError(RareDeskError):
    """The workspace cannot be opened or changed (locked, wrong passphrase, ...)."""


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set."""
