"""Communities as partner apps see them: settings and categories."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.common import Id


class CategorySchema(Schema):
    id = Id()
    slug = fields.String()
    name_en = fields.String()
    name_nl = fields.String()
    involves_children = fields.Boolean()


class CommunitySchema(Schema):
    id = Id()
    slug = fields.String(metadata={"example": "oosterpark"})
    name = fields.String(metadata={"example": "Buurtbank Oosterpark"})
    language = fields.String(metadata={"example": "nl"})
    time_zone = fields.String(metadata={"example": "Europe/Amsterdam"})
    default_floor_minutes = fields.Integer(metadata={"example": -600})
    default_ceiling_minutes = fields.Integer(metadata={"example": 2400})
    welcome_credit_minutes = fields.Integer(metadata={"example": 120})
    auto_confirm_days = fields.Integer(metadata={"example": 7})
    approval_required = fields.Boolean()
    categories = fields.List(fields.Nested(CategorySchema))


class CommunityListSchema(Schema):
    data = fields.List(fields.Nested(CommunitySchema))
    next_cursor = fields.String(allow_none=True)
