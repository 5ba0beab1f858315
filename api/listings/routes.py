"""Listings: search, post, read, edit, close and reopen offers and requests; matching suggestions for a request;
personal invitations. Each view calls one use case of timebank.listings or timebank.matching and translates."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from api.auth import requires
from api.common import decode_cursor, encode_cursor, parse_id, path_id, read, run
from api.idempotency import idempotent
from api.listings.schemas import (
    CloseSchema,
    InvitationArgs,
    InvitationSchema,
    ListingChangesSchema,
    ListingPageSchema,
    ListingSchema,
    ListingSearchArgs,
    NewInvitationSchema,
    NewListingSchema,
    OpenInvitationPageSchema,
    ReopenSchema,
    SuggestionArgs,
    SuggestionListSchema,
)
from timebank import listings, matching

blueprint = Blueprint(
    "listings", __name__, url_prefix="/api/v1", description="Offers and requests, matching and invitations"
)


def _listing(listing, owner_name: str) -> dict:
    return {**listing.model_dump(), "owner_first_name": owner_name}


def _viewed(listing_id: int) -> dict:
    """A listing as the caller now sees it, with its member's first name."""
    view = read(listings.view_listing, listing_id=listing_id)
    return _listing(view.listing, view.owner_name)


def _category(value: str | None) -> int | str | None:
    """A category filter: an id (as ids are written) names a category by id, anything else by slug."""
    if value is None:
        return None
    identifier = parse_id(value)
    return value if identifier is None else identifier


def _open_invitations(*, session, actor, community_id: int, limit: int, before: int | None) -> dict:
    page = matching.list_invitations_for(
        session=session, actor=actor, community_id=community_id, limit=limit, before=before
    )
    names = listings.owner_first_names(session=session, listings=[item.listing for item in page.invitations])
    items = [
        {
            **item.invitation.model_dump(),
            "invited_by_first_name": item.invited_by_name,
            "listing": _listing(item.listing, names[item.listing.membership_id]),
        }
        for item in page.invitations
    ]
    return {"data": items, "next_cursor": encode_cursor(page.next_cursor)}


@blueprint.route("/communities/<community_id>/listings")
class CommunityListings(MethodView):
    @requires(scope="listings:read")
    @blueprint.arguments(ListingSearchArgs, location="query", unknown=RAISE)
    @blueprint.response(200, ListingPageSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, arguments, community_id: str):
        """Search a community's listings, newest first: by kind, category, neighbourhood, text, window, status."""
        found = read(
            listings.search_listings,
            community_id=path_id(community_id, "community"),
            **{**arguments, "category": _category(arguments.get("category"))},
        )
        return {
            "data": [_listing(listing, found.owner_names[listing.membership_id]) for listing in found.listings],
            "next_cursor": found.next_cursor,
        }

    @requires(people_only=True)
    @idempotent(required=False)
    @blueprint.arguments(NewListingSchema)
    @blueprint.response(201, ListingSchema)
    @blueprint.alt_response(400, response="BAD_REQUEST")
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, community_id: str):
        """Post an offer or a request in the community (members)."""
        listing = run(listings.post_listing, community_id=path_id(community_id, "community"), **body)
        return _viewed(listing.id)


@blueprint.route("/listings/<listing_id>")
class ListingById(MethodView):
    @requires(scope="listings:read")
    @blueprint.response(200, ListingSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, listing_id: str):
        """Read one listing, in any status."""
        return _viewed(path_id(listing_id, "listing"))

    @requires(people_only=True)
    @blueprint.arguments(ListingChangesSchema)
    @blueprint.response(200, ListingSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    def patch(self, changes, listing_id: str):
        """Change what an open listing says (the member who posted it); the fields left out keep their value."""
        listing = run(listings.edit_listing, listing_id=path_id(listing_id, "listing"), **changes)
        return _viewed(listing.id)


@blueprint.route("/listings/<listing_id>/close")
class ListingClose(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(CloseSchema, required=False)
    @blueprint.response(200, ListingSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    def post(self, body, listing_id: str):
        """Close an open listing: the member who posted it, or a coordinator with a reason."""
        listing = run(listings.close_listing, listing_id=path_id(listing_id, "listing"), **body)
        return _viewed(listing.id)


@blueprint.route("/listings/<listing_id>/reopen")
class ListingReopen(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(ReopenSchema, required=False)
    @blueprint.response(200, ListingSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    def post(self, body, listing_id: str):
        """Reopen a closed or expired listing: the member who posted it, or a coordinator with a reason."""
        listing = run(listings.reopen_listing, listing_id=path_id(listing_id, "listing"), **body)
        return _viewed(listing.id)


@blueprint.route("/listings/<listing_id>/suggestions")
class ListingSuggestions(MethodView):
    @requires(scope="listings:read")
    @blueprint.arguments(SuggestionArgs, location="query", unknown=RAISE)
    @blueprint.response(200, SuggestionListSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(409, response="CONFLICT")
    def get(self, arguments, listing_id: str):
        """Suggest members to ask for an open request, best first, with the reasons (requester or coordinator)."""
        suggestions = read(
            matching.suggest_helpers, listing_id=path_id(listing_id, "listing"), limit=arguments["limit"]
        )
        return {"data": suggestions, "next_cursor": None}


@blueprint.route("/listings/<listing_id>/invitations")
class ListingInvitations(MethodView):
    @requires(people_only=True)
    @idempotent(required=False)
    @blueprint.arguments(NewInvitationSchema)
    @blueprint.response(201, InvitationSchema)
    @blueprint.alt_response(400, response="BAD_REQUEST")
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, listing_id: str):
        """Ask one member personally to help with an open request (requester or coordinator)."""
        return run(matching.invite_member, listing_id=path_id(listing_id, "listing"), **body).model_dump()


@blueprint.route("/me/invitations")
class MyInvitations(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(InvitationArgs, location="query", unknown=RAISE)
    @blueprint.response(200, OpenInvitationPageSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, arguments):
        """List the caller's open invitations in a community, newest first, with their requests."""
        return read(
            _open_invitations,
            community_id=arguments["community_id"],
            limit=arguments["limit"],
            before=decode_cursor(arguments["cursor"]),
        )
