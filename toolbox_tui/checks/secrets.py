"""Secret checks the doctor runs before `up`.

Compose v2 accepts `external: true` secrets in `config` but refuses them at container create
(`unsupported external secret NAME`) — swarm or not: only `docker stack deploy` reads swarm
secrets. Predict that here.
"""

from __future__ import annotations

from toolbox_tui.compose.model import Stack
from toolbox_tui.secret_names import file_variable, holds_secret
from toolbox_tui.findings import FAIL, PASS, WARN, Check



def secret_checks(stack: Stack, *, swarm_manager: bool | None,
                  swarm_secrets: set[str] | None = None) -> list[Check]:
    """`swarm_manager` None means the engine could not be asked."""
    out: list[Check] = []
    for name, sd in stack.secrets.items():
        loc = sd.loc
        where = dict(file=loc.file if loc else None, line=loc.line if loc else None,
                     column=loc.column if loc else None)
        users = ", ".join(sd.used_by)
        if sd.kind == "environment" and sd.used_by and sd.environment \
                and stack.environ.get(sd.environment) is None:
            out.append(Check(
                id=f"secrets.env_unset.{name}", area="secrets", severity="error", status=FAIL,
                title=f"secret {name!r} (used by {users}) reads ${sd.environment}, which is not set",
                detail=(f"`docker compose up` stops with: environment variable "
                        f"\"{sd.environment}\" required by secret \"{name}\" is not set."),
                hint=(f"Set {sd.environment} in the environment or the env file, or run "
                      "`toolbox-tui secrets materialize` to provide it from the OS keyring."),
                data=(("variable", sd.environment), ("used_by", sd.used_by)), **where))
            continue
        if sd.kind != "external":
            continue
        cid = f"secrets.external.{name}"
        if not sd.used_by:
            out.append(Check(id=cid, area="secrets", severity="info", status=PASS,
                             title=f"external secret {name!r} is not used by an enabled service",
                             **where))
            continue
        ext = sd.external_name or name
        swarm_note = ""
        if swarm_manager and swarm_secrets is not None:
            swarm_note = (f" The swarm has a secret {ext!r}, which only `docker stack deploy` can use."
                          if ext in swarm_secrets else
                          f" The swarm has no secret {ext!r} either, so `docker stack deploy` would fail too.")
        out.append(Check(
            id=cid, area="secrets", severity="error", status=FAIL,
            title=f"external secret {name!r} (used by {users}) cannot be used by `docker compose up`",
            detail=(f"Compose refuses external secrets at container create (`unsupported external "
                    f"secret {ext}`), whether or not the engine is a swarm manager.{swarm_note}"),
            hint=("Run `toolbox-tui secrets materialize`: it writes the values from the OS keyring to "
                  "private files and adds an override that makes them file secrets for Compose."),
            data=(("used_by", sd.used_by), ("swarm_manager", swarm_manager)), **where))
    for sname, svc in stack.services.items():
        env = svc.data.get("environment") or {}
        for key, value in env.items():
            passed = value is None  # `- POSTGRES_PASSWORD`: Compose copies it from the environment
            if passed:
                value = stack.environ.get(str(key))
            if value in (None, "") or not holds_secret(str(key), str(value)):
                continue
            loc = env.key_loc(key) if hasattr(env, "key_loc") else None
            file_var = file_variable(str(key), svc.image)
            out.append(Check(
                id=f"secrets.plain_env.{sname}.{key}", area="secrets", severity="warning", status=WARN,
                title=f"service {sname!r} gets {key} as a plain environment variable",
                detail=("Its value comes from the environment or the env file (`- " + str(key) + "`). "
                        if passed else "") + "Anyone who can `docker inspect` the container can read it.",
                hint=(f"Pass it as a Compose secret and set {file_var}=/run/secrets/NAME (the image "
                      "reads the value from that file)." if file_var else
                      "Pass it as a Compose secret (mounted at /run/secrets/NAME) if the image can "
                      "read it from a file; check the image's docs for a *_FILE variable."),
                service=sname, file=loc.file if loc else None, line=loc.line if loc else None,
                column=loc.column if loc else None,
                data=(("passed_through", passed), ("file_variable", file_var))))
    return out

