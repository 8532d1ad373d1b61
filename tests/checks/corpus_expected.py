"""What `toolbox-tui doctor --no-engine` should say on each corpus project, written after reading
each project's README, compose files and env files (see the notes per project).

Per project:
- `exit`: the doctor's exit code.
- `required`: (id glob, status) pairs that must each match at least one finding; optional third
  element: a text the finding's title + detail + hint must contain.
- `forbidden`: (id glob, status or "*") pairs no finding may match: the false findings.
- `noise`: id globs of findings that are true but add little (counted, not asserted).
Findings matching none of the three are "unjudged" (the benchmark counts them).
"""

from __future__ import annotations

_SIBLING_DOCS = ("docs.*nginx-flask-mongo/*", "*"), ("docs.*official-documentation-samples/*", "*")
"""awesome-compose: a sample's newcomer reads the repo README and the sample's own README."""

_MAILCOW_DIR_BINDS = tuple((f"paths.bind.{s}", "fail") for s in (
    "mysql-mailcow.2", "rspamd-mailcow.2", "rspamd-mailcow.3", "rspamd-mailcow.4",
    "php-fpm-mailcow.24", "nginx-mailcow.3"))
"""`./data/conf/mysql/:/etc/mysql/conf.d/`: existing directories (trailing `/`, `.d`)."""

EXPECTED: dict[str, dict] = {
    # netbox-docker: env/*.env committed, the README's quickstart runs it as cloned.
    "netbox": {"exit": 0, "required": [("docs.setup.README.md:36", "warn", "has not been run yet")], "forbidden": [("*", "fail")], "noise": []},
    # Quickstart's override publishes 8000 on all interfaces: the author meant that.
    "netbox+told": {"exit": 0, "required": [], "forbidden": [("*", "fail")],
                    "noise": ["overrides.ports.netbox.8000"]},
    # DATABASE_PASSWORD is a path to the mounted secret, not a secret value.
    "ac-react-express-mysql": {
        "exit": 0, "required": [],
        "forbidden": [("secrets.plain_env.backend.DATABASE_PASSWORD", "*"), ("*", "fail"),
                      *_SIBLING_DOCS],
        "noise": []},
    "ac-nginx-golang-postgres": {"exit": 0, "required": [],
                                 "forbidden": [("*", "fail"), *_SIBLING_DOCS], "noise": []},
    # Grafana reads GF_<SECTION>_<KEY>__FILE (two underscores).
    "ac-prometheus-grafana": {
        "exit": 0,
        "required": [("secrets.plain_env.grafana.GF_SECURITY_ADMIN_PASSWORD", "warn",
                      "GF_SECURITY_ADMIN_PASSWORD__FILE")],
        "forbidden": [("*", "fail"), *_SIBLING_DOCS], "noise": []},
    "ac-elk": {"exit": 0, "required": [], "forbidden": [("*", "fail"), *_SIBLING_DOCS], "noise": []},
    # Committed .env still says DATA_FOLDER=/<directory-path>/...: every bind lands at the host
    # root; caddy_data and n8n_data are external volumes (not checked without an engine).
    "n8n-caddy": {
        "exit": 1,
        "required": [("env.placeholder.DATA_FOLDER", "fail"),
                     ("env.placeholder.RUNNERS_AUTH_TOKEN", "warn"),
                     ("paths.bind.caddy.1", "*", "DATA_FOLDER"),
                     ("compose.external", "skip", "caddy_data")],
        "forbidden": [("docs.*charts/*", "*")],
        "noise": ["paths.bind.*", "secrets.plain_env.*"]},
    "n8n-caddy+told": {
        "exit": 0,
        "required": [("env.placeholder.RUNNERS_AUTH_TOKEN", "warn"),
                     ("compose.external", "skip", "n8n_data")],
        "forbidden": [("env.placeholder.DATA_FOLDER", "*"), ("*", "fail"), ("docs.*charts/*", "*")],
        "noise": ["secrets.plain_env.*"]},
    # README: change the users, passwords and tokens in .env first (it runs without).
    "n8n-worker": {
        "exit": 0,
        "required": [("env.placeholder.POSTGRES_PASSWORD", "warn"),
                     ("env.placeholder.ENCRYPTION_KEY", "warn"),
                     ("env.placeholder.*", "warn"),  # users, passwords, the runners' token
                     ("secrets.plain_env.postgres.POSTGRES_PASSWORD", "warn")],
        "forbidden": [("*", "fail"), ("docs.*charts/*", "*")],
        "noise": ["secrets.plain_env.*"]},
    # Fresh clone: no .env (the handbook copies env.example); ${CONFIG} unset puts every bind at /.
    "jitsi": {
        "exit": 1,
        "required": [("env.file.missing", "fail", "env.example"),
                     ("paths.bind.web.0", "*", "CONFIG"),
                     ("paths.bind.jvb.0", "*", "CONFIG")],
        "forbidden": [("env.unset.COMPOSE_PROJECT_NAME", "*"), ("docs.*rtcstats/*", "*")],
        "noise": ["env.unset.*", "paths.bind.*"]},
    # After `cp env.example .env` the XMPP passwords are empty: ./gen-passwords.sh makes them,
    # and jicofo/jvb refuse to start without.
    "jitsi+told": {
        "exit": 1,
        "required": [("env.empty_secret.JICOFO_AUTH_PASSWORD", "fail", "gen-passwords.sh"),
                     ("docs.setup.gen-passwords.sh:1", "warn", "has not been run yet"),
                     ("env.empty_secret.JVB_AUTH_PASSWORD", "fail", "gen-passwords.sh"),
                     ("env.empty_secret.*", "fail", "gen-passwords.sh")],
        "forbidden": [("env.file.missing", "*"), ("env.unset.*", "*"), ("docs.*rtcstats/*", "*")],
        "noise": ["paths.bind.*"]},
    # Fresh clone: .env -> mailcow.conf, which ./generate_config.sh writes.
    "mailcow": {
        "exit": 1,
        "required": [("env.file.dangling", "fail", "generate_config.sh"),
                     ("docs.setup.generate_config.sh:168", "warn", "mailcow.conf")],
        "forbidden": [*_MAILCOW_DIR_BINDS, ("env.unset.COMPOSE_PROJECT_NAME", "*")],
        "noise": ["env.unset.*", "paths.bind.*", "secrets.plain_env.*"]},
    "mailcow+told": {
        "exit": 0, "required": [],
        "forbidden": [*_MAILCOW_DIR_BINDS, ("env.unset.*", "*"), ("env.file.*", "fail")],
        "noise": ["secrets.plain_env.*", "paths.bind.*"]},
    # matthiasmullie/minify's own test stack, vendored: ./tests and phpunit.xml.dist were not
    # shipped. The missing file bind is true; candidates never come from other vendored packages.
    "minify-extends": {
        "exit": 1,
        "required": [("paths.bind.php.3", "fail")],
        "forbidden": [],
        "noise": ["paths.bind.*"]},
    # The documented postgres-tika file: POSTGRES_PASSWORD is a literal in the compose file.
    "paperless": {
        "exit": 0,
        "required": [("secrets.plain_env.db.POSTGRES_PASSWORD", "warn", "POSTGRES_PASSWORD_FILE"),
                     ("docs.setup.README.md:63", "warn", "downloads code from the network"),
                     # src/paperless/settings.py, src-ui/src/app/app.module.ts: not upstream
                     # either (the trimming keeps what the Markdown check resolves)
                     ("docs.missing.CONTRIBUTING.md:*", "warn"),
                     ("docs.missing.docs/development.md:*", "warn")],
        "forbidden": [("*", "fail"), ("docs.missing.docs/administration.md:*", "*"),
                      ("docs.missing.docs/troubleshooting.md:*", "*"),
                      ("docs.missing.docs/advanced_usage.md:*", "*")],
        "noise": ["paths.bind.*"]},
    # Committed .env with `changethis` values; README: change them before deploying.
    "fastapi": {
        "exit": 0,
        "required": [("env.placeholder.SECRET_KEY", "warn"),
                     ("env.placeholder.POSTGRES_PASSWORD", "warn"),
                     ("env.placeholder.FIRST_SUPERUSER_PASSWORD", "warn")],
        "forbidden": [("*", "fail"), ("docs.missing.README.md:3*", "*"),
                      ("docs.missing.README.md:4*", "*")],
        "noise": ["overrides.ports.*", "paths.bind.*", "secrets.plain_env.*"]},
    "fastapi-nof": {
        "exit": 0,
        "required": [("env.placeholder.SECRET_KEY", "warn"),
                     ("env.placeholder.POSTGRES_PASSWORD", "warn"),
                     ("env.placeholder.FIRST_SUPERUSER_PASSWORD", "warn")],
        "forbidden": [("*", "fail"), ("docs.missing.README.md:3*", "*"),
                      ("docs.missing.README.md:4*", "*")],
        "noise": ["overrides.ports.*", "paths.bind.*", "secrets.plain_env.*"]},
}


