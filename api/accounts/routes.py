"""The ledger as partner apps use it: balances and statements (as JSON pages and CSV), direct payments and claims,
reversals, batches of up to 500 transfers, and the community pot. Every ledger write needs an Idempotency-Key,
which is also handed to the use case, so that a retry never moves minutes twice."""

from __future__ import annotations

import json
from dataclasses import asdict

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from api import problems
from api.accounts.schemas import (
    LedgerExchangeSchema,
    LedgerTransactionSchema,
    MemberBalanceSchema,
    NewClaimSchema,
    NewDonationSchema,
    NewGrantSchema,
    NewGroupEventSchema,
    NewPaymentSchema,
    NewReversalSchema,
    NewTransferBatchSchema,
    PotFiguresSchema,
    StatementArgsSchema,
    StatementCsvArgsSchema,
    StatementSchema,
    TransferBatchResultSchema,
)
from api.auth import requires
from api.common import decode_cursor, encode_cursor, path_id, read, run
from api.idempotency import HEADER, idempotent
from timebank import balances, batches, pot, reports

blueprint = Blueprint(
    "accounts",
    __name__,
    url_prefix="/api/v1",
    description="Balances, statements, payments, claims, reversals, batches and the community pot, in minutes",
)

CSV_HEADERS = {
    "Content-Disposition": {
        "description": 'attachment; filename="statement-<membership>-<start>-<end>.csv"',
        "schema": {"type": "string"},
    }
}


def _idempotency_key() -> str:
    """The request's Idempotency-Key (``@idempotent(required=True)`` has checked it is there)."""
    return request.headers[HEADER]


def _transaction(posting) -> dict:
    return {**posting.transaction.model_dump(), "entries": posting.entries}


# --- balances and statements --------------------------------------------------------------------------------------


@blueprint.route("/members/<membership_id>/balance")
class MemberBalance(MethodView):
    @requires(scope="ledger:read")
    @blueprint.response(200, MemberBalanceSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, membership_id: str):
        """Read a member's balance, pending and available minutes, floor and ceiling (own, or a coordinator's)."""
        found = read(balances.member_balance, membership_id=path_id(membership_id, "member"))
        return {**asdict(found.figures), "membership_id": found.membership_id, "community_id": found.community_id}


@blueprint.route("/members/<membership_id>/statement")
class Statement(MethodView):
    @requires(scope="ledger:read")
    @blueprint.arguments(StatementArgsSchema, location="query", unknown=RAISE)
    @blueprint.response(200, StatementSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, args, membership_id: str):
        """Read one page of a member's statement for [start, end): entries oldest first, the balance after each."""
        statement = read(
            reports.member_statement,
            membership_id=path_id(membership_id, "member"),
            start=args["start"],
            end=args["end"],
            limit=args["limit"],
            after=decode_cursor(args["cursor"]),
        )
        return {
            **vars(statement),
            "data": [{**asdict(line), "description": line.description} for line in statement.lines],
            "next_cursor": encode_cursor(statement.next_cursor),
        }


