"""A coordinator's reports and settings pages: the funder report with its charts and CSV, a member's printable
statement, safeguarding (officers only), community settings, categories and partner keys.

The people of the world read English here, so that the texts checked stay the same once the Dutch catalog is
complete. Exchanges are paid at fixed moments in spring 2026 so that the figures can be counted by hand:

    ans pays bert 60 min  (Errands)   10 March
    bert pays cor 90 min  (Odd jobs)  20 April
    cor pays ans  30 min  (Odd jobs)  22 April
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.web.conftest import csrf_token, sign_in, submit, text
from timebank import communities, credentials, errors, members, payments, safeguarding
from timebank.web import charts
from timebank.web.refusals import refusal_text

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SPRING = {"start": "2026-03-01", "end": "2026-05-31"}


@pytest.fixture
def people(world):
    """The world, whose people (those who log in here) read English."""
    for person in (world.coordinator, world.officer, world.ans):
        world.db.run(members.update_user_settings, actor=person.actor, preferred_language="en")
    return world


@pytest.fixture
def spring(people):
    world = people

    def pay(payer, payee, minutes, category, when):
        world.db.run(
            payments.pay_directly,
            actor=payer.actor,
            payee_membership_id=payee.id,
            minutes=minutes,
            category_id=world.categories[category],
            now=when,
        )

    pay(world.ans, world.bert, 60, "boodschappen", datetime(2026, 3, 10, 10, tzinfo=UTC))
    pay(world.bert, world.cor, 90, "klussen", datetime(2026, 4, 20, 10, tzinfo=UTC))
    pay(world.cor, world.ans, 30, "klussen", datetime(2026, 4, 22, 10, tzinfo=UTC))
    return world


def refusal(web_app, error) -> str:
    """What a page in English says about a use case's refusal."""
    with web_app.test_request_context("/", headers={"Accept-Language": "en"}):
        return refusal_text(error)


def url(world, path: str) -> str:
    return f"/c/{world.community.slug}{path}"


def svg(page: str, chart_id: str) -> str:
    found = re.search(rf'<svg [^>]*id="{chart_id}".*?</svg>', page, re.DOTALL)
    assert found, f"no chart {chart_id}"
    return found.group(0)


def field_error(page: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field_id}-error">([^<]*)</p>', page)
    return found.group(1) if found else ""


def input_value(page: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', page
    )
    return found.group(1) if found else None


# --- who may open these pages -----------------------------------------------------------------------------------


def pages(world) -> list[str]:
    category_id = world.categories["klussen"]
    return [
        url(world, "/coordinate/report"),
        url(world, "/coordinate/report.csv"),
        url(world, f"/coordinate/members/{world.ans.id}/statement"),
        url(world, "/coordinate/settings"),
        url(world, "/coordinate/categories"),
        url(world, f"/coordinate/categories/{category_id}"),
        url(world, "/coordinate/partner-keys"),
    ]


def posts(world) -> list[tuple[str, dict]]:
    category_id = world.categories["klussen"]
    return [
        (url(world, "/coordinate/settings"), {"name": "Taken over", "language": "en", "time_zone": "UTC"}),
        (url(world, "/coordinate/categories"), {"name_nl": "Koken", "name_en": "Cooking"}),
        (url(world, f"/coordinate/categories/{category_id}"), {"name_nl": "X", "name_en": "X"}),
        (url(world, f"/coordinate/categories/{category_id}/active"), {"active": "0"}),
        (url(world, "/coordinate/partner-keys"), {"name": "Sneaky", "scopes": "ledger:write"}),
        (url(world, "/coordinate/partner-keys/1/revoke"), {}),
        (url(world, "/safeguarding"), {"membership_id": str(world.bert.id), "scheme": "vog"}),
    ]


def nothing_changed(world) -> None:
    community = world.db.read(communities.community_by_slug, slug=world.community.slug)
    assert community.name == "Buurtbank Test"
    names = {category.name_en for category in world.db.read(communities.categories, community_id=community.id)}
    assert "Cooking" not in names and "X" not in names and "Odd jobs" in names
    assert world.db.read(credentials.partner_keys, actor=world.admin.actor, community_id=community.id) == []


