"""Reports: the funder report of a community's figures (as JSON and as CSV), and the coordinators' audit log."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from api.auth import requires
from api.common import decode_cursor, page, path_id, read
from api.reports.schemas import AuditLogArgs, AuditPageSchema, FunderPeriodArgs, FunderReportSchema
from timebank import access, audit, errors, reports

blueprint = Blueprint(
    "reports", __name__, url_prefix="/api/v1/communities", description="The funder report and the audit log"
)

# webargs ignores unknown query parameters by default; here, as in bodies, they are refused (api.md).
QUERY = {"location": "query", "unknown": RAISE}
# The largest id the database holds (a signed 64-bit integer): a cursor past it cannot come from this API.
MAX_ID = 2**63 - 1
CSV_EXAMPLE = (
    "Funder report,Buurtbank Oosterpark,2026-03-01 00:00,2026-04-01 00:00,Europe/Amsterdam\r\n"
    "\r\n"
    "Minutes exchanged per month\r\n"
    "month,exchanges,minutes,hours\r\n"
    "2026-03,12,840,14:00\r\n"
)
CSV_HEADERS = {
    "Content-Disposition": {
        "description": "attachment; the file name names the community and the period",
        "schema": {"type": "string"},
        "example": 'attachment; filename="funder-report-oosterpark-2026-03-01-2026-04-01.csv"',
    }
}


def _funder_csv(*, session, actor, community_id: int, start, end) -> tuple[str, str]:
    """The report as CSV text and its file name (the period's dates in the community's time zone)."""
    text = reports.funder_report_csv(session=session, actor=actor, community_id=community_id, start=start, end=end)
    community = access.get_community(session, community_id)
    zone = ZoneInfo(community.time_zone)
    first_day, end_day = (moment.astimezone(zone).date().isoformat() for moment in (start, end))
    return text, f"funder-report-{community.slug}-{first_day}-{end_day}.csv"


@blueprint.route("/<community_id>/reports/funder")
class FunderReportAsJson(MethodView):
    @requires(scope="reports:read")
    @blueprint.arguments(FunderPeriodArgs, **QUERY)
    @blueprint.response(200, FunderReportSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, period, community_id: str):
        """Read the community's funder report for a period [start, end) of at most two years (coordinators)."""
        return read(reports.funder_report, community_id=path_id(community_id, "community"), **period)


@blueprint.route("/<community_id>/reports/funder.csv")
class FunderReportAsCsv(MethodView):
    @requires(scope="reports:read")
    @blueprint.arguments(FunderPeriodArgs, **QUERY)
    @blueprint.response(
        200,
        {"type": "string"},
        content_type="text/csv",
        description="The funder report as CSV (UTF-8): one section per figure",
        example=CSV_EXAMPLE,
        headers=CSV_HEADERS,
    )
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, period, community_id: str):
        """Download the community's funder report for a period as CSV (coordinators)."""
        text, filename = read(_funder_csv, community_id=path_id(community_id, "community"), **period)
        return Response(
            text,
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


@blueprint.route("/<community_id>/audit-log")
class AuditLog(MethodView):
    @requires(people_only=True)
    @blueprint.arguments(AuditLogArgs, **QUERY)
    @blueprint.response(200, AuditPageSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    @blueprint.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, arguments, community_id: str):
        """List the community's audit log, newest first (coordinators)."""
        before = decode_cursor(arguments["cursor"])
        if before is not None and not 1 <= before <= MAX_ID:
            raise errors.InvalidInput("the cursor is not valid", field="cursor")
        found = read(
            audit.audit_log,
            community_id=path_id(community_id, "community"),
            limit=arguments["limit"],
            before=before,
            action=arguments["action"],
            by=arguments["actor"],
            since=arguments["since"],
            until=arguments["until"],
        )
        return page(found.entries, found.next_cursor)
