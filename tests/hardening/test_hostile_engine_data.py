"""Hostile data that comes from the engine itself, and memory under hostile log input.

Docker refuses control characters in container *names*, but labels, image tags, health-check
output (`State.Health.Log[].Output`) and event attributes are free text. Containers created here
carry the Compose labels of a project whose *service* label holds ESC/CSI/OSC sequences (OSC 52
clipboard write, window title), BEL, C1 controls, bidi overrides, Textual markup, 10,000
characters, and lone surrogates; one has a health check whose output is hostile. The dashboard
attaches by name (`-p NAME`, no files). Invariants: no crash, no raw control in any widget, the
SVG export or `--json`, markup shown as text (never run), every row identifiable, and the
dashboard's actions still reach the right container.

Memory: a container writing 90,000-character lines without a newline, one writing
`/dev/urandom`, one flooding short lines, and containers restarting in a loop, followed by the
real `LogPipeline` / `LiveStack` under `tracemalloc`: the peak stays under a fixed bound and is
recorded together with the volume read.
"""

from __future__ import annotations

import json
import re
import threading
import time
import tracemalloc

import pytest

pytest.importorskip("textual")

from textual.widgets import DataTable, RichLog, Static  # noqa: E402

from toolbox_tui.live.log_lines import LogStore  # noqa: E402
from toolbox_tui.live.logs import LogPipeline  # noqa: E402
from toolbox_tui.screens.dashboard.app import DashboardApp
from toolbox_tui.screens.dashboard.screen import DashboardScreen  # noqa: E402
from toolbox_tui.screens.dialogs import ConfirmDialog  # noqa: E402
from toolbox_tui.screens.dashboard.log_view import LogView  # noqa: E402
from toolbox_tui.live.stack import LiveSinks, LiveStack  # noqa: E402

from .invariants import problems, run_exe  # noqa: E402

