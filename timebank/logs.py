"""Logging: one JSON object per line (plain text in development), each line with the id of its request.

Every request gets an id: the ``X-Request-Id`` a trusted reverse proxy sent (``TIMEBANK_TRUSTED_PROXIES`` ≥ 1),
when it is short and made of safe characters, else a new random one. The answer carries it in ``X-Request-Id``
and every problem+json body in ``request_id``, so that a person or a partner app can quote it and an operator can
find the log lines of that request.

``configure_logging`` sets up the root logger (a handler on stderr, ``TIMEBANK_LOG_FORMAT``,
``TIMEBANK_LOG_LEVEL``) unless the process embedding the app configured a handler already (pytest, a
``logconfig_dict`` in gunicorn's settings): then that configuration stays as it is, and its formatters may use
``%(request_id)s`` by adding ``RequestIdFilter`` to their handlers. ``log_request`` writes one line per request
(method, path, status, duration), never a query string, a header or a body, and not the secret part of a path
such as a password reset link's token. No web framework here: ``timebank.app.init_logging`` binds it to the app.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REQUEST_ID_KEY = "timebank.request_id"
STARTED_KEY = "timebank.started"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Path variables whose values are secrets: a request's line shows the route (/password/reset/<token>) instead.
SECRET_PATH_ARGUMENTS = frozenset({"token", "secret"})
# Paths that carry a secret after this prefix, hidden also when no route matched (a trailing slash, a wrong method).
SECRET_PATH_PREFIXES = ("/password/reset/",)
MAX_LOGGED_PATH_LENGTH = 200
# A load balancer asks these every few seconds: their lines only when they are not healthy.
QUIET_ENDPOINTS = frozenset({"web.health", "web.ready"})
# Alembic says which database dialect it found at every schema check (each /healthz and /readyz).
QUIET_LOGGERS = ("alembic.runtime.migration",)

request_logger = logging.getLogger("timebank.request")
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# What every LogRecord has; anything else on a record came from ``extra=`` and goes into the JSON object.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def new_request_id() -> str:
    return secrets.token_hex(16)


def current_request_id() -> str | None:
    """The id of the request being handled (in this thread), or None outside a request."""
    return _request_id.get()


class RequestIdMiddleware:
    """Gives each request its id before anything else runs, and answers it in ``X-Request-Id``, whatever the
    response (an error page, a problem, a 503 while the database is down)."""

    def __init__(self, wsgi_app, *, trust_header: bool):
        self.wsgi_app = wsgi_app
        self.trust_header = trust_header

    def __call__(self, environ, start_response):
        offered = environ.get("HTTP_X_REQUEST_ID", "") if self.trust_header else ""
        request_id = offered if REQUEST_ID_PATTERN.match(offered) else new_request_id()
        environ[REQUEST_ID_KEY] = request_id
        environ[STARTED_KEY] = time.perf_counter()

        def start_with_request_id(status, headers, exc_info=None):
            headers = [(name, value) for name, value in headers if name.lower() != REQUEST_ID_HEADER.lower()]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status, headers, exc_info)

        token = _request_id.set(request_id)
        try:
            return self.wsgi_app(environ, start_with_request_id)
        finally:
            _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record that passes (None outside a request), for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (UTC), level, logger, message, request_id, then any fields
    given with ``extra=`` and the exception's trace, if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and name not in entry and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.request_id = request_id or "-"  # "-": outside a request
        try:
            return super().format(record)
        finally:
            record.request_id = request_id


def log_format(config) -> str:
    """``LOG_FORMAT`` if set, else text in development and JSON everywhere else."""
    return config.get("LOG_FORMAT") or ("text" if config.get("ENV") == "development" else "json")


def make_handler(format_name: str, stream=None) -> logging.Handler:
    """A handler writing to ``stream`` (stderr) in ``format_name`` ("json" or "text"), with request ids."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if format_name == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(*, format_name: str, level: str) -> bool:
    """Give the root logger our handler and level, unless it has a handler already; whether it did."""
    root = logging.getLogger()
    if root.handlers:
        return False
    root.addHandler(make_handler(format_name))
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:  # below DEBUG, only their warnings
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET and level.upper() != "DEBUG":
            logger.setLevel(logging.WARNING)
    return True


def logged_path(path: str, *, route: str | None, route_arguments) -> str:
    """A request's path for the log: the route's pattern (``/password/reset/<token>``) where a path variable is a
    secret, else the path, cut short. A path under a secret's prefix that matched no route shows as the prefix and
    ``<token>``, since its rest may still be a valid secret."""
    if route is not None and set(route_arguments) & SECRET_PATH_ARGUMENTS:
        return route
    for prefix in SECRET_PATH_PREFIXES:
        if path.startswith(prefix):
            return f"{prefix}<token>"
    return path[:MAX_LOGGED_PATH_LENGTH]


def log_request(
    method: str,
    path: str,
    status: int,
    *,
    endpoint: str | None,
    route: str | None,
    route_arguments=(),
    started: float | None,
) -> None:
    """The request's line: method, path (see ``logged_path``), status and duration; for the health checks only
    when they are not healthy. Never a query string, a header or a body."""
    level = logging.WARNING if status >= 500 else logging.INFO
    if not request_logger.isEnabledFor(level) or (endpoint in QUIET_ENDPOINTS and status < 400):
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    path = logged_path(path, route=route, route_arguments=route_arguments)
    request_logger.log(
        level,
        "%s %s %s",
        method,
        path,
        status,
        extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
    )


def log_finished(request, status: int) -> None:
    """``log_request`` for a finished request of the web framework (Flask's ``request``: its method, path, endpoint,
    matched rule and WSGI environ), answered with ``status``."""
    rule = request.url_rule
    log_request(
        request.method,
        request.path,
        status,
        endpoint=request.endpoint,
        route=rule.rule if rule is not None else None,
        route_arguments=rule.arguments if rule is not None else (),
        started=request.environ.get(STARTED_KEY),
    )
