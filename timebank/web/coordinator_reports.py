"""A coordinator's reports and settings: charts, CSV, printable statements, safeguarding, categories, keys."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("coord_reports", __name__)
