"""Communities: each a time bank with its own ledger, pot, issuance and clearing accounts, settings and
categories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

import ledger
from ledger.core import utc_now
from timebank import access, audit, errors, validation
from timebank.access import Actor
from timebank.models import Category, Community, Membership, MembershipStatus

POT_KIND, ISSUANCE_KIND, CLEARING_KIND, MEMBER_KIND = "pot", "issuance", "clearing", "member"
MAX_CATEGORIES = 50
SETTINGS = (
    "name",
    "language",
    "time_zone",
    "default_floor_minutes",
    "default_ceiling_minutes",
    "welcome_credit_minutes",
    "auto_confirm_days",
    "approval_required",
)


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    name_en: str
    name_nl: str
    involves_children: bool = False


def _checked_settings(values: dict) -> dict:
    """Settings checked one by one; only those present in ``values``."""
    checks = {
        "name": lambda value: validation.text("name", value, maximum=120, required=True),
        "language": validation.language,
        "time_zone": validation.time_zone,
        "default_floor_minutes": lambda value: validation.whole_number(
            "default_floor_minutes", value, minimum=-validation.MAX_LIMIT_MINUTES, maximum=0
        ),
        "default_ceiling_minutes": lambda value: validation.whole_number(
            "default_ceiling_minutes", value, minimum=0, maximum=validation.MAX_LIMIT_MINUTES
        ),
        "welcome_credit_minutes": lambda value: validation.whole_number(
            "welcome_credit_minutes", value, minimum=0, maximum=validation.MAX_LIMIT_MINUTES
        ),
        "auto_confirm_days": lambda value: validation.whole_number("auto_confirm_days", value, minimum=1, maximum=90),
        "approval_required": _boolean("approval_required"),
    }
    unknown = set(values) - set(checks)
    if unknown:
        raise errors.InvalidInput(f"unknown settings: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    return {name: checks[name](value) for name, value in values.items()}


def _boolean(field: str):
    def check(value) -> bool:
        if not isinstance(value, bool):
            raise errors.InvalidInput(f"{field} must be true or false", field=field)
        return value

    return check


def _check_welcome_fits(settings: dict) -> None:
    if settings["welcome_credit_minutes"] > settings["default_ceiling_minutes"]:
        raise errors.InvalidInput(
            "the welcome credit may not exceed the default ceiling", field="welcome_credit_minutes"
        )


def _check_category(spec: CategorySpec) -> CategorySpec:
    return CategorySpec(
        slug=validation.slug(spec.slug, "category slug"),
        name_en=validation.text("category name_en", spec.name_en, maximum=80, required=True),
        name_nl=validation.text("category name_nl", spec.name_nl, maximum=80, required=True),
        involves_children=_boolean("involves_children")(spec.involves_children),
    )


def create_community(
    *,
    session: Session,
    actor: Actor,
    slug: str,
    name: str,
    categories: list[CategorySpec] = (),
    now: datetime | None = None,
    **settings,
) -> Community:
    """Open a new time bank (administrators only): its ledger with a pot, an issuance and a clearing account,
    its settings and categories."""
    if not actor.is_administrator:
        raise errors.NotAllowed("only an administrator of the installation may create a community")
    now = utc_now(now)
    slug = validation.slug(slug)
    values = _checked_settings({"name": name, **settings})
    merged = {**{column: Community.model_fields[column].default for column in SETTINGS}, **values}
    _check_welcome_fits(merged)
    if len(categories) > MAX_CATEGORIES:
        raise errors.InvalidInput(f"at most {MAX_CATEGORIES} categories", field="categories")
    specs = [_check_category(spec) for spec in categories]
    if len({spec.slug for spec in specs}) != len(specs):
        raise errors.InvalidInput("two categories have the same slug", field="categories")
    if session.execute(sa.select(Community.id).where(Community.slug == slug)).first():
        raise errors.Conflict("a community with this slug exists already", field="slug")
    book = ledger.create_ledger(session, name=f"community:{slug}", now=now)
    pot = ledger.open_account(session, ledger_id=book.id, kind=POT_KIND, name="pot", floor=0, now=now)
    issuance = ledger.open_account(session, ledger_id=book.id, kind=ISSUANCE_KIND, name="issuance", ceiling=0, now=now)
    clearing = ledger.open_account(session, ledger_id=book.id, kind=CLEARING_KIND, name="clearing", now=now)
    community = Community(
        slug=slug,
        ledger_id=book.id,
        pot_account_id=pot.id,
        issuance_account_id=issuance.id,
        clearing_account_id=clearing.id,
        created_at=now,
        **merged,
    )
    session.add(community)
    session.flush()
    for spec in specs:
        session.add(Category(community_id=community.id, **spec.__dict__))
    audit.record(session, actor=actor, community_id=community.id, action="community.created", now=now)
    session.commit()
    return community


def update_settings(
    *, session: Session, actor: Actor, community_id: int, now: datetime | None = None, **changes
) -> Community:
    """Change a community's settings (coordinators). New limits apply to members who join from now on."""
    access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    values = _checked_settings(changes)
    merged = {column: getattr(community, column) for column in SETTINGS} | values
    _check_welcome_fits(merged)
    for name, value in values.items():
        setattr(community, name, value)
    audit.record(
        session,
        actor=actor,
        community_id=community_id,
        action="community.settings_changed",
        details={"changes": values},
        now=now,
    )
    session.commit()
    return community


