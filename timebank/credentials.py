"""Credentials for the API: members' personal tokens and partner apps' keys.

A secret is shown once, when it is made, and only its SHA-256 is kept (the secret is 256 random bits, so a fast
hash is enough: nothing to brute-force). A token reads ``tb_m_<id>_<secret>`` (member) or ``tb_p_<id>_<secret>``
(partner key); the id finds the row, the hash is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.core import utc_now
from timebank import access, audit, errors, passwords, validation
from timebank.access import Actor
from timebank.models import ApiToken, Community, PartnerKey, User

SCOPES = ("members:read", "listings:read", "exchanges:write", "ledger:read", "ledger:write", "reports:read")
MAX_TOKENS_PER_OWNER = 20
MEMBER_PREFIX, PARTNER_PREFIX = "tb_m_", "tb_p_"


@dataclass(frozen=True)
class Issued:
    """A new credential and its secret, which is never shown again."""

    credential: ApiToken | PartnerKey
    secret: str


def _new_secret(prefix: str, row_id: int) -> tuple[str, str, str]:
    """(the whole token, the hash to store, a hint to show)."""
    secret = secrets.token_urlsafe(32)
    return f"{prefix}{row_id}_{secret}", hashlib.sha256(secret.encode()).hexdigest(), secret[:6]


def create_personal_token(*, session: Session, actor: Actor, name: str, now: datetime | None = None) -> Issued:
    """A personal API token for the acting member: it can do what they can do, until revoked."""
    if actor.user_id is None:
        raise errors.NotAllowed("only a person can have a personal token")
    name = validation.text("name", name, maximum=80, required=True)
    active = session.execute(
        sa.select(sa.func.count()).where(ApiToken.user_id == actor.user_id, ApiToken.revoked_at.is_(None))
    ).scalar_one()
    if active >= MAX_TOKENS_PER_OWNER:
        raise errors.Conflict(f"at most {MAX_TOKENS_PER_OWNER} tokens; revoke one first")
    token = ApiToken(user_id=actor.user_id, name=name, secret_hash="", hint="", created_at=utc_now(now))
    session.add(token)
    session.flush()
    whole, token.secret_hash, token.hint = _new_secret(MEMBER_PREFIX, token.id)
    session.commit()
    return Issued(credential=token, secret=whole)


def personal_tokens(*, session: Session, actor: Actor) -> list[ApiToken]:
    """The acting person's tokens that are not revoked, newest first."""
    return list(
        session.execute(
            sa.select(ApiToken)
            .where(ApiToken.user_id == actor.user_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id.desc())
        ).scalars()
    )


def revoke_personal_token(*, session: Session, actor: Actor, token_id: int, now: datetime | None = None) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.user_id or token.revoked_at is not None:
        raise errors.NotFound("no such token", token_id=token_id)
    token.revoked_at = utc_now(now)
    session.commit()
    return token


def create_partner_key(
    *, session: Session, actor: Actor, community_id: int, name: str, scopes: list[str], now: datetime | None = None
) -> Issued:
    """A key for a partner app, for one community, with the scopes it needs (coordinators; audit-logged)."""
    if actor.partner_key_id is not None:
        raise errors.NotAllowed("a partner key cannot make keys")
    access.require_coordinator(session, actor, community_id)
    name = validation.text("name", name, maximum=80, required=True)
    scopes = validation.string_list("scopes", scopes, maximum_items=len(SCOPES), maximum_length=32, allowed=SCOPES)
    if not scopes:
        raise errors.InvalidInput("a key needs at least one scope", field="scopes")
    active = session.execute(
        sa.select(sa.func.count()).where(PartnerKey.community_id == community_id, PartnerKey.revoked_at.is_(None))
    ).scalar_one()
    if active >= MAX_TOKENS_PER_OWNER:
        raise errors.Conflict(f"at most {MAX_TOKENS_PER_OWNER} partner keys per community; revoke one first")
    now = utc_now(now)
    key = PartnerKey(
        community_id=community_id,
        name=name,
        scopes=scopes,
        secret_hash="",
        hint="",
        created_by_user_id=actor.user_id,
        created_at=now,
    )
    session.add(key)
    session.flush()
    whole, key.secret_hash, key.hint = _new_secret(PARTNER_PREFIX, key.id)
    audit.record(
        session,
        actor=actor,
        community_id=community_id,
        action="partner_key.created",
        subject_type="partner_key",
        subject_id=key.id,
        details={"scopes": scopes, "name": name},
        now=now,
    )
    session.commit()
    return Issued(credential=key, secret=whole)


