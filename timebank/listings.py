"""Listings: the offers and requests members post, what they say (what, when, where, how long), their life from
open to closed or expired, and finding them again.

A listing's "when" is a window (at most two weeks, not wholly in the past) or none at all: "any time, at your own
pace". Every listing has an expiry, so a board never fills with stale requests: by default the end of its
window, else 30 days after posting, and never more than 90 days ahead.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.core import utc_now
from timebank import access, audit, errors, validation
from timebank.access import Actor
from timebank.members import first_name
from timebank.models import Category, Listing, ListingKind, ListingStatus, Membership, Place

MAX_TITLE_LENGTH = 120
MAX_DESCRIPTION_LENGTH = 2000
MAX_NEIGHBOURHOOD_LENGTH = 80
MAX_REASON_LENGTH = 500
# Small, clearly bounded tasks work best: a window longer than two weeks is an open-ended commitment.
MAX_WINDOW = timedelta(days=14)
DEFAULT_LIFETIME = timedelta(days=30)
MAX_LIFETIME = timedelta(days=90)
MAX_SEARCH_TEXT_LENGTH = 100
MAX_SEARCH_WINDOW = timedelta(days=92)
MAX_PAGE_SIZE = 100
MAX_CURSOR_LENGTH = 200
# One tick expires at most this many listings; the next tick (minutes later) takes the rest.
EXPIRY_BATCH_SIZE = 1000
EDITABLE_FIELDS = (
    "title",
    "description",
    "category_id",
    "estimated_minutes",
    "window_start",
    "window_end",
    "place",
    "neighbourhood",
    "expires_at",
)


# --- looking listings up --------------------------------------------------------------------------------------


def find_listing(
    session: Session, actor: Actor, listing_id: int, *, for_update: bool = False
) -> tuple[Listing, Membership | None]:
    """A listing the actor may see, with the actor's membership of its community (None for an administrator
    without one). A listing of a community the actor is not a member of is reported as not found.
    ``for_update`` locks its row (PostgreSQL), so that a change is decided on the state it is made to."""
    valid = isinstance(listing_id, int) and not isinstance(listing_id, bool)
    listing = session.get(Listing, listing_id, with_for_update=for_update) if valid else None
    if listing is None:
        raise errors.NotFound("no such listing", listing_id=listing_id)
    if actor.administers(listing.community_id):
        return listing, access.membership_of(session, actor, listing.community_id)
    membership = access.membership_of(session, actor, listing.community_id)
    if membership is None:
        raise errors.NotFound("no such listing", listing_id=listing_id)
    return listing, access.require_member(session, actor, listing.community_id)


def _require_reader(session: Session, actor: Actor, community_id: int) -> None:
    """Members of the community read its listings; so does an administrator of the installation."""
    if actor.administers(community_id):
        access.get_community(session, community_id)
    else:
        access.require_member(session, actor, community_id)


def _category(session: Session, community_id: int, value, *, field: str) -> Category:
    """A category of this community, by id or by slug; one of another community does not exist here."""
    if isinstance(value, int) and not isinstance(value, bool):
        return access.get_in_community(session, Category, value, community_id, what="category")
    if isinstance(value, str) and validation.SLUG_PATTERN.match(value):
        found = session.execute(
            sa.select(Category).where(Category.community_id == community_id, Category.slug == value)
        ).scalar_one_or_none()
        if found is None:
            raise errors.NotFound("no such category", category=value)
        return found
    raise errors.InvalidInput(f"{field} must be a category id or slug", field=field)


# --- checking what a listing says -----------------------------------------------------------------------------


def _checked_window(start, end, *, now: datetime) -> tuple[datetime | None, datetime | None]:
    """Both ends or neither (any time); an end after the start, at most two weeks long, not wholly past, and
    ending within the 90 days a listing may live."""
    start = validation.moment("window_start", start)
    end = validation.moment("window_end", end)
    if start is None and end is None:
        return None, None
    if start is None or end is None:
        missing = "window_start" if start is None else "window_end"
        raise errors.InvalidInput("give both the start and the end of the window, or neither", field=missing)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise errors.InvalidInput("the window must end after it starts", field="window_end")
    if end - start > MAX_WINDOW:
        raise errors.InvalidInput(f"a window may be at most {MAX_WINDOW.days} days long", field="window_end")
    if end <= now:
        raise errors.InvalidInput("this window is already over", field="window_end")
    if end > now + MAX_LIFETIME:
        raise errors.InvalidInput(f"the window must end within {MAX_LIFETIME.days} days", field="window_end")
    return start, end


def _checked_expiry(expires_at, *, window_end: datetime | None, now: datetime) -> datetime:
    """The given expiry, or the default: the window's end, else 30 days from now. A listing lives at most 90
    days and does not outlive its window (an offer for Friday means nothing on Saturday)."""
    expires_at = validation.moment("expires_at", expires_at)
    if expires_at is None:
        return window_end or now + DEFAULT_LIFETIME
    expires_at = expires_at.astimezone(UTC)
    if expires_at <= now:
        raise errors.InvalidInput("the expiry must be in the future", field="expires_at")
    if expires_at > now + MAX_LIFETIME:
        raise errors.InvalidInput(f"a listing may live at most {MAX_LIFETIME.days} days", field="expires_at")
    if window_end is not None and expires_at > window_end:
        raise errors.InvalidInput("a listing cannot expire after its window ends", field="expires_at")
    return expires_at


def _checked_terms(session: Session, community_id: int, values: dict, *, now: datetime, check_category: bool) -> dict:
    """Every field of a listing checked, in the order a form shows them; returns the values to store."""
    terms = {
        "title": validation.text("title", values["title"], maximum=MAX_TITLE_LENGTH, required=True),
        "description": validation.text("description", values["description"], maximum=MAX_DESCRIPTION_LENGTH),
    }
    if check_category:
        category = _category(session, community_id, values["category_id"], field="category_id")
        if not category.active:
            raise errors.InvalidInput("this category is no longer in use", field="category_id")
        terms["category_id"] = category.id
    terms["estimated_minutes"] = validation.minutes("estimated_minutes", values["estimated_minutes"])
    terms["window_start"], terms["window_end"] = _checked_window(values["window_start"], values["window_end"], now=now)
    terms["place"] = validation.choice("place", values["place"], [place.value for place in Place])
    terms["neighbourhood"] = validation.text("neighbourhood", values["neighbourhood"], maximum=MAX_NEIGHBOURHOOD_LENGTH)
    terms["expires_at"] = _checked_expiry(values["expires_at"], window_end=terms["window_end"], now=now)
    return terms


# --- posting and changing -------------------------------------------------------------------------------------


def post_listing(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    kind: str,
    title: str,
    category_id: int,
    estimated_minutes: int,
    description: str = "",
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    place: str = Place.NEIGHBOURHOOD.value,
    neighbourhood: str | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Listing:
    """An active member posts an offer or a request in an active category of the community: 1 to 720 minutes,
    a window or any time, a place (neighbourhood, at home, online) and a neighbourhood name (the member's own
    unless given), open until its expiry."""
    now = utc_now(now)
    membership = access.require_member(session, actor, community_id)
    kind = validation.choice("kind", kind, [item.value for item in ListingKind])
    values = {
        "title": title,
        "description": description,
        "category_id": category_id,
        "estimated_minutes": estimated_minutes,
        "window_start": window_start,
        "window_end": window_end,
        "place": place,
        "neighbourhood": membership.neighbourhood if neighbourhood is None else neighbourhood,
        "expires_at": expires_at,
    }
    terms = _checked_terms(session, community_id, values, now=now, check_category=True)
    listing = Listing(
        community_id=community_id,
        membership_id=membership.id,
        kind=kind,
        status=ListingStatus.OPEN.value,
        created_at=now,
        updated_at=now,
        **terms,
    )
    session.add(listing)
    session.flush()
    session.commit()
    return listing


def edit_listing(*, session: Session, actor: Actor, listing_id: int, now: datetime | None = None, **changes) -> Listing:
    """The member who posted an open listing changes what it says, under the rules of posting. Changing the
    window without giving an expiry resets the expiry to its default (the new window's end, or 30 days); a
    window of ``None``/``None`` makes it an any-time listing. The kind (offer or request) cannot change."""
    now = utc_now(now)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise errors.InvalidInput(f"these cannot be edited: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    if not changes:
        raise errors.InvalidInput("nothing to change", field="changes")
    listing, membership = find_listing(session, actor, listing_id, for_update=True)
    if membership is None or membership.id != listing.membership_id:
        raise errors.NotAllowed("only the member who posted a listing may edit it", listing_id=listing.id)
    if listing.status != ListingStatus.OPEN.value:
        raise errors.Conflict(f"this listing is {listing.status}; reopen it first", status=listing.status)
    values = {field: getattr(listing, field) for field in EDITABLE_FIELDS} | changes
    window_changed = "window_start" in changes or "window_end" in changes
    if window_changed and "expires_at" not in changes:
        values["expires_at"] = None
    terms = _checked_terms(session, listing.community_id, values, now=now, check_category="category_id" in changes)
    for field, value in terms.items():
        setattr(listing, field, value)
    listing.updated_at = now
    session.commit()
    return listing


def _owner_or_coordinator(session: Session, actor: Actor, listing_id: int, *, doing: str) -> tuple[Listing, bool]:
    """The listing, and whether the actor acts as its owner (else as a coordinator)."""
    listing, membership = find_listing(session, actor, listing_id, for_update=True)
    own = membership is not None and membership.id == listing.membership_id
    if not own and not access.is_coordinator(session, actor, listing.community_id):
        raise errors.NotAllowed(f"only the member who posted a listing or a coordinator may {doing} it")
    return listing, own


def close_listing(
    *, session: Session, actor: Actor, listing_id: int, reason: str = "", now: datetime | None = None
) -> Listing:
    """Close an open listing: its owner, or a coordinator with a reason (recorded in the audit log)."""
    now = utc_now(now)
    listing, own = _owner_or_coordinator(session, actor, listing_id, doing="close")
    reason = validation.text("reason", reason, maximum=MAX_REASON_LENGTH, required=not own)
    if listing.status != ListingStatus.OPEN.value:
        raise errors.Conflict(f"this listing is {listing.status} already", status=listing.status)
    listing.status, listing.updated_at = ListingStatus.CLOSED.value, now
    if not own:
        _audit(session, actor, listing, action="listing.closed", reason=reason, now=now)
    session.commit()
    return listing


def reopen_listing(
    *,
    session: Session,
    actor: Actor,
    listing_id: int,
    expires_at: datetime | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Listing:
    """Open a closed or expired listing again: its owner, or a coordinator with a reason (audited). A listing
    whose window is over cannot come back. An expired listing needs a new expiry in the future; a closed one
    keeps its expiry if that is still ahead, else needs a new one too."""
    now = utc_now(now)
    listing, own = _owner_or_coordinator(session, actor, listing_id, doing="reopen")
    reason = validation.text("reason", reason, maximum=MAX_REASON_LENGTH, required=not own)
    if listing.status == ListingStatus.OPEN.value:
        raise errors.Conflict("this listing is open already", status=listing.status)
    if listing.window_end is not None and listing.window_end <= now:
        raise errors.Conflict("this listing's window is over; post a new one", status=listing.status)
    keeps_expiry = (
        expires_at is None
        and listing.status == ListingStatus.CLOSED.value
        and listing.expires_at is not None
        and listing.expires_at > now
    )
    if not keeps_expiry:
        if expires_at is None:
            raise errors.InvalidInput("give a new expiry in the future to reopen this listing", field="expires_at")
        listing.expires_at = _checked_expiry(expires_at, window_end=listing.window_end, now=now)
    listing.status, listing.updated_at = ListingStatus.OPEN.value, now
    if not own:
        _audit(session, actor, listing, action="listing.reopened", reason=reason, now=now)
    session.commit()
    return listing


def _audit(session: Session, actor: Actor, listing: Listing, *, action: str, reason: str, now: datetime) -> None:
    audit.record(
        session,
        actor=actor,
        community_id=listing.community_id,
        action=action,
        subject_type="listing",
        subject_id=listing.id,
        reason=reason,
        details={"owner_membership_id": listing.membership_id},
        now=now,
    )


def expire_listings(*, session: Session, now: datetime | None = None, limit: int = EXPIRY_BATCH_SIZE) -> int:
    """Mark open listings whose expiry has come as expired (a system job for ``timebank tick``, in every
    community); returns how many. At most ``limit`` per run, oldest expiry first; the next run takes the rest."""
    now = utc_now(now)
    limit = validation.whole_number("limit", limit, minimum=1, maximum=10 * EXPIRY_BATCH_SIZE)
    due = sa.select(Listing.id).where(Listing.status == ListingStatus.OPEN.value, Listing.expires_at <= now)
    identifiers = list(session.execute(due.order_by(Listing.expires_at, Listing.id).limit(limit)).scalars())
    if not identifiers:
        session.commit()
        return 0
    # The status guard again: a listing closed since the select above is left as it is.
    result = session.execute(
        sa.update(Listing)
        .where(Listing.id.in_(identifiers), Listing.status == ListingStatus.OPEN.value)
        .values(status=ListingStatus.EXPIRED.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount


# --- reading --------------------------------------------------------------------------------------------------


def get_listing(*, session: Session, actor: Actor, listing_id: int) -> Listing:
    """One listing, for members of its community (in any status); to anyone else it does not exist."""
    listing, _ = find_listing(session, actor, listing_id)
    return listing


@dataclass(frozen=True)
class ListingView:
    """A listing with the first name of the member who posted it: all that others may see of them."""

    listing: Listing
    owner_name: str


def view_listing(*, session: Session, actor: Actor, listing_id: int) -> ListingView:
    """One listing as ``get_listing`` gives it, with the first name of the member who posted it."""
    listing = get_listing(session=session, actor=actor, listing_id=listing_id)
    return ListingView(
        listing=listing, owner_name=owner_first_names(session=session, listings=[listing])[listing.membership_id]
    )


def owner_first_names(*, session: Session, listings: Iterable[Listing]) -> dict[int, str]:
    """The first name of the member who posted each of ``listings`` (listings a use case gave the actor), by
    membership id; nothing more about them."""
    return _first_names(session, {listing.membership_id for listing in listings})


@dataclass(frozen=True)
class ListingPage:
    """A page of listings, newest first, with the first name of each listing's member (all others may see)."""

    listings: list[Listing]
    owner_names: dict[int, str]
    next_cursor: str | None


def encode_cursor(listing: Listing) -> str:
    """An opaque cursor after ``listing``: its (created_at, id), the key the search orders on."""
    raw = f"{listing.created_at.astimezone(UTC).isoformat()}|{listing.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor) -> tuple[datetime, int]:
    """The (created_at, id) inside a cursor made by ``encode_cursor``; anything else is refused."""
    refused = errors.InvalidInput("this cursor is not one this search gave out", field="cursor")
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_LENGTH:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        moment_text, identifier_text = raw.split("|")
        moment = datetime.fromisoformat(moment_text)
        identifier = int(identifier_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    if moment.tzinfo is None or identifier < 1 or not identifier_text.isdigit():
        raise refused
    return moment.astimezone(UTC), identifier


def _search_window(window_start, window_end) -> tuple[datetime, datetime] | None:
    start = validation.moment("window_start", window_start)
    end = validation.moment("window_end", window_end)
    if start is None and end is None:
        return None
    if start is None or end is None:
        missing = "window_start" if start is None else "window_end"
        raise errors.InvalidInput("search with both ends of a time window, or neither", field=missing)
    if end <= start:
        raise errors.InvalidInput("the time window must end after it starts", field="window_end")
    if end - start > MAX_SEARCH_WINDOW:
        raise errors.InvalidInput(f"search at most {MAX_SEARCH_WINDOW.days} days at once", field="window_end")
    return start, end


def _escaped_like(text: str) -> str:
    """A LIKE pattern matching ``text`` literally anywhere (``%`` and ``_`` are not wildcards here)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search_filters(
    session: Session, community_id: int, *, kind, category, neighbourhood, text, window, status, now
) -> list:
    conditions = [Listing.community_id == community_id, Listing.status == status]
    if status == ListingStatus.OPEN.value:
        # Open but past its expiry is as good as expired, even before the tick has marked it.
        conditions.append(Listing.expires_at > now)
    if kind is not None:
        conditions.append(Listing.kind == validation.choice("kind", kind, [item.value for item in ListingKind]))
    if category is not None:
        conditions.append(Listing.category_id == _category(session, community_id, category, field="category").id)
    neighbourhood = validation.text("neighbourhood", neighbourhood, maximum=MAX_NEIGHBOURHOOD_LENGTH)
    if neighbourhood:
        conditions.append(sa.func.lower(Listing.neighbourhood) == neighbourhood.lower())
    text = validation.text("text", text, maximum=MAX_SEARCH_TEXT_LENGTH)
    if text:
        pattern = _escaped_like(text)
        conditions.append(
            sa.or_(Listing.title.ilike(pattern, escape="\\"), Listing.description.ilike(pattern, escape="\\"))
        )
    if window is not None:
        start, end = window
        overlaps = sa.and_(Listing.window_start < end, Listing.window_end > start)
        conditions.append(sa.or_(Listing.window_start.is_(None), overlaps))
    return conditions


def search_listings(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    kind: str | None = None,
    category: int | str | None = None,
    neighbourhood: str | None = None,
    text: str | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    status: str = ListingStatus.OPEN.value,
    limit: int = 20,
    cursor: str | None = None,
    now: datetime | None = None,
) -> ListingPage:
    """Listings of a community for its members, newest first, filtered by kind, category (id or slug),
    neighbourhood (ignoring case), text (ignoring case, in title or description), a time window (listings whose
    window overlaps it, and any-time listings) and status (open by default: open and not yet past expiry).

    Pages are keyed on (created_at, id), so a listing posted while someone pages through neither shifts nor
    repeats what they see; ``next_cursor`` is opaque and None on the last page."""
    now = utc_now(now)
    _require_reader(session, actor, community_id)
    status = validation.choice("status", status, [item.value for item in ListingStatus])
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE)
    window = _search_window(window_start, window_end)
    conditions = _search_filters(
        session,
        community_id,
        kind=kind,
        category=category,
        neighbourhood=neighbourhood,
        text=text,
        window=window,
        status=status,
        now=now,
    )
    if cursor is not None:
        created_at, identifier = decode_cursor(cursor)
        conditions.append(
            sa.or_(
                Listing.created_at < created_at,
                sa.and_(Listing.created_at == created_at, Listing.id < identifier),
            )
        )
    query = sa.select(Listing).where(*conditions).order_by(Listing.created_at.desc(), Listing.id.desc())
    rows = list(session.execute(query.limit(limit + 1)).scalars())
    page = rows[:limit]
    return ListingPage(
        listings=page,
        owner_names=_first_names(session, {listing.membership_id for listing in page}),
        next_cursor=encode_cursor(page[-1]) if len(rows) > limit else None,
    )


def own_listings(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    status: str = ListingStatus.OPEN.value,
    limit: int = 20,
    now: datetime | None = None,
) -> list[Listing]:
    """The acting member's own listings in a community, newest first: open ones (and not yet past expiry) by
    default, or those closed or expired. At most ``limit``."""
    now = utc_now(now)
    membership = access.require_member(session, actor, community_id)
    status = validation.choice("status", status, [item.value for item in ListingStatus])
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE)
    conditions = [Listing.community_id == community_id, Listing.membership_id == membership.id]
    if status == ListingStatus.OPEN.value:
        conditions += [Listing.status == status, Listing.expires_at > now]
    elif status == ListingStatus.EXPIRED.value:
        # Open but past its expiry is as good as expired, even before the tick has marked it.
        conditions.append(
            sa.or_(
                Listing.status == status, sa.and_(Listing.status == ListingStatus.OPEN.value, Listing.expires_at <= now)
            )
        )
    else:
        conditions.append(Listing.status == status)
    query = sa.select(Listing).where(*conditions).order_by(Listing.created_at.desc(), Listing.id.desc())
    return list(session.execute(query.limit(limit)).scalars())


def _first_names(session: Session, membership_ids: set[int]) -> dict[int, str]:
    if not membership_ids:
        return {}
    rows = session.execute(
        sa.select(Membership.id, Membership.display_name).where(Membership.id.in_(sorted(membership_ids)))
    )
    return {identifier: first_name(name) for identifier, name in rows}
