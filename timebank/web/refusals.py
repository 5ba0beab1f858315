"""A use case's refusal in the page's language: a text written for people, with its figures filled in.

The use cases and the ledger refuse in English with a stable ``code``, a message for programmers and ``details``;
the API passes that on as it is. A person on a page reads instead a short text in Dutch or English that says
what went wrong and what to do next. The texts are here, in two tables, wrapped in ``_l`` so that pybabel finds
them:

- ``MESSAGES``, by the English message of a refusal whose message is always the same;
- ``TEMPLATES``, by the shape of a message made with an f-string: its fixed words with ``{}`` where a value goes
  (``"this listing is {}"``). The values found there (a status, a number) and the refusal's ``details`` (a
  field's name, minutes) fill in the figures: hours as "2 u 30 min", numbers and statuses in the page's language.

A refusal found in neither table, or whose figures are missing, gets the general text of its code ("This cannot
be done in its current state."): never the English message for programmers. tests/web/test_refusals.py reads
the use cases and fails when one of their refusals has no text here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import format_number
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from timebank.web.i18n import hours


@dataclass(frozen=True)
class Facts:
    """What a text's figures come from: the refusal's details, and the values in its message, in order."""

    details: Mapping[str, Any]
    parts: tuple[str, ...] = ()


Figure = Callable[[Facts], Any]


@dataclass(frozen=True)
class Say:
    """A text with figures: ``words`` holds ``%(name)s`` for each one, ``figures`` says how to find it."""

    words: LazyString
    figures: Mapping[str, Figure] = field(default_factory=dict)


@dataclass(frozen=True)
class Pick:
    """One of several texts, chosen by a value of the refusal (whose membership, which status...)."""

    key: Figure
    choices: Mapping[Any, Text]
    otherwise: Text | None = None


Text = LazyString | Say | Pick


def say(words: LazyString, **figures: Figure) -> Say:
    return Say(words, figures)


# How figures are found.


def part(index: int) -> Figure:
    """The ``index``-th value in the message."""
    return lambda facts: facts.parts[index]


def detail(name: str) -> Figure:
    return lambda facts: facts.details[name]


def status(index: int) -> Figure:
    """The status the refusal names: from its details, else from its message."""
    return lambda facts: facts.details.get("status", facts.parts[index] if index < len(facts.parts) else None)


def as_hours(figure: Figure) -> Figure:
    """Minutes as people read them: "2 u 30 min"."""
    return lambda facts: hours(int(figure(facts)))


def as_number(figure: Figure) -> Figure:
    """A whole number in the page's language: "10.000" (nl), "10,000" (en)."""
    return lambda facts: format_number(int(figure(facts)))


def word_for(words: Mapping[str, LazyString], figure: Figure) -> Figure:
    """A status in the page's language; an unknown one is a KeyError (and the general text is shown)."""
    return lambda facts: words[figure(facts)]


def field_name(facts: Facts) -> LazyString:
    """The field the refusal names, in words ("the title"), else "this field"."""
    return FIELD_NAMES.get(facts.details.get("field"), THIS_FIELD)


def is_minutes_field(facts: Facts) -> bool:
    return str(facts.details.get("field", "")).endswith("minutes")


# The shapes most texts share.


def on_field(words: LazyString) -> Say:
    """A text naming the field the refusal is about: ``%(field)s``."""
    return say(words, field=field_name)


def numbered(words: LazyString, name: str = "count") -> Say:
    """A text with the first value of the message, a whole number: ``%(count)s`` (or ``%(days)s``...)."""
    return say(words, **{name: as_number(part(0))})


def in_state(states: Mapping[str, LazyString], words: LazyString, index: int = 0) -> Say:
    """A text with the status the refusal names, in the page's words: ``%(status)s``."""
    return say(words, status=word_for(states, status(index)))


