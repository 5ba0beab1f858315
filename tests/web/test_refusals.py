"""Refusals in the page's language: every refusal of the use cases and the ledger has a text for people, with its
figures filled in (hours as "2 u 30 min"), and an unknown one gets the general text of its code, never the English
message for programmers."""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.extract import extract_from_file
from flask_babel import gettext
from flask_babel.speaklater import LazyString

from ledger import errors as ledger_errors
from timebank import errors as domain_errors
from timebank.web import refusals
from timebank.web.refusals import Facts, Pick, Say, refusal_text, render, text_for

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "timebank").glob("*.py"), *(ROOT / "ledger").glob("*.py")])
ERROR_MODULES = (domain_errors, ledger_errors)
REFUSAL_CLASSES = {
    cls for base in (domain_errors.DomainError, ledger_errors.LedgerError) for cls in (base, *base.__subclasses__())
}


@dataclass(frozen=True)
class Refusal:
    """A refusal that the code constructs: where, its code, and its message (an f-string's as a template)."""

    where: str
    code: str
    message: str
    from_f_string: bool
    detail_names: tuple[str, ...]


def _imported_names(tree: ast.Module, package: str) -> tuple[dict[str, ModuleType], dict[str, type]]:
    """The names by which a module refers to the error modules and to the error classes."""
    modules: dict[str, ModuleType] = {}
    classes: dict[str, type] = {}

    def note(name: str, thing) -> None:
        if isinstance(thing, ModuleType) and thing in ERROR_MODULES:
            modules[name] = thing
        elif isinstance(thing, type) and thing in REFUSAL_CLASSES:
            classes[name] = thing

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = importlib.import_module("." * node.level + (node.module or ""), package)
            for alias in node.names:
                found = getattr(source, alias.name, None)
                if found is None:
                    found = importlib.import_module(f"{source.__name__}.{alias.name}")
                note(alias.asname or alias.name, found)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    note(alias.asname, importlib.import_module(alias.name))
    return modules, classes


def _template(message: ast.expr) -> str | None:
    """An f-string's fixed words with {} for each value; None for anything else."""
    if not isinstance(message, ast.JoinedStr):
        return None
    return "".join(value.value if isinstance(value, ast.Constant) else "{}" for value in message.values)


def _scan() -> tuple[list[Refusal], list[str]]:
    """Every construction of a refusal in the use cases and the ledger (raised at once or kept and raised later),
    and the places where one could not be read."""
    found: list[Refusal] = []
    unreadable: list[str] = []
    class_names = {cls.__name__ for cls in REFUSAL_CLASSES}
    for path in SOURCES:
        tree = ast.parse(path.read_text(), filename=str(path))
        modules, classes = _imported_names(tree, path.parent.name)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            function = node.func
            cls = None
            if isinstance(function, ast.Name):
                cls = classes.get(function.id)
                named = function.id
            elif isinstance(function, ast.Attribute):
                named = function.attr
                if isinstance(function.value, ast.Name) and function.value.id in modules:
                    cls = getattr(modules[function.value.id], function.attr, None)
            else:
                continue
            if cls not in REFUSAL_CLASSES:
                if named in class_names:
                    unreadable.append(f"{where}: {named} is not one of the refusals this scan knows")
                continue
            messages = [*node.args[:1], *(keyword.value for keyword in node.keywords if keyword.arg == "message")]
            details = tuple(keyword.arg or "**" for keyword in node.keywords if keyword.arg != "message")
            if len(messages) != 1:
                unreadable.append(f"{where}: {cls.__name__} without a message")
            elif isinstance(messages[0], ast.Constant) and isinstance(messages[0].value, str):
                found.append(Refusal(where, cls.code, messages[0].value, False, details))
            elif (template := _template(messages[0])) is not None:
                found.append(Refusal(where, cls.code, template, True, details))
            else:
                unreadable.append(f"{where}: the message of {cls.__name__} is neither text nor an f-string")
    return found, unreadable


SCANNED, UNREADABLE = _scan()


def _leaves(text) -> list[LazyString]:
    if isinstance(text, Pick):
        return [leaf for choice in [*text.choices.values(), text.otherwise] if choice for leaf in _leaves(choice)]
    if isinstance(text, Say):
        return [text.words]
    return [text]


