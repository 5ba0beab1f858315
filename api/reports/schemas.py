"""The funder report's figures and the audit log's entries. Query arguments are checked for shape only: the
period's rules (end after start, at most two years) belong to the use case."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import Schema, fields, validate

from api.common import MAX_PAGE_SIZE, Id, StrictSchema

# Bounds on a period's ends, so that a report's month and 90-day arithmetic stays within the calendar Python can
# count (years 1 to 9999); a shape check, like a length limit, not a rule of the time bank.
EARLIEST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(9000, 1, 1, tzinfo=UTC)
MAX_ACTION_LENGTH = 64
# How the audit log names who acted (timebank.access.Actor.label).
ACTOR_PATTERN = r"^(?:(?:user|partner):[1-9][0-9]{0,17}|system:[a-z0-9_.-]{1,64})$"


def Moment(**kwargs):  # noqa: N802 (a field factory, read like a field class)
    return fields.AwareDateTime(
        required=True,
        validate=validate.Range(
            min=EARLIEST_MOMENT, max=LATEST_MOMENT, error="must be between 1970-01-01 and 9000-01-01 (UTC)"
        ),
        **kwargs,
    )


class FunderPeriodArgs(StrictSchema):
    start = Moment(
        metadata={
            "description": "the period's first moment (included), RFC 3339 with an offset",
            "example": "2026-03-01T00:00:00+01:00",
        }
    )
    end = Moment(
        metadata={
            "description": "the moment after the period (excluded), RFC 3339 with an offset; at most two years "
            "after start",
            "example": "2026-04-01T00:00:00+02:00",
        }
    )


class MonthFigureSchema(Schema):
    month = fields.String(
        metadata={"description": "a calendar month in the community's time zone", "example": "2026-03"}
    )
    exchanges = fields.Integer(metadata={"example": 12})
    minutes = fields.Integer(metadata={"example": 840})


class CategoryFigureSchema(Schema):
    slug = fields.String(metadata={"description": '"" for exchanges without a category', "example": "boodschappen"})
    name = fields.String(metadata={"example": "Boodschappen"})
    exchanges = fields.Integer(metadata={"example": 4})
    minutes = fields.Integer(metadata={"example": 240})


class MonthCategoryFigureSchema(Schema):
    month = fields.String(metadata={"example": "2026-03"})
    slug = fields.String(metadata={"example": "boodschappen"})
    exchanges = fields.Integer(metadata={"example": 4})
    minutes = fields.Integer(metadata={"example": 240})


class FunderReportSchema(Schema):
    """A community's figures for ``[start, end)``: counts and sums only, never a person."""

    community_id = Id()
    community_name = fields.String(metadata={"example": "Buurtbank Oosterpark"})
    time_zone = fields.String(metadata={"example": "Europe/Amsterdam"})
    start = fields.DateTime(metadata={"example": "2026-02-28T23:00:00+00:00"})
    end = fields.DateTime(metadata={"example": "2026-03-31T22:00:00+00:00"})
    minutes_by_month = fields.List(fields.Nested(MonthFigureSchema))
    minutes_by_category = fields.List(fields.Nested(CategoryFigureSchema))
    minutes_by_month_and_category = fields.List(fields.Nested(MonthCategoryFigureSchema))
    total_exchanges = fields.Integer(metadata={"example": 12})
    total_minutes = fields.Integer(metadata={"example": 840})
    active_members = fields.Integer(metadata={"description": "in a confirmed exchange in the 90 days before end"})
    new_members = fields.Integer(metadata={"description": "admitted within the period"})
    helper_helped_pairs = fields.Integer()
    requests_with_an_exchange = fields.Integer()
    median_days_to_first_exchange = fields.Float(allow_none=True, metadata={"example": 2.5})
    open_requests_older_than_14_days = fields.Integer()
    members_within_an_hour_of_floor = fields.Integer()


class AuditLogArgs(StrictSchema):
    action = fields.String(
        load_default=None,
        validate=[validate.Length(min=1, max=MAX_ACTION_LENGTH), validate.Regexp(r"^[a-z0-9_.]+$")],
        metadata={"description": "only entries of this action", "example": "member.approved"},
    )
    actor = fields.String(
        load_default=None,
        validate=validate.Regexp(ACTOR_PATTERN, error="must be user:<id>, partner:<key id> or system:<job>"),
        metadata={"description": "only entries by this actor (as entries name it)", "example": "user:12"},
    )
    since = fields.AwareDateTime(
        load_default=None,
        validate=validate.Range(
            min=EARLIEST_MOMENT, max=LATEST_MOMENT, error="must be between 1970-01-01 and 9000-01-01 (UTC)"
        ),
        metadata={"description": "only entries at or after this moment, RFC 3339 with an offset"},
    )
    until = fields.AwareDateTime(
        load_default=None,
        validate=validate.Range(
            min=EARLIEST_MOMENT, max=LATEST_MOMENT, error="must be between 1970-01-01 and 9000-01-01 (UTC)"
        ),
        metadata={"description": "only entries before this moment, RFC 3339 with an offset"},
    )
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


class AuditEntrySchema(Schema):
    id = Id()
    at = fields.DateTime()
    action = fields.String(metadata={"example": "member.approved"})
    actor = fields.String(
        attribute="details.actor",
        metadata={"description": "who acted: user:<id>, partner:<key id> or system:<job>", "example": "user:12"},
    )
    subject_type = fields.String(metadata={"example": "membership"})
    subject_id = Id(allow_none=True)
    reason = fields.String()
    details = fields.Dict()


class AuditPageSchema(Schema):
    data = fields.List(fields.Nested(AuditEntrySchema))
    next_cursor = fields.String(allow_none=True)
