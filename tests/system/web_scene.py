"""A scene for attacking the web front: a community with a person in every role, each logged in through the login
page in a browser of their own (a test client), the objects the pages' addresses name, and the web routes found
from the app's url_map (so that a new page is attacked without anyone listing it).

Used by test_web_authorization_matrix.py, test_web_headers.py and test_html_injection.py.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import sqlalchemy as sa
from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter

from tests.conftest import fresh_database_url
from tests.web.conftest import csrf_token, make_web_app
from tests.world import PASSWORD, Person, World, add_user, build_world, join
from timebank import credentials, exchanges, listings, matching, members, payments, schema
from timebank.access import Actor
from timebank.models import LoginFailure, RevokedSession

WEB_BLUEPRINTS = frozenset({"web", "public", "profile", "member", "exchange_pages", "coord", "coord_reports"})
ROLES = (
    "anonymous",
    "applicant",  # applied to the community, not admitted yet
    "member",  # Ans: an active member, who owns the objects the addresses name
    "neighbour",  # Cor: an active member of the same community who owns none of them
    "coordinator",
    "officer",  # a safeguarding officer who is no coordinator
    "other_member",  # a member of another community
    "other_coordinator",  # a coordinator of another community
    "administrator",  # an administrator of the installation who is a member of nothing
)
# Rows that only say who logged in or out, or failed to: not what a page changed.
NOT_STATE = {LoginFailure.__tablename__, RevokedSession.__tablename__}


def web_rules(app) -> list[Rule]:
    """The web front's routes (not the API's, not the static files)."""
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.split(".", 1)[0] in WEB_BLUEPRINTS]
    return sorted(rules, key=lambda rule: (rule.rule, rule.endpoint))


def route_variants(rule: Rule) -> list[dict[str, str]]:
    """One dict of fixed values per page an address with ``<any(...)>`` parts stands for (else one empty dict)."""
    variants: list[dict[str, str]] = [{}]
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            variants = [{**variant, name: item} for variant in variants for item in sorted(converter.items)]
    return variants


def route_keys(app) -> set[str]:
    """``"GET member.listing"``, ``"POST exchange_pages.act[agree]"``: every page and action of the web front."""
    keys = set()
    for rule in web_rules(app):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            for variant in route_variants(rule):
                suffix = "".join(f"[{value}]" for value in variant.values())
                keys.add(f"{method} {rule.endpoint}{suffix}")
    return keys


def rule_for(app, endpoint: str) -> Rule:
    return next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)


def build_path(app, endpoint: str, values: dict) -> str:
    rule = rule_for(app, endpoint)
    missing = set(rule.arguments) - set(values)
    assert not missing, f"teach the scene a value for {missing} of {rule.rule}"
    return rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]


@dataclass
class Browser:
    """A test client with the CSRF token of its session."""

    client: object
    email: str | None
    token: str = ""

    def refresh_token(self) -> None:
        self.token = csrf_token(self.client.get("/").get_data(as_text=True))

    def log_in(self) -> None:
        page = self.client.get("/login").get_data(as_text=True)
        answer = self.client.post(
            "/login", data={"email": self.email, "password": PASSWORD, "csrf_token": csrf_token(page)}
        )
        assert answer.status_code == 302, f"{self.email} could not log in"
        self.refresh_token()

    def get(self, path: str, **options):
        return self.client.get(path, **options)

    def post(self, path: str, data: dict | None = None, **options):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **options)


@dataclass
class Scene:
    app: object
    world: World
    other: World
    applicant: Person
    dora: Person  # a member the coordinators' actions may act on
    browsers: dict[str, Browser] = field(default_factory=dict)
    values: dict = field(default_factory=dict)

    @property
    def db(self):
        return self.world.db

    @property
    def slug(self) -> str:
        return self.world.community.slug

    def log_in_again(self, role: str) -> None:
        """After a check that logged the role out."""
        browser = self.browsers[role]
        if browser.email is None:
            browser.refresh_token()
        else:
            browser.log_in()

    # --- fresh objects (in this community, or in ``world``) ----------------------------------------------------

    def request_by(self, person, *, world: World | None = None, category: str = "klussen") -> int:
        world = world or self.world
        return self.db.run(
            listings.post_listing,
            actor=person.actor,
            community_id=world.community_id,
            kind="request",
            title="Help with the garden fence",
            category_id=world.categories[category],
            estimated_minutes=90,
        ).id

    def exchange(self, state: str, *, world: World | None = None, category: str = "klussen") -> int:
        """An exchange on a request of Ans with Bert as helper, in ``state``: proposed, agreed, recorded (by Bert)
        or confirmed."""
        world = world or self.world
        listing_id = self.request_by(world.ans, world=world, category=category)
        exchange = self.db.run(exchanges.respond_to_listing, actor=world.bert.actor, listing_id=listing_id)
        if state in ("agreed", "recorded", "confirmed"):
            self.db.run(exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id)
        if state in ("recorded", "confirmed"):
            self.db.run(payments.record_minutes, actor=world.bert.actor, exchange_id=exchange.id, minutes=5)
        if state == "confirmed":
            self.db.run(payments.confirm_exchange, actor=world.ans.actor, exchange_id=exchange.id)
        return exchange.id

    def invitation_to_ans(self, *, world: World | None = None) -> tuple[int, int]:
        """A request of Bert's and his invitation to Ans: (listing id, invitation id)."""
        world = world or self.world
        listing_id = self.request_by(world.bert, world=world)
        invitation = self.db.run(
            matching.invite_member, actor=world.bert.actor, listing_id=listing_id, membership_id=world.ans.id
        )
        return listing_id, invitation.id

    def new_applicant(self, *, world: World | None = None) -> int:
        world = world or self.world
        return self.db.run(
            members.apply_to_join,
            actor=Actor.for_user(add_user(self.db)),
            community_id=world.community_id,
            display_name="Eva Nieuw",
        ).id

    def partner_key(self, *, world: World | None = None) -> int:
        world = world or self.world
        return self.db.run(
            credentials.create_partner_key,
            actor=world.coordinator.actor,
            community_id=world.community_id,
            name="Buurthuis app",
            scopes=["listings:read"],
        ).credential.id

    def foreign_values(self, names: set[str]) -> dict:
        """Address values (``names``) naming fresh objects of the other community."""
        other = self.other
        found = {}
        if names & {"invitation_listing_id", "invitation_id"}:
            found["invitation_listing_id"], found["invitation_id"] = self.invitation_to_ans(world=other)
        makers = {
            "listing_id": lambda: self.request_by(other.ans, world=other),
            "exchange_id": lambda: self.exchange("proposed", world=other),
            "membership_id": lambda: other.bert.id,
            "applicant_id": lambda: self.new_applicant(world=other),
            "category_id": lambda: other.categories["klussen"],
            "key_id": lambda: self.partner_key(world=other),
        }
        found.update({name: makers[name]() for name in names if name in makers})
        return found