def test_a_member_is_refused_every_page_and_every_form_here(client, people):
    world = people
    sign_in(client, world.ans.user.email)

    for path in [*pages(world), url(world, "/safeguarding")]:
        assert client.get(path).status_code == 403, path
    for path, data in posts(world):
        assert submit(client, "/", action=path, data=data).status_code == 403, path
    nothing_changed(world)


def test_a_coordinator_of_another_community_finds_none_of_these_pages(client, people, other_world):
    world = people
    sign_in(client, other_world.coordinator.user.email)

    for path in [*pages(world), url(world, "/safeguarding")]:
        assert client.get(path).status_code == 404, path
    for path, data in posts(world):
        assert submit(client, "/", action=path, data=data).status_code == 404, path
    nothing_changed(world)


def test_a_coordinator_who_is_not_a_safeguarding_officer_may_not_see_or_record_checks(client, people):
    world = people
    sign_in(client, world.coordinator.user.email)

    assert client.get(url(world, "/safeguarding")).status_code == 403
    data = {"membership_id": str(world.bert.id), "scheme": "vog", "seen_on": "2026-03-01", "review_on": "2027-03-01"}
    assert submit(client, "/", action=url(world, "/safeguarding"), data=data).status_code == 403
    assert (
        world.db.run(safeguarding.list_checks, actor=world.officer.actor, community_id=world.community_id).checks == []
    )


def test_every_page_here_is_kept_out_of_caches(client, people):
    world = people
    sign_in(client, world.coordinator.user.email)

    for path in pages(world):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store", path
        assert "style=" not in text(answer), path


# --- the funder report ----------------------------------------------------------------------------------------


def test_the_report_says_the_figures_in_words(client, spring):
    sign_in(client, spring.coordinator.user.email)

    page = text(client.get(url(spring, "/coordinate/report"), query_string=SPRING))

    assert "<h1>Report for funders</h1>" in page
    assert "From 1 Mar 2026 up to and including 31 May 2026." in page
    figures = dict(re.findall(r'<li><strong>([^<]+): <span class="amount">([^<]+)</span></strong>', page))
    assert figures["Time given and received"] == "3 h"
    assert figures["Exchanges"] == "3"
    assert figures["Pairs of neighbours"] == "3"
    # ans, bert and cor all took part between 2 March and 31 May, the 90 days before the end.
    assert figures["Active members"] == "3"


def test_the_chart_of_minutes_per_month_has_one_bar_per_month_with_help(client, spring):
    sign_in(client, spring.coordinator.user.email)

    page = text(client.get(url(spring, "/coordinate/report"), query_string=SPRING))

    chart = svg(page, "chart-months")
    assert 'role="img"' in chart and 'aria-labelledby="chart-months-title"' in chart
    assert '<title id="chart-months-title">Time exchanged per month, in hours</title>' in chart
    assert 'viewBox="0 0 360 214"' in chart and 'width="100%"' in chart
    bars = re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"[^>]*><title>([^<]+)</title>', chart)
    # March (1 h) and April (2 h) have help, May none; the axis goes up to 2 h (162 units high).
    assert [title for _, title in bars] == ["Mar 2026: 1 h", "Apr 2026: 2 h"]
    assert [float(height) for height, _ in bars] == [81.0, 162.0]
    table = page.split("Time exchanged per month as a table", 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<th scope="row">([^<]+)</th><td class="number">(\d+)</td><td[^>]*>([^<]+)</td>', table) == [
        ("March 2026", "1", "1 h"),
        ("April 2026", "2", "2 h"),
        ("May 2026", "0", "0 min"),
    ]


def test_the_charts_per_category_and_of_active_members_have_their_figures_beside_them(client, spring):
    sign_in(client, spring.coordinator.user.email)

    page = text(client.get(url(spring, "/coordinate/report"), query_string=SPRING))

    categories = svg(page, "chart-categories")
    assert re.findall(r"<title>([^<]+)</title></rect>", categories) == ["Klussen: 2 h", "Boodschappen: 1 h"]
    active = svg(page, "chart-active")
    # March: ans and bert; April: bert, cor and ans; May: nobody.
    assert re.findall(r'<circle class="point"[^>]*><title>([^<]+)</title>', active) == [
        "Mar 2026: 2",
        "Apr 2026: 3",
        "May 2026: 0",
    ]
    table = page.split("Active members per month as a table", 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<th scope="row">([^<]+)</th><td class="number">(\d+)</td>', table) == [
        ("March 2026", "2"),
        ("April 2026", "3"),
        ("May 2026", "0"),
    ]
    assert "<details>" in page and "style=" not in page


