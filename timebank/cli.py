"""The ``timebank`` command: Flask's commands (``run``, ``routes``, ``shell``) plus ``db``, ``verify``, ``backup``
and the others below.

The app is built as the server builds it, from the same ``TIMEBANK_`` variables, except that it does not refuse
an outdated schema: ``timebank db upgrade`` is how an outdated schema gets fixed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, NoAppException, with_appcontext
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import ledger
from timebank import backup, communities, members, schema
from timebank.access import Actor
from timebank.app import create_app
from timebank.config import ConfigError
from timebank.database import Database
from timebank.demo import DEMO_LOGINS, create_demo, demo_exists
from timebank.errors import DomainError
from timebank.notifications import transport_from_settings
from timebank.tick import run_tick


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


def _show_copy_progress(done: int, total: int) -> None:
    click.echo(f"\rcopied {done} of {total} pages", err=True, nl=done == total)


@click.command("backup")
@click.argument("destination", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace DESTINATION if it exists.")
@click.option(
    "--step-pages",
    type=click.IntRange(min=1),
    default=backup.DEFAULT_STEP_PAGES,
    show_default=True,
    help="Pages copied per step; progress is shown after each.",
)
@with_appcontext
def backup_command(destination: Path, force: bool, step_pages: int) -> None:
    """Copy the live SQLite database to DESTINATION as of one moment, while the service keeps writing; then check
    the copy's integrity and say what it holds. PostgreSQL is backed up with pg_dump instead."""
    try:
        source = backup.sqlite_file(current_app.config["DATABASE_URL"])
        click.echo(f"Backing up {source}…", err=True)
        summary = backup.backup_sqlite(
            source, destination, force=force, step_pages=step_pages, progress=_show_copy_progress
        )
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(summary.describe())


@click.command("tick")
@with_appcontext
def tick_command() -> None:
    """Run the periodic jobs once: expire listings and holds, confirm due claims, remind, deliver messages.

    Safe to run from cron every few minutes, and twice at once."""
    report = run_tick(Database(_engine()), transport=transport_from_settings(current_app.config))
    click.echo(report.summary())


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing (and say so) when the database holds a community already.")
@with_appcontext
def demo_command(if_empty: bool) -> None:
    """Create the demo community "Buurtbank Oosterpark" with a few months of history, and print its logins."""
    database = Database(_engine())
    if if_empty and database.read(communities.visible_communities, actor=Actor.system_job("demo")):
        click.echo("The database holds a community already; no demo data added.")
        if demo_exists(database):
            click.echo(_demo_login_hints(DEMO_LOGINS))
        return
    if demo_exists(database):
        raise click.ClickException("The demo community exists already.")
    with click.progressbar(length=100, label="Building Buurtbank Oosterpark", file=sys.stderr) as bar:
        shown = 0

        def progress(done: int, total: int) -> None:
            nonlocal shown
            percent = done * 100 // max(total, 1)
            bar.update(percent - shown)
            shown = percent

        logins = create_demo(database, progress=progress)
    click.echo(f"{logins.community_name} is ready, with {logins.exchanges} exchanges of history.")
    click.echo(_demo_login_hints(logins))


def _demo_login_hints(logins) -> str:
    return (
        f"Log in to the web front (/login) or the API with password {logins.password!r} as:\n"
        f"  a member:         {logins.member_email}\n"
        f"  a coordinator:    {logins.coordinator_email}\n"
        f"  an administrator: {logins.administrator_email}"
    )


@click.command("create-admin")
@click.argument("email")
@click.password_option(help="The new administrator's password (asked for when not given).")
@click.option("--language", type=click.Choice(["nl", "en"]), default="nl", show_default=True)
@with_appcontext
def create_admin_command(email: str, password: str, language: str) -> None:
    """Create an administrator of the installation, who can then create communities."""
    try:
        user = Database(_engine()).run(
            members.create_administrator, email=email, password=password, preferred_language=language
        )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Administrator {user.email} created.")


main = FlaskGroup(
    name="timebank",
    help="Run and look after a Timebank service. Configured by TIMEBANK_ environment variables.",
    create_app=create_cli_app,
    load_dotenv=False,
    set_debug_flag=False,
)
main.add_command(db)
main.add_command(verify_command)
main.add_command(backup_command)
main.add_command(tick_command)
main.add_command(demo_command)
main.add_command(create_admin_command)
