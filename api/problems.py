"""Errors as RFC 9457 problem details (``application/problem+json``), one stable ``type`` per error code.

Every refusal of a use case or of the ledger carries a ``code``; it becomes the problem's ``type``
(``/api/v1/problems/<code-with-dashes>``), its status follows api.md, and its ``details`` become extension members
a program can act on. No stack trace, ever: an unexpected error is logged and answered with a plain 500.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Response, json, request
from werkzeug.exceptions import HTTPException, InternalServerError

from ledger import errors as ledger_errors
from timebank import errors as domain_errors
from timebank.logs import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
RESERVED = {"type", "title", "code", "detail", "request_id"}
RENAMED = {"status": "current_status"}
TYPE_PREFIX = "/api/v1/problems/"
logger = logging.getLogger("timebank.api")

STATUS_BY_CODE = {
    "invalid_input": 422,
    "invalid_request": 422,
    "validation_failed": 422,
    "not_found": 404,
    "ledger_not_found": 404,
    "account_not_found": 404,
    "transaction_not_found": 404,
    "pending_not_found": 404,
    "not_allowed": 403,
    "membership_not_active": 403,
    "conflict": 409,
    "already_member": 409,
    "email_taken": 409,
    "pending_already_posted": 409,
    "pending_already_voided": 409,
    "pending_expired": 409,
    "already_reversed": 409,
    "transaction_not_posted": 409,
    "account_not_empty": 409,
    "idempotency_request_in_flight": 409,
    "idempotency_key_reused": 422,
    "idempotency_key_missing": 400,
    "malformed_request": 400,
    "unauthenticated": 401,
    "insufficient_scope": 403,
    "service_unavailable": 503,
    "request_too_large": 413,
    "unsupported_media_type": 415,
    "too_many_requests": 429,
}
HTTP_CODES = {
    400: "malformed_request",
    401: "unauthenticated",
    403: "not_allowed",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def type_uri(code: str) -> str:
    return TYPE_PREFIX + code.replace("_", "-")


def status_for(code: str) -> int:
    """The HTTP status of a refusal: api.md's table, 422 for every other well-formed request that was refused."""
    return STATUS_BY_CODE.get(code, 422)


def _plain(value):
    """Extension members as JSON: ids and numbers as they are, anything else as text."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)


def problem(
    status: int, code: str, detail: str, /, *, title: str | None = None, headers=None, **extensions
) -> Response:
    """A problem+json response."""
    body = {
        "type": type_uri(code),
        "title": title or code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
        # A refusal's own "status" (a membership's, an exchange's) must not overwrite the HTTP status.
        **{RENAMED.get(name, name): _plain(value) for name, value in extensions.items() if name not in RESERVED},
    }
    request_id = current_request_id()
    if request_id is not None:  # the X-Request-Id of the answer: what to quote, and what the log lines carry
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_refusal(error: domain_errors.DomainError | ledger_errors.LedgerError) -> Response:
    return problem(status_for(error.code), error.code, error.message, **error.details)


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code = HTTP_CODES.get(status, "http_error")
    data = getattr(error, "data", None) or {}
    extensions = {}
    if "messages" in data:  # webargs/marshmallow: field errors, by location then field
        extensions["errors"] = data["messages"]
        # A body webargs cannot read (400) stays a malformed request; anything else it refuses is invalid (422).
        code, status = ("malformed_request", 400) if status == 400 else ("validation_failed", 422)
    headers = {}
    if status == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem(status, code, error.description or code, headers=headers, **extensions)


def from_unexpected(error: Exception) -> Response:
    if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
        logger.warning("database unavailable: %s", error.__class__.__name__)
        return problem(
            503, "service_unavailable", "the database is not reachable; try again shortly", headers={"Retry-After": "5"}
        )
    logger.exception("unexpected error on %s %s", request.method, request.path)
    return problem(500, "internal_error", "something went wrong on our side; it has been logged")


def is_api_request() -> bool:
    return request.path.startswith("/api/")


WEB_ERROR_PAGES = "timebank_error_pages"


def register(app) -> None:
    """Answer errors on /api/ paths as problems; errors on other paths are the web front's to render.

    The web front puts its renderer in ``app.extensions["timebank_error_pages"]``: it is called with the error
    (an HTTPException, a refusal or anything unexpected) and returns the page. Without one, Flask's own pages.
    """

    def web_page(error: Exception):
        render = app.extensions.get(WEB_ERROR_PAGES)
        if render is not None:
            return render(error)
        if isinstance(error, HTTPException):
            return error
        if isinstance(error, domain_errors.DomainError | ledger_errors.LedgerError):
            raise error
        logger.exception("unexpected error on %s %s", request.method, request.path)
        return InternalServerError()

    def handle_http(error: HTTPException):
        return from_http_exception(error) if is_api_request() else web_page(error)

    def handle_refusal(error):
        return from_refusal(error) if is_api_request() else web_page(error)

    def handle_unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return handle_http(error)
        return from_unexpected(error) if is_api_request() else web_page(error)

    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(domain_errors.DomainError, handle_refusal)
    app.register_error_handler(ledger_errors.LedgerError, handle_refusal)
    app.register_error_handler(Exception, handle_unexpected)
