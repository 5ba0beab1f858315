"""Personal tokens and partner keys. The secret appears once, in the answer to the create."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.common import Id, StrictSchema
from timebank.credentials import SCOPES


class NewTokenSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80), metadata={"example": "school app"})


class TokenSchema(Schema):
    id = Id()
    name = fields.String()
    hint = fields.String(metadata={"description": "the first characters of the secret"})
    created_at = fields.DateTime()


class IssuedTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "the secret: shown this once, stored only as a hash"})


class NewPartnerKeySchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80), metadata={"example": "Gemeente"})
    scopes = fields.List(
        fields.String(validate=validate.OneOf(SCOPES)), required=True, validate=validate.Length(min=1, max=len(SCOPES))
    )


class PartnerKeySchema(TokenSchema):
    community_id = Id()
    scopes = fields.List(fields.String())


class IssuedPartnerKeySchema(PartnerKeySchema):
    token = fields.String(metadata={"description": "the secret: shown this once, stored only as a hash"})


class TokenListSchema(Schema):
    data = fields.List(fields.Nested(TokenSchema))
    next_cursor = fields.String(allow_none=True)


class PartnerKeyListSchema(Schema):
    data = fields.List(fields.Nested(PartnerKeySchema))
    next_cursor = fields.String(allow_none=True)