def test_the_report_covers_the_last_12_months_unless_told_otherwise(client, people):
    sign_in(client, people.coordinator.user.email)

    page = text(client.get(url(people, "/coordinate/report")))

    today = datetime.now(AMSTERDAM).date()
    first = date(today.year - (1 if today.month < 12 else 0), today.month % 12 + 1, 1)
    assert input_value(page, "start") == first.isoformat() and input_value(page, "end") == today.isoformat()
    assert page.count('<rect class="bar"') == 0 and "nothing to draw" in page


@pytest.mark.parametrize(
    ("period", "field", "message"),
    [
        (
            {"start": "2026-05-01", "end": "2026-04-01"},
            "end",
            errors.InvalidInput("the period must end after it starts", field="end"),
        ),
        (
            {"start": "2024-01-01", "end": "2026-04-01"},
            "end",
            errors.InvalidInput("a period may be at most two years long", field="end", maximum_days=731),
        ),
        ({"start": "2026-02-30", "end": "2026-04-01"}, "start", "Not a valid date value."),
        ({"start": "", "end": "2026-04-01"}, "start", "Choose the first day."),
        ({"start": "0001-01-01", "end": "2026-04-01"}, "start", "Choose a day between the years 1970 and 9000."),
    ],
)
def test_a_period_that_is_not_right_is_refused_next_to_its_field(client, web_app, people, period, field, message):
    sign_in(client, people.coordinator.user.email)

    for path in ("/coordinate/report", "/coordinate/report.csv"):
        answer = client.get(url(people, path), query_string=period)
        page = text(answer)
        assert answer.status_code == 200 and answer.mimetype == "text/html"
        expected = message if isinstance(message, str) else refusal(web_app, message)
        assert field_error(page, field) == expected
        assert input_value(page, "end") == period["end"]
        assert "<svg" not in page


def test_the_report_downloads_as_csv_with_its_header_and_figures(client, spring):
    sign_in(client, spring.coordinator.user.email)
    page = text(client.get(url(spring, "/coordinate/report"), query_string=SPRING))
    link = re.search(r'href="([^"]*report\.csv[^"]*)"', page).group(1).replace("&amp;", "&")

    answer = client.get(link)

    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == (
        f'attachment; filename="funder-report-{spring.community.slug}-2026-03-01-2026-05-31.csv"'
    )
    assert answer.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(text(answer))))
    assert rows[0] == ["Funder report", "Buurtbank Test", "2026-03-01 00:00", "2026-06-01 00:00", "Europe/Amsterdam"]
    months = rows.index(["Minutes exchanged per month"])
    assert rows[months + 1 : months + 5] == [
        ["month", "exchanges", "minutes", "hours"],
        ["2026-03", "1", "60", "1:00"],
        ["2026-04", "2", "120", "2:00"],
        ["2026-05", "0", "0", "0:00"],
    ]
    assert ["total_minutes", "180"] in rows and ["active_members", "3"] in rows


# --- a member's printable statement --------------------------------------------------------------------------


def statement_lines(page: str) -> list[tuple[str, ...]]:
    """The rows of the statement's table as (day, what, time, balance after), as read on the page."""
    body = page.split("<tbody>")[-1].split("</tbody>")[0]
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>", body, re.S)

    def read(cell: str) -> list[str]:
        return [" ".join(part.split()) for part in re.sub(r"<(?!br)[^>]+>", "", cell).split("<br>")]

    return [(*read(first), *read(amount), *read(balance)) for first, amount, balance in rows]


