"""What kind of value a secret is, how to check a typed value, how to generate one, how to derive one.

A kind is inferred from the secret's name (and, for file secrets, the file name) and can be
overridden per secret in the manifest (`secrets: {name: {kind, prefix, min_length, generate,
derive, ...}}`). Validation messages name the secret and the rule, never the value.
"""

from __future__ import annotations

import re
import secrets as _secrets
import string
from dataclasses import dataclass, replace
from typing import Callable, Mapping
from urllib.parse import quote, urlsplit

from toolbox_tui import secret_names
from toolbox_tui.errors import EXIT_FAIL, ToolboxError

PASSWORD, URL, API_KEY, TOKEN, CERTIFICATE, TEXT = (
    "password", "url", "api_key", "token", "certificate", "text")
KINDS = (PASSWORD, URL, API_KEY, TOKEN, CERTIFICATE, TEXT)
"""Every kind, in the order the inference tries them."""

PLACEHOLDER = "toolbox-tui-placeholder-not-a-real-key"
"""Value used for optional third-party keys in dev. Recognised (and refused) in prod."""

_SAFE_ALPHABET = string.ascii_letters + string.digits + "-_"
"""URL-safe, shell-safe and YAML-safe: generated values can be embedded in a URL unquoted."""


@dataclass(frozen=True)
class Rule:
    """How a value of one secret is checked and generated."""

    kind: str
    min_length: int = 1
    max_length: int = 4096
    charset: str | None = None
    """Regex character class body the value must consist of (None: any printable, no newline)."""
    prefix: str | None = None
    """Required leading text (`sk-` for an OpenAI key)."""
    url_schemes: tuple[str, ...] = ()
    """For URLs: allowed schemes (empty: any)."""
    generate: bool = False
    """Whether toolbox-tui may make up a value (passwords, tokens: yes; third-party keys: no)."""
    gen_length: int = 32


DEFAULT_RULES: dict[str, Rule] = {
    PASSWORD: Rule(PASSWORD, min_length=12, generate=True, gen_length=32),
    URL: Rule(URL, min_length=8),
    API_KEY: Rule(API_KEY, min_length=8, charset=r"\x21-\x7e", generate=False),
    TOKEN: Rule(TOKEN, min_length=32, charset=r"\x21-\x7e", generate=True, gen_length=48),
    CERTIFICATE: Rule(CERTIFICATE, min_length=32, max_length=1 << 20, generate=False),
    TEXT: Rule(TEXT, min_length=1, generate=False),
}

_NAME_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (CERTIFICATE, re.compile(r"(cert|certificate|\bpem\b|tls_key|ssl_key|private_key|ca_bundle|_crt$|_pem$)", re.I)),
    (URL, re.compile(r"(_url$|^url$|_uri$|_dsn$|^dsn$|connection_string|conn_str)", re.I)),
    (PASSWORD, re.compile(r"(password|passwd|_pass$|^pass$|_pw$|passphrase)", re.I)),
    (API_KEY, re.compile(r"(api_?key|access_key|client_id|app_key|license_key|_key_id$)", re.I)),
    (TOKEN, re.compile(r"(token|jwt|secret|encryption_key|signing_key|_salt$|hmac|session_key|_key$)", re.I)),
)

SECRET_LIKE, NOT_SECRET = secret_names.SECRET_LIKE, secret_names.NOT_SECRET
"""Variable names that probably hold a secret, and names that mention one but do not (one
definition: `toolbox_tui.secret_names`)."""

_THIRD_PARTY = re.compile(r"(openai|anthropic|aws|gcp|azure|stripe|github|gitlab|slack|sendgrid|twilio|"
                          r"roblox|langcache|google|sentry|mailgun|pusher|cloudflare|datadog)", re.I)
"""Names of outside services: their keys are issued by someone else and cannot be generated."""

KNOWN_PREFIXES = {"openai": "sk-", "anthropic": "sk-ant-", "github": "gh", "stripe": "sk_"}
"""Key prefixes inferred from a third-party name when the manifest gives none."""


is_secret_like = secret_names.is_secret_like
holds_secret = secret_names.holds_secret


def infer_kind(name: str, *, file: str | None = None) -> str:
    """The kind of secret `name` (a secret or variable name); `file` is its source file if any."""
    if file and re.search(r"\.(pem|crt|cer|key|p12|pfx)$", file, re.I):
        return CERTIFICATE
    for kind, pattern in _NAME_PATTERNS:
        if pattern.search(name):
            if kind == TOKEN and _THIRD_PARTY.search(name):
                return API_KEY
            return kind
    return TEXT


