"""The web front's authorisation matrix: every page and every action (found from the app's url_map) × every role,
with what each role gets.

Roles (tests/system/web_scene.py): a visitor, an applicant, Ans (a member who owns the objects the addresses name),
Cor (a member of the same community who owns none of them), a coordinator, a safeguarding officer who is no
coordinator, a member and a coordinator of another community, and an administrator of the installation who is a
member of nothing. Each is logged in through the login page in a browser of their own, and every POST carries a
valid CSRF token of that browser's session, so that what decides is who asks, nothing else.

Outcomes: ``ok`` (200, or a redirect within the community or to a page outside every community) with nothing in
the database changed; ``changed`` (the same, and the action happened); ``login`` (redirected to log in),
``status`` (redirected to the page saying where one's membership stands), ``403``, ``404``. Every check
fingerprints the whole database before and after: a refusal that changed anything fails as "<refusal> and
changed". Most actions are sent empty (the form then says what is missing: access is what is tested); actions of
one click get the little they need and fresh objects for every role, so that each role meets the same state.

A route without a row fails ``test_every_web_route_has_a_row`` with the row to add. And every address that names an
object is tried with the object of another community under this community's address (``/c/<here>/listings/<a
listing of elsewhere>``): not found, even for this community's coordinator and the administrator, nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.system.web_scene import (
    ROLES,
    Scene,
    Snapshot,
    build_path,
    redirect_path,
    route_keys,
    rule_for,
    scene_for,
)
from timebank import listings

OK, CHANGED, LOGIN, STATUS = "ok", "changed", "login", "status"
REFUSED = {LOGIN, STATUS, "403", "404"}

PUBLIC = dict.fromkeys(ROLES, OK)
SIGNED_IN = {**PUBLIC, "anonymous": LOGIN}
# member_page: the community's active members and the administrators; a visitor logs in first, an applicant sees
# where the application stands, anyone else learns nothing (404).
MEMBER_PAGE = {
    "anonymous": LOGIN,
    "applicant": STATUS,
    "member": OK,
    "neighbour": OK,
    "coordinator": OK,
    "officer": OK,
    "other_member": "404",
    "other_coordinator": "404",
    "administrator": OK,
}
# A member's own account in the community (profile, statement, paying): an administrator who is no member has none.
OWN_ACCOUNT = {**MEMBER_PAGE, "administrator": "404"}
# coordinator_page: the community's coordinators and the administrators; its members get 403.
COORDINATOR_PAGE = {**MEMBER_PAGE, "member": "403", "neighbour": "403", "officer": "403"}
# officer_page: the community's safeguarding officers and the administrators.
OFFICER_PAGE = {**COORDINATOR_PAGE, "coordinator": "403", "officer": OK}


# An invitation, or an exchange, of others: to a member who is not one of its two sides (nor a coordinator) it does
# not exist.
NOT_THEIRS = {"neighbour": "404", "officer": "404"}


def but(base: dict, **changes: str) -> dict:
    return {**base, **changes}


# Let through, and the action happens (the coordinator's, the officer's; Ans's on her own exchange).
COORDINATOR_CHANGES = but(COORDINATOR_PAGE, coordinator=CHANGED, administrator=CHANGED)
OFFICER_CHANGES = but(OFFICER_PAGE, officer=CHANGED, administrator=CHANGED)
EXCHANGE_STEP = but(MEMBER_PAGE, member=CHANGED, **NOT_THEIRS)
# Changing a listing: only Ans, who posted it.
POSTER_ONLY = but(MEMBER_PAGE, neighbour="403", coordinator="403", officer="403", administrator="403")


@dataclass(frozen=True)
class Row:
    method: str
    endpoint: str
    expect: dict
    step: str | None = None  # the value of an <any(...)> part of the address
    body: dict | None = None
    # Fresh objects for every role (their address values): for actions that do something when let through.
    fresh: Callable[[Scene], dict] | None = None
    values: Callable[[Scene], dict] | None = None  # address values other than the scene's usual ones

    @property
    def key(self) -> str:
        return f"{self.method} {self.endpoint}" + (f"[{self.step}]" if self.step else "")


def exchange_in(state: str, **options) -> Callable[[Scene], dict]:
    return lambda scene: {"exchange_id": scene.exchange(state, **options)}


def invitation(scene: Scene) -> dict:
    listing_id, invitation_id = scene.invitation_to_ans()
    return {"listing_id": listing_id, "invitation_id": invitation_id}


def closed_listing(scene: Scene) -> dict:
    listing_id = scene.request_by(scene.world.ans)
    scene.db.run(listings.close_listing, actor=scene.world.ans.actor, listing_id=listing_id)
    return {"listing_id": listing_id}


ROWS = [
    # --- for everyone ---------------------------------------------------------------------------------------------
    Row("GET", "web.home", PUBLIC),
    Row("GET", "web.health", PUBLIC),
    Row("GET", "web.ready", PUBLIC),
    Row("GET", "web.login", PUBLIC),
    Row("POST", "web.login", PUBLIC),
    Row("POST", "web.language", PUBLIC),
    Row("POST", "web.logout", PUBLIC),
    Row("GET", "public.join", PUBLIC),
    # A person with a membership (of any status but declined) is shown where it stands instead of the form.
    Row(
        "GET",
        "public.apply",
        but(PUBLIC, applicant=STATUS, member=STATUS, neighbour=STATUS, coordinator=STATUS, officer=STATUS),
    ),
    Row("POST", "public.apply", PUBLIC),
    # Where one's membership stands: an active member is sent home, one without a membership to the application.
    Row("GET", "public.membership_status", SIGNED_IN),
    Row("GET", "public.forgot_password", PUBLIC),
    Row("POST", "public.forgot_password", PUBLIC),
    Row("GET", "public.reset_link_sent", PUBLIC),
    Row("GET", "public.reset_password", PUBLIC),
    Row("POST", "public.reset_password", PUBLIC),
    # --- one's own account ----------------------------------------------------------------------------------------
    Row("GET", "profile.account", SIGNED_IN),
    Row("POST", "profile.account", SIGNED_IN),
    Row("GET", "profile.download_data", SIGNED_IN),
    Row("GET", "profile.erase", SIGNED_IN),
    Row("POST", "profile.erase", SIGNED_IN),
    Row("GET", "profile.profile", OWN_ACCOUNT),
    Row("POST", "profile.profile", OWN_ACCOUNT),
    Row("GET", "profile.leave", OWN_ACCOUNT),
    # Confirmed at once (the button is the confirmation), and refused: every member here has hours left.
    Row("POST", "profile.leave", OWN_ACCOUNT),
    # --- a member's pages -----------------------------------------------------------------------------------------
    Row("GET", "member.home", MEMBER_PAGE),
    Row("GET", "member.listings", MEMBER_PAGE),
    Row("GET", "member.listing", MEMBER_PAGE),
    Row("GET", "member.new_listing", but(MEMBER_PAGE, administrator="403")),
    Row("POST", "member.new_listing", but(MEMBER_PAGE, administrator="403")),
    Row("GET", "member.edit_listing", POSTER_ONLY),
    Row("POST", "member.edit_listing", POSTER_ONLY),
    # Anyone but Ans (whose request it is) and the administrator (no member) may respond.
    Row(
        "POST",
        "member.respond",
        but(MEMBER_PAGE, neighbour=CHANGED, coordinator=CHANGED, officer=CHANGED),
        fresh=lambda s: {"listing_id": s.request_by(s.world.ans)},
    ),
    Row("POST", "member.invite", MEMBER_PAGE),
    # The invitation is to Ans: only she can answer it.
    Row("POST", "member.accept_invitation", but(MEMBER_PAGE, member=CHANGED, **NOT_THEIRS), fresh=invitation),
    Row("POST", "member.decline_invitation", but(MEMBER_PAGE, member=CHANGED, **NOT_THEIRS), fresh=invitation),
    # Ans closes her own request; a coordinator would need a reason (which this button does not send).
    Row(
        "POST",
        "member.close",
        but(MEMBER_PAGE, member=CHANGED),
        fresh=lambda s: {"listing_id": s.request_by(s.world.ans)},
    ),
    Row("POST", "member.reopen", but(MEMBER_PAGE, member=CHANGED), fresh=closed_listing),
    # --- exchanges ------------------------------------------------------------------------------------------------
    Row("GET", "exchange_pages.index", OWN_ACCOUNT),
    # Its two members and the community's coordinators see an exchange; to anyone else it does not exist.
    Row("GET", "exchange_pages.exchange", but(MEMBER_PAGE, **NOT_THEIRS)),
    # Each step of an exchange, on a fresh exchange in the state the step starts from.
    *[
        Row("POST", "exchange_pages.act", EXCHANGE_STEP, step=step, body=body, fresh=fresh)
        for step, body, fresh in [
            ("agree", None, exchange_in("proposed")),
            ("accept-helper", None, exchange_in("proposed", category="oppassen")),
            ("cancel", None, exchange_in("proposed")),
            ("record", {"duration-hours": "1", "duration-minutes": "0"}, exchange_in("agreed")),
            ("confirm", None, exchange_in("recorded")),
            ("dispute", {"dispute_reason": "It was 20 minutes."}, exchange_in("recorded")),
            ("thank", {"thank_you_text": "Thank you!"}, exchange_in("confirmed")),
        ]
    ],
    Row("GET", "exchange_pages.pay", OWN_ACCOUNT),
    Row("POST", "exchange_pages.pay", OWN_ACCOUNT),
    Row("GET", "exchange_pages.claim", OWN_ACCOUNT),
    Row("POST", "exchange_pages.claim", OWN_ACCOUNT),
    Row("GET", "exchange_pages.statement", OWN_ACCOUNT),
    Row("GET", "exchange_pages.statement_csv", OWN_ACCOUNT),
    Row("GET", "exchange_pages.statement_print", OWN_ACCOUNT),
    # --- coordinating ---------------------------------------------------------------------------------------------
    Row("GET", "coord.index", COORDINATOR_PAGE),
    Row("GET", "coord.applicants", COORDINATOR_PAGE),
    Row("POST", "coord.approve", COORDINATOR_CHANGES, fresh=lambda s: {"membership_id": s.new_applicant()}),
    Row("POST", "coord.decline", COORDINATOR_PAGE, values=lambda s: {"membership_id": s.values["applicant_id"]}),
    Row("GET", "coord.members", COORDINATOR_PAGE),
    Row("GET", "coord.member", COORDINATOR_PAGE),
    Row("POST", "coord.suspend", COORDINATOR_PAGE),
    Row("POST", "coord.reinstate", COORDINATOR_PAGE),
    Row("POST", "coord.limits", COORDINATOR_PAGE),
    Row("POST", "coord.role", COORDINATOR_PAGE),
    Row("GET", "coord.add_offline", COORDINATOR_PAGE),
    Row("POST", "coord.add_offline", COORDINATOR_PAGE),
    Row("GET", "coord.record", COORDINATOR_PAGE),
    Row("POST", "coord.record", COORDINATOR_PAGE),
    Row("GET", "coord.disputes", COORDINATOR_PAGE),
    Row("POST", "coord.settle", COORDINATOR_PAGE),
    Row("GET", "coord.reverse", COORDINATOR_PAGE),
    Row("POST", "coord.reverse", COORDINATOR_PAGE),
    Row("GET", "coord.pot", COORDINATOR_PAGE),
    Row("POST", "coord.donate", COORDINATOR_PAGE),
    Row("POST", "coord.grant", COORDINATOR_PAGE),
    Row("POST", "coord.group_event", COORDINATOR_PAGE),
    Row("GET", "coord_reports.report", COORDINATOR_PAGE),
    Row("GET", "coord_reports.report_csv", COORDINATOR_PAGE),
    Row("GET", "coord_reports.member_statement", COORDINATOR_PAGE),
    # Every look at the safeguarding records is itself recorded: the page changes the database for those who see it.
    Row("GET", "coord_reports.safeguarding", OFFICER_CHANGES),
    Row("POST", "coord_reports.safeguarding", OFFICER_CHANGES),
    Row("GET", "coord_reports.settings", COORDINATOR_PAGE),
    Row("POST", "coord_reports.settings", COORDINATOR_PAGE),
    Row("GET", "coord_reports.categories", COORDINATOR_PAGE),
    Row("POST", "coord_reports.categories", COORDINATOR_PAGE),
    Row("GET", "coord_reports.category", COORDINATOR_PAGE),
    Row("POST", "coord_reports.category", COORDINATOR_PAGE),
    Row("POST", "coord_reports.category_active", COORDINATOR_CHANGES, body={"active": "0"}),
    Row("GET", "coord_reports.partner_keys", COORDINATOR_PAGE),
    Row("POST", "coord_reports.partner_keys", COORDINATOR_PAGE),
    Row("POST", "coord_reports.revoke_partner_key", COORDINATOR_CHANGES, fresh=lambda s: {"key_id": s.partner_key()}),
]


def test_every_web_route_has_a_row(scene):
    rows = [row.key for row in ROWS]
    assert len(rows) == len(set(rows)), "a route has two rows"
    routes = route_keys(scene.app)
    missing = sorted(routes - set(rows))
    assert not missing, (
        f"add a row to ROWS in {__name__} for each of these routes, saying what every role gets: {missing}"
    )
    assert not set(rows) - routes, f"rows for routes that do not exist: {sorted(set(rows) - routes)}"
    for row in ROWS:
        assert set(row.expect) == set(ROLES), row.key
    checks = len(ROWS) * len(ROLES)
    print(f"web authorisation matrix: {len(ROWS)} rows x {len(ROLES)} roles = {checks} checks")
    assert checks >= 90 * 9


@pytest.fixture(scope="module")
def scene(database_kind, tmp_path_factory):
    yield from scene_for(database_kind, tmp_path_factory.mktemp("matrix"))


@pytest.fixture(scope="module")
def snapshot(scene):
    return Snapshot(scene.app.extensions["timebank"].engine)


def outcome(response, slug: str, changed: bool) -> str:
    code = response.status_code
    if code in (301, 302, 303):
        path = redirect_path(response)
        if path == "/login":
            found = LOGIN
        elif path == f"/c/{slug}/membership":
            found = STATUS
        elif path.startswith("/c/") and not path.startswith(f"/c/{slug}/"):
            found = f"{code} to another community: {path}"
        else:
            found = OK
    else:
        found = OK if code == 200 else str(code)
    if changed:
        return CHANGED if found == OK else f"{found} and changed"
    return found


@pytest.mark.parametrize("row", ROWS, ids=[row.key for row in ROWS])
def test_each_role_gets_what_the_matrix_says(scene, snapshot, row):
    outcomes, changes = {}, {}
    before = snapshot.take()
    for role in ROLES:
        values = {**scene.values, **(row.values(scene) if row.values else {})}
        if row.fresh:
            values.update(row.fresh(scene))
            before = snapshot.take()
        if row.step:
            values["step"] = row.step
        path = build_path(scene.app, row.endpoint, values)
        browser = scene.browsers[role]
        response = browser.get(path) if row.method == "GET" else browser.post(path, data=row.body)
        after = snapshot.take()
        changed = Snapshot.difference(before, after)
        outcomes[role] = outcome(response, scene.slug, bool(changed))
        if changed:
            changes[role] = changed
        if outcomes[role] not in (OK, CHANGED) and outcomes[role] not in REFUSED:
            changes.setdefault(role, []).append(f"answer {response.status_code} {redirect_path(response)}")
        before = after
    if row.endpoint == "web.logout":
        for role in ROLES:
            scene.log_in_again(role)
    assert outcomes == row.expect, f"{row.key}: tables changed or odd answers: {changes}"


# Which of the other community's objects an address names, where it is not the one of the same name.
FOREIGN_NAMES = {
    "member.accept_invitation": {"listing_id": "invitation_listing_id"},
    "member.decline_invitation": {"listing_id": "invitation_listing_id"},
    "coord.approve": {"membership_id": "applicant_id"},
    "coord.decline": {"membership_id": "applicant_id"},
}
NOT_OBJECTS = {"slug", "step", "token"}
INSIDERS = ("member", "coordinator", "officer", "administrator")


def test_another_communitys_objects_are_not_found_under_this_communitys_address(scene, snapshot):
    """``/c/<this community>/listings/<a listing of another community>`` and the like, for every address that names
    an object: not found, for everyone of this community (its coordinator and the administrator too), and nothing
    changes. (Who may not open the page at all is refused as in the matrix.)"""
    checked, wrong = 0, {}
    for row in ROWS:
        names = set(rule_for(scene.app, row.endpoint).arguments) - NOT_OBJECTS
        if not names:
            continue
        aliases = {name: FOREIGN_NAMES.get(row.endpoint, {}).get(name, name) for name in names}
        foreign = scene.foreign_values(set(aliases.values()))
        values = {**scene.values, "step": row.step, **{name: foreign[alias] for name, alias in aliases.items()}}
        path = build_path(scene.app, row.endpoint, values)
        before = snapshot.take()
        for role in INSIDERS:
            browser = scene.browsers[role]
            response = browser.get(path) if row.method == "GET" else browser.post(path, data=row.body)
            after = snapshot.take()
            found = outcome(response, scene.slug, bool(Snapshot.difference(before, after)))
            before = after
            checked += 1
            if found != "404" and not (found == "403" and row.expect[role] == "403"):
                wrong[f"{row.key} as {role}: {row.method} {path}"] = found
    assert not wrong, wrong
    assert checked >= 30 * len(INSIDERS)
