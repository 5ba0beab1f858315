"""What every resource shares: strict schemas, opaque ids, cursor pages, and running a use case as the caller."""

from __future__ import annotations

import base64
import binascii
import json

from flask import current_app, g
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from api.auth import actor
from api.idempotency import TRANSACTION

MAX_PAGE_SIZE = 100


class StrictSchema(Schema):
    """Unknown fields are refused, so a client can never set ``balance`` or ``role`` by adding a field."""

    class Meta:
        unknown = RAISE
        ordered = True


# Most tables count rows in 32 bits; ledger transactions in 64. An id beyond its column names nothing.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1


def _as_id(value, maximum: int) -> int | None:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if 1 <= number <= maximum else None


class Id(fields.String):
    """An opaque id: a string of digits in JSON; the code holds a positive integer."""

    def __init__(self, *, maximum: int = MAX_ID, **kwargs):
        self.maximum = maximum
        metadata = {"pattern": "^[0-9]{1,19}$", "example": "42", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)

    def _deserialize(self, value, attr, data, **kwargs):
        number = _as_id(value, self.maximum)
        if number is None:
            raise ValidationError("not a valid id")
        return number


def parse_id(value: str, *, maximum: int = MAX_ID) -> int | None:
    """A path's id, or None when it cannot name anything (the route then answers 404)."""
    return _as_id(value, maximum)


def path_id(value: str, what: str, *, maximum: int = MAX_ID) -> int:
    """A path's id; one that cannot name anything (not digits, too large for its column) is not found."""
    from timebank.errors import NotFound

    identifier = _as_id(value, maximum)
    if identifier is None:
        raise NotFound(f"no such {what}")
    return identifier


def Minutes(**kwargs):  # noqa: N802 (a field factory, read like a field class)
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=12 * 60), **kwargs)


def Text(maximum: int, **kwargs):  # noqa: N802
    return fields.String(validate=validate.Length(max=maximum), **kwargs)


class PageArgs(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


def encode_cursor(value) -> str | None:
    """An opaque cursor from a use case's keyset value (None at the end)."""
    if value is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, kind=int):
    """The keyset value inside a cursor; a malformed one is refused as invalid input."""
    from timebank.errors import InvalidInput

    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("the cursor is not valid", field="cursor") from None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidInput("the cursor is not valid", field="cursor")
    return value


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A page of items: ``{"data": [...], "next_cursor": "..." | null}``."""
    return type(
        name,
        (Schema,),
        {"data": fields.List(fields.Nested(item_schema)), "next_cursor": fields.String(allow_none=True)},
    )


def page(items, next_value) -> dict:
    return {"data": list(items), "next_cursor": encode_cursor(next_value)}


def _database():
    """The app's database; within a request with an Idempotency-Key, that request's one transaction."""
    return g.get(TRANSACTION) or current_app.extensions["timebank"].database


def run(use_case, /, **arguments):
    """Run a use case that writes, as the caller, in one transaction."""
    return _database().run(use_case, actor=actor(), **arguments)


def read(query, /, **arguments):
    """Run a query as the caller."""
    return _database().read(query, actor=actor(), **arguments)
