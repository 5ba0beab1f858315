"""The texts of the time bank's messages, in Dutch and English, and how they are filled in.

Every kind of message has a subject and a body in both languages. The texts are short sentences in plain words:
many members read Dutch as a second language. They name people by first name only, as listings do, and show
time as hours and minutes ("2 u 30 min"), never as decimals.

A message is asked for by its kind and a context: the values its texts need (see ``REQUIRED_CONTEXT``). An unknown
kind, a missing value or a value of the wrong type is a programming error and raises ``MessageError`` at once.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

LANGUAGES = ("nl", "en")
MAX_SUBJECT_LENGTH = 200
MAX_BODY_LENGTH = 5000
HOUR_UNITS = {"nl": "u", "en": "h"}
ELLIPSIS = "…"

# What each context value is, and how long it may be once filled in. People are named by their first name.
PERSON, TEXT, DURATION, LINK = "person", "text", "duration", "link"
FIELDS: dict[str, tuple[str, int]] = {
    "responder_name": (PERSON, 40),
    "inviter_name": (PERSON, 40),
    "recorder_name": (PERSON, 40),
    "confirmer_name": (PERSON, 40),
    "disputer_name": (PERSON, 40),
    "listing_title": (TEXT, 120),
    "community_name": (TEXT, 120),
    "reason": (TEXT, 500),
    "minutes": (DURATION, 0),
    # A link is never cut (a cut link is a broken one): a longer one is a programming error.
    "link": (LINK, 1000),
}
LINE_BREAKS_ALLOWED = frozenset({"reason"})
LINK_PATTERN = re.compile(r"^https?://[!-~]+$")  # printable ASCII without spaces: the link stays one piece


class MessageError(ValueError):
    """A programming error in asking for a message: an unknown kind, or a missing or malformed context value.

    Not a refusal for a person to read: no member's input can cause it."""


@dataclass(frozen=True)
class Text:
    """A subject and a body, written out."""

    subject: str
    body: str


