"""Materialize secrets for Compose without swarm, checked against the real Compose and engine."""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers.secrets import make_project

from toolbox_tui.state_dir import state_dir_for
from toolbox_tui.secrets import kinds as sk  # noqa: E402
from toolbox_tui.secrets import materialize as sm  # noqa: E402
from toolbox_tui.secrets.files import UnsafeSecretsDir, _ensure_private_dir, secrets_base_dir
from toolbox_tui.compose.project import ProjectOptions, load_stack  # noqa: E402
from toolbox_tui.secrets.store import SessionStore  # noqa: E402


def _load(root: Path, **kw):
    return load_stack(ProjectOptions(cwd=str(root), **kw))


def test_files_are_private_and_override_has_paths_only(secrets_project) -> None:
    name, root = secrets_project
    store = SessionStore()
    value = "Pw-" + secrets.token_hex(10)
    store.set("db_password", value)
    stack = _load(root)
    result = sm.materialize_report(stack, store, mode="dev")
    d = result.directory
    assert d.name == name
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700 and os.stat(d).st_uid == os.getuid()
    assert stat.S_IMODE(os.stat(d.parent).st_mode) == 0o700
    files = dict(result.files)
    assert set(files) == {"db_password", "database_url", "openai_api_key"}
    for p in files.values():
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert Path(files["db_password"]).read_text() == value
    assert Path(files["database_url"]).read_text() == f"postgresql://app:{value}@postgres:5432/appdb"
    assert Path(files["openai_api_key"]).read_text() == sk.PLACEHOLDER
    assert result.placeholders == ("openai_api_key",) and result.derived == ("database_url",)
    text = result.override.read_text()
    assert value not in text and "!override" in text
    assert result.override == state_dir_for(root) / "compose.secrets.yml"
    journal = (state_dir_for(root) / "secrets.json").read_text()
    assert value not in journal
    # later loads pick the override up automatically
    again = _load(root)
    assert again.secrets_override == result.override and result.override in again.files
    assert again.secrets["db_password"].kind == "file"
    removed = sm.remove_materialized(again)
    assert not d.exists() and not result.override.exists()
    assert files["db_password"] in removed


def test_missing_values_raise_secrets_incomplete(secrets_project) -> None:
    _name, root = secrets_project
    with pytest.raises(sm.SecretsIncomplete) as info:
        sm.materialize(_load(root), SessionStore(), mode="dev")
    assert info.value.names == ["database_url", "db_password"]
    assert info.value.missing_parts["database_url"] == ("db_password",)
    assert "database_url (derived; needs db_password)" in str(info.value)


def test_stored_value_with_control_characters_is_never_written(secrets_project) -> None:
    """A value stored before the control-character rule (or by another tool) is refused at
    materialize, named without its value; nothing is written."""
    _name, root = secrets_project
    store = SessionStore()
    store.set("db_password", "Pw-\x1b]52;c;aGk=\x07-" + secrets.token_hex(6))  # bypasses `secrets set`
    stack = _load(root)
    with pytest.raises(sm.SecretsRefused) as info:
        sm.materialize(stack, store, mode="dev")
    err = info.value
    assert isinstance(err, sm.StoredValueRefused)
    assert "the stored value of db_password must not contain control characters: an ESC (escape sequence) at character 4" in str(err)
    assert "\x1b" not in str(err) and "aGk=" not in str(err) and "aGk=" not in err.hint
    assert "`toolbox-tui secrets set db_password`" in err.hint
    assert not (state_dir_for(root) / "compose.secrets.yml").exists()
    assert not sm.read_journal(stack).get("files")


