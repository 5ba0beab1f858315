"""The app factory: the one place that knows every part of the service and puts them together."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

import ledger
from api import init_api
from timebank import schema
from timebank.config import check_config, load_config
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


def default_database_url(instance_path: str) -> str:
    """The embedded default: a SQLite file in the instance folder."""
    return f"sqlite:///{os.path.join(instance_path, DATABASE_FILE_NAME)}"


def create_database_engine(config: Mapping[str, Any]) -> Engine:
    """The ledger's engine for ``DATABASE_URL``, with a bounded wait for PostgreSQL to accept a connection."""
    url = config["DATABASE_URL"]
    options: dict[str, Any] = {}
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
