"""Exchanges: respond to a listing or accept an invitation, agree, record the minutes, confirm or dispute them,
settle a dispute, cancel, thank; and a coordinator's (or partner app's) record on behalf of members who are not
online.

Scopes for partner keys: reading an exchange or a list of them needs ``ledger:read`` (an exchange is minutes
moving between accounts); settling a dispute and recording on behalf need ``exchanges:write``; every step that a
member takes as one side of the exchange (respond, agree, record, confirm, dispute, cancel, thank…) is for
members' personal tokens only. Each step answers with the exchange as it now stands, history included.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from api.auth import requires
from api.common import PageArgs, decode_cursor, page, path_id, read, run
from api.exchanges.schemas import (
    AnsweredInvitationSchema,
    EmptyStepSchema,
    ExchangeCancelSchema,
    ExchangeDetailsSchema,
    ExchangeDisputeSchema,
    ExchangeListArgs,
    ExchangeOnBehalfSchema,
    ExchangePageSchema,
    ExchangeRecordSchema,
    ExchangeSettleSchema,
    ExchangeThankSchema,
    InvitationAcceptanceSchema,
    ListingResponseSchema,
    ThankYouNotePageSchema,
)
from api.idempotency import HEADER, idempotent
from timebank import errors, exchanges, payments
from timebank.models import Membership

blueprint = Blueprint(
    "exchanges", __name__, url_prefix="/api/v1", description="Exchanges: from a response to confirmed minutes"
)


def _details(exchange_id: int) -> dict:
    """The exchange with its history and thank-you note, as the caller may read it."""
    details = read(exchanges.get_exchange, exchange_id=exchange_id)
    return {**details.exchange.model_dump(), "events": details.events, "thank_you": details.thank_you}


def _step(use_case, exchange_id: str, **arguments) -> dict:
    """Take one step of an exchange, then answer with the exchange as it now stands."""
    exchange = run(use_case, exchange_id=path_id(exchange_id, "exchange"), **arguments)
    return _details(exchange.id)


# --- starting an exchange -------------------------------------------------------------------------------------


@blueprint.route("/listings/<listing_id>/responses")
class ListingResponses(MethodView):
    @requires(people_only=True)
    @idempotent(required=False)
    @blueprint.arguments(ListingResponseSchema)
    @blueprint.response(201, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, listing_id: str):
        """Respond to another member's open listing: an exchange that the listing's member agrees to in turn."""
        exchange = run(exchanges.respond_to_listing, listing_id=path_id(listing_id, "listing"), message=body["message"])
        return _details(exchange.id)


@blueprint.route("/invitations/<invitation_id>/accept")
class InvitationAccept(MethodView):
    @requires(people_only=True)
    @idempotent(required=False)
    @blueprint.arguments(InvitationAcceptanceSchema)
    @blueprint.response(201, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, invitation_id: str):
        """Accept a personal invitation to help with a request (the member invited): an exchange, you the helper."""
        exchange = run(
            exchanges.accept_invitation, invitation_id=path_id(invitation_id, "invitation"), message=body["message"]
        )
        return _details(exchange.id)


@blueprint.route("/invitations/<invitation_id>/decline")
class InvitationDecline(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(EmptyStepSchema, required=False)
    @blueprint.response(200, AnsweredInvitationSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    @blueprint.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body, invitation_id: str):
        """Decline a personal invitation to help with a request (the member invited)."""
        return run(exchanges.decline_invitation, invitation_id=path_id(invitation_id, "invitation"))


# --- reading --------------------------------------------------------------------------------------------------


@blueprint.route("/exchanges/<exchange_id>")
class ExchangeById(MethodView):
    @requires(scope="ledger:read")
    @blueprint.response(200, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, exchange_id: str):
        """Read an exchange with its history and thank-you note (its two members and the coordinators)."""
        return _details(path_id(exchange_id, "exchange"))


@blueprint.route("/communities/<community_id>/exchanges")
class CommunityExchanges(MethodView):
    @requires(scope="ledger:read")
    @blueprint.arguments(ExchangeListArgs, location="query", unknown=RAISE)
    @blueprint.response(200, ExchangePageSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, arguments, community_id: str):
        """List a member's exchanges, newest first: the caller's own, or (coordinators) any member's."""
        found = read(
            exchanges.list_exchanges,
            community_id=path_id(community_id, "community"),
            membership_id=arguments["membership_id"],
            which=arguments["which"],
            limit=arguments["limit"],
            before=decode_cursor(arguments["cursor"]),
        )
        return page(found.exchanges, found.next_cursor)


@blueprint.route("/members/<membership_id>/thank-you-notes")
class ThankYouNotes(MethodView):
    @requires(scope="members:read")
    @blueprint.arguments(PageArgs, location="query", unknown=RAISE)
    @blueprint.response(200, ThankYouNotePageSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, arguments, membership_id: str):
        """List the thank-you notes a member received, newest first (to others only if the member shows them)."""
        found = read(
            exchanges.thank_you_notes_for,
            membership_id=path_id(membership_id, "member"),
            limit=arguments["limit"],
            before=decode_cursor(arguments["cursor"]),
        )
        return {**page(found.notes, found.next_cursor), "shown": found.shown}