# The fields a person fills in, named as a sentence names them ("Fill in %(field)s.").
THIS_FIELD = _l("this field")
FIELD_NAMES: dict[str, LazyString] = {
    "title": _l("the title"),
    "description": _l("the description"),
    "estimated_minutes": _l("the estimated time"),
    "minutes": _l("the time"),
    "minutes_each": _l("the time for each person"),
    "floor_minutes": _l("the lowest balance"),
    "ceiling_minutes": _l("the highest balance"),
    "reason": _l("the reason"),
    "note": _l("the note"),
    "message": _l("the message"),
    "text": _l("the thank-you note"),
    "name": _l("the name"),
    "display_name": _l("the name"),
    "event_name": _l("the name of the event"),
    "neighbourhood": _l("the neighbourhood"),
    "likes_to_do": _l("what you like to do"),
    "interests": _l("the interests"),
    "availability": _l("the availability"),
    "languages": _l("the languages"),
    "email": _l("the email address"),
    "password": _l("the password"),
    "window_start": _l("the start time"),
    "window_end": _l("the end time"),
    "expires_at": _l("the end date"),
    "start": _l("the start of the period"),
    "end": _l("the end of the period"),
    "seen_on": _l("the day the certificate was seen"),
    "review_on": _l("the review date"),
    "place": _l("the place"),
    "category": _l("the category"),
    "category_id": _l("the category"),
    "role": _l("the role"),
    "slug": _l("the short name"),
    "time_zone": _l("the time zone"),
    "preferred_language": _l("the language"),
}

# Statuses, as the end of "This listing is ..." / "The exchange is ..." / "Your membership is ...".
LISTING_STATES = {"open": _l("open"), "closed": _l("closed"), "expired": _l("expired")}
EXCHANGE_STATES = {
    "proposed": _l("proposed"),
    "agreed": _l("agreed"),
    "recorded": _l("recorded"),
    "disputed": _l("disputed"),
    "confirmed": _l("confirmed"),
    "voided": _l("voided"),
    "cancelled": _l("cancelled"),
}
MEMBERSHIP_STATES = {
    "applicant": _l("waiting for approval"),
    "active": _l("active"),
    "declined": _l("declined"),
    "suspended": _l("suspended"),
    "left": _l("ended"),
}
ACCOUNT_STATES = {"open": _l("open"), "frozen": _l("frozen"), "closed": _l("closed")}

# General texts, shared by many refusals and used for any refusal that has no text of its own.
REFUSED = _l("This could not be done. Nothing was changed.")
INVALID = _l("Something in the form is not right. Check what you filled in and try again.")
NOT_FOUND = _l("This was not found. It may have been removed, or it is not yours to see.")
NOT_ALLOWED = _l("You may not do this. Ask a coordinator if you think you should.")
CONFLICT = _l("This cannot be done in its current state.")
COORDINATORS_ONLY = _l("Only a coordinator can do this.")
SENT_BEFORE = _l("This form was sent before with other values. Reload the page and try again.")
ONE_COMMUNITY = _l("This can only be done within one time bank.")
TWO_MEMBERS = _l("An exchange is between two different members. Choose someone else.")
STALE_PAGE = _l("This list is out of date. Go back to the first page and try again.")
BOTH_ENDS_OR_NEITHER = _l("Fill in both the start and the end of the time, or neither.")
END_AFTER_START = _l("The end time must come after the start time.")
CATEGORY_RETIRED = _l("This category is no longer in use. Choose another one.")
NOT_ACTIVE_NOW = _l("This membership is not active, so this cannot be done now.")
EMAIL_TAKEN = _l(
    "There is already an account with this email address. Log in, or ask for a new password if you forgot it."
)
ALREADY_MEMBER = _l("You already have a membership in this time bank. Your membership page says where it stands.")
BALANCE_NOT_ZERO = _l(
    "The balance must be 0 before the membership can end. Give the time to the pot, or ask a coordinator to settle it."
)
CHECK_NEEDED = _l(
    "This task involves children: the helper needs a current certificate of conduct (VOG), seen by a coordinator."
)
PARENT_FIRST = _l("This task involves children: the parent must first accept this helper.")
ACCOUNT_FROZEN = _l("This time account is frozen for now, so no time can go to or from it. Ask a coordinator.")
ACCOUNT_CLOSED = _l("This time account is closed, so no time can go to or from it.")
ACCOUNT_NOT_EMPTY = _l(
    "A time account can only be closed when its balance is 0 and nothing is waiting for confirmation."
)
AMOUNT_ZERO = _l("Fill in a time of more than 0 minutes.")
AMOUNT_TOO_LARGE = _l("This is too much time at once.")
LIMITS_CROSSED = _l("The lowest balance may not be above the highest balance.")
BELOW_FLOOR = _l("Not enough time credit: this would go below the lowest balance allowed.")
ABOVE_CEILING = _l("This would take the receiver above the highest balance allowed.")
ALREADY_CONFIRMED = _l("This was confirmed already.")
ALREADY_CANCELLED = _l("This was cancelled already.")
WAITED_TOO_LONG = _l("This waited too long for confirmation. It can only be cancelled now.")
ALREADY_REVERSED = _l("This transaction was reversed already.")
ONLY_CONFIRMED_REVERSED = _l(
    "Only a confirmed payment can be reversed. Time that is still waiting for confirmation can be cancelled instead."
)
TOO_MUCH_AT_ONCE = _l("Too much at once. Send fewer at a time.")
NOT_APPLIED = _l("Not done, because another part of the same batch was refused.")
NOT_ACTIVE_YOURSELF = in_state(MEMBERSHIP_STATES, _l("Your membership is %(status)s, so you cannot do this now."))
LISTING_POSTER_OR_COORDINATOR = _l("Only the member who posted this listing, or a coordinator, can do this.")
FILL_IN_NUMBER = on_field(_l("Fill in a whole number for %(field)s."))
TOO_LONG = say(
    _l("Make %(field)s shorter: it may have at most %(count)s characters."),
    field=field_name,
    count=as_number(detail("maximum")),
)

