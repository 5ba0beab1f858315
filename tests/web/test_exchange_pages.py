"""A member's exchange pages: the list, one exchange with its steps and history, paying and claiming, and the
statement on screen, as CSV and printable; every step with its refusals."""

from __future__ import annotations

import csv
import io
import re
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape

from tests.web.conftest import csrf_token, sign_in, submit, text
from timebank import balances, exchanges, listings, members, payments
from timebank.models import ExchangeStatus
from timebank.web.pages import REFUSALS
from timebank.web.refusals import refusal_text

DUTCH_AND_ENGLISH_USERS = ("ans", "bert", "cor", "coordinator")


@pytest.fixture
def people(world):
    """The world's people read the pages in English (the texts the tests look for)."""
    for name in DUTCH_AND_ENGLISH_USERS:
        world.db.run(members.update_user_settings, actor=getattr(world, name).actor, preferred_language="en")
    return world


def client_for(web_app, person):
    client = web_app.test_client()
    sign_in(client, person.user.email)
    return client


def address(world, path: str) -> str:
    return f"/c/{world.community.slug}{path}"


def balance(world, person) -> int:
    found = world.db.read(balances.member_balance, actor=person.actor, membership_id=person.id)
    return found.figures.balance_minutes


def request_by(world, owner, *, category="boodschappen", title="Groceries on Saturday"):
    return world.db.run(
        listings.post_listing,
        actor=owner.actor,
        community_id=world.community_id,
        kind="request",
        title=title,
        category_id=world.categories[category],
        estimated_minutes=60,
    )


def response_to(world, listing, helper):
    return world.db.run(exchanges.respond_to_listing, actor=helper.actor, listing_id=listing.id, message="Happy to")


def agreed(world, *, helper, helped):
    exchange = response_to(world, request_by(world, helped), helper)
    return world.db.run(exchanges.agree_exchange, actor=helped.actor, exchange_id=exchange.id)


def recorded(world, *, helper, helped, minutes=90):
    exchange = agreed(world, helper=helper, helped=helped)
    return world.db.run(payments.record_minutes, actor=helper.actor, exchange_id=exchange.id, minutes=minutes)


def exchange_status(world, exchange_id) -> str:
    return world.db.read(exchanges.get_exchange, actor=world.coordinator.actor, exchange_id=exchange_id).exchange.status


def step(client, world, exchange_id, name, data=None, follow=True):
    page = address(world, f"/exchanges/{exchange_id}")
    return submit(client, page, action=f"{page}/{name}", data=data or {}, follow_redirects=follow)