def test_a_coordinator_prints_a_members_statement_with_running_balance(client, spring):
    sign_in(client, spring.coordinator.user.email)

    answer = client.get(
        url(spring, f"/coordinate/members/{spring.ans.id}/statement"),
        query_string={"start": "2026-03-01", "end": "2026-04-30"},
    )

    page = text(answer)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert "<h1>Statement of time credits</h1>" in page
    assert "<li><strong>Member:</strong> Ans de Vries</li>" in page
    assert "<li><strong>Time bank:</strong> Buurtbank Test</li>" in page
    assert "From 1 Mar 2026 up to and including 30 Apr 2026" in page
    assert "Balance at the start: 0 min" in page and "Balance at the end: 1 h 30 min" in page
    assert statement_lines(page) == [
        ("2 Mar 2026", "Welcome credit", "+2 h", "2 h"),
        ("10 Mar 2026", "Exchange (with Bert)", "-1 h", "1 h"),
        ("22 Apr 2026", "Exchange (with Cor)", "+30 min", "1 h 30 min"),
    ]
    # The period form and the hint about printing are left off the paper.
    assert re.search(r'<div class="no-print">.*?<form method="get"', page, re.S)


def test_a_statement_of_a_later_period_opens_with_the_balance_then(client, spring):
    sign_in(client, spring.coordinator.user.email)

    page = text(
        client.get(
            url(spring, f"/coordinate/members/{spring.ans.id}/statement"),
            query_string={"start": "2026-04-01", "end": "2026-04-30"},
        )
    )

    assert "Balance at the start: 1 h" in page and "Balance at the end: 1 h 30 min" in page
    assert [line[1] for line in statement_lines(page)] == ["Exchange (with Cor)"]


def test_a_statement_refuses_a_period_that_is_not_right(client, web_app, people):
    sign_in(client, people.coordinator.user.email)

    page = text(
        client.get(
            url(people, f"/coordinate/members/{people.ans.id}/statement"),
            query_string={"start": "2026-04-01", "end": "2026-03-01"},
        )
    )

    assert field_error(page, "end") == refusal(web_app, errors.InvalidInput("the period must end after it starts"))
    assert "Balance at the start" not in page


def test_a_statement_of_someone_not_in_this_community_is_not_found(client, people, other_world):
    sign_in(client, people.coordinator.user.email)

    assert client.get(url(people, f"/coordinate/members/{other_world.ans.id}/statement")).status_code == 404
    assert client.get(url(people, "/coordinate/members/999999999/statement")).status_code == 404


def test_a_coordinator_of_two_communities_sees_a_members_statement_only_under_their_community(
    client, people, other_world
):
    world = people
    both = world.coordinator
    membership = world.db.run(
        members.apply_to_join, actor=both.actor, community_id=other_world.community_id, display_name="Carla"
    )
    world.db.run(members.approve_member, actor=other_world.admin.actor, membership_id=membership.id)
    world.db.run(members.set_role, actor=other_world.admin.actor, membership_id=membership.id, role="coordinator")
    sign_in(client, both.user.email)

    assert client.get(url(world, f"/coordinate/members/{other_world.ans.id}/statement")).status_code == 404
    assert client.get(url(other_world, f"/coordinate/members/{other_world.ans.id}/statement")).status_code == 200


# --- safeguarding ----------------------------------------------------------------------------------------------


def check_data(world, **changes) -> dict:
    today = datetime.now(AMSTERDAM).date()
    return {
        "membership_id": str(world.bert.id),
        "scheme": "vog",
        "seen_on": (today - timedelta(days=10)).isoformat(),
        "review_on": (today + timedelta(days=20)).isoformat(),
        **changes,
    }


