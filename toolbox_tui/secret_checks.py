"""Secret checks the doctor runs before `up`.

Compose v2 accepts `external: true` secrets in `config` but refuses them at container create
(`unsupported external secret NAME`) unless the engine is a swarm manager: predict that here.
"""

from __future__ import annotations

import re

from toolbox_tui.compose_model import Stack
from toolbox_tui.findings import FAIL, PASS, WARN, Check

SECRET_NAME = re.compile(r"(PASSW(OR)?D|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)",
                         re.IGNORECASE)


def secret_checks(stack: Stack, *, swarm_manager: bool | None,
                  swarm_secrets: set[str] | None = None) -> list[Check]:
    """`swarm_manager` None means the engine could not be asked."""
    out: list[Check] = []
    for name, sd in stack.secrets.items():
        loc = sd.loc
        where = dict(file=loc.file if loc else None, line=loc.line if loc else None,
                     column=loc.column if loc else None)
        users = ", ".join(sd.used_by)
        if sd.kind != "external":
            continue
        cid = f"secrets.external.{name}"
        if not sd.used_by:
            out.append(Check(id=cid, area="secrets", severity="info", status=PASS,
                             title=f"external secret {name!r} is not used by an enabled service",
                             **where))
            continue
        if swarm_manager is None:
            out.append(Check(id=cid, area="secrets", severity="warning", status=WARN,
                             title=f"external secret {name!r} (used by {users}) cannot be checked",
                             detail="The engine is not reachable, so swarm state is unknown.",
                             hint="Start the engine and re-run the doctor.", **where))
        elif swarm_manager:
            exists = swarm_secrets is None or (sd.external_name or name) in swarm_secrets
            out.append(Check(
                id=cid, area="secrets", severity="error" if not exists else "info",
                status=PASS if exists else FAIL,
                title=(f"swarm secret {sd.external_name or name!r} exists" if exists else
                       f"swarm secret {sd.external_name or name!r} (used by {users}) does not exist"),
                detail="" if exists else "The engine is a swarm manager but the secret was never created.",
                hint="" if exists else "Run `toolbox-tui secrets materialize` to create it from the keyring.",
                **where))
        else:
            out.append(Check(
                id=cid, area="secrets", severity="error", status=FAIL,
                title=f"external secret {name!r} (used by {users}) needs swarm",
                detail=(f"The engine is not a swarm manager, so `docker compose up` will fail with "
                        f"`unsupported external secret {sd.external_name or name}`."),
                hint=("Run `toolbox-tui secrets materialize` to turn it into a file secret for "
                      "Compose (values from the OS keyring), or `docker swarm init` and create it."),
                data=(("used_by", sd.used_by),), **where))
    for sname, svc in stack.services.items():
        env = svc.data.get("environment") or {}
        for key, value in env.items():
            if not SECRET_NAME.search(str(key)) or str(key).upper().endswith("_FILE"):
                continue
            if value in (None, ""):
                continue
            loc = env.key_loc(key) if hasattr(env, "key_loc") else None
            out.append(Check(
                id=f"secrets.plain_env.{sname}.{key}", area="secrets", severity="warning", status=WARN,
                title=f"service {sname!r} gets {key} as a plain environment variable",
                detail="Anyone who can `docker inspect` the container can read it.",
                hint=f"Pass it as a Compose secret and read /run/secrets/... (or {key}_FILE).",
                service=sname, file=loc.file if loc else None, line=loc.line if loc else None,
                column=loc.column if loc else None))
    return out
