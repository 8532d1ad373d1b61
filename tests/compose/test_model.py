"""The stack model against Compose's rules, on real files; cross-checked with the real Compose."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from toolbox_tui.compose.interpolation import interpolate_str
from toolbox_tui.compose.project import ProjectOptions, load_stack
from toolbox_tui.compose.yaml_source import LoadError


def write(p: Path, text: str) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


@pytest.mark.parametrize("text,expected", [
    ("$A", "a"), ("${A}", "a"), ("${B:-x}", "x"), ("${E:-x}", "x"), ("${E-x}", ""),
    ("${B-x}", "x"), ("$$A", "$A"), ("${B:-${A}b}", "ab"), ("${A:+y}", "y"), ("${E+y}", "y"),
    ("${B+y}", ""), ("pre${A}post", "preapost"), ("$${A}", "${A}"),
])
def test_interpolation_forms(text, expected):
    assert interpolate_str(text, {"A": "a", "E": ""}) == expected


def test_required_variable_error_names_location(tmp_path):
    write(tmp_path / "compose.yaml", "services:\n  a:\n    image: ${IMG:?set IMG first}\n")
    with pytest.raises(LoadError) as e:
        load_stack(ProjectOptions(cwd=str(tmp_path)), environ={})
    assert "IMG" in str(e.value) and "set IMG first" in str(e.value)
    assert e.value.line == 3


STACK = """\
x-common: &common
  restart: unless-stopped
  volumes:
    - ./shared:/shared
services:
  web:
    <<: *common
    image: ${IMG:-busybox}
    build:
      context: ../app
      dockerfile: Dockerfile.web
    volumes:
      - ./config/redis.conf:/etc/redis.conf:ro
      - type: bind
        source: ./rojo/project.json
        target: /app/project.json
    ports:
      - "127.0.0.1:8080:80"
      - 9000-9001:9000-9001/udp
    env_file: [./web.env]
    secrets: [db]
    environment:
      - A=${USER_X}
      - B=2
  base:
    extends:
      file: ../other/base.yml
      service: b
  opt:
    image: busybox
    profiles: [extra]
secrets:
  db:
    external: true
  f:
    file: ./secrets/f.txt
"""
DEV = """\
services:
  web:
    read_only: false
    secrets: []
    volumes:
      - ./dev:/shared
    environment:
      B: 3