def test_an_officer_records_a_check_and_sees_it_due_and_who_looked(client, people):
    world = people
    sign_in(client, world.officer.user.email)
    page = text(client.get(url(world, "/safeguarding")))
    assert "<h1>Safeguarding checks</h1>" in page and "None right now." in page
    assert f'<option value="{world.bert.id}">Bert Jansen (Dapperbuurt)</option>' in page

    answer = submit(client, url(world, "/safeguarding"), data=check_data(world))

    assert answer.status_code == 302
    page = text(client.get(answer.headers["Location"]))
    assert "The check is recorded." in page
    review_on = (datetime.now(AMSTERDAM).date() + timedelta(days=20)).strftime("%-d %b %Y")
    due = page.split("Checks to look at again")[1].split("Note a check")[0]
    assert f"<strong>Bert Jansen</strong>, VOG (Netherlands):\n    look at it again on {review_on}" in due
    recorded = page.split("All checks, newest first")[1].split("Who looked at these records")[0]
    assert "<strong>Bert Jansen</strong>, VOG (Netherlands)" in recorded and "by Olga Veilig." in recorded
    assert f"Current; look at it again on {review_on}." in recorded
    log = page.split("Who looked at these records")[1]
    assert "Olga Veilig looked at the list of checks." in log
    checks = world.db.run(safeguarding.list_checks, actor=world.officer.actor, community_id=world.community_id)
    assert [(check.membership_id, check.scheme, check.seen_by_membership_id) for check in checks.checks] == [
        (world.bert.id, "vog", world.officer.id)
    ]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"seen_on": "2999-01-01", "review_on": "3000-01-01"},
            "seen_on",
            errors.InvalidInput("the day seen may not be in the future"),
        ),
        (
            {"seen_on": "2026-03-01", "review_on": "2026-02-01"},
            "review_on",
            errors.InvalidInput("the review date must come after the day the certificate was seen"),
        ),
        ({"scheme": ""}, "scheme", "Choose the kind of certificate."),
        ({"membership_id": ""}, "membership_id", "Choose the member."),
        ({"review_on": ""}, "review_on", "Fill in the day."),
    ],
)
def test_a_refused_check_keeps_what_was_typed_and_records_nothing(client, web_app, people, changes, field, message):
    world = people
    sign_in(client, world.officer.user.email)
    data = check_data(world, **changes)

    answer = submit(client, url(world, "/safeguarding"), data=data)

    page = text(answer)
    expected = message if isinstance(message, str) else refusal(web_app, message)
    assert answer.status_code == 200 and field_error(page, field) == expected
    assert input_value(page, "seen_on") == data["seen_on"]
    if data["membership_id"]:
        assert f'<option selected value="{world.bert.id}">' in page
    assert (
        world.db.run(safeguarding.list_checks, actor=world.officer.actor, community_id=world.community_id).checks == []
    )


# --- settings ----------------------------------------------------------------------------------------------------


SETTINGS = {
    "name": "Buurtbank Oost",
    "language": "en",
    "time_zone": "Europe/London",
    "below_zero-hours": "5",
    "below_zero-minutes": "30",
    "ceiling-hours": "30",
    "ceiling-minutes": "0",
    "welcome_credit-hours": "0",
    "welcome_credit-minutes": "45",
    "auto_confirm_days": "10",
}


def community(world):
    return world.db.read(communities.community_by_slug, slug=world.community.slug)


def test_the_settings_page_shows_the_limits_in_hours_and_minutes_with_the_floor_below_zero(client, people):
    sign_in(client, people.coordinator.user.email)

    page = text(client.get(url(people, "/coordinate/settings")))

    assert "<legend>How far below zero a new member may go</legend>" in page
    assert input_value(page, "below_zero-hours") == "10" and input_value(page, "below_zero-minutes") == "0"
    assert input_value(page, "ceiling-hours") == "40" and input_value(page, "welcome_credit-hours") == "2"
    assert re.search(r'<input checked id="approval_required"', page)
    assert 'aria-current="page">Community settings</a>' in page


