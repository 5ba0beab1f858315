"""The browsable API reference (/api/v1/docs), rendered on the server from the OpenAPI document itself, and a
page for each problem type. No script, no external fetch."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from api import problems

blueprint = Blueprint("api_reference", __name__, url_prefix="/api/v1", template_folder="templates")
METHODS = ("get", "post", "put", "patch", "delete")


def _operations(spec: dict) -> list[dict]:
    operations = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in METHODS:
            if method in item:
                operation = item[method]
                operations.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "anchor": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                        "summary": operation.get("summary", ""),
                        "description": operation.get("description", ""),
                        "tags": operation.get("tags", []),
                        "parameters": operation.get("parameters", []) + item.get("parameters", []),
                        "body": operation.get("requestBody", {}).get("content", {}).get("application/json", {}),
                        "responses": operation.get("responses", {}),
                        "security": bool(operation.get("security")),
                    }
                )
    return operations


@blueprint.get("/docs")
def reference():
    """The API reference: every operation with its parameters, body and responses."""
    spec = current_app.extensions["timebank_api"].spec.to_dict()
    return render_template(
        "api/reference.html",
        spec=spec,
        operations=_operations(spec),
        schemas=spec.get("components", {}).get("schemas", {}),
    )


@blueprint.get("/problems/<slug>")
def problem_type(slug: str):
    """What a problem type means (the ``type`` of an error response points here)."""
    code = slug.replace("-", "_")
    known = set(problems.STATUS_BY_CODE) | set(problems.HTTP_CODES.values()) | _refusal_codes()
    if code not in known:
        abort(404)
    return render_template("api/problem.html", code=code, slug=slug, status=problems.status_for(code))


def _refusal_codes() -> set[str]:
    from ledger.errors import ERRORS_BY_CODE as LEDGER_CODES
    from timebank.errors import ERRORS_BY_CODE as DOMAIN_CODES

    return set(LEDGER_CODES) | set(DOMAIN_CODES)
