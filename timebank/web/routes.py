"""The home page and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template

from timebank.schema import database_status

blueprint = Blueprint("web", __name__)


@blueprint.get("/")
def home() -> str:
    """What this service is, in plain words."""
    return render_template("home.html")


@blueprint.get("/healthz")
def health() -> tuple[Response, int]:
    """Whether this instance can serve: the database answers and its schema is up to date (200), or not (503)."""
    status = database_status(current_app.extensions["timebank"].engine)
    body = {
        "status": "ok" if status.healthy else "degraded",
        "database": {"reachable": status.reachable, "schema": status.schema or "unknown"},
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if status.healthy else 503
