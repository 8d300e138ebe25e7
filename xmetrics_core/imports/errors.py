"""The one error the importer raises: a file refused, with its name and (when known) the line."""

from __future__ import annotations


class ImportRefused(ValueError):
    """A file that was not imported (nothing of it was kept), and why.

    ``str(error)`` is the message for people: ``"<file>: line <n>: <reason>"`` (the line
    part only when the problem sits on one line; lines count from 1 as an editor shows
    them, header included).
    """

    def __init__(
        self, reason: str, *, file: str, line: int | None = None, column: str | None = None
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.column = column
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{file}: {where}{reason}")

    @property
    def message(self) -> str:
        return str(self)
