"""The ``timebank`` command: Flask's commands (``run``, ``routes``, ``shell``) plus ``db`` and ``verify``.

The app is built as the server builds it, from the same ``TIMEBANK_`` variables, except that it does not refuse
an outdated schema: ``timebank db upgrade`` is how an outdated schema gets fixed.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, NoAppException, with_appcontext
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import ledger
from timebank import schema
from timebank.app import create_app
from timebank.config import ConfigError


def create_cli_app() -> Flask:
    """The app for a command: configured like the server's, without the schema check on start."""
    try:
        app = create_app({"CHECK_SCHEMA_ON_START": False})
    except ConfigError as error:
        # Flask's group shows this kind of error as a message, without a traceback.
        raise NoAppException(str(error)) from error
    # Close the database connections when the command is done, not whenever the garbage collector gets to them.
    click.get_current_context().find_root().call_on_close(app.extensions["timebank"].engine.dispose)
    return app


def _engine() -> Engine:
    return current_app.extensions["timebank"].engine


def _revisions(engine: Engine) -> dict[str, str | None]:
    return {"current": schema.current_revision(engine), "head": schema.head_revision()}


db = AppGroup("db", help="Manage the database schema.")


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration the database lacks."""
    engine = _engine()
    if schema.schema_state(engine) is schema.SchemaState.AHEAD:
        raise click.ClickException(str(schema.SchemaNotCurrent(schema.SchemaState.AHEAD, **_revisions(engine))))
    before = schema.current_revision(engine)
    schema.upgrade(current_app.config["DATABASE_URL"])
    after = schema.current_revision(engine)
    if before == after:
        click.echo(f"The database is already at revision {after}; nothing to do.")
    else:
        click.echo(f"Upgraded the database from revision {before or 'none (empty)'} to {after}.")


@db.command("current")
def db_current() -> None:
    """Show the database's revision and the newest one this code ships."""
    engine = _engine()
    state = schema.schema_state(engine)
    click.echo(f"current revision: {schema.current_revision(engine) or 'none'} ({state})")
    click.echo(f"head revision:    {schema.head_revision()}")


def _show_progress(done: int, total: int) -> None:
    click.echo(f"\rverified {done} of {total} transactions", err=True, nl=done == total)


def verify_books(engine: Engine) -> ledger.VerificationReport:
    """Verify every ledger in one consistent snapshot of the database, showing progress on stderr."""
    if engine.dialect.name == "postgresql":
        # Each statement of the check must see the same moment, even while the service keeps posting.
        engine = engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with Session(engine) as session, session.begin():
        return ledger.verify(session, progress=_show_progress)


@click.command("verify")
@with_appcontext
def verify_command() -> None:
    """Recompute every balance from the entries and check the hash chains; exit 1 listing what is wrong."""
    click.echo("Verifying the books…", err=True)
    report = verify_books(_engine())
    click.echo(report.summary())
    if not report.ok:
        for problem in report.problems:
            click.echo(f"  {problem}")
        raise click.exceptions.Exit(1)


main = FlaskGroup(
    name="timebank",
    help="Run and look after a Timebank service. Configured by TIMEBANK_ environment variables.",
    create_app=create_cli_app,
    load_dotenv=False,
    set_debug_flag=False,
)
main.add_command(db)
main.add_command(verify_command)
