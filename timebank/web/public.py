"""Pages for everyone: joining, the waiting page, a forgotten password."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("public", __name__)