def test_prod_refuses_placeholders_and_plain_environment(tmp_path: Path, project_name: str) -> None:
    root = make_project(tmp_path / "p", project_name)
    store = SessionStore()
    store.set("db_password", "Pw-" + secrets.token_hex(10))
    store.set("openai_api_key", sk.PLACEHOLDER)
    with pytest.raises(sm.SecretsRefused) as info:
        sm.materialize(_load(root), store, mode="prod")
    assert "openai_api_key holds the toolbox-tui placeholder" in str(info.value)
    (root / "compose.yml").write_text((root / "compose.yml").read_text().replace(
        "POSTGRES_DB: appdb", "POSTGRES_DB: appdb\n      REDIS_PASSWORD: abcdefgh"))
    store.set("openai_api_key", "sk-" + secrets.token_hex(10))
    with pytest.raises(sm.SecretsRefused) as info:
        sm.materialize(_load(root), store, mode="prod")
    assert "REDIS_PASSWORD is passed as a plain environment variable (app.environment.REDIS_PASSWORD)" \
        in str(info.value)
    assert "abcdefgh" not in str(info.value)


def test_refuses_directory_owned_by_someone_else(tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to chown a directory to another user")
    d = tmp_path / "other"
    d.mkdir(mode=0o700)
    os.chown(d, 65534, 65534)
    with pytest.raises(UnsafeSecretsDir) as info:
        _ensure_private_dir(d)
    assert "owned by uid 65534" in str(info.value)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(UnsafeSecretsDir):
        _ensure_private_dir(link)
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    _ensure_private_dir(loose)
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o700


def test_runtime_dir_used_only_when_ours(tmp_path: Path, monkeypatch) -> None:
    rt = tmp_path / "run"
    rt.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(rt))
    assert secrets_base_dir() == rt / "toolbox-tui"
    os.chmod(rt, 0o777)
    assert secrets_base_dir() == Path("/tmp") / f"toolbox-tui-{os.getuid()}"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "absent"))
    assert secrets_base_dir() == Path("/tmp") / f"toolbox-tui-{os.getuid()}"


def _consistent(root: Path, base: Path) -> list[str]:
    """What is wrong with the secret files and the override on disk: a file no override names (an
    orphan only `down` would not find) or an override naming a file that is gone."""
    override = state_dir_for(root) / "compose.secrets.yml"
    files = {str(p) for p in base.rglob("*") if p.is_file()}
    named = ({json.loads(q) for q in re.findall(r"file: (.+)", override.read_text())}
             if override.exists() else set())
    return ([f"orphan {Path(f).name}" for f in sorted(files - named)] +
            [f"override names missing {Path(f).name}" for f in sorted(named - files)])


@pytest.mark.parametrize("before", ["nothing", "an earlier run"])
def test_an_interrupt_after_any_write_leaves_files_and_override_in_step(
        secrets_project, tmp_path: Path, monkeypatch, before: str) -> None:
    """Ctrl-C can land just after any of materialize's atomic writes (a secret file renamed into
    place but not yet recorded, the override, the journal): whatever is on disk afterwards is
    either the old state or the new one, never a secret file the override does not name."""
    from toolbox_tui import atomic_files

    name, root = secrets_project
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    store = SessionStore()
    store.set("db_password", "Pw-" + secrets.token_hex(10))
    real = atomic_files.fsync_dir
    stopped_at = 0
    for k in range(1, 20):
        if before == "an earlier run":
            sm.materialize_report(_load(root), store, mode="dev")
        calls: list[Path] = []

        def interrupted(path: Path, _k: int = k) -> None:
            real(path)
            calls.append(path)
            if len(calls) == _k:
                raise KeyboardInterrupt

        monkeypatch.setattr(atomic_files, "fsync_dir", interrupted)
        try:
            sm.materialize_report(_load(root), store, mode="dev")
            finished = True
        except KeyboardInterrupt:
            finished = False
        monkeypatch.setattr(atomic_files, "fsync_dir", real)
        assert not _consistent(root, runtime), (k, _consistent(root, runtime))
        sm.remove_materialized(_load(root))
        assert not [p for p in runtime.rglob("*") if p.is_file()]
        if finished:
            stopped_at = k
            break
    assert stopped_at >= 5, stopped_at  # three secret files, the override, the journal: all tried


def _compose(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "compose", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)