RAW_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What must never reach a widget, a screenshot or a JSON value (tab is allowed)."""

ENGINE_CLASS = "hostile engine data (labels, health output) in the dashboard"
MEMORY_CLASS = "memory under hostile log input (real containers)"

HOSTILE_SERVICES = {
    # key -> the raw service label; each starts with a plain prefix that must stay visible
    "esc": "svc-esc\x1b[2J\x1b[31mred\x1b]0;pwn-title\x07\x1b[H-end",
    "osc52": "svc-osc52\x1b]52;c;cHduZWQ=\x07\x1b]8;;http://pwn.example/\x1b\\link-end",
    "bel-c1": "svc-bel-c1\x07\x07\x85\x9b31m\x9dpwn-c1\x9c\x90pwn-dcs\x9c-end",
    "bidi": "svc-bidi\u202egnp\u202c\u2066iso\u2069-end",
    "markup": "svc-markup[@click=app.quit]q[/] [b]bold[/b] [/unbalanced]-end",
    "long": "svc-long" + "x" * 10_000,
    "surrogate": "svc-surrogate\ud800\udfff\udc00-end",
    "twin": "svc-twin",
    "twin-spoof": "svc-twin\u202e",  # cleaned, it would read exactly like the real `svc-twin`
    "url": "svc-url",  # plain label; its health check URL (shown with the HTTP probes) is not
}
"""The engine stores lone surrogates as U+FFFD (its JSON decoder replaces them)."""


def _prefix(raw: str) -> str:
    return re.match(r"[a-z-]*", raw).group()[:20]


HEALTH_SH = (r"printf 'hc\033]0;pwn-h\007\033]52;c;cHduZWQ=\007\033[2J\302\233"
             r"31m\233[@click=app.quit] [b]x[/b] \342\200\256bidi\n'; "
             r"head -c 3000 /dev/zero | tr '\0' L; exit 1")
"""Health-check output: OSC title + OSC 52, CSI clear, C1 CSI (valid and invalid UTF-8), markup,
bidi override, 3,000 characters; exits 1 so the service turns unhealthy (a health event)."""

HEALTH_URL = "http://127.0.0.1:8080/h\u202eflipped\x9b1m[/x][@click=app.quit]z\x85"
"""A health-check URL with a bidi override, C1 CSI/NEL and markup in its path: the Health panel
shows it with the HTTP probe results of the selected service. (With ESC in it, httpx refuses the
URL and the service simply gets no probe line.)"""

NS = 1_000_000_000


def _labels(project: str, service: str) -> dict[str, str]:
    return {"com.docker.compose.project": project, "com.docker.compose.service": service,
            "com.docker.compose.oneoff": "False"}


def _clean(text: str, where: str, *, multiline: bool = False) -> None:
    """No raw control (newlines allowed between the lines of a multi-line render) and no payload
    of a dropped escape sequence."""
    m = RAW_CONTROL.search(text.replace("\n", "") if multiline else text)
    if m is not None and multiline:
        text = text.replace("\n", "")
    assert m is None, (f"raw control {m.group()!r} in {where}: "
                       f"{text[max(0, m.start() - 40): m.end() + 40]!r}")
    assert "pwn" not in text, f"escape-sequence payload shown in {where}: {text[:200]!r}"


# the dashboard tests' Pilot wait
from tests.helpers.waiting import pilot_until  # noqa: E402


def _started(client, cid: str) -> str:
    return client.api.inspect_container(cid)["State"]["StartedAt"]


def _static_text(widget: Static) -> str:
    """What a Static shows, as plain text (renders its Rich content at 200 columns)."""
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None, force_terminal=False,
                      file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.renderable if hasattr(widget, "renderable") else widget.content)
    return console.export_text()


@pytest.fixture
def hostile_project(docker_client, test_image, project_name, cleanup_project):
    """One running container per hostile service label; `svc-esc` has a hostile health check."""
    cleanup_project(project_name)
    ids = {}
    for key, service in HOSTILE_SERVICES.items():
        kw = {}
        if key == "esc":
            kw["healthcheck"] = {"test": ["CMD-SHELL", HEALTH_SH], "interval": NS, "timeout": 2 * NS,
                                 "retries": 1, "start_period": 0}
        if key == "url":
            kw["healthcheck"] = {"test": ["CMD", "wget", "-q", "-O-", HEALTH_URL], "interval": NS,
                                 "timeout": 2 * NS, "retries": 1, "start_period": 0}
            kw["ports"] = {"8080/tcp": ("127.0.0.1", None)}
        c = docker_client.containers.run(  # init: sh as PID 1 would make each restart take 10 s
            test_image, ["sh", "-c", f"while :; do echo '{key} tick INFO'; sleep 0.5; done"],
            detach=True, init=True, labels=_labels(project_name, service), **kw)
        ids[key] = c.id
    return project_name, ids


@pytest.mark.engine
@pytest.mark.slow
async def test_hostile_labels_and_health_output_in_the_dashboard(hostile_project, docker_client,
                                                                  record) -> None:
    project, ids = hostile_project
    record.case(ENGINE_CLASS, "service labels with ESC/OSC 52/BEL/C1/bidi/markup/10k/surrogates: "
                              "rows, Health panel, events, SVG")
    source = LiveStack(project)
    app = DashboardApp(project, source)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen: DashboardScreen = app.dashboard
        table = screen.query_one("#services", DataTable)
        n = len(HOSTILE_SERVICES)
        assert await pilot_until(pilot, lambda: table.row_count == n
                            and sum(s.state == "running" for s in screen.states.values()) == n), \
            (table.row_count, list(screen.states))
        # every row: no control, bounded, identifiable by its plain prefix, one row per container
        by_cid = {}
        for key in table.rows:
            name = str(key.value)
            _clean(name, "row key")
            cell = table.get_cell(key, "service")
            _clean(getattr(cell, "plain", str(cell)), "service cell")
            assert len(name) < 200, f"row name not cut: {len(name)} chars"
            by_cid[screen.states[name].container_id] = name
        rows = {k: by_cid.get(cid) for k, cid in ids.items()}
        for k, raw in HOSTILE_SERVICES.items():
            assert rows[k] and rows[k].startswith(_prefix(raw)), (k, rows[k])
        assert rows["twin"] == "svc-twin"  # a plain name stays as it is
        assert rows["twin-spoof"] != rows["twin"], "a bidi-suffixed label passes for another service"
        assert "[@click=app.quit]q[/] [b]bold[/b]" in rows["markup"]  # shown as text
        assert " chars]" in rows["long"]  # cut with the visible marker

        # the Health panel of the service with the hostile health check
        esc = rows["esc"]
        assert await pilot_until(pilot, lambda: screen.states[esc].health == "unhealthy"
                            and screen.states[esc].health_log, 30)
        table.move_cursor(row=table.get_row_index(esc))
        await pilot.press("2")
        await pilot.pause(0.3)
        health = _static_text(screen.query_one("#health-view", Static))
        _clean(health, "Health panel", multiline=True)
        assert "[@click=app.quit] [b]x[/b]" in health and "bidi" in health
        for probe in screen.states[esc].health_log:
            _clean(probe.output, "health probe output")
            assert len(probe.output) <= 400 + 40
        _clean(app.export_screenshot(), "SVG of the Health panel", multiline=True)

        # the HTTP probe lines of the service whose health-check URL is hostile
        url = rows["url"]
        table.move_cursor(row=table.get_row_index(url))
        assert await pilot_until(pilot, lambda: screen.http.get(url) is not None
                            and screen.http[url].probes, 20), "no HTTP probe of svc-url"
        screen._render_health()
        await pilot.pause(0.3)
        health = _static_text(screen.query_one("#health-view", Static))
        assert "http http://127.0.0.1:" in health and "/hflipped[/x][@click=app.quit]z" in health, \
            health
        _clean(health, "Health panel (HTTP probes)", multiline=True)
        _clean(app.export_screenshot(), "SVG of the Health panel (HTTP probes)", multiline=True)
        assert app.is_running

        # logs of every hostile service are filed under its row
        assert await pilot_until(pilot, lambda: set(screen.store.rings) >= set(rows.values()), 20), \
            list(screen.store.rings)
        await pilot.press("1")
        await pilot.pause(0.3)
        for line in screen.query_one("#log", LogView).plain_lines():
            _clean(line, "log view row")
        _clean(app.export_screenshot(), "SVG of the Logs panel", multiline=True)

        # actions: the confirm dialog and the toasts show the name as text (`[/unbalanced]` must
        # not crash the toast), and the restart reaches the right container (the spoof, not
        # the real `svc-twin`)
        notified: list[tuple[str, object]] = []  # every toast, also those gone again (a toast
        real_notify = app.notify                 # lasts 2-3 s; a loaded restart takes longer)

        def notify(message, *args, **kw):
            notified.append((str(message), kw.get("markup", True)))
            return real_notify(message, *args, **kw)

        app.notify = notify
        for target in ("markup", "twin-spoof"):
            svc = rows[target]
            table.focus()
            table.move_cursor(row=table.get_row_index(svc))
            await pilot.pause(0.2)
            assert screen.selected_service() == svc
            started = {k: _started(docker_client, ids[k]) for k in ("twin", "twin-spoof", target)}
            await pilot.press("r")
            assert await pilot_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), 10)
            _clean(app.export_screenshot(), "SVG of the confirm dialog", multiline=True)
            await pilot.press("y")
            assert await pilot_until(pilot, lambda: _started(docker_client, ids[target])
                                != started[target], 40), f"restart of {target} did not happen"
            await pilot.pause(0.5)
            assert app.is_running, f"the dashboard died after restarting {target}"
            other = "twin" if target == "twin-spoof" else "twin-spoof"
            assert _started(docker_client, ids[other]) == started[other], f"{other} restarted"
            _clean(app.export_screenshot(), "SVG with the action toast", multiline=True)
            toasts = [t.render().plain for t in app.screen.query("Toast")]
            for text in toasts:
                _clean(text, "toast")
            if target == "markup":  # shown as text: never as markup
                assert any("[@click=app.quit]q[/] [b]bold[/b] [/unbalanced]" in m and markup is False
                           for m, markup in notified), notified

        # events panel: restart the hostile-health container from outside
        docker_client.api.restart(ids["esc"], timeout=0)
        assert await pilot_until(pilot, lambda: sum(e.service == esc for e in screen._events) >= 2, 30)
        await pilot.press("3")
        await pilot.pause(0.3)
        events = screen.query_one("#events-log", RichLog)
        texts = [strip.text for strip in events.lines]
        assert any(t and "svc-esc" in t for t in texts), texts[-5:]
        for t in texts:
            _clean(t, "events panel")
        for ev in screen._events:
            _clean(f"{ev.service} {ev.action} {ev.detail}", "StackEvent")
        svg = app.export_screenshot()
        _clean(svg, "SVG of the Events panel", multiline=True)
        assert app.is_running
    record.note(f"{n} hostile services shown as {n} clean rows (10k label cut to "
                f"{len(rows['long'])} chars), `svc-twin\\u202e` shown as {rows['twin-spoof']!r}, "
                f"health output and events clean, markup literal, restarts hit the right container")


@pytest.mark.engine
def test_headless_json_on_the_hostile_project(hostile_project, tmp_path, record) -> None:
    project, ids = hostile_project
    record.case(ENGINE_CLASS, "`dashboard --json -p NAME` and `logs --json -p NAME` on hostile labels")
    deadline = time.time() + 30
    while True:  # wait until the health check has run, so its output is in the snapshot
        out, err, code = run_exe(["dashboard", "--json", "-p", project], tmp_path)
        assert not problems(out, err, code), problems(out, err, code)
        doc = json.loads(out)
        esc = [s for s in doc["services"] if s["service"].startswith("svc-esc")]
        if (esc and esc[0]["health_log"]) or time.time() > deadline:
            break
        time.sleep(1)
    assert code == 1  # one service is unhealthy: not all healthy
    assert len(doc["services"]) == len(HOSTILE_SERVICES)
    assert esc and esc[0]["health_log"], "no health probe in the snapshot"

    def walk(v, where):
        if isinstance(v, str):
            _clean(v, where)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{where}.{k}")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{where}[{i}]")

    walk(doc, "json")
    names = sorted(s["service"] for s in doc["services"])
    assert len(set(names)) == len(HOSTILE_SERVICES), names
    for raw in HOSTILE_SERVICES.values():
        assert any(n.startswith(_prefix(raw)) for n in names), (raw[:40], names)

    # `logs` needs the project's files; attached by name it must say so cleanly (or work)
    out, err, lcode = run_exe(["logs", "--json", "-p", project, "-n", "5"], tmp_path, timeout=60)
    assert not problems(out, err, lcode), problems(out, err, lcode)
    for line in out.splitlines():
        walk(json.loads(line), "logs json")
    record.note(f"dashboard --json: exit {code}, valid JSON, {len(names)} distinct services, no "
                f"control in any value; logs --json: exit {lcode}, {len(out.splitlines())} JSON "
                f"lines{' (' + err.strip().splitlines()[0][:90] + ')' if err.strip() else ''}")


@pytest.mark.engine
def test_installed_dashboard_in_tmux_on_hostile_labels(hostile_project, record) -> None:
    """The real terminal: the installed command attached by name, in a private tmux server with
    `set-clipboard on` (so an OSC 52 that got through would become a tmux buffer) and a pane
    whose title an OSC 0/2 would change."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    project, _ids = hostile_project
    record.case(ENGINE_CLASS, "installed `dashboard -p NAME` in tmux: pane, title, clipboard")
    tmux = shutil.which("tmux")
    exe = str(Path(sys.executable).with_name("toolbox-tui"))
    if not tmux or not os.path.exists(exe):
        pytest.fail("tmux or the installed toolbox-tui command is missing")
    sock = f"tbx-{project}"

    def t(*args: str) -> str:
        return subprocess.run([tmux, "-L", sock, *args], capture_output=True, text=True,
                              timeout=30).stdout

    subprocess.run([tmux, "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "d",
                    "-x", "160", "-y", "45", "sleep 600"], check=True, timeout=30)
    try:
        t("set", "-s", "set-clipboard", "on")
        # positive control: the same server does turn an OSC 52 / OSC 2 into a buffer / a title
        t("new-window", "-d", "-t", "d", "-n", "ctl",
          "printf '\\033]52;c;Y29udHJvbA==\\007\\033]2;ctl-title\\007'; sleep 600")
        # without COLUMNS/LINES from the caller's environment (CI sets them; Textual would
        # draw 80x24 in the 160x45 pane)
        t("respawn-pane", "-k", "-t", "d:0",
          f"exec env -u COLUMNS -u LINES TERM=xterm-256color {exe} dashboard -p {project}")
        end = time.time() + 30
        plain = ""
        while time.time() < end:
            time.sleep(0.5)
            plain = t("capture-pane", "-p", "-t", "d:0")
            if "svc-twin" in plain and "tick" in plain:
                break
        assert "svc-twin" in plain and "svc-markup[@click=app.quit]" in plain, plain[-2000:]
        screens = [t("capture-pane", "-p", "-e", "-t", "d:0")]
        for key in ("3", "2", "1"):  # events, health, logs panels
            t("send-keys", "-t", "d:0", key)
            time.sleep(1.0)
            screens.append(t("capture-pane", "-p", "-e", "-t", "d:0"))
        buffers = t("list-buffers", "-F", "#{buffer_sample}")
        title = t("display-message", "-p", "-t", "d:0", "#{pane_title}")
        ctl_title = t("display-message", "-p", "-t", "d:ctl", "#{pane_title}")
        assert "control" in buffers and "ctl-title" in ctl_title, (buffers, ctl_title)  # control
        assert "pwned" not in buffers, f"an OSC 52 clipboard write got through: {buffers!r}"
        assert "pwn" not in title, title
        for screen_text in screens:
            assert "pwn" not in screen_text
            # capture-pane -e re-emits only SGR; anything else came from the engine's data
            m = re.search(r"\x1b(?!\[[0-9;:]*m)|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f"
                          r"\u202a-\u202e\u2066-\u2069]", screen_text)
            assert m is None, repr(screen_text[max(0, m.start() - 60): m.end() + 60])
        t("send-keys", "-t", "d:0", "q")
        end = time.time() + 10
        while time.time() < end and "0" in t("list-windows", "-t", "d", "-F", "#{window_index}").split():
            time.sleep(0.3)
        assert "0" not in t("list-windows", "-t", "d", "-F", "#{window_index}").split(), "q did not quit"
    finally:
        subprocess.run([tmux, "-L", sock, "kill-server"], capture_output=True, timeout=30)
    record.note(f"pane clean on 4 panels, title {title.strip()!r}, no clipboard write "
                f"(control OSC 52 in the same server did land)")


