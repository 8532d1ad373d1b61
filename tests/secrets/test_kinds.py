"""Kinds, validation, generation and derivation of secrets (pure Python)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolbox_tui.secrets import kinds as sk


@pytest.mark.parametrize("name,kind", [
    ("db_password", sk.PASSWORD), ("POSTGRES_PASSWORD", sk.PASSWORD), ("redis_password", sk.PASSWORD),
    ("database_url", sk.URL), ("REDIS_URL", sk.URL), ("SENTRY_DSN", sk.URL),
    ("openai_api_key", sk.API_KEY), ("aws_access_key", sk.API_KEY), ("roblox_api_key", sk.API_KEY),
    ("jwt_secret", sk.TOKEN), ("backup_encryption_key", sk.TOKEN), ("SECRET_KEY", sk.TOKEN),
    ("aws_secret_key", sk.API_KEY), ("roblox_client_secret", sk.API_KEY),
    ("tls_cert", sk.CERTIFICATE), ("motd", sk.TEXT),
])
def test_infer_kind_from_name(name: str, kind: str) -> None:
    assert sk.infer_kind(name) == kind


def test_infer_kind_from_file_extension() -> None:
    assert sk.infer_kind("server", file="/x/server.pem") == sk.CERTIFICATE


@pytest.mark.parametrize("name,expected", [
    ("POSTGRES_PASSWORD", True), ("JWT_SECRET", True), ("OPENAI_API_KEY", True), ("DATABASE_URL", True),
    ("JWT_SECRET_FILE", False), ("TOKEN_TTL", False), ("POSTGRES_USER", False), ("LOG_LEVEL", False),
])
def test_secret_like_names(name: str, expected: bool) -> None:
    assert sk.is_secret_like(name) is expected


def test_third_party_keys_are_not_generatable_and_get_vendor_prefix() -> None:
    rule = sk.rule_for("openai_api_key")
    assert rule.generate is False and rule.prefix == "sk-"
    assert sk.rule_for("anthropic_api_key").prefix == "sk-ant-"
    assert sk.rule_for("db_password").generate is True


def test_manifest_hints_override_inference() -> None:
    rule = sk.rule_for("thing", hints={"kind": "password", "min_length": 40, "prefix": "pw-",
                                       "generate": False})
    assert (rule.kind, rule.min_length, rule.prefix, rule.generate) == ("password", 40, "pw-", False)


def test_validation_messages_name_secret_and_rule_not_value() -> None:
    value = "Sh0rt!"
    with pytest.raises(sk.SecretValueError) as info:
        sk.validate("db_password", value, sk.rule_for("db_password"))
    msg = str(info.value)
    assert msg.startswith("db_password: ")
    assert "at least 12 characters" in msg
    assert value not in msg


@pytest.mark.parametrize("value,fragment", [
    ("not a url at all", "must be a URL"),
    ("mysql://u:p@h:3306/db", "must use scheme postgres"),
    ("postgresql://u:p@h:notaport/db", "port is not a number"),
])
def test_url_shape(value: str, fragment: str) -> None:
    problems = sk.problems("postgres_url", value, sk.rule_for("postgres_url"))
    assert any(fragment in p for p in problems), problems
    assert all(value not in p for p in problems)


def test_valid_values_pass() -> None:
    sk.validate("database_url", "postgresql://app:pw@postgres:5432/app", sk.rule_for("database_url"))
    sk.validate("openai_api_key", "sk-abcdefghijklmnop", sk.rule_for("openai_api_key"))


def test_prefix_and_charset_and_newline() -> None:
    probs = sk.problems("openai_api_key", "pk-abc def\n", sk.rule_for("openai_api_key"))
    text = " | ".join(probs)
    assert "must start with 'sk-'" in text
    assert "single line" in text
    assert "may only contain" in text


def test_placeholder_refused_unless_allowed() -> None:
    rule = sk.rule_for("openai_api_key")
    assert sk.problems("openai_api_key", sk.PLACEHOLDER, rule)
    assert not sk.problems("openai_api_key", sk.PLACEHOLDER, rule, allow_placeholder=True)


def test_generate_is_valid_random_and_safe() -> None:
    for name in ("db_password", "jwt_secret", "redis_password"):
        rule = sk.rule_for(name)
        a, b = sk.generate(rule), sk.generate(rule)
        assert a != b
        sk.validate(name, a, rule)
        assert re.fullmatch(r"[A-Za-z0-9_-]+", a)
    rule = sk.rule_for("x", hints={"kind": "token", "prefix": "tok_", "min_length": 50})
    v = sk.generate(rule)
    assert v.startswith("tok_") and len(v) >= 50


def test_generate_refuses_urls_and_certificates() -> None:
    with pytest.raises(ValueError):
        sk.generate(sk.rule_for("database_url"))


def test_derive_quotes_secret_parts_in_urls() -> None:
    parts = {"POSTGRES_USER": ("app", False), "db_password": ("p@ss/w:rd", True), "POSTGRES_DB": ("appdb", False)}
    tpl = "postgresql://${POSTGRES_USER}:${db_password}@postgres:5432/${POSTGRES_DB}"
    assert sk.template_parts(tpl) == ["POSTGRES_USER", "db_password", "POSTGRES_DB"]
    out = sk.derive("database_url", tpl, lambda n: parts.get(n, (None, False)))
    assert out == "postgresql://app:p%40ss%2Fw%3Ard@postgres:5432/appdb"
    sk.validate("database_url", out, sk.rule_for("database_url"))


def test_derive_reports_missing_parts_and_uses_defaults() -> None:
    with pytest.raises(sk.MissingParts) as info:
        sk.derive("redis_url", "redis://:${redis_password}@${REDIS_HOST:-redis}:6379/0", lambda n: (None, False))
    assert info.value.missing == ["redis_password"]
    out = sk.derive("redis_url", "redis://:${redis_password}@${REDIS_HOST:-redis}:6379/0",
                    lambda n: ("pw", True) if n == "redis_password" else (None, False))
    assert out == "redis://:pw@redis:6379/0"


def test_secret_modules_are_headless() -> None:
    """The engine side of secrets never imports textual (the CLI must run without it)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "import toolbox_tui.secrets.kinds, toolbox_tui.secrets.store, toolbox_tui.secrets.inventory\n"
            "import toolbox_tui.secrets.materialize, toolbox_tui.secrets.rotate, toolbox_tui.secrets.audit\n"
            "import toolbox_tui.cli.secrets\n"
            "assert 'textual' not in sys.modules, sorted(m for m in sys.modules if 'textual' in m)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


