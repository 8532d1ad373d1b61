"""`toolbox-tui config`: where the user's config file is, what it changes, what is wrong in it.

The file (`$XDG_CONFIG_HOME/toolbox-tui/config.toml`) sets the TUI's keys and theme
(`toolbox_tui/user_config.py` reads it, `screens/user_config.py` applies it). The apps show at
most a few of its problems as notifications; this command lists them all, with every binding id
the `[keys]` table may name. Exit 0 when the file is absent or has no problem, 1 otherwise.
"""

from __future__ import annotations

import argparse
from typing import Any

from toolbox_tui.cli.output import Styled, emit, out
from toolbox_tui.errors import EXIT_FAIL, EXIT_OK


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "config", parents=parents, help="your config file: keys and theme of the TUI",
        description="Show where the config file is ($XDG_CONFIG_HOME/toolbox-tui/config.toml), "
                    "the theme and keys it sets, and every problem in it with file:line. "
                    "--bindings lists every binding id `[keys]` may name, with its keys.")
    p.add_argument("--bindings", action="store_true",
                   help="list every binding id with its keys (yours or the default)")
    p.set_defaults(func=run_config)


def run_config(args: argparse.Namespace) -> int:
    from toolbox_tui import user_config
    from toolbox_tui.screens.user_config import all_bindings, check

    cfg = user_config.load()
    keymap, problems = check(cfg)
    bindings = all_bindings() if args.bindings or args.json else []
    if args.json:
        emit({"path": str(cfg.path), "found": cfg.found, "theme": cfg.theme, "keys": keymap,
              "problems": [{"file": str(cfg.path), "line": p.line, "message": p.message}
                           for p in problems],
              "bindings": _binding_rows(bindings, keymap)})
        return EXIT_FAIL if problems else EXIT_OK
    state = "" if cfg.found else " (not there: every key and the theme are the defaults)"
    out("config file: ", str(cfg.path), state)
    if cfg.found:
        out("theme: ", cfg.theme or "(default)")
        out("keys changed: ", str(len(keymap)) if keymap else "none")
        for binding_id, keys in sorted(keymap.items()):
            out("  ", binding_id, " = ", keys)
    for problem in problems:
        out(Styled("33", "problem: "), problem.where(cfg.path), ": ", problem.message)
    if args.bindings:
        out("")
        out("bindings (id, keys, what it does, where):")
        for row in _binding_rows(bindings, keymap):
            mark = " (yours)" if row["changed"] else ""
            out(f"  {row['id']:<28} {row['keys'] + mark:<22} {row['description'] or '-':<18} ",
                row["where"])
    elif not problems:
        out("`toolbox-tui config --bindings` lists every binding id with its keys.")
    return EXIT_FAIL if problems else EXIT_OK


def _binding_rows(bindings: list[Any], keymap: dict[str, str]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for b in bindings:
        row = rows.setdefault(b.id, {"id": b.id, "keys": keymap.get(b.id, b.key),
                                     "default": b.key, "changed": b.id in keymap,
                                     "description": b.description, "where": b.owner})
        if b.owner not in row["where"].split(", "):
            row["where"] += ", " + b.owner
    return sorted(rows.values(), key=lambda r: r["id"])
