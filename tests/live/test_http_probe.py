"""HTTP health endpoint probes (`toolbox_tui.live.http_probe`) against a real container."""

from __future__ import annotations

import socket
import threading

import pytest

from toolbox_tui.live.http_probe import HttpProber, endpoint_from_attrs, probe

def test_endpoint_from_attrs_needs_loopback_url_and_published_port() -> None:
    def attrs(test, ports):
        return {"Config": {"Healthcheck": {"Test": test}}, "NetworkSettings": {"Ports": ports}}

    wget = ["CMD", "wget", "-q", "-O-", "http://localhost:8080/healthz"]
    pub = {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}]}
    assert endpoint_from_attrs(attrs(wget, pub)) == "http://127.0.0.1:49153/healthz"
    assert endpoint_from_attrs(attrs(["CMD-SHELL", "curl -fs http://127.0.0.1:8080/"],
                                     {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "80"}]})) \
        == "http://127.0.0.1:80/"
    assert endpoint_from_attrs(attrs(wget, {})) is None                      # not published
    assert endpoint_from_attrs(attrs(wget, {"8080/tcp": None})) is None
    assert endpoint_from_attrs(attrs(wget, {"8080/tcp": [{"HostIp": "10.0.0.5", "HostPort": "1"}]})) is None
    assert endpoint_from_attrs(attrs(["CMD", "wget", "http://db:8080/"], pub)) is None  # other host
    assert endpoint_from_attrs(attrs(["CMD-SHELL", "test -f /tmp/ok"], pub)) is None
    assert endpoint_from_attrs({"Config": {}}) is None


@pytest.mark.engine
def test_probe_real_container_200_404_and_refused(docker_client, web) -> None:
    url = endpoint_from_attrs(docker_client.api.inspect_container(web))
    assert url and url.startswith("http://127.0.0.1:") and url.endswith("/health")
    ok = probe(url)
    assert ok.status == 200 and ok.ok and ok.latency_ms > 0 and ok.error == ""

    missing = probe(url.replace("/health", "/no-such-page"))
    assert missing.status == 404 and not missing.ok

    with socket.socket() as s:      # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    refused = probe(f"http://127.0.0.1:{port}/health", timeout=1.0)
    assert refused.status is None and not refused.ok and "Connect" in refused.error

    # the prober: selected service only, bounded history, stops promptly
    got = []
    seen = threading.Event()

    def on_probe(h):
        got.append(h)
        if len(h.probes) >= 2:
            seen.set()

    prober = HttpProber(docker_client, on_probe, interval=0.2, history=3)
    prober.start()
    try:
        prober.select("web", web)
        assert seen.wait(15)
    finally:
        prober.stop()
    assert not prober._thread.is_alive()
    assert got[-1].url == url and all(p.status == 200 for p in got[-1].probes)
    assert len(prober.history["web"]) <= 3


def test_probe_of_an_url_with_control_characters_is_an_error_not_a_crash() -> None:
    """The URL comes from a container's health check (free text): httpx refuses it with
    InvalidURL, which is not an HTTPError; the probe reports it, sanitized."""
    from toolbox_tui.live.http_probe import probe

    r = probe("http://127.0.0.1:9/he\x1b]52;c;aGk=\x07alth", timeout=1)
    assert r.status is None and r.error
    assert "\x1b" not in r.error and "\x07" not in r.error