def test_a_coordinator_changes_the_settings(client, people):
    sign_in(client, people.coordinator.user.email)

    answer = submit(client, url(people, "/coordinate/settings"), data=SETTINGS)

    assert answer.status_code == 302
    assert "The settings are saved." in text(client.get(answer.headers["Location"]))
    changed = community(people)
    assert (changed.name, changed.language, changed.time_zone) == ("Buurtbank Oost", "en", "Europe/London")
    assert (changed.default_floor_minutes, changed.default_ceiling_minutes, changed.welcome_credit_minutes) == (
        -330,
        1800,
        45,
    )
    assert (changed.auto_confirm_days, changed.approval_required) == (10, False)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"welcome_credit-hours": "31"},
            "welcome_credit",
            errors.InvalidInput("the welcome credit may not exceed the default ceiling"),
        ),
        ({"time_zone": "Mars/Olympus"}, "time_zone", errors.InvalidInput("unknown time zone")),
        ({"auto_confirm_days": "0"}, "auto_confirm_days", "Between 1 and 90 days."),
        (
            {"below_zero-hours": "", "below_zero-minutes": ""},
            "below_zero",
            "Fill in hours, minutes or both; 0 for none.",
        ),
        ({"ceiling-minutes": "60"}, "ceiling", "Between 0 and 59 minutes."),
        ({"name": ""}, "name", "Fill in a name."),
    ],
)
def test_a_refused_setting_keeps_what_was_typed_and_changes_nothing(client, web_app, people, changes, field, message):
    sign_in(client, people.coordinator.user.email)
    data = {**SETTINGS, **changes}

    answer = submit(client, url(people, "/coordinate/settings"), data=data)

    page = text(answer)
    assert answer.status_code == 200
    assert field_error(page, field) == (message if isinstance(message, str) else refusal(web_app, message))
    for name in ("name", "below_zero-hours", "ceiling-hours", "welcome_credit-hours", "auto_confirm_days"):
        assert input_value(page, name) == data[name], name
    if data["time_zone"] == "Europe/London":
        assert '<option selected value="Europe/London">' in page
    unchanged = community(people)
    assert (unchanged.name, unchanged.time_zone, unchanged.default_floor_minutes) == (
        "Buurtbank Test",
        "Europe/Amsterdam",
        -600,
    )


# --- categories ------------------------------------------------------------------------------------------------


def test_a_coordinator_adds_a_category_whose_short_code_comes_from_its_english_name(client, people):
    sign_in(client, people.coordinator.user.email)

    answer = submit(
        client,
        url(people, "/coordinate/categories"),
        data={"name_nl": "Samen koken", "name_en": "Cooking together", "involves_children": "y"},
    )

    assert answer.status_code == 302
    page = text(client.get(answer.headers["Location"]))
    assert "The category Cooking together is added." in page and "Samen koken" in page
    added = {c.slug: c for c in people.db.read(communities.categories, community_id=people.community_id)}
    assert added["cooking-together"].name_nl == "Samen koken" and added["cooking-together"].involves_children


def test_a_refused_category_keeps_what_was_typed_and_adds_nothing(client, web_app, people):
    sign_in(client, people.coordinator.user.email)
    before = people.db.read(communities.categories, community_id=people.community_id, include_retired=True)

    answer = submit(
        client,
        url(people, "/coordinate/categories"),
        data={"name_nl": "Klusjes", "name_en": "Small jobs", "slug": "klussen"},
    )

    page = text(answer)
    assert answer.status_code == 200
    assert field_error(page, "slug") == refusal(web_app, errors.Conflict("a category with this slug exists already"))
    assert input_value(page, "name_nl") == "Klusjes" and input_value(page, "slug") == "klussen"
    assert people.db.read(communities.categories, community_id=people.community_id, include_retired=True) == before
    answer = submit(client, url(people, "/coordinate/categories"), data={"name_nl": "Koken", "name_en": ""})
    assert field_error(text(answer), "name_en") == "Fill in the English name."


def test_a_coordinator_renames_a_category_and_retires_it_and_brings_it_back(client, people):
    sign_in(client, people.coordinator.user.email)
    category_id = people.categories["klussen"]
    path = url(people, f"/coordinate/categories/{category_id}")
    assert input_value(text(client.get(path)), "name_en") == "Odd jobs"

    answer = submit(client, path, data={"name_nl": "Klusjes", "name_en": "Small jobs"})
    assert answer.status_code == 302

    def klussen():
        found = people.db.read(communities.categories, community_id=people.community_id, include_retired=True)
        return next(category for category in found if category.id == category_id)

    assert (klussen().name_nl, klussen().name_en, klussen().active) == ("Klusjes", "Small jobs", True)
    assert submit(client, path, action=f"{path}/active", data={"active": "0"}).status_code == 302
    assert klussen().active is False
    assert "Bring this category back" in text(client.get(path))
    assert submit(client, path, action=f"{path}/active", data={"active": "1"}).status_code == 302
    assert klussen().active is True
    refused = submit(client, path, data={"name_nl": "", "name_en": "Small jobs"})
    assert refused.status_code == 200 and field_error(text(refused), "name_nl") == "Fill in the Dutch name."
    assert klussen().name_nl == "Klusjes"


