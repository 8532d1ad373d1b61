"""The dashboard's Health panel for one service: container, image, ports, the engine's recent
health-check results and, when the health check fetches an HTTP endpoint, its status and latency.
Everything shown comes from the engine and is sanitized text, never markup."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from toolbox_tui.engine.containers import ServiceState
from toolbox_tui.live.http_probe import HttpHealth
from toolbox_tui.live.stats import sparkline
from toolbox_tui.sanitize import strip_all
from toolbox_tui.screens.dashboard.services import HEALTH_STYLES


def health_view(service: str | None, st: ServiceState | None, http: HttpHealth | None) -> RenderableType:
    """The panel for `service` (`st` its state, `http` its latest probes, either may be None)."""
    if st is None:
        return Text(f" {service or 'no service'}: no container yet")
    head = Text(f" {st.service}", "bold")
    head.append(f"  container {st.container_name or '-'}  image {st.image or '-'}")
    if st.ports:
        head.append(f"\n ports {', '.join(st.ports)}")
    if st.exit_code is not None and st.state != "running":
        head.append(f"  exit code {st.exit_code}", "red" if st.exit_code else "")
    if not st.details:
        head.append("\n details pending: the engine has not answered `docker inspect` for this "
                    "container (a health-check exec that hangs holds its lock); state and "
                    "health are from the container list", "yellow")
    if not st.health and not st.health_log:
        head.append("\n no health check defined for this service", "dim")
        return head
    table = Table(box=None, expand=True, pad_edge=False, show_edge=False)
    table.add_column("time", no_wrap=True, width=12)
    table.add_column("exit", width=4, justify="right")
    table.add_column("output", overflow="fold")
    for probe in reversed(st.health_log):
        style = "green" if probe.exit_code == 0 else "red"
        table.add_row(Text(probe.start[11:23]), Text(str(probe.exit_code), style), Text(probe.output))
    return Group(head, Text(f" health {st.health}  failing streak {st.failing_streak}",
                            HEALTH_STYLES.get(st.health, "")), *_http_lines(http), table)


def _http_lines(h: HttpHealth | None) -> list[Text]:
    if h is None or not h.probes:
        return []
    last = h.probes[-1]
    # the URL comes from the container's health-check command: free text like any label
    t = Text(f" http {strip_all(h.url, max_len=200)}  ")
    if last.status is not None:
        t.append(f"status {last.status}", "green" if last.ok else "bold red")
    else:
        t.append(f"error {last.error}", "bold red")
    t.append(f"  latency {last.latency_ms:.0f} ms")
    ok = sum(1 for p in h.probes if p.ok)
    spark = Text(f" latency {sparkline([p.latency_ms for p in h.probes], width=30)}", "cyan")
    spark.append(f"  {ok}/{len(h.probes)} ok", "dim")
    return [t, spark]