# The balance refusals say how much is still possible.
BALANCE_FLOOR = Pick(
    key=lambda facts: int(facts.details["available_above_floor"]) > 0,
    choices={
        True: say(
            _l(
                "Not enough time credit: this would go below the lowest balance allowed. "
                "At most %(room)s can be paid now."
            ),
            room=as_hours(detail("available_above_floor")),
        ),
        False: _l("Not enough time credit: this would go below the lowest balance allowed. Nothing can be paid now."),
    },
)
BALANCE_CEILING = Pick(
    key=lambda facts: int(facts.details["room_below_ceiling"]) > 0,
    choices={
        True: say(
            _l("This would take the receiver above the highest balance allowed. At most %(room)s can be received now."),
            room=as_hours(detail("room_below_ceiling")),
        ),
        False: _l("The receiver has the highest balance allowed already, and cannot receive more time now."),
    },
)

# The general text of each code, for a refusal without a text of its own (or whose figures are missing).
FALLBACKS: dict[str, LazyString] = {
    # timebank.errors
    "domain_error": REFUSED,
    "invalid_input": INVALID,
    "not_found": NOT_FOUND,
    "not_allowed": NOT_ALLOWED,
    "conflict": CONFLICT,
    "email_taken": EMAIL_TAKEN,
    "already_member": ALREADY_MEMBER,
    "membership_not_active": NOT_ACTIVE_NOW,
    "balance_not_settled": BALANCE_NOT_ZERO,
    "safeguarding_check_required": CHECK_NEEDED,
    "parent_acceptance_required": PARENT_FIRST,
    "communities_differ": ONE_COMMUNITY,
    # ledger.errors
    "ledger_error": REFUSED,
    "invalid_request": REFUSED,
    "ledger_not_found": NOT_FOUND,
    "account_not_found": NOT_FOUND,
    "account_frozen": ACCOUNT_FROZEN,
    "account_closed": ACCOUNT_CLOSED,
    "account_not_empty": ACCOUNT_NOT_EMPTY,
    "ledgers_differ": ONE_COMMUNITY,
    "too_few_entries": REFUSED,
    "too_many_entries": REFUSED,
    "account_repeated": REFUSED,
    "entries_unbalanced": REFUSED,
    "amount_zero": AMOUNT_ZERO,
    "amount_too_large": AMOUNT_TOO_LARGE,
    "limits_invalid": LIMITS_CROSSED,
    "balance_below_floor": BELOW_FLOOR,
    "balance_above_ceiling": ABOVE_CEILING,
    "idempotency_key_reused": SENT_BEFORE,
    "transaction_not_found": NOT_FOUND,
    "transaction_not_posted": ONLY_CONFIRMED_REVERSED,
    "pending_not_found": NOT_FOUND,
    "pending_already_posted": ALREADY_CONFIRMED,
    "pending_already_voided": ALREADY_CANCELLED,
    "pending_expired": WAITED_TOO_LONG,
    "expiry_not_in_future": REFUSED,
    "already_reversed": ALREADY_REVERSED,
    "batch_too_large": TOO_MUCH_AT_ONCE,
    "batch_item_not_applied": NOT_APPLIED,
}

