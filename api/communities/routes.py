"""Communities: the ones the caller may see, with their settings and categories."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import requires
from api.common import parse_id, read
from api.communities.schemas import CommunityListSchema, CommunitySchema
from timebank import communities, errors

blueprint = Blueprint(
    "communities", __name__, url_prefix="/api/v1/communities", description="Time banks and their categories"
)


def _with_categories(*, session, actor, community):
    community_view = dict(community.model_dump())
    community_view["categories"] = communities.categories(session=session, community_id=community.id)
    return community_view


def _visible(*, session, actor):
    return [
        _with_categories(session=session, actor=actor, community=community)
        for community in communities.visible_communities(session=session, actor=actor)
    ]


def _one(*, session, actor, community_id):
    for community in communities.visible_communities(session=session, actor=actor):
        if community.id == community_id:
            return _with_categories(session=session, actor=actor, community=community)
    raise errors.NotFound("no such community", community_id=community_id)


@blueprint.route("")
class Communities(MethodView):
    @requires(scope="listings:read")
    @blueprint.response(200, CommunityListSchema)
    def get(self):
        """List the communities the caller may see (a partner key: its own)."""
        return {"data": read(_visible), "next_cursor": None}


@blueprint.route("/<community_id>")
class CommunityById(MethodView):
    @requires(scope="listings:read")
    @blueprint.response(200, CommunitySchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, community_id: str):
        """Read one community with its settings and categories."""
        identifier = parse_id(community_id)
        if identifier is None:
            raise errors.NotFound("no such community", community_id=community_id)
        return read(_one, community_id=identifier)
