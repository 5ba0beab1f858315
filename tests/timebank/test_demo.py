"""The demo community is built through the real use cases and obeys every rule."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import ledger
from ledger.database import create_engine
from timebank import demo, errors, members
from timebank.database import Database
from timebank.models import Exchange, Listing, Membership, ThankYou


@pytest.fixture
def demo_database(fresh_database):
    engine = create_engine(fresh_database)
    yield Database(engine)
    engine.dispose()


def count(database, query):
    return database.read(lambda *, session: session.execute(query).scalar_one())


def test_the_demo_community_is_alive_and_its_books_verify(demo_database):
    progress = []
    logins = demo.create_demo(demo_database, seed=7, progress=lambda done, total: progress.append((done, total)))
    assert progress[-1][0] == progress[-1][1] and len(progress) > 100
    assert count(demo_database, sa.select(sa.func.count()).select_from(Membership)) >= 40
    assert count(demo_database, sa.select(sa.func.count()).where(Listing.status == "open")) >= 10
    confirmed = count(demo_database, sa.select(sa.func.count()).where(Exchange.status == "confirmed"))
    assert confirmed >= 30 and logins.exchanges >= confirmed
    assert count(demo_database, sa.select(sa.func.count()).select_from(ThankYou)) >= 10
    report = demo_database.read(lambda *, session: ledger.verify(session))
    assert report.ok, report.summary()
    for email in (logins.member_email, logins.coordinator_email, logins.administrator_email):
        assert demo_database.run(members.authenticate, email=email, password=logins.password) is not None
    with pytest.raises(errors.Conflict):
        demo.create_demo(demo_database)