# Refusals whose message is always the same, by that message. Those no page can cause (a program's mistake, a
# partner app's limit) share a general text.
MESSAGES: dict[str, Text] = {
    # Access and membership.
    "no such community": NOT_FOUND,
    "no such member": _l("This member was not found in this time bank."),
    "no such user": NOT_FOUND,
    "only a coordinator may do this": COORDINATORS_ONLY,
    "only a safeguarding officer may see or record checks": _l(
        "Only a safeguarding officer can see or record certificates of conduct."
    ),
    "log in to apply": _l("Log in first, then apply."),
    "an account with this email exists already": EMAIL_TAKEN,
    "the current password is not right": _l("The current password is not right. Try again."),
    "this password is too common; choose another": _l(
        "This password is too common and easy to guess. Choose another one."
    ),
    "the password must be text": INVALID,
    "this link to set a new password no longer works": _l(
        "This link to set a new password no longer works. Ask for a new link."
    ),
    "this is not an email address": _l("This is not an email address. Check it and try again."),
    "unknown time zone": _l("This time zone is not known. Choose one from the list."),
    "only the member or a coordinator can end a membership": _l(
        "Only the member or a coordinator can end this membership."
    ),
    "settle the exchanges waiting for confirmation first": _l(
        "Some exchanges are still waiting for confirmation. Settle them first."
    ),
    "the balance must be zero to leave: donate it to the pot, or ask a coordinator to settle it": say(
        _l(
            "The balance is %(balance)s. It must be 0 before the membership can end: give the time to the pot, "
            "or ask a coordinator to settle it."
        ),
        balance=as_hours(detail("balance_minutes")),
    ),
    "you can change only your own profile": _l("You can change only your own profile."),
    "visibility values are true or false": INVALID,
    "only an active member can have a role": _l("Only an active member can have a role."),
    "only an administrator may name safeguarding officers": _l("Only an administrator can name safeguarding officers."),
    "safeguarding_officer must be true or false": INVALID,
    "partner apps see active members only": NOT_ALLOWED,
    "only a person has settings and memberships": NOT_ALLOWED,
    # Communities and categories.
    "only an administrator of the installation may create a community": _l(
        "Only an administrator can start a new time bank."
    ),
    "a community with this slug exists already": _l(
        "There is already a time bank with this short name. Choose another."
    ),
    "a category with this slug exists already": _l("There is already a category with this short name. Choose another."),
    "two categories have the same slug": _l("Two categories have the same short name. Give each one its own."),
    "unknown category fields": INVALID,
    "the welcome credit may not exceed the default ceiling": _l(
        "The welcome credit may not be more than the highest balance allowed."
    ),
    "the demo community exists already": _l("The demo time bank exists already."),
    "no such category": _l("This category does not exist. Choose one from the list."),
    "this category is no longer in use": CATEGORY_RETIRED,
    # Listings.
    "no such listing": NOT_FOUND,
    "give both the start and the end of the window, or neither": BOTH_ENDS_OR_NEITHER,
    "the window must end after it starts": END_AFTER_START,
    "this window is already over": _l("This time is over already. Choose a time in the future."),
    "the expiry must be in the future": _l("Choose an end date in the future."),
    "a listing cannot expire after its window ends": _l(
        "A listing cannot end after its time is over. Choose an earlier end date."
    ),
    "nothing to change": _l("There is nothing to change."),
    "only the member who posted a listing may edit it": _l("Only the member who posted this listing can change it."),
    "this listing is open already": _l("This listing is open already."),
    "this listing's window is over; post a new one": _l(
        "The time of this listing is over. Post a new listing instead."
    ),
    "give a new expiry in the future to reopen this listing": _l(
        "To open this listing again, choose a new end date in the future."
    ),
    "search with both ends of a time window, or neither": BOTH_ENDS_OR_NEITHER,
    "the time window must end after it starts": END_AFTER_START,
    "this cursor is not one this search gave out": STALE_PAGE,
    # Matching and invitations.
    "only the requester or a coordinator may do this": _l(
        "Only the member who asked for help, or a coordinator, can do this."
    ),
    "helpers are found for requests, not offers": _l("Helpers can only be found for a request, not for an offer."),
    "this request is no longer open": _l("This request is no longer open."),
    "invite as a member of this community": _l("Only members of this time bank can ask someone to help."),
    "the requester cannot be invited to their own request": _l(
        "The member who asked for help cannot be asked to help with their own request."
    ),
    "this member has been invited to this request already": _l(
        "This member has been asked to help with this request already."
    ),
    "this task involves children: only a member with a current safeguarding check can be asked": _l(
        "This task involves children: you can only ask a member whose certificate of conduct (VOG) is current."
    ),
    "only a coordinator may see another member's invitations": _l(
        "Only a coordinator can see another member's invitations."
    ),
    "no such invitation": NOT_FOUND,
    "only the member invited can answer an invitation": _l("Only the member who was asked can answer this invitation."),
    "invitations are to help with another member's request": _l(
        "You can only accept an invitation to help with another member's request."
    ),
    # Exchanges.
    "no such exchange": NOT_FOUND,
    "only members of this community take part in its exchanges": _l(
        "Only members of this time bank can take part in its exchanges."
    ),
    "only the two members of an exchange can do this": _l("Only the two members of this exchange can do this."),
    "you already have an exchange in progress for this listing": _l(
        "You already have an exchange for this listing. You find it on your exchanges page."
    ),
    "you cannot respond to your own listing": _l("This is your own listing, so you cannot respond to it."),
    "this task involves children: the helper needs a current certificate of conduct (VOG) seen by a coordinator": (
        CHECK_NEEDED
    ),
    "this task involves children: the parent must first accept this helper": PARENT_FIRST,
    "only the parent accepts a helper for a task with children": _l(
        "Only the parent can accept a helper for a task with children."
    ),
    "this exchange does not involve children": _l(
        "This exchange does not involve children, so no parent needs to accept the helper."
    ),
    "the member who was helped thanks the helper": _l("Only the member who was helped can thank the helper."),
    "you thanked the helper for this exchange already": _l("You thanked the helper for this exchange already."),
    "only coordinators see other members' exchanges": _l("Only a coordinator can see another member's exchanges."),
    # Payments and claims.
    "this idempotency key was used for something else": SENT_BEFORE,
    "another coordinator must settle an exchange you take part in": _l(
        "You take part in this exchange, so another coordinator must settle it."
    ),
    "minutes are given only to change them": _l("Fill in a time only when you choose to change it."),
    "an exchange is between two different members": TWO_MEMBERS,
    "a transfer is between two different members": TWO_MEMBERS,
    "record your own exchanges as a member: pay directly or claim the minutes": _l(
        "Record your own exchanges as a member: pay or claim the time on your exchanges page."
    ),
    "say on whose behalf the minutes are recorded": _l("Choose on whose behalf you record the time."),
    "the minutes are recorded on behalf of the helper or the helped member": _l(
        "Record the time on behalf of the helper or of the member who was helped."
    ),
    "for a task with children the parent accepts the helper first: agree the exchange before recording, "
    "or let the parent pay directly": _l(
        "For a task with children, the parent accepts the helper first. Agree on an exchange before recording the "
        "time, or let the parent pay directly."
    ),
    "for a task with children, record it only when you can attest that the parent accepted the helper": _l(
        "For a task with children, record this only if you can confirm that the parent accepted the helper."
    ),
    "attested must be true or false": INVALID,
    # The pot, batches and corrections.
    "to_pot must be true or false": INVALID,
    "issue credit either to one member or to the pot": _l("Give the credit either to one member or to the pot."),
    "participants are named by their membership ids": INVALID,
    "a participant is named twice": _l("Someone is in the list of participants twice. Name each person once."),
    "each item of a batch is a transfer": INVALID,
    "atomic must be true or false": INVALID,
    "not applied: another item of this all-or-nothing batch was refused": NOT_APPLIED,
    "no such transaction": NOT_FOUND,
    "one side of a trade between communities is not reversed alone: reverse the whole trade": _l(
        "This is one side of a trade between two time banks. Reverse the whole trade instead."
    ),
    "a person cannot pay themselves in another community": _l("A person cannot pay themselves in another time bank."),
    "a trade is between two different communities": _l("A trade is between two different time banks."),
    "this is not a trade paid from this community": _l(
        "This is not a trade in which this time bank paid another time bank."
    ),
    # Safeguarding.
    "safeguarding records are read by a person, not by a system job": NOT_ALLOWED,
    "name the officer who saw the certificate": _l("Choose the safeguarding officer who saw the certificate."),
    "the certificate must have been seen by an active safeguarding officer of this community": _l(
        "The certificate must have been seen by an active safeguarding officer of this time bank."
    ),
    "the day seen may not be in the future": _l("The day the certificate was seen cannot be in the future."),
    "the review date must come after the day the certificate was seen": _l(
        "The review date must come after the day the certificate was seen."
    ),
    # Reports, privacy, keys.
    "the period must end after it starts": _l("The end of the period must come after its start."),
    "a period may be at most two years long": _l("A period may be at most two years long. Choose a shorter period."),
    "no such token": NOT_FOUND,
    "no such partner_key": NOT_FOUND,
    "only a person can have a personal token": NOT_ALLOWED,
    "a partner key cannot make keys": NOT_ALLOWED,
    "a partner key cannot revoke keys": NOT_ALLOWED,
    "a key needs at least one scope": _l("Choose at least one thing the key may do."),
    "this person's data was erased already": _l("This person's data was erased already."),
    "an exchange of this person is disputed; a coordinator must settle it before the erasure": _l(
        "One of this person's exchanges is disputed. A coordinator must settle it before the data can be erased."
    ),
    # The ledger.
    "no such ledger": NOT_FOUND,
    "no such account": NOT_FOUND,
    "no such pending transaction": NOT_FOUND,
    "the account is frozen": ACCOUNT_FROZEN,
    "the account is closed": ACCOUNT_CLOSED,
    "the account is closed already": ACCOUNT_CLOSED,
    "only an account with a zero balance and nothing pending can be closed": say(
        _l(
            "A time account can only be closed when its balance is 0 and nothing is waiting for confirmation. "
            "The balance is %(balance)s now."
        ),
        balance=as_hours(detail("balance")),
    ),
    "an account belongs to another ledger": ONE_COMMUNITY,
    "this would take the account below its floor": BALANCE_FLOOR,
    "this would take the account above its ceiling": BALANCE_CEILING,
    "an entry's amount may not be zero": AMOUNT_ZERO,
    "the floor must not be above the ceiling": LIMITS_CROSSED,
    "a new account's zero balance must lie within its limits": _l(
        "The lowest balance must be 0 or less, and the highest balance 0 or more."
    ),
    "this transaction was posted already": ALREADY_CONFIRMED,
    "this transaction was voided already": ALREADY_CANCELLED,
    "this hold expired; it can only be voided": WAITED_TOO_LONG,
    "this transaction was reversed already": ALREADY_REVERSED,
    "only a posted transaction can be reversed; void a pending one": ONLY_CONFIRMED_REVERSED,
    "a reversal needs a reason": _l("Give a reason for the reversal."),
    "the cursor is not valid": STALE_PAGE,
    # A program's mistakes, which no page makes.
    "an account needs a kind": REFUSED,
    "an account appears twice in one transaction": REFUSED,
    "a transaction needs at least two entries": REFUSED,
    "a transaction's entries must sum to zero": REFUSED,
    "a transaction needs a kind": REFUSED,
    "a hold must expire in the future": REFUSED,
    "account ids are integers": REFUSED,
    "amounts are whole numbers of the ledger's unit": REFUSED,
    "an idempotency key and its scope may not be empty": REFUSED,
    "an idempotency key needs a scope, and a scope a key": REFUSED,
    "details must be a mapping with text keys": REFUSED,
    "only a pending transaction can expire": REFUSED,
    "the expiry needs a time zone": REFUSED,
    "the ledger id is an integer": REFUSED,
    "times given to the ledger need a time zone": REFUSED,
}

