"""In development (`make run`) there is no cron for `timebank tick`: mail is delivered to the console at once."""

from __future__ import annotations

import logging

from tests.web.conftest import submit
from timebank import notifications


class _Nowhere:
    def send(self, email) -> None:
        pass


def test_a_forgotten_password_link_shows_in_the_console_in_development(make_app, world, caplog):
    app = make_app(ENV="development")
    # The shared test database holds every earlier test's queued mail: send it nowhere first, so that what this
    # request delivers is this test's own.
    while notifications.deliver_due(world.db, now=None, transport=_Nowhere(), batch_size=1000).emails_sent:
        pass
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="timebank.mail"):
        answer = submit(client, "/password/forgotten", data={"email": world.ans.user.email})
    assert answer.status_code == 302
    mails = [record.getMessage() for record in caplog.records if record.name == "timebank.mail"]
    # Other tests' queued mail on the shared database goes out too: look for Ans's reset link among it.
    resets = [mail for mail in mails if "/password/reset/" in mail and world.ans.user.email in mail]
    assert len(resets) == 1


def test_outside_development_the_mail_waits_for_the_tick(make_app, world, caplog):
    client = make_app().test_client()
    with caplog.at_level(logging.INFO, logger="timebank.mail"):
        submit(client, "/password/forgotten", data={"email": world.ans.user.email})
    assert not [record for record in caplog.records if record.name == "timebank.mail"], "queued in the outbox"
