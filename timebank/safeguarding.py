"""Safeguarding: that a coordinator saw a member's certificate of conduct (VOG, DBS), and until when it holds.

Only the scheme, the date seen, who saw it and the review date are kept: never the document or its contents.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from timebank.models import SafeguardingCheck


def has_current_check(session: Session, *, membership_id: int, on: date) -> bool:
    """Whether the member has a check seen on or before ``on`` whose review date has not passed by then.

    Used by matching and exchanges without reading the record itself, so it is not a logged read."""
    return (
        session.execute(
            sa.select(SafeguardingCheck.id).where(
                SafeguardingCheck.membership_id == membership_id,
                SafeguardingCheck.seen_on <= on,
                SafeguardingCheck.review_on >= on,
            )
        ).first()
        is not None
    )
