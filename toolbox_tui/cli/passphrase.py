"""The CLI's passphrase prompt for the encrypted file store: on the controlling terminal.

The passphrase is read from `/dev/tty` with echo off — never from argv, the environment or
stdin (stdin may carry the secret value itself: `secrets set X < file`), and never with
`getpass()`, which falls back to stdin and echoes a warning when there is no terminal. No
terminal at all (cron, CI) is a clear error: an unattended run cannot unlock the store.
"""

from __future__ import annotations

import os
from pathlib import Path

from toolbox_tui.errors import EvalError, UsageError
from toolbox_tui.sanitize import plain_text

TTY = "/dev/tty"
MAX_CHARS = 1024
"""The longest passphrase read (a line beyond it is refused, not truncated)."""


def ask_on_tty(new: bool, path: Path) -> str:
    """The store's passphrase, typed on the controlling terminal; twice when `new`."""
    try:
        fd = os.open(TTY, os.O_RDWR | os.O_NOCTTY)
    except OSError as exc:
        raise EvalError(f"the encrypted secret store {path} needs its passphrase, typed on a "
                        f"terminal, and this process has none ({TTY}: {exc.strerror})",
                        "run the command in a terminal (over SSH: `ssh -t`); the passphrase is never "
                        "taken from arguments, the environment or stdin") from None
    try:
        where = plain_text(str(path))
        if not new:
            return _read_hidden(fd, f"Passphrase for the encrypted secret store {where}: ")
        _say(fd, f"No encrypted secret store yet: creating {where} (0600, in a 0700 folder).\n"
                 "Choose a passphrase: it cannot be recovered, and without it the values are lost.\n")
        first = _read_hidden(fd, "New passphrase: ")
        again = _read_hidden(fd, "Type it again: ")
        if first != again:
            raise UsageError("the two passphrases differ; no store was created",
                             "run the command again and type the same passphrase twice")
        return first
    finally:
        os.close(fd)


def _say(fd: int, text: str) -> None:
    os.write(fd, text.encode("utf-8", "replace"))


def _read_hidden(fd: int, prompt: str) -> str:
    """One line from the terminal `fd` with echo off (restored on every way out, Ctrl-C too)."""
    import termios

    try:
        old = termios.tcgetattr(fd)
    except termios.error:
        raise EvalError(f"{TTY} is not a terminal that can hide what is typed; the passphrase was "
                        "not asked", "run the command in a real terminal") from None
    hidden = list(old)
    hidden[3] &= ~(termios.ECHO | termios.ECHONL)
    hidden[3] |= termios.ICANON
    # echo off before the prompt (as getpass does): set after it, a passphrase typed (or pasted)
    # as soon as the prompt showed was echoed in clear and then discarded by TCSAFLUSH, leaving the
    # prompt waiting (seen on a loaded CI machine, whose test types right after the prompt)
    termios.tcsetattr(fd, termios.TCSAFLUSH, hidden)
    _say(fd, prompt)
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break  # end of input (Ctrl-D on an empty line)
            chunks.append(chunk)
            size += len(chunk)
            if b"\n" in chunk or size > MAX_CHARS * 4:
                break
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, old)
        _say(fd, "\n")
    raw = b"".join(chunks)
    if not raw:
        raise UsageError("no passphrase was typed (end of input); nothing was read or changed")
    line = raw.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("the passphrase typed is not valid UTF-8; nothing was read or changed") from None
    if len(text) > MAX_CHARS:
        raise UsageError(f"the passphrase is longer than {MAX_CHARS} characters; nothing was read "
                         "or changed")
    return text