TEXTS: dict[str, dict[str, Text]] = {
    "listing_response": {
        "nl": Text(
            "{responder_name} reageerde op “{listing_title}”",
            "{responder_name} heeft gereageerd op “{listing_title}”.\n"
            "Log in bij de tijdbank om te antwoorden en een tijd af te spreken.",
        ),
        "en": Text(
            "{responder_name} responded to “{listing_title}”",
            "{responder_name} responded to your listing “{listing_title}”.\n"
            "Log in to the time bank to reply and agree on a time.",
        ),
    },
    "invitation": {
        "nl": Text(
            "{inviter_name} vraagt of je kunt helpen: “{listing_title}”",
            "{inviter_name} vraagt jou persoonlijk om te helpen met “{listing_title}”.\n"
            "Log in bij de tijdbank om ja of nee te zeggen. Nee zeggen mag ook.",
        ),
        "en": Text(
            "{inviter_name} asks if you can help: “{listing_title}”",
            "{inviter_name} asked you personally to help with “{listing_title}”.\n"
            "Log in to the time bank to say yes or no. Saying no is fine too.",
        ),
    },
    "claim_waiting": {
        "nl": Text(
            "{recorder_name} heeft {minutes} genoteerd: klopt dat?",
            "{recorder_name} heeft {minutes} genoteerd voor jullie hulp.\n"
            "Log in om de tijd te bevestigen, of om te zeggen dat het niet klopt.\n"
            "Doe je niets, dan wordt de tijd na een aantal dagen vanzelf bevestigd. "
            "De dag ervoor krijg je een herinnering.",
        ),
        "en": Text(
            "{recorder_name} recorded {minutes}: is that right?",
            "{recorder_name} recorded {minutes} for the help between you.\n"
            "Log in to confirm the time, or to say that it is not right.\n"
            "If you do nothing, the time is confirmed by itself after a few days. "
            "You get a reminder the day before.",
        ),
    },
    "claim_confirmed": {
        "nl": Text(
            "{confirmer_name} heeft {minutes} bevestigd",
            "{confirmer_name} heeft de {minutes} bevestigd die je hebt genoteerd.\nDe tijd is nu geboekt.",
        ),
        "en": Text(
            "{confirmer_name} confirmed {minutes}",
            "{confirmer_name} confirmed the {minutes} you recorded.\nThe time is now booked.",
        ),
    },
    "claim_disputed": {
        "nl": Text(
            "{disputer_name} is het niet eens met {minutes}",
            "{disputer_name} is het niet eens met de {minutes} die je hebt genoteerd.\n"
            "De reden: {reason}\n"
            "Een coördinator kijkt ernaar en neemt contact met jullie op.",
        ),
        "en": Text(
            "{disputer_name} does not agree with {minutes}",
            "{disputer_name} does not agree with the {minutes} you recorded.\n"
            "The reason: {reason}\n"
            "A coordinator will look at it and contact you both.",
        ),
    },
    "application_approved": {
        "nl": Text(
            "Welkom bij {community_name}",
            "Je aanmelding bij {community_name} is goedgekeurd. Welkom!\n"
            "Log in om te zien wat je buren aanbieden en vragen, of om zelf hulp aan te bieden.",
        ),
        "en": Text(
            "Welcome to {community_name}",
            "Your application to join {community_name} was approved. Welcome!\n"
            "Log in to see what your neighbours offer and ask, or to offer help yourself.",
        ),
    },
    "application_declined": {
        "nl": Text(
            "Je aanmelding bij {community_name}",
            "Je aanmelding bij {community_name} is niet goedgekeurd.\n"
            "De reden: {reason}\n"
            "Heb je vragen? Neem dan contact op met de coördinator.",
        ),
        "en": Text(
            "Your application to {community_name}",
            "Your application to join {community_name} was not approved.\n"
            "The reason: {reason}\n"
            "If you have questions, please contact the coordinator.",
        ),
    },
    "confirms_tomorrow": {
        "nl": Text(
            "Herinnering: {recorder_name} noteerde {minutes}, morgen wordt het bevestigd",
            "{recorder_name} heeft {minutes} genoteerd. Je hebt dat nog niet bevestigd.\n"
            "Morgen wordt de tijd vanzelf bevestigd.\n"
            "Klopt het niet? Log dan vandaag in en zeg het.",
        ),
        "en": Text(
            "Reminder: {recorder_name} recorded {minutes}, confirmed tomorrow",
            "{recorder_name} recorded {minutes}. You have not confirmed it yet.\n"
            "Tomorrow the time will be confirmed by itself.\n"
            "Is it not right? Log in today and say so.",
        ),
    },
    "password_reset": {
        "nl": Text(
            "Een nieuw wachtwoord voor de tijdbank",
            "Iemand heeft gevraagd om een nieuw wachtwoord voor je account bij de tijdbank.\n"
            "Was jij dat? Open dan deze link en kies een nieuw wachtwoord:\n"
            "{link}\n"
            "De link werkt één uur, en maar één keer.\n"
            "Heb je niets gevraagd? Dan hoef je niets te doen. Je wachtwoord blijft hetzelfde.",
        ),
        "en": Text(
            "A new password for the time bank",
            "Someone asked for a new password for your account at the time bank.\n"
            "Was it you? Then open this link and choose a new password:\n"
            "{link}\n"
            "The link works for one hour, and only once.\n"
            "Did you not ask for this? Then you do not need to do anything. Your password stays the same.",
        ),
    },
}
KINDS = tuple(TEXTS)
# Kinds that go out at once even to a member who asked for a weekly summary, without the letter's note about it:
# a link that works for an hour cannot wait for Monday.
IMMEDIATE_KINDS = frozenset({"password_reset"})

# The words around a message: a greeting, a closing, and how to change how often messages come.
FRAME: dict[str, dict[str, str]] = {
    "nl": {
        "greeting": "Hallo,",
        "closing": "Groet,",
        "default_sender": "Je tijdbank",
        "letter_footer": "Wil je deze berichten liever één keer per week krijgen? Dat kies je in je instellingen.",
        "digest_subject_one": "Je weekoverzicht van de tijdbank: 1 bericht",
        "digest_subject_many": "Je weekoverzicht van de tijdbank: {count} berichten",
        "digest_opening": "Dit gebeurde er deze week bij de tijdbank:",
        "digest_footer": "Je krijgt dit overzicht één keer per week. "
        "Wil je berichten meteen krijgen? Dat kies je in je instellingen.",
    },
    "en": {
        "greeting": "Hello,",
        "closing": "Best wishes,",
        "default_sender": "Your time bank",
        "letter_footer": "Would you rather get these messages once a week? You can choose that in your settings.",
        "digest_subject_one": "Your week at the time bank: 1 message",
        "digest_subject_many": "Your week at the time bank: {count} messages",
        "digest_opening": "This is what happened at the time bank this week:",
        "digest_footer": "You get this summary once a week. "
        "Would you rather get messages straight away? You can choose that in your settings.",
    },
}


