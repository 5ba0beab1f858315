"""The floor in the brief's web stack: the leanest direct payment route Flask, flask-smorest and marshmallow allow,
with bench/floor_app.py's hand-written SQL doing the database work. A measuring instrument for bench/floor.py
(``post_pg_flask_floor``, ``post_sqlite_flask_floor``), never used by the app.

A Flask app (``app``, production settings: no debug, no testing) with a flask-smorest ``Api`` and one
``Blueprint`` serving

- ``GET /healthz``: 200;
- ``POST /api/v1/communities/<int:community_id>/payments``: a ``MethodView`` whose ``post`` has, as the real route
  (api/accounts/routes.py ``Payments``), the caller's token and the ``Idempotency-Key`` checked first (a
  decorator around the rest: 401, 403, 400 before the body is read), then ``@blp.arguments(NewPaymentSchema)``
  (webargs loading the JSON body with marshmallow: ``payee_membership_id`` a string of digits, ``minutes``,
  ``description``, ``category_id``, unknown fields refused) and ``@blp.response(201, LedgerExchangeSchema)``
  (marshmallow dumping the exchange, which Flask writes as JSON). The two schemas are copies of the real ones'
  shape (api/accounts/schemas.py, api/common.py) made of marshmallow's fields only: importing the real ones
  brings the whole app (SQLAlchemy, the use cases) into every worker, and into every recycled one.

The database work is bench/floor_app.py's, unchanged: its per-process connection (psycopg 3 on PostgreSQL, no
SQLAlchemy; sqlite3 on SQLite) and its statements, through ``FloorApp.floor().pay(payment)``. Its answers, status
codes and what it leaves out are the bare floor's (a refusal is problem+json); a first 201 is dumped through the
schema, a replay or a refusal is the stored text, as api/idempotency.py answers it.

Each request gets its id and its JSON log line as the app writes them (timebank/logs.py: ``RequestIdMiddleware``,
``configure_logging`` with ``TIMEBANK_LOG_FORMAT`` / ``TIMEBANK_LOG_LEVEL``, json and INFO by default, and
``log_request`` after each request, as timebank.app.init_logging binds them).
"""

from __future__ import annotations

import functools
import json
import os

from flask import Flask, Response, g, request
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from bench import floor_app
from bench.floor_app import MAX_DESCRIPTION, MAX_ID, MAX_MINUTES, PROBLEM, FloorApp, Refusal
from timebank import logs

# --- the schemas (the real ones' shape) -------------------------------------------------------------------------


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class Id(fields.String):
    """api/common.py ``Id`` with api/accounts/schemas.py ``AsciiId``'s check: a string of digits 0-9 in JSON."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)

    def _deserialize(self, value, attr, data, **kwargs):
        number = floor_app._as_id(value)
        if number is None:
            raise ValidationError("not a valid id")
        return number


def RowId(**kwargs):  # noqa: N802 (a field factory, as api/accounts/schemas.py's)
    return Id(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class NewPaymentSchema(StrictSchema):
    payee_membership_id = RowId(required=True)
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_MINUTES))
    description = fields.String(load_default="", validate=validate.Length(max=MAX_DESCRIPTION))
    category_id = RowId(load_default=None, allow_none=True)


class LedgerExchangeSchema(Schema):
    id = Id()
    community_id = Id()
    status = fields.String()
    helper_membership_id = Id()
    helped_membership_id = Id()
    minutes = fields.Integer()
    description = fields.String()
    category_id = Id(allow_none=True)
    transaction_id = Id(attribute="ledger_transaction_id", allow_none=True)
    recorded_at = fields.AwareDateTime(allow_none=True)
    confirmed_at = fields.AwareDateTime(allow_none=True)
    auto_confirm_at = fields.AwareDateTime(allow_none=True)


# --- the route ----------------------------------------------------------------------------------------------------

blp = Blueprint("floor", __name__, url_prefix="/api/v1", description="The floor's payments")


def _credentials(view):
    """The token and the key checked before the body is read, as ``@requires`` and ``@idempotent`` do."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        g.credentials = floor_app.credentials(
            request.headers.get("Authorization", ""), request.headers.get("Idempotency-Key")
        )
        return view(*args, **kwargs)

    return checked


