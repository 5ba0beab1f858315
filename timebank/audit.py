"""The audit log of coordinators' and administrators' actions: who, what, on what, when, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.core import utc_now
from timebank import access, errors, validation
from timebank.access import Actor
from timebank.models import AuditEntry

MAX_PAGE_SIZE = 100


def record(
    session: Session,
    *,
    actor: Actor,
    community_id: int | None,
    action: str,
    subject_type: str = "",
    subject_id: int | None = None,
    reason: str = "",
    details: dict | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Add an entry to the log, in the caller's transaction."""
    entry = AuditEntry(
        community_id=community_id,
        actor_user_id=actor.user_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        reason=reason,
        details={"actor": actor.label, **(details or {})},
        at=utc_now(now),
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: int | None


def audit_log(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    limit: int = 50,
    before: int | None = None,
    action: str | None = None,
    by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditPage:
    """The community's audit log, newest first (coordinators only), keyset-paginated by entry id; only the
    entries of one ``action``, of one actor (``by``: "user:12", "partner:3" or "system:tick"), at or after
    ``since`` and before ``until``, when given."""
    access.require_coordinator(session, actor, community_id)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise errors.InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}", field="limit")
    since, until = validation.moment("since", since), validation.moment("until", until)
    if since is not None and until is not None and until <= since:
        raise errors.InvalidInput("the period must end after it starts", field="until")
    query = sa.select(AuditEntry).where(AuditEntry.community_id == community_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if by:
        query = query.where(AuditEntry.details["actor"].as_string() == by)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if before is not None:
        validation.whole_number("before", before, minimum=1, maximum=2**63 - 1)
        query = query.where(AuditEntry.id < before)
    rows = list(session.execute(query.order_by(AuditEntry.id.desc()).limit(limit + 1)).scalars())
    return AuditPage(entries=rows[:limit], next_cursor=rows[limit - 1].id if len(rows) > limit else None)