def partner_keys(*, session: Session, actor: Actor, community_id: int) -> list[PartnerKey]:
    """The community's keys that are not revoked, newest first (coordinators)."""
    access.require_coordinator(session, actor, community_id)
    return list(
        session.execute(
            sa.select(PartnerKey)
            .where(PartnerKey.community_id == community_id, PartnerKey.revoked_at.is_(None))
            .order_by(PartnerKey.id.desc())
        ).scalars()
    )


def revoke_partner_key(
    *, session: Session, actor: Actor, community_id: int, key_id: int, now: datetime | None = None
) -> PartnerKey:
    """Revoke a partner key at once (coordinators; audit-logged)."""
    if actor.partner_key_id is not None:
        raise errors.NotAllowed("a partner key cannot revoke keys")
    access.require_coordinator(session, actor, community_id)
    key = access.get_in_community(session, PartnerKey, key_id, community_id, what="partner_key")
    if key.revoked_at is not None:
        raise errors.NotFound("no such partner_key", partner_key_id=key_id)
    now = utc_now(now)
    key.revoked_at = now
    audit.record(
        session,
        actor=actor,
        community_id=community_id,
        action="partner_key.revoked",
        subject_type="partner_key",
        subject_id=key.id,
        now=now,
    )
    session.commit()
    return key


@dataclass(frozen=True)
class Caller:
    """Who a bearer token speaks for: the actor, and for a partner key its scopes."""

    actor: Actor
    scopes: frozenset[str] | None  # None: a person, not limited by scopes


def _parse(token: str) -> tuple[str, int, str] | None:
    for prefix in (MEMBER_PREFIX, PARTNER_PREFIX):
        if token.startswith(prefix):
            identifier, _, secret = token[len(prefix) :].partition("_")
            # isascii: str.isdigit() also takes "²", which int() refuses.
            if identifier.isascii() and identifier.isdigit() and len(identifier) <= 12 and secret:
                return prefix, int(identifier), secret
    return None


def is_well_formed(token: str) -> bool:
    """Whether ``token`` has the form of a personal token or a partner key (prefix, id, secret): only such a token
    can ever be right."""
    return isinstance(token, str) and len(token) <= 200 and _parse(token) is not None


def _matches(stored_hash: str, secret: str) -> bool:
    return hmac.compare_digest(stored_hash, hashlib.sha256(secret.encode()).hexdigest())


# Built once: every API request with a personal token runs it.
_TOKEN_AND_USER = (
    sa.select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.id == sa.bindparam("b_token"))
)


def authenticate_bearer(*, session: Session, token: str) -> Caller | None:
    """The caller a bearer token stands for, or None for an unknown, revoked or malformed token."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    parsed = _parse(token)
    if parsed is None:
        return None
    prefix, row_id, secret = parsed
    if prefix == MEMBER_PREFIX:
        found = session.execute(_TOKEN_AND_USER, {"b_token": row_id}).first()
        if found is None:
            return None
        row, user = found
        if row.revoked_at is not None or not _matches(row.secret_hash, secret) or user.erased_at is not None:
            return None
        return Caller(actor=Actor.for_user(user), scopes=None)
    key = session.get(PartnerKey, row_id)
    if key is None or key.revoked_at is not None or not _matches(key.secret_hash, secret):
        return None
    if session.get(Community, key.community_id) is None:
        return None
    return Caller(actor=Actor.partner(key_id=key.id, community_id=key.community_id), scopes=frozenset(key.scopes))


def authenticate_session_user(*, session: Session, user_id, password_fingerprint) -> Caller | None:
    """The caller behind the web front's session: the signed-in person, unless erased or gone, or unless their
    password changed since the session began (``password_fingerprint`` is the one it began with): changing or
    resetting a password ends every other session."""
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not isinstance(password_fingerprint, str):
        return None
    user = session.get(User, user_id)
    if user is None or user.erased_at is not None or user.email is None:
        return None
    if not hmac.compare_digest(passwords.fingerprint(user.password_hash), password_fingerprint):
        return None
    return Caller(actor=Actor.for_user(user), scopes=None)


def session_fingerprint(*, session: Session, user_id: int) -> str:
    """What a new web session of ``user_id`` carries to die when the password changes."""
    user = session.get(User, user_id)
    return passwords.fingerprint(None if user is None else user.password_hash)
