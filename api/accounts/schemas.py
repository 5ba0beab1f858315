"""The ledger as partner apps see it: balances, statements, payments, claims, reversals, batches and the pot.

Amounts are integer minutes; ids are strings. Request schemas check shape only; the use cases hold the rules.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from api.common import Id, Minutes, PageArgs, StrictSchema, Text
from timebank import batches, pot, validation
from timebank.balances import MAX_ROW_ID
from timebank.exchanges import MAX_NOTE_LENGTH


class AsciiId(Id):
    """``Id``, refusing digits other than 0-9 ("¹" passes ``str.isdigit`` but not ``int``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not value.isascii():
            raise ValidationError("not a valid id")
        return super()._deserialize(value, attr, data, **kwargs)


def RowId(**kwargs):  # noqa: N802
    """The id of a member, community or category given in a request: one that can exist (32 bits)."""
    return AsciiId(validate=validate.Range(min=1, max=MAX_ROW_ID), **kwargs)


# --- reads ------------------------------------------------------------------------------------------------------


class AccountFiguresSchema(Schema):
    account_id = AsciiId()
    balance_minutes = fields.Integer(metadata={"example": 150})
    pending_debit_minutes = fields.Integer(metadata={"example": 30})
    pending_credit_minutes = fields.Integer(metadata={"example": 0})
    available_minutes = fields.Integer(
        metadata={"example": 120, "description": "the balance less what is held for pending debits"}
    )
    floor_minutes = fields.Integer(allow_none=True, metadata={"example": -600})
    ceiling_minutes = fields.Integer(allow_none=True, metadata={"example": 2400})
    status = fields.String(metadata={"example": "open", "description": "open, frozen or closed"})


class MemberBalanceSchema(AccountFiguresSchema):
    membership_id = AsciiId()
    community_id = AsciiId()


class PotFiguresSchema(AccountFiguresSchema):
    community_id = AsciiId()


class StatementArgsSchema(PageArgs):
    start = fields.AwareDateTime(
        required=True, metadata={"example": "2026-01-01T00:00:00+01:00", "description": "included"}
    )
    end = fields.AwareDateTime(
        required=True,
        metadata={"example": "2026-04-01T00:00:00+02:00", "description": "excluded; at most two years after start"},
    )


class StatementCsvArgsSchema(StrictSchema):
    start = fields.AwareDateTime(required=True, metadata={"example": "2026-01-01T00:00:00+01:00"})
    end = fields.AwareDateTime(required=True, metadata={"example": "2026-04-01T00:00:00+02:00"})


class StatementLineSchema(Schema):
    transaction_id = AsciiId()
    posted_at = fields.AwareDateTime()
    kind = fields.String(metadata={"example": "exchange"})
    memo = fields.String(metadata={"example": "boodschappen"})
    description = fields.String(metadata={"example": "exchange: boodschappen (with Bert)"})
    other_party_first_name = fields.String(allow_none=True, metadata={"example": "Bert"})
    amount_minutes = fields.Integer(metadata={"example": -60})
    balance_minutes = fields.Integer(metadata={"example": 60, "description": "the balance right after this entry"})


class StatementSchema(Schema):
    membership_id = AsciiId()
    community_id = AsciiId()
    time_zone = fields.String(metadata={"example": "Europe/Amsterdam"})
    start = fields.AwareDateTime()
    end = fields.AwareDateTime()
    opening_balance_minutes = fields.Integer(metadata={"description": "the posted balance just before start"})
    closing_balance_minutes = fields.Integer(metadata={"description": "the posted balance just before end"})
    data = fields.List(fields.Nested(StatementLineSchema), metadata={"description": "this page's entries"})
    next_cursor = fields.String(allow_none=True)


# --- what writes answer ---------------------------------------------------------------------------------------------


class LedgerExchangeSchema(Schema):
    """A payment or claim, as the exchange it is recorded as."""

    id = AsciiId()
    community_id = AsciiId()
    status = fields.String(metadata={"example": "confirmed", "description": "confirmed (a payment) or recorded"})
    helper_membership_id = AsciiId()
    helped_membership_id = AsciiId()
    minutes = fields.Integer(metadata={"example": 90})
    description = fields.String()
    category_id = AsciiId(allow_none=True)
    transaction_id = AsciiId(attribute="ledger_transaction_id", allow_none=True)
    recorded_at = fields.AwareDateTime(allow_none=True)
    confirmed_at = fields.AwareDateTime(allow_none=True)
    auto_confirm_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "a claim confirms itself then unless disputed"}
    )


class LedgerEntrySchema(Schema):
    account_id = AsciiId()
    amount_minutes = fields.Integer(attribute="amount", metadata={"example": -30})


