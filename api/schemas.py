"""Schemas the whole API shares: the problem document."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


class ProblemSchema(Schema):
    """RFC 9457 problem details; extension members (``account_id``, ``available``, ``floor``, ``errors``…) may
    follow."""

    class Meta:
        unknown = INCLUDE  # documents additionalProperties: the extension members

    type = fields.String(required=True, metadata={"example": "/api/v1/problems/balance-below-floor"})
    title = fields.String(required=True, metadata={"example": "Balance below floor"})
    status = fields.Integer(required=True, metadata={"example": 422})
    detail = fields.String(required=True, metadata={"example": "this would take the account below its floor"})
    code = fields.String(required=True, metadata={"example": "balance_below_floor"})
    request_id = fields.String(
        metadata={
            "description": "the answer's X-Request-Id: quote it when you report a problem",
            "example": "4bf92f3577b34da6a3ce929d0e0e4736",
        }
    )
