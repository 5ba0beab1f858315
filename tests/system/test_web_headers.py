"""Security headers, cookies and CSRF on every page and every action of the web front, found from the url_map.

Every page (each GET route, and the same pages in other states: an exchange at every step, a listing with an
invitation, a dispute to settle...) is fetched by every role, whatever it answers (200, a redirect, 403, 404):
- the Content-Security-Policy allows no inline script or style (``script-src 'self'``) and no framing
  (``frame-ancestors 'none'``); nosniff, a Referrer-Policy and X-Frame-Options are there; HSTS is not, in testing;
- an HTML page holds no inline script, event handler, ``javascript:`` address or style attribute;
- every ``<form method="post">`` carries a ``csrf_token`` input;
- a page shown to a signed-in person, or holding a form token, is ``Cache-Control: no-store``;
- every session cookie set is HttpOnly, SameSite=Lax and (outside development) Secure;
and the crawl renders every template of the web front at least once (a new template must be reached).
In production (ENV=production, a secret key) every page adds HSTS and the cookie is Secure; in development neither.
Every POST route refuses a missing, a forged and another session's CSRF token with 400, changing nothing, where the
same request with the right token does what it says.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import template_rendered

from tests.system.test_web_authorization_matrix import CHANGED, OK, ROWS
from tests.system.web_scene import (
    ROLES,
    Browser,
    Snapshot,
    build_path,
    get_addresses,
    page_parts,
    pages_in_every_state,
    scene_for,
)
from tests.web.conftest import make_web_app

HSTS = "max-age=31536000; includeSubDomains"
TEMPLATES = Path(__file__).resolve().parents[2] / "timebank" / "templates"
# Templates that only other templates include or extend.
PARTS = {"base.html", "_forms.html"}
SAFE_METHODS_OF_FORMS = {"get"}


def cookie_problems(response, *, secure: bool) -> list[str]:
    problems = []
    for cookie in response.headers.getlist("Set-Cookie"):
        attributes = {part.strip().split("=", 1)[0].lower() for part in cookie.split(";")[1:]}
        if "httponly" not in attributes:
            problems.append(f"not HttpOnly: {cookie}")
        if "samesite=lax" not in cookie.lower().replace(" ", ""):
            problems.append(f"not SameSite=Lax: {cookie}")
        if secure != ("secure" in attributes):
            problems.append(f"{'not ' if secure else ''}Secure: {cookie}")
    return problems


def header_problems(response, *, signed_in: bool, hsts: bool, secure_cookie: bool) -> list[str]:
    """What is wrong with one answer's headers (and, for HTML, its forms and scripts)."""
    headers, problems = response.headers, []
    policy = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    if directives.get("script-src") != ["'self'"]:
        problems.append(f"script-src is {directives.get('script-src')}")
    if directives.get("style-src") != ["'self'"]:
        problems.append(f"style-src is {directives.get('style-src')}")
    if directives.get("default-src") != ["'self'"]:
        problems.append(f"default-src is {directives.get('default-src')}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors is {directives.get('frame-ancestors')}")
    if "unsafe-inline" in policy or "unsafe-eval" in policy:
        problems.append(f"the policy allows unsafe code: {policy}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no nosniff")
    if headers.get("Referrer-Policy") not in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"):
        problems.append(f"Referrer-Policy is {headers.get('Referrer-Policy')}")
    if headers.get("X-Frame-Options") != "DENY":
        problems.append("no X-Frame-Options: DENY")
    if hsts and headers.get("Strict-Transport-Security") != HSTS:
        problems.append(f"HSTS is {headers.get('Strict-Transport-Security')}")
    if not hsts and "Strict-Transport-Security" in headers:
        problems.append("HSTS over plain http")
    problems += cookie_problems(response, secure=secure_cookie)
    body = response.get_data(as_text=True)
    holds_token = re.search(r'name="[^"]*csrf_token"', body) is not None
    if (signed_in or holds_token) and "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"Cache-Control is {headers.get('Cache-Control')} (signed in: {signed_in})")
    if response.mimetype == "text/html":
        parts = page_parts(body)
        problems += parts.problems
        for number, form in enumerate(parts.forms, start=1):
            if form["method"] not in SAFE_METHODS_OF_FORMS and not form["token"]:
                problems.append(f"form {number} (method {form['method']}) has no csrf_token")
    return problems


