"""A coordinator's pages: who may open them, and every action with its refusals, on SQLite and PostgreSQL.

The coordinator reads the pages in English (their own setting), so that the texts checked here stay the same
once the Dutch catalog is complete.
"""

from __future__ import annotations

import html
import re

import pytest

import ledger
from tests.web.conftest import csrf_token, sign_in, submit, text
from tests.world import START, World, add_user
from timebank import members, payments, pot
from timebank.access import Actor
from timebank.models import Exchange, Membership

WELCOME = 120  # minutes: tests.world's communities give a welcome credit of two hours

# Every coordinator page and action: (method, address after /c/<slug>/coordinate). A test below checks that this
# list names every route of the blueprint, so a new page cannot slip past the access checks.
ROUTES = [
    ("GET", ""),
    ("GET", "/applicants"),
    ("POST", "/applicants/{member}/approve"),
    ("POST", "/applicants/{member}/decline"),
    ("GET", "/members"),
    ("GET", "/members/{member}"),
    ("POST", "/members/{member}/suspend"),
    ("POST", "/members/{member}/reinstate"),
    ("POST", "/members/{member}/limits"),
    ("POST", "/members/{member}/role"),
    ("GET", "/members/offline"),
    ("POST", "/members/offline"),
    ("GET", "/record"),
    ("POST", "/record"),
    ("GET", "/disputes"),
    ("POST", "/disputes/{exchange}/settle"),
    ("GET", "/reverse"),
    ("POST", "/reverse"),
    ("GET", "/pot"),
    ("POST", "/pot/donate"),
    ("POST", "/pot/grant"),
    ("POST", "/pot/group-event"),
]


# --- helpers --------------------------------------------------------------------------------------------------


def address(world: World, path: str = "", **ids) -> str:
    return f"/c/{world.community.slug}/coordinate{path.format(**ids)}"


def in_english(world: World, person) -> None:
    world.db.run(members.update_user_settings, actor=person.actor, preferred_language="en")


@pytest.fixture
def coordinator(client, world) -> World:
    """The world, with its coordinator logged in (reading English)."""
    in_english(world, world.coordinator)
    sign_in(client, world.coordinator.user.email)
    return world


def balance(world: World, person) -> int:
    return world.db.read(lambda *, session: ledger.get_account(session, person.account_id).balance)


def pot_balance(world: World) -> int:
    return world.db.read(lambda *, session: ledger.get_account(session, world.community.pot_account_id).balance)


def membership(world: World, membership_id: int) -> Membership:
    return world.db.read(lambda *, session: session.get(Membership, membership_id))


def account(world: World, membership_id: int):
    found = membership(world, membership_id)
    return world.db.read(lambda *, session: ledger.get_account(session, found.account_id))


SEE_THE_FIELDS = "Some fields need another look; see the messages next to them."


def problems(response) -> list[str]:
    """The refusals on a page, above a form and next to fields (without the note that points to the fields)."""
    found = re.findall(r'class="(?:problem|field-error)"[^>]*>([^<]*)<', text(response))
    return [html.unescape(problem) for problem in found if problem != SEE_THE_FIELDS]


