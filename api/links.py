"""OpenAPI links: which operations a response's ids lead to (a new listing → read, edit, close it; an exchange →
its next steps; a payment → its reversal; a new membership → approve it).

Partner developers read them as "what can I do next"; schemathesis follows them in its stateful runs
(tests/api/test_schemathesis_stateful.py). An apispec plugin adds them to the operations as flask-smorest
registers each path, so one table here covers every resource.
"""

from __future__ import annotations

from apispec import BasePlugin

P = "/api/v1"
COMMUNITY = P + "/communities/{community_id}"
LISTING = P + "/listings/{listing_id}"
EXCHANGE = P + "/exchanges/{exchange_id}"
MEMBER = P + "/members/{membership_id}"
INVITATION = P + "/invitations/{invitation_id}"
TRANSACTION = P + "/transactions/{transaction_id}"

# What one can do with an object, by link name: (method, path).
LISTING_NEXT = {
    "getListing": ("get", LISTING),
    "changeListing": ("patch", LISTING),
    "closeListing": ("post", LISTING + "/close"),
    "reopenListing": ("post", LISTING + "/reopen"),
    "suggestHelpers": ("get", LISTING + "/suggestions"),
    "inviteMember": ("post", LISTING + "/invitations"),
    "respondToListing": ("post", LISTING + "/responses"),
}
INVITATION_NEXT = {
    "acceptInvitation": ("post", INVITATION + "/accept"),
    "declineInvitation": ("post", INVITATION + "/decline"),
}
EXCHANGE_NEXT = {
    "getExchange": ("get", EXCHANGE),
    "agree": ("post", EXCHANGE + "/agree"),
    "acceptHelper": ("post", EXCHANGE + "/accept-helper"),
    "cancel": ("post", EXCHANGE + "/cancel"),
    "record": ("post", EXCHANGE + "/record"),
    "confirm": ("post", EXCHANGE + "/confirm"),
    "dispute": ("post", EXCHANGE + "/dispute"),
    "settle": ("post", EXCHANGE + "/settle"),
    "thank": ("post", EXCHANGE + "/thank"),
}
REVERSAL = {"reverseTransaction": ("post", TRANSACTION + "/reversal")}
MEMBER_NEXT = {
    "getMember": ("get", MEMBER),
    "changeProfile": ("patch", MEMBER + "/profile"),
    "approveMember": ("post", MEMBER + "/approve"),
    "declineMember": ("post", MEMBER + "/decline"),
    "suspendMember": ("post", MEMBER + "/suspend"),
    "reinstateMember": ("post", MEMBER + "/reinstate"),
    "setLimits": ("put", MEMBER + "/limits"),
    "getBalance": ("get", MEMBER + "/balance"),
    "getStatement": ("get", MEMBER + "/statement"),
    "getStatementCsv": ("get", MEMBER + "/statement.csv"),
    "getThankYouNotes": ("get", MEMBER + "/thank-you-notes"),
}
COMMUNITY_NEXT = {
    "getCommunity": ("get", COMMUNITY),
    "listMembers": ("get", COMMUNITY + "/members"),
    "applyToJoin": ("post", COMMUNITY + "/applications"),
    "addOfflineMember": ("post", COMMUNITY + "/offline-members"),
    "searchListings": ("get", COMMUNITY + "/listings"),
    "postListing": ("post", COMMUNITY + "/listings"),
    "listExchanges": ("get", COMMUNITY + "/exchanges"),
    "recordOnBehalf": ("post", COMMUNITY + "/exchanges/on-behalf"),
    "pay": ("post", COMMUNITY + "/payments"),
    "claim": ("post", COMMUNITY + "/claims"),
    "transferBatch": ("post", COMMUNITY + "/transfers/batch"),
    "getPot": ("get", COMMUNITY + "/pot"),
    "donateToPot": ("post", COMMUNITY + "/pot/donations"),
    "grantFromPot": ("post", COMMUNITY + "/pot/grants"),
    "recordGroupEvent": ("post", COMMUNITY + "/pot/group-events"),
    "getFunderReport": ("get", COMMUNITY + "/reports/funder"),
    "getFunderReportCsv": ("get", COMMUNITY + "/reports/funder.csv"),
    "getAuditLog": ("get", COMMUNITY + "/audit-log"),
    "listPartnerKeys": ("get", COMMUNITY + "/partner-keys"),
    "makePartnerKey": ("post", COMMUNITY + "/partner-keys"),
}
OWN_ID = "$response.body#/id"

