"""In development (`make run`) there is no cron for `timebank tick`: mail is delivered to the console at once."""

from __future__ import annotations

import logging

import pytest

import ledger
from tests.web.conftest import make_web_app, submit
from tests.world import build_world
from timebank.database import Database


@pytest.fixture
def quiet_world(fresh_database):
    """A world on a database of its own, whose outbox holds no other test's mail (the shared database's outbox
    holds every earlier test's, which would all go out with this request)."""
    engine = ledger.create_engine(fresh_database)
    yield build_world(Database(engine))
    engine.dispose()


def test_a_forgotten_password_link_shows_in_the_console_in_development(fresh_database, quiet_world, tmp_path, caplog):
    app = make_web_app(fresh_database, tmp_path / "instance", ENV="development")
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="timebank.mail"):
        answer = submit(client, "/password/forgotten", data={"email": quiet_world.ans.user.email})
    app.extensions["timebank"].engine.dispose()
    assert answer.status_code == 302
    mails = [record.getMessage() for record in caplog.records if record.name == "timebank.mail"]
    resets = [mail for mail in mails if "/password/reset/" in mail and quiet_world.ans.user.email in mail]
    assert len(resets) == 1


def test_outside_development_the_mail_waits_for_the_tick(make_app, world, caplog):
    client = make_app().test_client()
    with caplog.at_level(logging.INFO, logger="timebank.mail"):
        submit(client, "/password/forgotten", data={"email": world.ans.user.email})
    assert not [record for record in caplog.records if record.name == "timebank.mail"], "queued in the outbox"
