"""Exchanges as partner apps see them, and the bodies of the steps that move them along. Shape only: whether a
step is allowed, and what it does to the ledger, is the use cases' business."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.common import Id, Minutes, PageArgs, StrictSchema, Text
from timebank.exchanges import LIST_FILTERS, MAX_NOTE_LENGTH, MAX_REASON_LENGTH, MAX_THANK_YOU_LENGTH
from timebank.models import ExchangeStatus
from timebank.payments import SETTLEMENTS

# --- requests -------------------------------------------------------------------------------------------------


class ListingResponseSchema(StrictSchema):
    message = Text(MAX_NOTE_LENGTH, load_default="", metadata={"example": "I can do Saturday morning."})


class InvitationAcceptanceSchema(StrictSchema):
    message = Text(MAX_NOTE_LENGTH, load_default="", metadata={"example": "Happy to help."})


class EmptyStepSchema(StrictSchema):
    """A step that takes no fields: an empty object, or no body at all."""


class ExchangeCancelSchema(StrictSchema):
    reason = Text(MAX_REASON_LENGTH, load_default="", metadata={"example": "We found another day."})


class ExchangeRecordSchema(StrictSchema):
    minutes = Minutes(required=True, metadata={"example": 90})


class ExchangeDisputeSchema(StrictSchema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_REASON_LENGTH),
        metadata={"example": "It took an hour, not two."},
    )


class ExchangeSettleSchema(StrictSchema):
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(SETTLEMENTS),
        metadata={"example": "change", "description": "post as recorded, change the minutes, or void"},
    )
    minutes = Minutes(metadata={"example": 60, "description": "the settled minutes; only with outcome change"})
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_REASON_LENGTH),
        metadata={"example": "Both agreed on an hour when we spoke."},
    )


class ExchangeThankSchema(StrictSchema):
    text = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_THANK_YOU_LENGTH),
        metadata={"example": "Thank you for the lovely afternoon with the children!"},
    )


class ExchangeOnBehalfSchema(StrictSchema):
    helper_membership_id = Id(required=True, metadata={"example": "12"})
    helped_membership_id = Id(required=True, metadata={"example": "15"})
    minutes = Minutes(required=True, metadata={"example": 120})
    attested = fields.Boolean(
        load_default=False,
        metadata={"example": False, "description": "the coordinator attests that both agreed: posted at once"},
    )
    on_behalf_of_membership_id = Id(
        load_default=None,
        allow_none=True,
        metadata={
            "example": "12",
            "description": "whom the coordinator speaks for (the helper or the helped member) when not attested; "
            "the other one confirms",
        },
    )
    category_id = Id(load_default=None, allow_none=True, metadata={"example": "3"})
    description = Text(MAX_NOTE_LENGTH, load_default="", metadata={"example": "Groceries on Tuesday"})
    reason = Text(MAX_REASON_LENGTH, load_default="", metadata={"example": "Ans has no computer; she phoned."})


class ExchangeListArgs(PageArgs):
    which = fields.String(load_default="all", validate=validate.OneOf(LIST_FILTERS))
    membership_id = Id(
        load_default=None,
        metadata={
            "description": "whose exchanges: the caller's own by default; another member's for coordinators "
            "and partner keys (which must name one)"
        },
    )


# --- responses ------------------------------------------------------------------------------------------------


class ExchangeEventSchema(Schema):
    kind = fields.String(metadata={"example": "recorded"})
    minutes = fields.Integer(allow_none=True, metadata={"example": 90})
    note = fields.String()
    at = fields.DateTime()
    actor_membership_id = Id(allow_none=True, metadata={"description": "null for the time bank itself"})


class ThankYouSchema(Schema):
    id = Id()
    from_membership_id = Id()
    to_membership_id = Id()
    text = fields.String()
    created_at = fields.DateTime()


class ExchangeSchema(Schema):
    id = Id()
    community_id = Id()
    listing_id = Id(allow_none=True)
    category_id = Id(allow_none=True)
    helper_membership_id = Id(metadata={"description": "earns the minutes"})
    helped_membership_id = Id(metadata={"description": "pays the minutes"})
    status = fields.String(metadata={"enum": [status.value for status in ExchangeStatus], "example": "recorded"})
    helper_agreed = fields.Boolean()
    helped_agreed = fields.Boolean()
    parent_accepted_helper = fields.Boolean(metadata={"description": "for a task with children"})
    minutes = fields.Integer(allow_none=True, metadata={"example": 90})
    recorded_by_membership_id = Id(
        allow_none=True, metadata={"description": "the side that recorded the minutes; the other side confirms"}
    )
    auto_confirm_at = fields.DateTime(allow_none=True)
    description = fields.String()
    dispute_reason = fields.String()
    settlement_reason = fields.String()
    created_at = fields.DateTime()
    recorded_at = fields.DateTime(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    ledger_transaction_id = Id(allow_none=True)


class ExchangeDetailsSchema(ExchangeSchema):
    events = fields.List(fields.Nested(ExchangeEventSchema), metadata={"description": "the history, oldest first"})
    thank_you = fields.Nested(ThankYouSchema, allow_none=True)


class ExchangePageSchema(Schema):
    data = fields.List(fields.Nested(ExchangeSchema))
    next_cursor = fields.String(allow_none=True)


class AnsweredInvitationSchema(Schema):
    id = Id()
    listing_id = Id()
    membership_id = Id()
    status = fields.String(metadata={"example": "declined"})
    answered_at = fields.DateTime(allow_none=True)


class ThankYouNoteSchema(Schema):
    id = Id()
    exchange_id = Id()
    from_first_name = fields.String(metadata={"example": "Ans"})
    text = fields.String()
    created_at = fields.DateTime()


class ThankYouNotePageSchema(Schema):
    data = fields.List(fields.Nested(ThankYouNoteSchema))
    next_cursor = fields.String(allow_none=True)
    shown = fields.Boolean(
        metadata={"description": "false when the member does not show thank-you notes to others (the list is empty)"}
    )
