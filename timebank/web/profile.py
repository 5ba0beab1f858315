"""A person's own account and profile: what others see, language, password, their data, erasure."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("profile", __name__)
