"""`secrets.store`: which secret store the commands will use, for `doctor` (which the CLI adds:
the checks layer sits below the secrets one)."""

from __future__ import annotations

from toolbox_tui.findings import FAIL, PASS, WARN, Check


def store_check() -> Check:
    """Which secret store the commands will use (`secrets.store`): the Secret Service by default,
    or the explicit `TOOLBOX_TUI_STORE` choice; a warning naming the choices when there is none."""
    import os

    from toolbox_tui.secrets import file_store, file_store_disk
    from toolbox_tui.secrets.keyring_backend import detect_backend
    from toolbox_tui.secrets.store import STORE_ENV, chosen_store
    from toolbox_tui.errors import ToolboxError

    cid, hint_file = "secrets.store", ("`--store file` (or `TOOLBOX_TUI_STORE=file`) keeps them in an "
                                       "encrypted file, passphrase asked on the terminal")
    try:
        chosen = chosen_store(None)
    except ToolboxError as exc:
        return Check(id=cid, area="secrets", severity="warning", status=WARN, title=str(exc), hint=exc.hint)
    if chosen == "file":
        info = file_store_disk.describe()
        if info.problem:
            return Check(id=cid, area="secrets", severity="error", status=FAIL,
                         title=f"secret store ({STORE_ENV}=file): {info.problem}", hint=info.hint,
                         path=str(info.path))
        state = "" if info.exists else " (not created yet: the first command asks for a new passphrase)"
        return Check(id=cid, area="secrets", severity="info", status=PASS,
                     title=f"secret store: {file_store.backend_label(info.path)}{state}", path=str(info.path))
    if chosen == "session":
        return Check(id=cid, area="secrets", severity="info", status=PASS,
                     title=f"secret store: this session only ({STORE_ENV}=session; values are not kept)")
    backend = detect_backend()
    if backend.secure:
        return Check(id=cid, area="secrets", severity="info", status=PASS,
                     title=f"secret store: the OS keyring ({backend.name})")
    info = file_store_disk.describe()
    there = f" An encrypted file store exists at {info.path}." if info.exists else ""
    return Check(id=cid, area="secrets", severity="warning", status=WARN,
                 title=f"no secure keyring ({backend.name}: {backend.reason}): secret values need an explicit store",
                 detail=f"toolbox-tui never keeps secrets in plain text on its own.{there}",
                 hint=hint_file + "; `--store session` keeps them for one run only" + (
                     "" if os.environ.get("DBUS_SESSION_BUS_ADDRESS") else
                     "; or start a Secret Service (no D-Bus session here)"))
