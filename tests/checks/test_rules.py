"""The rules behind the false findings seen on real projects, each on a small project in tmp_path
(issue 15): directory binds, env template choice, placeholders, plain-env secrets, docs scope."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from toolbox_tui.checks.docs import doc_checks
from toolbox_tui.checks.env import env_checks
from toolbox_tui.checks.paths import path_checks
from toolbox_tui.checks.placeholders import is_placeholder
from toolbox_tui.checks.secrets import secret_checks
from toolbox_tui.compose.project import ProjectOptions, load_stack
from toolbox_tui.compose.refs import looks_like_file
from toolbox_tui.secret_names import file_variable, holds_secret

ENV = {"PATH": os.environ.get("PATH", "")}


def project(tmp_path: Path, compose: str, files: dict[str, str] | None = None,
            env_files: tuple[str, ...] = ()) -> "object":
    (tmp_path / ".git").mkdir(exist_ok=True)
    (tmp_path / "compose.yaml").write_text(compose)
    for rel, text in (files or {}).items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return load_stack(ProjectOptions(cwd=str(tmp_path), env_files=env_files), environ=ENV)


@pytest.mark.parametrize("source,target,expected", [
    ("./data/conf/mysql/", "/etc/mysql/conf.d/", False),       # trailing / on both
    ("./data/conf/rspamd/local.d", "/etc/rspamd/local.d", False),  # .d is a directory
    ("./conf", "/etc/nginx/conf.d", False),
    ("./redis.conf", "/usr/local/etc/redis/redis.conf", True),
    ("./config", "/etc/app/app.yaml", True),
])
def test_directory_binds_are_not_files(source: str, target: str, expected: bool) -> None:
    assert looks_like_file(source, target) is expected


def test_existing_conf_d_directory_passes(tmp_path: Path) -> None:
    stack = project(tmp_path, "services:\n  db:\n    image: x\n    volumes:\n"
                              "      - ./data/conf/mysql/:/etc/mysql/conf.d/:ro,Z\n",
                    {"data/conf/mysql/my.cnf": "[mysqld]\n"})
    [check] = path_checks(stack)
    assert check.status == "pass", check


def test_bind_under_an_unset_variable_names_the_variable(tmp_path: Path) -> None:
    stack = project(tmp_path, "services:\n  jvb:\n    image: x\n    volumes:\n"
                              "      - ${CONFIG}/jvb:/config\n", {"jvb/rootfs/s6/jvb": "#!/bin/sh\n"})
    [check] = path_checks(stack)
    assert check.status == "fail" and check.extra("variables") == ("CONFIG",)
    assert "${CONFIG} is unset" in check.title and check.candidates == ()


def test_directory_bind_never_gets_a_file_candidate(tmp_path: Path) -> None:
    stack = project(tmp_path, "services:\n  jvb:\n    image: x\n    volumes:\n"
                              "      - ./cfg/jvb:/config\n", {"jvb/rootfs/s6/jvb": "#!/bin/sh\n"})
    [check] = path_checks(stack)
    assert check.candidates == (str(tmp_path / "jvb"),)


def test_candidates_never_come_from_vendored_packages(tmp_path: Path) -> None:
    stack = project(tmp_path, "services:\n  php:\n    image: x\n    volumes:\n"
                              "      - ./phpunit.xml.dist:/var/www/phpunit.xml.dist\n",
                    {"vendor/acme/pkg/phpunit.xml.dist": "<x/>", "other/compose.yaml": "services: {}\n",
                     "other/phpunit.xml.dist": "<y/>", "tools/phpunit.xml.dist": "<z/>"})
    [check] = path_checks(stack)
    assert check.candidates == (str(tmp_path / "tools/phpunit.xml.dist"),)


def test_template_is_the_one_the_project_uses(tmp_path: Path) -> None:
    """A root `.env.example` of another tool is not the template; `env.example` is."""
    compose_dir = tmp_path / "app"
    compose_dir.mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".env.example").write_text("LINTER_TOKEN=x\n")
    (compose_dir / "env.example").write_text("HTTP_PORT=8000\n")
    (compose_dir / "compose.yaml").write_text("services:\n  web:\n    image: x\n"
                                              "    ports: ['${HTTP_PORT}:80']\n")
    stack = load_stack(ProjectOptions(cwd=str(compose_dir)), environ=ENV)
    checks = {c.id: c for c in env_checks(stack)}
    assert checks["env.file.missing"].status == "fail"
    assert checks["env.file.missing"].extra("template") == str(compose_dir / "env.example")


def test_env_file_option_is_honoured(tmp_path: Path) -> None:
    stack = project(tmp_path, "services:\n  web:\n    image: x\n    environment:\n      A: ${A}\n",
                    {"conf/prod.env": "A=1\n", ".env.example": "A=\n"}, env_files=("conf/prod.env",))
    ids = {c.id for c in env_checks(stack)}
    assert "env.file.missing" not in ids and "env.unset.A" not in ids


def test_compose_project_name_is_never_unset(tmp_path: Path) -> None:
    stack = project(tmp_path, "services:\n  web:\n    image: x\n    environment:\n"
                              "      - P=${COMPOSE_PROJECT_NAME}\n")
    assert not [c for c in env_checks(stack) if c.id == "env.unset.COMPOSE_PROJECT_NAME"]


def test_dangling_env_symlink_names_the_script_that_writes_it(tmp_path: Path) -> None:
    (tmp_path / "generate_config.sh").write_text("cat << EOF > mailcow.conf\nEOF\n")
    (tmp_path / ".env").symlink_to("mailcow.conf")
    stack = project(tmp_path, "services:\n  web:\n    image: x\n    environment:\n      - A=${A}\n")
    [check] = [c for c in env_checks(stack) if c.id == "env.file.dangling"]
    assert check.status == "fail" and "./generate_config.sh" in check.hint


@pytest.mark.parametrize("value,expected", [
    ("changeme", True), ("change-me", True), ("changethis", True), ("replace-me", True),
    ("changePassword", True), ("/<directory-path>/n8n", True), ("your-secret-here", True),
    ("", False), ("changelog", False), ("s3cr3t-Value", False), ("changes", False),
])
def test_placeholders(value: str, expected: bool) -> None:
    assert is_placeholder(value) is expected


def test_placeholder_in_a_path_variable_fails_in_a_secret_warns(tmp_path: Path) -> None:
    stack = project(tmp_path, "services:\n  web:\n    image: x\n    volumes:\n"
                              "      - ${DATA_FOLDER}/files:/files\n    environment:\n"
                              "      - TOKEN=${TOKEN}\n",
                    {".env": "DATA_FOLDER=/<directory-path>/app\nTOKEN=changeme\n"})
    checks = {c.id: c for c in env_checks(stack)}
    assert checks["env.placeholder.DATA_FOLDER"].status == "fail"
    assert checks["env.placeholder.TOKEN"].status == "warn"
    assert "changeme" not in checks["env.placeholder.TOKEN"].title  # a secret's value is not shown


def test_empty_password_the_projects_script_generates(tmp_path: Path) -> None:
    stack = project(tmp_path, "services:\n  jvb:\n    image: x\n    environment:\n"
                              "      - JVB_AUTH_PASSWORD\n      - OTHER_PASSWORD\n",
                    {".env": "JVB_AUTH_PASSWORD=\nOTHER_PASSWORD=\n",
                     "gen-passwords.sh": "JVB_AUTH_PASSWORD=$(openssl rand -hex 16)\n"})
    checks = {c.id: c for c in env_checks(stack)}
    assert checks["env.empty_secret.JVB_AUTH_PASSWORD"].status == "fail"
    assert "./gen-passwords.sh" in checks["env.empty_secret.JVB_AUTH_PASSWORD"].hint
    assert "env.empty_secret.OTHER_PASSWORD" not in checks


@pytest.mark.parametrize("name,value,expected", [
    ("DATABASE_PASSWORD", "/run/secrets/db-password", False),
    ("MAX_TOKENS", "8192", False), ("SENTRY_DSN", '"0"', False),
    ("CELERY_BROKER_URL", "redis://redis:6379/0", False),
    ("DATABASE_URL", "postgresql://app:pw@db/app", True),
    ("POSTGRES_PASSWORD", "paperless", True), ("POSTGRES_PASSWORD", None, True),
])
def test_secret_values(name: str, value: str | None, expected: bool) -> None:
    assert holds_secret(name, value) is expected


def test_file_variable_follows_the_image() -> None:
    assert file_variable("GF_SECURITY_ADMIN_PASSWORD", "grafana/grafana") == "GF_SECURITY_ADMIN_PASSWORD__FILE"
    assert file_variable("POSTGRES_PASSWORD", "docker.io/library/postgres:18") == "POSTGRES_PASSWORD_FILE"
    assert file_variable("API_TOKEN", "acme/app") is None


def test_pass_through_secret_is_seen(tmp_path: Path) -> None:
    stack = project(tmp_path, "services:\n  db:\n    image: postgres:16\n    environment:\n"
                              "      - POSTGRES_PASSWORD\n      - MAX_TOKENS=${MAX_TOKENS:-8192}\n",
                    {".env": "POSTGRES_PASSWORD=s3cret-value\n"})
    checks = {c.id: c for c in secret_checks(stack, swarm_manager=None)}
    assert "secrets.plain_env.db.POSTGRES_PASSWORD" in checks
    assert "POSTGRES_PASSWORD_FILE" in checks["secrets.plain_env.db.POSTGRES_PASSWORD"].hint
    assert "secrets.plain_env.db.MAX_TOKENS" not in checks


def test_docs_read_what_a_newcomer_follows(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app/compose.yaml").write_text("services: {}\n")
    (tmp_path / "sibling").mkdir()
    (tmp_path / "sibling/compose.yaml").write_text("services: {}\n")
    (tmp_path / "sibling/README.md").write_text("Run `./sibling/missing.sh`.\n")
    (tmp_path / "Archive").mkdir()
    (tmp_path / "Archive/old-setup.md").write_text("Run ./app/gone.sh\n")
    (tmp_path / "app/env.example").write_text("A=1\n")
    (tmp_path / "README.md").write_text(
        "# X\n[badge](../../actions/workflows/ci.yml)\n"            # leaves the repository
        "See [the guide](app/My%20Guide.md) and `app/missing.sh`.\n"
        "```bash\ncp app/env.example app/.env\n./app/setup.sh\n"
        "docker compose exec web ls ./data/x.json\ncd /opt/runner\n./svc.sh\n```\n"
        "`docker compose exec -T web export ../export`\n")
    checks = doc_checks(tmp_path, tmp_path / "app", [tmp_path / "app/compose.yaml"])
    found = sorted(c.title.split(" refers to ")[1].split(",")[0] for c in checks)
    assert found == ["app/My Guide.md", "app/missing.sh", "./app/setup.sh"] or \
        found == sorted(["app/My Guide.md", "app/missing.sh", "./app/setup.sh"])
    assert len({c.id for c in checks}) == len(checks)
    assert all(c.path.startswith(str(tmp_path)) for c in checks)


@pytest.mark.parametrize("message,line", [
    ("invalid containerPort: def", 5),
    ("validating compose.yaml: services.web.ports.0 must be a string", 5),
    ("services.web.image must be a string", 3),
])
def test_compose_errors_get_a_location(tmp_path: Path, message: str, line: int) -> None:
    from toolbox_tui.checks.compose import ex_plain

    stack = project(tmp_path, 'services:\n  web:\n    image: x\n    ports:\n      - "abc:def"\n')
    check = ex_plain(stack, message)
    assert (check.line, check.service) == (line, "web"), check
    assert "location shown" not in check.hint


def test_compose_error_without_location_says_so(tmp_path: Path) -> None:
    from toolbox_tui.checks.compose import ex_plain

    stack = project(tmp_path, "services:\n  web:\n    image: x\n")
    check = ex_plain(stack, "something odd happened")
    assert check.line is None and "did not say where" in check.hint


def test_secret_from_an_unset_variable_fails(tmp_path: Path) -> None:
    stack = project(tmp_path, "services:\n  web:\n    image: x\n    secrets: [api]\n"
                              "secrets:\n  api:\n    environment: API_TOKEN\n")
    [check] = [c for c in secret_checks(stack, swarm_manager=None) if c.id == "secrets.env_unset.api"]
    assert check.status == "fail" and "API_TOKEN" in check.title and check.line == 6


def test_same_service_port_twice_is_one_container(tmp_path: Path) -> None:
    from toolbox_tui.checks.ports import port_checks

    (tmp_path / "compose.override.yaml").write_text(
        "services:\n  web:\n    ports: ['127.0.0.1:8000:80']\n")
    stack = project(tmp_path, "services:\n  web:\n    image: x\n    ports: ['127.0.0.1:8000:8080']\n")
    [check] = [c for c in port_checks(stack, containers=[]) if c.id == "prereq.port.8000/tcp"]
    assert check.status == "fail" and "!override" in check.hint and "web" in check.title


def test_fix_never_plans_for_a_path_under_an_unset_variable(tmp_path: Path) -> None:
    from toolbox_tui.fixes.plan import fixable

    stack = project(tmp_path, "services:\n  jicofo:\n    image: x\n    volumes:\n"
                              "      - ${CONFIG}/jicofo:/config\n", {"jicofo/rootfs/s6/jicofo": "x\n"})
    [check] = path_checks(stack)
    assert not fixable(check)