def is_third_party(name: str) -> bool:
    return bool(_THIRD_PARTY.search(name))


def rule_for(name: str, kind: str | None = None, hints: Mapping[str, object] | None = None, *,
             file: str | None = None) -> Rule:
    """The rule for secret `name`: defaults of its kind, refined by manifest `hints`."""
    hints = dict(hints or {})
    kind = str(hints.get("kind") or kind or infer_kind(name, file=file))
    if kind not in KINDS:
        kind = TEXT
    rule = DEFAULT_RULES[kind]
    if kind in (TOKEN, API_KEY) and is_third_party(name):
        rule = replace(rule, generate=False, min_length=min(rule.min_length, 8))
        for vendor, prefix in KNOWN_PREFIXES.items():
            if vendor in name.lower():
                rule = replace(rule, prefix=prefix)
                break
    if kind == URL:
        scheme = re.match(r"(postgres(?:ql)?|mysql|mariadb|redis|rediss|amqp|mongodb|https?)", name, re.I)
        if scheme:
            rule = replace(rule, url_schemes=_SCHEME_FAMILY.get(scheme.group(1).lower(), ()))
    updates: dict[str, object] = {}
    if hints.get("prefix") is not None:
        updates["prefix"] = str(hints["prefix"])
    if hints.get("min_length") is not None:
        updates["min_length"] = int(hints["min_length"])  # type: ignore[arg-type]
        updates["gen_length"] = max(rule.gen_length, int(hints["min_length"]))  # type: ignore[arg-type]
    if hints.get("generate") is not None:
        updates["generate"] = bool(hints["generate"])
    if hints.get("charset") is not None:
        updates["charset"] = str(hints["charset"])
    return replace(rule, **updates) if updates else rule


_SCHEME_FAMILY = {
    "postgres": ("postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg"),
    "postgresql": ("postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg"),
    "redis": ("redis", "rediss"), "rediss": ("redis", "rediss"),
    "mysql": ("mysql", "mysql+pymysql"), "mariadb": ("mysql", "mariadb"),
    "amqp": ("amqp", "amqps"), "mongodb": ("mongodb", "mongodb+srv"),
    "http": ("http", "https"), "https": ("http", "https"),
}


