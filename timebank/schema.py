"""The database schema: Alembic migrations shipped inside the package, and how the database compares with them.

No Flask here: the app factory, the command line and the tests all use these functions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS_PATH = Path(__file__).resolve().parent / "migrations"
UPGRADE_COMMAND = "timebank db upgrade"


class SchemaState(enum.StrEnum):
    """How the database's schema compares with the migrations this code ships."""

    UP_TO_DATE = "up_to_date"
    OUTDATED = "outdated"  # an older revision of ours: `timebank db upgrade` brings it up to date
    AHEAD = "ahead"  # a revision this code does not know: newer code migrated it
    EMPTY = "empty"  # no migration has been applied


class SchemaNotCurrent(RuntimeError):
    """The database's schema does not match the code, so the app must not serve it."""

    def __init__(self, state: SchemaState, *, current: str | None, head: str) -> None:
        self.state, self.current, self.head = state, current, head
        super().__init__(_explain(state, current=current, head=head))


def _explain(state: SchemaState, *, current: str | None, head: str) -> str:
    if state is SchemaState.EMPTY:
        return f"The database has no schema yet (the code needs revision {head}); run `{UPGRADE_COMMAND}`."
    if state is SchemaState.OUTDATED:
        return (
            f"The database schema (revision {current}) is older than the code (revision {head}); "
            f"run `{UPGRADE_COMMAND}`."
        )
    return (
        f"The database schema (revision {current}) is newer than this code knows (revision {head}); "
        "deploy the code that migrated it."
    )


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for the shipped migrations, connecting to ``url`` when one is given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_PATH))
    if url is not None:
        # Alembic's options are ConfigParser values: a literal % (URL-encoded characters) must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply the migrations to the database at ``url``, up to ``revision`` (the newest by default)."""
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest revision the code ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_PATH}")
    return head


def known_revisions() -> set[str]:
    """Every revision the code ships."""
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when no migration has been applied.

    Alembic makes a new ``alembic_version`` Table each time, so its query would be a new entry in the engine's
    cache of compiled statements at every call (every /healthz and /readyz): some 16 KiB each, up to the cache's
    ~750 entries (12 MiB per worker), pushing the app's own statements out. So this query is never cached."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection.execution_options(compiled_cache=None)).get_current_revision()


def schema_state(engine: Engine) -> SchemaState:
    """Compare the database's revision with the code's; raises SQLAlchemy's errors when it can't be reached."""
    current = current_revision(engine)
    if current is None:
        return SchemaState.EMPTY
    if current == head_revision():
        return SchemaState.UP_TO_DATE
    if current in known_revisions():
        return SchemaState.OUTDATED
    return SchemaState.AHEAD


def require_current_schema(engine: Engine) -> None:
    """Raise SchemaNotCurrent unless the database is at the code's newest revision."""
    state = schema_state(engine)
    if state is not SchemaState.UP_TO_DATE:
        raise SchemaNotCurrent(state, current=current_revision(engine), head=head_revision())


@dataclass(frozen=True)
class DatabaseStatus:
    """What a health check reports about the database; ``schema`` is None when it could not be reached."""

    reachable: bool
    schema: SchemaState | None

    @property
    def healthy(self) -> bool:
        return self.reachable and self.schema is SchemaState.UP_TO_DATE


def database_status(engine: Engine) -> DatabaseStatus:
    """Whether the database answers and how its schema compares; never raises for a database that is down."""
    try:
        return DatabaseStatus(reachable=True, schema=schema_state(engine))
    except sa.exc.SQLAlchemyError:
        return DatabaseStatus(reachable=False, schema=None)