# Refusals whose message is made with an f-string, by its fixed words with {} for each value.
TEMPLATES: dict[str, Text] = {
    # Checks of single fields (timebank/validation.py and its like).
    "{} is required": on_field(_l("Fill in %(field)s.")),
    "{} may be at most {} characters": TOO_LONG,
    "{} contains control characters": on_field(
        _l("There are characters in %(field)s that cannot be used. Type it again without them.")
    ),
    "{} must be text": INVALID,
    "{} must be a whole number": FILL_IN_NUMBER,
    "{} must be between {} and {}": Pick(
        key=is_minutes_field,
        choices={
            True: say(
                _l("Fill in a time between %(minimum)s and %(maximum)s."),
                minimum=as_hours(detail("minimum")),
                maximum=as_hours(detail("maximum")),
            ),
            False: say(
                _l("Fill in a number between %(minimum)s and %(maximum)s."),
                minimum=as_number(detail("minimum")),
                maximum=as_number(detail("maximum")),
            ),
        },
    ),
    "{} must be one of: {}": on_field(_l("Choose one of the options for %(field)s.")),
    "{} must be lower-case letters, digits and dashes": on_field(
        _l("Use only small letters, digits and dashes (-) for %(field)s.")
    ),
    "{} must be a time with a time zone": on_field(_l("Fill in a date and time for %(field)s.")),
    "{} must be a date": on_field(_l("Fill in a date for %(field)s.")),
    "{} must be a list of at most {} items": say(
        _l("Choose at most %(count)s items for %(field)s."), field=field_name, count=as_number(part(1))
    ),
    "{} must be true or false": INVALID,
    "{} must be a category id or slug": _l("Choose a category from the list."),
    "{} must lie between the years {} and {}": say(
        _l("Choose a date between the years %(first)s and %(last)s."), first=part(1), last=part(2)
    ),
    "the password needs at least {} characters": numbered(
        _l("The password needs at least %(count)s characters. Choose a longer one.")
    ),
    "the password may be at most {} characters": numbered(_l("The password may have at most %(count)s characters.")),
    "unknown settings: {}": INVALID,
    "unknown profile fields: {}": INVALID,
    "visibility names some of: {}": INVALID,
    "these cannot be edited: {}": INVALID,
    "limit must be between 1 and {}": REFUSED,
    "no such {}": NOT_FOUND,
    # Memberships.
    "your membership is {}": NOT_ACTIVE_YOURSELF,
    "{} membership is {}": Pick(
        key=part(0),
        choices={
            "your": NOT_ACTIVE_YOURSELF,
            "the listing's member's": _l(
                "The member who posted this listing is not active at the moment, so this cannot be done now."
            ),
            "the requester's": _l(
                "The member who asked for help is not active at the moment, so this cannot be done now."
            ),
            "the other member's": _l("The other member is not active at the moment, so this cannot be done now."),
            "the helper's": _l("The helper is not active at the moment, so this cannot be done now."),
            "the helped member's": _l(
                "The member who was helped is not active at the moment, so this cannot be done now."
            ),
        },
    ),
    "this member's membership is {}": in_state(
        MEMBERSHIP_STATES, _l("This member's membership is %(status)s, so this cannot be done now.")
    ),
    "this member is {}": _l("This member is not active at the moment, so you cannot ask them."),
    "you already have a membership here ({})": say(
        _l("You already have a membership in this time bank (%(status)s). Your membership page says where it stands."),
        status=word_for(MEMBERSHIP_STATES, part(0)),
    ),
    "this membership is {}, not an application": in_state(
        MEMBERSHIP_STATES, _l("This is not an application any more: the membership is %(status)s.")
    ),
    "only a member who is {} can be {}; this one is {}": Pick(
        key=part(1),
        choices={
            "suspended": say(
                _l("Only an active member can be suspended. This membership is %(status)s."),
                status=word_for(MEMBERSHIP_STATES, part(2)),
            ),
            "reinstated": say(
                _l("Only a suspended member can be reinstated. This membership is %(status)s."),
                status=word_for(MEMBERSHIP_STATES, part(2)),
            ),
        },
    ),
    "this membership is {} already": Pick(
        key=part(0),
        choices={
            "left": _l("This membership has ended already."),
            "declined": _l("This application was declined already."),
        },
        otherwise=say(_l("This membership is %(status)s already."), status=word_for(MEMBERSHIP_STATES, part(0))),
    ),
    "this membership is {}": in_state(
        MEMBERSHIP_STATES, _l("This membership is %(status)s, so this cannot be done now.")
    ),
    # Listings.
    "this listing is {}": in_state(LISTING_STATES, _l("This listing is %(status)s, so it no longer takes responses.")),
    "this listing is {}; reopen it first": in_state(
        LISTING_STATES, _l("This listing is %(status)s. Open it again first, then change it.")
    ),
    "this listing is {} already": in_state(LISTING_STATES, _l("This listing is %(status)s already.")),
    "only the member who posted a listing or a coordinator may {} it": LISTING_POSTER_OR_COORDINATOR,
    "a window may be at most {} days long": numbered(
        _l("The time of a listing may be at most %(days)s days long."), name="days"
    ),
    "the window must end within {} days": numbered(
        _l("The time of a listing must end within %(days)s days from now."), name="days"
    ),
    "a listing may live at most {} days": numbered(
        _l("A listing can stay up for at most %(days)s days. Choose an earlier end date."), name="days"
    ),
    "search at most {} days at once": numbered(
        _l("Choose a period of at most %(days)s days to search in."), name="days"
    ),
    # Exchanges and invitations.
    "cannot {} an exchange that is {}": in_state(
        EXCHANGE_STATES,
        _l("This cannot be done while the exchange is %(status)s. Reload the page to see where it stands."),
        index=1,
    ),
    "this invitation was {} already": Pick(
        key=status(0),
        choices={
            "accepted": _l("This invitation was accepted already."),
            "declined": _l("This invitation was declined already."),
        },
    ),
    "the other member of the exchange must {} the minutes you recorded": Pick(
        key=part(0),
        choices={
            "confirm": _l("You recorded this time yourself, so the other member must confirm it."),
            "dispute": _l(
                "You recorded this time yourself, so only the other member can dispute it. "
                "Ask a coordinator if it is wrong."
            ),
        },
    ),
    # Communities, the pot, batches, reports, safeguarding, keys.
    "at most {} categories": numbered(_l("A time bank can have at most %(count)s categories.")),
    "name between 1 and {} participants": numbered(_l("Choose between 1 and %(count)s participants.")),
    "a batch holds between 1 and {} transfers": numbered(_l("Send between 1 and %(count)s payments at a time.")),
    "the period has more than {} entries; choose a shorter period": numbered(
        _l("This period has more than %(count)s entries. Choose a shorter period.")
    ),
    "the review date may be at most {} years after the day seen": numbered(
        _l("The review date may be at most %(count)s years after the day the certificate was seen.")
    ),
    "at most {} tokens; revoke one first": numbered(_l("You can have at most %(count)s keys. Revoke one first.")),
    "at most {} partner keys per community; revoke one first": numbered(
        _l("A time bank can have at most %(count)s partner keys. Revoke one first.")
    ),
    # The ledger.
    "an account that is {} cannot become {}": say(
        _l("This time account is %(status)s, so this cannot be done."), status=word_for(ACCOUNT_STATES, part(0))
    ),
    "{} is longer than {} characters": TOO_LONG,
    "an entry's amount may be at most {}": AMOUNT_TOO_LARGE,
    "this idempotency key was used for a different request (first difference: {})": SENT_BEFORE,
    "a batch holds at most {} transactions": TOO_MUCH_AT_ONCE,
    "the {} must be a whole number within ±{}": REFUSED,
    "details must be plain JSON: {}": REFUSED,
    "details are longer than {} characters as JSON": REFUSED,
    "a transaction may have at most {} entries": REFUSED,
}


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("(.+?)".join(re.escape(piece) for piece in template.split("{}")), re.DOTALL)