@pytest.mark.engine
def test_real_compose_turns_external_into_file_and_container_reads_it(
        secrets_project, compose_ready, docker_client, test_image, cleanup_project) -> None:
    name, root = secrets_project
    store = SessionStore()
    value = "Pw-" + secrets.token_hex(10)
    store.set("db_password", value)
    stack = sm.materialize(_load(root), store, mode="dev")
    cleanup_project(name, files=stack.files, project_dir=stack.project_dir)
    cfg = json.loads(_compose([*stack.compose_args(), "config", "--format", "json"], root).stdout)
    for s in ("db_password", "database_url", "openai_api_key"):
        assert "external" not in cfg["secrets"][s], cfg["secrets"][s]
        assert cfg["secrets"][s]["file"].startswith(str(secrets_base_dir()))
    up = _compose([*stack.compose_args(), "up", "-d", "--wait", "--wait-timeout", "60"], root)
    assert up.returncode == 0, up.stderr
    container = docker_client.containers.list(filters={"label": f"com.docker.compose.project={name}"})[0]
    code, out = container.exec_run(["cat", "/run/secrets/db_password"])
    assert code == 0 and out.decode() == value
    code, out = container.exec_run(["cat", "/run/secrets/database_url"])
    assert out.decode() == f"postgresql://app:{value}@postgres:5432/appdb"
    assert all(value not in e for e in container.attrs["Config"]["Env"])


@pytest.mark.engine
def test_compose_merge_behaviours(tmp_path: Path, compose_ready) -> None:
    """What Compose 2.40.3 really does with overrides of secrets (documents the module's choices)."""
    (tmp_path / "s.txt").write_text("x")
    (tmp_path / "base.yml").write_text(
        "services:\n  app:\n    image: busybox\n    secrets: [pw]\nsecrets:\n  pw:\n    external: true\n")
    (tmp_path / "plain.yml").write_text(f"secrets:\n  pw:\n    file: {tmp_path}/s.txt\n")
    (tmp_path / "tagged.yml").write_text(f"secrets:\n  pw: !override\n    file: {tmp_path}/s.txt\n")
    (tmp_path / "empty.yml").write_text("services:\n  app:\n    secrets: []\n")
    (tmp_path / "reset.yml").write_text("services:\n  app:\n    secrets: !reset []\n")

    def cfg(*files: str) -> dict:
        args = ["-p", "tbxtest-merge"]
        for f in files:
            args += ["-f", str(tmp_path / f)]
        proc = _compose([*args, "config", "--format", "json"], tmp_path)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    assert cfg("base.yml", "plain.yml")["secrets"]["pw"].get("external") is True  # merged: still external
    assert "external" not in cfg("base.yml", "tagged.yml")["secrets"]["pw"]
    assert cfg("base.yml", "tagged.yml", "empty.yml")["services"]["app"]["secrets"]  # [] removes nothing
    assert not cfg("base.yml", "tagged.yml", "reset.yml")["services"]["app"].get("secrets")


@pytest.mark.engine
def test_override_without_tag_for_old_compose(tmp_path: Path, compose_ready, monkeypatch) -> None:
    """Compose < 2.24.4 has no `!override`: `external: false` + `file:` also replaces external."""
    monkeypatch.setattr(sm, "_use_override_tag", lambda: False)
    (tmp_path / "s.txt").write_text("x")
    (tmp_path / "base.yml").write_text(
        "services:\n  app:\n    image: busybox\n    secrets: [pw]\nsecrets:\n  pw:\n    external: true\n")
    text = sm.override_text({"pw": {"file": str(tmp_path / "s.txt")}})
    assert "!override" not in text and "external: false" in text
    (tmp_path / "ov.yml").write_text(text)
    proc = _compose(["-p", "tbxtest-oldtag", "-f", str(tmp_path / "base.yml"), "-f", str(tmp_path / "ov.yml"),
                     "config", "--format", "json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    pw = json.loads(proc.stdout)["secrets"]["pw"]
    assert "external" not in pw and pw["file"] == str(tmp_path / "s.txt")