class LedgerTransactionSchema(Schema):
    id = AsciiId()
    kind = fields.String(metadata={"example": "pot_grant"})
    state = fields.String(metadata={"example": "posted"})
    memo = fields.String()
    created_at = fields.AwareDateTime()
    posted_at = fields.AwareDateTime(allow_none=True)
    reverses_id = AsciiId(allow_none=True, metadata={"description": "for a reversal: the transaction it corrects"})
    entries = fields.List(fields.Nested(LedgerEntrySchema))


# --- payments, claims, reversals ------------------------------------------------------------------------------------


class NewPaymentSchema(StrictSchema):
    payee_membership_id = RowId(required=True, metadata={"example": "42"})
    minutes = Minutes(required=True, metadata={"example": 90})
    description = Text(MAX_NOTE_LENGTH, load_default="", metadata={"example": "boodschappen gedaan"})
    category_id = RowId(load_default=None, allow_none=True, metadata={"example": "3"})


class NewClaimSchema(StrictSchema):
    payer_membership_id = RowId(required=True, metadata={"example": "42"})
    minutes = Minutes(required=True, metadata={"example": 90})
    description = Text(MAX_NOTE_LENGTH, load_default="", metadata={"example": "de tuin gedaan"})
    category_id = RowId(load_default=None, allow_none=True, metadata={"example": "3"})


class NewReversalSchema(StrictSchema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=pot.MAX_REASON_LENGTH),
        metadata={"example": "paid to the wrong member"},
    )


# --- the batch ---------------------------------------------------------------------------------------------------


class BatchTransferSchema(StrictSchema):
    payer_membership_id = RowId(required=True, metadata={"example": "42"})
    payee_membership_id = RowId(required=True, metadata={"example": "43"})
    minutes = Minutes(required=True, metadata={"example": 60})
    description = Text(MAX_NOTE_LENGTH, required=True, metadata={"example": "buurthuis: koffie schenken"})
    category_id = RowId(load_default=None, allow_none=True, metadata={"example": "3"})


class NewTransferBatchSchema(StrictSchema):
    atomic = fields.Boolean(
        required=True, metadata={"example": True, "description": "true: all or nothing; false: each on its own"}
    )
    transfers = fields.List(
        fields.Nested(BatchTransferSchema),
        required=True,
        validate=validate.Length(min=1, max=batches.MAX_TRANSFERS),
    )


PROBLEM_PROPERTIES = {
    "type": {"type": "string", "example": "/api/v1/problems/balance-below-floor"},
    "title": {"type": "string", "example": "Balance below floor"},
    "status": {"type": "integer", "example": 422},
    "detail": {"type": "string"},
    "code": {"type": "string", "example": "balance_below_floor"},
}


class BatchItemResultSchema(Schema):
    index = fields.Integer(metadata={"example": 0, "description": "the item's position in the request"})
    status = fields.String(
        validate=validate.OneOf([status.value for status in batches.TransferStatus]), metadata={"example": "posted"}
    )
    exchange_id = AsciiId(allow_none=True)
    transaction_id = AsciiId(allow_none=True)
    problem = fields.Dict(
        allow_none=True,
        metadata={
            "description": "for refused and not_applied items: an RFC 9457 problem, with the error's figures "
            "(account_id, available_minutes, floor_minutes, field, failed_index...) as extension members",
            "properties": PROBLEM_PROPERTIES,
        },
    )


class TransferBatchResultSchema(Schema):
    atomic = fields.Boolean()
    posted_count = fields.Integer(metadata={"example": 2})
    refused_count = fields.Integer(metadata={"example": 0, "description": "refused or not applied"})
    results = fields.List(fields.Nested(BatchItemResultSchema))


# --- the pot ------------------------------------------------------------------------------------------------------


class NewDonationSchema(StrictSchema):
    minutes = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=1, max=validation.MAX_LIMIT_MINUTES),
        metadata={"example": 60},
    )
    note = Text(pot.MAX_NOTE_LENGTH, load_default="", metadata={"example": "voor het buurtfeest"})


class NewGrantSchema(StrictSchema):
    membership_id = RowId(required=True, metadata={"example": "42"})
    minutes = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=pot.MAX_GRANT_MINUTES), metadata={"example": 120}
    )
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=pot.MAX_REASON_LENGTH),
        metadata={"example": "cannot reciprocate this winter"},
    )


class NewGroupEventSchema(StrictSchema):
    event_name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=pot.MAX_EVENT_NAME_LENGTH),
        metadata={"example": "Opruimen Oosterpark"},
    )
    participant_ids = fields.List(
        RowId(), required=True, validate=validate.Length(min=1, max=pot.MAX_PARTICIPANTS), metadata={"example": ["42"]}
    )
    minutes_each = Minutes(required=True, metadata={"example": 120})
    source = fields.String(load_default="pot", validate=validate.OneOf(pot.SOURCES), metadata={"example": "pot"})
