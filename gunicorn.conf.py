"""Gunicorn's settings for timebank: ``gunicorn -c gunicorn.conf.py wsgi:app`` (``make run`` uses it too).

Every setting has a default that suits a small server behind a reverse proxy; the environment overrides it:

- ``PORT`` (default 8000): listen on ``127.0.0.1:$PORT``, for the reverse proxy on the same machine;
  ``GUNICORN_BIND`` (e.g. ``0.0.0.0:8000`` or ``unix:/run/timebank.sock``) replaces the whole address.
- ``WEB_CONCURRENCY`` or ``GUNICORN_WORKERS``: the number of worker processes; default two per core plus one,
  at most 8 (each worker holds its own database connections, and a time bank's traffic is small).
- ``GUNICORN_THREADS``: more than 1 runs each worker with that many threads (the ``gthread`` worker).
- ``GUNICORN_TIMEOUT`` (30 s), ``GUNICORN_GRACEFUL_TIMEOUT`` (30 s), ``GUNICORN_KEEPALIVE`` (5 s),
  ``GUNICORN_MAX_REQUESTS`` (1000; 0 never recycles a worker), ``GUNICORN_LOG_LEVEL`` (info).
- ``GUNICORN_ACCESS_LOG``: unset, gunicorn writes no access log: the app logs every request itself, with its
  request id and with the secret part of a path left out (a password reset link's token). Set it (``-`` for
  stdout, or a file) only if you want gunicorn's own lines as well: they hold every path whole.

Workers import the app themselves (no ``preload_app``): a worker that is killed, or that is recycled after
``max_requests``, is replaced by a fresh one with its own database connections, and ``kill -HUP`` on the master
reloads the code with a graceful restart of every worker. The master checks the database and its schema once, at
start (``on_starting``), and refuses to start without them. gunicorn's own messages go to stderr.
"""

from __future__ import annotations

import os


def _whole_number(variable: str, default: int, *, minimum: int) -> int:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{variable} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{variable} must be at least {minimum}, not {value}")
    return value


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _default_workers() -> int:
    return min(2 * _cores() + 1, 8)


bind = [os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{_whole_number('PORT', 8000, minimum=1)}"]

workers = _whole_number("GUNICORN_WORKERS", _whole_number("WEB_CONCURRENCY", _default_workers(), minimum=1), minimum=1)
threads = _whole_number("GUNICORN_THREADS", 1, minimum=1)
worker_class = "gthread" if threads > 1 else "sync"

# A worker silent for longer than this is killed and replaced (a request never hangs the worker for good; the
# database connect timeout, TIMEBANK_DATABASE_CONNECT_TIMEOUT_SECONDS, is well below it).
timeout = _whole_number("GUNICORN_TIMEOUT", 30, minimum=1)
# On SIGTERM or HUP, workers finish the requests they have for this long before they are killed.
graceful_timeout = _whole_number("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1)
# How long an idle keep-alive connection from the proxy stays open (the sync worker closes after each request).
keepalive = _whole_number("GUNICORN_KEEPALIVE", 5, minimum=0)

# Recycle each worker after about this many requests, staggered, so that no slow leak grows without bound and
# the workers do not all restart at once.
max_requests = _whole_number("GUNICORN_MAX_REQUESTS", 1000, minimum=0)
max_requests_jitter = max_requests // 10

preload_app = False

# Whom to believe about X-Forwarded-For/-Proto is the app's setting alone (TIMEBANK_TRUSTED_PROXIES, applied by
# werkzeug's ProxyFix): gunicorn's own default would believe any process on 127.0.0.1 as well.
forwarded_allow_ips = ""

# The app's own request log (timebank.logs) replaces gunicorn's access log, which would write reset links whole.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "timebank"
# No control socket for ``gunicornc`` (gunicorn 25.1 and later): nothing here uses it, and several servers on one
# machine (the test suite's) would share its default path. ``kill -HUP`` and ``kill -TERM`` on the master suffice.
control_socket_disable = True


def on_starting(server):
    """In the master, once, before any worker starts: refuse to start when the database cannot be reached or its
    schema is not the code's; then let the workers skip that check (``timebank.app.check_before_forking_workers``),
    so that a worker replaced while the database is down starts and answers 503 until it is back, instead of
    failing to boot and taking the whole server down with it."""
    from timebank.app import check_before_forking_workers

    check_before_forking_workers()
