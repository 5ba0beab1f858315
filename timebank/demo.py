"""``timebank demo``: a living Dutch demo community, "Buurtbank Oosterpark", built through the real use cases.

About forty members with profiles, two coordinators and a safeguarding officer, two offline neighbours, a few
months of exchanges (most confirmed, some waiting, one disputed) with thank-you notes, pot donations, a grant
and a neighbourhood clean-up as a group event, and open requests and offers for the coming weeks. Everything
goes through the same use cases as the web front and the API, with the clock set back, so the data obeys every
rule (floors, ceilings, safeguarding checks) and the books verify.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ledger import errors as ledger_errors
from ledger.core import utc_now
from timebank import communities, exchanges, listings, members, payments, pot, safeguarding
from timebank import errors as domain_errors
from timebank.access import Actor
from timebank.communities import CategorySpec
from timebank.database import Database
from timebank.models import Community, Membership, User

SLUG = "oosterpark"
DEMO_PASSWORD = "buurtbank-demo-2026"
EMAIL_DOMAIN = "oosterpark.example"
ZONE = ZoneInfo("Europe/Amsterdam")
HISTORY_DAYS = 120
CATEGORIES = [
    CategorySpec("oppassen", "Babysitting", "Oppassen", involves_children=True),
    CategorySpec("boodschappen", "Errands", "Boodschappen"),
    CategorySpec("huiswerkbegeleiding", "Homework help", "Huiswerkbegeleiding", involves_children=True),
    CategorySpec("klussen", "Odd jobs", "Klussen"),
    CategorySpec("vervoer", "Transport", "Vervoer"),
    CategorySpec("koken", "Cooking", "Koken"),
    CategorySpec("gezelschap", "Company", "Gezelschap"),
    CategorySpec("taal", "Letters and language", "Brieven en taal"),
]
NEIGHBOURHOODS = ["Oosterpark", "Dapperbuurt", "Transvaalbuurt", "Weesperzijde", "Indische Buurt"]
NAMES = [
    "Ans de Vries",
    "Bert Jansen",
    "Fatima El Amrani",
    "Mohamed Bouzid",
    "Sanne Visser",
    "Henk Smit",
    "Priya Ramdin",
    "Kees Mulder",
    "Yasmina Haddou",
    "Joost de Boer",
    "Marieke Bos",
    "Ahmet Yilmaz",
    "Lotte Meijer",
    "Wim van Dijk",
    "Noura Benali",
    "Ria Hendriks",
    "Dewi Soerjadi",
    "Jan Peters",
    "Ilse Kramer",
    "Tarik Ouali",
    "Emma de Jong",
    "Gerrit Vos",
    "Aylin Demir",
    "Sophie Dekker",
    "Rashid Kanhai",
    "Truus van Leeuwen",
    "Daan Brouwer",
    "Fenna Willems",
    "Hamza Azzouzi",
    "Greetje Post",
    "Lucas Kok",
    "Mila Verhoeven",
    "Otto Schouten",
    "Nadia Tahiri",
    "Bas Jacobs",
    "Linda Wolters",
    "Sem Koster",
    "Anouk Prins",
]
COORDINATORS = ["Carla Hoekstra", "Mohammed Amrani"]
OFFICER = "Olga Veldkamp"
OFFLINE = ["Mevrouw Stins", "Meneer Koolhoven"]
REQUESTS = {
    "oppassen": ["Oppas gezocht vrijdagavond", "Wie past woensdagmiddag op onze zoon?"],
    "boodschappen": ["Boodschappen halen na mijn operatie", "Wie neemt zware boodschappen mee?"],
    "huiswerkbegeleiding": ["Hulp bij rekenen groep 7", "Wie oefent Engels met mijn dochter?"],
    "klussen": ["Lamp ophangen in de gang", "Fietsband plakken", "Kast in elkaar zetten"],
    "vervoer": ["Lift naar het ziekenhuis (OLVG)", "Wie rijdt mee naar de kringloop?"],
    "koken": ["Maaltijd voor een zieke buurvrouw", "Samen koken voor het buurtfeest"],
    "gezelschap": ["Wandeling in het Oosterpark", "Kopje koffie en een praatje"],
    "taal": ["Brief van de gemeente uitleggen", "Hulp bij formulier toeslagen"],
}
OFFERS = {
    "klussen": "Ik repareer fietsen op zaterdag",
    "boodschappen": "Boodschappen doen op doordeweekse ochtenden",
    "taal": "Ik help met brieven en formulieren",
    "koken": "Ik kook graag een extra portie",
    "gezelschap": "Samen wandelen of koffie drinken",
    "vervoer": "Ik heb een auto en rijd graag mee",
}
THANKS = [
    "Heel erg bedankt, je was een geweldige hulp!",
    "Dank je wel, het voelde als hulp van een vriend.",
    "Super fijn, de kinderen vonden het ook leuk.",
    "Bedankt voor je geduld en je gezelligheid.",
    "Wat fijn dat je zo snel kon komen. Dank je!",
]

COMMUNITY_NAME = "Buurtbank Oosterpark"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DemoLogins:
    community_name: str
    administrator_email: str
    coordinator_email: str
    member_email: str
    password: str
    exchanges: int


def demo_exists(database: Database) -> bool:
    return database.read(
        lambda *, session: session.execute(sa.select(Community.id).where(Community.slug == SLUG)).first() is not None
    )


def email_for(name: str) -> str:
    return f"{name.split()[0].lower()}@{EMAIL_DOMAIN}"


class _Builder:
    """Builds the demo step by step; every step is a use case run at a moment in the past."""

    def __init__(self, database: Database, *, now: datetime, seed: int, progress: Progress | None):
        self.db, self.now, self.rng, self.progress = database, now, random.Random(seed), progress
        self.start = now - timedelta(days=HISTORY_DAYS)
        self.people: dict[str, Membership] = {}
        self.actors: dict[str, Actor] = {}
        self.categories: dict[str, int] = {}
        self.checked: set[str] = set()
        self.exchanges_done = 0

    def report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def user(self, name: str, *, administrator: bool = False) -> Actor:
        def create(*, session):
            user = members.register_user(session=session, email=email_for(name), password=DEMO_PASSWORD, now=self.start)
            if administrator:
                session.get(User, user.id).is_administrator = True
                session.commit()
            return Actor(user_id=user.id, is_administrator=administrator)

        return self.db.run(create)

    def community(self, admin: Actor) -> Community:
        community = self.db.run(
            communities.create_community,
            actor=admin,
            slug=SLUG,
            name=COMMUNITY_NAME,
            categories=CATEGORIES,
            language="nl",
            time_zone="Europe/Amsterdam",
            default_floor_minutes=-600,
            default_ceiling_minutes=2400,
            welcome_credit_minutes=120,
            auto_confirm_days=7,
            approval_required=True,
            now=self.start,
        )
        self.categories = {c.slug: c.id for c in self.db.read(communities.categories, community_id=community.id)}
        return community

    def member(self, community: Community, admin: Actor, name: str, *, at: datetime) -> None:
        actor = self.user(name)
        membership = self.db.run(
            members.apply_to_join,
            actor=actor,
            community_id=community.id,
            display_name=name,
            neighbourhood=self.rng.choice(NEIGHBOURHOODS),
            note="Ik doe graag mee in de buurt.",
            now=at,
        )
        self.db.run(members.approve_member, actor=admin, membership_id=membership.id, now=at)
        interests = self.rng.sample(sorted(self.categories), 3)
        slots = self.rng.sample(members.AVAILABILITY_SLOTS, 6)
        self.people[name] = self.db.run(
            members.update_profile,
            actor=actor,
            membership_id=membership.id,
            interests=interests,
            availability=slots,
            languages=self.rng.choice(
                [["Nederlands"], ["Nederlands", "Engels"], ["Nederlands", "Arabisch"], ["Nederlands", "Turks"]]
            ),
            likes_to_do=f"Ik help graag met {', '.join(interests)}.",
            visibility={"likes_to_do": True, "availability": True, "thank_you_notes": True},
        )
        self.actors[name] = actor

    def local(self, day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(self.start.tzinfo)


def create_demo(
    database: Database, *, now: datetime | None = None, seed: int = 2026, progress: Progress | None = None
) -> DemoLogins:
    """Build the demo community (once: refuses when it exists) and return the logins to try it with."""
    now = utc_now(now)
    if demo_exists(database):
        raise domain_errors.Conflict("the demo community exists already", slug=SLUG)
    builder = _Builder(database, now=now, seed=seed, progress=progress)
    total = len(NAMES) + len(COORDINATORS) + HISTORY_DAYS + 4
    admin = builder.user("Beheer Buurtbank", administrator=True)
    community = builder.community(admin)
    _people(builder, community, admin, total)
    _checks(builder, community, admin)
    _history(builder, community, admin, total)
    _open_listings(builder, community)
    builder.report(total, total)
    return dataclasses.replace(DEMO_LOGINS, community_name=community.name, exchanges=builder.exchanges_done)


DEMO_LOGINS = DemoLogins(
    community_name=COMMUNITY_NAME,
    administrator_email=email_for("Beheer Buurtbank"),
    coordinator_email=email_for(COORDINATORS[0]),
    member_email=email_for(NAMES[0]),
    password=DEMO_PASSWORD,
    exchanges=0,
)
"""The demo's logins (``exchanges`` is only known once it is built)."""