def _text(check: dict) -> str:
    return " ".join(str(check.get(k) or "") for k in ("title", "detail", "hint"))


def matches(check: dict, pattern: tuple) -> bool:
    from fnmatch import fnmatchcase

    glob, status = pattern[0], pattern[1]
    if not fnmatchcase(check["id"], glob) or status not in ("*", check["status"]):
        return False
    return len(pattern) < 3 or pattern[2] in _text(check)


def judge(name: str, checks: list[dict]) -> dict[str, list[dict]]:
    """Findings (fail/warn/skip) of project `name` sorted into true / false / noise / unjudged,
    plus `missing`: required patterns no finding matched (as dicts with the pattern)."""
    from fnmatch import fnmatchcase

    exp = EXPECTED[name]
    out: dict[str, list[dict]] = {"true": [], "false": [], "noise": [], "unjudged": [], "missing": []}
    findings = [c for c in checks if c["status"] in ("fail", "warn", "skip")]
    for c in findings:
        if any(matches(c, f) for f in exp["forbidden"]):
            out["false"].append(c)
        elif any(matches(c, r) for r in exp["required"]):
            out["true"].append(c)
        elif any(fnmatchcase(c["id"], g) for g in exp["noise"]):
            out["noise"].append(c)
        else:
            out["unjudged"].append(c)
    for r in exp["required"]:
        if not any(matches(c, r) for c in findings):
            out["missing"].append({"pattern": r})
    return out