@pytest.fixture(scope="module")
def scene(database_kind, tmp_path_factory):
    yield from scene_for(database_kind, tmp_path_factory.mktemp("headers"))


@pytest.fixture(scope="module")
def addresses(scene) -> list[str]:
    return get_addresses(scene) + pages_in_every_state(scene)


def web_templates() -> set[str]:
    found = {str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")}
    return {name for name in found if name not in PARTS and not Path(name).name.startswith("_")}


def test_every_page_for_every_role_has_the_headers_forms_and_cookies(scene, addresses):
    rendered: set[str] = set()

    def note(sender, template, context, **extra):
        rendered.add(template.name)

    problems, answers = {}, 0
    with template_rendered.connected_to(note, scene.app):
        for role in ROLES:
            browser = scene.browsers[role]
            for address in addresses:
                response = browser.get(address)
                answers += 1
                found = header_problems(response, signed_in=role != "anonymous", hsts=False, secure_cookie=True)
                if found:
                    problems[f"{address} as {role} ({response.status_code})"] = found
    assert not problems, problems
    # The crawl reached every template but the refused form (the CSRF test below shows that one).
    unseen = web_templates() - rendered - {"form_refused.html"}
    assert not unseen, f"no page of the crawl rendered {sorted(unseen)}: teach pages_in_every_state to reach them"
    assert answers >= 50 * len(ROLES), answers
    print(f"headers: {len(addresses)} addresses x {len(ROLES)} roles = {answers} answers checked")


def test_a_page_with_a_form_token_is_not_stored_even_for_a_visitor(scene):
    visitor = scene.browsers["anonymous"]
    page = visitor.get("/")
    assert 'name="csrf_token"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    # The stylesheet holds nothing personal: caches may keep it.
    with visitor.get("/static/style.css") as stylesheet:
        assert "no-store" not in stylesheet.headers.get("Cache-Control", "")


@pytest.mark.parametrize(
    ("environment", "hsts", "secure"),
    [
        pytest.param("production", True, True, id="production"),
        pytest.param("development", False, False, id="development"),
    ],
)
def test_hsts_and_secure_cookies_outside_development_only(scene, addresses, tmp_path, environment, hsts, secure):
    database_url = str(scene.app.extensions["timebank"].engine.url.render_as_string(hide_password=False))
    app = make_web_app(
        database_url, tmp_path / "instance", ENV=environment, TESTING=False, SECRET_KEY="a-long-random-secret-" * 3
    )
    try:
        base = "https://localhost" if secure else "http://localhost"
        visitor = app.test_client()
        member = Browser(client=app.test_client(), email=scene.world.ans.user.email)
        login_page = member.client.get("/login", base_url=base)
        assert not cookie_problems(login_page, secure=secure)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page.get_data(as_text=True))
        logged_in = member.client.post(
            "/login",
            data={"email": member.email, "password": "correct horse battery staple", "csrf_token": token.group(1)},
            base_url=base,
            # Over https Flask-WTF wants a Referer of the same site, as browsers send it.
            headers={"Referer": f"{base}/login"},
        )
        assert logged_in.status_code == 302
        set_cookie = logged_in.headers.get("Set-Cookie", "")
        assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and ("Secure" in set_cookie) == secure
        problems = {}
        for who, client in (("visitor", visitor), ("member", member.client)):
            for address in addresses:
                response = client.get(address, base_url=base)
                found = header_problems(response, signed_in=who == "member", hsts=hsts, secure_cookie=secure)
                if found:
                    problems[f"{address} as {who}"] = found
        assert not problems, problems
    finally:
        app.extensions["timebank"].engine.dispose()


# --- CSRF on every action -------------------------------------------------------------------------------------------


