"""Exit codes and the exceptions that carry them.

Every error a user can meet is a subclass of :class:`DigitscanError` with its own exit code and a message
that says how to fix it. The CLI maps exceptions to exit codes in one place (``cli.main``).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    SOME_INPUTS_FAILED = 1
    USAGE = 2
    MISSING_DEPENDENCY = 3
    NO_INPUT = 4
    OUTPUT_NOT_WRITABLE = 5
    BAD_RESULTS = 6
    BAD_MODEL = 7
    INTERRUPTED = 130


class DigitscanError(Exception):
    """Base class: an error with a user-facing message and an exit code."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(DigitscanError):
    """The command line or options are wrong."""

    exit_code = ExitCode.USAGE


class MissingDependencyError(DigitscanError):
    """A program, library, model file or device that the run needs is absent."""

    exit_code = ExitCode.MISSING_DEPENDENCY


class NoInputError(DigitscanError):
    """No readable scan was found under the given paths."""

    exit_code = ExitCode.NO_INPUT


class OutputNotWritableError(DigitscanError):
    """The output file cannot be written (checked before any work is done)."""

    exit_code = ExitCode.OUTPUT_NOT_WRITABLE


class BadResultsError(DigitscanError):
    """A results document or corrections file given to review or apply is not one digitscan can read."""

    exit_code = ExitCode.BAD_RESULTS


class BadModelError(DigitscanError):
    """The model file is corrupt, does not match its card, or has the wrong input spec."""

    exit_code = ExitCode.BAD_MODEL


class InputFileError(Exception):
    """One input file (or one page of it) could not be read; recorded as a failure, the run goes on."""

    def __init__(self, message: str, page: int | None = None) -> None:
        super().__init__(message)
        self.page = page  # the page that failed, None when the whole file did


class TemplateMismatchError(InputFileError):
    """A page does not match the form template given (wrong form, or its printed frame not found).

    Recorded as a failure of that page (stage ``align``); the run goes on with the other pages and files.
    """