def build_scene(database_url: str, instance_path) -> Scene:
    app = make_web_app(database_url, instance_path)
    db = app.extensions["timebank"].database
    world, other = build_world(db), build_world(db)
    applicant = Person(user=add_user(db))
    applicant.membership = db.run(
        members.apply_to_join,
        actor=applicant.actor,
        community_id=world.community_id,
        display_name="Anouk Aanvraag",
        note="I like to cook.",
    )
    dora = join(db, world.admin.actor, world.community_id, "Dora Doel")
    scene = Scene(app=app, world=world, other=other, applicant=applicant, dora=dora)
    people = {
        "anonymous": None,
        "applicant": applicant,
        "member": world.ans,
        "neighbour": world.cor,
        "coordinator": world.coordinator,
        "officer": world.officer,
        "other_member": other.ans,
        "other_coordinator": other.coordinator,
        "administrator": world.admin,
    }
    for role in ROLES:
        person = people[role]
        browser = Browser(client=app.test_client(), email=None if person is None else person.user.email)
        scene.browsers[role] = browser
        scene.log_in_again(role)
    listing_id = scene.request_by(world.ans)
    invitation_listing, invitation_id = scene.invitation_to_ans()
    scene.values = {
        "slug": world.community.slug,
        "listing_id": listing_id,
        "invitation_listing_id": invitation_listing,
        "invitation_id": invitation_id,
        "exchange_id": scene.exchange("proposed"),
        "membership_id": dora.id,
        "applicant_id": applicant.membership.id,
        "category_id": world.categories["klussen"],
        "key_id": scene.partner_key(),
        "token": "no-longer-valid",
    }
    return scene


def scene_for(database_kind: str, directory) -> Iterator[Scene]:
    """A scene on a database of its own (so that a snapshot of it is small and says only what the pages did)."""
    url, drop = fresh_database_url(database_kind, directory)
    schema.upgrade(url)
    scene = build_scene(url, directory / f"instance-{uuid.uuid4().hex[:6]}")
    try:
        yield scene
    finally:
        scene.app.extensions["timebank"].engine.dispose()
        drop()


# --- what the database holds -----------------------------------------------------------------------------------


