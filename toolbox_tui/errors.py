"""Exit codes, and the one base of every error toolbox-tui raises for a user to read.

Every command ends with one of the exit codes below. An error meant for the user is a
`ToolboxError`: `message` says what is wrong (naming the file and line, or the object), `hint`
says what to do, and `exit_code` is the code a command ends with when the error reaches
`toolbox_tui.cli.main`, which renders every one of them the same way. Errors that carry a place
in a file are `LocatedError`s. No error here ever holds a secret value.
"""

from __future__ import annotations

EXIT_OK = 0
"""Nothing failing (warnings allowed)."""
EXIT_FAIL = 1
"""A check or the operation failed."""
EXIT_USAGE = 2
"""Bad arguments."""
EXIT_EVAL = 3
"""Could not evaluate: unreadable or malformed project files, no engine where one is required,
no secure keyring without an explicit choice."""
EXIT_INTERRUPTED = 130
"""Ctrl-C, SIGINT, SIGTERM or SIGHUP."""


class ToolboxError(Exception):
    """A user-facing error: `message` (what is wrong) and `hint` (what to do next)."""

    exit_code: int = EXIT_EVAL
    """What a command exits with when it ends on this error."""
    hint: str = ""
    """The next step for the user ("" when there is nothing better to say than the message)."""

    def __init__(self, message: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        """One sentence for the user (also `str(error)`)."""
        if hint:
            self.hint = hint

    @property
    def where(self) -> str:
        """`file:line:column` when the error is about a place in a file, else ""."""
        return ""


class UsageError(ToolboxError):
    """Bad arguments that argparse could not catch."""

    exit_code = EXIT_USAGE


class EvalError(ToolboxError):
    """Something needed to evaluate could not be read or reached."""

    exit_code = EXIT_EVAL


class LocatedError(ToolboxError):
    """An error about a place in a file: the message, file:line:column and a hint."""

    exit_code = EXIT_EVAL

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 column: int | None = None, hint: str = "") -> None:
        super().__init__(message, hint)
        self.file = file
        self.line = line
        self.column = column

    @property
    def where(self) -> str:
        if not self.file:
            return ""
        return self.file + (f":{self.line}" if self.line else "") + (f":{self.column}" if self.column else "")