@blp.route("/communities/<int:community_id>/payments")
class Payments(MethodView):
    @_credentials
    @blp.arguments(NewPaymentSchema)
    @blp.response(201, LedgerExchangeSchema)
    def post(self, body, community_id: int):
        """Pay another member of the community: the floor's writes."""
        if body["category_id"] is not None:
            raise Refusal(422, "validation_failed", "the floor makes payments without a category")
        if not 1 <= community_id <= MAX_ID:
            raise Refusal(404, "not_found", "no such community")
        environ = request.environ
        payment = floor_app.new_payment(
            community_id,
            body["payee_membership_id"],
            body["minutes"],
            body["description"],
            g.credentials,
            address=request.remote_addr,
            path=environ.get("PATH_INFO", ""),
            query=environ.get("QUERY_STRING", ""),
            raw=request.get_data(cache=True),  # webargs read it already
        )
        status, text, media_type, headers = _floor().pay(payment)
        if status != 201 or headers:  # a refusal, or a replay: the stored text as it is
            return Response(text, status, headers, mimetype=media_type)
        answer = json.loads(text)  # the exchange as the use case returns it: ids, datetimes
        return {
            "id": int(answer["id"]),
            "community_id": community_id,
            "status": "confirmed",
            "helper_membership_id": payment.payee_id,
            "helped_membership_id": int(answer["helped_membership_id"]),
            "minutes": payment.minutes,
            "description": payment.description,
            "category_id": None,
            "ledger_transaction_id": int(answer["transaction_id"]),
            "recorded_at": payment.now,
            "confirmed_at": payment.now,
            "auto_confirm_at": None,
        }


def _floor():
    from flask import current_app

    return current_app.extensions["floor"].floor()


# --- the app ------------------------------------------------------------------------------------------------------


class FloorApi(Api):
    """flask-smorest's Api answering its errors (webargs' 422, routing's 404 and 405) as the floor's problems."""

    def handle_http_exception(self, error):
        code = {400: "malformed_request", 404: "not_found", 422: "validation_failed"}.get(error.code, "error")
        refusal = Refusal(error.code or 500, code, error.description or code)
        return Response(refusal.body, refusal.status, mimetype=PROBLEM)


def _refused(refusal: Refusal) -> Response:
    return Response(refusal.body, refusal.status, refusal.headers, mimetype=PROBLEM)


def create_app(url: str | None = None) -> Flask:
    """The app for the database at ``url`` (else ``TIMEBANK_DATABASE_URL``, as gunicorn's workers get it)."""
    app = Flask(__name__)
    app.config.update(
        API_TITLE="Timebank floor",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",  # no OPENAPI_URL_PREFIX: no documents served
        DEBUG=False,
        TESTING=False,
        PROPAGATE_EXCEPTIONS=False,
    )
    api = FloorApi(app)
    api.register_blueprint(blp)
    app.register_error_handler(Refusal, _refused)
    app.extensions["floor"] = FloorApp(url)

    @app.get("/healthz")
    def health():
        return {"status": "ok"}

    # timebank.app.init_logging, without the app's configuration object.
    logs.configure_logging(
        format_name=os.environ.get("TIMEBANK_LOG_FORMAT") or "json", level=os.environ.get("TIMEBANK_LOG_LEVEL", "INFO")
    )
    app.wsgi_app = logs.RequestIdMiddleware(app.wsgi_app, trust_header=False)

    @app.after_request
    def log_request(response: Response) -> Response:
        logs.log_finished(request, response.status_code)
        return response

    return app


app = create_app()
