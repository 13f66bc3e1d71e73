"""Exceptions with enough context to fix the input: file, line and field."""

from __future__ import annotations


class SahelsimError(Exception):
    """Base class for every error sahelsim raises on purpose."""


class InputFormatError(SahelsimError):
    """A whole file cannot be read (wrong delimiter, encoding, missing columns...).

    Row-level problems never raise: those rows go to the quarantine table with a reason.
    """

    def __init__(
        self, file: str, message: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.message = message
        where = self.file
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class MissingInputError(InputFormatError, FileNotFoundError):
    """An input file does not exist (also a FileNotFoundError, so callers that fall back to
    the synthetic grid when the data are absent catch it)."""


class MissingExtraError(SahelsimError):
    """An optional dependency is missing; the message names the extra to install."""


class DownloadError(SahelsimError):
    """A download failed (HTTP error, checksum mismatch, unknown source)."""