def _people(builder: _Builder, community: Community, admin: Actor, total: int) -> None:
    for index, name in enumerate([*COORDINATORS, OFFICER, *NAMES]):
        joined = builder.start + timedelta(days=min(index, 30), hours=10)
        builder.member(community, admin, name, at=joined)
        builder.report(index + 1, total)
    for name in COORDINATORS:
        builder.db.run(
            members.set_role,
            actor=admin,
            membership_id=builder.people[name].id,
            role="coordinator",
            now=builder.start + timedelta(days=1),
        )
    builder.db.run(
        members.set_role,
        actor=admin,
        membership_id=builder.people[OFFICER].id,
        safeguarding_officer=True,
        now=builder.start + timedelta(days=2),
    )
    for name in OFFLINE:
        offline = builder.db.run(
            members.add_offline_member,
            actor=builder.actors[COORDINATORS[0]],
            community_id=community.id,
            display_name=name,
            neighbourhood="Oosterpark",
            now=builder.start + timedelta(days=3),
        )
        builder.people[name] = offline


def _checks(builder: _Builder, community: Community, admin: Actor) -> None:
    """A third of the members showed a certificate of conduct (VOG) to the safeguarding officer."""
    officer = builder.actors[OFFICER]
    for name in builder.rng.sample(list(NAMES), len(NAMES) // 3):
        seen = (builder.start + timedelta(days=20)).date()
        builder.db.run(
            safeguarding.record_check,
            actor=officer,
            community_id=community.id,
            membership_id=builder.people[name].id,
            scheme="vog",
            seen_on=seen,
            review_on=seen.replace(year=seen.year + 3),
            now=builder.start + timedelta(days=20),
        )
        builder.checked.add(name)


def _history(builder: _Builder, community: Community, admin: Actor, total: int) -> None:
    names = list(NAMES)
    for offset in range(HISTORY_DAYS):
        day = (builder.start + timedelta(days=offset)).astimezone(ZONE).date()
        if offset >= 31:
            for _ in range(builder.rng.choice([0, 1, 1, 2])):
                _one_exchange(builder, community, names, day, recent=offset > HISTORY_DAYS - 8)
        if offset == 60:
            _pot_work(builder, community, names, day)
        builder.report(len(NAMES) + len(COORDINATORS) + 1 + offset, total)


def _one_exchange(builder: _Builder, community: Community, names: list[str], day: date, *, recent: bool) -> None:
    """A request posted in the morning, answered by a willing neighbour, done, recorded and (mostly) confirmed."""
    rng = builder.rng
    slug = rng.choice(sorted(REQUESTS))
    requester = rng.choice(names)
    helpers = [
        n for n in names if n != requester and (slug not in ("oppassen", "huiswerkbegeleiding") or n in builder.checked)
    ]
    helper = rng.choice(helpers)
    posted = builder.local(day, 8)
    try:
        _run_exchange(builder, community, slug, requester, helper, day, posted, recent=recent)
    except (domain_errors.DomainError, ledger_errors.LedgerError):
        return  # a neighbour at their floor or ceiling simply doesn't take this one; the demo moves on


def _run_exchange(builder, community, slug, requester, helper, day, posted, *, recent: bool) -> None:
    db, rng, asking, helping = builder.db, builder.rng, builder.actors[requester], builder.actors[helper]
    listing = db.run(
        listings.post_listing,
        actor=asking,
        community_id=community.id,
        kind="request",
        title=rng.choice(REQUESTS[slug]),
        category_id=builder.categories[slug],
        estimated_minutes=rng.choice([60, 90, 120]),
        description="Graag een buurtgenoot die even tijd heeft.",
        window_start=builder.local(day, 14),
        window_end=builder.local(day, 20),
        now=posted,
    )
    exchange = db.run(
        exchanges.respond_to_listing,
        actor=helping,
        listing_id=listing.id,
        message="Ik kan wel helpen!",
        now=posted + timedelta(hours=1),
    )
    if slug in ("oppassen", "huiswerkbegeleiding"):
        db.run(exchanges.accept_helper, actor=asking, exchange_id=exchange.id, now=posted + timedelta(hours=2))
    db.run(exchanges.agree_exchange, actor=asking, exchange_id=exchange.id, now=posted + timedelta(hours=2))
    db.run(listings.close_listing, actor=asking, listing_id=listing.id, now=posted + timedelta(hours=2))
    minutes = rng.choice([45, 60, 75, 90, 120, 150])
    recorded_at = builder.local(day, 21)
    db.run(payments.record_minutes, actor=helping, exchange_id=exchange.id, minutes=minutes, now=recorded_at)
    builder.exchanges_done += 1
    if recent and rng.random() < 0.6:
        return  # still waiting for the requester's confirmation
    if rng.random() < 0.03:
        db.run(
            payments.dispute_exchange,
            actor=asking,
            exchange_id=exchange.id,
            reason="Volgens mij was het korter.",
            now=recorded_at + timedelta(hours=12),
        )
        return
    db.run(payments.confirm_exchange, actor=asking, exchange_id=exchange.id, now=recorded_at + timedelta(hours=14))
    if rng.random() < 0.6:
        db.run(
            exchanges.thank_helper,
            actor=asking,
            exchange_id=exchange.id,
            text=rng.choice(THANKS),
            now=recorded_at + timedelta(hours=15),
        )


def _pot_work(builder: _Builder, community: Community, names: list[str], day: date) -> None:
    db, coordinator = builder.db, builder.actors[COORDINATORS[0]]
    for name in names[:6]:
        try:
            db.run(
                pot.donate_to_pot,
                actor=builder.actors[name],
                community_id=community.id,
                minutes=30,
                now=builder.local(day, 10),
            )
        except (domain_errors.DomainError, ledger_errors.LedgerError):
            continue
    db.run(
        pot.issue_credit,
        actor=coordinator,
        community_id=community.id,
        minutes=1200,
        to_pot=True,
        reason="Subsidie gemeente: buurtschoonmaak",
        now=builder.local(day, 11),
    )
    participants = [builder.people[name].id for name in builder.rng.sample(names, 12)]
    db.run(
        pot.group_event,
        actor=coordinator,
        community_id=community.id,
        participant_ids=participants,
        minutes_each=60,
        source="pot",
        event_name="Buurtschoonmaakdag Oosterpark",
        now=builder.local(day, 16),
    )
    db.run(
        pot.grant_from_pot,
        actor=coordinator,
        community_id=community.id,
        membership_id=builder.people[OFFLINE[0]].id,
        minutes=120,
        reason="Hulp voor een alleenstaande buurvrouw",
        now=builder.local(day, 17),
    )


def _open_listings(builder: _Builder, community: Community) -> None:
    names = list(NAMES)
    today = builder.now.astimezone(ZONE).date()
    for index, slug in enumerate(sorted(REQUESTS)):
        day = today + timedelta(days=1 + index % 6)
        builder.db.run(
            listings.post_listing,
            actor=builder.actors[names[(index * 5) % len(names)]],
            community_id=community.id,
            kind="request",
            title=REQUESTS[slug][0],
            category_id=builder.categories[slug],
            estimated_minutes=90,
            description="Wie kan er helpen?",
            window_start=builder.local(day, 18),
            window_end=builder.local(day, 21),
            now=builder.now - timedelta(hours=index),
        )
    for index, (slug, title) in enumerate(sorted(OFFERS.items())):
        builder.db.run(
            listings.post_listing,
            actor=builder.actors[names[(index * 7 + 3) % len(names)]],
            community_id=community.id,
            kind="offer",
            title=title,
            category_id=builder.categories[slug],
            estimated_minutes=60,
            description="Stuur me gerust een bericht.",
            now=builder.now - timedelta(hours=index),
        )
