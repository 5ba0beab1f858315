"""Alembic's entry point for the migrations in this folder.

The URL comes from the Alembic configuration (``timebank.schema.alembic_config(url)``), or from
``TIMEBANK_DATABASE_URL`` when Alembic's own command line runs with the ``alembic.ini`` at the project root.
Connections come from ``ledger.database.create_engine``, so SQLite gets the same pragmas as the app.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

import timebank.models  # noqa: F401  (registers the time bank's tables in the metadata)
from ledger.database import create_engine
from ledger.models import metadata

config = context.config
target_metadata = metadata


def database_url() -> str:
    """The database to migrate: from the Alembic configuration, else from TIMEBANK_DATABASE_URL."""
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("TIMEBANK_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: pass one to timebank.schema.alembic_config or set TIMEBANK_DATABASE_URL")
    return url


def configure(*, sqlite: bool, **options) -> None:
    """Configure Alembic for the models' metadata; ``options`` name the connection or the URL."""
    # SQLite cannot alter most of a table in place: batch mode recreates the table instead.
    context.configure(target_metadata=target_metadata, compare_type=True, render_as_batch=sqlite, **options)


def run_migrations_offline() -> None:
    """Write the migrations' SQL instead of running it (``alembic upgrade --sql``)."""
    url = database_url()
    configure(url=url, literal_binds=True, sqlite=sa.make_url(url).get_backend_name() == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a connection from the ledger's engine, so SQLite gets the ledger's pragmas."""
    engine = create_engine(database_url())
    try:
        with engine.connect() as connection:
            # SQLite's DDL is transactional, and the ledger's connections open real transactions (an explicit
            # BEGIN): run the whole upgrade in one transaction, as on PostgreSQL, so a failure leaves no trace.
            sqlite = connection.dialect.name == "sqlite"
            configure(connection=connection, sqlite=sqlite, transactional_ddl=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if config.config_file_name is not None:
    fileConfig(config.config_file_name)

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
