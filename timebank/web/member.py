"""A member's pages: home, listings (browse, search, post, edit, respond, invite)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("member", __name__)
