"""Credentials: members' personal tokens, and coordinators' partner keys for their community."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import requires
from api.common import path_id, read, run
from api.credentials.schemas import (
    IssuedPartnerKeySchema,
    IssuedTokenSchema,
    NewPartnerKeySchema,
    NewTokenSchema,
    PartnerKeyListSchema,
    TokenListSchema,
)
from api.idempotency import idempotent
from timebank import credentials

blueprint = Blueprint("credentials", __name__, url_prefix="/api/v1", description="Tokens and partner keys")


def _issued(issued: credentials.Issued) -> dict:
    return {**issued.credential.model_dump(), "token": issued.secret}


@blueprint.route("/me/tokens")
class PersonalTokens(MethodView):
    @requires(people_only=True)
    @blueprint.response(200, TokenListSchema)
    def get(self):
        """List the caller's personal tokens (never their secrets)."""
        return {"data": read(credentials.personal_tokens), "next_cursor": None}

    @requires(people_only=True)
    @idempotent(required=False)
    @blueprint.arguments(NewTokenSchema)
    @blueprint.response(201, IssuedTokenSchema)
    def post(self, body):
        """Create a personal token that acts as the caller; its secret is shown this once."""
        return _issued(run(credentials.create_personal_token, name=body["name"]))


@blueprint.route("/me/tokens/<token_id>")
class PersonalToken(MethodView):
    @requires(people_only=True)
    @blueprint.response(204)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def delete(self, token_id: str):
        """Revoke one of the caller's personal tokens, at once."""
        run(credentials.revoke_personal_token, token_id=path_id(token_id, "token"))


@blueprint.route("/communities/<community_id>/partner-keys")
class PartnerKeys(MethodView):
    @requires(people_only=True)
    @blueprint.response(200, PartnerKeyListSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, community_id: str):
        """List the community's partner keys (coordinators)."""
        keys = read(credentials.partner_keys, community_id=path_id(community_id, "community"))
        return {"data": keys, "next_cursor": None}

    @requires(people_only=True)
    @idempotent(required=False)
    @blueprint.arguments(NewPartnerKeySchema)
    @blueprint.response(201, IssuedPartnerKeySchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, community_id: str):
        """Create a partner key for the community with the given scopes (coordinators); secret shown once."""
        issued = run(
            credentials.create_partner_key,
            community_id=path_id(community_id, "community"),
            name=body["name"],
            scopes=body["scopes"],
        )
        return _issued(issued)


@blueprint.route("/communities/<community_id>/partner-keys/<key_id>")
class PartnerKey(MethodView):
    @requires(people_only=True)
    @blueprint.response(204)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def delete(self, community_id: str, key_id: str):
        """Revoke a partner key at once (coordinators)."""
        run(
            credentials.revoke_partner_key,
            community_id=path_id(community_id, "community"),
            key_id=path_id(key_id, "key"),
        )