# --- control characters: never part of a value -------------------------------------------------

@pytest.mark.parametrize("value,fragment", [
    ("abcdefgh\x00ijklmnop", "a NUL byte at character 9"),
    ("\x1b[31mabcdefghijklmnop", "an ESC (escape sequence) at character 1"),
    ("abcdefghijkl\x07mnop", "control character U+0007 at character 13"),
    ("abcdefghijkl\u009bmnop", "C1 control character U+009B at character 13"),
    ("abcdefghijkl\x7fmnop", "a DEL character at character 13"),
    ("abcdef\tghijklmnop", "control character U+0009 at character 7"),
    ("ab\x00cd\x00efghijklmnop", "(2 control characters in all)"),
])
def test_control_characters_are_refused_by_class_and_position(value: str, fragment: str) -> None:
    for name in ("db_password", "jwt_secret", "motd", "database_url", "openai_api_key"):
        probs = sk.problems(name, value, sk.rule_for(name))
        text = " | ".join(probs)
        assert fragment in text, (name, probs)
        assert "must not contain control characters" in text
        assert value not in text and "abcdefgh" not in text


PEM = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ3Jv\nZGVudGlhbHMgYXJlIGZha2U=\n"
       "-----END CERTIFICATE-----\n")


def test_certificates_keep_line_ends_but_not_other_controls() -> None:
    rule = sk.rule_for("tls_cert")
    assert rule.kind == sk.CERTIFICATE
    sk.validate("tls_cert", PEM, rule)
    sk.validate("tls_cert", PEM.replace("\n", "\r\n"), rule)  # CRLF files from Windows
    sk.validate("tls_cert", PEM + "\tcomment after a tab\n", rule)
    for bad, fragment in (("\x00", "NUL"), ("\x1b[2J", "ESC"), ("\u0085", "U+0085")):
        probs = sk.problems("tls_cert", PEM + bad, rule)
        assert any(fragment in p for p in probs), probs


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from([sk.PASSWORD, sk.TOKEN, sk.API_KEY, sk.TEXT]),
       prefix=st.one_of(st.none(), st.text(alphabet="abcxyz_-", min_size=1, max_size=6)),
       min_length=st.one_of(st.none(), st.integers(min_value=1, max_value=200)),
       name=st.sampled_from(["db_password", "jwt_secret", "session_key", "thing", "redis_password"]))
def test_generated_values_always_pass_validation(kind, prefix, min_length, name) -> None:
    hints = {"kind": kind, "generate": True, "prefix": prefix, "min_length": min_length}
    rule = sk.rule_for(name, hints=hints)
    value = sk.generate(rule)
    assert sk.problems(name, value, rule) == [], (rule, len(value))
    assert sk.control_problem(value) is None


@settings(max_examples=300, deadline=None)
@given(head=st.text(max_size=20), bad=st.sampled_from(
    [chr(c) for c in [*range(0x00, 0x09), *range(0x0b, 0x0d), *range(0x0e, 0x20), *range(0x7f, 0xa0)]]),
       tail=st.text(max_size=20))
def test_any_control_character_is_refused_without_echo(head, bad, tail) -> None:
    value = "S3cretCanary" + head + bad + tail
    for name in ("db_password", "tls_cert"):
        probs = sk.problems(name, value, sk.rule_for(name))
        assert any("control characters" in p for p in probs), (name, repr(value), probs)
        assert all("S3cretCanary" not in p for p in probs)