def _all_texts() -> list:
    return [*refusals.MESSAGES.values(), *refusals.TEMPLATES.values(), *refusals.FALLBACKS.values()]


@pytest.fixture
def english(web_app):
    with web_app.test_request_context("/", headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def dutch(web_app):
    with web_app.test_request_context("/", headers={"Accept-Language": "nl"}):
        yield


# What the scan finds, and that each refusal it finds has a text.


def test_the_scan_reads_every_refusal_of_the_use_cases_and_the_ledger():
    assert not UNREADABLE, "\n".join(UNREADABLE)
    assert len(SCANNED) > 200
    places = {refusal.where.split(":")[0] for refusal in SCANNED}
    assert {"timebank/validation.py", "timebank/passwords.py", "ledger/core.py", "timebank/batches.py"} <= places
    kept_then_raised = {
        ("not_found", "no such listing"),
        ("invalid_input", "this cursor is not one this search gave out"),
    }
    assert kept_then_raised <= {(refusal.code, refusal.message) for refusal in SCANNED}
    assert ("conflict", "this listing is {}", True) in {(r.code, r.message, r.from_f_string) for r in SCANNED}


def test_every_refusal_with_a_fixed_message_has_a_text_for_people():
    missing = sorted(
        {f"{r.where} {r.message!r}" for r in SCANNED if not r.from_f_string and r.message not in refusals.MESSAGES}
    )
    assert not missing, "add these to refusals.MESSAGES:\n" + "\n".join(missing)


def test_every_refusal_made_with_an_f_string_has_a_text_for_people():
    missing = sorted(
        {f"{r.where} {r.message!r}" for r in SCANNED if r.from_f_string and r.message not in refusals.TEMPLATES}
    )
    assert not missing, "add these to refusals.TEMPLATES:\n" + "\n".join(missing)


def test_the_tables_hold_no_text_for_a_refusal_that_no_longer_exists():
    scanned = {(refusal.message, refusal.from_f_string) for refusal in SCANNED}
    stale = [message for message in refusals.MESSAGES if (message, False) not in scanned]
    stale += [template for template in refusals.TEMPLATES if (template, True) not in scanned]
    assert not stale


def test_each_message_finds_its_own_text_and_not_a_more_general_one():
    for message, text in refusals.MESSAGES.items():
        assert text_for(message) == (text, ())
    for template, text in refusals.TEMPLATES.items():
        values = tuple(f"value{index}" for index in range(template.count("{}")))
        assert text_for(template.format(*values)) == (text, values), template


def test_every_code_has_a_general_text():
    codes = {cls.code for cls in REFUSAL_CLASSES}
    assert codes == set(refusals.FALLBACKS)


def test_every_text_is_marked_for_translation():
    extracted = {
        message
        for _, message, _, _ in extract_from_file(
            "python", ROOT / "timebank" / "web" / "refusals.py", keywords={"_l": None}
        )
    }
    leaves = [leaf for text in _all_texts() for leaf in _leaves(text)]
    leaves += [*refusals.FIELD_NAMES.values(), refusals.THIS_FIELD]
    for states in (refusals.LISTING_STATES, refusals.EXCHANGE_STATES, refusals.MEMBERSHIP_STATES):
        leaves += states.values()
    assert all(isinstance(leaf, LazyString) for leaf in leaves)
    assert {leaf._args[0] for leaf in leaves} <= extracted


def test_no_text_for_people_repeats_a_message_for_programmers(english):
    texts = {render(leaf, Facts({})) for text in _all_texts() for leaf in _leaves(text) if isinstance(leaf, LazyString)}
    assert not texts & set(refusals.MESSAGES)
    # Every text starts with a capital, also one with figures: none starts with a figure ("the note ...").
    assert all(text[:1].isupper() and text.endswith(".") for text in texts)


def test_every_fixed_message_renders_with_the_details_it_is_raised_with(english):
    for refusal in SCANNED:
        if refusal.from_f_string or refusal.message not in refusals.MESSAGES:
            continue
        details = {name: "title" if name == "field" else 150 for name in refusal.detail_names}
        said = render(refusals.MESSAGES[refusal.message], Facts(details))
        assert said and "%(" not in said and said != refusal.message, refusal.where


# Samples of every text with figures: the refusal, and what a person reads in English.
SAMPLES = [
    (
        ledger_errors.BalanceBelowFloor("this would take the account below its floor", available_above_floor=150),
        "Not enough time credit: this would go below the lowest balance allowed. At most 2 h 30 min can be paid now.",
    ),
    (
        ledger_errors.BalanceBelowFloor("this would take the account below its floor", available_above_floor=-20),
        "Not enough time credit: this would go below the lowest balance allowed. Nothing can be paid now.",
    ),
    (
        ledger_errors.BalanceAboveCeiling("this would take the account above its ceiling", room_below_ceiling=45),
        "This would take the receiver above the highest balance allowed. At most 45 min can be received now.",
    ),
    (
        ledger_errors.BalanceAboveCeiling("this would take the account above its ceiling", room_below_ceiling=0),
        "The receiver has the highest balance allowed already, and cannot receive more time now.",
    ),
    (
        domain_errors.BalanceNotSettled(
            "the balance must be zero to leave: donate it to the pot, or ask a coordinator to settle it",
            balance_minutes=-90,
        ),
        "The balance is -1 h 30 min. It must be 0 before the membership can end",
    ),
    (
        ledger_errors.AccountNotEmpty(
            "only an account with a zero balance and nothing pending can be closed", balance=60, pending_debits=0
        ),
        "The balance is 1 h now.",
    ),
    (domain_errors.InvalidInput("title is required", field="title"), "Fill in the title."),
    (domain_errors.InvalidInput("colour is required", field="colour"), "Fill in this field."),
    (
        domain_errors.InvalidInput("reason may be at most 500 characters", field="reason", maximum=500),
        "Make the reason shorter: it may have at most 500 characters.",
    ),
    (
        ledger_errors.InvalidRequest("description is longer than 1000 characters", field="description", maximum=1000),
        "Make the description shorter: it may have at most 1,000 characters.",
    ),
    (
        domain_errors.InvalidInput("note contains control characters", field="note"),
        "There are characters in the note that cannot be used.",
    ),
    (
        domain_errors.InvalidInput("minutes must be a whole number", field="minutes"),
        "Fill in a whole number for the time.",
    ),
    (
        domain_errors.InvalidInput("minutes must be between 1 and 720", field="minutes", minimum=1, maximum=720),
        "Fill in a time between 1 min and 12 h.",
    ),
    (
        domain_errors.InvalidInput("hours must be between 1 and 200", field="hours", minimum=1, maximum=200),
        "Fill in a number between 1 and 200.",
    ),
    (
        domain_errors.InvalidInput("place must be one of: a, b", field="place", allowed=["a", "b"]),
        "Choose one of the options for the place.",
    ),
    (
        domain_errors.InvalidInput("slug must be lower-case letters, digits and dashes", field="slug"),
        "Use only small letters, digits and dashes (-) for the short name.",
    ),
    (
        domain_errors.InvalidInput("window_start must be a time with a time zone", field="window_start"),
        "Fill in a date and time for the start time.",
    ),
    (
        domain_errors.InvalidInput("seen_on must be a date", field="seen_on"),
        "Fill in a date for the day the certificate was seen.",
    ),
    (
        domain_errors.InvalidInput("interests must be a list of at most 50 items", field="interests"),
        "Choose at most 50 items for the interests.",
    ),
    (
        domain_errors.InvalidInput("start must lie between the years 1970 and 9000", field="start"),
        "Choose a date between the years 1970 and 9000.",
    ),
    (
        domain_errors.InvalidInput("the password needs at least 10 characters", field="password"),
        "The password needs at least 10 characters. Choose a longer one.",
    ),
    (
        domain_errors.InvalidInput("the password may be at most 1024 characters", field="password"),
        "The password may have at most 1,024 characters.",
    ),
    (
        domain_errors.MembershipNotActive("your membership is suspended", status="suspended"),
        "Your membership is suspended, so you cannot do this now.",
    ),
    (
        domain_errors.MembershipNotActive("the other member's membership is left", status="left"),
        "The other member is not active at the moment, so this cannot be done now.",
    ),
    (
        domain_errors.MembershipNotActive("this member's membership is suspended", status="suspended"),
        "This member's membership is suspended, so this cannot be done now.",
    ),
    (
        domain_errors.AlreadyMember("you already have a membership here (applicant)", membership_id=3),
        "You already have a membership in this time bank (waiting for approval).",
    ),
    (
        domain_errors.Conflict("this membership is active, not an application", status="active"),
        "This is not an application any more: the membership is active.",
    ),
    (
        domain_errors.Conflict("only a member who is active can be suspended; this one is left"),
        "Only an active member can be suspended. This membership is ended.",
    ),
    (
        domain_errors.Conflict("only a member who is suspended can be reinstated; this one is active"),
        "Only a suspended member can be reinstated. This membership is active.",
    ),
    (domain_errors.Conflict("this membership is left already"), "This membership has ended already."),
    (domain_errors.Conflict("this membership is suspended already"), "This membership is suspended already."),
    (
        domain_errors.Conflict("this membership is declined", status="declined"),
        "This membership is declined, so this cannot be done now.",
    ),
    (
        domain_errors.Conflict("this listing is expired", status="expired"),
        "This listing is expired, so it no longer takes responses.",
    ),
    (
        domain_errors.Conflict("this listing is closed; reopen it first", status="closed"),
        "This listing is closed. Open it again first, then change it.",
    ),
    (domain_errors.Conflict("this listing is closed already", status="closed"), "This listing is closed already."),
    (
        domain_errors.InvalidInput("a window may be at most 14 days long", field="window_end"),
        "The time of a listing may be at most 14 days long.",
    ),
    (
        domain_errors.InvalidInput("the window must end within 90 days", field="window_end"),
        "The time of a listing must end within 90 days from now.",
    ),
    (
        domain_errors.InvalidInput("a listing may live at most 90 days", field="expires_at"),
        "A listing can stay up for at most 90 days.",
    ),
    (
        domain_errors.InvalidInput("search at most 92 days at once", field="window_end"),
        "Choose a period of at most 92 days to search in.",
    ),
    (
        domain_errors.Conflict("cannot confirm an exchange that is disputed", exchange_id=1, status="disputed"),
        "This cannot be done while the exchange is disputed. Reload the page to see where it stands.",
    ),
    (
        domain_errors.Conflict("this invitation was declined already", invitation_id=1, status="declined"),
        "This invitation was declined already.",
    ),
    (
        domain_errors.NotAllowed("the other member of the exchange must confirm the minutes you recorded"),
        "You recorded this time yourself, so the other member must confirm it.",
    ),
    (
        domain_errors.NotAllowed("the other member of the exchange must dispute the minutes you recorded"),
        "so only the other member can dispute it.",
    ),
    (
        domain_errors.InvalidInput("at most 50 categories", field="categories"),
        "A time bank can have at most 50 categories.",
    ),
    (
        domain_errors.InvalidInput("name between 1 and 200 participants", field="participant_ids", maximum=200),
        "Choose between 1 and 200 participants.",
    ),
    (
        domain_errors.InvalidInput("a batch holds between 1 and 500 transfers", field="transfers", maximum=500),
        "Send between 1 and 500 payments at a time.",
    ),
    (
        domain_errors.InvalidInput("the period has more than 10000 entries; choose a shorter period", field="end"),
        "This period has more than 10,000 entries. Choose a shorter period.",
    ),
    (
        domain_errors.InvalidInput("the review date may be at most 5 years after the day seen", field="review_on"),
        "The review date may be at most 5 years after the day the certificate was seen.",
    ),
    (domain_errors.Conflict("at most 20 tokens; revoke one first"), "You can have at most 20 keys. Revoke one first."),
    (
        domain_errors.Conflict("at most 20 partner keys per community; revoke one first"),
        "A time bank can have at most 20 partner keys. Revoke one first.",
    ),
    (
        ledger_errors.InvalidRequest("an account that is frozen cannot become frozen", field="status"),
        "This time account is frozen, so this cannot be done.",
    ),
]


def _has_figures(text) -> bool:
    return isinstance(text, Say | Pick)


def test_every_text_with_figures_has_a_sample():
    sampled = {id(text_for(error.message)[0]) for error, _ in SAMPLES}
    unsampled = [
        message for message, text in refusals.MESSAGES.items() if _has_figures(text) and id(text) not in sampled
    ]
    unsampled += [t for t, text in refusals.TEMPLATES.items() if _has_figures(text) and id(text) not in sampled]
    assert not unsampled


def test_a_refusal_is_said_in_plain_english_with_its_figures(english):
    wrong = [(error.message, refusal_text(error)) for error, expected in SAMPLES if expected not in refusal_text(error)]
    assert not wrong


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (
            ledger_errors.BalanceBelowFloor("this would take the account below its floor", available_above_floor=150),
            {"nl": "2 u 30 min", "en": "2 h 30 min"},
        ),
        (
            ledger_errors.BalanceAboveCeiling("this would take the account above its ceiling", room_below_ceiling=75),
            {"nl": "1 u 15 min", "en": "1 h 15 min"},
        ),
        (
            domain_errors.BalanceNotSettled(
                "the balance must be zero to leave: donate it to the pot, or ask a coordinator to settle it",
                balance_minutes=-150,
            ),
            {"nl": "-2 u 30 min", "en": "-2 h 30 min"},
        ),
        (
            domain_errors.InvalidInput("minutes must be between 1 and 720", field="minutes", minimum=1, maximum=720),
            {"nl": "12 u", "en": "12 h"},
        ),
        (
            domain_errors.InvalidInput("the period has more than 10000 entries; choose a shorter period", field="end"),
            {"nl": "10.000", "en": "10,000"},
        ),
    ],
)
@pytest.mark.parametrize("language", ["nl", "en"])
def test_figures_are_shown_in_the_pages_language(web_app, language, error, shown):
    with web_app.test_request_context("/", headers={"Accept-Language": language}):
        said = refusal_text(error)
    assert shown[language] in said
    assert error.message not in said


