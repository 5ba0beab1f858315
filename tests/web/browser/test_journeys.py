"""The two journeys of issue 5, in real Chromium, with axe-core and the 360 px check on every page they show.

A neighbour: applies to join, is admitted by a coordinator, posts a request; another member responds, the time
is recorded and confirmed, both home pages show the new balances, and the thank-you note is shown.
A coordinator: records an exchange for a member who is not online, reverses that mistake, runs a group event
and downloads the report's CSV.

The people read English here (the browser asks for it and their settings say so), so that a better Dutch
wording never breaks a journey; the Dutch pages are checked by the view tests.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.web.browser.conftest import log_in_as
from tests.world import PASSWORD
from timebank import balances, members
from timebank.messages import hours_and_minutes

NEWCOMER_EMAIL = "noor.newcomer@example.org"
NEWCOMER_PASSWORD = "a long and unusual passphrase 2026"


def _english(world, *people) -> None:
    for person in people:
        world.db.run(members.update_user_settings, actor=person.actor, preferred_language="en")


def _balance(world, person) -> int:
    figures = world.db.read(balances.member_balance, actor=world.coordinator.actor, membership_id=person.id).figures
    return figures.balance_minutes


def hours_shown(minutes: int) -> str:
    return hours_and_minutes(minutes, "en")


def _choose(page, select_name: str, text: str) -> None:
    """Choose the option of a select whose text contains ``text``."""
    option = page.locator(f"select[name={select_name}] option", has_text=text).first
    page.locator(f"select[name={select_name}]").select_option(option.get_attribute("value"))


def _click(page, look_at, name: str, *, role: str = "button") -> None:
    page.get_by_role(role, name=name).first.click()
    page.wait_for_load_state("load")
    look_at(page)


def test_a_neighbours_journey_from_applying_to_a_thank_you(new_browser, look_at, world):
    _english(world, world.coordinator, world.bert)
    slug = world.community.slug
    bert_before = _balance(world, world.bert)

    # A visitor finds the time bank and applies.
    noor = new_browser("en")
    noor.goto("/")
    look_at(noor)
    noor.goto(f"/join?search={slug}")
    look_at(noor)
    _click(noor, look_at, world.community.name, role="link")
    noor.locator("input[name=display_name]").fill("Noor Bakker")
    noor.locator("input[name=email]").fill(NEWCOMER_EMAIL)
    noor.locator("input[name=password]").fill(NEWCOMER_PASSWORD)
    noor.locator("input[name=password_again]").fill(NEWCOMER_PASSWORD)
    noor.locator("input[name=neighbourhood]").fill("Oosterpark")
    noor.locator("textarea[name=note]").fill("I like cooking and fixing bikes.")
    noor.locator("input[name=agree_rules]").check()
    _click(noor, look_at, "Send my application")
    assert "waiting" in noor.content().lower()

    # A coordinator admits her.
    carla = new_browser("en")
    log_in_as(carla, world.coordinator.user.email, PASSWORD)
    carla.goto(f"/c/{slug}/coordinate")
    look_at(carla)
    _click(carla, look_at, "Applicants", role="link")
    _click(carla, look_at, "Admit Noor Bakker")

    # Noor's home shows her welcome credit; she posts a request.
    noor.goto(f"/c/{slug}/")
    look_at(noor)
    assert "Welcome" in noor.content() or "2 h" in noor.content()
    welcome = world.community.welcome_credit_minutes
    before = noor.locator(".balance").first.inner_text()
    _click(noor, look_at, "Post a request or an offer", role="link")
    noor.locator("input[name=kind][value=request]").check()
    noor.locator("input[name=title]").fill("Help carrying a cupboard upstairs")
    noor.locator("textarea[name=description]").fill("A small cupboard, third floor, no lift.")
    noor.locator("select[name=category]").select_option(str(world.categories["klussen"]))
    noor.locator("input[name='estimated-hours']").fill("1")
    _click(noor, look_at, "Post it")
    listing_url = noor.url
    assert "Help carrying a cupboard upstairs" in noor.content()

    # Bert responds from the listings.
    bert = new_browser("en")
    log_in_as(bert, world.bert.user.email, PASSWORD)
    bert.goto(f"/c/{slug}/listings")
    look_at(bert)
    _click(bert, look_at, "Help carrying a cupboard upstairs", role="link")
    assert bert.url == listing_url
    _click(bert, look_at, "Yes, I would like to help")
    exchange_url = bert.url
    assert "/exchanges/" in exchange_url

    # Noor accepts Bert; Bert records the hour; Noor confirms it.
    noor.goto(exchange_url)
    look_at(noor)
    _click(noor, look_at, re.compile("Accept .* as the helper|Agree to this exchange"))
    bert.goto(exchange_url)
    look_at(bert)
    bert.locator("input[name='duration-hours']").fill("1")
    bert.locator("input[name='duration-minutes']").fill("15")
    _click(bert, look_at, "Record the time")
    noor.goto(f"/c/{slug}/")
    look_at(noor)
    _click(noor, look_at, re.compile("Help carrying a cupboard upstairs"), role="link")
    _click(noor, look_at, "Yes, confirm 1 h 15 min")

    # Both balances changed, on both home pages.
    assert _balance(world, world.bert) == bert_before + 75
    bert.goto(f"/c/{slug}/")
    look_at(bert)
    assert hours_shown(bert_before + 75) in bert.locator(".balance").first.inner_text()
    noor.goto(f"/c/{slug}/")
    after = noor.locator(".balance").first.inner_text()
    assert hours_shown(welcome) in before and hours_shown(welcome - 75) in after, (before, after)

    # Noor says thank you; Bert sees it.
    noor.goto(exchange_url)
    noor.locator("textarea[name=thank_you_text]").fill("Thank you, Bert! The cupboard looks great.")
    _click(noor, look_at, "Send my thank-you note")
    bert.goto(exchange_url)
    look_at(bert)
    assert "The cupboard looks great." in bert.content()
    bert.goto(f"/c/{slug}/")
    assert "The cupboard looks great." in bert.content()
    assert len(look_at.checked) >= 20


def test_a_coordinators_journey_of_corrections_and_a_group_event(new_browser, look_at, world):
    _english(world, world.coordinator)
    slug = world.community.slug
    carla = new_browser("en")
    log_in_as(carla, world.coordinator.user.email, PASSWORD)
    carla.goto(f"/c/{slug}/coordinate")
    look_at(carla)

    # A member who is not online comes to the desk.
    carla.goto(f"/c/{slug}/coordinate/members/offline")
    look_at(carla)
    carla.locator("input[name=display_name]").fill("Mevrouw Stins")
    carla.locator("input[name=neighbourhood]").fill("Dapperbuurt")
    _click(carla, look_at, "Add the member")

    # She helped Ans for an hour; Carla records it for both, but types 10 hours by mistake.
    ans_before = _balance(world, world.ans)
    carla.goto(f"/c/{slug}/coordinate/record")
    look_at(carla)
    _choose(carla, "helper", "Mevrouw Stins")
    _choose(carla, "helped", world.ans.membership.display_name)
    carla.locator("input[name='duration-hours']").fill("10")
    carla.locator("select[name=category]").select_option(str(world.categories["boodschappen"]))
    carla.locator("input[name=description]").fill("Boodschappen gedaan")
    _click(carla, look_at, "Record the exchange")
    assert _balance(world, world.ans) == ans_before - 600, "the mistake went through"

    # The mistake is reversed with a reason.
    carla.goto(f"/c/{slug}/coordinate/reverse")
    look_at(carla)
    _click(carla, look_at, re.compile("Check and reverse number"), role="link")
    carla.locator("textarea[name=reason], input[name=reason]").first.fill("Typed 10 hours instead of 1")
    _click(carla, look_at, re.compile("Reverse"))
    assert _balance(world, world.ans) == ans_before

    # A group event: the neighbourhood clean-up credits three members from the pot.
    carla.goto(f"/c/{slug}/coordinate/pot")
    look_at(carla)
    group = carla.locator("form[action$='/pot/group-event']")
    group.locator("input[name$=event_name]").fill("Buurtschoonmaak")
    for person in (world.ans, world.bert, world.cor):
        group.locator(f"input[name$=participants][value='{person.id}']").check()
    group.locator("input[name$='amount-hours']").fill("2")
    group.locator("input[name$=source][value=issuance]").check()
    before = {person.id: _balance(world, person) for person in (world.ans, world.bert, world.cor)}
    _click(carla, look_at, "Credit the participants")
    for person in (world.ans, world.bert, world.cor):
        assert _balance(world, person) == before[person.id] + 120

    # The report, and its CSV.
    carla.goto(f"/c/{slug}/coordinate/report")
    look_at(carla)
    assert carla.locator("svg[role=img]").count() >= 3
    with carla.expect_download() as download_info:
        carla.get_by_role("link", name=re.compile("CSV")).click()
    download = download_info.value
    content = Path(download.path()).read_text(encoding="utf-8")
    assert download.suggested_filename.endswith(".csv") and content.count("\n") >= 2
