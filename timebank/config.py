"""Configuration: defaults, overridden by ``TIMEBANK_``-prefixed environment variables.

``TIMEBANK_DATABASE_URL`` sets ``DATABASE_URL``, ``TIMEBANK_CHECK_SCHEMA_ON_START`` sets
``CHECK_SCHEMA_ON_START``, and so on for every setting of ``Config``. Values are converted to the type of the
default. Nothing is read at import time: ``load_config`` reads the environment when it is called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

PREFIX = "TIMEBANK_"
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"
ENVIRONMENTS = ("development", "testing", "production")
# Where the default secret key is tolerated: nowhere a real neighbour's data lives.
INSECURE_ENVIRONMENTS = ("development", "testing")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A setting is missing, malformed or unsafe for the environment it is used in."""


class Config:
    """The defaults; each may be overridden by ``TIMEBANK_<NAME>`` in the environment."""

    ENV = "production"
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
    # None: a SQLite file, ``timebank.sqlite``, in the instance folder.
    DATABASE_URL: str | None = None
    # None: Flask's default, the ``instance`` folder beside the ``timebank`` package in a checkout.
    INSTANCE_PATH: str | None = None
    CHECK_SCHEMA_ON_START = True
    # How long to wait for PostgreSQL to accept a connection before a request (or /healthz) gives up.
    DATABASE_CONNECT_TIMEOUT_SECONDS = 5
    MAX_CONTENT_LENGTH = 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 64 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # How long a login lasts; the cookie's signed timestamp is checked, so an older copy is refused.
    SESSION_LIFETIME_MINUTES = 8 * 60
    # Email: with SMTP_HOST unset, messages are written to the log (the `timebank.mail` logger) instead.
    SMTP_HOST: str | None = None
    SMTP_PORT = 587
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS = True
    SMTP_SENDER: str | None = None
    # How many reverse proxies stand in front of the app and set X-Forwarded-For / -Proto / -Host. 0: trust no
    # such header (the address a login is throttled by is the connection's). Behind one nginx: 1.
    TRUSTED_PROXIES = 0
    # Where people reach the site ("https://tijdbank.example.org"): links in mails (a new password) start with it.
    # None: the address the request came to, which a forged Host header could choose; set it in production.
    PUBLIC_URL: str | None = None
    # The log: "json" (one object per line) or "text"; None: text in development, JSON everywhere else.
    LOG_FORMAT: str | None = None
    # The lowest level logged: DEBUG, INFO (every request has a line), WARNING, ERROR or CRITICAL.
    LOG_LEVEL = "INFO"


def defaults() -> dict[str, Any]:
    """Every setting with its default value."""
    return {name: getattr(Config, name) for name in dir(Config) if name.isupper()}


def load_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The defaults with ``TIMEBANK_``-prefixed variables from ``environ`` (``os.environ`` if None) over them.

    Variables that name no setting are ignored (``TIMEBANK_TEST_DATABASE_URL`` belongs to the tests).
    """
    environ = os.environ if environ is None else environ
    config = defaults()
    for name, default in config.items():
        raw = environ.get(PREFIX + name)
        if raw is not None:
            config[name] = convert(PREFIX + name, raw, default)
    return config


def convert(variable: str, raw: str, default: Any) -> Any:
    """``raw`` as the type of ``default``: a boolean, an integer, or a string (empty means None if optional)."""
    if isinstance(default, bool):
        word = raw.strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise ConfigError(f"{variable} must be one of {sorted(TRUE_WORDS | FALSE_WORDS)}, not {raw!r}")
        return word in TRUE_WORDS
    if isinstance(default, int):
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(f"{variable} must be a whole number, not {raw!r}") from None
    if default is None and raw.strip() == "":
        return None
    return raw


def check_config(config: Mapping[str, Any]) -> None:
    """Refuse settings the app must not run with: an unknown environment, or the default secret outside
    development and testing."""
    environment = config["ENV"]
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"TIMEBANK_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
    if environment not in INSECURE_ENVIRONMENTS and config["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY:
        raise ConfigError(
            f"TIMEBANK_SECRET_KEY is the development default; set a long random secret to run in {environment} "
            '(for example: python3 -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    if not config["SECRET_KEY"]:
        raise ConfigError("TIMEBANK_SECRET_KEY must not be empty")
    if config["DATABASE_CONNECT_TIMEOUT_SECONDS"] < 1:
        raise ConfigError("TIMEBANK_DATABASE_CONNECT_TIMEOUT_SECONDS must be at least 1")
    if config["SESSION_LIFETIME_MINUTES"] < 1:
        raise ConfigError("TIMEBANK_SESSION_LIFETIME_MINUTES must be at least 1")
    if not 0 <= config["TRUSTED_PROXIES"] <= 5:
        raise ConfigError("TIMEBANK_TRUSTED_PROXIES must be between 0 and 5 (the reverse proxies in front of the app)")
    if config.get("LOG_FORMAT") not in (None, "json", "text"):
        raise ConfigError(f"TIMEBANK_LOG_FORMAT must be json or text, not {config['LOG_FORMAT']!r}")
    if str(config.get("LOG_LEVEL", "INFO")).upper() not in LOG_LEVELS:
        raise ConfigError(f"TIMEBANK_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {config['LOG_LEVEL']!r}")
    public_url = config.get("PUBLIC_URL")
    if public_url and not str(public_url).startswith(("https://", "http://")):
        raise ConfigError(f"TIMEBANK_PUBLIC_URL must start with https:// (or http://), not {public_url!r}")
