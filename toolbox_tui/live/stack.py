"""A running Compose project, live: states, stats, logs and events wired together, plus actions.

The dashboard's one data source. It owns a `StackWatcher` (engine events → `ServiceState`), a
`StatsCollector` (stats streams of running containers) and a `LogPipeline` (log streams), connects
them (a service that (re)starts gets its stats tracked and its log reader nudged), and forwards
everything to the callbacks in `LiveSinks` — called from background threads, so a face wraps
them in `post_message`. Actions run synchronously; call them from a worker thread.
No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from toolbox_tui.engine import compose_cli
from toolbox_tui.live.http_probe import HttpHealth, HttpProber
from toolbox_tui.live.log_lines import LogBatch
from toolbox_tui.live.logs import LogPipeline
from toolbox_tui.engine.containers import ServiceState
from toolbox_tui.live.events import EngineStatus, StackEvent, StackWatcher
from toolbox_tui.live.stats import ServiceStats, StatsCollector
from toolbox_tui.errors import EXIT_FAIL, ToolboxError


class ActionError(ToolboxError):
    """An action on the stack failed; the message is user-facing."""

    exit_code = EXIT_FAIL


@dataclass(frozen=True)
class LiveSinks:
    """Where a `LiveStack` reports; every callback is called from a background thread."""

    on_state: Callable[[ServiceState], None]
    on_stats: Callable[[ServiceStats], None]
    on_event: Callable[[StackEvent], None]
    on_engine: Callable[[EngineStatus], None]
    on_logs: Callable[[LogBatch], None]
    on_http: Callable[[HttpHealth], None] | None = None
    """HTTP health probes of the selected service (`select`); None: no probing."""


class LiveStack:
    """Watch Compose project `project`; act on it through the engine and `docker compose`."""

    def __init__(self, project: str, *, compose_args: Sequence[str] | None = None,
                 services: Sequence[str] = (), client: Any = None, initial_tail: int = 200,
                 max_line: int | None = None,
                 secret_vars: dict[str, dict[str, str]] | None = None) -> None:
        self.project = project
        """Compose project name."""
        self.compose_args = list(compose_args) if compose_args else None
        """`--project-directory D -p NAME -f F...` when the project's files are known; None when
        attached by name only (then `up` can only start existing containers)."""
        self.services = list(services)
        """Services declared in the compose files (shown even before they have a container)."""
        self.client = client
        """A `docker.DockerClient`; `engine.client.connect()` (DOCKER_HOST, docker context) if None."""
        self.initial_tail = initial_tail
        """Log lines of history shown per service on attach."""
        self.max_line = max_line
        self.secret_vars = secret_vars or {}
        """Per service, the variables that carry one of the stack's secrets (name → secret):
        the inspect view never shows their values (`live.inspect.secret_vars_of`)."""
        self.watcher: StackWatcher | None = None
        self.stats: StatsCollector | None = None
        self.logs: LogPipeline | None = None
        self.http: HttpProber | None = None
        self._selected: str | None = None

    def start(self, sinks: LiveSinks) -> None:
        if self.client is None:
            from toolbox_tui.engine.client import connect

            self.client = connect(timeout=30)
        kw = {} if self.max_line is None else {"max_line": self.max_line}
        self.logs = LogPipeline(self.client, self.project, sinks.on_logs, services=self.services,
                                initial_tail=self.initial_tail, **kw)
        self.stats = StatsCollector(self.client, sinks.on_stats)

        def on_state(state: ServiceState) -> None:
            sinks.on_state(state)
            if state.service == self._selected:
                self._reselect()
            if self.stats is not None:
                if state.state == "running" and state.container_id:
                    self.stats.track(state.service, state.container_id)
                else:
                    self.stats.untrack(state.service)
            if self.logs is not None and self.watcher is not None:
                # the pipeline knows services by their raw label, the state by its shown name
                self.logs.notify(self.watcher.raw_names.get(state.service, state.service))

        self.watcher = StackWatcher(self.client, self.project, on_state=on_state,
                                    on_event=sinks.on_event, on_engine=sinks.on_engine,
                                    services=self.services)
        self.logs.start()
        self.watcher.start()
        if sinks.on_http is not None:
            self.http = HttpProber(self.client, sinks.on_http)
            self.http.start()

    def select(self, service: str | None) -> None:
        """Probe `service`'s HTTP health endpoint (if it has one) instead of the previous one."""
        self._selected = service
        self._reselect()

    def _reselect(self) -> None:
        if self.http is None:
            return
        st = self.watcher.state_of(self._selected or "") if self.watcher else None
        self.http.select(self._selected, st.container_id if st and st.state == "running" else "")

    def stop(self) -> None:
        """Close every stream; the threads end promptly."""
        for part in (self.http, self.watcher, self.stats, self.logs):
            if part is not None:
                part.stop()

    def consumed(self, n: int) -> None:
        if self.logs is not None:
            self.logs.consumed(n)

    # --- actions (blocking: run them in a worker) ---------------------------------------------

    def _container(self, service: str) -> str:
        state = self.watcher.state_of(service) if self.watcher else None
        if state is None or not state.container_id:
            raise ActionError(f"service {service} has no container; bring the stack up first (U)")
        return state.container_id

    def restart(self, service: str, timeout: int = 10) -> str:
        self._engine_call(lambda: self.client.api.restart(self._container(service), timeout=timeout))
        return f"restarted {service}"

    def stop_service(self, service: str, timeout: int = 10) -> str:
        self._engine_call(lambda: self.client.api.stop(self._container(service), timeout=timeout))
        return f"stopped {service}"

    def start_service(self, service: str) -> str:
        self._engine_call(lambda: self.client.api.start(self._container(service)))
        return f"started {service}"

    def up(self) -> str:
        if self.compose_args is None:
            # Attached by name: no files, so start what exists.
            ids = [s.container_id for s in (self.watcher.states.values() if self.watcher else ())
                   if s.container_id and s.state != "running"]
            for cid in ids:
                self._engine_call(lambda cid=cid: self.client.api.start(cid))
            return f"started {len(ids)} container(s) (attached by name: `up` needs the project files)"
        self._compose(["up", "-d", "--remove-orphans"])
        return "stack is up"

    def down(self) -> str:
        self._compose(["down"])
        return "stack is down"

    def _compose(self, args: list[str]) -> None:
        base = self.compose_args if self.compose_args is not None else ["-p", self.project]
        try:
            proc = compose_cli.run([*base, *args], timeout=600)
        except compose_cli.ComposeError as exc:
            raise ActionError(str(exc)) from None
        if proc.returncode != 0:
            raise ActionError(f"docker compose {args[0]} failed: {compose_cli.clean_error(proc.stderr)}")

    def shell_plan(self, service: str, command: Sequence[str] = ()) -> Any:
        """How to open a shell (or `command`) in `service`'s container (`live.shell.ShellPlan`);
        probes the image's shells with non-interactive execs, so call it from a worker.
        Raises `live.shell.ShellError`."""
        from toolbox_tui.live.shell import plan_shell

        return plan_shell(service, self.watcher.state_of(service) if self.watcher else None,
                          command=command)

    def inspect(self, service: str) -> Any:
        """`service`'s container as the engine describes it (`live.inspect.ServiceInspect`);
        blocking. Raises `live.inspect.InspectError`."""
        from toolbox_tui.live.inspect import inspect_service

        state = self.watcher.state_of(service) if self.watcher else None
        raw = self.watcher.raw_names.get(service, service) if self.watcher else service
        return inspect_service(self.client, service, state.container_id if state else "",
                               secret_vars=self.secret_vars.get(raw) or self.secret_vars.get(service))

    @staticmethod
    def _engine_call(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except ActionError:
            raise
        except Exception as exc:  # noqa: BLE001 - docker.errors.APIError, connection errors
            explanation = getattr(exc, "explanation", None) or str(exc)
            raise ActionError(f"the engine refused: {explanation}") from None
