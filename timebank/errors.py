"""The time bank's refusals: each with a stable code, a message a person can act on, and details a program can.

Ledger refusals (``ledger.errors.LedgerError``) pass through use cases unchanged; both kinds share the shape
``code`` / ``message`` / ``details``, so the web front and the API render them alike.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the time bank refused; nothing was changed."""

    code = "domain_error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, {self.details!r})"


class InvalidInput(DomainError):
    """A value is malformed or out of bounds; ``details["field"]`` names it."""

    code = "invalid_input"


class NotFound(DomainError):
    """No such object for this caller (also when it exists but the caller may not see it)."""

    code = "not_found"


class NotAllowed(DomainError):
    """The caller may see the object but not do this to it."""

    code = "not_allowed"


class Conflict(DomainError):
    """The object is not in a state that allows this (already confirmed, closed, ...)."""

    code = "conflict"


class EmailTaken(DomainError):
    code = "email_taken"


class AlreadyMember(DomainError):
    code = "already_member"


class MembershipNotActive(DomainError):
    code = "membership_not_active"


class BalanceNotSettled(DomainError):
    code = "balance_not_settled"


class SafeguardingCheckRequired(DomainError):
    code = "safeguarding_check_required"


class ParentAcceptanceRequired(DomainError):
    code = "parent_acceptance_required"


class CommunitiesDiffer(DomainError):
    code = "communities_differ"


ERRORS_BY_CODE = {cls.code: cls for cls in [DomainError, *DomainError.__subclasses__()]}
