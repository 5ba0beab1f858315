"""Listings, matching suggestions and invitations as partner apps see them. Shape only: what a listing may say
and when is the use cases' business (timebank.listings, timebank.matching)."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate

from api.common import Id, Minutes, PageArgs, StrictSchema, Text
from timebank.listings import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NEIGHBOURHOOD_LENGTH,
    MAX_REASON_LENGTH,
    MAX_SEARCH_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
)
from timebank.matching import MAX_MESSAGE_LENGTH, MAX_SUGGESTIONS
from timebank.models import ListingKind, ListingStatus, Place

KINDS = [kind.value for kind in ListingKind]
STATUSES = [status.value for status in ListingStatus]
PLACES = [place.value for place in Place]
# Ids name rows of 32-bit integer columns: a larger one names nothing, and PostgreSQL would refuse to look it up.
MAX_ROW_ID = 2**31 - 1
# Category slugs are at most 60 characters (timebank.validation.SLUG_PATTERN); ids at most 18 digits.
MAX_CATEGORY_LENGTH = 60


# A bound on every moment a client sends: far outside any listing's life, and before the use cases would overflow
# converting year 1 or year 9999 to UTC. The use cases judge the moments themselves.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _within_bounds(value: datetime) -> None:
    if not EARLIEST <= value <= LATEST:
        raise ValidationError(f"must be between {EARLIEST.year} and {LATEST.year}")


def _moment(example: str, description: str, **kwargs):
    return fields.AwareDateTime(
        validate=_within_bounds,
        metadata={"example": example, "description": f"{description} (RFC 3339 with offset, years 2000-2200)"},
        **kwargs,
    )


class RowId(Id):
    """An id a client sends: ASCII digits (str.isdigit() also holds for "²", which int() refuses), naming a row
    that can exist."""

    def __init__(self, **kwargs):
        metadata = {"pattern": "^[0-9]{1,10}$", **kwargs.pop("metadata", {})}
        super().__init__(validate=validate.Range(min=1, max=MAX_ROW_ID), metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not value.isascii():
            raise ValidationError("not a valid id")
        return super()._deserialize(value, attr, data, **kwargs)


# --- what comes back -------------------------------------------------------------------------------------------


class ListingSchema(Schema):
    """A listing; of the member who posted it, only their first name."""

    id = Id(metadata={"example": "42"})
    community_id = Id(metadata={"example": "1"})
    kind = fields.String(metadata={"enum": KINDS, "example": "request"})
    title = fields.String(metadata={"example": "Boodschappen op vrijdag"})
    description = fields.String(metadata={"example": "Twee tassen van de Albert Heijn naar de derde verdieping."})
    category_id = Id(metadata={"example": "3"})
    estimated_minutes = fields.Integer(metadata={"example": 60})
    window_start = fields.DateTime(allow_none=True, metadata={"description": "null: any time"})
    window_end = fields.DateTime(allow_none=True, metadata={"description": "null: any time"})
    place = fields.String(metadata={"enum": PLACES, "example": "neighbourhood"})
    neighbourhood = fields.String(metadata={"example": "Oosterpark"})
    status = fields.String(metadata={"enum": STATUSES, "example": "open"})
    expires_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    owner_first_name = fields.String(metadata={"example": "Ans"})


class ListingPageSchema(Schema):
    data = fields.List(fields.Nested(ListingSchema))
    next_cursor = fields.String(allow_none=True)


class ReasonSchema(Schema):
    code = fields.String(metadata={"example": "willing_offer"})
    text = fields.String(metadata={"example": "offers this kind of help"})


class SuggestionSchema(Schema):
    """A member suggested for a request: willing, available and able (the three Bs), and why."""

    membership_id = Id(metadata={"example": "7"})
    first_name = fields.String(metadata={"example": "Bert"})
    neighbourhood = fields.String(metadata={"example": "Dapperbuurt"})
    willing = fields.Boolean()
    available = fields.Boolean()
    reasons = fields.List(fields.Nested(ReasonSchema))


class SuggestionListSchema(Schema):
    data = fields.List(fields.Nested(SuggestionSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: suggestions are one page"})


class InvitationSchema(Schema):
    """A member asked personally to help with a request."""

    id = Id(metadata={"example": "5"})
    community_id = Id(metadata={"example": "1"})
    listing_id = Id(metadata={"example": "42"})
    membership_id = Id(metadata={"example": "7", "description": "the member invited"})
    message = fields.String(metadata={"example": "Zou je dit willen doen?"})
    status = fields.String(metadata={"example": "open"})
    created_at = fields.DateTime()


class OpenInvitationSchema(InvitationSchema):
    """An invitation waiting for the caller's answer, with its request and the first name of who asked."""

    invited_by_first_name = fields.String(metadata={"example": "Carla"})
    listing = fields.Nested(ListingSchema)