def acting_role(row) -> str:
    """A role for whom the action goes through: one for whom it changes something if there is one."""
    for wanted in (CHANGED, OK):
        for role in ROLES:
            if row.expect[role] == wanted and role != "anonymous":
                return role
    raise AssertionError(f"nobody may {row.key}")


POST_ROWS = [row for row in ROWS if row.method == "POST"]


def test_every_action_refuses_a_missing_forged_or_borrowed_csrf_token(scene):
    snapshot = Snapshot(scene.app.extensions["timebank"].engine)
    rendered: list[str] = []

    def note(sender, template, context, **extra):
        rendered.append(template.name)

    refused, problems = 0, {}
    with template_rendered.connected_to(note, scene.app):
        for row in POST_ROWS:
            role = acting_role(row)
            browser = scene.browsers[role]
            borrowed = scene.browsers["neighbour" if role != "neighbour" else "member"].token
            values = {**scene.values, **(row.values(scene) if row.values else {})}
            if row.fresh:
                values.update(row.fresh(scene))
            if row.step:
                values["step"] = row.step
            path = build_path(scene.app, row.endpoint, values)
            body = row.body or {}
            attempts = {
                "no token": (browser, body),
                "a forged token": (browser, {**body, "csrf_token": "forged"}),
                "an empty token": (browser, {**body, "csrf_token": ""}),
                "another session's token": (browser, {**body, "csrf_token": borrowed}),
                "its own token under another name": (browser, {**body, "csrf": browser.token}),
            }
            if row.expect["anonymous"] == OK:
                attempts["no token, as a visitor"] = (scene.browsers["anonymous"], body)
            before = snapshot.take()
            for name, (sender, data) in attempts.items():
                rendered.clear()
                response = sender.client.post(path, data=data)
                refused += 1
                if response.status_code != 400 or rendered != ["form_refused.html"]:
                    problems.setdefault(row.key, []).append(f"{name}: {response.status_code} {rendered}")
            changed = Snapshot.difference(before, snapshot.take())
            if changed:
                problems.setdefault(row.key, []).append(f"changed {changed}")
            # The same request with the right token does what it says: the refusals above were about the token.
            before = snapshot.take()
            answer = browser.post(path, data=body)
            if row.expect[role] == CHANGED and not Snapshot.difference(before, snapshot.take()):
                problems.setdefault(row.key, []).append(f"with its token as {role}: {answer.status_code}, no change")
            if answer.status_code == 400:
                problems.setdefault(row.key, []).append(f"with its token as {role}: 400")
            if row.endpoint == "web.logout":
                scene.log_in_again(role)
    assert not problems, problems
    assert refused >= 5 * len(POST_ROWS)
    print(f"CSRF: {len(POST_ROWS)} actions, {refused} requests without a valid token refused")


def test_the_checks_catch_what_they_look_for(scene):
    """The checks above can fail: a page with each fault, and an answer without the headers, are caught."""
    faults = (
        '<form method="post" action="/x"><button>Go</button></form>'
        '<form method="POST"><input type="hidden" name="csrf_token" value=""></form>'
        "<script>alert(1)</script><script src=/s.js></script><style>p{}</style>"
        '<p style="color:red" onclick="x()"><a href=" JavaScript:alert(1)">x</a></p>'
    )
    found = page_parts(faults)
    assert [form["token"] for form in found.forms] == [False, False]
    assert len(found.problems) == 6, found.problems
    with scene.app.test_request_context():
        bare = scene.app.response_class(faults, mimetype="text/html")
        bare.headers["Set-Cookie"] = "session=abc; Path=/"
        problems = header_problems(bare, signed_in=True, hsts=True, secure_cookie=True)
    for expected in (
        "script-src",
        "frame-ancestors",
        "nosniff",
        "Referrer-Policy",
        "HSTS",
        "HttpOnly",
        "Cache-Control",
    ):
        assert any(expected in problem for problem in problems), (expected, problems)
    assert sum("has no csrf_token" in problem for problem in problems) == 2