def test_a_category_of_another_community_is_not_found(client, people, other_world):
    sign_in(client, people.coordinator.user.email)

    assert client.get(url(people, f"/coordinate/categories/{other_world.categories['klussen']}")).status_code == 404


# --- partner keys ---------------------------------------------------------------------------------------------


def test_a_new_partner_keys_secret_is_shown_once_and_works_until_revoked(client, web_app, people):
    world = people
    sign_in(client, world.coordinator.user.email)

    answer = submit(
        client,
        url(world, "/coordinate/partner-keys"),
        data={"name": "Gemeente portaal", "scopes": ["listings:read", "reports:read"]},
    )

    page = text(answer)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-key" type="text" readonly value="(tb_p_[^"]+)"', page).group(1)
    assert "It is shown only this once" in page
    assert input_value(page, "name") == ""  # a fresh form for the next key
    listed = text(client.get(url(world, "/coordinate/partner-keys")))
    assert secret not in listed and "Gemeente portaal" in listed and "See requests and offers" in listed

    api = web_app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get(f"/api/v1/communities/{world.community_id}", headers=bearer).status_code == 200
    key_id = int(secret.split("_")[2])
    revoke = url(world, f"/coordinate/partner-keys/{key_id}/revoke")
    assert f'action="{revoke}"' in listed

    answer = client.post(revoke, data={"csrf_token": csrf_token(listed)})

    assert answer.status_code == 302
    assert "The key Gemeente portaal is revoked: it no longer works." in text(client.get(answer.headers["Location"]))
    assert api.get(f"/api/v1/communities/{world.community_id}", headers=bearer).status_code == 401
    assert world.db.read(credentials.partner_keys, actor=world.admin.actor, community_id=world.community_id) == []
    again = client.post(revoke, data={"csrf_token": csrf_token(listed)})
    assert again.status_code == 404


def test_a_refused_partner_key_keeps_its_name_and_makes_no_key(client, web_app, people):
    world = people
    sign_in(client, world.coordinator.user.email)

    answer = submit(client, url(world, "/coordinate/partner-keys"), data={"name": "School app"})

    page = text(answer)
    message = refusal(web_app, errors.InvalidInput("a key needs at least one scope"))
    assert answer.status_code == 200 and field_error(page, "scopes") == message
    assert input_value(page, "name") == "School app"
    assert "new-key" not in page
    assert world.db.read(credentials.partner_keys, actor=world.admin.actor, community_id=world.community_id) == []


# --- the charts' geometry -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maximum", "top"), [(0, 20), (20, 20), (45, 60), (61, 120), (150, 240), (500, 600), (601, 1200), (2401, 6000)]
)
def test_the_axis_for_minutes_goes_up_to_a_round_amount(maximum, top):
    assert charts.top_for_minutes(maximum) == top


@pytest.mark.parametrize(("maximum", "top"), [(0, 2), (1, 2), (3, 4), (5, 10), (11, 20), (41, 100)])
def test_the_axis_for_counts_goes_up_to_a_round_even_number(maximum, top):
    assert charts.top_for_counts(maximum) == top


def test_a_year_names_every_second_month_and_two_years_every_fourth_with_each_new_year():
    year = charts.column_chart([("m", "2026", 0)] * 12, top=2, tick_text=str, value_text=str)
    items = [("m", str(2025 + (index + 6) // 12), index) for index in range(25)]

    chart = charts.column_chart(items, top=40, tick_text=str, value_text=str)

    assert len(year.labels) == 6 and [label.year for label in year.labels] == ["2026", "", "", "", "", ""]
    assert len(chart.columns) == 25 and len(chart.labels) == 7
    assert [label.year for label in chart.labels if label.year] == ["2025", "2026", "2027"]
    assert all(column.x >= 0 and column.x + column.width <= charts.WIDTH for column in chart.columns)


def test_a_chart_refuses_a_value_above_its_axis():
    with pytest.raises(ValueError):
        charts.column_chart([("m", "2026", 50)], top=40, tick_text=str, value_text=str)
