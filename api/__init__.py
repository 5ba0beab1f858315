"""The JSON API for partner apps, under /api/v1: thin resources over the time bank's use cases.

``init_api(app)`` builds the OpenAPI document (served at /api/v1/openapi.json, browsable at /api/v1/docs, with no
external fetch), registers every resource's blueprint, and answers errors on /api/ paths as problem+json.
"""

from __future__ import annotations

import http

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from api import bodies, problems
from api.auth import SECURITY_SCHEME
from api.links import LinksPlugin
from api.schemas import ProblemSchema

API_PREFIX = "/api/v1"
ALWAYS_DOCUMENTED = {400, 401, 403, 409, 422, 429}
RETRY_AFTER = {"description": "seconds to wait before trying again", "schema": {"type": "integer", "minimum": 1}}


class TimebankApi(Api):
    """flask-smorest's Api with RFC 9457 problems as the documented error responses."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, problems.PROBLEM_MEDIA_TYPE)
            if status in (429, 503):
                response["headers"] = {"Retry-After": RETRY_AFTER}
            # Referenced by every authenticated operation (api.auth) and every create (api.idempotency).
            self.spec.components.response(status.name, response, lazy=status not in ALWAYS_DOCUMENTED)
        response = {"description": "A problem (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problems.PROBLEM_MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def _configure(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Timebank")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": "Time banking for partner apps: listings, exchanges and balances in integer minutes. "
                "Errors are application/problem+json; ledger writes need an Idempotency-Key; lists are cursor "
                "pages ({data, next_cursor}); ids are strings; unknown fields are refused.",
            },
            "components": {"securitySchemes": SECURITY_SCHEME},
        },
    )


def init_api(app: Flask) -> Api:
    """Bind the API to the app: spec, blueprints, error handling, reference page."""
    from api.reference import blueprint as reference_blueprint
    from api.resources import BLUEPRINTS

    _configure(app)
    api = TimebankApi(app, spec_kwargs={"extra_plugins": [LinksPlugin()]})
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(reference_blueprint)
    problems.register(app)
    bodies.register(app)
    app.extensions["timebank_api"] = api
    return api