LISTING_RESPONSES = [
    ("post", COMMUNITY + "/listings", "201"),
    ("get", LISTING, "200"),
    ("patch", LISTING, "200"),
    ("post", LISTING + "/close", "200"),
    ("post", LISTING + "/reopen", "200"),
]
EXCHANGE_RESPONSES = [
    ("post", LISTING + "/responses", "201"),
    ("post", INVITATION + "/accept", "201"),
    ("post", COMMUNITY + "/exchanges/on-behalf", "201"),
    ("get", EXCHANGE, "200"),
    *[
        ("post", f"{EXCHANGE}/{step}", "200")
        for step in ("agree", "accept-helper", "cancel", "record", "confirm", "dispute", "settle")
    ],
    ("post", EXCHANGE + "/thank", "201"),
]
MEMBERSHIP_RESPONSES = [
    ("post", COMMUNITY + "/applications", "201"),
    ("post", COMMUNITY + "/offline-members", "201"),
    ("get", MEMBER, "200"),
    ("patch", MEMBER + "/profile", "200"),
    *[("post", f"{MEMBER}/{step}", "200") for step in ("approve", "decline", "suspend", "reinstate")],
    ("put", MEMBER + "/limits", "200"),
]

# (method, path, status) → [(links by name, {target parameter: runtime expression})]
LINKS: dict[tuple[str, str, str], list[tuple[dict, dict]]] = {}


def _link(sources, targets: dict, parameters: dict) -> None:
    for source in sources:
        LINKS.setdefault(source, []).append((targets, parameters))


# The first community in the caller's list (a partner key's list holds its own community only).
_link([("get", P + "/communities", "200")], COMMUNITY_NEXT, {"community_id": "$response.body#/data/0/id"})
_link(LISTING_RESPONSES, LISTING_NEXT, {"listing_id": OWN_ID})
_link([("post", LISTING + "/invitations", "201")], INVITATION_NEXT, {"invitation_id": OWN_ID})
_link(EXCHANGE_RESPONSES, EXCHANGE_NEXT, {"exchange_id": OWN_ID})
_link(EXCHANGE_RESPONSES, REVERSAL, {"transaction_id": "$response.body#/ledger_transaction_id"})
_link(
    [("post", COMMUNITY + "/payments", "201"), ("post", COMMUNITY + "/claims", "201")],
    EXCHANGE_NEXT,
    {"exchange_id": OWN_ID},
)
_link(
    [("post", COMMUNITY + "/payments", "201"), ("post", COMMUNITY + "/claims", "201")],
    REVERSAL,
    {"transaction_id": "$response.body#/transaction_id"},
)
_link(
    [("post", COMMUNITY + path, "201") for path in ("/pot/donations", "/pot/grants", "/pot/group-events")]
    + [("post", TRANSACTION + "/reversal", "201")],
    REVERSAL,
    {"transaction_id": OWN_ID},
)
_link(
    [("post", COMMUNITY + "/transfers/batch", "200")],
    REVERSAL,
    {"transaction_id": "$response.body#/results/0/transaction_id"},
)
_link(MEMBERSHIP_RESPONSES, MEMBER_NEXT, {"membership_id": OWN_ID})
_link(
    [("post", P + "/me/tokens", "201")], {"revokeToken": ("delete", P + "/me/tokens/{token_id}")}, {"token_id": OWN_ID}
)
_link(
    [("post", COMMUNITY + "/partner-keys", "201")],
    {"revokePartnerKey": ("delete", COMMUNITY + "/partner-keys/{key_id}")},
    {"community_id": "$response.body#/community_id", "key_id": OWN_ID},
)


def operation_ref(method: str, path: str) -> str:
    """A JSON pointer to an operation of this document."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def links_for(method: str, path: str, status: str) -> dict:
    """The links of one response, by name."""
    links = {}
    for targets, parameters in LINKS.get((method, path, status), []):
        for name, (target_method, target_path) in targets.items():
            links[name] = {
                "operationRef": operation_ref(target_method, target_path),
                "parameters": {
                    f"path.{parameter}": expression
                    for parameter, expression in parameters.items()
                    if "{" + parameter + "}" in target_path
                },
            }
    return links


class LinksPlugin(BasePlugin):
    """Adds ``LINKS`` to the responses of the operations as their paths are registered."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            for status, response in operation.get("responses", {}).items():
                links = links_for(method, path, str(status))
                if links and isinstance(response, dict) and "$ref" not in response:
                    response["links"] = {**response.get("links", {}), **links}
