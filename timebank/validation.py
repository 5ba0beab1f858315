"""Checks of single values that every use case shares. Each refusal names the field and says what is wrong."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from timebank.errors import InvalidInput

LANGUAGES = ("nl", "en")
# Twelve hours: far more than one bounded task, and a typo of 6000 for 60 does not slip through.
MAX_EXCHANGE_MINUTES = 12 * 60
MAX_LIMIT_MINUTES = 1000 * 60
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


def text(field: str, value, *, maximum: int, required: bool = False) -> str:
    """Stripped text of at most ``maximum`` characters; refuses control characters other than newlines."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is required", field=field)
    if len(value) > maximum:
        raise InvalidInput(f"{field} may be at most {maximum} characters", field=field, maximum=maximum)
    if any(ord(character) < 32 and character not in "\n\r\t" for character in value):
        raise InvalidInput(f"{field} contains control characters", field=field)
    return value


def whole_number(field: str, value, *, minimum: int, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{field} must be a whole number", field=field)
    if not minimum <= value <= maximum:
        raise InvalidInput(
            f"{field} must be between {minimum} and {maximum}", field=field, minimum=minimum, maximum=maximum
        )
    return value


def minutes(field: str, value, *, maximum: int = MAX_EXCHANGE_MINUTES) -> int:
    """A positive whole number of minutes, at most ``maximum``."""
    return whole_number(field, value, minimum=1, maximum=maximum)


def choice(field: str, value, options: Iterable[str]) -> str:
    options = list(options)
    if value not in options:
        raise InvalidInput(f"{field} must be one of: {', '.join(options)}", field=field, allowed=options)
    return value


def language(value, field: str = "language") -> str:
    return choice(field, value, LANGUAGES)


def email(value, field: str = "email") -> str:
    value = text(field, value, maximum=254, required=True).lower()
    if not EMAIL_PATTERN.match(value):
        raise InvalidInput("this is not an email address", field=field)
    return value


def slug(value, field: str = "slug") -> str:
    if not isinstance(value, str) or not SLUG_PATTERN.match(value):
        raise InvalidInput(f"{field} must be lower-case letters, digits and dashes", field=field)
    return value


def time_zone(value, field: str = "time_zone") -> str:
    value = text(field, value, maximum=64, required=True)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("unknown time zone", field=field) from None
    return value


def moment(field: str, value) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{field} must be a time with a time zone", field=field)
    return value


def string_list(field: str, value, *, maximum_items: int, maximum_length: int, allowed=None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or len(value) > maximum_items:
        raise InvalidInput(f"{field} must be a list of at most {maximum_items} items", field=field)
    items = [text(field, item, maximum=maximum_length, required=True) for item in value]
    if allowed is not None:
        for item in items:
            choice(field, item, allowed)
    return list(dict.fromkeys(items))