@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_refusal_without_a_text_of_its_own_gets_the_general_text_of_its_code(web_app, language):
    with web_app.test_request_context("/", headers={"Accept-Language": language}):
        cases = {
            domain_errors.Conflict("the frobnicator is engaged", thing=1): "This cannot be done in its current state.",
            domain_errors.NotFound("no frobnicator here"): refusals.NOT_FOUND._args[0],
            domain_errors.InvalidInput("frobnicate must be odd", field="frobnicate"): refusals.INVALID._args[0],
            ledger_errors.AccountFrozen("something new about frozen accounts"): refusals.ACCOUNT_FROZEN._args[0],
            domain_errors.DomainError("something else entirely"): refusals.REFUSED._args[0],
        }
        for error, english_text in cases.items():
            said = refusal_text(error)
            assert said == gettext(english_text) and error.message not in said
            if language == "en":
                assert said == english_text


def test_a_refusal_whose_figures_are_missing_gets_the_general_text_of_its_code(english):
    assert refusal_text(ledger_errors.BalanceBelowFloor("this would take the account below its floor")) == (
        "Not enough time credit: this would go below the lowest balance allowed."
    )
    assert refusal_text(domain_errors.Conflict("this listing is withdrawn", status="withdrawn")) == (
        "This cannot be done in its current state."
    )
    assert refusal_text(domain_errors.MembershipNotActive("the neighbour's membership is left")) == (
        "This membership is not active, so this cannot be done now."
    )


def test_a_refusal_of_another_shape_is_still_said_for_people(english):
    class Failure:  # like payments.ConfirmationFailure: a code and a message, no details
        code, message = "conflict", "cannot confirm an exchange that is voided"

    assert refusal_text(Failure()) == (
        "This cannot be done while the exchange is voided. Reload the page to see where it stands."
    )


def test_a_refusal_on_a_dutch_page_fills_in_its_status_and_field_in_the_pages_words(dutch):
    said = refusal_text(domain_errors.Conflict("this listing is closed", status="closed"))
    assert said == gettext("This listing is %(status)s, so it no longer takes responses.", status=gettext("closed"))
    said = refusal_text(domain_errors.InvalidInput("note contains control characters", field="note"))
    expected = gettext(
        "There are characters in %(field)s that cannot be used. Type it again without them.", field=gettext("the note")
    )
    assert said == expected and said[:1].isupper()