# --- memory ------------------------------------------------------------------------------------

LOG_LIMITS = {"type": "json-file", "config": {"max-size": "20m", "max-file": "2"}}
"""The engine's own log files stay small however fast the containers write."""

MEMORY_SCRIPTS = {
    "longline": "while :; do head -c 90000 /dev/zero | tr '\\0' x; done",  # never a newline
    "binary": "while :; do head -c 65536 /dev/urandom; done",
    "flood": "yes 'flood INFO a short line'",
}


def _measure(run_for: float, start, stop) -> tuple[int, int]:
    """(peak, current) traced bytes while `start()`..`stop()` run for `run_for` seconds."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start()
        time.sleep(run_for)
        cur, peak = tracemalloc.get_traced_memory()
        stop()
        return peak, cur
    finally:
        tracemalloc.stop()


@pytest.mark.engine
@pytest.mark.slow
def test_pipeline_memory_under_long_lines_binary_and_flood(docker_client, test_image, project_name,
                                                            cleanup_project, record) -> None:
    cleanup_project(project_name)
    record.case(MEMORY_CLASS, "90k-char lines without newline + /dev/urandom + `yes` flood, "
                              "LogPipeline + LogStore(5000)")
    for svc, script in MEMORY_SCRIPTS.items():
        docker_client.containers.run(test_image, ["sh", "-c", script], detach=True,
                                     labels=_labels(project_name, svc), log_config=LOG_LIMITS)
    store = LogStore(5000)
    got = {"lines": 0, "longest": 0}
    pipeline: LogPipeline | None = None

    def on_batch(batch) -> None:
        store.add(batch.lines)
        got["lines"] += len(batch.lines)
        if batch.lines:
            got["longest"] = max(got["longest"], max(len(ln.text) for ln in batch.lines))
        pipeline.consumed(len(batch.lines))

    pipeline = LogPipeline(docker_client, project_name, on_batch, initial_tail=0, poll_interval=0.3)
    peak, cur = _measure(6.0, pipeline.start, pipeline.stop)
    read_mb = pipeline.bytes_read / 1e6
    assert set(store.rings) == set(MEMORY_SCRIPTS), list(store.rings)
    assert read_mb > 8, f"only {read_mb:.1f} MB read: the containers did not produce the flood"
    assert got["longest"] <= 4096 + 40, got["longest"]
    for ring in store.rings.values():
        assert len(ring) <= 5000
        for ln in list(ring)[-200:]:
            assert not RAW_CONTROL.search(ln.text.replace("\t", "")) or "\x1b[" in ln.text
    assert peak < 64e6, f"peak {peak / 1e6:.1f} MB after {read_mb:.0f} MB of input"
    record.note(f"peak {peak / 1e6:.1f} MB (traced) after {read_mb:.0f} MB of input in 6 s "
                f"({got['lines']:,} lines, longest kept {got['longest']:,} chars); "
                f"bound 64 MB")


@pytest.mark.engine
@pytest.mark.slow
def test_livestack_memory_under_restart_churn(docker_client, test_image, project_name,
                                              cleanup_project, record) -> None:
    """Six services whose containers all restart together, round after round, each run writing
    binary garbage: the dashboard's whole data source (events, stats, logs) reconnects over and
    over."""
    cleanup_project(project_name)
    ROUNDS = 5
    record.case(MEMORY_CLASS, f"6 containers restarted {ROUNDS}x each (all at once) while writing "
                              "/dev/urandom, LiveStack (events + stats + logs)")
    cs = [docker_client.containers.run(
        test_image, ["sh", "-c", "head -c 200000 /dev/urandom; echo; sleep 30"], detach=True,
        labels=_labels(project_name, f"churn{i}"), log_config=LOG_LIMITS) for i in range(6)]
    store = LogStore(5000)
    counts = {"states": 0, "events": 0, "notes": 0}
    live = LiveStack(project_name, client=docker_client, initial_tail=50)

    def on_logs(batch) -> None:
        store.add(batch.lines)
        counts["notes"] += len(batch.notes)
        live.consumed(len(batch.lines))

    sinks = LiveSinks(on_state=lambda s: counts.__setitem__("states", counts["states"] + 1),
                      on_stats=lambda s: None,
                      on_event=lambda e: counts.__setitem__("events", counts["events"] + 1),
                      on_engine=lambda e: None, on_logs=on_logs)
    threads_before = threading.active_count()
    threads_mid = [0]

    def restart(cid: str) -> None:
        try:
            docker_client.api.restart(cid, timeout=0)
        except Exception:  # noqa: BLE001 - the next round restarts it again
            pass

    def churn() -> None:
        live.start(sinks)
        time.sleep(1.0)
        for round_ in range(ROUNDS):
            workers = [threading.Thread(target=restart, args=(c.id,)) for c in cs]
            for w in workers:
                w.start()
            for w in workers:
                w.join(timeout=30)
            time.sleep(0.2)
            if round_ == ROUNDS // 2:
                threads_mid[0] = threading.active_count()

    peak, cur = _measure(0.5, churn, live.stop)
    threads_after_run = threads_mid[0]
    lines = len(store)
    # the engine, busy restarting, answers slowly: not every event is handled by stop(), but many
    assert lines > 0 and counts["events"] >= 2 * ROUNDS, (lines, counts)
    # one log reader per service, not per container run; stats threads replaced, not piled up
    assert threads_after_run - threads_before < 6 * 3 + 6, (threads_before, threads_after_run)
    assert peak < 48e6, f"peak {peak / 1e6:.1f} MB"
    record.note(f"peak {peak / 1e6:.1f} MB (traced) over {6 * ROUNDS} restarts, "
                f"{counts['events']} events, {lines:,} lines kept, threads "
                f"{threads_before}->{threads_after_run}; bound 48 MB")


def test_display_name_is_clean_and_unique(record) -> None:
    """Pure: what `display_name` makes of the hostile labels above (no engine needed)."""
    from toolbox_tui.sanitize import display_name

    record.case(ENGINE_CLASS, "no engine: display_name() of the hostile labels → clean, bounded, "
                              "distinct")
    shown = {k: display_name(raw) for k, raw in HOSTILE_SERVICES.items()}
    for k, name in shown.items():
        _clean(name, f"display_name({k})")
        assert len(name) < 100 and name.startswith(_prefix(HOSTILE_SERVICES[k])), (k, name)
    assert len(set(shown.values())) == len(shown)
    assert shown["twin"] == "svc-twin" and display_name("web") == "web"
    assert display_name("a" * 70) != display_name("a" * 71)  # same first 64 chars, two names
    assert display_name("\x1b[2J\x07").startswith("~")  # nothing printable left: the digest
    record.note(f"e.g. {shown['twin-spoof']!r}, {shown['esc']!r}")


@pytest.mark.engine
@pytest.mark.slow
async def test_dashboard_memory_with_rings_full_of_long_lines(docker_client, test_image,
                                                             project_name, cleanup_project,
                                                             record) -> None:
    """The dashboard's own bounds (LogStore ring 5000/service, LogView 5000 rows, 500 events) with
    every line at the 4,096-character cut: lines of 6,000 characters as fast as `echo` goes,
    plus one service writing 90,000-character lines without a newline."""
    cleanup_project(project_name)
    record.case(MEMORY_CLASS, "dashboard (Pilot) with 6,000-char lines flooding + endless line, "
                              "rings full")
    for svc, script in (("wide", "L=$(head -c 6000 /dev/zero | tr '\\0' W); "
                                 "while :; do echo \"$L\"; done"),
                        ("longline", MEMORY_SCRIPTS["longline"])):
        docker_client.containers.run(test_image, ["sh", "-c", script], detach=True,
                                     labels=_labels(project_name, svc), log_config=LOG_LIMITS)
    app = DashboardApp(project_name, LiveStack(project_name, client=docker_client, initial_tail=0))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        assert await pilot_until(pilot, lambda: len(screen.states) == 2, 20)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            end = time.monotonic() + 20
            while time.monotonic() < end and len(screen.store.rings.get("wide", ())) < 5000:
                await pilot.pause(0.2)
            await pilot.pause(1.0)
            cur, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        log = screen.query_one("#log", LogView)
        ring = screen.store.rings.get("wide", ())
        kept = len(screen.store)
        received = screen.lines_received
        read_mb = screen.source.logs.bytes_read / 1e6
        assert len(ring) == 5000, f"ring not full after 20 s: {len(ring)}"
        assert all(len(r) <= 5000 for r in screen.store.rings.values())
        assert len(log.shown) <= log.max_lines and len(screen._incoming) <= screen.view_lines
        assert max(len(ln.text) for ln in ring) <= 4096 + 40
        assert "longline" in screen.store.rings
        assert app.is_running
    assert peak < 96e6, f"peak {peak / 1e6:.1f} MB"
    record.note(f"peak {peak / 1e6:.1f} MB (traced, over Textual's baseline) with {kept:,} lines "
                f"of up to 4,096 chars kept after {received:,} lines / {read_mb:.0f} MB read; "
                f"bound 96 MB")


def test_endless_line_through_splitter_and_sanitizer_is_bounded(record) -> None:
    """200 MB of one line that never ends (TTY-style: no 16 KiB pieces, no newline), in 64 KiB
    chunks, through `LineSplitter` + `sanitize_line` exactly as a log reader does."""
    from toolbox_tui.live.log_lines import MAX_RAW_LINE, LineSplitter
    from toolbox_tui.sanitize import sanitize_line

    record.case(MEMORY_CLASS, "no engine: a 200 MB line without newline through LineSplitter + "
                              "sanitize_line")
    chunk = b"2026-11-27T10:00:00.000000001Z " + b"\x1b]0;pwn\x07\xff" + b"y" * (65536 - 41)
    total = 200 * 1024 * 1024
    sp = LineSplitter()
    emitted = 0
    longest = 0
    t0 = time.monotonic()
    tracemalloc.start()
    try:
        for _ in range(total // len(chunk)):
            for _first, _last, payload in sp.feed(chunk):
                text = sanitize_line(payload, keep_sgr=True)
                emitted += 1
                longest = max(longest, len(text))
                assert "pwn" not in text and "\x1b]" not in text
            assert len(sp._buf) < MAX_RAW_LINE
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    took = time.monotonic() - t0
    assert emitted >= total // (MAX_RAW_LINE + len(chunk)) - 1
    assert longest <= 4096 + 40
    assert peak < 16e6, f"peak {peak / 1e6:.1f} MB"
    record.note(f"peak {peak / 1e6:.1f} MB after 200 MB of input ({emitted} lines cut at 1 MiB, "
                f"each shown as 4,096 chars + marker) in {took:.1f} s")
