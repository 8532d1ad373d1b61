"""The stack doctor: every check, in one call, shared by the CLI and the wizard."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable

from toolbox_tui.checks.compose import ComposeVerdict, compose_verdict
from toolbox_tui.compose.model import Stack
from toolbox_tui.checks.docs import doc_checks
from toolbox_tui.checks.setup_steps import empty_value_fillers, needed_files, setup_checks
from toolbox_tui.checks.env import env_checks
from toolbox_tui.checks.external import external_checks
from toolbox_tui.findings import AREAS, FAIL, Check
from toolbox_tui.checks.overrides import override_checks
from toolbox_tui.checks.paths import path_checks
from toolbox_tui.checks.secrets import secret_checks


@dataclass
class DoctorReport:
    checks: list[Check]
    verdict: ComposeVerdict | None = None
    engine_error: str | None = None
    debug: list[str] = field(default_factory=list)


def _engine(client: Any) -> tuple[Any, bool | None, set[str] | None, Exception | None]:
    """Client, swarm-manager flag, swarm secret names; all None when the engine is unreachable
    (then the exception, which the prereq checks explain without connecting a second time)."""
    from toolbox_tui.engine import client as engine

    try:
        if client is None:
            client = engine.connect(timeout=5)
        info = engine.engine_info(client)
    except Exception as exc:  # EngineUnavailable or an API error
        return None, None, None, exc
    manager = bool(info.swarm_control_available)
    names: set[str] | None = None
    if manager:
        try:
            names = {s.name for s in client.secrets.list()}
        except Exception:
            names = None
    return client, manager, names, None


def run_doctor(stack: Stack, *, engine: bool = True, client: Any = None,
               compose: bool = True, docs: bool = True) -> list[Check]:
    return doctor_report(stack, engine=engine, client=client, compose=compose, docs=docs).checks


def doctor_report(stack: Stack, *, engine: bool = True, client: Any = None,
                  compose: bool = True, docs: bool = True) -> DoctorReport:
    checks: list[Check] = []
    manager = swarm_names = err = None
    if engine:
        from toolbox_tui.checks.prereq import prereq_checks

        client, manager, swarm_names, err = _engine(client)
        checks += prereq_checks(stack, client=client, engine_error=err)
    # The checks that do not need Compose's verdict first: `docker compose config` may still be
    # running (the CLI starts it early, `compose_cli.prefetch_config`).
    rest = _own_checks(stack, manager, swarm_names, docs)
    verdict = compose_verdict(stack) if compose else None
    if verdict is not None:
        checks += verdict.checks
        checks += external_checks(stack, verdict.config, client=client, engine=engine and err is None)
    checks += path_checks(stack, overrides=verdict.paths if verdict else None)
    checks += rest
    order = {a: i for i, a in enumerate(AREAS)}
    checks.sort(key=lambda c: order.get(c.area, len(order)))
    report = DoctorReport(checks=checks, verdict=verdict, engine_error=str(err) if err else None)
    if verdict is not None:
        report.debug += [f"compose/model disagreement: {d}" for d in verdict.disagreements]
    return report


def _own_checks(stack: Stack, manager: bool | None, swarm_names: set[str] | None,
                docs: bool) -> list[Check]:
    """Secrets, env, overrides, docs and set-up: what needs our model only, in report order."""
    checks = secret_checks(stack, swarm_manager=manager, swarm_secrets=swarm_names)
    checks += env_checks(stack)
    checks += override_checks(stack)
    if docs:
        mounts = {os.path.basename(str(x).rstrip("/")) for r in stack.path_refs() if r.kind == "bind"
                  for x in (r.raw, r.target or "")}
        checks += doc_checks(stack.root_dir(), stack.project_dir, stack.files, mounts)
        # `env.empty_secret.*` (env_checks, above) is all empty_value_fillers reads
        checks += setup_checks(stack.root_dir(), stack.project_dir, stack.files,
                               needed_files(stack.project_dir, stack.env_files),
                               empty_value_fillers(checks, stack.root_dir()))
    return checks


def blocking(checks: Iterable[Check], areas: tuple[str, ...] = ("paths", "secrets")) -> list[Check]:
    """Failing checks in `areas`: what `up` refuses to start with."""
    return [c for c in checks if c.status == FAIL and c.area in areas]
