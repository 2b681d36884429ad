"""The errors a typed answer can get: each names what is wrong and what to type instead, and
points at the place with a caret. :mod:`grader.parse` and :mod:`grader.srepr` raise them; the
checks turn them into feedback. They pickle with every field, so an error raised in a child
process reaches the grader whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AnswerError", "ForbiddenConstructError", "ParseError", "TooLargeError", "UnknownNameError",
]


class AnswerError(ValueError):
    """Base class: the answer can't be used. ``message`` says what the student should fix.

    ``text``/``col`` locate the problem (``col`` is 0-based in ``text``, or None); ``str(err)``
    is the message followed by :meth:`caret`.
    """

    def __init__(self, message: str, *, text: str | None = None, col: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.col = col

    def caret(self) -> str:
        """Return ``text`` with a ``^`` under ``col``, or ``""`` if no position is known."""
        if self.text is None or self.col is None:
            return ""
        return _caret(self.text, self.col)

    def __str__(self) -> str:
        pointer = self.caret()
        return f"{self.message}\n{pointer}" if pointer else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,), self.__dict__)


class ParseError(AnswerError):
    """The text is not a well-formed expression (syntax error, bad character, empty answer)."""


class ForbiddenConstructError(AnswerError):
    """The answer uses a construct maths never needs (attributes, indexing, lambdas, strings)."""


class UnknownNameError(AnswerError):
    """The answer names a symbol or function that isn't allowed; ``allowed`` lists what is."""

    def __init__(self, message: str, *, text: str | None = None, col: int | None = None,
                 name: str = "", allowed: Sequence[str] = ()) -> None:
        super().__init__(message, text=text, col=col)
        self.name = name
        self.allowed = tuple(allowed)


class TooLargeError(AnswerError):
    """The answer is too long or too deeply nested, or it contains or produces a huge number."""


def _caret(text: str, col: int, width: int = 76) -> str:
    """Show ``text`` (clipped to ``width`` chars around ``col``) with a ``^`` beneath ``col``."""
    flat = "".join(" " if ch.isspace() else ch for ch in text)
    col = max(0, min(col, len(flat)))
    start = max(0, min(col - width // 2, len(flat) - width))
    end = min(len(flat), start + width)
    left, right = ("..." if start > 0 else ""), ("..." if end < len(flat) else "")
    return f"{left}{flat[start:end]}{right}\n{' ' * (len(left) + col - start)}^"
