"""`toolbox-tui secrets list|set|generate|materialize|rotate|audit`.

Values go from a no-echo prompt (or stdin) to the store and from the store to 0600 files or the
engine API; nothing here prints, logs or returns a value.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, Any

from toolbox_tui.cli.options import engine_client, load_project, open_secret_store, store_options_parser
from toolbox_tui.cli.output import emit, error, note, out
from toolbox_tui import safe_read
from toolbox_tui.errors import EvalError, UsageError
from toolbox_tui.sanitize import display_name
from toolbox_tui.secrets import kinds as sk

if TYPE_CHECKING:
    from toolbox_tui.compose.model import Stack


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    all_parents = [*parents, store_options_parser()]
    p = subparsers.add_parser("secrets", parents=parents, help="inventory, store, materialize, rotate, audit secrets",
                              description="Secrets the stack needs: where they are stored, whether they are set, "
                                          "and how Compose gets them. Values are never printed.")
    sub = p.add_subparsers(dest="secrets_command", metavar="ACTION", parser_class=type(p))
    p.set_defaults(func=_cmd_list)

    ls = sub.add_parser("list", parents=all_parents, help="names, kinds, where stored, set or not")
    ls.set_defaults(func=_cmd_list)

    st = sub.add_parser("set", parents=all_parents, help="store a value (no-echo prompt, or stdin)")
    st.add_argument("name")
    st.add_argument("--from-file", metavar="PATH", help="read the value from this file (certificates)")
    st.set_defaults(func=_cmd_set)

    gen = sub.add_parser("generate", parents=all_parents, help="generate values for secrets that may be generated")
    gen.add_argument("names", nargs="*", metavar="NAME", help="default: every generatable secret without a value")
    gen.add_argument("--force", action="store_true", help="replace values that are already set")
    gen.set_defaults(func=_cmd_generate)

    mat = sub.add_parser("materialize", parents=all_parents,
                         help="write 0600 files + compose override (or swarm secrets) for `up`")
    mat.add_argument("--target", choices=("auto", "compose", "swarm"), default="compose",
                     help="compose: files and an override (default); swarm: engine secrets; "
                          "auto: swarm when the engine is a swarm manager")
    mat.add_argument("--remove", action="store_true", help="delete the files and the override instead")
    mat.set_defaults(func=_cmd_materialize)

    rot = sub.add_parser("rotate", parents=all_parents,
                         help="new value, then recreate only the services that use it (rolls back on failure)")
    rot.add_argument("name")
    rot.add_argument("--generate", action="store_true", help="generate the new value")
    rot.add_argument("--from-file", metavar="PATH")
    rot.add_argument("--timeout", type=float, default=120, help="seconds to wait for healthy (default 120)")
    rot.add_argument("--target", choices=("auto", "compose", "swarm"), default="auto",
                     help="auto (default): swarm when the secrets were materialized as swarm secrets")
    rot.set_defaults(func=_cmd_rotate)

    aud = sub.add_parser("audit", parents=all_parents,
                         help="look for values in container env, image history, compose and git-tracked env files")
    aud.add_argument("--no-engine", action="store_true", help="skip container and image checks")
    aud.set_defaults(func=_cmd_audit)


# --- helpers ----------------------------------------------------------------------------------

def _store(args: argparse.Namespace, stack: Stack) -> Any:
    """The store the options name; NoSecureKeyring (exit 3, with the choices) when there is none."""
    from toolbox_tui.secrets.store import StoreError

    try:
        store = open_secret_store(args, stack.name)
    except StoreError as exc:
        raise EvalError(str(exc), exc.hint or "check the backend name (module.Class)") from None
    if store.label == "session" and not getattr(args, "json", False):
        note("--store session: values live in this process only and are gone when it exits")
    if getattr(args, "keyring_backend", None):
        from toolbox_tui.secrets.keyring_backend import is_insecure

        insecure, reason = is_insecure(store._backend)  # noqa: SLF001
        if insecure:
            note(f"warning: {store.backend} is not a secure keyring ({reason}); used because you named it")
    return store


def _read_value(name: str, kind: str, from_file: str | None) -> str:

    if from_file:
        try:  # bounded: regular files only, at most safe_read.SECRET's limit
            value = _decode(name, safe_read.read_bytes(from_file, safe_read.SECRET), from_file)
        except safe_read.ReadRefused as exc:
            raise UsageError(f"{name}: {exc.message}; nothing was stored", exc.hint) from None
        return value.rstrip("\n") if kind != sk.CERTIFICATE else value
    if sys.stdin.isatty():
        value = getpass.getpass(f"{name} ({kind}, input hidden): ")
        if kind in (sk.PASSWORD, sk.TOKEN):
            again = getpass.getpass(f"{name} again: ")
            if again != value:
                raise UsageError(f"{name}: the two entries differ; nothing stored")
        return value
    raw = getattr(sys.stdin, "buffer", None)  # a text-only stdin (embedding, tests) has no bytes
    try:  # bounded: `secrets set X < /dev/zero` is refused after 500 KiB, not read to MemoryError
        value = (_decode(name, safe_read.read_stream(raw, safe_read.SECRET, "stdin"), "stdin")
                 if raw is not None else sys.stdin.read(safe_read.SECRET.limit + 1))
    except safe_read.ReadRefused as exc:
        raise UsageError(f"{name}: {exc.message}", exc.hint) from None
    if len(value) > safe_read.SECRET.limit:
        raise UsageError(f"{name}: stdin gave more than the most toolbox-tui reads for a secret "
                         "value; nothing was stored", safe_read.SECRET.hint)
    if kind != sk.CERTIFICATE:
        value = value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value
    return value


def _decode(name: str, raw: bytes, where: str) -> str:
    """`raw` as UTF-8; a decoding error names the secret and the byte offset, never the bytes."""

    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: the value from {where} is not valid UTF-8 (bad byte at offset "
                         f"{exc.start}); nothing was stored") from None


def _entry(entries: list, name: str) -> Any:
    from toolbox_tui.secrets.inventory import find

    e = find(entries, name)
    if e is None:
        known = ", ".join(display_name(x.name) for x in entries) or "none"
        raise UsageError(f"{name!r} is not a secret of this stack (known: {known})")
    return e


# --- commands ---------------------------------------------------------------------------------

def _cmd_list(args: argparse.Namespace) -> int:
    from toolbox_tui.secrets.inventory import build_inventory, resolve

    stack = load_project(args)
    store = _store(args, stack)
    entries = build_inventory(stack)
    _values, status = resolve(stack, entries, store, mode=args.mode or stack.mode or "dev")
    del _values
    rows = []
    for e in entries:
        s = status[e.name]
        rows.append({"name": e.name, "kind": e.kind, "set": s.set, "store": s.store,
                     "used_by": list(e.used_by), "definition": e.definition,
                     "generate": e.generate, "derived": e.derive is not None,
                     "optional_in_dev": e.optional_in_dev, "sources": list(e.sources)})
    if args.json:
        emit({"project": stack.name, "backend": store.backend, "secrets": rows})
        return 0
    out(f"secrets of {stack.name} (store: {store.backend})")
    if not rows:
        out("  none found")
        return 0
    for r in rows:  # names from the repository: shown cleaned, with a digest when cleaning changed them
        r["shown"] = display_name(r["name"])
        r["used_by"] = [display_name(u) for u in r["used_by"]]
    w = max(len(r["shown"]) for r in rows)
    for r in rows:
        flag = "set" if r["set"] else "MISSING"
        how = r["store"] or ("derived" if r["derived"] else "-")
        extra = " (generatable)" if r["generate"] and not r["set"] else ""
        users = ", ".join(r["used_by"]) or "-"
        out(f"  {r['shown']:<{w}}  {r['kind']:<11} {flag:<7}  {how:<11} used by {users}{extra}")
    return 0


def _cmd_set(args: argparse.Namespace) -> int:
    from toolbox_tui.secrets.inventory import build_inventory

    stack = load_project(args)
    entries = build_inventory(stack)
    e = _entry(entries, args.name)
    if e.derive:
        error(f"{e.name} is derived ({e.derive}); it is computed from its parts, not typed",
             "set the parts instead: " + ", ".join(sk.template_parts(e.derive)))
        return 1
    store = _store(args, stack)
    value = _read_value(e.name, e.kind, args.from_file)
    try:
        sk.validate(e.name, value, e.rule, allow_placeholder=False)
    except sk.SecretValueError as exc:
        error(str(exc), e.hint or f"enter a valid {e.kind}; nothing was stored")
        return 1
    store.set(e.name, value)
    del value
    if args.json:
        emit({"name": e.name, "kind": e.kind, "set": True, "store": store.label})
    else:
        out(f"{e.name}: stored ({store.backend})")
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from toolbox_tui.secrets.inventory import build_inventory

    stack = load_project(args)
    store = _store(args, stack)
    entries = build_inventory(stack)
    if args.names:
        targets = [_entry(entries, n) for n in args.names]
    else:
        parts = {p.lower() for e in entries if e.derive for p in sk.template_parts(e.derive)}
        # plain environment variables are not delivered by toolbox-tui: generate them only on request
        targets = [e for e in entries if e.generate and e.stored
                   and (e.materializable or "manifest" in e.sources or e.name.lower() in parts)]
    done, skipped, refused = [], [], []
    for e in targets:
        if not e.generate or not e.stored:
            why = ("derived from its parts" if e.derive else f"a {e.kind} that must come from its issuer"
                   if not e.stored or e.kind in (sk.API_KEY, sk.CERTIFICATE, sk.URL)
                   else "marked `generate: false`")
            if e.definition in ("file", "content"):
                why = "a file secret the stack provides"
            refused.append({"name": e.name, "reason": why})
            continue
        if store.get(e.name) and not args.force:
            skipped.append(e.name)
            continue
        store.set(e.name, sk.generate(e.rule))
        done.append(e.name)
    if args.json:
        emit({"generated": done, "skipped": skipped, "refused": refused})
    else:
        for n in done:
            out(f"{n}: generated and stored ({store.backend})")
        for n in skipped:
            out(f"{n}: already set, kept (use --force to replace)")
        for r in refused:
            out(f"{r['name']}: not generated: {r['reason']}")
        if not (done or skipped or refused):
            out("nothing to generate")
    return 1 if (refused and args.names) else 0


def _cmd_materialize(args: argparse.Namespace) -> int:
    from toolbox_tui.secrets import materialize as sm
    from toolbox_tui.secrets.files import UnsafeSecretsDir
    from toolbox_tui.secrets.swarm import SwarmUnavailable, swarm_active

    stack = load_project(args)
    if args.remove:
        removal = sm.remove_recorded(stack)
        if args.json:
            emit({"removed": list(removal.removed),
                  "kept": [{"path": p, "why": why} for p, why in removal.kept]})
        else:
            out(f"removed {len(removal.removed)} file(s)")
            for p, why in removal.kept:
                out(f"  kept {p} ({why}; toolbox-tui removes only what it recorded writing)")
        return 0
    store = _store(args, stack)
    target = args.target
    client = None
    if target in ("auto", "swarm"):
        from toolbox_tui.engine.client import EngineUnavailable

        try:
            client = engine_client()
        except EngineUnavailable:
            if target == "swarm":
                raise
        target = "swarm" if (client is not None and swarm_active(client)) or target == "swarm" else "compose"
    mode = args.mode or stack.mode or "dev"
    try:
        result = sm.materialize_report(stack, store, mode=mode, target=target, client=client)
    except (sm.SecretsIncomplete, sm.SecretsRefused, SwarmUnavailable, UnsafeSecretsDir,
            sm.SecretsWriteError) as exc:
        error(str(exc), exc.hint)
        return 1
    payload = {"target": result.target, "mode": mode,
               "directory": str(result.directory) if result.directory else None,
               "override": str(result.override) if result.override else None,
               "files": [{"name": n, "path": p} for n, p in result.files],
               "swarm": [{"name": n, "engine_name": en, "action": a} for n, en, a in result.swarm_names],
               "placeholders": list(result.placeholders), "derived": list(result.derived),
               "notes": list(result.notes)}
    if args.json:
        emit(payload)
        return 0
    for n, p in result.files:
        tag = " (PLACEHOLDER, not a real key)" if n in result.placeholders else ""
        out(f"{n}: {p}{tag}")
    for n, en, a in result.swarm_names:
        out(f"{n}: swarm secret {en} ({a})")
    if result.override:
        out(f"override: {result.override} (added automatically to later commands)")
    else:
        out("no external or environment secrets to materialize")
    for text in result.notes:
        note("warning: " + text)
    if result.placeholders:
        note("placeholder values for optional keys: " + ", ".join(result.placeholders)
             + " — features that need them will not work")
    return 0


def _cmd_rotate(args: argparse.Namespace) -> int:
    from toolbox_tui.secrets import rotate as sr
    from toolbox_tui.secrets.inventory import build_inventory

    stack = load_project(args)
    entries = build_inventory(stack)
    e = _entry(entries, args.name)
    if e.derive:
        error(f"{e.name} is derived ({e.derive}); rotate one of its parts instead")
        return 1
    store = _store(args, stack)
    if args.generate:
        if not e.rule.generate:
            error(f"{e.name} is a {e.kind} that cannot be generated", "type it, or pass it on stdin")
            return 1
        value = sk.generate(e.rule)
    else:
        value = _read_value(e.name, e.kind, args.from_file)
        try:
            sk.validate(e.name, value, e.rule)
        except sk.SecretValueError as exc:
            error(str(exc), "nothing was changed")
            return 1
    from toolbox_tui.secrets.materialize import read_journal

    target = args.target
    if target == "auto":
        target = "swarm" if read_journal(stack).get("target") == "swarm" else "compose"
    mode = args.mode or stack.mode or "dev"
    if target == "swarm":
        report = sr.rotate_swarm(stack, store, e.name, value, client=engine_client(), mode=mode,
                                 timeout=args.timeout, progress=None if args.json else note)
    else:
        report = sr.rotate(stack, store, e.name, value, mode=mode, timeout=args.timeout,
                           progress=None if args.json else note)
    del value
    if args.json:
        emit(report.to_json())
    else:
        out(report.summary())
    return 0 if report.ok else 1


def _cmd_audit(args: argparse.Namespace) -> int:
    from toolbox_tui.secrets import audit as sa
    from toolbox_tui.findings import exit_code

    stack = load_project(args)
    store = _store(args, stack)
    checks = sa.audit(stack, store, engine=not args.no_engine)
    if args.json:
        emit({"checks": [c.to_json() for c in checks]})
    else:
        for c in checks:
            where = f" ({c.where})" if c.where else ""
            out(f"[{c.status.upper():4}] {c.title}{where}")
            if c.detail and c.status != "pass":
                out(f"       {c.detail}")
            if c.hint and c.status != "pass":
                out(f"       hint: {c.hint}")
    # the audit's findings are its failures: a warning (a secret-like variable in a tracked env
    # file, an override emptying `secrets:`) also exits 1
    return 1 if any(c.status in ("fail", "warn") for c in checks) else exit_code(checks)