@blueprint.route("/members/<membership_id>/statement.csv")
class StatementCsv(MethodView):
    @requires(scope="ledger:read")
    @blueprint.arguments(StatementCsvArgsSchema, location="query", unknown=RAISE)
    @blueprint.response(
        200,
        {"type": "string"},
        content_type="text/csv",
        description="The statement as CSV (UTF-8): opening balance, one row per entry, closing balance",
        headers=CSV_HEADERS,
    )
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, args, membership_id: str):
        """Download a member's statement for [start, end) as CSV, for a spreadsheet."""
        identifier = path_id(membership_id, "member")
        text = read(reports.statement_csv, membership_id=identifier, start=args["start"], end=args["end"])
        filename = f"statement-{identifier}-{args['start']:%Y%m%d}-{args['end']:%Y%m%d}.csv"
        response = Response(text, mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


# --- payments, claims and reversals -------------------------------------------------------------------------------


@blueprint.route("/communities/<community_id>/payments")
class Payments(MethodView):
    @requires(people_only=True)
    @idempotent(required=True)
    @blueprint.arguments(NewPaymentSchema)
    @blueprint.response(201, LedgerExchangeSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, community_id: str):
        """Pay another member of the community for help received: the minutes post at once."""
        return run(
            balances.pay_in_community,
            community_id=path_id(community_id, "community"),
            idempotency_key=_idempotency_key(),
            **body,
        )


@blueprint.route("/communities/<community_id>/claims")
class Claims(MethodView):
    @requires(people_only=True)
    @idempotent(required=True)
    @blueprint.arguments(NewClaimSchema)
    @blueprint.response(201, LedgerExchangeSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, community_id: str):
        """Claim minutes from the member you helped: pending until they confirm, dispute, or the days pass."""
        return run(
            balances.claim_in_community,
            community_id=path_id(community_id, "community"),
            idempotency_key=_idempotency_key(),
            **body,
        )


@blueprint.route("/transactions/<transaction_id>/reversal")
class Reversal(MethodView):
    @requires(scope="ledger:write")
    @idempotent(required=True)
    @blueprint.arguments(NewReversalSchema)
    @blueprint.response(201, LedgerTransactionSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, transaction_id: str):
        """Reverse a mistaken posted transaction with a reason (coordinators): its opposite is posted, once."""
        posting = run(
            balances.reverse_transaction_by_id,
            transaction_id=path_id(transaction_id, "transaction", maximum=balances.MAX_ID),
            reason=body["reason"],
            idempotency_key=_idempotency_key(),
        )
        return _transaction(posting)


# --- batches ------------------------------------------------------------------------------------------------------


def _batch_item(result: batches.TransferResult) -> dict:
    item = {"index": result.index, "status": result.status.value}
    if result.exchange is not None:
        item["exchange_id"] = result.exchange.id
    if result.transaction_id is not None:
        item["transaction_id"] = result.transaction_id
    if result.error is not None:
        item["problem"] = json.loads(problems.from_refusal(result.error).get_data())
    return item


@blueprint.route("/communities/<community_id>/transfers/batch")
class TransferBatch(MethodView):
    @requires(scope="ledger:write")
    @idempotent(required=True)
    @blueprint.arguments(NewTransferBatchSchema)
    @blueprint.response(200, TransferBatchResultSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, community_id: str):
        """Post up to 500 transfers between members (coordinators), all or nothing or each on its own.

        Each transfer is recorded as a confirmed exchange the coordinator attests both members agreed to. The
        answer has one result per transfer, in order: ``posted`` (with its exchange and transaction),
        ``refused`` (with a problem saying why) or, in an all-or-nothing batch that was stopped, ``not_applied``.
        """
        results = run(
            batches.post_transfer_batch,
            community_id=path_id(community_id, "community"),
            transfers=[batches.Transfer(**transfer) for transfer in body["transfers"]],
            atomic=body["atomic"],
            idempotency_key=_idempotency_key(),
        )
        posted = sum(1 for result in results if result.status == batches.TransferStatus.POSTED)
        return {
            "atomic": body["atomic"],
            "posted_count": posted,
            "refused_count": len(results) - posted,
            "results": [_batch_item(result) for result in results],
        }


# --- the pot ------------------------------------------------------------------------------------------------------


@blueprint.route("/communities/<community_id>/pot")
class Pot(MethodView):
    @requires(scope="ledger:read")
    @blueprint.response(200, PotFiguresSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self, community_id: str):
        """Read the community pot's balance and limits (coordinators)."""
        found = read(balances.pot_figures, community_id=path_id(community_id, "community"))
        return {**asdict(found.figures), "community_id": found.community_id}


@blueprint.route("/communities/<community_id>/pot/donations")
class PotDonations(MethodView):
    @requires(people_only=True)
    @idempotent(required=True)
    @blueprint.arguments(NewDonationSchema)
    @blueprint.response(201, LedgerTransactionSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, community_id: str):
        """Give minutes from your own account to the community pot."""
        posting = run(
            pot.donate_to_pot,
            community_id=path_id(community_id, "community"),
            idempotency_key=_idempotency_key(),
            **body,
        )
        return _transaction(posting)


@blueprint.route("/communities/<community_id>/pot/grants")
class PotGrants(MethodView):
    @requires(scope="ledger:write")
    @idempotent(required=True)
    @blueprint.arguments(NewGrantSchema)
    @blueprint.response(201, LedgerTransactionSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, community_id: str):
        """Grant minutes from the pot to a member, with a reason (coordinators); the pot never goes below zero."""
        posting = run(
            pot.grant_from_pot,
            community_id=path_id(community_id, "community"),
            idempotency_key=_idempotency_key(),
            **body,
        )
        return _transaction(posting)


@blueprint.route("/communities/<community_id>/pot/group-events")
class PotGroupEvents(MethodView):
    @requires(scope="ledger:write")
    @idempotent(required=True)
    @blueprint.arguments(NewGroupEventSchema)
    @blueprint.response(201, LedgerTransactionSchema)
    @blueprint.alt_response(404, response="NOT_FOUND")
    def post(self, body, community_id: str):
        """Credit every participant of a group event the same minutes (coordinators): all of them or none."""
        posting = run(
            pot.group_event,
            community_id=path_id(community_id, "community"),
            idempotency_key=_idempotency_key(),
            **body,
        )
        return _transaction(posting)