def hours_and_minutes(minutes: int, language: str) -> str:
    """Whole minutes as people read them: 150 → "2 u 30 min" (nl) or "2 h 30 min" (en); 45 → "45 min";
    120 → "2 u" / "2 h"; 0 → "0 min"; a negative amount starts with a minus sign ("-1 u 15 min")."""
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise TypeError(f"minutes must be a whole number, not {minutes!r}")
    if language not in HOUR_UNITS:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    hours, rest = divmod(abs(minutes), 60)
    parts = []
    if hours:
        parts.append(f"{hours} {HOUR_UNITS[language]}")
    if rest or not hours:
        parts.append(f"{rest} min")
    return ("-" if minutes < 0 else "") + " ".join(parts)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def required_context(kind: str) -> frozenset[str]:
    """The context values a message of ``kind`` needs."""
    if kind not in TEXTS:
        raise MessageError(f"unknown kind of message {kind!r}; known kinds: {', '.join(KINDS)}")
    return frozenset(
        name
        for text in TEXTS[kind].values()
        for template in (text.subject, text.body)
        for name in _placeholders(template)
    )


REQUIRED_CONTEXT: dict[str, frozenset[str]] = {kind: required_context(kind) for kind in KINDS}


def shorten(value: str, maximum: int) -> str:
    """``value`` cut to at most ``maximum`` characters, ending in an ellipsis when it was cut."""
    return value if len(value) <= maximum else value[: maximum - 1].rstrip() + ELLIPSIS


def _clean(value: str, *, keep_line_breaks: bool) -> str:
    # Control characters never reach a mail; a line break in a subject would even start a new header.
    pattern = r"[^\S\n]+|[\x00-\x09\x0b-\x1f\x7f]" if keep_line_breaks else r"[\s\x00-\x1f\x7f]+"
    return re.sub(pattern, " ", value).strip()


def first_name(name: str) -> str:
    """The first word of a display name: messages, like listings, name people by their first name."""
    words = name.split()
    return words[0] if words else ""


def _value(kind: str, name: str, context: dict, language: str) -> str:
    if name not in context:
        raise MessageError(f"a {kind!r} message needs {name!r} in its context")
    value = context[name]
    sort, maximum = FIELDS[name]
    if sort == DURATION:
        if not isinstance(value, int) or isinstance(value, bool):
            raise MessageError(f"{name!r} must be whole minutes, not {value!r}")
        return hours_and_minutes(value, language)
    if not isinstance(value, str):
        raise MessageError(f"{name!r} must be text, not {type(value).__name__}")
    if sort == LINK:
        if len(value) > maximum or not LINK_PATTERN.match(value):
            raise MessageError(f"{name!r} must be an http(s) link of at most {maximum} characters, not {value!r}")
        return value
    value = _clean(value, keep_line_breaks=name in LINE_BREAKS_ALLOWED)
    if sort == PERSON:
        value = first_name(value)
    if not value:
        raise MessageError(f"{name!r} must not be empty")
    return shorten(value, maximum)


def render(kind: str, language: str, context: dict) -> Text:
    """The subject and the core of the body of a message of ``kind`` in ``language``, filled from ``context``.

    Values beyond what the kind needs are ignored. The subject is one line of at most ``MAX_SUBJECT_LENGTH``."""
    needed = required_context(kind)
    if language not in LANGUAGES:
        raise MessageError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if not isinstance(context, dict):
        raise MessageError(f"the context must be a dict, not {type(context).__name__}")
    values = {name: _value(kind, name, context, language) for name in sorted(needed)}
    text = TEXTS[kind][language]
    subject = _clean(text.subject.format(**values), keep_line_breaks=False)
    return Text(subject=shorten(subject, MAX_SUBJECT_LENGTH), body=text.body.format(**values))


def letter(language: str, body: str, *, community_name: str | None = None, weekly_note: bool = True) -> str:
    """A single message as it is mailed: a greeting, the text, a closing signed by the community, and (unless
    ``weekly_note`` is false) how to get a weekly summary instead."""
    frame = FRAME[language]
    sender = _clean(community_name, keep_line_breaks=False) if community_name else frame["default_sender"]
    footer = f"\n{frame['letter_footer']}\n" if weekly_note else ""
    text = f"{frame['greeting']}\n\n{body}\n\n{frame['closing']}\n{shorten(sender, 120)}\n{footer}"
    return shorten(text, MAX_BODY_LENGTH)


def digest(language: str, entries: list[Text]) -> Text:
    """The weekly summary: one mail holding every entry (its subject as a heading, then its text)."""
    if not entries:
        raise MessageError("a digest needs at least one entry")
    frame = FRAME[language]
    if len(entries) == 1:
        subject = frame["digest_subject_one"]
    else:
        subject = frame["digest_subject_many"].format(count=len(entries))
    sections = "\n\n".join(f"• {entry.subject}\n{entry.body}" for entry in entries)
    body = (
        f"{frame['greeting']}\n\n{frame['digest_opening']}\n\n{sections}\n\n"
        f"{frame['closing']}\n{frame['default_sender']}\n\n{frame['digest_footer']}\n"
    )
    return Text(subject=subject, body=body)
