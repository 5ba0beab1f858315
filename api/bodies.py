"""Request bodies of the API, checked before any resource sees them: JSON only (415 otherwise), and JSON that every
parser reads the same way (400 otherwise).

Python's ``json`` module accepts what RFC 8259 does not, or reads it in its own way: ``NaN`` and ``Infinity``, the
last of two equal keys, numbers of any length (and fails with an internal error beyond 4,300 digits), strings with
unpaired surrogates (which no database can store), and nesting as deep as the stack allows (then a
``RecursionError``). A body like that is refused here with a problem that says what is wrong, and the request
changes nothing: this runs before the Idempotency-Key is claimed and before any use case.

Bodies over ``MAX_CONTENT_LENGTH`` (streamed or not) are refused by Werkzeug with 413 when read.
The caller is authenticated first, so that an anonymous request is told 401 whatever its body.
"""

from __future__ import annotations

import json
import math

from flask import Flask, request

from api import problems
from api.auth import current_caller

WRITE_METHODS = {"POST", "PUT", "PATCH"}
MAX_DEPTH = 16
MAX_DIGITS = 20  # ids travel as strings; minutes and limits are small; 2**63 has 19 digits
JSON_MEDIA_TYPES = {"application/json"}


class MalformedBody(ValueError):
    """JSON that is not valid, or not the JSON this API reads."""


def _whole_number(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise MalformedBody(f"a number in the body has more than {MAX_DIGITS} digits")
    return int(text)


def _number(text: str) -> float:
    if len(text) > 2 * MAX_DIGITS:
        raise MalformedBody(f"a number in the body is longer than {2 * MAX_DIGITS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise MalformedBody("a number in the body is too large")
    return value


def _not_json(name: str):
    raise MalformedBody(f"{name} is not a JSON number")


def _object(pairs: list[tuple[str, object]]) -> dict:
    found = {}
    for key, value in pairs:
        if key in found:
            raise MalformedBody(f"the key {key!r} appears twice in one object")
        found[key] = value
    return found


def _check_tree(value) -> None:
    """Nesting at most ``MAX_DEPTH`` deep; strings (keys too) without unpaired surrogates. Without recursion."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise MalformedBody(f"the body is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key)
                pending.append((child, depth + 1))
        else:
            pending.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedBody("a string in the body has an unpaired surrogate (\\ud800-\\udfff)") from None


def parse(data: bytes):
    """The JSON value of a request body, or ``MalformedBody`` saying what is wrong with it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedBody(f"the body is not UTF-8 (byte {error.start})") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_whole_number,
            parse_float=_number,
            parse_constant=_not_json,
        )
    except RecursionError:
        raise MalformedBody(f"the body is nested more than {MAX_DEPTH} levels deep") from None
    except MalformedBody:
        raise
    except json.JSONDecodeError as error:
        raise MalformedBody(
            f"the body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    _check_tree(value)
    return value


def _has_body() -> bool:
    return bool(request.content_length) or bool(request.environ.get("wsgi.input_terminated"))


def check_body():
    """Before an API write: refuse a body that is not JSON (415) or not JSON this API reads (400)."""
    if request.method not in WRITE_METHODS or not request.path.startswith("/api/") or not _has_body():
        return None
    if current_caller() is None:
        return None  # the resource answers 401
    data = request.get_data(cache=True)  # 413 beyond MAX_CONTENT_LENGTH
    if not data:
        return None
    if request.mimetype not in JSON_MEDIA_TYPES:
        return problems.problem(
            415,
            "unsupported_media_type",
            f"send the body as application/json, not {request.mimetype or 'without a Content-Type'}",
        )
    try:
        parse(data)
    except MalformedBody as error:
        return problems.problem(400, "malformed_request", str(error))
    return None


def register(app: Flask) -> None:
    app.before_request(check_body)