# --- the steps of an exchange ---------------------------------------------------------------------------------


@blueprint.route("/exchanges/<exchange_id>/agree")
class ExchangeAgree(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(EmptyStepSchema, required=False)
    @blueprint.response(200, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    @blueprint.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body, exchange_id: str):
        """Agree to the exchange as one of its two sides; once both have, minutes can be recorded."""
        return _step(exchanges.agree_exchange, exchange_id)


@blueprint.route("/exchanges/<exchange_id>/accept-helper")
class ExchangeAcceptHelper(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(EmptyStepSchema, required=False)
    @blueprint.response(200, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    @blueprint.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body, exchange_id: str):
        """Accept this helper for a task with children (the parent, i.e. the helped member)."""
        return _step(exchanges.accept_helper, exchange_id)


@blueprint.route("/exchanges/<exchange_id>/cancel")
class ExchangeCancel(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(ExchangeCancelSchema, required=False)
    @blueprint.response(200, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    @blueprint.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body, exchange_id: str):
        """Call the exchange off, as either side, as long as no minutes were recorded."""
        return _step(exchanges.cancel_exchange, exchange_id, reason=body.get("reason", ""))


@blueprint.route("/exchanges/<exchange_id>/record")
class ExchangeRecord(MethodView):
    @requires(people_only=True)
    @idempotent(required=True)
    @blueprint.arguments(ExchangeRecordSchema)
    @blueprint.response(200, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, exchange_id: str):
        """Record the minutes an agreed exchange took: held in the ledger until the other side confirms."""
        return _step(
            payments.record_minutes,
            exchange_id,
            minutes=body["minutes"],
            idempotency_key=request.headers[HEADER],
        )


@blueprint.route("/exchanges/<exchange_id>/confirm")
class ExchangeConfirm(MethodView):
    @requires(people_only=True)
    @idempotent(required=True)
    @blueprint.arguments(EmptyStepSchema, required=False)
    @blueprint.response(200, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, exchange_id: str):
        """Confirm the minutes the other side recorded: the ledger posts them."""
        return _step(payments.confirm_exchange, exchange_id)


@blueprint.route("/exchanges/<exchange_id>/dispute")
class ExchangeDispute(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(ExchangeDisputeSchema)
    @blueprint.response(200, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    @blueprint.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body, exchange_id: str):
        """Dispute the minutes the other side recorded, with a reason; a coordinator settles it."""
        return _step(payments.dispute_exchange, exchange_id, reason=body["reason"])


@blueprint.route("/exchanges/<exchange_id>/settle")
class ExchangeSettle(MethodView):
    @requires(scope="exchanges:write")
    @idempotent(required=True)
    @blueprint.arguments(ExchangeSettleSchema)
    @blueprint.response(200, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, exchange_id: str):
        """Settle a disputed exchange (coordinators): post the minutes, change them, or void them."""
        return _step(
            payments.settle_dispute,
            exchange_id,
            outcome=body["outcome"],
            minutes=body.get("minutes"),
            reason=body["reason"],
        )


@blueprint.route("/exchanges/<exchange_id>/thank")
class ExchangeThank(MethodView):
    @requires(people_only=True)
    @idempotent(required=False)
    @blueprint.arguments(ExchangeThankSchema)
    @blueprint.response(201, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, exchange_id: str):
        """Thank the helper, once, after the minutes are confirmed (the helped member)."""
        note = run(exchanges.thank_helper, exchange_id=path_id(exchange_id, "exchange"), text=body["text"])
        return _details(note.exchange_id)


# --- recording on behalf --------------------------------------------------------------------------------------


def _record_on_behalf_in(*, session, actor, community_id: int, **arguments):
    """The path names the community: members of another community are not found in it. Everything else is
    ``record_on_behalf``'s to decide."""
    for field in ("helper_membership_id", "helped_membership_id"):
        membership = session.get(Membership, arguments[field])
        if membership is None or membership.community_id != community_id:
            raise errors.NotFound("no such member", membership_id=arguments[field], field=field)
    return payments.record_on_behalf(session=session, actor=actor, **arguments)


@blueprint.route("/communities/<community_id>/exchanges/on-behalf")
class ExchangesOnBehalf(MethodView):
    @requires(scope="exchanges:write")
    @idempotent(required=True)
    @blueprint.arguments(ExchangeOnBehalfSchema)
    @blueprint.response(201, ExchangeDetailsSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, community_id: str):
        """Record an exchange for members who are not online (coordinators): pending for one side, or attested."""
        exchange = run(
            _record_on_behalf_in,
            community_id=path_id(community_id, "community"),
            idempotency_key=request.headers[HEADER],
            **body,
        )
        return _details(exchange.id)
