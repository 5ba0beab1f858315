"""A use case's refusal in the page's language: its message translated, with its figures filled in.

The use cases refuse in English with a stable ``code`` and ``details``; the API passes that on as it is. A person
on a page reads it in Dutch or English: a refusal whose figures matter (a floor, a ceiling) has a text of its own
here, and the others are translated by their English message.
"""

from __future__ import annotations

from flask_babel import gettext as _

from timebank.web.i18n import hours


def refusal_text(error) -> str:
    """What to tell the person about ``error`` (a DomainError or LedgerError), in this request's language."""
    details = error.details
    if error.code == "balance_below_floor" and "available_above_floor" in details:
        return _(
            "Not enough time credit: this would go below the lowest balance allowed. At most %(room)s can be paid now.",
            room=hours(max(0, details["available_above_floor"])),
        )
    if error.code == "balance_above_ceiling" and "room_below_ceiling" in details:
        return _(
            "This would take the receiver above the highest balance allowed. At most %(room)s can be received now.",
            room=hours(max(0, details["room_below_ceiling"])),
        )
    return _(error.message[:1].upper() + error.message[1:].rstrip(".") + ".")
