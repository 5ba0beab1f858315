"""A coordinator's pages: applicants, members, recording on behalf, disputes, reversals, the pot."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("coord", __name__)
