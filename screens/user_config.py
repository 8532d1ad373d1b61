"""The user's config file (`toolbox_tui/user_config.py`) applied to an app: keys and theme.

Binding ids are the ones the command palette shows next to each command (`dashboard.restart`,
`wizard.next`, ...); every `Binding` of the faces has one. A key the file gives replaces the
binding's default keys (Textual's keymap). Problems (an unknown id or theme, a key given to two
bindings of one screen) are named with file:line; the entry is left out and the app starts.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Iterable

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.theme import BUILTIN_THEMES

from toolbox_tui import user_config
from toolbox_tui.sanitize import plain_text
from toolbox_tui.user_config import Problem, UserConfig

MAX_NOTICES = 4
"""Problems shown as notifications when an app starts; `toolbox-tui config` lists them all."""


@dataclass(frozen=True)
class BindingInfo:
    owner: str
    """The class whose BINDINGS has it ("DashboardScreen")."""
    id: str
    key: str
    """Its default keys."""
    description: str
    is_app: bool
    """An App's binding: active on every screen of that app."""


def _face_classes() -> Iterable[type]:
    """Every DOM class defined in the faces (all their modules imported first)."""
    import toolbox_tui.screens as faces

    for info in pkgutil.walk_packages(faces.__path__, faces.__name__ + "."):
        importlib.import_module(info.name)
    pending = [DOMNode]
    seen: set[type] = set()
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                pending.append(sub)
    return [c for c in seen if c.__module__.startswith(faces.__name__ + ".")]


def all_bindings() -> list[BindingInfo]:
    """Every binding of the faces that has an id."""
    found: list[BindingInfo] = []
    for cls in sorted(_face_classes(), key=lambda c: (c.__module__, c.__qualname__)):
        for b in cls.__dict__.get("BINDINGS", ()):
            if isinstance(b, Binding) and b.id:
                found.append(BindingInfo(cls.__qualname__, b.id, b.key, b.description,
                                         issubclass(cls, App)))
    return found


def check(cfg: UserConfig) -> tuple[dict[str, str], list[Problem]]:
    """(the keymap to apply, every problem of the file) — the form problems included."""
    problems = list(cfg.problems)
    keymap: dict[str, str] = {}
    if cfg.keys:  # the faces' modules are imported only for a file that remaps keys
        bindings = all_bindings()
        ids = {b.id for b in bindings}
        for binding_id, keys in cfg.keys.items():
            if binding_id in ids:
                keymap[binding_id] = keys
            else:
                problems.append(Problem(cfg.key_lines.get(binding_id) or None,
                                        f"no binding has the id {binding_id!r}; left out. The command "
                                        "palette (ctrl+p) and `toolbox-tui config` list the ids"))
        problems.extend(_clashes(bindings, keymap, cfg))
    if cfg.theme and cfg.theme not in BUILTIN_THEMES:
        problems.append(Problem(cfg.theme_line, f"no theme is named {cfg.theme!r}; the default is "
                                f"used. Themes: {', '.join(sorted(BUILTIN_THEMES))}"))
    return keymap, problems


def _clashes(bindings: list[BindingInfo], keymap: dict[str, str], cfg: UserConfig) -> list[Problem]:
    """A key the file gives that another binding of the same screen (or its app) also has."""
    def keys_of(b: BindingInfo) -> set[str]:
        return {k.strip() for k in keymap.get(b.id, b.key).split(",")}

    app_level = [b for b in bindings if b.is_app]
    problems: list[Problem] = []
    reported: set[tuple[str, str]] = set()
    for b in bindings:
        if b.id not in keymap:
            continue
        same_screen = [o for o in bindings if o.owner == b.owner] + (app_level if not b.is_app else [])
        for other in same_screen:
            if other.id == b.id:
                continue
            shared = keys_of(b) & keys_of(other)
            pair = tuple(sorted((b.id, other.id)))
            if shared and pair not in reported:
                reported.add(pair)
                problems.append(Problem(cfg.key_lines.get(b.id) or None,
                                        f"{', '.join(sorted(shared))} is given to both {b.id} and "
                                        f"{other.id}; only one of them will answer. Give one "
                                        "another key"))
    return problems


def apply(app: App, cfg: UserConfig | None = None) -> list[Problem]:
    """Load the user's config (unless given), set the app's keymap and theme, and show up to
    MAX_NOTICES problems as notifications. Returns every problem."""
    cfg = user_config.load() if cfg is None else cfg
    keymap, problems = check(cfg)
    app.user_keymap = keymap  # type: ignore[attr-defined] - read by the command palette
    if keymap:
        app.set_keymap(keymap)
    if cfg.theme and cfg.theme in BUILTIN_THEMES:
        app.theme = cfg.theme
    for problem in problems[:MAX_NOTICES]:
        app.notify(plain_text(f"{problem.where(cfg.path)}: {problem.message}"),
                   title="config file", severity="warning", timeout=12, markup=False)
    if len(problems) > MAX_NOTICES:
        app.notify(f"{len(problems) - MAX_NOTICES} more problems in {plain_text(str(cfg.path))}: "
                   "run `toolbox-tui config` to see them all", title="config file",
                   severity="warning", timeout=12, markup=False)
    return problems


def effective_key(app: App, binding: Binding) -> str:
    """The keys `binding` answers to in `app` (the user's, else its own)."""
    return getattr(app, "user_keymap", {}).get(binding.id or "", binding.key)