def checked(response, name: str) -> list[str]:
    """The values of the checked boxes named ``name``."""
    boxes = re.findall(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', text(response))
    return [re.search(r'\bvalue="([^"]*)"', box).group(1) for box in boxes if re.search(r"\bchecked\b", box)]


def typed(response, name: str) -> str | None:
    """The value an input of the page holds: what was typed, shown again."""
    found = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', text(response))
    value = found and re.search(r'\bvalue="([^"]*)"', found.group(0))
    return html.unescape(value.group(1)) if value else None


def post_form(client, world: World, page: str, action: str, data: dict):
    """Submit a form of ``page`` (an address after /coordinate) to ``action``, as the browser would."""
    return submit(client, address(world, page), action=address(world, action), data=data)


def applicant(world: World, name: str = "Dilara Yilmaz", note: str = "Ik wil graag helpen met boodschappen."):
    user = add_user(world.db)
    return world.db.run(
        members.apply_to_join,
        actor=Actor.for_user(user),
        community_id=world.community_id,
        display_name=name,
        neighbourhood="Transvaal",
        note=note,
        now=START,
    )


def disputed_exchange(world: World, *, minutes: int = 180) -> Exchange:
    """Bert claims ``minutes`` from Ans; Ans disputes them."""
    claimed = world.db.run(
        payments.claim_minutes,
        actor=world.bert.actor,
        payer_membership_id=world.ans.id,
        minutes=minutes,
        description="boodschappen gedaan",
    )
    return world.db.run(
        payments.dispute_exchange, actor=world.ans.actor, exchange_id=claimed.id, reason="het was maar een uur"
    )


def paid(world: World, minutes: int = 60) -> Exchange:
    """Ans pays Bert ``minutes`` directly."""
    return world.db.run(
        payments.pay_directly, actor=world.ans.actor, payee_membership_id=world.bert.id, minutes=minutes
    )


# --- who may open the pages -----------------------------------------------------------------------------------


def test_the_list_of_routes_names_every_route_of_the_coordinator_pages(web_app):
    built = set()
    for rule in web_app.url_map.iter_rules():
        if rule.endpoint.startswith("coord."):
            path = re.sub(r"<[^>]*:membership_id>", "{member}", rule.rule)
            path = re.sub(r"<[^>]*:exchange_id>", "{exchange}", path)
            path = path.removeprefix("/c/<slug>/coordinate")
            built |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert built == set(ROUTES)


def _visit(client, world: World, method: str, path: str, *, exchange_id: int):
    target = address(world, path, member=world.ans.id, exchange=exchange_id)
    if method == "GET":
        return client.get(target)
    token = csrf_token(text(client.get("/")))
    return client.post(target, data={"csrf_token": token})


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_member_who_is_not_a_coordinator_is_refused_every_coordinator_page(client, world, method, path):
    exchange = disputed_exchange(world)
    sign_in(client, world.cor.user.email)
    before = balance(world, world.ans), membership(world, world.ans.id).status
    response = _visit(client, world, method, path, exchange_id=exchange.id)
    assert response.status_code == 403
    assert (balance(world, world.ans), membership(world, world.ans.id).status) == before


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_coordinator_of_another_community_finds_no_coordinator_page(client, world, other_world, method, path):
    exchange = disputed_exchange(world)
    sign_in(client, other_world.coordinator.user.email)
    response = _visit(client, world, method, path, exchange_id=exchange.id)
    assert response.status_code == 404


def test_a_visitor_is_sent_to_the_login_page(client, world):
    response = client.get(address(world, "/members"))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_administrator_who_is_no_member_may_coordinate_but_has_nothing_to_give_to_the_pot(client, world):
    in_english(world, world.admin)
    sign_in(client, world.admin.user.email)
    assert client.get(address(world)).status_code == 200
    page = text(client.get(address(world, "/pot")))
    assert "Give from the pot to a member" in page and "Give your own time to the pot" not in page


def test_coordinator_pages_are_not_stored_by_the_browser(client, coordinator):
    response = client.get(address(coordinator, "/members"))
    assert "no-store" in response.headers["Cache-Control"]


# --- the overview ---------------------------------------------------------------------------------------------


def test_the_overview_counts_what_waits_and_links_to_every_task(client, coordinator):
    world = coordinator
    applicant(world)
    disputed_exchange(world)
    page = text(client.get(address(world)))
    assert page.count("<h1>") == 1
    assert "1 waiting" in page and "1 open" in page
    assert "5 active, 0 suspended" in page  # the coordinator, the officer, Ans, Bert and Cor
    for path in ("/applicants", "/disputes", "/members", "/members/offline", "/record", "/reverse", "/pot"):
        assert f'href="{address(world, path)}"' in page


# --- applicants -----------------------------------------------------------------------------------------------


def test_admitting_an_applicant_gives_the_welcome_credit(client, coordinator):
    world = coordinator
    waiting = applicant(world)
    page = text(client.get(address(world, "/applicants")))
    assert "Dilara Yilmaz" in page and "Ik wil graag helpen met boodschappen." in page
    response = post_form(client, world, "/applicants", f"/applicants/{waiting.id}/approve", {})
    assert response.status_code == 302
    assert membership(world, waiting.id).status == "active"
    assert account(world, waiting.id).balance == WELCOME
    after = text(client.get(response.headers["Location"]))
    assert "Dilara Yilmaz is now a member." in after and "Nobody is waiting for approval." in after


def test_admitting_twice_is_refused_on_the_page_and_pays_the_welcome_credit_once(client, coordinator):
    world = coordinator
    waiting = applicant(world)
    post_form(client, world, "/applicants", f"/applicants/{waiting.id}/approve", {})
    response = post_form(client, world, "/applicants", f"/applicants/{waiting.id}/approve", {})
    assert response.status_code == 200
    assert len(problems(response)) == 1 and "active" in problems(response)[0]
    assert account(world, waiting.id).balance == WELCOME


def test_declining_needs_a_reason_which_the_applicant_can_read(client, coordinator):
    world = coordinator
    waiting = applicant(world)
    field = f"decline-{waiting.id}-reason"
    response = post_form(client, world, "/applicants", f"/applicants/{waiting.id}/decline", {field: ""})
    assert response.status_code == 200 and problems(response) == ["Fill in the reason."]
    assert membership(world, waiting.id).status == "applicant"
    response = post_form(client, world, "/applicants", f"/applicants/{waiting.id}/decline", {field: "   "})
    assert response.status_code == 200 and len(problems(response)) == 1
    response = post_form(
        client, world, "/applicants", f"/applicants/{waiting.id}/decline", {field: "We zitten vol in Transvaal."}
    )
    assert response.status_code == 302
    declined = membership(world, waiting.id)
    assert (declined.status, declined.decision_reason) == ("declined", "We zitten vol in Transvaal.")
    assert account(world, waiting.id).balance == 0


def test_declining_someone_admitted_meanwhile_is_refused_at_the_top_of_the_page(client, coordinator):
    world = coordinator
    waiting = applicant(world)
    page = text(client.get(address(world, "/applicants")))
    world.db.run(members.approve_member, actor=world.admin.actor, membership_id=waiting.id)
    response = client.post(
        address(world, f"/applicants/{waiting.id}/decline"),
        data={f"decline-{waiting.id}-reason": "vol", "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 200 and len(problems(response)) == 1
    assert membership(world, waiting.id).status == "active"


# --- members --------------------------------------------------------------------------------------------------


def test_the_members_list_finds_by_name_and_status_and_orders_by_balance(client, coordinator):
    world = coordinator
    paid(world, minutes=90)  # Ans 30 min, Bert 3 h 30 min
    everyone = text(client.get(address(world, "/members")))
    assert all(name in everyone for name in ("Ans de Vries", "Bert Jansen", "Cor Bakker", "Olga Veilig"))
    found = text(client.get(address(world, "/members?name=JANS")))
    assert "Bert Jansen" in found and "Ans de Vries" not in found and "1 member matches." in found
    lowest = text(client.get(address(world, "/members?order=lowest_balance")))
    assert lowest.index("Ans de Vries") < lowest.index("Cor Bakker") < lowest.index("Bert Jansen")
    assert "30 min" in lowest and "3 h 30 min" in lowest
    highest = text(client.get(address(world, "/members?order=highest_balance")))
    assert highest.index("Bert Jansen") < highest.index("Ans de Vries")
    nobody = text(client.get(address(world, "/members?status=suspended")))
    assert "No member matches this search." in nobody
    wrong = client.get(address(world, "/members?status=everything"))
    assert wrong.status_code == 200 and "Ans de Vries" not in text(wrong)


def test_a_members_page_shows_balance_and_bounds(client, coordinator):
    world = coordinator
    page = text(client.get(address(world, "/members/{member}", member=world.ans.id)))
    assert "<h1>Ans de Vries</h1>" in page
    assert "2 h" in page and "-10 h" in page and "40 h" in page
    assert f'href="{address(world, "/reverse")}?member={world.ans.id}"' in page


def test_a_member_of_another_community_is_not_found_from_this_one(client, coordinator, other_world):
    response = client.get(address(coordinator, "/members/{member}", member=other_world.ans.id))
    assert response.status_code == 404
    response = post_form(
        client, coordinator, "/members", f"/members/{other_world.ans.id}/suspend", {"status-reason": "nee"}
    )
    assert response.status_code == 404
    assert membership(other_world, other_world.ans.id).status == "active"


def test_suspending_and_reinstating_need_a_reason_and_freeze_and_open_the_account(client, coordinator):
    world = coordinator
    page = f"/members/{world.ans.id}"
    response = post_form(client, world, page, f"{page}/suspend", {"status-reason": ""})
    assert response.status_code == 200 and problems(response) == ["Fill in the reason."]
    assert membership(world, world.ans.id).status == "active"
    response = post_form(client, world, page, f"{page}/suspend", {"status-reason": "Afspraken niet nagekomen"})
    assert response.status_code == 302
    assert membership(world, world.ans.id).status == "suspended" and account(world, world.ans.id).status == "frozen"
    shown = text(client.get(response.headers["Location"]))
    assert "The member is suspended." in shown and "Reinstate Ans de Vries" in shown
    response = post_form(client, world, page, f"{page}/suspend", {"status-reason": "nog eens"})
    assert response.status_code == 200
    assert len(problems(response)) == 1 and "suspended" in problems(response)[0]
    response = post_form(client, world, page, f"{page}/reinstate", {"status-reason": "Goed gesprek gehad"})
    assert response.status_code == 302
    assert membership(world, world.ans.id).status == "active" and account(world, world.ans.id).status == "open"


def test_limits_change_the_members_bounds_with_hours_and_minutes_below_zero(client, coordinator):
    world = coordinator
    page = f"/members/{world.ans.id}"
    data = {
        "limits-floor-hours": "5",
        "limits-floor-minutes": "30",
        "limits-ceiling-hours": "60",
        "limits-ceiling-minutes": "0",
        "limits-reason": "Nieuw in de buurt, veel hulp nodig",
    }
    response = post_form(client, world, page, f"{page}/limits", data)
    assert response.status_code == 302
    bounds = account(world, world.ans.id)
    assert (bounds.floor, bounds.ceiling) == (-330, 3600)
    shown_response = client.get(response.headers["Location"])
    shown = text(shown_response)
    assert "The lowest and highest balance are changed." in shown and "-5 h 30 min" in shown and "60 h" in shown
    assert (typed(shown_response, "limits-floor-hours"), typed(shown_response, "limits-floor-minutes")) == ("5", "30")


def test_limits_refused_keep_what_was_typed_and_change_nothing(client, coordinator):
    world = coordinator
    page = f"/members/{world.ans.id}"
    data = {
        "limits-floor-hours": "3",
        "limits-floor-minutes": "75",
        "limits-ceiling-hours": "20",
        "limits-ceiling-minutes": "",
        "limits-reason": "te veel",
    }
    response = post_form(client, world, page, f"{page}/limits", data)
    assert response.status_code == 200 and problems(response) == ["Between 0 and 59 minutes."]
    assert typed(response, "limits-floor-minutes") == "75" and "te veel</textarea>" in text(response)
    response = post_form(
        client, world, page, f"{page}/limits", {**data, "limits-floor-minutes": "0", "limits-reason": " "}
    )
    assert response.status_code == 200 and len(problems(response)) == 1
    assert 'id="limits-reason-error"' in text(response)
    bounds = account(world, world.ans.id)
    assert (bounds.floor, bounds.ceiling) == (-600, 2400)


def test_the_role_makes_a_member_a_coordinator_and_back(client, coordinator):
    world = coordinator
    page = f"/members/{world.ans.id}"
    response = post_form(client, world, page, f"{page}/role", {"role-role": "coordinator"})
    assert response.status_code == 302 and membership(world, world.ans.id).role == "coordinator"
    response = post_form(client, world, page, f"{page}/role", {"role-role": "member"})
    assert response.status_code == 302 and membership(world, world.ans.id).role == "member"
    response = post_form(client, world, page, f"{page}/role", {"role-role": "boss"})
    assert response.status_code == 200 and problems(response) == ["Not a valid choice."]


def test_a_suspended_member_gets_no_role(client, coordinator):
    world = coordinator
    world.db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.ans.id, reason="pauze")
    page = f"/members/{world.ans.id}"
    response = post_form(client, world, page, f"{page}/role", {"role-role": "coordinator"})
    assert response.status_code == 200 and len(problems(response)) == 1 and "active" in problems(response)[0]
    assert membership(world, world.ans.id).role == "member"


def test_a_coordinator_who_makes_themselves_a_member_leaves_the_coordinator_pages(client, coordinator):
    world = coordinator
    page = f"/members/{world.coordinator.id}"
    response = post_form(client, world, page, f"{page}/role", {"role-role": "member"})
    assert response.status_code == 302 and "/coordinate" not in response.headers["Location"]
    assert text(client.get(response.headers["Location"])).count("The role is changed.") == 1
    assert client.get(address(world)).status_code == 403


def test_adding_a_member_who_is_not_online(client, coordinator):
    world = coordinator
    response = post_form(
        client,
        world,
        "/members/offline",
        "/members/offline",
        {"display_name": "", "neighbourhood": "x", "preferred_language": "en"},
    )
    assert response.status_code == 200 and problems(response) == ["Fill in the name."]
    assert typed(response, "neighbourhood") == "x"
    data = {"display_name": "Fatima B.", "neighbourhood": "Transvaal", "preferred_language": "nl"}
    response = post_form(client, world, "/members/offline", "/members/offline", data)
    assert response.status_code == 302
    membership_id = int(response.headers["Location"].rsplit("/", 1)[1])
    added = membership(world, membership_id)
    assert (added.display_name, added.managed_offline, added.status) == ("Fatima B.", True, "active")
    assert account(world, membership_id).balance == WELCOME
    assert "Fatima B. is a member now." in text(client.get(response.headers["Location"]))


# --- recording on behalf --------------------------------------------------------------------------------------


def record(client, world: World, **changes):
    data = {
        "helper": str(world.bert.id),
        "helped": str(world.ans.id),
        "duration-hours": "1",
        "duration-minutes": "30",
        "category": str(world.categories["boodschappen"]),
        "description": "boodschappen gedaan",
        "agreement": "both",
        "reason": "telefoontje van Ans",
        **changes,
    }
    return post_form(client, world, "/record", "/record", data)


def test_recording_for_members_moves_the_balances_at_once_when_both_agreed(client, coordinator):
    world = coordinator
    page = text(client.get(address(world, "/record")))
    assert f'value="{world.ans.id}"' in page and "Fatima" not in page
    response = record(client, world)
    assert response.status_code == 302
    assert (balance(world, world.ans), balance(world, world.bert)) == (WELCOME - 90, WELCOME + 90)
    assert "The exchange is recorded: 1 h 30 min." in text(client.get(response.headers["Location"]))


def test_recording_for_an_offline_member_is_possible_from_the_select(client, coordinator):
    world = coordinator
    offline = world.db.run(
        members.add_offline_member,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        display_name="Fatima B.",
    )
    assert "Fatima B., not online" in text(client.get(address(world, "/record")))
    response = record(client, world, helper=str(offline.id))
    assert response.status_code == 302
    assert account(world, offline.id).balance == WELCOME + 90


def test_recording_for_one_side_waits_for_the_other_sides_confirmation(client, coordinator):
    world = coordinator
    response = record(client, world, agreement="helper")
    assert response.status_code == 302
    assert (balance(world, world.ans), balance(world, world.bert)) == (WELCOME, WELCOME)
    assert account(world, world.ans.id).pending_debits == 90
    assert "waits for the other member&#39;s confirmation" in text(client.get(response.headers["Location"]))


def test_recording_past_the_floor_is_refused_with_the_figures_and_changes_nothing(client, coordinator):
    world = coordinator
    world.db.run(
        members.set_member_limits,
        actor=world.coordinator.actor,
        membership_id=world.ans.id,
        floor_minutes=0,
        ceiling_minutes=2400,
        reason="geen schulden",
    )
    response = record(client, world, **{"duration-hours": "3", "duration-minutes": "0"})
    assert response.status_code == 200
    assert len(problems(response)) == 1 and "At most 2 h can be paid" in problems(response)[0]
    assert typed(response, "duration-hours") == "3"
    assert (balance(world, world.ans), balance(world, world.bert)) == (WELCOME, WELCOME)


def test_recording_refusals_stand_next_to_their_fields(client, coordinator):
    world = coordinator
    same = record(client, world, helped=str(world.bert.id))
    assert same.status_code == 200 and len(problems(same)) == 1
    assert 'id="helped-error"' in text(same)
    nobody = record(client, world, helper="0", **{"duration-hours": "", "duration-minutes": ""})
    assert nobody.status_code == 200
    assert problems(nobody) == ["Choose a member.", "Fill in how long: hours, minutes or both."]
    own = record(client, world, helper=str(world.coordinator.id))
    assert own.status_code == 200
    assert len(problems(own)) == 1 and "Record your own exchanges" in problems(own)[0]
    too_long = record(client, world, **{"duration-hours": "13"})
    assert too_long.status_code == 200 and len(problems(too_long)) == 1
    assert (balance(world, world.ans), balance(world, world.bert)) == (WELCOME, WELCOME)


# --- disputes -------------------------------------------------------------------------------------------------


def test_a_dispute_shows_both_sides_and_is_settled_with_changed_minutes(client, coordinator):
    world = coordinator
    exchange = disputed_exchange(world, minutes=180)
    page = text(client.get(address(world, "/disputes")))
    assert "Bert Jansen helped Ans de Vries" in page
    assert "boodschappen gedaan" in page and "het was maar een uur" in page and "3 h" in page
    prefix = f"settle-{exchange.id}-"
    action = f"/disputes/{exchange.id}/settle"
    response = post_form(client, world, "/disputes", action, {prefix + "outcome": "change", prefix + "reason": "ok"})
    assert response.status_code == 200 and problems(response) == ["Fill in the right time."]
    assert account(world, world.ans.id).pending_debits == 180
    data = {prefix + "outcome": "change", prefix + "minutes-hours": "1", prefix + "reason": "Beiden gebeld: een uur"}
    response = post_form(client, world, "/disputes", action, data)
    assert response.status_code == 302
    assert (balance(world, world.ans), balance(world, world.bert)) == (WELCOME - 60, WELCOME + 60)
    after = text(client.get(response.headers["Location"]))
    assert "The dispute is settled." in after and "No open disputes." in after


def test_a_dispute_can_be_voided_and_a_settled_one_not_again(client, coordinator):
    world = coordinator
    exchange = disputed_exchange(world)
    prefix = f"settle-{exchange.id}-"
    action = f"/disputes/{exchange.id}/settle"
    data = {prefix + "outcome": "void", prefix + "reason": "Niet gebeurd"}
    assert post_form(client, world, "/disputes", action, data).status_code == 302
    assert (balance(world, world.ans), balance(world, world.bert)) == (WELCOME, WELCOME)
    again = post_form(client, world, "/disputes", action, {prefix + "outcome": "post", prefix + "reason": "toch"})
    assert again.status_code == 200 and len(problems(again)) == 1
    assert (balance(world, world.ans), balance(world, world.bert)) == (WELCOME, WELCOME)


# --- reversing ------------------------------------------------------------------------------------------------


def test_a_transaction_is_chosen_checked_and_reversed_once(client, coordinator):
    world = coordinator
    payment = paid(world, minutes=60)
    transaction_id = payment.ledger_transaction_id
    listing = text(client.get(address(world, f"/reverse?member={world.ans.id}")))
    assert f'href="{address(world, "/reverse")}?transaction={transaction_id}"' in listing
    confirm = text(client.get(address(world, f"/reverse?transaction={transaction_id}")))
    assert f"Reverse transaction {transaction_id}" in confirm
    assert 'Ans de Vries: <span class="amount">-1 h</span>' in confirm
    assert 'Bert Jansen: <span class="amount">+1 h</span>' in confirm
    page = f"/reverse?transaction={transaction_id}"
    data = {"transaction_id": str(transaction_id), "reason": ""}
    response = post_form(client, world, page, "/reverse", data)
    assert response.status_code == 200 and problems(response) == ["Fill in the reason."]
    assert balance(world, world.ans) == WELCOME - 60
    response = post_form(client, world, page, "/reverse", {**data, "reason": "Dubbel ingevoerd"})
    assert response.status_code == 302
    assert (balance(world, world.ans), balance(world, world.bert)) == (WELCOME, WELCOME)
    assert f"Transaction {transaction_id} is reversed by transaction" in text(client.get(response.headers["Location"]))
    again = post_form(client, world, "/reverse", "/reverse", {**data, "reason": "Nog een keer"})
    assert again.status_code == 200
    assert len(problems(again)) == 1 and "reversed already" in problems(again)[0]
    assert (balance(world, world.ans), balance(world, world.bert)) == (WELCOME, WELCOME)
    shown = text(client.get(address(world, page)))
    assert "It cannot be reversed twice." in shown and 'name="reason"' not in shown


def test_a_transaction_looked_up_by_a_wrong_number_is_not_found(client, coordinator, other_world):
    world = coordinator
    elsewhere = other_world.db.run(
        payments.pay_directly, actor=other_world.ans.actor, payee_membership_id=other_world.bert.id, minutes=30
    )
    for number in (str(elsewhere.ledger_transaction_id), "99999999"):
        response = client.get(address(world, f"/reverse?transaction={number}"))
        assert response.status_code == 200 and len(problems(response)) == 1
        assert 'id="transaction-error"' in text(response)
    response = client.get(address(world, "/reverse?transaction=abc"))
    assert response.status_code == 200 and len(problems(response)) == 1


# --- the pot --------------------------------------------------------------------------------------------------


def give_to_pot(world: World, minutes: int) -> None:
    world.db.run(pot.donate_to_pot, actor=world.cor.actor, community_id=world.community_id, minutes=minutes)


def test_a_grant_below_the_pots_floor_is_refused_with_the_figures_and_nothing_changes(client, coordinator):
    world = coordinator
    give_to_pot(world, 30)
    data = {"grant-member": str(world.ans.id), "grant-amount-hours": "1", "grant-reason": "Na de operatie"}
    response = post_form(client, world, "/pot", "/pot/grant", data)
    assert response.status_code == 200
    assert len(problems(response)) == 1 and "At most 30 min can be paid" in problems(response)[0]
    assert typed(response, "grant-amount-hours") == "1" and typed(response, "grant-member") is None
    assert (pot_balance(world), balance(world, world.ans)) == (30, WELCOME)
    response = post_form(
        client, world, "/pot", "/pot/grant", {**data, "grant-amount-hours": "", "grant-amount-minutes": "30"}
    )
    assert response.status_code == 302
    assert (pot_balance(world), balance(world, world.ans)) == (0, WELCOME + 30)
    page = text(client.get(response.headers["Location"]))
    assert "30 min went from the pot to the member." in page and "From the community pot: Na de operatie" in page


def test_a_grant_needs_a_member_and_a_reason(client, coordinator):
    world = coordinator
    give_to_pot(world, 60)
    data = {"grant-member": "0", "grant-amount-minutes": "30", "grant-reason": ""}
    response = post_form(client, world, "/pot", "/pot/grant", data)
    assert response.status_code == 200 and problems(response) == ["Choose a member.", "Fill in the reason."]
    assert pot_balance(world) == 60


def test_a_coordinator_gives_their_own_time_to_the_pot(client, coordinator):
    world = coordinator
    response = post_form(
        client, world, "/pot", "/pot/donate", {"donate-amount-minutes": "45", "donate-note": "voor de buurt"}
    )
    assert response.status_code == 302
    assert (pot_balance(world), balance(world, world.coordinator)) == (45, WELCOME - 45)
    assert "Thank you: 45 min went into the pot." in text(client.get(response.headers["Location"]))
    too_much = post_form(client, world, "/pot", "/pot/donate", {"donate-amount-hours": "20"})
    assert too_much.status_code == 200 and "At most" in problems(too_much)[0]
    assert pot_balance(world) == 45


def test_a_group_event_credits_every_chosen_participant(client, coordinator):
    world = coordinator
    give_to_pot(world, 120)
    page = text(client.get(address(world, "/pot")))
    assert f'name="event-participants" type="checkbox" value="{world.ans.id}"' in page
    data = {
        "event-event_name": "Opruimen van het plein",
        "event-participants": [str(world.ans.id), str(world.bert.id), str(world.officer.id)],
        "event-amount-minutes": "30",
        "event-source": "pot",
    }
    response = post_form(client, world, "/pot", "/pot/group-event", data)
    assert response.status_code == 302
    assert [balance(world, person) for person in (world.ans, world.bert, world.officer, world.cor)] == [
        WELCOME + 30,
        WELCOME + 30,
        WELCOME + 30,
        WELCOME - 120,
    ]
    assert pot_balance(world) == 30
    assert "3 participants received 30 min each." in text(client.get(response.headers["Location"]))


def test_a_group_event_the_pot_cannot_pay_credits_nobody(client, coordinator):
    world = coordinator
    give_to_pot(world, 60)
    data = {
        "event-event_name": "Straatfeest",
        "event-participants": [str(world.ans.id), str(world.bert.id)],
        "event-amount-minutes": "45",
        "event-source": "pot",
    }
    response = post_form(client, world, "/pot", "/pot/group-event", data)
    assert response.status_code == 200
    assert len(problems(response)) == 1 and "At most 1 h can be paid" in problems(response)[0]
    assert typed(response, "event-event_name") == "Straatfeest" and checked(response, "event-participants") == [
        str(world.ans.id),
        str(world.bert.id),
    ]
    assert (pot_balance(world), balance(world, world.ans), balance(world, world.bert)) == (60, WELCOME, WELCOME)
    nobody = post_form(client, world, "/pot", "/pot/group-event", {**data, "event-participants": []})
    assert nobody.status_code == 200 and problems(nobody) == ["Choose at least one participant."]


def test_a_group_event_may_be_paid_with_new_credit(client, coordinator):
    world = coordinator
    data = {
        "event-event_name": "Buurtfeest",
        "event-participants": [str(world.cor.id)],
        "event-amount-hours": "2",
        "event-source": "issuance",
    }
    assert post_form(client, world, "/pot", "/pot/group-event", data).status_code == 302
    assert (pot_balance(world), balance(world, world.cor)) == (0, WELCOME + 120)
