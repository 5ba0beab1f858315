"""Members: the community's members as the caller may see them, the caller's own settings and profile, applying to
join, and the coordinators' admissions, suspensions, limits and offline neighbours. Every rule is the use case's
(``timebank.members``); these views translate HTTP to a call and back."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from api.auth import requires
from api.common import decode_cursor, page, path_id, read, run
from api.idempotency import idempotent
from api.members.schemas import (
    MemberApprovalSchema,
    MemberLimitsSchema,
    MemberListArgs,
    MemberListSchema,
    MemberProfileChangeSchema,
    MemberReasonSchema,
    MemberSchema,
    MembershipApplicationSchema,
    MembershipSchema,
    OfflineMemberSchema,
    OwnSettingsChangeSchema,
    OwnSettingsSchema,
)
from timebank import members

blueprint = Blueprint("members", __name__, url_prefix="/api/v1", description="Members, applications and profiles")


def _shown(view: members.MemberView) -> dict:
    return {
        "id": view.membership_id,
        "community_id": view.community_id,
        "display_name": view.display_name,
        "neighbourhood": view.neighbourhood,
        "status": view.status,
        "role": view.role,
        **view.shown,
    }


def _member_page(*, session, actor, community_id: int, status: str, limit: int, after: int | None):
    found = members.list_members(
        session=session, actor=actor, community_id=community_id, status=status, limit=limit, after=after
    )
    views = [members.view_member(session=session, actor=actor, membership_id=item.id) for item in found.members]
    return [_shown(view) for view in views], found.next_cursor


def _own_settings(settings: members.OwnSettings) -> dict:
    user = settings.user
    return {
        "id": user.id,
        "email": user.email,
        "preferred_language": user.preferred_language,
        "notification_mode": user.notification_mode,
        "memberships": settings.memberships,
    }


def _changed_settings(*, session, actor, **changes) -> members.OwnSettings:
    members.update_user_settings(session=session, actor=actor, **changes)
    return members.own_settings(session=session, actor=actor)


@blueprint.route("/communities/<community_id>/members")
class CommunityMembers(MethodView):
    @requires(scope="members:read")
    @blueprint.arguments(MemberListArgs, location="query", unknown=RAISE)
    @blueprint.response(200, MemberListSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, arguments, community_id: str):
        """List a community's members by id, as the caller may see them; coordinators may ask for other statuses."""
        items, next_value = read(
            _member_page,
            community_id=path_id(community_id, "community"),
            status=arguments["status"],
            limit=arguments["limit"],
            after=decode_cursor(arguments["cursor"]),
        )
        return page(items, next_value)


@blueprint.route("/communities/<community_id>/applications")
class Applications(MethodView):
    @requires(people_only=True)
    @idempotent(required=False)
    @blueprint.arguments(MembershipApplicationSchema)
    @blueprint.response(201, MembershipSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, community_id: str):
        """Apply to join a community; where it needs no approval, the caller is a member at once."""
        return run(members.apply_to_join, community_id=path_id(community_id, "community"), **body)


@blueprint.route("/communities/<community_id>/offline-members")
class OfflineMembers(MethodView):
    @requires(people_only=True)
    @idempotent(required=False)
    @blueprint.arguments(OfflineMemberSchema)
    @blueprint.response(201, MembershipSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, community_id: str):
        """Add a neighbour without a login, managed by coordinators: active at once, with the welcome credit."""
        return run(members.add_offline_member, community_id=path_id(community_id, "community"), **body)


@blueprint.route("/members/<membership_id>")
class MemberById(MethodView):
    @requires(scope="members:read")
    @blueprint.response(200, MemberSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, membership_id: str):
        """Read one member as the caller may see them: first name, neighbourhood and what the member shows."""
        return _shown(read(members.view_member, membership_id=path_id(membership_id, "member")))


@blueprint.route("/members/<membership_id>/profile")
class Profile(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(MemberProfileChangeSchema)
    @blueprint.response(200, MembershipSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def patch(self, body, membership_id: str):
        """Change a profile: the caller's own, or an offline member's (coordinators); only the fields sent."""
        return run(members.update_profile, membership_id=path_id(membership_id, "member"), **body)


@blueprint.route("/members/<membership_id>/approve")
class Approval(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(MemberApprovalSchema, required=False)
    @blueprint.response(200, MembershipSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    def post(self, body, membership_id: str):
        """Admit an applicant (coordinators), which posts the community's welcome credit."""
        return run(members.approve_member, membership_id=path_id(membership_id, "member"))


@blueprint.route("/members/<membership_id>/decline")
class Declining(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(MemberReasonSchema)
    @blueprint.response(200, MembershipSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    def post(self, body, membership_id: str):
        """Decline an application (coordinators), with a reason the applicant can read."""
        return run(members.decline_member, membership_id=path_id(membership_id, "member"), reason=body["reason"])


@blueprint.route("/members/<membership_id>/suspend")
class Suspension(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(MemberReasonSchema)
    @blueprint.response(200, MembershipSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    def post(self, body, membership_id: str):
        """Suspend an active member (coordinators), with a reason: their account is frozen until reinstated."""
        return run(members.suspend_member, membership_id=path_id(membership_id, "member"), reason=body["reason"])


@blueprint.route("/members/<membership_id>/reinstate")
class Reinstatement(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(MemberReasonSchema)
    @blueprint.response(200, MembershipSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    def post(self, body, membership_id: str):
        """Reinstate a suspended member (coordinators), with a reason: their account is open again."""
        return run(members.reinstate_member, membership_id=path_id(membership_id, "member"), reason=body["reason"])


@blueprint.route("/members/<membership_id>/limits")
class Limits(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(MemberLimitsSchema)
    @blueprint.response(200, MembershipSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def put(self, body, membership_id: str):
        """Set one member's floor and ceiling in minutes (coordinators), with a reason for the audit log."""
        return run(members.set_member_limits, membership_id=path_id(membership_id, "member"), **body)


@blueprint.route("/me")
class Me(MethodView):
    @requires(people_only=True)
    @blueprint.response(200, OwnSettingsSchema)
    def get(self):
        """Read the caller's own settings and every membership they hold, whatever its state."""
        return _own_settings(read(members.own_settings))

    @requires(people_only=True)
    @blueprint.arguments(OwnSettingsChangeSchema)
    @blueprint.response(200, OwnSettingsSchema)
    def patch(self, body):
        """Change the caller's language or how they hear from the time bank (immediately or a weekly digest)."""
        return _own_settings(run(_changed_settings, **body))