class Snapshot:
    """A fingerprint of every row of every table (but the login counters and ended sessions)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        metadata = sa.MetaData()
        metadata.reflect(engine)
        quote = engine.dialect.identifier_preparer.quote
        self.queries = {}
        for name, table in sorted(metadata.tables.items()):
            if name in NOT_STATE:
                continue
            order = ", ".join(quote(column.name) for column in (list(table.primary_key.columns) or table.columns))
            self.queries[name] = f"SELECT * FROM {quote(name)} ORDER BY {order}"

    def take(self) -> dict[str, str]:
        found = {}
        with self.engine.connect() as connection:
            for name, query in self.queries.items():
                rows = connection.exec_driver_sql(query).fetchall()
                found[name] = f"{len(rows)}:{hashlib.sha256(repr(rows).encode()).hexdigest()[:16]}"
        return found

    @staticmethod
    def difference(before: dict[str, str], after: dict[str, str]) -> list[str]:
        return sorted(name for name in before if before[name] != after[name])


def redirect_path(response) -> str:
    return urlsplit(response.headers.get("Location", "")).path


# --- every page ---------------------------------------------------------------------------------------------------


def get_addresses(scene: Scene, values: dict | None = None) -> list[str]:
    """Every GET route of the web front, filled in with the scene's values (or ``values``)."""
    values = values or scene.values
    addresses = []
    for rule in web_rules(scene.app):
        if "GET" not in rule.methods:
            continue
        for variant in route_variants(rule):
            addresses.append(build_path(scene.app, rule.endpoint, {**values, **variant}))
    return sorted(set(addresses))


def pages_in_every_state(scene: Scene) -> list[str]:
    """More addresses, for pages that show other forms in other states: an exchange at every step (a disputed one
    puts a form on the coordinators' disputes page), a listing with an invitation and a closed one, a search, a
    transaction to reverse, an applicant's and a member's page for coordinators, a live link to set a password."""
    from timebank.web.public import reset_link

    world, slug = scene.world, scene.slug
    disputed = scene.exchange("recorded")
    scene.db.run(payments.dispute_exchange, actor=world.ans.actor, exchange_id=disputed, reason="It was less.")
    confirmed = scene.exchange("confirmed")
    closed = scene.request_by(world.ans)
    scene.db.run(listings.close_listing, actor=world.ans.actor, listing_id=closed)
    transaction = scene.db.read(exchanges.get_exchange, actor=world.ans.actor, exchange_id=confirmed)
    with scene.app.test_request_context():
        link = reset_link(scene.dora.user.id, members.password_fingerprint(scene.dora.user))
    exchange_ids = [
        scene.exchange("proposed"),
        scene.exchange("proposed", category="oppassen"),
        scene.exchange("agreed"),
        scene.exchange("recorded"),
        disputed,
        confirmed,
    ]
    return [
        *(f"/c/{slug}/exchanges/{exchange_id}" for exchange_id in exchange_ids),
        f"/c/{slug}/listings/{scene.values['invitation_listing_id']}",
        f"/c/{slug}/listings/{closed}",
        f"/c/{slug}/listings?text=garden&kind=request",
        f"/c/{slug}/coordinate/reverse?transaction={transaction.exchange.ledger_transaction_id}",
        f"/c/{slug}/coordinate/members/{scene.applicant.membership.id}",
        f"/c/{slug}/coordinate/members/{world.ans.id}",
        f"/c/{slug}/coordinate/members?name=a",
        urlsplit(link).path,
    ]


# --- what a page holds ----------------------------------------------------------------------------------------------


class PageParts(HTMLParser):
    """What a page holds that matters here: its forms (method, whether a CSRF token is inside), scripts, handlers,
    styles and javascript: addresses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.problems: list[str] = []
        self._open_form: dict | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"an event handler {name}= on <{tag}>")
            if name == "style":
                self.problems.append(f"a style attribute on <{tag}>")
            if (
                value
                and name in ("href", "src", "action", "formaction")
                and value.strip().lower().startswith("javascript:")
            ):
                self.problems.append(f"a javascript: address on <{tag}>")
        if tag == "style":
            self.problems.append("a <style> element")
        if tag == "script":
            self._in_script = True
            if not attributes.get("src"):
                self.problems.append("an inline <script>")
        if tag == "form":
            self._open_form = {"method": (attributes.get("method") or "get").lower(), "token": False}
            self.forms.append(self._open_form)
        # A prefixed form's token is "<prefix>-csrf_token": Flask-WTF takes any field whose name ends so.
        if tag == "input" and (attributes.get("name") or "").endswith("csrf_token") and self._open_form is not None:
            self._open_form["token"] = bool(attributes.get("value"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open_form = None
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("a <script> with code in it")


def page_parts(html: str) -> PageParts:
    parser = PageParts()
    parser.feed(html)
    parser.close()
    return parser