"""


@pytest.fixture
def stack_dir(tmp_path):
    d = tmp_path / "compose"
    write(d / "docker-compose.yml", STACK)
    write(d / "docker-compose.dev.yml", DEV)
    write(tmp_path / "other" / "base.yml", "services:\n  b:\n    image: busybox\n    volumes:\n      - ./data:/data\n")
    write(d / "web.env", "X=1\n")
    return d


def load(d, **kw):
    return load_stack(ProjectOptions(cwd=str(d), files=("docker-compose.yml", "docker-compose.dev.yml"), **kw),
                      environ={})


def test_merge_anchor_extends_and_locations(stack_dir):
    s = load(stack_dir)
    assert s.project_dir == stack_dir.resolve()
    web = s.services["web"].data
    # web's own `volumes` wins over the one merged in with `<<: *common` (YAML merge-key rule);
    # the dev file's list is appended.
    assert [str(v) if not isinstance(v, dict) else v["source"] for v in web["volumes"]] == [
        "./config/redis.conf:/etc/redis.conf:ro", "./rojo/project.json", "./dev:/shared"]
    assert dict(web["environment"]) == {"A": "", "B": 3}
    # secrets: [] in an override does not remove the base's secrets (Compose merges lists).
    assert s.services["web"].secrets == ("db",)
    refs = {(r.kind, r.service, r.raw): r for r in s.path_refs()}
    redis = refs[("bind", "web", "./config/redis.conf")]
    assert redis.path == stack_dir / "config" / "redis.conf"
    assert (redis.loc.file, redis.loc.line, redis.loc.column) == (str(stack_dir / "docker-compose.yml"), 13, 9)
    assert redis.expect == "file" and redis.required
    dev = refs[("bind", "web", "./dev")]
    assert dev.loc.file.endswith("docker-compose.dev.yml") and not dev.required
    # A path inside an extends file resolves against that file's directory.
    assert refs[("bind", "base", "./data")].path == stack_dir.parent / "other" / "data"
    assert refs[("dockerfile", "web", "Dockerfile.web")].path == stack_dir.parent / "app" / "Dockerfile.web"
    # Profiles: the disabled service is not part of the stack.
    assert "opt" not in s.services
    assert "opt" in load(stack_dir, profiles=("extra",)).services
    ports = {(p.host_ip, p.published, p.protocol) for p in s.published_ports()}
    assert ports == {("127.0.0.1", 8080, "tcp"), ("0.0.0.0", 9000, "udp"), ("0.0.0.0", 9001, "udp")}
    assert [u.name for u in s.unset_vars] == ["USER_X"]
    assert s.secrets["db"].kind == "external" and s.secrets["db"].used_by == ("web",)
    assert s.name == "compose"


def test_alias_keeps_anchor_location(tmp_path):
    write(tmp_path / "compose.yaml", "x-v: &cfg ./conf/a.conf:/a.conf\nservices:\n  a:\n    image: busybox\n"
          "    volumes: [*cfg]\n  b:\n    image: busybox\n    volumes: [*cfg]\n")
    s = load_stack(ProjectOptions(cwd=str(tmp_path)), environ={})
    locs = {(r.service, r.loc.line, r.loc.column) for r in s.path_refs()}
    assert locs == {("a", 1, 11), ("b", 1, 11)}  # the value, after `&cfg `


def test_reset_tag_removes_base_list(tmp_path):
    write(tmp_path / "compose.yaml", "services:\n  a:\n    image: busybox\n    secrets: [s]\nsecrets:\n  s:\n    external: true\n")
    write(tmp_path / "compose.override.yaml", "services:\n  a:\n    secrets: !reset []\n")
    s = load_stack(ProjectOptions(cwd=str(tmp_path)), environ={})
    assert len(s.files) == 2 and s.services["a"].secrets == ()


def test_compose_env_discovery(tmp_path, monkeypatch):
    write(tmp_path / "a.yml", "services:\n  a:\n    image: ${IMG}\n")
    write(tmp_path / "b.yml", "services:\n  a:\n    ports: ['127.0.0.1:81:80']\n")
    write(tmp_path / ".env", "IMG=from-dotenv\nCOMPOSE_PROJECT_NAME=Fancy.Name\n")
    monkeypatch.setenv("COMPOSE_FILE", f"a.yml{os.pathsep}b.yml")
    s = load_stack(ProjectOptions(cwd=str(tmp_path)), environ={"COMPOSE_PROFILES": ""})
    assert [f.name for f in s.files] == ["a.yml", "b.yml"]
    assert s.services["a"].image == "from-dotenv"
    assert s.name == "fancyname"
    s2 = load_stack(ProjectOptions(cwd=str(tmp_path)), environ={"IMG": "from-env"})
    assert s2.services["a"].image == "from-env"  # process env wins over .env


def test_default_files_found_from_subdirectory(tmp_path):
    write(tmp_path / "docker-compose.yml", "services:\n  a:\n    image: busybox\n")
    write(tmp_path / "docker-compose.override.yml", "services:\n  a:\n    restart: always\n")
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    s = load_stack(ProjectOptions(cwd=str(sub)), environ={})
    assert [f.name for f in s.files] == ["docker-compose.yml", "docker-compose.override.yml"]
    assert s.services["a"].data["restart"] == "always"


def _compose_config(stack) -> dict:
    out = subprocess.run(["docker", "compose", *stack.compose_args(), "config", "--format", "json"],
                         capture_output=True, text=True, env={**os.environ, "USER_X": ""})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_resolved_paths_agree_with_real_compose(stack_dir, compose_ready):
    s = load(stack_dir)
    cfg = _compose_config(s)
    for ref in s.path_refs():
        svc = cfg["services"].get(ref.service or "", {})
        if ref.kind == "bind":
            theirs = {v["target"]: v["source"] for v in svc["volumes"] if v["type"] == "bind"}
            assert theirs[ref.target] == str(ref.path)
        elif ref.kind == "build_context":
            assert svc["build"]["context"] == str(ref.path)
    assert [s_["source"] for s_ in cfg["services"]["web"]["secrets"]] == list(s.services["web"].secrets)
    assert cfg["services"]["web"]["environment"] == {"A": "", "B": "3", "X": "1"}  # + env_file


def test_example_stack_agrees_with_real_compose(example_copy, compose_ready):
    s = load_stack(ProjectOptions(cwd=str(example_copy)))
    cfg = _compose_config(s)
    assert sorted(cfg["services"]) == sorted(s.services)
    for ref in s.path_refs():
        if ref.kind == "bind":
            vols = cfg["services"][ref.service]["volumes"]
            assert {v["target"]: v.get("source") for v in vols}[ref.target] == str(ref.path)


def test_missing_extends_file_is_a_path_finding_not_a_crash(tmp_path):
    from toolbox_tui.checks.paths import path_checks

    write(tmp_path / "compose.yaml", "services:\n  a:\n    image: busybox\n    extends:\n"
          "      file: ./common/base.yml\n      service: base\n")
    write(tmp_path / "templates" / "common" / "base.yml", "services:\n  base:\n    image: busybox\n")
    s = load_stack(ProjectOptions(cwd=str(tmp_path)), environ={})
    [c] = [c for c in path_checks(s) if c.status == "fail"]
    assert c.id == "paths.extends_file.a" and c.line == 5
    assert c.candidates == (str(tmp_path / "templates" / "common" / "base.yml"),)


def test_include_paths_resolve_against_included_file(tmp_path):
    write(tmp_path / "compose.yaml", "include:\n  - sub/db.yml\nservices:\n  app:\n    image: busybox\n")
    write(tmp_path / "sub" / "db.yml", "services:\n  db:\n    image: busybox\n    volumes:\n      - ./init.sql:/init.sql\n")
    s = load_stack(ProjectOptions(cwd=str(tmp_path)), environ={})
    assert sorted(s.services) == ["app", "db"]
    [ref] = [r for r in s.path_refs() if r.kind == "bind"]
    assert ref.path == tmp_path / "sub" / "init.sql"


def test_include_agrees_with_real_compose(tmp_path, compose_ready):
    write(tmp_path / "compose.yaml", "include:\n  - sub/db.yml\nservices:\n  app:\n    image: busybox\n")
    write(tmp_path / "sub" / "db.yml", "services:\n  db:\n    image: busybox\n    volumes:\n      - ./init.sql:/init.sql\n")
    s = load_stack(ProjectOptions(cwd=str(tmp_path)), environ={})
    cfg = _compose_config(s)
    assert cfg["services"]["db"]["volumes"][0]["source"] == str(tmp_path / "sub" / "init.sql")


def test_windows_style_source_still_finds_candidates(tmp_path):
    from toolbox_tui.checks.paths import path_checks

    write(tmp_path / "compose.yaml", "services:\n  a:\n    image: busybox\n    volumes:\n"
          "      - 'C:\\data\\redis.conf:/etc/redis.conf'\n")
    write(tmp_path / "conf" / "redis.conf", "x\n")
    s = load_stack(ProjectOptions(cwd=str(tmp_path)), environ={})
    [c] = [c for c in path_checks(s) if c.status == "fail"]
    assert c.candidates == (str(tmp_path / "conf" / "redis.conf"),)