def error_next_to(page: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    assert found, f"no message next to {field_id}"
    return found.group(1)


def refusal(web_app, world, use_case, **arguments) -> str:
    """What a page says (in English, as HTML) for the refusal ``use_case`` gives now; refused, it changes nothing."""
    with pytest.raises(REFUSALS) as refused:
        world.db.run(use_case, **arguments)
    with web_app.test_request_context("/", headers={"Accept-Language": "en"}):
        return str(escape(refusal_text(refused.value)))


def problem_on(page: str) -> str:
    found = re.search(r'<p class="problem" role="alert">([^<]*)</p>', page)
    assert found, "no problem said above the steps"
    return found.group(1)


def forms_on(page: str) -> set[str]:
    """The steps the page offers: the last part of every form's action."""
    return set(re.findall(r'<form method="post" action="/c/[^"]+/exchanges/\d+/([a-z-]+)"', page))


# --- a whole exchange ---------------------------------------------------------------------------------------------


def test_a_whole_exchange_through_the_pages_moves_the_time_and_ends_with_a_thank_you(web_app, people):
    world = people
    exchange = response_to(world, request_by(world, world.ans), world.bert)
    ans, bert = client_for(web_app, world.ans), client_for(web_app, world.bert)

    listed = text(ans.get(address(world, "/exchanges")))
    in_progress, finished = listed.split("<h2>In progress</h2>")[1].split("<h2>Finished</h2>")
    assert "Groceries on Saturday" in in_progress and "Bert helps you" in in_progress
    assert "Waiting for you to agree." in in_progress and "No finished exchanges yet." in finished
    page = text(ans.get(address(world, f"/exchanges/{exchange.id}")))
    assert "Bert responded." in page and "“Happy to”" in page
    assert forms_on(page) == {"agree", "cancel"}

    agreed_page = text(step(ans, world, exchange.id, "agree"))
    assert "You agreed." in agreed_page and "Agreed. When the help is done" in agreed_page
    assert "Ans agreed." in agreed_page

    bert_page = text(bert.get(address(world, f"/exchanges/{exchange.id}")))
    assert forms_on(bert_page) == {"record", "cancel"}
    data = {"duration-hours": "1", "duration-minutes": "30", "note": "Two bags from the market"}
    recorded_page = text(step(bert, world, exchange.id, "record", data))
    assert "The time is recorded. Waiting for Ans to confirm it." in recorded_page
    assert "Bert recorded the time." in recorded_page and "“Two bags from the market”" in recorded_page
    assert forms_on(recorded_page) == set()

    confirm_page = text(ans.get(address(world, f"/exchanges/{exchange.id}")))
    assert forms_on(confirm_page) == {"confirm", "dispute"} and "Yes, confirm 1 h 30 min" in confirm_page
    confirmed_page = text(step(ans, world, exchange.id, "confirm"))
    assert "Confirmed: the time is paid." in confirmed_page and "Done: the time is paid." in confirmed_page
    assert (balance(world, world.ans), balance(world, world.bert)) == (120 - 90, 120 + 90)

    assert forms_on(confirmed_page) == {"thank"}
    thanked = text(step(ans, world, exchange.id, "thank", {"thank_you_text": "Thank you, Bert!"}))
    assert "Your thank-you note is sent." in thanked and "Thank you, Bert!" in thanked and forms_on(thanked) == set()
    bert_sees = text(bert.get(address(world, f"/exchanges/{exchange.id}")))
    assert "Thank-you note" in bert_sees and "Thank you, Bert!" in bert_sees and "From Ans" in bert_sees
    finished = text(bert.get(address(world, "/exchanges"))).split("<h2>Finished</h2>")[1]
    assert "You helped Ans" in finished and "1 h 30 min" in finished and "Done: the time is paid." in finished


def test_finished_exchanges_are_shown_page_after_page_after_those_in_progress(web_app, people, monkeypatch):
    from timebank.web import exchange_pages

    monkeypatch.setattr(exchange_pages, "FINISHED_PAGE_SIZE", 1)
    world = people
    going = response_to(world, request_by(world, world.ans), world.bert)
    first, second = pay(world, world.ans, world.bert, 10, "Soup"), pay(world, world.ans, world.cor, 20, "Bread")
    ans = client_for(web_app, world.ans)
    newest = text(ans.get(address(world, "/exchanges")))
    assert newest.index(f"/exchanges/{going.id}") < newest.index(f"/exchanges/{second.id}")
    assert f"/exchanges/{first.id}" not in newest and "You paid" not in newest and "Cor helped you" in newest
    older = re.search(r'href="([^"]+before=\d+)">Older finished exchanges', newest).group(1)
    page = text(ans.get(older))
    assert f'/exchanges/{first.id}">Soup' in page and "Bert helped you" in page and "Newest finished exchanges" in page


def test_the_history_is_in_the_communitys_time_zone(web_app, people):
    world = people
    exchange = response_to(world, request_by(world, world.ans), world.bert)
    moment = world.db.read(exchanges.get_exchange, actor=world.ans.actor, exchange_id=exchange.id).events[0].at
    page = text(client_for(web_app, world.ans).get(address(world, f"/exchanges/{exchange.id}")))
    local = moment.astimezone(ZoneInfo(world.community.time_zone))
    assert f"{local:%H:%M}" in page and f'datetime="{moment.isoformat()}"' in page


def test_every_kind_of_step_in_the_history_is_said_in_words_never_as_a_code_word(web_app):
    from datetime import UTC, datetime

    from timebank.corrections import EXCHANGE_REVERSED
    from timebank.models import ExchangeEvent
    from timebank.tick import REMINDER_EVENT
    from timebank.web.exchange_pages import history

    kinds = [kind.value for kind in exchanges.EventKind]
    kinds += [EXCHANGE_REVERSED, REMINDER_EVENT, ExchangeStatus.CANCELLED.value, ExchangeStatus.VOIDED.value]
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for language in ("en", "nl"):
        with web_app.test_request_context("/", headers={"Accept-Language": language}):
            for actor in (7, None):
                events = [
                    ExchangeEvent(community_id=1, exchange_id=1, actor_membership_id=actor, kind=kind, at=at)
                    for kind in [*kinds, "something_new"]
                ]
                said = [line.text for line in history(events, {7: "Ans"})]
                assert all(line and "%(" not in line for line in said), said
                codes = [kind.replace("_", " ") for kind in [*kinds, "something_new"] if "_" in kind]
                assert not [line for line in said for code in codes if code in line], said
    with web_app.test_request_context("/", headers={"Accept-Language": "en"}):
        unknown = ExchangeEvent(community_id=1, exchange_id=1, actor_membership_id=None, kind="something_new", at=at)
        assert history([unknown], {})[0].text == "Something changed in this exchange."
        reminded = ExchangeEvent(community_id=1, exchange_id=1, actor_membership_id=None, kind=REMINDER_EVENT, at=at)
        assert "reminded" not in history([reminded], {})[0].text


def test_exchange_pages_are_personal_and_not_kept_by_caches(web_app, people):
    world = people
    exchange = response_to(world, request_by(world, world.ans), world.bert)
    ans = client_for(web_app, world.ans)
    for path in ("/exchanges", f"/exchanges/{exchange.id}", "/pay", "/claim", "/statement", "/statement/print"):
        response = ans.get(address(world, path))
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_a_visitor_is_sent_to_the_login_page(web_app, people):
    response = web_app.test_client().get(address(people, "/exchanges"))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- who may see an exchange ----------------------------------------------------------------------------------


def test_another_member_sees_404_on_my_exchange_and_a_coordinator_sees_it_without_steps(web_app, people, other_world):
    world = people
    exchange = response_to(world, request_by(world, world.ans), world.bert)
    cor = client_for(web_app, world.cor)
    assert cor.get(address(world, f"/exchanges/{exchange.id}")).status_code == 404
    assert step(cor, world, exchange.id, "agree", follow=False).status_code == 404
    assert cor.get(address(world, "/exchanges/999999")).status_code == 404
    neighbour = client_for(web_app, other_world.ans)
    assert neighbour.get(address(other_world, f"/exchanges/{exchange.id}")).status_code == 404
    assert neighbour.get(address(world, f"/exchanges/{exchange.id}")).status_code == 404
    coordinator = text(client_for(web_app, world.coordinator).get(address(world, f"/exchanges/{exchange.id}")))
    assert "You see this exchange as a coordinator." in coordinator and "Bert helps Ans" in coordinator
    assert forms_on(coordinator) == set()
    assert exchange_status(world, exchange.id) == ExchangeStatus.PROPOSED


# --- refusals of the steps --------------------------------------------------------------------------------------


def test_recording_needs_a_duration_and_keeps_what_was_typed(web_app, people):
    world = people
    exchange = agreed(world, helper=world.bert, helped=world.ans)
    bert = client_for(web_app, world.bert)
    response = step(bert, world, exchange.id, "record", {"duration-hours": "", "note": "Bike lights"})
    page = text(response)
    assert response.status_code == 200
    assert error_next_to(page, "duration") == "Fill in how long: hours, minutes or both."
    assert 'value="Bike lights"' in page
    too_long = refusal(
        web_app, world, payments.record_minutes, actor=world.bert.actor, exchange_id=exchange.id, minutes=13 * 60
    )
    response = step(bert, world, exchange.id, "record", {"duration-hours": "13"})
    assert error_next_to(text(response), "duration") == too_long
    assert exchange_status(world, exchange.id) == ExchangeStatus.AGREED


def test_recording_past_the_helped_members_floor_is_refused_with_the_figures_next_to_the_time(web_app, people):
    world = people
    exchange = agreed(world, helper=world.bert, helped=world.ans)
    world.db.run(
        members.set_member_limits,
        actor=world.coordinator.actor,
        membership_id=world.ans.id,
        floor_minutes=-60,
        ceiling_minutes=2400,
        reason="new member",
    )
    expected = refusal(
        web_app, world, payments.record_minutes, actor=world.bert.actor, exchange_id=exchange.id, minutes=240
    )
    response = step(client_for(web_app, world.bert), world, exchange.id, "record", {"duration-hours": "4"})
    assert response.status_code == 200
    next_to_the_time = error_next_to(text(response), "duration")
    assert next_to_the_time == expected and "3 h" in next_to_the_time  # what can still be paid
    assert re.search(r'id="duration-hours"[^>]*value="4"', text(response))
    assert exchange_status(world, exchange.id) == ExchangeStatus.AGREED
    assert balance(world, world.ans) == 120


def test_a_step_someone_else_took_meanwhile_is_refused_and_the_page_shows_the_exchange_as_it_now_is(web_app, people):
    world = people
    exchange = recorded(world, helper=world.bert, helped=world.ans)
    ans = client_for(web_app, world.ans)
    page = address(world, f"/exchanges/{exchange.id}")
    opened = text(ans.get(page))
    assert "confirm" in forms_on(opened)
    world.db.run(payments.confirm_exchange, actor=world.ans.actor, exchange_id=exchange.id)  # in another tab
    expected = refusal(web_app, world, payments.confirm_exchange, actor=world.ans.actor, exchange_id=exchange.id)
    response = ans.post(f"{page}/confirm", data={"csrf_token": csrf_token(opened)})
    refused = text(response)
    assert response.status_code == 200
    assert problem_on(refused) == expected and "Done: the time is paid." in refused
    moved_on = text(ans.post(f"{page}/dispute", data={"csrf_token": csrf_token(opened), "dispute_reason": ""}))
    assert problem_on(moved_on) == "This step is no longer possible. The page shows where the exchange stands now."
    assert forms_on(refused) == {"thank"}
    assert (balance(world, world.ans), balance(world, world.bert)) == (30, 210)


def test_the_member_who_recorded_the_time_cannot_confirm_it(web_app, people):
    world = people
    exchange = recorded(world, helper=world.bert, helped=world.ans)
    bert = client_for(web_app, world.bert)
    assert forms_on(text(bert.get(address(world, f"/exchanges/{exchange.id}")))) == set()
    expected = refusal(web_app, world, payments.confirm_exchange, actor=world.bert.actor, exchange_id=exchange.id)
    response = step(bert, world, exchange.id, "confirm")
    assert response.status_code == 200 and problem_on(text(response)) == expected
    assert exchange_status(world, exchange.id) == ExchangeStatus.RECORDED


def test_a_dispute_needs_a_reason_and_then_waits_for_a_coordinator(web_app, people):
    world = people
    exchange = recorded(world, helper=world.bert, helped=world.ans)
    ans = client_for(web_app, world.ans)
    response = step(ans, world, exchange.id, "dispute", {"dispute_reason": "  "})
    assert response.status_code == 200
    assert error_next_to(text(response), "dispute_reason") == "Say what is not right, so that a coordinator can help."
    assert "<details open>" in text(response)
    assert exchange_status(world, exchange.id) == ExchangeStatus.RECORDED
    disputed = text(step(ans, world, exchange.id, "dispute", {"dispute_reason": "It took one hour, not 1.5"}))
    assert "A coordinator will contact you." in disputed and "Ans said the time is not right." in disputed
    assert "“It took one hour, not 1.5”" in disputed and forms_on(disputed) == set()
    bert_sees = text(client_for(web_app, world.bert).get(address(world, f"/exchanges/{exchange.id}")))
    assert "A coordinator will sort it out." in bert_sees and forms_on(bert_sees) == set()
    assert exchange_status(world, exchange.id) == ExchangeStatus.DISPUTED
    assert balance(world, world.ans) == 120
    world.db.run(
        payments.settle_dispute,
        actor=world.coordinator.actor,
        exchange_id=exchange.id,
        outcome="change",
        minutes=60,
        reason="Talked with both",
    )
    settled = text(ans.get(address(world, f"/exchanges/{exchange.id}")))
    assert "Carla, a coordinator, settled it." in settled and "“Talked with both”" in settled
    assert "Done: the time is paid." in settled and "Time: 1 h" in settled and forms_on(settled) == {"thank"}
    assert (balance(world, world.ans), balance(world, world.bert)) == (60, 180)


def test_either_member_calls_an_exchange_off_with_a_reason_until_the_time_is_recorded(web_app, people):
    world = people
    exchange = agreed(world, helper=world.bert, helped=world.ans)
    bert = client_for(web_app, world.bert)
    too_long = step(bert, world, exchange.id, "cancel", {"cancel_reason": "x" * 501})
    assert error_next_to(text(too_long), "cancel_reason") == "At most 500 characters."
    cancelled = text(step(bert, world, exchange.id, "cancel", {"cancel_reason": "My bike broke down"}))
    assert "The exchange is called off." in cancelled and "Called off." in cancelled
    assert "Bert called it off." in cancelled and "“My bike broke down”" in cancelled
    assert forms_on(cancelled) == set()
    again = step(bert, world, exchange.id, "cancel", {"cancel_reason": ""})
    expected = refusal(web_app, world, exchanges.cancel_exchange, actor=world.bert.actor, exchange_id=exchange.id)
    assert again.status_code == 200 and problem_on(text(again)) == expected
    recorded_one = recorded(world, helper=world.cor, helped=world.ans)
    cor = client_for(web_app, world.cor)
    assert "cancel" not in forms_on(text(cor.get(address(world, f"/exchanges/{recorded_one.id}"))))
    late = step(cor, world, recorded_one.id, "cancel", {"cancel_reason": ""})
    expected = refusal(web_app, world, exchanges.cancel_exchange, actor=world.cor.actor, exchange_id=recorded_one.id)
    assert problem_on(text(late)) == expected
    assert exchange_status(world, recorded_one.id) == ExchangeStatus.RECORDED


def test_a_thank_you_is_for_the_helped_member_once_after_confirmation(web_app, people):
    world = people
    exchange = recorded(world, helper=world.bert, helped=world.ans)
    ans = client_for(web_app, world.ans)
    thanks = {"thank_you_text": "Thanks"}
    early = step(ans, world, exchange.id, "thank", thanks)
    expected = refusal(
        web_app, world, exchanges.thank_helper, actor=world.ans.actor, exchange_id=exchange.id, text="Thanks"
    )
    assert problem_on(text(early)) == expected
    world.db.run(payments.confirm_exchange, actor=world.ans.actor, exchange_id=exchange.id)
    empty = step(ans, world, exchange.id, "thank", {"thank_you_text": "   "})
    assert error_next_to(text(empty), "thank_you_text") == "Write a few words of thanks."
    helper = step(client_for(web_app, world.bert), world, exchange.id, "thank", thanks)
    expected = refusal(
        web_app, world, exchanges.thank_helper, actor=world.bert.actor, exchange_id=exchange.id, text="Thanks"
    )
    assert problem_on(text(helper)) == expected
    step(ans, world, exchange.id, "thank", {"thank_you_text": "Thanks a lot"})
    twice = text(step(ans, world, exchange.id, "thank", {"thank_you_text": "Thanks again"}))
    assert problem_on(twice) and twice.count("Thanks a lot") == 1 and forms_on(twice) == set()


def test_for_a_task_with_children_the_parent_accepts_the_helper_before_agreeing(web_app, people):
    world = people
    exchange = response_to(world, request_by(world, world.ans, category="oppassen", title="Babysit Friday"), world.bert)
    ans, bert = client_for(web_app, world.ans), client_for(web_app, world.bert)
    parent = text(ans.get(address(world, f"/exchanges/{exchange.id}")))
    assert forms_on(parent) == {"accept-helper", "cancel"} and "Accept Bert as the helper" in parent
    helper = text(bert.get(address(world, f"/exchanges/{exchange.id}")))
    assert forms_on(helper) == {"cancel"} and "Ans, the parent, first accepts you as the helper." in helper
    accepted = text(step(ans, world, exchange.id, "accept-helper"))
    assert "You accepted the helper." in accepted and forms_on(accepted) == {"agree", "cancel"}
    expected = refusal(web_app, world, exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id)
    refused = step(ans, world, exchange.id, "agree")
    assert refused.status_code == 200 and problem_on(text(refused)) == expected
    assert exchange_status(world, exchange.id) == ExchangeStatus.PROPOSED


# --- paying and claiming ----------------------------------------------------------------------------------------


def test_a_member_pays_another_directly_and_the_minutes_move_at_once(web_app, people):
    world = people
    ans = client_for(web_app, world.ans)
    form = text(ans.get(address(world, "/pay")))
    assert ">Bert (Dapperbuurt)<" in form and ">Ans (" not in form and ">Cor (Oosterpark)<" in form
    assert "Your balance: 2 h." in form and "You can pay at most 12 h now." in form
    assert ">Babysitting<" in form  # the parent may pay for help with children
    data = {
        "member": str(world.bert.id),
        "duration-hours": "1",
        "duration-minutes": "15",
        "category": str(world.categories["klussen"]),
        "description": "Fixed my bike",
    }
    response = submit(ans, address(world, "/pay"), data=data, follow_redirects=True)
    page = text(response)
    assert "You paid Bert 1 h 15 min." in page and "Fixed my bike" in page and "Done: the time is paid." in page
    assert "Ans paid directly." in page and "Kind of help: Odd jobs" in page and forms_on(page) == {"thank"}
    assert (balance(world, world.ans), balance(world, world.bert)) == (120 - 75, 120 + 75)


def test_paying_below_the_floor_is_refused_with_the_figures_next_to_the_amount_and_nothing_is_posted(web_app, people):
    world = people
    world.db.run(
        members.set_member_limits,
        actor=world.coordinator.actor,
        membership_id=world.ans.id,
        floor_minutes=-60,
        ceiling_minutes=2400,
        reason="new member",
    )
    ans = client_for(web_app, world.ans)
    data = {"member": str(world.bert.id), "duration-hours": "4", "description": "Painting"}
    expected = refusal(
        web_app, world, payments.pay_directly, actor=world.ans.actor, payee_membership_id=world.bert.id, minutes=240
    )
    response = submit(ans, address(world, "/pay"), data=data)
    page = text(response)
    assert response.status_code == 200
    next_to_the_amount = error_next_to(page, "duration")
    assert next_to_the_amount == expected and "3 h" in next_to_the_amount  # what can still be paid
    assert 'value="Painting"' in page and f'<option selected value="{world.bert.id}">' in page
    assert (balance(world, world.ans), balance(world, world.bert)) == (120, 120)
    listed = world.db.read(exchanges.list_exchanges, actor=world.ans.actor, community_id=world.community_id)
    assert listed.exchanges == []


def test_the_pay_form_refuses_what_is_missing_or_not_on_the_list(web_app, people, other_world):
    world = people
    ans = client_for(web_app, world.ans)
    empty = text(submit(ans, address(world, "/pay"), data={"member": ""}))
    assert error_next_to(empty, "member") == "Choose the member you pay."
    assert error_next_to(empty, "duration") == "Fill in how long: hours, minutes or both."
    for stranger in (other_world.bert.id, world.ans.id, "abc", "99999999999999999999"):
        page = text(submit(ans, address(world, "/pay"), data={"member": str(stranger), "duration-hours": "1"}))
        assert error_next_to(page, "member") in ("Choose a member from the list.", "Choose the member you pay.")
    too_long = text(submit(ans, address(world, "/pay"), data={"member": str(world.bert.id), "duration-minutes": "75"}))
    assert error_next_to(too_long, "duration") == "Between 0 and 59 minutes."
    babysitting = {"member": str(world.bert.id), "duration-hours": "1", "category": str(world.categories["oppassen"])}
    expected = refusal(
        web_app,
        world,
        payments.pay_directly,
        actor=world.ans.actor,
        payee_membership_id=world.bert.id,
        minutes=60,
        category_id=world.categories["oppassen"],
    )
    unchecked_helper = text(submit(ans, address(world, "/pay"), data=babysitting))
    assert error_next_to(unchecked_helper, "category") == expected
    assert balance(world, world.ans) == 120


def test_paying_twice_with_the_same_filled_in_form_pays_once(web_app, people):
    world = people
    ans = client_for(web_app, world.ans)
    form = text(ans.get(address(world, "/pay")))
    key = re.search(r'name="request_key" type="hidden" value="([0-9a-f]{32})"', form).group(1)
    data = {"member": str(world.bert.id), "duration-hours": "1", "request_key": key, "csrf_token": csrf_token(form)}
    first = ans.post(address(world, "/pay"), data=data)
    second = ans.post(address(world, "/pay"), data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert balance(world, world.bert) == 180


def test_a_claim_waits_for_the_helped_member_to_confirm_it(web_app, people):
    world = people
    bert = client_for(web_app, world.bert)
    form = text(bert.get(address(world, "/claim")))
    assert ">Ans (Oosterpark)<" in form and ">Babysitting<" not in form and ">Errands<" in form
    data = {"member": str(world.ans.id), "duration-hours": "2", "description": "Moved the sofa"}
    page = text(submit(bert, address(world, "/claim"), data=data, follow_redirects=True))
    assert "You asked Ans to pay 2 h. Ans confirms it." in page
    assert "The time is recorded. Waiting for Ans to confirm it." in page and "Bert asked to be paid" in page
    assert (balance(world, world.ans), balance(world, world.bert)) == (120, 120)
    listed = world.db.read(
        exchanges.list_exchanges, actor=world.ans.actor, community_id=world.community_id, which="waiting_for_me"
    )
    exchange_id = listed.exchanges[0].id
    ans = client_for(web_app, world.ans)
    assert forms_on(text(ans.get(address(world, f"/exchanges/{exchange_id}")))) == {"confirm", "dispute"}
    confirmed = text(step(ans, world, exchange_id, "confirm"))
    assert "Done: the time is paid." in confirmed
    assert (balance(world, world.ans), balance(world, world.bert)) == (0, 240)


def test_a_claim_above_the_helpers_ceiling_is_refused_with_the_figures(web_app, people):
    world = people
    world.db.run(
        members.set_member_limits,
        actor=world.coordinator.actor,
        membership_id=world.bert.id,
        floor_minutes=-600,
        ceiling_minutes=150,
        reason="test",
    )
    bert = client_for(web_app, world.bert)
    assert "You can receive at most 30 min now." in text(bert.get(address(world, "/claim")))
    expected = refusal(
        web_app, world, payments.claim_minutes, actor=world.bert.actor, payer_membership_id=world.ans.id, minutes=60
    )
    page = text(submit(bert, address(world, "/claim"), data={"member": str(world.ans.id), "duration-hours": "1"}))
    next_to_the_amount = error_next_to(page, "duration")
    assert next_to_the_amount == expected and "30 min" in next_to_the_amount  # what can still be received
    children = {"member": str(world.ans.id), "duration-hours": "1", "category": str(world.categories["oppassen"])}
    page = text(submit(bert, address(world, "/claim"), data=children))
    assert error_next_to(page, "category") == "Choose a kind of help from the list."  # not offered for a claim
    listed = world.db.read(exchanges.list_exchanges, actor=world.bert.actor, community_id=world.community_id)
    assert listed.exchanges == []


# --- the statement ----------------------------------------------------------------------------------------------


def pay(world, payer, payee, minutes, description=""):
    return world.db.run(
        payments.pay_directly,
        actor=payer.actor,
        payee_membership_id=payee.id,
        minutes=minutes,
        description=description,
    )


def test_the_statements_running_balance_ends_at_the_members_balance(web_app, people):
    world = people
    pay(world, world.ans, world.bert, 45, "Homework")
    pay(world, world.bert, world.ans, 30, "Soup")
    recorded(world, helper=world.cor, helped=world.ans, minutes=20)  # pending: not on the statement yet
    page = text(client_for(web_app, world.ans).get(address(world, "/statement")))
    balances_shown = re.findall(r'<td class="number amount">(-?[^<]*)</td>\s*</tr>', page)
    assert balances_shown[0] == "2 h" and balances_shown[-1] == "1 h 45 min"
    assert balance(world, world.ans) == 105
    assert "To Bert: Homework" in page and "From Bert: Soup" in page and "+30 min" in page and "-45 min" in page
    assert "Balance at the start of the month: 2 h." in page and "Balance at the end of the month: 1 h 45 min." in page
    assert 'scope="col"' in page and '<div class="table-wrap">' in page


def test_the_statement_goes_by_month_and_shows_the_welcome_credit_in_its_month(web_app, people):
    world = people
    ans = client_for(web_app, world.ans)
    march = text(ans.get(address(world, "/statement?month=2026-03")))
    assert "March 2026" in march and "Welcome credit" in march and "Next month: April 2026" in march
    assert "Previous month: February 2026" in march
    assert "Nothing came in or went out this month." in text(ans.get(address(world, "/statement?month=2026-02")))
    for bad in ("2026-13", "26-03", "2026-3", "march", "1999-01"):
        assert ans.get(address(world, f"/statement?month={bad}")).status_code == 404, bad
    this_month = text(ans.get(address(world, "/statement")))
    assert "Next month" not in this_month


def test_a_long_month_is_shown_page_after_page_with_the_balance_running_on(web_app, people, monkeypatch):
    from timebank.web import exchange_pages

    monkeypatch.setattr(exchange_pages, "STATEMENT_PAGE_SIZE", 2)
    world = people
    for minutes in (10, 20, 30):
        pay(world, world.ans, world.bert, minutes)
    ans = client_for(web_app, world.ans)
    first = text(ans.get(address(world, "/statement")))
    assert "Opening balance" in first and "Closing balance" not in first and "More of this month" in first
    more = re.search(r'href="([^"]+after=\d+)"', first).group(1).replace("&amp;", "&")
    second = text(ans.get(more))
    assert "Opening balance" not in second and "Closing balance" in second and ">1 h<" in second


def test_the_statement_downloads_as_csv_with_a_header_and_a_row_per_entry(web_app, people):
    world = people
    pay(world, world.ans, world.bert, 45, "=HYPERLINK(1)")
    pay(world, world.bert, world.ans, 30)
    response = client_for(web_app, world.ans).get(address(world, "/statement.csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"statement-{world.community.slug}-" in disposition
    rows = list(csv.reader(io.StringIO(text(response))))
    assert rows[0] == ["date", "description", "minutes", "hours", "balance_minutes", "balance_hours"]
    assert [row[1] for row in rows[1:]] == [
        "Opening balance",
        "exchange: =HYPERLINK(1) (with Bert)",
        "exchange (with Bert)",
        "Closing balance",
    ]
    assert [row[4] for row in rows[1:]] == ["120", "75", "105", "105"]


def test_the_printable_statement_has_no_menus_and_says_whose_what_period_and_balances(web_app, people):
    world = people
    pay(world, world.ans, world.bert, 45, "Homework")
    page = text(client_for(web_app, world.ans).get(address(world, "/statement/print?month=2026-03")))
    assert 'class="community-menu"' not in page and "<header" not in page and "Log out" not in page
    assert "Buurtbank Test" in page and "Statement of Ans de Vries" in page
    assert "Period: 1 Mar 2026 to 31 Mar 2026" in page
    assert "Opening balance: 0 min" in page and "Closing balance: 2 h" in page and "Welcome credit" in page
    assert page.count("<h1>") == 1


def test_pages_for_a_member_only_are_not_found_for_an_administrator_who_is_no_member(web_app, people):
    world = people
    administrator = client_for(web_app, world.admin)
    for path in ("/exchanges", "/pay", "/claim", "/statement", "/statement.csv", "/statement/print"):
        assert administrator.get(address(world, path)).status_code == 404, path


def test_every_page_and_step_reads_in_dutch_too(web_app, world):
    exchange = recorded(world, helper=world.bert, helped=world.ans)
    pay(world, world.ans, world.cor, 30, "Soep")
    ans = client_for(web_app, world.ans)  # Ans reads Dutch, the world's default
    for path in (
        "/exchanges",
        f"/exchanges/{exchange.id}",
        "/pay",
        "/claim",
        "/statement",
        "/statement?month=2026-03",
        "/statement/print",
    ):
        response = ans.get(address(world, path))
        assert response.status_code == 200 and '<html lang="nl">' in text(response), path
    page = text(step(ans, world, exchange.id, "confirm"))
    assert "1 u 30 min" in page and '<p class="done" role="status">' in page
    refused = submit(ans, address(world, "/pay"), data={"member": str(world.bert.id), "duration-hours": "12"})
    assert refused.status_code == 200 and "10 u" in error_next_to(text(refused), "duration")  # from 0 down to -10 h
