"""Every page of the web front, found from the app's routes, in Chromium: axe-core finds nothing and nothing
scrolls sideways at 360 px. A new page is checked without anyone listing it here; a page whose address needs a
value this test cannot fill in fails the test until it learns to."""

from __future__ import annotations

from tests.web.browser.conftest import log_in_as
from tests.world import PASSWORD
from timebank import exchanges, listings, members

WEB_BLUEPRINTS = {"web", "public", "profile", "member", "exchange_pages", "coord", "coord_reports"}
# Not pages: the health and readiness checks and the downloads (CSV, JSON) are not HTML.
# The largest page: the community settings, whose time zone list alone is about 28 KB.
PAGE_MAX_BYTES = 48 * 1024
NOT_PAGES = {
    "web.health",
    "web.ready",
    "exchange_pages.statement_csv",
    "coord_reports.report_csv",
    "profile.download_data",
}


def _addresses(app, values: dict) -> list[str]:
    addresses = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".", 1)[0]
        if "GET" not in rule.methods or blueprint not in WEB_BLUEPRINTS or rule.endpoint in NOT_PAGES:
            continue
        missing = set(rule.arguments) - set(values)
        assert not missing, f"teach this test a value for {missing} of {rule.rule}"
        addresses.append(rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1])
    return sorted(addresses)


def test_every_page_passes_axe_and_fits_a_phone(new_browser, look_at, web_app, world):
    for person in (world.coordinator, world.officer):
        world.db.run(members.update_user_settings, actor=person.actor, preferred_language="en")
    listing = world.db.run(
        listings.post_listing,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        kind="request",
        title="Help with the garden fence",
        category_id=world.categories["klussen"],
        estimated_minutes=90,
    )
    exchange = world.db.run(exchanges.respond_to_listing, actor=world.bert.actor, listing_id=listing.id, message="Yes")
    values = {
        "slug": world.community.slug,
        "listing_id": listing.id,
        "exchange_id": exchange.id,
        "membership_id": world.ans.id,
        "category_id": world.categories["klussen"],
        "token": "no-longer-valid",
    }
    coordinator, officer = new_browser("en"), new_browser("en")
    log_in_as(coordinator, world.coordinator.user.email, PASSWORD)
    log_in_as(officer, world.officer.user.email, PASSWORD)
    seen = []
    fetched: list[tuple[str, str]] = []
    for window in (coordinator, officer):
        window.on("request", lambda request: fetched.append((request.resource_type, request.url)))
    for address in _addresses(web_app, values):
        page = coordinator
        fetched.clear()
        response = page.goto(address)
        if response.status == 403:  # safeguarding: for officers only
            page = officer
            fetched.clear()
            response = page.goto(address)
        assert response.status == 200, f"{address}: {response.status}"
        # Light for a slow phone connection: the page and the one stylesheet, nothing else, and a small page.
        assert {url.rsplit("/", 1)[-1] for kind, url in fetched if kind != "document"} <= {"style.css"}, fetched
        assert len(response.body()) <= PAGE_MAX_BYTES, f"{address} is {len(response.body())} bytes"
        look_at(page)
        seen.append(address)
    assert len(seen) >= 39, seen
    # And what a visitor sees: the pages for everyone, the application form, and where the others send them.
    visitor = new_browser("en")
    for address in [a for a in _addresses(web_app, values) if not a.startswith("/c/") or a.endswith("/apply")]:
        response = visitor.goto(address)
        assert response.status == 200, f"{address}: {response.status}"
        look_at(visitor)
    visitor.goto(f"/c/{world.community.slug}/listings")
    assert "/login" in visitor.url
    look_at(visitor)