class SecretValueError(ToolboxError, ValueError):
    """A value does not satisfy its rule. The message names the secret and the rule, not the value."""

    exit_code = EXIT_FAIL

    def __init__(self, name: str, problems: list[str]) -> None:
        super().__init__(f"{name}: " + "; ".join(problems))
        self.name = name
        self.problems = problems


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0 controls, DEL and C1 controls: never part of a secret value (see `control_problem`)."""
_MULTILINE_OK = "\n\r\t"
"""Controls a multi-line value (a PEM certificate or key file) may contain: line ends and tab."""


def _control_class(ch: str) -> str:
    code = ord(ch)
    if code == 0:
        return "a NUL byte"
    if code == 0x1b:
        return "an ESC (escape sequence)"
    if code == 0x7f:
        return "a DEL character"
    if code >= 0x80:
        return f"a C1 control character U+{code:04X}"
    return f"a control character U+{code:04X}"


def control_problem(value: str, *, multiline: bool = False) -> str | None:
    """A sentence naming the first control character in `value` and where it is, or None.

    Policy: a secret value never contains NUL (a D-Bus string cannot carry it, and files with NUL
    cut values short in C consumers), ESC or any other C0/C1 control or DEL (they would reach
    terminals, env files and logs). Newlines are reported by the single-line rule instead; a
    multi-line value (certificate) may also hold CR, LF and tab. The sentence gives the character
    class, its position (1-based) and the count; it never quotes the value.
    """
    allowed = _MULTILINE_OK if multiline else "\n\r"
    bad = [m for m in _CONTROL.finditer(value) if m.group() not in allowed]
    if not bad:
        return None
    first = bad[0]
    more = f" ({len(bad)} control characters in all)" if len(bad) > 1 else ""
    return (f"must not contain control characters: {_control_class(first.group())} at character "
            f"{first.start() + 1}{more}")


def problems(name: str, value: str, rule: Rule, *, allow_placeholder: bool = False) -> list[str]:
    """Everything wrong with `value` for secret `name`, as rule-naming sentences (no value inside)."""
    out: list[str] = []
    if value == PLACEHOLDER:
        return [] if allow_placeholder else ["is the toolbox-tui placeholder, not a real value"]
    control = control_problem(value, multiline=rule.kind == CERTIFICATE)
    if control:
        out.append(control)
    if rule.kind != CERTIFICATE and ("\n" in value or "\r" in value):
        out.append("must be a single line (no newline)")
    if len(value) < rule.min_length:
        out.append(f"must be at least {rule.min_length} characters long (got {len(value)})")
    if len(value) > rule.max_length:
        out.append(f"must be at most {rule.max_length} characters long (got {len(value)})")
    # a PEM file ends with a line end (CRLF on Windows): that is not stray whitespace
    core = value.rstrip("\r\n") if rule.kind == CERTIFICATE else value
    if core != core.strip():
        out.append("must not start or end with whitespace")
    if rule.charset and value and not re.fullmatch(f"[{rule.charset}]+", value):
        out.append(f"may only contain characters [{rule.charset}]")
    if rule.prefix and not value.startswith(rule.prefix):
        out.append(f"must start with {rule.prefix!r}")
    if rule.kind == URL and value:
        out.extend(_url_problems(value, rule))
    if rule.kind == CERTIFICATE and value and "-----BEGIN " not in value:
        out.append("must be PEM text (a '-----BEGIN ...-----' block)")
    return out


def _url_problems(value: str, rule: Rule) -> list[str]:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return ["must be a URL like scheme://user:password@host:port/path (the port is not a number)"]
    out = []
    if not parts.scheme or not parts.netloc:
        out.append("must be a URL like scheme://user:password@host:port/path")
    elif rule.url_schemes and parts.scheme.lower() not in rule.url_schemes:
        # never quote what was given: a value pasted in the wrong order can put the secret where
        # the scheme belongs ("s3cr3t://..."), and this message reaches terminals and logs
        out.append(f"must use scheme {' or '.join(rule.url_schemes[:2])}:// (the value uses "
                   "another scheme)")
    elif not parts.hostname:
        out.append("must name a host")
    return out


def validate(name: str, value: str, rule: Rule, *, allow_placeholder: bool = False) -> None:
    """Raise `SecretValueError` when `value` breaks `rule`."""
    found = problems(name, value, rule, allow_placeholder=allow_placeholder)
    if found:
        raise SecretValueError(name, found)


def generate(rule: Rule) -> str:
    """A fresh random value for `rule` from the `secrets` module (URL- and shell-safe alphabet)."""
    if rule.kind in (CERTIFICATE, URL):
        raise ValueError(f"a {rule.kind} cannot be generated")
    length = max(rule.gen_length, rule.min_length)
    prefix = rule.prefix or ""
    body_len = max(length - len(prefix), 16)
    alphabet = _SAFE_ALPHABET
    if rule.charset:
        allowed = [c for c in _SAFE_ALPHABET if re.fullmatch(f"[{rule.charset}]", c)]
        alphabet = "".join(allowed) or _SAFE_ALPHABET
    while True:
        body = "".join(_secrets.choice(alphabet) for _ in range(body_len))
        # passwords: at least one letter and one digit, so naive "complexity" checks pass too
        if rule.kind != PASSWORD or (any(c.isdigit() for c in body) and any(c.isalpha() for c in body)):
            return prefix + body


# --- derivation -------------------------------------------------------------------------------

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class MissingParts(ToolboxError, LookupError):
    """A derived secret cannot be computed yet: these parts have no value."""

    def __init__(self, name: str, missing: list[str]) -> None:
        super().__init__(f"{name}: cannot derive it yet; missing {', '.join(missing)}")
        self.name = name
        self.missing = missing


def template_parts(template: str) -> list[str]:
    """Names referenced by a derivation template, in order, without repeats."""
    seen: list[str] = []
    for m in _REF.finditer(template):
        ref = m.group(1) or m.group(3)
        if ref not in seen:
            seen.append(ref)
    return seen


def derive(name: str, template: str, lookup: Callable[[str], tuple[str | None, bool]]) -> str:
    """Compute secret `name` from `template`.

    `lookup(part)` returns `(value, is_secret)`; secret parts are percent-encoded when the template
    is a URL (a password with `@` or `/` must not break the URL), plain variables are used as is.
    `${VAR:-default}` uses the default when the part has no value. Raises `MissingParts`.
    """
    is_url = "://" in template
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        ref = m.group(1) or m.group(3)
        value, secret = lookup(ref)
        if value is None or value == "":
            if m.group(2) is not None:
                return m.group(2)
            missing.append(ref)
            return ""
        return quote(value, safe="") if (is_url and secret) else value

    out = _REF.sub(sub, template)
    if missing:
        raise MissingParts(name, missing)
    return out
