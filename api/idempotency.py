"""``Idempotency-Key`` as api.md says: keys are scoped to the caller; a retry with the same request gets the
original status and body; a retry with another request is refused (422). Records are kept at least 24 hours
(``timebank tick`` forgets them after 48).

The key's record, the operation's changes and the answer are written in one database transaction: they are all
there, or none of them is. A server killed halfway (SIGKILL, a power cut) leaves nothing, so the client's retry
runs the operation afresh, once; a server killed after the commit has left the answer, which the retry gets.
A concurrent retry waits for the first request's transaction (PostgreSQL holds it at the key's unique index,
SQLite at its write lock), then gets the first request's answer: of twenty concurrent retries exactly one runs
the operation. (Older versions committed the key first and answered 409 while the operation ran; such a record
found unfinished after ``ABANDONED_AFTER`` belongs to a request that died, and is taken over.)
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from datetime import datetime, timedelta
from functools import wraps

import sqlalchemy as sa
from flask import Response, current_app, g, request
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.exceptions import HTTPException

from api import problems
from api.auth import current_caller
from ledger import errors as ledger_errors
from ledger.core import utc_now
from ledger.database import MAX_ATTEMPTS, is_retryable
from timebank import errors as domain_errors
from timebank.models import IdempotencyRecord

HEADER = "Idempotency-Key"
# Where ``api.common.run`` and ``read`` find the transaction of the idempotent request they are part of.
TRANSACTION = "idempotent_database"
ABANDONED_AFTER = timedelta(minutes=5)
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")
HEADER_DOC = {
    "name": HEADER,
    "in": "header",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
    "description": "A unique key per intended operation (a UUID, say); a retry with the same key and body gets "
    "the original response instead of a second operation.",
}


def _request_hash() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode(), request.get_data(as_text=False)):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


_record = IdempotencyRecord.__table__.c


# Built once per dialect (each request with a key runs it): insert the key, or nothing if it is taken.
_CLAIMS = {
    name: dialect.insert(IdempotencyRecord)
    .on_conflict_do_nothing(index_elements=["caller", "key"])
    .returning(_record.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _claim(connection: sa.Connection, *, caller: str, key: str, request_hash: str, now: datetime):
    """Claim the key, or return the record that holds it already. One statement when the key is new: an insert
    that does nothing on a conflict. While another transaction holds the same key uncommitted, PostgreSQL makes it
    wait for that one's end (SQLite's write lock has already made it wait)."""
    values = {
        "caller": caller,
        "key": key,
        "method": request.method,
        "path": request.path[:500],
        "request_hash": request_hash,
        "state": "in_flight",
        "created_at": now,
    }
    claimed = connection.execute(_CLAIMS[connection.dialect.name], values).first()
    if claimed is not None:
        return None
    existing = connection.execute(
        sa.select(IdempotencyRecord.__table__).where(_record.caller == caller, _record.key == key)
    ).one()
    if existing.state != "done" and existing.created_at < now - ABANDONED_AFTER:
        # Left unfinished by a request of an older version that died (see the module's docstring): take it over.
        connection.execute(IdempotencyRecord.__table__.update().where(_record.id == existing.id).values(**values))
        return None
    return existing


_FINISH = (
    IdempotencyRecord.__table__.update()
    .where(_record.caller == sa.bindparam("b_caller"), _record.key == sa.bindparam("b_key"))
    .values(state="done")
)


def _finish(connection: sa.Connection, *, caller: str, key: str, response: Response, now: datetime) -> None:
    parameters = {
        "b_caller": caller,
        "b_key": key,
        "completed_at": now,
        "response_status": response.status_code,
        "response_body": response.get_data(as_text=True),
    }
    connection.execute(_FINISH, parameters)


class _ServerError(Exception):
    """The operation failed with a 5xx: roll back its transaction (key included), so that a retry runs it."""

    def __init__(self, response: Response):
        self.response = response


def _answer_once(view, args, kwargs, *, caller: str, key: str) -> Response:
    """Claim the key, run the view and keep its answer, in one transaction (see the module's docstring). The whole
    of it is tried again when the database asks (busy, a serialization failure or deadlock, a key taken
    concurrently): nothing of a failed attempt was committed."""
    database = current_app.extensions["timebank"].database
    request_hash = _request_hash()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return _attempt(database, view, args, kwargs, caller=caller, key=key, request_hash=request_hash)
        except _ServerError as error:
            return error.response
        except sa.exc.DBAPIError as error:
            if not (is_retryable(error) or isinstance(error, sa.exc.IntegrityError)) or attempt == MAX_ATTEMPTS:
                raise
        time.sleep(random.uniform(0, 0.002 * 2**attempt))
    raise AssertionError("unreachable")


def _attempt(database, view, args, kwargs, *, caller: str, key: str, request_hash: str) -> Response:
    with database.transaction() as transaction:
        record = _claim(transaction.connection, caller=caller, key=key, request_hash=request_hash, now=utc_now())
        if record is not None:
            return _replay(record, request_hash)
        g.setdefault(TRANSACTION, transaction)
        try:
            response = _run_view(view, args, kwargs)
        finally:
            g.pop(TRANSACTION, None)
        if response.status_code >= 500:
            raise _ServerError(response)
        _finish(transaction.connection, caller=caller, key=key, response=response, now=utc_now())
        return response


def _replay(record, request_hash: str) -> Response:
    if record.request_hash != request_hash:
        return problems.problem(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used with another request",
            idempotency_key=record.key,
        )
    if record.state != "done":
        return problems.problem(
            409,
            "idempotency_request_in_flight",
            "the first request with this key is still running; retry later",
            headers={"Retry-After": "1"},
        )
    media_type = problems.PROBLEM_MEDIA_TYPE if record.response_status >= 400 else "application/json"
    response = Response(record.response_body, status=record.response_status, mimetype=media_type)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _run_view(view, args, kwargs) -> Response:
    try:
        return current_app.make_response(view(*args, **kwargs))
    except (domain_errors.DomainError, ledger_errors.LedgerError) as error:
        return problems.from_refusal(error)
    except HTTPException as error:
        return problems.from_http_exception(error)


def idempotent(*, required: bool):
    """Honour ``Idempotency-Key`` on a create; ``required`` for ledger writes (400 without it)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                if required:
                    return problems.problem(400, "idempotency_key_missing", f"send an {HEADER} header")
                return view(*args, **kwargs)
            if not KEY_PATTERN.match(key):
                return problems.problem(400, "malformed_request", f"{HEADER} is 1 to 200 visible ASCII characters")
            return _answer_once(view, args, kwargs, caller=current_caller().actor.label, key=key)

        parameters = getattr(wrapper, "_apidoc", {}).get("manual_doc", {}).get("parameters", [])
        header = {**HEADER_DOC, "required": required}
        apidoc = getattr(wrapper, "_apidoc", {})
        manual = apidoc.get("manual_doc", {})
        responses = {**manual.get("responses", {}), "400": {"$ref": "#/components/responses/BAD_REQUEST"}}
        if not required:
            responses.pop("400")
        responses["409"] = {"$ref": "#/components/responses/CONFLICT"}
        responses["422"] = {"$ref": "#/components/responses/UNPROCESSABLE_ENTITY"}
        wrapper._apidoc = {
            **apidoc,
            "manual_doc": {**manual, "parameters": [*parameters, header], "responses": responses},
        }
        wrapper._idempotency = "required" if required else "accepted"
        return wrapper

    return decorate
