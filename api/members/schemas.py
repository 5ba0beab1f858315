"""Members as the API shows them: what the caller may see of another member, or the whole profile to its owner
and the community's coordinators; the bodies of the member and coordinator actions. Shape only: the use cases
check every value again and hold the rules."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.common import Id, PageArgs, StrictSchema
from timebank.members import AVAILABILITY_SLOTS
from timebank.models import MembershipStatus
from timebank.validation import LANGUAGES, MAX_LIMIT_MINUTES

STATUSES = tuple(item.value for item in MembershipStatus)
NOTIFICATION_MODES = ("immediate", "weekly")


class StrictBoolean(fields.Boolean):
    """true or false, and nothing that merely looks like one ("yes", 1)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _name(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=80), **kwargs)


def _reason():
    return fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"example": "agreed with the member on the phone", "description": "kept in the audit log"},
    )


class MemberSchema(Schema):
    """A member as the caller may see them: first name and neighbourhood, plus what the member chose to show (all
    of it for the member themselves and for coordinators)."""

    id = Id()
    community_id = Id()
    display_name = fields.String(metadata={"example": "Ans"})
    neighbourhood = fields.String(metadata={"example": "Oosterpark"})
    status = fields.String(metadata={"enum": list(STATUSES)})
    role = fields.String(metadata={"enum": ["member", "coordinator"]})
    likes_to_do = fields.String(metadata={"description": "present when the caller may see it"})
    availability = fields.List(fields.String(), metadata={"description": "present when the caller may see it"})
    languages = fields.List(fields.String(), metadata={"description": "present when the caller may see it"})
    interests = fields.List(fields.String(), metadata={"description": "present when the caller may see it"})


class MemberListSchema(Schema):
    data = fields.List(fields.Nested(MemberSchema))
    next_cursor = fields.String(allow_none=True)


class MemberVisibilitySchema(StrictSchema):
    """What others may see beyond first name and neighbourhood."""

    likes_to_do = StrictBoolean()
    availability = StrictBoolean()
    languages = StrictBoolean()
    interests = StrictBoolean()
    thank_you_notes = StrictBoolean()


class MembershipSchema(Schema):
    """A whole membership, as its owner and the community's coordinators see it."""

    id = Id()
    community_id = Id()
    display_name = fields.String(metadata={"example": "Ans de Vries"})
    neighbourhood = fields.String(metadata={"example": "Oosterpark"})
    status = fields.String(metadata={"enum": list(STATUSES)})
    role = fields.String(metadata={"enum": ["member", "coordinator"]})
    managed_offline = fields.Boolean(metadata={"description": "managed by a coordinator: no login of their own"})
    likes_to_do = fields.String()
    availability = fields.List(fields.String())
    languages = fields.List(fields.String())
    interests = fields.List(fields.String())
    visibility = fields.Dict(keys=fields.String(), values=fields.Boolean())
    application_note = fields.String()
    decision_reason = fields.String(metadata={"description": "a coordinator's reason for the last decision"})
    applied_at = fields.DateTime()
    joined_at = fields.DateTime(allow_none=True)
    left_at = fields.DateTime(allow_none=True)


class MemberListArgs(PageArgs):
    status = fields.String(
        load_default="active",
        validate=validate.OneOf(STATUSES),
        metadata={"description": "members see active members; other statuses are for coordinators"},
    )


class OwnSettingsSchema(Schema):
    id = Id()
    email = fields.String(allow_none=True, metadata={"example": "ans@example.org"})
    preferred_language = fields.String(metadata={"enum": list(LANGUAGES)})
    notification_mode = fields.String(metadata={"enum": list(NOTIFICATION_MODES)})
    memberships = fields.List(fields.Nested(MembershipSchema))


class OwnSettingsChangeSchema(StrictSchema):
    preferred_language = fields.String(validate=validate.OneOf(LANGUAGES), metadata={"example": "en"})
    notification_mode = fields.String(validate=validate.OneOf(NOTIFICATION_MODES), metadata={"example": "weekly"})


class MemberProfileChangeSchema(StrictSchema):
    display_name = _name(metadata={"example": "Ans de Vries"})
    neighbourhood = fields.String(validate=validate.Length(max=80), metadata={"example": "Oosterpark"})
    likes_to_do = fields.String(validate=validate.Length(max=1000), metadata={"example": "gardening, soup"})
    interests = fields.List(
        fields.String(validate=validate.Length(max=60)),
        validate=validate.Length(max=50),
        metadata={"example": ["klussen", "boodschappen"]},
    )
    availability = fields.List(
        fields.String(validate=validate.OneOf(AVAILABILITY_SLOTS)),
        validate=validate.Length(max=len(AVAILABILITY_SLOTS)),
        metadata={"example": ["sat-morning", "wed-evening"]},
    )
    languages = fields.List(
        fields.String(validate=validate.Length(max=40)),
        validate=validate.Length(max=20),
        metadata={"example": ["Nederlands", "English"]},
    )
    visibility = fields.Nested(
        MemberVisibilitySchema, metadata={"example": {"likes_to_do": True, "availability": False}}
    )


class MembershipApplicationSchema(StrictSchema):
    display_name = _name(required=True, metadata={"example": "Ans de Vries"})
    neighbourhood = fields.String(validate=validate.Length(max=80), metadata={"example": "Oosterpark"})
    note = fields.String(validate=validate.Length(max=1000), metadata={"example": "I moved here in May."})


class OfflineMemberSchema(StrictSchema):
    display_name = _name(required=True, metadata={"example": "Mevrouw Jansen"})
    neighbourhood = fields.String(validate=validate.Length(max=80), metadata={"example": "Dapperbuurt"})
    preferred_language = fields.String(validate=validate.OneOf(LANGUAGES), metadata={"example": "nl"})


class MemberApprovalSchema(StrictSchema):
    """No fields: the action needs none."""


class MemberReasonSchema(StrictSchema):
    reason = _reason()


class MemberLimitsSchema(StrictSchema):
    floor_minutes = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=-MAX_LIMIT_MINUTES, max=MAX_LIMIT_MINUTES),
        metadata={"example": -900, "description": "zero or below"},
    )
    ceiling_minutes = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=-MAX_LIMIT_MINUTES, max=MAX_LIMIT_MINUTES),
        metadata={"example": 3000, "description": "zero or above"},
    )
    reason = _reason()