class OpenInvitationPageSchema(Schema):
    data = fields.List(fields.Nested(OpenInvitationSchema))
    next_cursor = fields.String(allow_none=True)


# --- what goes in ----------------------------------------------------------------------------------------------


class ListingSearchArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(KINDS), metadata={"example": "request"})
    category = fields.String(
        validate=validate.Length(min=1, max=MAX_CATEGORY_LENGTH),
        metadata={"example": "boodschappen", "description": "a category id (digits) or slug"},
    )
    neighbourhood = Text(MAX_NEIGHBOURHOOD_LENGTH, metadata={"example": "Oosterpark"})
    text = Text(MAX_SEARCH_TEXT_LENGTH, metadata={"example": "tassen", "description": "in title or description"})
    window_start = _moment("2026-12-04T18:00:00+01:00", "with window_end: listings whose window overlaps it")
    window_end = _moment("2026-12-04T22:00:00+01:00", "with window_start")
    status = fields.String(
        load_default=ListingStatus.OPEN.value, validate=validate.OneOf(STATUSES), metadata={"example": "open"}
    )


class NewListingSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS), metadata={"example": "request"})
    title = Text(MAX_TITLE_LENGTH, required=True, metadata={"example": "Boodschappen op vrijdag"})
    description = Text(MAX_DESCRIPTION_LENGTH, metadata={"example": "Twee tassen naar de derde verdieping."})
    category_id = RowId(required=True, metadata={"example": "3"})
    estimated_minutes = Minutes(required=True, metadata={"example": 60})
    window_start = _moment(
        "2026-12-04T18:00:00+01:00", "with window_end; both null or absent: any time", allow_none=True
    )
    window_end = _moment("2026-12-04T21:00:00+01:00", "at most 14 days after window_start", allow_none=True)
    place = fields.String(validate=validate.OneOf(PLACES), metadata={"example": "neighbourhood"})
    neighbourhood = Text(MAX_NEIGHBOURHOOD_LENGTH, metadata={"example": "Oosterpark", "description": "default: yours"})
    expires_at = _moment(
        "2026-12-04T21:00:00+01:00", "default: the window's end, else 30 days from now", allow_none=True
    )


class ListingChangesSchema(StrictSchema):
    """The fields to change; a field left out keeps its value. Null windows make the listing any-time; a changed
    window without an expiry resets the expiry to its default."""

    title = Text(MAX_TITLE_LENGTH, metadata={"example": "Boodschappen op zaterdag"})
    description = Text(MAX_DESCRIPTION_LENGTH, metadata={"example": "Drie tassen."})
    category_id = RowId(metadata={"example": "3"})
    estimated_minutes = Minutes(metadata={"example": 90})
    window_start = _moment("2026-12-05T10:00:00+01:00", "null (with window_end): any time", allow_none=True)
    window_end = _moment("2026-12-05T12:00:00+01:00", "null (with window_start): any time", allow_none=True)
    place = fields.String(validate=validate.OneOf(PLACES), metadata={"example": "at_home"})
    neighbourhood = Text(MAX_NEIGHBOURHOOD_LENGTH, metadata={"example": "Dapperbuurt"})
    expires_at = _moment("2026-12-05T12:00:00+01:00", "null: the default", allow_none=True)


class CloseSchema(StrictSchema):
    reason = Text(MAX_REASON_LENGTH, metadata={"example": "duplicate", "description": "required of a coordinator"})


class ReopenSchema(StrictSchema):
    expires_at = _moment("2026-12-20T12:00:00+01:00", "needed when the old expiry has passed", allow_none=True)
    reason = Text(
        MAX_REASON_LENGTH, metadata={"example": "closed by mistake", "description": "required of a coordinator"}
    )


class SuggestionArgs(StrictSchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=MAX_SUGGESTIONS))


class NewInvitationSchema(StrictSchema):
    membership_id = RowId(required=True, metadata={"example": "7", "description": "the member to ask"})
    message = Text(MAX_MESSAGE_LENGTH, metadata={"example": "Zou je dit willen doen?"})


class InvitationArgs(PageArgs):
    community_id = RowId(required=True, metadata={"example": "1"})