# The most specific shape first: "this listing is {} already" before "this listing is {}".
_PATTERNS = [
    (_pattern(template), TEMPLATES[template])
    for template in sorted(TEMPLATES, key=lambda template: -len(template.replace("{}", "")))
]


def text_for(message: str) -> tuple[Text | None, tuple[str, ...]]:
    """The table's text for an English message, and the values found in it (none for a literal message)."""
    if message in MESSAGES:
        return MESSAGES[message], ()
    for pattern, text in _PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return text, found.groups()
    return None, ()


def render(text: Text, facts: Facts) -> str:
    """``text`` in this request's language with its figures; a KeyError (or the like) when a figure is missing."""
    if isinstance(text, Pick):
        key = text.key(facts)
        chosen = text.choices[key] if key in text.choices or text.otherwise is None else text.otherwise
        return render(chosen, facts)
    if isinstance(text, Say):
        return str(text.words) % {name: figure(facts) for name, figure in text.figures.items()}
    return str(text)


def refusal_text(error) -> str:
    """What to tell the person about ``error`` (a DomainError or LedgerError), in this request's language."""
    code = getattr(error, "code", "")
    details = getattr(error, "details", None) or {}
    text, parts = text_for(str(getattr(error, "message", "")))
    if text is not None:
        try:
            said = render(text, Facts(details, parts))
        except (KeyError, IndexError, TypeError, ValueError):
            pass  # a figure is missing or odd: the general text of its code says enough
        else:
            return said[:1].upper() + said[1:]
    return str(FALLBACKS.get(code, REFUSED))
