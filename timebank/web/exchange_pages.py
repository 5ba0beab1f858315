"""A member's exchanges, direct payments and claims, and statement."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("exchange_pages", __name__)
