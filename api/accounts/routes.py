"""The accounts resource (to be written)."""

from __future__ import annotations

from flask_smorest import Blueprint

blueprint = Blueprint("accounts", __name__, url_prefix="/api/v1", description="accounts")
