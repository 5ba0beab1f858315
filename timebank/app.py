"""The app factory: the one place that knows every part of the service and puts them together."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, request
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

import ledger
from api import init_api
from timebank import logs, schema
from timebank.config import PREFIX, check_config, load_config
from timebank.database import Database
from timebank.web import init_web

EXTENSION_NAME = "timebank"
DATABASE_FILE_NAME = "timebank.sqlite"


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached when the app started, so its schema could not be checked."""


@dataclass(frozen=True)
class Resources:
    """What the app's requests share, kept in ``app.extensions["timebank"]``."""

    engine: Engine
    database: Database


def create_app(config_overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``TIMEBANK_`` environment variables, then ``config_overrides``.

    Refuses to build (raises) with the default secret key outside development and testing, and, when
    ``CHECK_SCHEMA_ON_START`` is set, when the database's schema is not the one this code expects.
    """
    config = load_config()
    config.update(config_overrides or {})
    check_config(config)
    instance_path = os.path.abspath(config["INSTANCE_PATH"]) if config["INSTANCE_PATH"] else None
    app = Flask(__name__, instance_path=instance_path)
    app.config.from_mapping(config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["DATABASE_URL"] = config["DATABASE_URL"] or default_database_url(app.instance_path)
    init_logging(app)
    engine = create_database_engine(app.config)
    if app.config["CHECK_SCHEMA_ON_START"]:
        _require_current_schema(engine)
    app.extensions[EXTENSION_NAME] = Resources(engine=engine, database=Database(engine))
    init_web(app)
    init_api(app)
    if app.config["TRUSTED_PROXIES"]:
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    return app


def check_before_forking_workers() -> None:
    """For a server whose workers each build the app (gunicorn without ``preload_app``; its ``on_starting`` hook
    in gunicorn.conf.py calls this): the database and schema check of ``create_app``, once, in the master —
    raising, so that the server refuses to start, as ``create_app`` would — and then off for the workers.

    A worker replaced while the database is down (killed, or recycled after ``max_requests``) must start and answer
    503 until the database is back: if it refused to boot, gunicorn would stop the whole server ("Worker failed to
    boot") and nothing would bring it back. A schema that changes later is reported by /readyz.
    """
    config = load_config()
    check_config(config)
    if config["CHECK_SCHEMA_ON_START"]:
        instance_path = os.path.abspath(config["INSTANCE_PATH"]) if config["INSTANCE_PATH"] else None
        instance_path = Flask(__name__, instance_path=instance_path).instance_path
        os.makedirs(instance_path, exist_ok=True)
        engine = create_database_engine(
            {**config, "DATABASE_URL": config["DATABASE_URL"] or default_database_url(instance_path)}
        )
        _require_current_schema(engine)
        engine.dispose()
    os.environ[PREFIX + "CHECK_SCHEMA_ON_START"] = "false"  # inherited by every worker the master forks


def init_logging(app: Flask) -> None:
    """The log's format and level (unless the process set up logging itself), request ids, a line per request."""
    logs.configure_logging(format_name=logs.log_format(app.config), level=app.config["LOG_LEVEL"])
    app.wsgi_app = logs.RequestIdMiddleware(app.wsgi_app, trust_header=app.config["TRUSTED_PROXIES"] > 0)

    @app.after_request
    def log_request(response: Response) -> Response:
        logs.log_finished(request, response.status_code)
        return response


def default_database_url(instance_path: str) -> str:
    """The embedded default: a SQLite file in the instance folder."""
    return f"sqlite:///{os.path.join(instance_path, DATABASE_FILE_NAME)}"


def create_database_engine(config: Mapping[str, Any]) -> Engine:
    """The ledger's engine for ``DATABASE_URL``, with a bounded wait for PostgreSQL to accept a connection."""
    url = config["DATABASE_URL"]
    # A database error's text must not carry the statement's parameters (password hashes, token digests, notes)
    # into the log.
    options: dict[str, Any] = {"hide_parameters": True}
    if sa.make_url(url).get_backend_name() == "postgresql":
        options["connect_args"] = {"connect_timeout": config["DATABASE_CONNECT_TIMEOUT_SECONDS"]}
    return ledger.create_engine(url, **options)


def _require_current_schema(engine: Engine) -> None:
    try:
        schema.require_current_schema(engine)
    except sa.exc.SQLAlchemyError as error:
        engine.dispose()
        reason = error.orig if isinstance(error, sa.exc.DBAPIError) else error
        raise DatabaseUnavailable(f"Cannot reach the database to check its schema: {reason}") from error
    except schema.SchemaNotCurrent:
        engine.dispose()
        raise
