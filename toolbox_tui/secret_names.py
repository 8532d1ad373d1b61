"""Which variables carry a secret: the name says so and the value does not say otherwise.

One definition for the doctor's checks and the secrets inventory. A name alone is not enough:
`MAX_TOKENS: ${MAX_TOKENS:-8192}` is a number, `DATABASE_PASSWORD=/run/secrets/db-password` is a
path to a mounted secret, `CELERY_BROKER_URL: redis://redis:6379/0` is a URL without credentials.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SECRET_LIKE = re.compile(
    r"(password|passwd|passphrase|secret|token|api_?key|apikey|access_key|private_key|credential|"
    r"_dsn$|^dsn$|database_url|redis_url|broker_url|encryption_key|signing_key|jwt|auth_key)", re.I)
"""Variable names that probably hold a secret value."""

NOT_SECRET = re.compile(r"(_file$|_path$|_dir$|_ttl$|_expir|_timeout$|_length$|_algorithm$|_enabled$|"
                        r"_user(name)?$|_host$|_port$|_name$|_id_file$|_mode$|_type$)", re.I)
"""Names that mention a secret but hold a path, a size or a switch (`JWT_SECRET_FILE`, `TOKEN_TTL`)."""

_NOT_A_VALUE = re.compile(r"^(?:-?\d+(?:\.\d+)?[kmgKMG]?[bB]?|true|false|yes|no|on|off|none|null)$", re.I)


def is_secret_like(name: str) -> bool:
    """True for variable names that look like they carry a secret (`POSTGRES_PASSWORD`, `JWT_SECRET`)."""
    return bool(SECRET_LIKE.search(name)) and not NOT_SECRET.search(name)


def value_is_not_secret(value: str | None) -> bool:
    """A value that cannot be a secret whatever its name: a number or switch, an absolute path
    (`/run/secrets/x`), or a URL that carries no password."""
    if value is None:
        return False
    v = value.strip().strip("'\"")
    if _NOT_A_VALUE.match(v) or v.startswith("/"):
        return True
    if "://" in v:
        try:
            return not urlsplit(v).password
        except ValueError:
            return False
    return False


def holds_secret(name: str, value: str | None) -> bool:
    """`name` looks secret and `value` (None: not known, e.g. passed through) does not rule it out."""
    return is_secret_like(name) and not value_is_not_secret(value)


_FILE_CONVENTIONS = (
    (re.compile(r"(^|/)grafana(-oss|-enterprise)?(:|$)"), re.compile(r"^GF_"), "__FILE"),
    (re.compile(r"(^|/)(postgres|mysql|mariadb|mongo|postgis/postgis)(:|$)"), re.compile(r"."), "_FILE"),
)
"""(image, variable, suffix): images known to read `VAR<suffix>` as a file holding VAR's value."""


def file_variable(name: str, image: str | None) -> str | None:
    """The variable that makes `image` read `name` from a file (`GF_X__FILE`, `POSTGRES_X_FILE`),
    or None when the image's convention is not known."""
    img = (image or "").lower().rsplit("@", 1)[0]
    for image_pat, var_pat, suffix in _FILE_CONVENTIONS:
        if image_pat.search(img) and var_pat.search(name):
            return name + suffix
    return None