def add_category(
    *, session: Session, actor: Actor, community_id: int, spec: CategorySpec, now: datetime | None = None
) -> Category:
    access.require_coordinator(session, actor, community_id)
    spec = _check_category(spec)
    existing = session.execute(
        sa.select(sa.func.count()).select_from(Category).where(Category.community_id == community_id)
    ).scalar_one()
    if existing >= MAX_CATEGORIES:
        raise errors.InvalidInput(f"at most {MAX_CATEGORIES} categories", field="categories")
    if session.execute(
        sa.select(Category.id).where(Category.community_id == community_id, Category.slug == spec.slug)
    ).first():
        raise errors.Conflict("a category with this slug exists already", field="slug")
    category = Category(community_id=community_id, **spec.__dict__)
    session.add(category)
    session.flush()
    audit.record(
        session,
        actor=actor,
        community_id=community_id,
        action="category.added",
        subject_type="category",
        subject_id=category.id,
        now=now,
    )
    session.commit()
    return category


def update_category(
    *, session: Session, actor: Actor, community_id: int, category_id: int, now: datetime | None = None, **changes
) -> Category:
    """Rename a category, mark whether it involves children, or retire it (``active=False``)."""
    access.require_coordinator(session, actor, community_id)
    category = access.get_in_community(session, Category, category_id, community_id, what="category")
    allowed = {"name_en", "name_nl", "involves_children", "active"}
    if set(changes) - allowed:
        raise errors.InvalidInput("unknown category fields", field=sorted(set(changes) - allowed)[0])
    for name, value in changes.items():
        if name in ("name_en", "name_nl"):
            value = validation.text(name, value, maximum=80, required=True)
        else:
            value = _boolean(name)(value)
        setattr(category, name, value)
    audit.record(
        session,
        actor=actor,
        community_id=community_id,
        action="category.changed",
        subject_type="category",
        subject_id=category_id,
        details={"changes": changes},
        now=now,
    )
    session.commit()
    return category


def categories(*, session: Session, community_id: int, include_retired: bool = False) -> list[Category]:
    query = sa.select(Category).where(Category.community_id == community_id).order_by(Category.slug)
    if not include_retired:
        query = query.where(Category.active.is_(True))
    return list(session.execute(query).scalars())


def visible_communities(*, session: Session, actor: Actor) -> list[Community]:
    """The communities the actor belongs to (any status but declined), or all for an administrator."""
    query = sa.select(Community).order_by(Community.name)
    if actor.partner_community_id is not None and not actor.is_administrator:
        query = query.where(Community.id == actor.partner_community_id)
    elif not actor.is_administrator:
        query = query.join(Membership, Membership.community_id == Community.id).where(
            Membership.user_id == actor.user_id, Membership.status != MembershipStatus.DECLINED.value
        )
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class OpenCommunity:
    """What anyone may know of a time bank before joining: its name, and its address (slug)."""

    slug: str
    name: str


MAX_OPEN_COMMUNITIES = 500


def communities_to_join(*, session: Session, search: str = "") -> list[OpenCommunity]:
    """The time banks one can apply to, by name (at most ``MAX_OPEN_COMMUNITIES``), those whose name or short
    name (slug) contains ``search`` if given: for anyone, visitors too, so nothing but the name and the slug."""
    query = sa.select(Community.slug, Community.name)
    words = validation.text("search", search, maximum=120).lower()
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(sa.func.lower(Community.name).like(pattern, escape="\\"), Community.slug.like(pattern, escape="\\"))
        )
    rows = session.execute(query.order_by(Community.name, Community.id).limit(MAX_OPEN_COMMUNITIES))
    return [OpenCommunity(slug=slug, name=name) for slug, name in rows]


def community_by_slug(*, session: Session, slug: str) -> Community:
    community = session.execute(sa.select(Community).where(Community.slug == slug)).scalar_one_or_none()
    if community is None:
        raise errors.NotFound("no such community", slug=slug)
    return community
